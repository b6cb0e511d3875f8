"""The ``edge-lstm`` command line.

Device commands (``infer``, ``parity``, ``bench``) import only the light runtime. Host commands
(``train``, ``convert``) import the TensorFlow toolchain in ``converters`` inside the command, so
``edge-lstm --help`` and every device command run without TensorFlow.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Optional

import typer

from edge_lstm.errors import EdgeLstmError

app = typer.Typer(
    name="edge-lstm",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DataOption = typer.Option(None, "--data", help="MNIST as a Keras-layout .npz or a folder of the "
                          "four IDX files (default: $EDGE_LSTM_MNIST, else Keras' download).")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def clean_errors(command):
    """Turn the errors a user can fix, and Ctrl-C, into one line and an exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EdgeLstmError as e:
            raise fail(str(e)) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None

    return wrapper


def _print_version(value: bool) -> None:
    if value:
        from edge_lstm import __version__

        typer.echo(f"edge-lstm {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Train a Keras LSTM digit classifier, convert it to quantized TFLite, and prove that the
    model on the device gives the trained model's answers."""


@app.command()
@clean_errors
def train(
    out: Path = typer.Option(Path("lstm.keras"), "--out", "-o", help="Where to write the .keras model; "
                             "the history (.history.json) and curves (.curves.png) go beside it."),
    data: Optional[Path] = DataOption,
    epochs: int = typer.Option(30, min=1, help="Training epochs."),
    batch_size: int = typer.Option(128, min=1, help="Images per batch."),
    learning_rate: float = typer.Option(3e-3, "--lr", min=0.0, help="Adam's learning rate."),
    schedule: str = typer.Option("plateau", help="'plateau': halve the rate when the loss stops "
                                 "improving; 'constant'."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same model."),
    limit: Optional[int] = typer.Option(None, min=1, help="Train on the first N images only."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model."),
) -> None:
    """Train the seed LSTM on MNIST and write the model, its history and training curves.

    The defaults are the shipped model's recipe (30 epochs of Adam at 3e-3, halved on a loss
    plateau). The blog post's seed: --epochs 10 --lr 1e-3 --schedule constant.
    """
    from edge_lstm import atomic
    from edge_lstm.data import load_mnist

    if out.suffix != ".keras":
        raise EdgeLstmError(f"{out}: the model file must end in .keras")
    atomic.check_writable(out, force)
    mnist = load_mnist(data)
    from converters.train import SCHEDULES, Recipe, save, train as fit

    if schedule not in SCHEDULES:
        raise EdgeLstmError(f"--schedule must be one of: {', '.join(SCHEDULES)}")
    recipe = Recipe(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                    schedule=schedule, seed=seed)
    verbose = 1 if sys.stdout.isatty() else 2
    result = fit(mnist, recipe, verbose=verbose, limit=limit)
    save(result, out, mnist, recipe)
    typer.echo(f"test accuracy: {result.test_accuracy:.2%} on {len(mnist.test)} images")
    typer.echo(f"wrote {out}, {out.with_suffix('.history.json')}, {out.with_suffix('.curves.png')}")


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="edge-lstm")


RuntimeOption = typer.Option(
    None, "--runtime", "-r",
    help="Runtime to use: ai-edge-litert, tflite-runtime or tensorflow (default: the first "
    "installed). Repeat to compare several; NAME=PYTHON runs it in another environment's Python.")


@app.command()
@clean_errors
def parity(
    models: Optional[list[Path]] = typer.Argument(None, help="The .tflite models to check "
                                                  "(default: the recommended device model)."),
    runtime: Optional[list[str]] = RuntimeOption,
    keras_model: Optional[Path] = typer.Option(None, "--keras", help="Compare against this Keras "
                                               "model, run now (needs TensorFlow), instead of the "
                                               "shipped Keras predictions."),
    limit: Optional[int] = typer.Option(None, help="Check the first N test images only (quick)."),
    max_drop: float = typer.Option(0.3, help="Largest accuracy drop against Keras, in points."),
    min_agreement: float = typer.Option(99.5, help="Smallest top-1 agreement with Keras, in %."),
    models_dir: Optional[Path] = typer.Option(None, help="Folder of shipped models and manifest "
                                              "(default: $EDGE_LSTM_MODELS, else models/)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    report: Optional[Path] = typer.Option(None, help="Also write a Markdown report here."),
    chart: Optional[Path] = typer.Option(None, help="Also write a PNG chart here (needs matplotlib)."),
) -> None:
    """Check that .tflite models give the Keras model's answers on the MNIST test split.

    Runs the bundled test split through the interpreter and compares, image by image, with the
    Keras model's predictions: accuracy drop, top-1 agreement, probability differences, and the
    accuracy recorded in the manifest at conversion time. Exit code 1 when a model fails.
    """
    import json

    from edge_lstm import atomic, manifest, report as render
    from edge_lstm.data import load_test_split
    from edge_lstm.verify import RuntimeSpec, run

    if limit is not None and limit < 1:
        raise EdgeLstmError("--limit must be at least 1")
    folder = models_dir or manifest.models_dir()
    paths = models or [manifest.recommended_model(folder)]
    for path in paths:
        if not path.is_file():
            raise EdgeLstmError(f"model not found: {path}")
    test = load_test_split()
    reference = _reference(keras_model, folder, test)
    if limit:
        reference = reference.head(limit)
    specs = [RuntimeSpec.parse(r) for r in runtime] if runtime else [RuntimeSpec()]
    results = run(paths, specs, reference, test.x, max_drop, min_agreement)
    if json_out:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        typer.echo(render.table(results, reference.source))
    if report:
        atomic.write_text(report, render.markdown(results, reference.source))
    if chart:
        render.chart(results, chart)
    if not all(r.passed for r in results):
        raise typer.Exit(1)


def _reference(keras_model: Optional[Path], folder: Path, test):
    """Keras' answers: run now from ``--keras``, else the predictions shipped in ``folder``."""
    from edge_lstm import parity as parity_rules

    if keras_model is not None:
        from converters.reference import keras_reference

        return keras_reference(keras_model, test)
    shipped = parity_rules.shipped_reference(folder)
    if shipped is None:
        raise EdgeLstmError(f"no Keras predictions recorded in {folder}; pass --keras MODEL.keras")
    return shipped[0]


@app.command()
@clean_errors
def convert(
    model: Path = typer.Argument(..., help="The trained .keras model."),
    quant: str = typer.Option("float32,float16,dynamic,int8,int16x8", "--quant", "-q",
                              help="Comma-separated modes: float32, float16, dynamic (int8 weights), "
                              "int8 (full integer), int16x8 (16-bit activations)."),
    out: Path = typer.Option(Path("models"), "--out", "-o", help="Folder for the .tflite models; "
                             "they are recorded in its manifest.json."),
    data: Optional[Path] = DataOption,
    calibration_samples: int = typer.Option(500, help="Training images used to calibrate int8 and "
                                            "int16x8, drawn reproducibly."),
    int8_io: bool = typer.Option(False, "--int8-io", help="Give the int8 model int8 input and output "
                                 "tensors (default: float input and output)."),
    runtime: Optional[list[str]] = RuntimeOption,
    force: bool = typer.Option(False, "--force", help="Overwrite existing .tflite files."),
) -> None:
    """Convert a Keras model to TFLite in each quantization mode and check each one's parity.

    Each mode converts in its own process, so a converter crash fails only that mode. Each model
    is then run on every runtime available (ai-edge-litert, TensorFlow's interpreter, and
    tflite-runtime from $EDGE_LSTM_TFLITE_RUNTIME_PYTHON) against the Keras model on the MNIST test
    split; models that pass are recorded in the output folder's manifest.json, with the Keras
    predictions that let a device check parity without TensorFlow. Exit code 1 if a mode failed.
    """
    from edge_lstm import atomic, report as render
    from edge_lstm.data import load_mnist, load_test_split

    modes = [m.strip() for m in quant.split(",") if m.strip()]
    from converters.convert import MODES, calibration_images, convert_all, output_path, record, runtime_matrix

    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise EdgeLstmError(f"unknown --quant mode(s) {', '.join(unknown) or '(none)'}; "
                            f"choose from {', '.join(MODES)}")
    if not model.is_file():
        raise EdgeLstmError(f"model not found: {model}")
    for mode in modes:
        atomic.check_writable(output_path(model, out, mode), force)
    from converters.model import load as load_keras
    from converters.reference import keras_reference
    from edge_lstm.verify import RuntimeSpec, run

    load_keras(model)  # a clear error now for a file that is not a suitable Keras model
    calibration = None
    if {"int8", "int16x8"} & set(modes):
        calibration = calibration_images(load_mnist(data).train.x, calibration_samples)
    outcomes = convert_all(model, modes, out, calibration, int8_io, echo=typer.echo)
    typer.echo("checking parity against the Keras model…")
    test = load_test_split()
    reference = keras_reference(model, test)
    specs = [RuntimeSpec.parse(r) for r in runtime] if runtime else runtime_matrix()
    results = run([o.path for o in outcomes if o.path], specs, reference, test.x)
    typer.echo(render.table(results, reference.source))
    failures = record(out, model, outcomes, results, reference)
    for failure in failures:
        typer.echo(f"FAILED {failure}", err=True)
    if failures:
        raise typer.Exit(1)
