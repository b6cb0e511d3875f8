"""Run a ``.tflite`` model over many inputs, here or in another Python environment.

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
from edge_lstm.errors import EdgeLstmError
from edge_lstm.runtime import Model

LATENCY_IMAGES = 300  # single-input calls timed after the run, for the median latency


def predict(model: Path, images: np.ndarray, runtime: str | None = None,
            python: str | None = None, threads: int | None = None) -> tuple[np.ndarray, str, float]:
    """Outputs (N, …), ``"<runtime> <version>"`` and the median µs to answer one input (one
    thread unless ``threads``); in ``python``'s environment if given."""
    if python is None:
        loaded = probe.load(model, runtime, threads or 1, kind=Model)
        return loaded.predict(images), loaded.label, _latency_us(loaded, images)
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
    """The child's outputs, checked to be one per input."""
    try:
        probs = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        raise EdgeLstmError(f"{python} ran but wrote no predictions: is it a Python with edge-lstm "
                            "and a TFLite runtime installed?") from None
    if probs.ndim < 2 or len(probs) != count:
        raise EdgeLstmError(f"{python} wrote predictions of shape {probs.shape}, expected "
                            f"{count} outputs")
    return probs


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m edge_lstm.predict", description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("images", type=Path, help=".npy of (N, …) float32 model inputs")
    parser.add_argument("out", type=Path, help=".npy to write the (N, …) outputs to")
    parser.add_argument("--runtime")
    args = parser.parse_args()
    probs, runtime, latency = predict(args.model, np.load(args.images), args.runtime)
    np.save(args.out, probs)
    print(runtime, latency)


if __name__ == "__main__":
    child.main(_main)
