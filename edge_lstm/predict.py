"""Run a ``.tflite`` model over many images, here or in another Python environment.

Another environment lets one host measure a runtime that cannot share this one (tflite-runtime
2.14 needs numpy<2). The child runs ``python -m edge_lstm.predict`` and exchanges ``.npy`` files.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from edge_lstm import child
from edge_lstm.errors import EdgeLstmError
from edge_lstm.runtime import Classifier


def predict(model: Path, images: np.ndarray, runtime: str | None = None,
            python: str | None = None, threads: int | None = None) -> tuple[np.ndarray, str]:
    """Probabilities (N, 10) and ``"<runtime> <version>"``; in ``python``'s environment if given."""
    if python is None:
        classifier = Classifier(model, runtime, threads)
        return classifier.predict(images), classifier.label
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "images.npy", Path(tmp) / "probs.npy"
        np.save(inputs, images.astype(np.float32))
        command = [python, "-m", "edge_lstm.predict", str(model), str(inputs), str(outputs)]
        if runtime:
            command += ["--runtime", runtime]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=child.env())
        except OSError as e:
            raise EdgeLstmError(f"cannot run {python}: {e.strerror}") from None
        if done.returncode != 0:
            raise EdgeLstmError(child.error_line(done.stderr, done.returncode))
        return np.load(outputs), done.stdout.strip()


def _main() -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_lstm.predict", description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("images", type=Path, help=".npy of (N, 28, 28) float32 in [0, 1]")
    parser.add_argument("out", type=Path, help=".npy to write the (N, 10) probabilities to")
    parser.add_argument("--runtime")
    args = parser.parse_args()
    try:
        probs, runtime = predict(args.model, np.load(args.images), args.runtime)
    except EdgeLstmError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    np.save(args.out, probs)
    print(runtime)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
