"""``edge-lstm bench``: speed and memory of each model, against Keras measured in the same run.

Each model is measured in a fresh child process (``python -m edge_lstm.bench``), so import time,
load time and peak memory are its own. The Keras baseline runs the same way when TensorFlow is
installed; this process never imports TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from edge_lstm import child
from edge_lstm.errors import EdgeLstmError

COLUMNS = ("model", "runtime", "p50_us", "p95_us", "p99_us", "invoke_p50_us", "load_ms", "import_ms",
           "throughput_ips", "peak_rss_mb", "size_bytes", "frame_ms", "speedup_vs_keras")


def measure(model: Path, runtime: str | None = None, repeats: int = 1000) -> dict:
    """Run :func:`_worker` for one model in a child process and return its figures."""
    try:
        out = child.run("edge_lstm.bench", Path(model), "--repeats", str(repeats),
                        *(["--runtime", runtime] if runtime else []))
    except child.ChildFailed as e:
        raise EdgeLstmError(f"{model}: {e}") from None
    return json.loads(out.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    """The measurements as a terminal table, one model a line."""
    from edge_lstm.report import aligned

    return "\n".join(aligned([COLUMNS, *(tuple(str(row.get(c, "-")) for c in COLUMNS) for row in rows)]))


def camera_frame(digit: np.ndarray) -> np.ndarray:
    """A 640×480 BGR frame: the digit drawn dark on grey paper, as a camera would see it."""
    import cv2

    frame = np.full((480, 640, 3), 200, np.uint8)
    ink = cv2.resize(digit, (200, 200), interpolation=cv2.INTER_LINEAR)
    frame[140:340, 220:420] -= (ink[..., None].astype(np.uint16) * 150 // 255).astype(np.uint8)
    return frame


def _percentiles_us(seconds: list[float]) -> tuple[float, float, float]:
    p50, p95, p99 = np.percentile(np.asarray(seconds) * 1e6, [50, 95, 99])
    return round(float(p50), 1), round(float(p95), 1), round(float(p99), 1)


def _worker(model: Path, runtime: str | None, repeats: int) -> dict:
    """Measure one model in this (fresh) process."""
    from edge_lstm.data import load_test_split, normalize

    test = load_test_split()
    images = normalize(test.x[:repeats])
    loader = _keras if model.suffix == ".keras" else _tflite
    start = time.perf_counter()
    loader(model, runtime)  # the first load also imports the runtime
    import_and_load_ms = 1e3 * (time.perf_counter() - start)
    start = time.perf_counter()
    runner, name, size = loader(model, runtime)
    load_ms = 1e3 * (time.perf_counter() - start)
    predict_one = runner.predict
    for image in images[:20]:  # warm up
        predict_one(image)
    single = []
    for image in images:
        t = time.perf_counter()
        predict_one(image)
        single.append(time.perf_counter() - t)
    p50, p95, p99 = _percentiles_us(single)
    result = {"model": model.name, "runtime": name, "p50_us": p50, "p95_us": p95, "p99_us": p99,
              "load_ms": round(load_ms, 2), "import_ms": round(import_and_load_ms - load_ms, 1),
              "size_bytes": size, "throughput_ips": round(len(images) / sum(single), 1)}
    if model.suffix != ".keras":
        result["invoke_p50_us"] = _invoke_p50_us(runner, len(images))
        result["frame_ms"] = _frame_cost(predict_one, camera_frame(test.x[0]))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def _tflite(model: Path, runtime: str | None):
    from edge_lstm.runtime import Classifier

    classifier = Classifier(model, runtime)
    return classifier, classifier.label, model.stat().st_size


def _keras(model: Path, runtime: str | None = None):
    import keras

    class KerasRunner:
        """Keras ``predict`` on one image: the baseline a device model is compared with."""

        def __init__(self):
            self.net = keras.models.load_model(model, compile=False)

        def predict(self, image):
            return self.net.predict(image[None], verbose=0)[0]

    return KerasRunner(), f"keras {keras.__version__}", model.stat().st_size


def _invoke_p50_us(classifier, repeats: int) -> float:
    """Median µs of the interpreter's invoke() alone, without Python's input and output copies."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        classifier.invoke()
        times.append(time.perf_counter() - t)
    return round(1e6 * float(np.median(times)), 1)


def _frame_cost(predict_one, frame: np.ndarray, repeats: int = 200) -> float:
    """Median ms for the camera pipeline: 640×480 BGR frame → MNIST digit → answer."""
    from edge_lstm.preprocess import to_mnist

    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        digit = to_mnist(frame)
        if digit is not None:
            predict_one(digit.image)
        times.append(time.perf_counter() - t)
    return round(1e3 * float(np.median(times)), 3)


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m edge_lstm.bench", description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--runtime")
    parser.add_argument("--repeats", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(_worker(args.model, args.runtime, args.repeats)))


if __name__ == "__main__":
    child.main(_main)
