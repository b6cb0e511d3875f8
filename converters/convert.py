"""``edge-lstm convert``: each quantization mode converted in its own child process, then checked.

A conversion that crashes (the TFLite calibrator can segfault on some graphs) only fails its own
mode: the child's exit signal becomes that mode's reason and the other modes go on. The models
are written to a staging folder and held to the Keras model's answers on every runtime available
(:mod:`edge_lstm.verify`); only those that pass somewhere replace the file of the same name in the
output folder and are recorded in its manifest. One that fails everywhere leaves the previous
model and its record as they were.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from edge_lstm import atomic, child
from edge_lstm.errors import EdgeLstmError

MODES = ("float32", "float16", "dynamic", "int8", "int16x8")


@dataclass
class Outcome:
    mode: str
    path: Path | None = None
    error: str | None = None


def output_path(model: Path, out_dir: Path, mode: str) -> Path:
    return Path(out_dir) / f"{Path(model).stem}_{mode}.tflite"


def calibration_images(train_x: np.ndarray, samples: int, seed: int = 0) -> np.ndarray:
    """``samples`` training images drawn reproducibly, as floats in [0, 1]."""
    from edge_lstm.data import normalize

    if samples < 1:
        raise EdgeLstmError("--calibration-samples must be at least 1")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(train_x), size=min(samples, len(train_x)), replace=False)
    return normalize(train_x[np.sort(pick)])


@contextlib.contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A temporary folder inside ``out_dir`` for new models until they pass parity: only those
    that pass replace the previous files (:func:`record`); the others vanish with the folder."""
    with tempfile.TemporaryDirectory(prefix=".convert-", dir=out_dir) as tmp:
        yield Path(tmp)


def convert_all(model: Path, modes: list[str], out_dir: Path, calibration: np.ndarray | None,
                int8_io: bool = False, forms: dict[str, str] | None = None, echo=print) -> list[Outcome]:
    """Convert ``model`` to each mode in a child process; never raises for one mode's failure.
    ``forms`` overrides the graph form of some modes (see ``converters.export``)."""
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        calib_path = Path(tmp) / "calibration.npy"
        if calibration is not None:
            np.save(calib_path, calibration)
        for i, mode in enumerate(modes, 1):
            echo(f"[{i}/{len(modes)}] {mode}: converting…")
            target = output_path(model, out_dir, mode)
            outcome = _run_child(model, mode, target, calib_path if calibration is not None else None,
                                 int8_io, (forms or {}).get(mode))
            echo(f"[{i}/{len(modes)}] {mode}: " + (f"converted ({target.stat().st_size / 1024:.1f} KB)"
                                                   if outcome.path else f"FAILED: {outcome.error}"))
            outcomes.append(outcome)
    return outcomes


def _run_child(model: Path, mode: str, target: Path, calibration: Path | None, int8_io: bool,
               form: str | None) -> Outcome:
    args = [Path(model), mode, Path(target)] + (["--form", form] if form else []) \
        + (["--calibration", Path(calibration)] if calibration is not None else []) \
        + (["--int8-io"] if int8_io else [])
    try:
        child.run("converters.convert", *args)
    except child.ChildFailed as e:
        if e.signal:
            return Outcome(mode, error=f"the TFLite converter crashed ({e.signal}) on this graph "
                           "form; no model written (see docs/conversion.md)")
        return Outcome(mode, error=str(e))
    return Outcome(mode, path=target)


def _child_main() -> None:
    """One conversion, run by :func:`convert_all` as ``python -m converters.convert``."""
    parser = argparse.ArgumentParser(prog="python -m converters.convert")
    parser.add_argument("model", type=Path)
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("out", type=Path)
    parser.add_argument("--calibration", type=Path)
    parser.add_argument("--int8-io", action="store_true")
    parser.add_argument("--form")
    args = parser.parse_args()
    from converters import export, model as seed_model

    net = seed_model.load(args.model)
    calibration = np.load(args.calibration) if args.calibration else None
    try:
        data = export.to_tflite(net, args.mode, calibration, int8_io=args.int8_io, form=args.form)
    except export.ConversionError as e:
        raise EdgeLstmError(str(e)) from None
    atomic.write_bytes(args.out, data)


if __name__ == "__main__":
    child.main(_child_main)


def runtime_matrix() -> list:
    """Every runtime this host can measure: those importable here, plus tflite-runtime from the
    environment named by ``$EDGE_LSTM_TFLITE_RUNTIME_PYTHON`` (it needs numpy<2)."""
    import importlib.util

    from edge_lstm.runtime import RUNTIMES
    from edge_lstm.verify import RuntimeSpec

    specs = [RuntimeSpec(name) for name, (module, _) in RUNTIMES.items()
             if importlib.util.find_spec(module.split(".")[0]) is not None]
    other = os.environ.get("EDGE_LSTM_TFLITE_RUNTIME_PYTHON")
    if other and not any(s.name == "tflite-runtime" for s in specs):
        specs.append(RuntimeSpec("tflite-runtime", other))
    return specs


def record(out_dir: Path, keras_model: Path, outcomes: list[Outcome], results: list,
           reference) -> tuple[list[str], list[str]]:
    """Move the staged models that pass on some runtime into ``out_dir`` and record them and the
    Keras predictions in its manifest; pick the recommended device model. A model that fails on
    every runtime is not kept: the previous file of that name, if any, and its record stay.

    Returns ``(failures, warnings)``: modes with no model to ship, and models that fail on some
    runtime (recorded: the manifest lists the runtimes each model passed on)."""
    from edge_lstm import manifest

    failures = [f"{o.mode}: {o.error}" for o in outcomes if o.error]
    warnings: list[str] = []
    predictions = Path(out_dir) / f"{keras_model.stem}.predictions.npz"
    reference.save(predictions)
    manifest.record(out_dir, predictions, kind="predictions", model=keras_model.name,
                    images=len(reference), keras_accuracy=round(100 * float(
                        np.mean(reference.probs.argmax(1) == reference.labels)), 3))
    for outcome in (o for o in outcomes if o.path):
        mine = [r for r in results if Path(r.model) == outcome.path]
        passed_on = [r.runtime.split()[0] for r in mine if r.passed]
        final = Path(out_dir) / outcome.path.name
        if not passed_on:
            kept = "; the previous one is kept" if final.exists() else ""
            failures.append(f"{outcome.mode}: failed parity on every runtime; not kept{kept}")
            continue
        warnings += [f"{final.name} is not for {r.runtime}: {r.error or 'it fails parity there'}"
                     for r in mine if not r.passed]
        os.replace(outcome.path, final)
        manifest.record(
            out_dir, final, kind="tflite", quant=outcome.mode, source=keras_model.name,
            ops=mine[0].ops, passed_on=passed_on,
            parity={r.runtime.split()[0]: _parity_record(r) for r in mine},
        )
    _recommend(out_dir)
    return failures, warnings


def _parity_record(result) -> dict:
    if result.error:
        return {"version": result.runtime, "passed": False, "error": result.error}
    m = result.metrics
    return {"version": result.runtime.partition(" ")[2], "passed": result.passed, "images": m.images,
            "accuracy": m.accuracy, "drop_pp": m.drop_pp, "agreement": m.agreement,
            "max_abs_dprob": m.max_abs_dprob, "mean_abs_dprob": m.mean_abs_dprob,
            "us_per_image": result.us_per_image}


def _recommend(out_dir: Path) -> None:
    """The smallest model that passed on ai-edge-litert and tflite-runtime (else on the most runtimes)."""
    from edge_lstm import manifest

    current = manifest.load(out_dir)
    models = [a for a in current["artifacts"] if a.get("kind") == "tflite" and (Path(out_dir) / a["file"]).exists()]
    if not models:
        return
    both = [a for a in models if {"ai-edge-litert", "tflite-runtime"} <= set(a.get("passed_on", []))]
    best = (min(both, key=lambda a: a.get("size_bytes", 0)) if both
            else min(models, key=lambda a: (-len(a.get("passed_on", [])), a.get("size_bytes", 0))))
    current["recommended"] = best["file"]
    manifest.save(out_dir, current)
