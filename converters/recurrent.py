"""TensorFlow stand-ins for Keras' recurrent layers, for the generic graph forms (:mod:`converters.walk`).

Each stand-in takes the layer's input at batch 1 and gives the layer's output, from weights held
as plain ``tf.Variable`` copies (Keras-3 variables would stay resource variables in the TFLite
model). An LSTM is either one self-resetting ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op (``fused``, see
:mod:`converters.fused`) or an unrolled cell; a GRU is always unrolled (TFLite has no GRU op).
``Bidirectional`` runs its backward layer on the reversed sequence and merges as Keras does.
"""

from __future__ import annotations

import numpy as np

from converters import fused

# Reset step of a float model: the reset value is free (no int8 scale to keep), so one channel.
_FLOAT_RESET_CHANNELS = 1


class Recurrent:
    """One recurrent layer (not Bidirectional) as a function of its input ``(1, T, F)``."""

    def __init__(self, layer, fuse: bool, input_range: float | None):
        cfg = layer.get_config()
        self.kind, self.units = type(layer).__name__, int(cfg["units"])
        self.sequences = bool(cfg["return_sequences"])
        self.reset_after = bool(cfg.get("reset_after", False))
        weights = [np.asarray(w, np.float64) for w in layer.get_weights()]
        if not cfg.get("use_bias", True):
            weights.append(np.zeros(weights[1].shape[1:] if not self.reset_after
                                    else (2, weights[1].shape[1])))
        self.fused = fuse and self.kind == "LSTM"
        self.reset = None
        if self.fused:
            self.reset = _reset_rows(weights, input_range)
            weights[0] = np.concatenate([weights[0], self.reset[2]], axis=0)
        self.weights = [np.asarray(w, np.float32) for w in weights]

    def __call__(self, x, backward: bool = False):
        import tensorflow as tf

        if backward:
            x = tf.reverse(x, axis=[1])
        if self.fused:
            y = self._fused(x)
        elif self.kind == "LSTM":
            y = _unrolled_lstm(x, *self.weights)
        else:
            y = _unrolled_gru(x, *self.weights, reset_after=self.reset_after)
        if not self.sequences:
            return y[:, -1]
        return tf.reverse(y, axis=[1]) if backward else y

    def _fused(self, x):
        import tensorflow as tf

        k, value, _ = self.reset
        zeros_h = tf.zeros([1, self.units], tf.float32)
        zeros_c = tf.zeros([1, self.units], tf.float32)
        x = fused._with_reset_step(x, k, value)
        y = fused._fused_lstm_fn()(x, zeros_h, zeros_c, *[tf.identity(w) for w in self.weights])[1]
        return y[:, 1:]  # the reset step's output is not the layer's


class Bidirectional:
    """``keras.layers.Bidirectional``: forward and backward stand-ins, merged as Keras merges."""

    def __init__(self, layer, fuse: bool, input_range: float | None):
        self.forward = Recurrent(layer.forward_layer, fuse, input_range)
        self.backward = Recurrent(layer.backward_layer, fuse, input_range)
        self.merge = layer.merge_mode

    def __call__(self, x):
        import tensorflow as tf

        a, b = self.forward(x), self.backward(x, backward=True)
        if self.merge == "concat":
            return tf.concat([a, b], axis=-1)
        if self.merge == "sum":
            return a + b
        if self.merge == "mul":
            return a * b
        return (a + b) * 0.5  # "ave"


def _reset_rows(weights, input_range: float | None):
    """``(k, value, rows)`` of the self-resetting fused LSTM (:mod:`converters.fused`): ``k``
    extra input channels whose kernel ``rows`` drive the input and forget gates below -12 when
    the reset step feeds them ``value``. For a full-integer model ``value`` is the calibrated
    input range and each weight the kernel's max |w|, so no int8 scale changes."""
    kernel, recurrent, bias = weights
    units = recurrent.shape[0]
    w = float(np.abs(kernel).max()) or 1.0
    bound = float((np.abs(recurrent).sum(0) + np.abs(bias))[:2 * units].max()) + 12.0
    if input_range is None:
        k, value = _FLOAT_RESET_CHANNELS, bound / w
    else:
        value = input_range or 1.0
        k = max(1, int(np.ceil(bound / (w * value))))
    rows = np.zeros((k, 4 * units))
    rows[:, :2 * units] = -w
    return k, value, rows


def _unrolled_lstm(x, kernel, recurrent, bias):
    """Keras' LSTM cell (gates i, f, c, o) unrolled from a zero state; all outputs ``(1, T, u)``."""
    import tensorflow as tf

    z_all = tf.tensordot(x, kernel, axes=1) + bias  # every step's input projection at once
    h = c = None
    outputs = []
    for z in tf.unstack(z_all, axis=1):
        if h is not None:
            z = z + tf.matmul(h, recurrent)
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(i) * tf.tanh(g) if c is None else tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        outputs.append(h)
    return tf.stack(outputs, axis=1)


def _unrolled_gru(x, kernel, recurrent, bias, reset_after: bool):
    """Keras' GRU cell (gates z, r, h) unrolled from a zero state; all outputs ``(1, T, u)``."""
    import tensorflow as tf

    units = recurrent.shape[0]
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    x_all = tf.tensordot(x, kernel, axes=1) + input_bias
    h = tf.zeros([1, units], tf.float32)
    outputs = []
    for xz in tf.unstack(x_all, axis=1):
        x_z, x_r, x_h = tf.split(xz, 3, axis=-1)
        if reset_after:
            r_z, r_r, r_h = tf.split(tf.matmul(h, recurrent) + recurrent_bias, 3, axis=-1)
            z, r = tf.sigmoid(x_z + r_z), tf.sigmoid(x_r + r_r)
            hh = tf.tanh(x_h + r * r_h)
        else:
            z = tf.sigmoid(x_z + tf.matmul(h, recurrent[:, :units]))
            r = tf.sigmoid(x_r + tf.matmul(h, recurrent[:, units:2 * units]))
            hh = tf.tanh(x_h + tf.matmul(r * h, recurrent[:, 2 * units:]))
        h = z * h + (1.0 - z) * hh
        outputs.append(h)
    return tf.stack(outputs, axis=1)
