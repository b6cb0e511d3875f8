"""``edge-lstm bench``: speed and memory of each model, against Keras and a peer runtime.

Two kinds of measurement, each in a fresh child process (``python -m edge_lstm.bench``):

* per model: import and load time, bare ``invoke()``, inputs/s at batch 1 and batch N, peak
  memory, and for the digit model the camera pipeline's cost per frame — figures that need a
  process of their own;
* one *race*: every model, the peer (ONNX Runtime on Keras' own ONNX export, when installed) and
  Keras ``predict`` loaded in one process and called in turn, input by input, so that the
  latencies and their ratios come from the same run under the same load.

Any converted model can be measured: the inputs are those of the reference recorded beside it
(:func:`edge_lstm.runners.sample_inputs`); the models of one run must take the same input shape.

This process never imports TensorFlow; the race does only when a Keras model is given.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import time
from pathlib import Path

import numpy as np

from edge_lstm import child, runners
from edge_lstm.data import CLASSES, INPUT_SHAPE
from edge_lstm.errors import EdgeLstmError

KERAS_ROUNDS = 100  # Keras predict takes ~0.1 s an image: race it on the first rounds only
# Two tables, each narrow enough for a terminal: speed against the baselines, then footprint.
# Units as in parity and the manifest: µs, KB (1024 bytes).
SPEED = {"model": "model", "runtime": "runtime", "p50_us": "p50 µs", "p95_us": "p95 µs",
         "p99_us": "p99 µs", "invoke_p50_us": "invoke µs", "x_keras": "× Keras", "x_peer": "× peer"}
FOOTPRINT = {"model": "model", "size_bytes": "size KB", "load_ms": "load ms", "peak_rss_mb": "RSS MB",
             "ips_batch_1": "inputs/s", "ips_batch_n": "inputs/s batch", "frame_ms": "frame ms"}


def run(models: list[Path] | None, runtime: str | None, keras: Path | None, no_keras: bool,
        peer: bool, repeats: int, batch: int, models_dir: Path | None, as_json: bool, echo) -> None:
    """``edge-lstm bench``: the models of the manifest (or those given), Keras and the peer."""
    from edge_lstm import manifest

    folder = models_dir or manifest.models_dir()
    listed = manifest.load(folder)
    paths = models or [folder / a["file"] for a in manifest.artifacts(listed, "tflite")]
    if not paths:
        raise EdgeLstmError(f"no models given and none in {folder / manifest.FILENAME}")
    if not no_keras and keras is None and importlib.util.find_spec("tensorflow") is not None:
        keras = _recorded_keras(folder, listed)
    rows = measure(paths, runtime, None if no_keras else keras,
                   peer and not no_keras and _peer_installed(), repeats, batch)
    if as_json:
        echo(json.dumps(rows, indent=2))
        return
    echo(table(rows))
    missing = [name for name, wanted in (("keras", not no_keras), ("peer", peer and not no_keras))
               if wanted and not any(r["model"] == name for r in rows)]
    if missing:
        echo(f"(not measured: {', '.join(missing)} — needs TensorFlow with a Keras model, "
             "and onnxruntime + tf2onnx for the peer)")


def _recorded_keras(folder: Path, listed: dict) -> Path | None:
    """The folder's Keras model: recorded by train, or named by convert's reference, if present."""
    from edge_lstm import manifest

    names = [a["file"] for a in manifest.artifacts(listed, "keras")] + [
        a["model"] for kind in ("reference", "predictions") for a in manifest.artifacts(listed, kind)
        if isinstance(a.get("model"), str)]
    return next((folder / n for n in names if (folder / n).is_file() and n.endswith(".keras")), None)


def _peer_installed() -> bool:
    return all(importlib.util.find_spec(m) for m in ("onnxruntime", "tf2onnx", "tensorflow"))


def table(rows: list[dict]) -> str:
    """The rows as two text tables, speed and footprint (the same renderer as parity's)."""
    from edge_lstm import tables

    return "\n\n".join(
        tables.render(list(columns.values()), [[_cell(k, row.get(k)) for k in columns] for row in rows],
                      left=2 if "runtime" in columns else 1)
        for columns in (SPEED, FOOTPRINT))


def _cell(key: str, value) -> str:
    if value is None:
        return "-"
    if key == "size_bytes":
        return f"{value / 1024:.1f}"
    if key.startswith("x_"):
        return f"{value:,.2f}×" if value >= 0.1 else f"{value:.1g}×"
    return f"{value:,.0f}" if isinstance(value, float) and value >= 100 else str(value)


def measure(models: list[Path], runtime: str | None, keras: Path | None, peer: bool,
            repeats: int, batch: int) -> list[dict]:
    """The rows of the benchmark table: one per model, then the peer and Keras, if measured."""
    rows = [_child(["--detail", m, "--repeats", str(repeats), "--batch", str(batch)], runtime)
            for m in models]
    race = _child(["--race", *models, "--repeats", str(repeats)]
                  + (["--keras", keras] if keras else []) + (["--peer"] if peer else []), runtime)
    baselines = {name: race[name] for name in ("keras", "peer") if name in race}
    for row in rows:
        row.update(race[row["model"]])
    rows += [{"model": name, **figures} for name, figures in baselines.items()]
    for row in rows:
        for name, figures in baselines.items():
            row[f"x_{name}"] = round(figures["p50_us"] / row["p50_us"], 2)
    return rows


def _child(args: list, runtime: str | None) -> dict:
    """A measurement in a child process; a crash there names the model (``--detail``'s) or the race."""
    extra = ["--runtime", runtime] if runtime else []
    try:
        return json.loads(child.run("edge_lstm.bench", *args, *extra).splitlines()[-1])
    except child.ChildFailed as e:
        if not e.signal:
            raise
        what = args[1] if args[0] == "--detail" else "the latency race"
        raise EdgeLstmError(f"{what}: the runtime crashed measuring it ({e.signal}); the file is damaged "
                            "or was not made for this runtime") from None


def _detail(model: Path, runtime: str | None, repeats: int, batch: int) -> dict:
    """Load, invoke, throughput, memory and (digit model) camera-pipeline figures of one model,
    in this process."""
    start = time.perf_counter()
    runners.load(model, runtime)  # the first load also imports the runtime
    first_ms = 1e3 * (time.perf_counter() - start)
    start = time.perf_counter()
    runner = runners.load(model, runtime)
    load_ms = 1e3 * (time.perf_counter() - start)
    images = runners.sample_inputs(model, runner.input_shape, max(repeats, batch))
    figures = {"model": model.name, "runtime": runner.label, "size_bytes": model.stat().st_size,
               "import_ms": round(first_ms - load_ms, 1), "load_ms": round(load_ms, 2),
               "ips_batch_1": _images_per_second(runner, images, 1)}
    if hasattr(runner, "invoke"):  # the input of one image is set: time the interpreter alone
        figures["invoke_p50_us"] = _median_us([runner.invoke] * repeats)
    if batch > 1 and getattr(runner, "resizable", False):
        figures["ips_batch_n"] = _images_per_second(runner, images, batch)
        figures["batch"] = batch
    if runner.input_shape == INPUT_SHAPE and runner.output_shape == (CLASSES,):
        figures["frame_ms"] = round(_frame_ms(runner, images[0]), 3)  # after batches: resizes back
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def _race(models: list[Path], runtime: str | None, repeats: int, keras: Path | None,
          peer: bool) -> dict:
    """Latency percentiles of every runner in this process: the fast ones called in turn on the
    same images, then Keras on the first :data:`KERAS_ROUNDS` (it would disturb the others'
    caches if it ran between them)."""
    contenders = {m.name: runners.load(m, runtime) for m in models}
    shape = _one_shape(contenders)
    if keras is not None:
        baseline = runners.load(keras)
        if baseline.input_shape != shape:
            raise EdgeLstmError(f"{keras.name} takes {baseline.input_shape}, the models {shape}: "
                                "not the Keras model they were converted from")
    if peer and keras is not None:
        contenders["peer"] = runners.onnx_peer(keras)
    images = runners.sample_inputs(models[0], shape, repeats)
    seconds = _take_turns(contenders, images)
    if keras is not None:
        contenders["keras"] = baseline
        seconds.update(_take_turns({"keras": baseline}, images[:KERAS_ROUNDS]))
    return {name: {"runtime": contenders[name].label, **_percentiles_us(s)}
            for name, s in seconds.items()}


def _one_shape(contenders: dict) -> tuple:
    """The input shape all the models take: a race feeds them the same inputs."""
    shapes = {runner.input_shape: name for name, runner in contenders.items()}
    if len(shapes) > 1:
        raise EdgeLstmError("bench races models of one input shape at a time; these take "
                            + ", ".join(f"{shape} ({name})" for shape, name in shapes.items()))
    return next(iter(shapes))


def _take_turns(contenders: dict, images: np.ndarray) -> dict[str, list[float]]:
    """Seconds per call of each runner, the runners taking turns input by input."""
    for runner in contenders.values():
        for image in images[:10]:  # warm up
            runner.predict(image)
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for image in images:
        for name, runner in contenders.items():
            start = time.perf_counter()
            runner.predict(image)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def _percentiles_us(seconds: list[float]) -> dict:
    p50, p95, p99 = np.percentile(np.asarray(seconds) * 1e6, [50, 95, 99])
    return {"p50_us": round(float(p50), 1), "p95_us": round(float(p95), 1),
            "p99_us": round(float(p99), 1)}


def _median_us(calls) -> float:
    times = []
    for call in calls:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return round(1e6 * float(np.median(times)), 1)


def _images_per_second(runner, images: np.ndarray, batch: int) -> float:
    count = len(images) - len(images) % batch
    start = time.perf_counter()
    for i in range(0, count, batch):
        runner.predict(images[i:i + batch], batch) if batch > 1 else runner.predict(images[i])
    return round(count / (time.perf_counter() - start), 1)


def _frame_ms(runner, digit: np.ndarray, repeats: int = 200) -> float:
    """Median ms of the camera pipeline: 640×480 BGR frame → MNIST digit → answer."""
    from edge_lstm.preprocess import to_mnist

    frame = camera_frame((digit * 255).astype(np.uint8))

    def pipeline():
        found = to_mnist(frame)
        if found is not None:
            runner.predict(found.image)
    return _median_us([pipeline] * repeats) / 1e3


def camera_frame(digit: np.ndarray) -> np.ndarray:
    """A 640×480 BGR frame: the digit drawn dark on grey paper, as a camera would see it."""
    import cv2

    frame = np.full((480, 640, 3), 200, np.uint8)
    ink = cv2.resize(digit, (200, 200), interpolation=cv2.INTER_LINEAR)
    frame[140:340, 220:420] -= (ink[..., None].astype(np.uint16) * 150 // 255).astype(np.uint8)
    return frame


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m edge_lstm.bench", description=__doc__)
    parser.add_argument("--detail", type=Path)
    parser.add_argument("--race", type=Path, nargs="*")
    parser.add_argument("--runtime")
    parser.add_argument("--repeats", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--keras", type=Path)
    parser.add_argument("--peer", action="store_true")
    args = parser.parse_args()
    if args.detail:
        print(json.dumps(_detail(args.detail, args.runtime, args.repeats, args.batch)))
    else:
        print(json.dumps(_race(args.race or [], args.runtime, args.repeats, args.keras, args.peer)))


if __name__ == "__main__":
    child.main(_main)
