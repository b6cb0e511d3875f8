"""A parity run: each model on each runtime against the Keras reference, with pass/fail."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from edge_lstm import child, manifest, parity, tflite_model
from edge_lstm.errors import EdgeLstmError
from edge_lstm.predict import predict


@dataclass(frozen=True)
class RuntimeSpec:
    """A runtime to measure: its name (None = the first installed) and, to run it in another
    environment, that environment's Python."""

    name: str | None = None
    python: str | None = None

    @classmethod
    def parse(cls, text: str) -> RuntimeSpec:
        """``NAME`` or ``NAME=PYTHON``."""
        from edge_lstm.runtime import RUNTIMES

        name, _, python = text.partition("=")
        if name not in RUNTIMES:
            raise EdgeLstmError(f"unknown runtime {name!r}; choose from {', '.join(RUNTIMES)}")
        return cls(name, child.executable(python) if python else None)


@dataclass
class Result:
    model: str
    runtime: str
    size_bytes: int
    ops: list[str] = field(default_factory=list)
    metrics: parity.Metrics | parity.RegressionMetrics | None = None
    checks: list[parity.Check] = field(default_factory=list)
    latency_us: float | None = None
    error: str | None = None
    notice: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and parity.passed(self.checks)

    def as_dict(self) -> dict:
        return {
            "model": self.model, "runtime": self.runtime, "passed": self.passed,
            "size_bytes": self.size_bytes, "ops": self.ops, "latency_us": self.latency_us,
            "metrics": self.metrics.as_dict() if self.metrics else None,
            "checks": [c.as_dict() for c in self.checks], "error": self.error, "notice": self.notice,
        }


def run(models: list[Path], runtimes: list[RuntimeSpec], reference: parity.Reference,
        limits: parity.Limits | None = None, recorded: bool = True,
        step: Callable[[str], None] = lambda label: None) -> list[Result]:
    """Measure every model on every runtime against ``reference`` (with its own limits unless
    ``limits``). A model a runtime cannot run is a failed result with the reason, not an
    exception. ``recorded``: also hold each model to the accuracy recorded in its folder's
    manifest (off while converting, when the record is being made). ``step`` is told each model
    and runtime as its run starts."""
    inputs = reference.model_inputs()
    results = []
    for model in models:
        info = tflite_model.inspect(model)
        ops = list(info.ops)
        entry, notice = _recorded(model) if recorded else (None, None)
        for spec in runtimes:
            step(f"{model.name} on {spec.name or 'auto'}")
            result = Result(str(model), spec.name or "auto", info.size_bytes, ops, notice=notice)
            if entry is not None and not manifest.sha256_matches(model):
                result.checks.append(parity.Check("file matches its manifest sha256", None,
                                                  entry["sha256"][:12], False))
            try:  # a runtime that lacks a kernel says so when it loads the model
                outputs, result.runtime, result.latency_us = predict(model, inputs, spec.name,
                                                                      spec.python)
                result.metrics = parity.compare(outputs, reference)
            except EdgeLstmError as e:
                result.error = _without_path(str(e), Path(model))
                results.append(result)
                continue
            expected = _recorded_accuracy(entry, result.runtime.split()[0], result.metrics.images)
            result.checks += parity.judge(result.metrics, reference, limits or reference.limits, expected)
            results.append(result)
    return results


def _without_path(error: str, model: Path) -> str:
    """The error without the model's path in front: the result names the model, and a path
    (a staging folder while converting) must not reach the manifest."""
    for prefix in (f"{model}: ", f"{model.absolute()}: "):
        error = error.removeprefix(prefix)
    return error


def _recorded(model: Path) -> tuple[dict | None, str | None]:
    """The manifest entry recorded for ``model`` at conversion time, or a notice that there is none."""
    entry = manifest.entry(manifest.load(model.parent), model.name, kind="tflite")
    if entry is None:
        return None, (f"{model.name} is not in {model.parent / manifest.FILENAME}: no reference "
                      "was recorded, so it is checked against the Keras predictions and labels only")
    return entry, None


def _recorded_accuracy(entry: dict | None, runtime: str, images: int) -> float | None:
    """The accuracy recorded for this runtime (else any runtime) on the same number of images."""
    if not entry:
        return None
    by_runtime = entry.get("parity", {})
    record = by_runtime.get(runtime) or next(iter(by_runtime.values()), None)
    if not record or record.get("images") != images:
        return None
    return record.get("accuracy")


def command(models: list[Path], runtimes: list[RuntimeSpec], keras_model: Path | None,
            limit: int | None, limits: dict, models_dir: Path | None,
            as_json: bool, report: Path | None, chart: Path | None, echo) -> int:
    """``edge-lstm parity``: check the models (default: the recommended one) against the reference
    recorded beside them, with its limits but those given in ``limits`` (None: recorded), print
    the table or JSON, write the report and chart asked for; the exit code is 1 when a model fails."""
    from edge_lstm import atomic, tables
    from edge_lstm import report as render

    folder = models_dir or manifest.models_dir()
    paths = models or [manifest.recommended_model(folder)]
    reference = _reference(keras_model, [folder] if models_dir or not models else
                           [paths[0].parent, manifest.models_dir()])
    if limit:
        reference = reference.head(limit)
    if chart:
        render.check_chartable(reference)
    runtimes = runtimes or [RuntimeSpec()]
    with tables.progress(len(paths) * len(runtimes), "parity") as step:
        results = run(paths, runtimes, reference, reference.limits.given(**limits), step=step)
    if as_json:
        echo(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        echo(render.table(results, reference))
    if report:
        atomic.write_text(report, render.markdown(results, reference))
    if chart:
        render.chart(results, chart)
    return 0 if all(r.passed for r in results) else 1


def _reference(keras_model: Path | None, folders: list[Path]) -> parity.Reference:
    """Keras' answers: recorded in the first of ``folders`` that has a reference, or with
    ``--keras`` run now on the same inputs (the MNIST test split for the digit model)."""
    recorded = next(filter(None, map(parity.shipped_reference, folders)), None)
    if keras_model is not None:
        from converters.reference import keras_reference

        return keras_reference(keras_model, recorded)
    if recorded is None:
        raise EdgeLstmError(f"no Keras reference recorded in {folders[0]}; pass --keras MODEL.keras")
    return recorded
