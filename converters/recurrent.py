"""TensorFlow stand-ins for Keras' recurrent layers, for the generic graph forms (:mod:`converters.walk`).

Each stand-in takes the layer's input at batch 1 and gives the layer's output, from the layer's
weights as constants (Keras-3 variables would stay resource variables in the TFLite model). An
LSTM is either one self-resetting ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op (``fused``, see
:mod:`converters.fused`) or an unrolled cell; a GRU is always unrolled (TFLite has no GRU op).
``Bidirectional`` runs its backward layer on the reversed sequence and merges as Keras does.
"""

from __future__ import annotations

import numpy as np

from converters import fused


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
        self.input_range = input_range
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

        kernel, recurrent_kernel, bias = (np.asarray(w, np.float64) for w in self.weights)
        k, value, rows = fused.reset_plan(kernel, recurrent_kernel, bias, self.input_range)
        weights = [np.concatenate([kernel, rows]).astype(np.float32), *self.weights[1:]]
        zeros_h = tf.zeros([1, self.units], tf.float32)
        zeros_c = tf.zeros([1, self.units], tf.float32)
        x = fused.with_reset_step(x, k, value, fused.RESET_STEPS)
        y = fused.fused_lstm_fn()(x, zeros_h, zeros_c, *[tf.identity(w) for w in weights])[1]
        return y[:, fused.RESET_STEPS:]  # the reset steps' outputs are not the layer's


class Bidirectional:
    """``keras.layers.Bidirectional``: forward and backward stand-ins, merged as Keras merges."""

    def __init__(self, layer, fuse: bool, input_range: float | None):
        self.forward = Recurrent(layer.forward_layer, fuse, input_range)
        self.backward = Recurrent(layer.backward_layer, fuse, input_range)
        self.merge = layer.merge_mode

    def __call__(self, x):
        a, b = self.forward(x), self.backward(x, backward=True)
        if self.merge == "concat":
            return concat_features([a, b])
        if self.merge == "sum":
            return a + b
        if self.merge == "mul":
            return a * b
        return (a + b) * 0.5  # "ave"


def concat_features(tensors):
    """``tf.concat(tensors, axis=-1)`` as zero-padded tensors added up. A CONCATENATION makes
    the int8 quantizer give its inputs one shared scale, and when an ADD follows it that scale
    is the ADD's output range: LSTM outputs in [-1, 1] then lose several bits. ADD inputs keep
    their own scales; in float the zeros add nothing."""
    import tensorflow as tf

    widths = [t.shape[-1] for t in tensors]
    width_all, before, parts = sum(widths), 0, []
    for t, width in zip(tensors, widths):
        pad = [[0, 0]] * (t.shape.rank - 1) + [[before, width_all - before - width]]
        parts.append(tf.pad(t, pad))
        before += width
    total = parts[0]
    for part in parts[1:]:  # not add_n: the int8 quantizer leaves ADD_N in float
        total = total + part
    return total


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
