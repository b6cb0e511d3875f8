"""Run a ``.tflite`` model over many images, here or in another Python environment.

Another environment lets one host measure a runtime that cannot share this one (tflite-runtime
2.14 needs numpy<2). The child runs ``python -m edge_lstm.predict`` and exchanges ``.npy`` files.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from edge_lstm import child, probe
from edge_lstm.data import CLASSES
from edge_lstm.errors import EdgeLstmError

LATENCY_IMAGES = 300  # single-image calls timed after the run, for the median latency


def predict(model: Path, images: np.ndarray, runtime: str | None = None,
            python: str | None = None, threads: int | None = None) -> tuple[np.ndarray, str, float]:
    """Probabilities (N, 10), ``"<runtime> <version>"`` and the median µs to answer one image
    (one thread unless ``threads``); in ``python``'s environment if given."""
    if python is None:
        classifier = probe.load(model, runtime, threads or 1)
        return classifier.predict(images), classifier.label, _latency_us(classifier, images)
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "images.npy", Path(tmp) / "probs.npy"
        np.save(inputs, images.astype(np.float32))
        try:
            said = child.run("edge_lstm.predict", Path(model), inputs, outputs,
                             *(["--runtime", runtime] if runtime else []), python=python)
        except child.ChildFailed as e:
            if e.signal:
                raise EdgeLstmError(f"{model}: {runtime or 'the runtime'} in {python} crashed "
                                    f"running this model ({e.signal})") from None
            raise
        label, _, latency = said.strip().rpartition(" ")
        return _answers(outputs, len(images), python), label, float(latency)


def _latency_us(classifier, images: np.ndarray) -> float:
    times = []
    for image in images[:LATENCY_IMAGES]:
        start = time.perf_counter()
        classifier.predict(image)
        times.append(time.perf_counter() - start)
    return round(1e6 * float(np.median(times)), 1)


def _answers(path: Path, count: int, python: str) -> np.ndarray:
    """The child's probabilities, checked to be one row of 10 per image."""
    try:
        probs = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        raise EdgeLstmError(f"{python} ran but wrote no predictions: is it a Python with edge-lstm "
                            "and a TFLite runtime installed?") from None
    if probs.shape != (count, CLASSES):
        raise EdgeLstmError(f"{python} wrote predictions of shape {probs.shape}, expected "
                            f"{(count, CLASSES)}")
    return probs


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m edge_lstm.predict", description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("images", type=Path, help=".npy of (N, 28, 28) float32 in [0, 1]")
    parser.add_argument("out", type=Path, help=".npy to write the (N, 10) probabilities to")
    parser.add_argument("--runtime")
    args = parser.parse_args()
    probs, runtime, latency = predict(args.model, np.load(args.images), args.runtime)
    np.save(args.out, probs)
    print(runtime, latency)


if __name__ == "__main__":
    child.main(_main)
