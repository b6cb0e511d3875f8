"""The Keras model's answers on the test split: the reference every TFLite model is held to."""

from __future__ import annotations

from pathlib import Path

from converters import model as seed_model
from edge_lstm.data import Split, normalize
from edge_lstm.parity import Reference


def keras_reference(path: Path, test: Split) -> Reference:
    """Run the Keras model at ``path`` on ``test``."""
    net = seed_model.load(path)
    probs = net.predict(normalize(test.x), batch_size=1000, verbose=0)
    return Reference(probs.astype("float32"), test.y, f"Keras model {Path(path).name}")
