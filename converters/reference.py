"""The Keras model's answers: the reference every TFLite model is held to."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from converters import model as keras_models
from edge_lstm.data import load_test_split, normalize
from edge_lstm.parity import Reference


def keras_reference(path: Path, recorded: Reference | None = None) -> Reference:
    """Run the Keras model at ``path`` on the inputs of ``recorded`` (a user model's reference,
    whose task, labels and limits are kept), else on the MNIST test split."""
    net = keras_models.load(path)
    source = f"Keras model {Path(path).name}"
    if recorded is not None and not recorded.digits:
        return Reference(outputs(net, recorded.inputs), recorded.labels, source, recorded.inputs,
                         recorded.task, recorded.limits)
    test = load_test_split()
    return Reference(outputs(net, normalize(test.x)), test.y, source)


def outputs(net, inputs: np.ndarray) -> np.ndarray:
    """The model's float32 outputs for ``inputs``."""
    return np.asarray(net.predict(inputs, batch_size=1000, verbose=0), dtype=np.float32)
