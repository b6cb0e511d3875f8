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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge_lstm import atomic, child
from edge_lstm.errors import EdgeLstmError
from edge_lstm.quant import FULL_INTEGER, MODES
from edge_lstm.runtime import DEVICE_RUNTIMES, RUNTIMES

if TYPE_CHECKING:
    from edge_lstm.verify import RuntimeSpec

Echo = Callable[..., None]  # typer.echo's signature: a line, and err=True for stderr
SAME_SPEED = 1.10  # latencies within 10% are measurement noise: the smaller file wins


@dataclass
class Outcome:
    mode: str
    form: str
    path: Path | None = None
    error: str | None = None


def output_path(model: Path, out_dir: Path, mode: str) -> Path:
    return Path(out_dir) / f"{Path(model).stem}_{mode}.tflite"


def pick(count: int, samples: int, seed: int = 0) -> np.ndarray:
    """``samples`` of ``count`` indices (all if fewer), drawn reproducibly, in order."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=min(samples, count), replace=False))


def calibration_images(train_x: np.ndarray, samples: int, seed: int = 0) -> np.ndarray:
    """``samples`` training images drawn reproducibly, as floats in [0, 1]."""
    from edge_lstm.data import normalize

    return normalize(train_x[pick(len(train_x), samples, seed)])


@contextlib.contextmanager
def staging(out_dir: Path) -> Iterator[Path]:
    """A temporary folder inside ``out_dir`` for new models until they pass parity: only those
    that pass replace the previous files (:func:`record`); the others vanish with the folder."""
    with tempfile.TemporaryDirectory(prefix=".convert-", dir=out_dir) as tmp:
        yield Path(tmp)


def run(model: Path, modes: list[str], out: Path, *, data: Path | None, eval_data: Path | None,
        samples: int, int8_io: bool, runtimes: list[RuntimeSpec] | None, forms: dict[str, str],
        prefer: str, force: bool, limits: dict, echo: Echo) -> int:
    """``edge-lstm convert``: convert ``model`` to each of ``modes`` (``forms`` pins the graph form
    of some), check parity on ``runtimes`` (:class:`~edge_lstm.verify.RuntimeSpec`; default: every
    one this host has) against the Keras model on held-out data (:func:`prepare`), with the
    task's default limits but those given in ``limits``; keep and record the best form of each
    mode. Returns the exit code: 1 if some mode has no model to ship."""
    from converters.export import candidate_forms
    from edge_lstm import report
    from edge_lstm.verify import run as check

    with _new_folder_removed_on_error(Path(out)):
        for mode in modes:
            atomic.check_writable(output_path(model, out, mode), force)
        net, calibration, reference, device_reference = prepare(
            model, data, eval_data, samples, limits, bool(set(FULL_INTEGER) & set(modes)))
    tries = {mode: (forms[mode],) if mode in forms else candidate_forms(net, mode) for mode in modes}
    specs = runtimes or runtime_matrix()
    with staging(out) as staged:
        outcomes = convert_all(model, tries, staged, calibration, int8_io, echo)
        echo("checking parity against the Keras model…")
        results = check([o.path for o in outcomes if o.path], specs, reference, recorded=False)
        retry = _fallbacks(net, outcomes, results, forms)
        if retry:
            echo(f"no form of {', '.join(retry)} passed; trying {', '.join(f[0] for f in retry.values())}…")
            more = convert_all(model, retry, staged, calibration, int8_io, echo)
            results += check([o.path for o in more if o.path], specs, reference, recorded=False)
            outcomes += more
        echo(report.table(results, reference))
        failures, warnings, recommended = record(out, model, outcomes, results, device_reference, prefer)
    warnings += unmeasured(specs)
    for line in [f"warning: {w}" for w in warnings] + [f"FAILED {f}" for f in failures]:
        echo(line, err=True)
    chosen = f"; recommended (parity and bench default to it): {recommended}" if recommended else ""
    echo(f"recorded in {Path(out) / 'manifest.json'}{chosen}")
    return 1 if failures else 0


@contextlib.contextmanager
def _new_folder_removed_on_error(out: Path) -> Iterator[None]:
    """The folders made for ``out`` are removed again if the inputs are refused: nothing written."""
    made = [p for p in [out, *out.parents] if not p.exists()]
    try:
        yield
    except EdgeLstmError:
        for folder in made:  # innermost first; each is empty unless something else wrote there
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def prepare(model: Path, data: Path | None, eval_data: Path | None, samples: int, limits: dict,
            calibrate: bool):
    """``(keras_model, calibration, reference, device_reference)``, every input checked before
    any work.

    The digit model (28×28 → 10) without ``--eval`` and with MNIST as ``data`` (or none) is
    calibrated on MNIST's training images and checked on the bundled test split, as always; any
    other model on the user's data (:mod:`edge_lstm.dataset`), checked on all of its held-out
    part, with a bounded sample of it kept as the device's reference."""
    from converters.model import load as load_keras
    from converters.reference import keras_reference, outputs
    from edge_lstm import dataset, parity
    from edge_lstm.data import CLASSES, INPUT_SHAPE, load_mnist

    net = load_keras(model)  # a clear error now for a file that is not a suitable Keras model
    input_shape = tuple(net.input_shape[1:])
    digit_shaped = (input_shape == INPUT_SHAPE and tuple(net.output_shape[1:]) == (CLASSES,)
                    and eval_data is None)
    mnist = _mnist_itself(data) if digit_shaped and data is not None else None
    if digit_shaped and (data is None or mnist is not None):
        calibration = calibration_images((mnist or load_mnist(data)).train.x, samples) if calibrate else None
        reference = keras_reference(model).with_limits(limits)
        return net, calibration, reference, reference
    if data is None and eval_data is not None:
        raise EdgeLstmError("--eval needs --data too: calibration and the training part come from it")
    if data is None:
        raise EdgeLstmError(f"{model.name} takes {input_shape}, not MNIST's {INPUT_SHAPE}: give "
                            "your data with --data DATA.npz (x, and y if you have it)")
    user = dataset.load(data, eval_data, input_shape)
    answers = outputs(net, user.eval.x)
    task, labels = dataset.task_of(answers, user.eval.y, str(eval_data or data))
    reference = parity.Reference(answers, labels, f"Keras model {model.name}", user.eval.x, task,
                                 parity.USER_LIMITS).with_limits(limits)
    sample = reference.take(pick(len(reference), parity.reference_items(user.eval.x)))
    calibration = user.train.x[pick(len(user.train.x), samples)] if calibrate else None
    return net, calibration, reference, sample


def _mnist_itself(data: Path):
    """``data`` loaded as MNIST if it is MNIST itself (its test split is the bundled one), else
    None. Only then is a digit-shaped model checked on the bundled split; other 28×28 data
    (Fashion-MNIST, the user's own digits) is the user's, checked on its own held-out part."""
    from edge_lstm import dataset
    from edge_lstm.data import load_mnist, load_test_split

    if not (Path(data).is_dir() or dataset.is_keras_layout(data)):
        return None
    try:
        mnist = load_mnist(data)
    except EdgeLstmError:  # not MNIST-like at all: the user-data path says what is wrong
        return None
    bundled = load_test_split()
    same = np.array_equal(mnist.test.x, bundled.x) and np.array_equal(mnist.test.y, bundled.y)
    return mnist if same else None


def convert_all(model: Path, tries: dict[str, tuple[str, ...]], out_dir: Path,
                calibration: np.ndarray | None, int8_io: bool, echo: Echo) -> list[Outcome]:
    """Convert ``model`` to each mode in each of the graph forms ``tries`` gives it, each in a
    child process; never raises for one conversion's failure."""
    jobs = [(mode, form) for mode, forms in tries.items() for form in forms]
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        calib_path = Path(tmp) / "calibration.npy"
        if calibration is not None:
            np.save(calib_path, calibration)
        for i, (mode, form) in enumerate(jobs, 1):
            target = Path(out_dir) / f"{Path(model).stem}_{mode}.{form}.tflite"
            outcome = _run_child(model, mode, form, target,
                                 calib_path if calibration is not None else None, int8_io)
            echo(f"[{i}/{len(jobs)}] {mode} ({form}): " + (
                f"{target.stat().st_size / 1024:.1f} KB" if outcome.path else f"FAILED: {outcome.error}"))
            outcomes.append(outcome)
    return outcomes


def _run_child(model: Path, mode: str, form: str, target: Path, calibration: Path | None,
               int8_io: bool) -> Outcome:
    args = [Path(model), mode, Path(target), "--form", form] \
        + (["--calibration", Path(calibration)] if calibration is not None else []) \
        + (["--int8-io"] if int8_io else [])
    try:
        child.run("converters.convert", *args)
    except child.ChildFailed as e:
        if e.signal:
            return Outcome(mode, form, error=f"the TFLite converter crashed ({e.signal}) on the "
                           f"{form} form; no model written (see docs/conversion.md)")
        return Outcome(mode, form, error=str(e))
    return Outcome(mode, form, path=target)


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
    from converters import export
    from converters import model as seed_model

    net = seed_model.load(args.model)
    calibration = np.load(args.calibration) if args.calibration else None
    try:
        data = export.to_tflite(net, args.mode, calibration, int8_io=args.int8_io, form=args.form)
    except export.ConversionError as e:
        raise EdgeLstmError(str(e)) from None
    atomic.write_bytes(args.out, data)


def runtime_matrix() -> list[RuntimeSpec]:
    """Every runtime this host can measure: those importable here, plus tflite-runtime from the
    environment named by ``$EDGE_LSTM_TFLITE_RUNTIME_PYTHON`` (it needs numpy<2)."""
    import importlib.util

    from edge_lstm.verify import RuntimeSpec

    specs = [RuntimeSpec(name) for name, (module, _) in RUNTIMES.items()
             if importlib.util.find_spec(module.split(".")[0]) is not None]
    other = os.environ.get("EDGE_LSTM_TFLITE_RUNTIME_PYTHON")
    if other and not any(s.name == "tflite-runtime" for s in specs):
        specs.append(RuntimeSpec("tflite-runtime", other))
    return specs


def unmeasured(specs: list[RuntimeSpec]) -> list[str]:
    """A warning for each device runtime this run could not check: the recommended model is then
    proven on the others only (a dynamic-range model, say, needs a newer runtime than
    tflite-runtime 2.14)."""
    measured = {s.name for s in specs}
    return [f"{name} was not measured here, so the recommended model may not run on it"
            + (" (set EDGE_LSTM_TFLITE_RUNTIME_PYTHON to a python that has it)"
               if name == "tflite-runtime" else "")
            for name in DEVICE_RUNTIMES if name not in measured]


def _fallbacks(net, outcomes: list[Outcome], results: list, pinned: dict) -> dict[str, tuple[str]]:
    """The fallback form (:func:`converters.export.fallback_form`) of each mode whose forms all
    failed, unless the user pinned the mode's form."""
    from converters.export import fallback_form

    retry = {}
    for mode in dict.fromkeys(o.mode for o in outcomes):
        form = None if mode in pinned else fallback_form(net, mode)
        if form and _best([o for o in outcomes if o.mode == mode], results, "speed")[0] is None:
            retry[mode] = (form,)
    return retry


def record(out_dir: Path, keras_model: Path, outcomes: list[Outcome], results: list,
           reference, prefer: str) -> tuple[list[str], list[str], str | None]:
    """Keep, for each mode, the best staged form (:func:`_best`) that passes on some runtime: move
    it into ``out_dir`` and record it, with the device's Keras ``reference``, in its manifest;
    pick the recommended device model. A mode with no passing form keeps its previous file and
    record.

    Returns ``(failures, warnings, recommended)``: modes with no model to ship, kept models that
    fail on some runtime (recorded: the manifest lists the runtimes each model passed on), and the
    recommended model's file name (None when the folder has no model)."""
    from edge_lstm import manifest

    failures, warnings = [], []
    _record_reference(out_dir, keras_model, reference)
    for mode in dict.fromkeys(o.mode for o in outcomes):
        tried = [o for o in outcomes if o.mode == mode]
        best, mine = _best(tried, results, prefer)
        final = output_path(keras_model, out_dir, mode)
        if best is None:
            kept = "; the previous one is kept" if final.exists() else ""
            reasons = [f"{o.form}: {o.error or 'failed parity on every runtime'}" for o in tried]
            failures.append(f"{mode}: no form passed ({'; '.join(reasons)}){kept}")
            continue
        warnings += [f"{final.name} is not for {r.runtime}: {r.error or 'it fails parity there'}"
                     for r in mine if not r.passed]
        os.replace(best.path, final)
        manifest.record(out_dir, final, kind="tflite", quant=mode, form=best.form,
                        source=keras_model.name, ops=mine[0].ops, passed_on=_passed_on(mine),
                        parity={r.runtime.split()[0]: _parity_record(r) for r in mine})
    return failures, warnings, _recommend(out_dir, prefer)


def _record_reference(out_dir: Path, keras_model: Path, reference) -> None:
    """The digit model's predictions on the bundled test split, or a user model's reference
    (inputs, Keras outputs, labels) with its task and limits."""
    from dataclasses import asdict

    from edge_lstm import manifest
    from edge_lstm.dataset import REGRESSION

    kind = "predictions" if reference.digits else "reference"
    path = Path(out_dir) / f"{keras_model.stem}.{kind}.npz"
    reference.save(path)
    facts = {"model": keras_model.name, "limits": asdict(reference.limits)}
    if reference.labels is not None and reference.task != REGRESSION:
        facts["keras_accuracy"] = round(100 * float(
            np.mean(reference.outputs.argmax(-1) == reference.labels)), 3)
    if reference.digits:
        manifest.record(out_dir, path, kind=kind, images=len(reference), **facts)
    else:
        manifest.record(out_dir, path, kind=kind, items=len(reference), task=reference.task,
                        input_shape=list(reference.inputs.shape[1:]),
                        output_shape=list(reference.outputs.shape[1:]), **facts)


def _best(tried: list[Outcome], results: list, prefer: str):
    """The form that passes on the most runtimes, then the best by :func:`_choose`; and its
    results."""
    candidates = []
    for outcome in (o for o in tried if o.path):
        mine = [r for r in results if Path(r.model) == outcome.path]
        if _passed_on(mine):
            candidates.append((outcome, mine))
    if not candidates:
        return None, []
    most = max(len(_passed_on(mine)) for _, mine in candidates)
    return _choose([c for c in candidates if len(_passed_on(c[1])) == most], prefer,
                   latency=lambda c: _slowest(_passed_on(c[1]), {r.runtime.split()[0]: r.latency_us
                                                                 for r in c[1]}),
                   size=lambda c: c[0].path.stat().st_size)


def _choose(items: list, prefer: str, latency, size):
    """The fastest item (latencies within :data:`SAME_SPEED` count as equal, and the smaller file
    wins among them), or with ``prefer="size"`` the smallest."""
    if prefer == "size":
        return min(items, key=size)
    fastest = min(latency(item) for item in items)
    return min((item for item in items if latency(item) <= fastest * SAME_SPEED), key=size)


def _slowest(passed_on: list[str], latencies: dict) -> float:
    """The latency on the slowest device runtime the model passed on (else any runtime)."""
    device = [latencies[n] for n in passed_on if n in DEVICE_RUNTIMES and latencies.get(n)]
    return max(device or [latencies[n] for n in passed_on if latencies.get(n)] or [float("inf")])


def _passed_on(results: list) -> list[str]:
    return [r.runtime.split()[0] for r in results if r.passed]


def _parity_record(result) -> dict:
    if result.error:
        return {"version": result.runtime, "passed": False, "error": result.error}
    return {"version": result.runtime.partition(" ")[2], "passed": result.passed,
            **result.metrics.record(), "latency_us": result.latency_us}


def _recommend(out_dir: Path, prefer: str) -> str | None:
    """Among the models that passed on the most device runtimes: the fastest on its slower device
    runtime, or with ``prefer="size"`` the smallest (:func:`_choose`); recorded, its file name
    returned."""
    from edge_lstm import manifest

    current = manifest.load(out_dir)
    models = [a for a in manifest.artifacts(current, "tflite") if (Path(out_dir) / a["file"]).exists()]
    if not models:
        return None

    def devices(entry):
        return len(set(DEVICE_RUNTIMES) & set(entry.get("passed_on", [])))

    most = max(map(devices, models))
    best = _choose([a for a in models if devices(a) == most], prefer,
                   latency=lambda a: _slowest(a.get("passed_on", []), {
                       name: record.get("latency_us") for name, record in a.get("parity", {}).items()}),
                   size=lambda a: a.get("size_bytes", 0))
    current["recommended"], current["prefer"] = best["file"], prefer
    manifest.save(out_dir, current)
    return best["file"]


if __name__ == "__main__":
    child.main(_child_main)
