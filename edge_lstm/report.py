"""Render parity results: a terminal table, a Markdown report and a PNG chart."""

from __future__ import annotations

from pathlib import Path

from edge_lstm import atomic, tables
from edge_lstm.dataset import PER_STEP, REGRESSION
from edge_lstm.parity import RegressionMetrics
from edge_lstm.verify import Result

# Units as in bench and the manifest: %, percentage points, KB (1024 bytes), µs.
COLUMNS = ("model", "runtime", "acc %", "acc Δ pp", "agree %", "max Δp", "size KB", "p50 µs", "result")
REGRESSION_COLUMNS = ("model", "runtime", "RMSE", "RMSE/spread %", "max Δ", "size KB", "p50 µs",
                      "result")
SIGN = "acc Δ pp = model − Keras accuracy (negative: worse; the manifest's drop_pp is Keras − model)"
SPREAD = ("RMSE/spread % = RMSE against the Keras outputs / their standard deviation; "
          "max Δ = largest absolute difference")


def _row(r: Result, columns: tuple = COLUMNS) -> list[str]:
    m = r.metrics
    if isinstance(m, RegressionMetrics):
        cells = [f"{m.rmse:.4g}", f"{m.rel_rmse_pct:.2f}", f"{m.max_abs_error:.4g}"]
    elif m:  # the accuracy change is model − Keras (+ 0.0: a zero drop shows as +0.00)
        accuracy = ["-", "-"] if m.accuracy is None else [f"{m.accuracy:.2f}", f"{-m.drop_pp + 0.0:+.2f}"]
        cells = [*accuracy, f"{m.agreement:.2f}", f"{m.max_abs_dprob:.4f}"]
    else:
        cells = ["-"] * (len(columns) - 5)
    verdict = "PASS" if r.passed else "FAIL"
    return [Path(r.model).name, r.runtime, *cells, f"{r.size_bytes / 1024:.1f}",
            f"{r.latency_us:.0f}" if r.latency_us else "-", verdict]


def _columns(reference) -> tuple[tuple, str]:
    return (REGRESSION_COLUMNS, SPREAD) if reference.task == REGRESSION else (COLUMNS, SIGN)


def _what(reference) -> str:
    """What the reference's items are, for the line above the table."""
    if reference.digits:
        return f"{len(reference)} MNIST test images"
    steps = f" ({reference.outputs.shape[1]} steps each)" if reference.task == PER_STEP else ""
    return f"{len(reference)} held-out items{steps}, {reference.task}"


def _problems(r: Result) -> list[str]:
    lines = [f"{Path(r.model).name} on {r.runtime}: {r.error}"] if r.error else []
    lines += [f"{Path(r.model).name} on {r.runtime}: {c.name} = {c.value} (needs {c.limit})"
              for c in r.checks if c.passed is False]
    return lines


def table(results: list[Result], reference) -> str:
    """The results under a line naming the reference and the items they were checked on."""
    columns, legend = _columns(reference)
    text = [f"parity against {reference.source} on {_what(reference)}",
            tables.render(list(columns), [_row(r, columns) for r in results], left=2), legend]
    notices = sorted({r.notice for r in results if r.notice})
    text += [f"note: {n}" for n in notices]
    text += [f"FAIL: {line}" for r in results for line in _problems(r)]
    return "\n".join(text)


def markdown(results: list[Result], reference) -> str:
    columns, legend = _columns(reference)
    lines = ["# Parity report", "", f"Reference: {reference.source}, on {_what(reference)}.", "",
             f"{legend}.", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_row(r, columns)) + " |" for r in results]
    for r in results:
        lines += ["", f"## {Path(r.model).name} on {r.runtime}", ""]
        if r.error:
            lines.append(f"Could not run: {r.error}")
            continue
        lines += [f"- ops: {', '.join(r.ops)}", *_details(r.metrics)]
        lines += [f"- {'PASS' if c.passed else 'FAIL' if c.passed is False else 'n/a'}: "
                  f"{c.name} = {c.value} (needs {c.limit})" for c in r.checks]
    return "\n".join(lines) + "\n"


def _details(m) -> list[str]:
    if isinstance(m, RegressionMetrics):
        targets = [] if m.target_rmse is None else [
            f"- RMSE against the targets: model {m.target_rmse:.6g}, Keras {m.reference_target_rmse:.6g}"]
        return [f"- RMSE {m.rmse:.6g} against the Keras outputs, whose spread (std) is {m.spread:.6g}",
                f"- max |Δ| {m.max_abs_error:.6g}", *targets]
    lines = [f"- mean |Δp| {m.mean_abs_dprob:.6f}, max |Δp| {m.max_abs_dprob:.6f}"]
    if m.accuracy is not None:
        lines += ["- per-class accuracy Δ (pp, model − Keras): " + ", ".join(
                      f"{c}: {d:+.2f}" for c, d in enumerate(m.per_class_delta_pp)),
                  f"- confusion-matrix cells that changed: {len(m.changed_cells)}"]
        lines += [f"  - true {c['true']} → predicted {c['predicted']}: Keras {c['reference']}, "
                  f"model {c['model']}" for c in m.changed_cells]
    return lines


def check_chartable(reference) -> None:
    """Refuse a chart before any work when there is no accuracy to draw."""
    if reference.task == REGRESSION or reference.labels is None:
        from edge_lstm.errors import EdgeLstmError

        raise EdgeLstmError("--chart draws accuracy against labels: this reference is a regression "
                            "or has no labels")


def chart(results: list[Result], path: Path) -> None:
    """Accuracy and agreement per model and runtime, as a PNG (needs matplotlib)."""
    from edge_lstm.errors import EdgeLstmError

    measured = [r for r in results if r.metrics]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise EdgeLstmError("--chart needs matplotlib (pip install matplotlib)") from None
    labels = [f"{Path(r.model).stem}\n{r.runtime.split()[0]}" for r in measured]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(labels)), 4))
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], [r.metrics.accuracy for r in measured], 0.4, label="accuracy %")
    ax.bar([i + 0.2 for i in x], [r.metrics.agreement for r in measured], 0.4, label="agreement with Keras %")
    if measured:
        ax.axhline(measured[0].metrics.reference_accuracy, color="k", lw=0.8, ls="--", label="Keras accuracy")
    ax.set_xticks(list(x), labels, fontsize=7)
    lowest = min((min(r.metrics.accuracy, r.metrics.agreement) for r in measured), default=95.0)
    ax.set_ylim(min(95.0, lowest - 2.0), 100.2)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("edge-lstm parity")
    fig.tight_layout()
    atomic.write_with(path, lambda p: fig.savefig(p, format="png", dpi=100))
    plt.close(fig)
