"""The generic graph forms: any model :func:`converters.support.check_convertible` accepts.

Keras runs its own graph (``Functional._run_through_graph``), so the layers around the
recurrent ones are Keras' own code (but LayerNormalization, see :class:`LayerNormalization`),
while each recurrent layer is replaced by a stand-in from :mod:`converters.recurrent`:

``fused_reset``
    every LSTM is one self-resetting ``UNIDIRECTIONAL_SEQUENCE_LSTM`` op (stateless, full-integer
    in int8 with about a byte of weights per parameter); GRUs are unrolled.
``unrolled``
    every recurrent layer is an unrolled cell: plain TFLite ops, no variable tensors.

The graph runs at batch 1 (the fused op's states have a static shape).
"""

from __future__ import annotations

import numpy as np

from converters import recurrent

FORMS = ("fused_reset", "unrolled")


def save(model, path: str, form: str, calib: np.ndarray | None) -> None:
    """Write ``model`` as a SavedModel in ``form`` (``calib``: full-integer calibration inputs,
    whose range the fused LSTMs' reset steps keep to; None for float models)."""
    import keras
    import tensorflow as tf

    ranges = input_ranges(model, calib) if calib is not None else {}
    fuse = form == "fused_reset"
    stand_ins = {id(layer): _stand_in(layer, fuse, ranges.get(id(layer)))
                 for layer in model.layers if _is_recurrent(layer)}
    stand_ins.update({id(layer): LayerNormalization(layer) for layer in model.layers
                      if type(layer).__name__ == "LayerNormalization" and not layer.rms_scaling})
    graph = _graph(model)
    shape = [1, *model.inputs[0].shape[1:]]

    def run(op, *args, **kwargs):
        if id(op) in stand_ins:
            return stand_ins[id(op)](args[0])
        if type(op).__name__ == "TimeDistributed":
            return _time_distributed(op.layer, args[0])
        if type(op).__name__ == "Concatenate" and op.axis in (-1, len(args[0][0].shape) - 1):
            return recurrent.concat_features(args[0])
        return op(*args, **kwargs)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda x: graph._run_through_graph(x, call_fn=run),
                         input_signature=[tf.TensorSpec(shape, tf.float32, name="input")])
    archive.write_out(path, verbose=False)


def input_ranges(model, calib: np.ndarray) -> dict[int, float]:
    """Max |input| of each recurrent layer over ``calib``, by layer id (Keras runs the model)."""
    graph, ranges = _graph(model), {}

    def record(op, *args, **kwargs):
        if _is_recurrent(op):
            ranges[id(op)] = max(ranges.get(id(op), 0.0), float(np.abs(np.asarray(args[0])).max()))
        return op(*args, **kwargs)

    for start in range(0, len(calib), 256):
        graph._run_through_graph(calib[start:start + 256], call_fn=record)
    return ranges


def _time_distributed(layer, x):
    """``TimeDistributed(layer)``: the steps as a batch, one call (Keras calls ``layer`` once per
    step, which would put one copy of its ops per step in the TFLite model)."""
    import tensorflow as tf

    steps = x.shape[1]
    y = layer(tf.reshape(x, [-1, *x.shape[2:]]))
    return tf.reshape(y, [-1, steps, *y.shape[1:]])


class LayerNormalization:
    """``keras.layers.LayerNormalization`` as ``(x - mean) / sqrt(var + eps) * gamma + beta``:
    Keras writes ``x * inv - mean * inv``, whose NEG the 16x8 quantizer does not support."""

    def __init__(self, layer):
        self.axis, self.epsilon = np.atleast_1d(layer.axis), layer.epsilon
        weights = iter(layer.get_weights())
        self.gamma = next(weights) if layer.scale else None
        self.beta = next(weights) if layer.center else None

    def __call__(self, x):
        import tensorflow as tf

        axes = [int(a) % x.shape.rank for a in self.axis]
        centered = x - tf.reduce_mean(x, axis=axes, keepdims=True)
        variance = tf.reduce_mean(centered * centered, axis=axes, keepdims=True)
        y = centered * tf.math.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma
        return y + self.beta if self.beta is not None else y


def _graph(model):
    """The functional graph of ``model`` (a Sequential keeps one inside)."""
    return getattr(model, "_functional", None) or model


def _is_recurrent(layer) -> bool:
    return type(layer).__name__ in ("LSTM", "GRU", "Bidirectional")


def _stand_in(layer, fuse: bool, input_range: float | None):
    if type(layer).__name__ == "Bidirectional":
        return recurrent.Bidirectional(layer, fuse, input_range)
    return recurrent.Recurrent(layer, fuse, input_range)

