"""What the graph forms share: the model's shape, and Keras' own graph (``loop``, ``unrolled``).

``loop``
    Keras' own LSTM exported at batch 1; the converter lowers it to a ``WHILE`` loop. Stateless
    and correct for float / float16 / dynamic-range, but full-integer calibration of this form
    crashes the converter (segfault).

``unrolled``
    The LSTM re-built with ``unroll=True`` (same weights): 28 copies of the cell.
"""

from __future__ import annotations


class Spec:
    """The sequence shape (timesteps × features) and the LSTM's place and size in the model."""

    def __init__(self, timesteps, features, lstm_index, units):
        self.timesteps, self.features = timesteps, features
        self.lstm_index, self.units = lstm_index, units


def input_spec(spec):
    import tensorflow as tf
    return tf.TensorSpec([1, spec.timesteps, spec.features], tf.float32, name="input")


def save_keras(model, spec, path: str, unroll: bool) -> None:
    """Keras' own graph at batch 1 (``loop``), or with the LSTM unrolled."""
    import keras

    if unroll:
        cfg = model.get_config()
        for layer_cfg in cfg["layers"]:
            if layer_cfg["class_name"] == "LSTM":
                layer_cfg["config"]["unroll"] = True
        clone = keras.Sequential.from_config(cfg)
        clone.set_weights(model.get_weights())
        model = clone
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve", lambda x: model(x, training=False), input_signature=[input_spec(spec)])
    archive.write_out(path, verbose=False)

