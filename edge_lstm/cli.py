"""The ``edge-lstm`` command line: each command declares its options and calls one function.

Typer checks every value before a command runs (choices, ranges, existing files, structured
values: :mod:`edge_lstm.options`); :class:`edge_lstm.exits.Program` turns every ending that is
not a bug into one line and an exit code. Device commands (``infer``, ``parity``, ``bench``)
import only the light runtime; host commands (``train``, ``convert``) import the TensorFlow
toolchain in ``converters`` inside the command, so ``--help`` and device commands run without it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

try:  # Ctrl-C while the command line loads (typer: most of 0.1 s): the same one line as later
    import typer

    from edge_lstm import exits, options, tf_log
    from edge_lstm.options import FormPin, Modes, Prefer, Roi, Runtime, Schedule
    from edge_lstm.parity import MAX_DROP_PP, MIN_AGREEMENT_PCT, USER_LIMITS
    from edge_lstm.quant import MODES
    from edge_lstm.recipe import FORMS, Recipe
    from edge_lstm.runtime import RUNTIMES
    from edge_lstm.verify import RuntimeSpec
except KeyboardInterrupt:
    sys.stderr.write("error: interrupted\n")
    raise SystemExit(130) from None

app = typer.Typer(
    cls=exits.Program,
    name="edge-lstm",
    add_completion=False,
    rich_markup_mode=None,  # plain help: no boxes, no <bool> on flags
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

InputFile = {"exists": True, "dir_okay": False}  # a file to read: Typer refuses a missing one
DataOption = typer.Option(None, "--data", exists=True, help="MNIST as a Keras-layout .npz or a "
                          "folder of the four IDX files (default: $EDGE_LSTM_MNIST, else Keras' "
                          "download).")
SHIPPED = Recipe()  # train's defaults: the shipped model's recipe
# Parity limits, for convert and parity; None: the reference's own (parity) or the task's default.
MinAgreementOption = typer.Option(None, "--min-agreement", min=0.0, max=100.0, help="Smallest "
                                  f"top-1 agreement with Keras, in % (default: {MIN_AGREEMENT_PCT} "
                                  f"for the digit model, {USER_LIMITS.min_agreement} for yours; "
                                  "parity: the limit recorded at conversion).")
MaxDropOption = typer.Option(None, "--max-drop", min=0.0, max=100.0, help="Largest accuracy drop "
                             f"against Keras, in points (default: {MAX_DROP_PP} for the digit model, "
                             f"{USER_LIMITS.max_drop} for yours; parity: as recorded).")
MaxRmseOption = typer.Option(None, "--max-rmse", min=0.0, help="Regression: largest RMSE against "
                             "the Keras outputs, in % of their standard deviation (default: "
                             f"{USER_LIMITS.max_rmse_pct}; parity: as recorded).")
RUNTIME_HELP = (f"Runtime to use: {', '.join(RUNTIMES)} (default: the first "
                "installed). Repeat to compare several; NAME=PYTHON runs it in another "
                "environment's Python.")


def main() -> None:
    """The program (``edge-lstm``, ``python -m edge_lstm``): the process-wide settings, then the
    command line, which ends the process with an exit code."""
    exits.raise_on_stop_signals()  # so that finally blocks remove temporary files
    tf_log.install()  # device commands load TensorFlow on request (--runtime tensorflow, bench)
    if sys.stdout is None:  # started with stdout closed: every answer would be lost
        sys.stderr.write("error: standard output is closed; nowhere to write the answers\n")
        raise SystemExit(exits.USAGE)
    exits.label_stdout_errors()
    app(prog_name="edge-lstm")


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


@app.command("train")
def train_command(
    out: Path = typer.Option(Path("lstm.keras"), "--out", "-o", dir_okay=False,
                             callback=options.keras_file, help="Where to "
                             "write the .keras model; the history (.history.json) and curves "
                             "(.curves.png) go beside it."),
    data: Optional[Path] = DataOption,
    epochs: int = typer.Option(SHIPPED.epochs, min=1, help="Training epochs."),
    units: int = typer.Option(SHIPPED.units, min=1, max=512, help="Width of the Dense layer and the "
                              "LSTM (the seed family: Dense → LSTM → Dense)."),
    batch_size: int = typer.Option(SHIPPED.batch_size, min=1, help="Images per batch."),
    learning_rate: float = typer.Option(SHIPPED.learning_rate, "--lr", min=0.0, max=10.0,
                                        help="Adam's learning rate."),
    schedule: Schedule = typer.Option(SHIPPED.schedule, help="Learning-rate schedule: cosine "
                                      "decay, plateau (halve the rate when the loss stops "
                                      "improving) or constant."),
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Add camera-like variants "
                                 "of the training images (pen width, slant, size, coarse scans, "
                                 "rotation, perspective, light, blur, noise, JPEG), run through "
                                 "the device's preprocessing."),
    augment_copies: int = typer.Option(SHIPPED.augment_copies, min=1,
                                       help="How many camera-like variants to add."),
    printed: int = typer.Option(SHIPPED.printed, min=0, help="How many camera-like printed digits "
                                "(half in the TrueType fonts of converters/fonts, half in OpenCV's Hershey "
                                "fonts) to add; 0: none."),
    negatives: int = typer.Option(SHIPPED.negatives, min=0, help="How many generated images of "
                                  "things that are not digits (letters, shapes, scenes) to add, "
                                  "labelled 'not a digit'; 0: none."),
    line_crops: int = typer.Option(SHIPPED.line_crops, min=0, help="How many candidate digits to "
                                   "cut from camera-like numbers of the training digits, as infer "
                                   "--number cuts them (single digits; pairs and sides of a 0 "
                                   "labelled 'not a digit'); 0: none."),
    seed: int = typer.Option(SHIPPED.seed, help="Random seed; the same seed gives the same model on "
                             "the same machine with the same library versions (elsewhere: similar "
                             "accuracy, other weights)."),
    limit: Optional[int] = typer.Option(None, min=1, help="Train on the first N images only."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model."),
) -> None:
    """Train the seed LSTM on MNIST and write the model, its history and training curves.

    The defaults are the shipped model's recipe: Adam on the 60 000 training images plus
    camera-like variants of them, printed digits, generated images of things that are not
    digits and candidate digits cut from numbers. The blog post's seed: --units 28 --epochs 10
    --lr 1e-3 --schedule constant --no-augment --printed 0 --negatives 0 --line-crops 0.
    """
    from converters import train

    train.run(out, data=data, epochs=epochs, units=units, batch_size=batch_size, learning_rate=learning_rate,
              schedule=schedule.value, augment_copies=augment_copies if augment else 0, seed=seed,
              printed=printed, negatives=negatives, line_crops=line_crops, limit=limit, force=force,
              echo=typer.echo)


@app.command("convert")
def convert_command(
    model: Path = typer.Argument(..., **InputFile, help="The trained .keras model."),
    quant: Modes = typer.Option(",".join(MODES), "--quant", "-q", parser=options.modes,
                                metavar="MODE[,MODE…]", help="Comma-separated modes: " + ", ".join(
                                    f"{mode} ({what})" for mode, what in MODES.items()) + "."),
    out: Path = typer.Option(Path("models"), "--out", "-o", file_okay=False, help="Folder for the "
                             ".tflite models; they are recorded in its manifest.json."),
    data: Optional[Path] = typer.Option(None, "--data", exists=True, help="Your data: an .npz "
                                        "with x (and y: class ids, per-step class ids or "
                                        "targets), or x_train, y_train, x_test, y_test. uint8 x "
                                        "is read as pixels scaled to [0, 1], other x as float32. "
                                        "For the MNIST digit model: MNIST, as for train "
                                        "(default: $EDGE_LSTM_MNIST, else Keras' download)."),
    eval_data: Optional[Path] = typer.Option(None, "--eval", **InputFile, help="Held-out data "
                                             "for parity (x and y, or x_test and y_test); "
                                             "default: x_test of --data, else a fixed fifth of x."),
    calibration_samples: int = typer.Option(500, min=1, help="Training items used to calibrate "
                                            "int8 and int16x8, drawn reproducibly."),
    int8_io: bool = typer.Option(False, "--int8-io", help="Give the int8 model int8 input and output "
                                 "tensors (default: float input and output)."),
    runtime: Optional[list[RuntimeSpec]] = typer.Option(None, "--runtime", "-r",
                                                        parser=options.runtime_spec,
                                                        metavar="NAME[=PYTHON]", help=RUNTIME_HELP),
    form: Optional[list[FormPin]] = typer.Option(None, "--form", parser=options.form_pin,
                                                 metavar="MODE=FORM", help="Expert: pin the graph "
                                                 f"form of a mode ({', '.join(FORMS)}); see "
                                                 "docs/conversion.md."),
    prefer: Prefer = typer.Option(Prefer.speed, help="How each mode's graph form and the "
                                  "recommended model are chosen among those that pass parity: "
                                  "speed (fastest on the slower device runtime) or size "
                                  "(smallest file, e.g. for microcontrollers and NPUs)."),
    min_agreement: Optional[float] = MinAgreementOption,
    max_drop: Optional[float] = MaxDropOption,
    max_rmse: Optional[float] = MaxRmseOption,
    force: bool = typer.Option(False, "--force", help="Overwrite existing .tflite files."),
) -> None:
    """Convert a Keras model to TFLite in each quantization mode and check each one's parity.

    Each mode is converted to each of its candidate graph forms, each in its own process, so a
    converter crash fails only that form; the fastest form that passes is kept. Each model
    is then run on every runtime available (each one installed here, and the one in the Python
    named by $EDGE_LSTM_TFLITE_RUNTIME_PYTHON) against the Keras model on held-out data (the
    MNIST test split for the digit model): classifiers by top-1 agreement and accuracy,
    per-step labellers per step, regressions by RMSE. Models that pass are recorded in the
    output folder's manifest.json, with the Keras reference that lets a device check parity
    without TensorFlow (see docs/your-model.md). Exit code 1 if a mode failed.
    """
    from converters import convert

    raise typer.Exit(convert.run(model, quant, out, data=data, eval_data=eval_data,
                                 samples=calibration_samples, int8_io=int8_io, runtimes=runtime,
                                 forms=dict(form or ()), prefer=prefer.value, force=force,
                                 limits=dict(min_agreement=min_agreement, max_drop=max_drop,
                                             max_rmse_pct=max_rmse), echo=typer.echo))


@app.command("parity")
def parity_command(
    models: Optional[list[Path]] = typer.Argument(None, **InputFile, help="The .tflite models to "
                                                  "check (default: the recommended device model)."),
    runtime: Optional[list[RuntimeSpec]] = typer.Option(None, "--runtime", "-r",
                                                        parser=options.runtime_spec,
                                                        metavar="NAME[=PYTHON]", help=RUNTIME_HELP),
    keras_model: Optional[Path] = typer.Option(None, "--keras", **InputFile, help="Compare "
                                               "against this Keras model, run now (needs "
                                               "TensorFlow), instead of the recorded Keras outputs."),
    limit: Optional[int] = typer.Option(None, min=1, help="Check the first N items only (quick)."),
    max_drop: Optional[float] = MaxDropOption,
    min_agreement: Optional[float] = MinAgreementOption,
    max_rmse: Optional[float] = MaxRmseOption,
    models_dir: Optional[Path] = typer.Option(None, exists=True, file_okay=False, help="Folder of "
                                              "shipped models and manifest (default: "
                                              "$EDGE_LSTM_MODELS, else models/)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    report: Optional[Path] = typer.Option(None, dir_okay=False, help="Also write a Markdown report here."),
    chart: Optional[Path] = typer.Option(None, dir_okay=False,
                                         help="Also write a PNG chart here (needs matplotlib)."),
) -> None:
    """Check that .tflite models give the Keras model's answers on the reference recorded beside
    them.

    For the digit model: runs the bundled MNIST test split through the interpreter and compares,
    image by image, with the Keras model's predictions: accuracy change (model − Keras,
    negative = worse), top-1 agreement, probability differences, and the accuracy recorded in
    the manifest at conversion time. For your model: its held-out inputs recorded by convert,
    against the Keras outputs (classifiers and per-step labellers: agreement and accuracy;
    regressions: RMSE relative to the spread of the Keras outputs, max error). Exit code 1 when
    a model fails.
    """
    from edge_lstm import verify

    raise typer.Exit(verify.command(models, runtime, keras_model, limit,
                                    dict(min_agreement=min_agreement, max_drop=max_drop,
                                         max_rmse_pct=max_rmse),
                                    models_dir, json_out, report, chart, echo=typer.echo))


@app.command("infer")
def infer_command(
    inputs: Optional[list[str]] = typer.Argument(None, help="Image files, folders or globs (a "
                                                 "PNG or WebP on a transparent canvas reads as on paper)."),
    video: Optional[Path] = typer.Option(None, "--video", **InputFile, help="Read frames from a "
                                         "video file."),
    camera: Optional[int] = typer.Option(None, "--camera", min=0, max=1023, help="Read frames "
                                         "from camera INDEX (0 = /dev/video0)."),
    width: Optional[int] = typer.Option(None, min=1, max=16384, help="Camera frame width to ask for."),
    height: Optional[int] = typer.Option(None, min=1, max=16384, help="Camera frame height to ask for."),
    fps: Optional[float] = typer.Option(None, min=0.1, max=1000.0, help="Camera frame rate to ask for."),
    max_frames: Optional[int] = typer.Option(None, min=1, help="Stop after N inputs."),
    every: int = typer.Option(1, min=1, help="Classify every N-th frame of a video or camera."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", **InputFile, help=".tflite model "
                                         "(default: the manifest's recommended device model)."),
    runtime: Optional[Runtime] = typer.Option(None, "--runtime", "-r", help="Runtime to use "
                                              "(default: the first installed)."),
    threads: Optional[int] = typer.Option(None, min=1, max=64, help="Interpreter threads."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Run a model whose sha256 differs "
                                     "from the one recorded in its manifest (it is still loaded "
                                     "in a child process first)."),
    roi: Optional[Roi] = typer.Option(None, parser=options.roi, metavar="X,Y,W,H",
                                      help="Look for the digit only in this part of the frame."),
    min_confidence: float = typer.Option(0.5, min=0.0, max=1.0, help="Answer 'none' below this "
                                         "probability."),
    number: bool = typer.Option(False, "--number", help="Read every digit on the frame's line of "
                                "writing, left to right, as one number (JSON: number, digits with "
                                "label, confidence and box; capped: the frame had too many ink "
                                "blobs or candidate digits, so some were not read). The number is "
                                "none when a digit is unsure: below --min-confidence, or read from "
                                "part of a mark whose rest is not a digit."),
    steady: Optional[int] = typer.Option(None, min=1, metavar="N", help="With --video or --camera: "
                                         "also report the last value (digit or number, none "
                                         "included) that held for N consecutive frames, on every "
                                         "line (JSON: \"steady\")."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per line."),
    show: bool = typer.Option(False, "--show", help="Show the annotated frames in a window (q quits)."),
    save: Optional[Path] = typer.Option(None, help="Write annotated frames into this new or empty "
                                        "folder: NAME.EXT.jpg per file (a.png → a.png.jpg), "
                                        "NAME.EXT_FRAME.jpg per video or camera frame."),
) -> None:
    """Classify handwritten digits in images, a video or a live camera.

    Each photo is turned into an MNIST-like 28×28 digit (threshold, polarity, the digit's
    component, 20×20 fit, centre of mass) and classified by the TFLite model. One line per input
    (--json: one object), then a summary. A frame without a digit is answered none with the
    reason (JSON: label null, "reason"): blank (nothing on the paper), not a digit (a letter, a
    sign, a drawing, an object, a scene) or unsure (below --min-confidence). Exit code 1 if some
    input could not be read, 130 if the run was interrupted.
    """
    from edge_lstm import infer

    raise typer.Exit(infer.command(
        inputs or [], video, camera, camera_size=(width, height, fps), every=every, model=model,
        runtime=runtime and runtime.value, threads=threads, trust_model=trust_model, roi=roi,
        min_confidence=min_confidence, max_frames=max_frames, as_json=json_out, show=show, save=save,
        number=number, steady=steady))


@app.command("bench")
def bench_command(
    models: Optional[list[Path]] = typer.Argument(None, **InputFile, help="Models to measure "
                                                  "(default: every .tflite in the manifest)."),
    runtime: Optional[Runtime] = typer.Option(None, "--runtime", "-r",
                                              help="Runtime for the .tflite models."),
    keras_model: Optional[Path] = typer.Option(None, "--keras", **InputFile, help="Keras baseline "
                                               "(default: the manifest's .keras model, or the one "
                                               "convert recorded if it is in the folder, when "
                                               "TensorFlow is installed)."),
    no_keras: bool = typer.Option(False, "--no-keras", help="Skip the Keras baseline and the peer."),
    peer: bool = typer.Option(True, "--peer/--no-peer", help="Also race ONNX Runtime on Keras' own "
                              "ONNX export of the Keras model (needs onnxruntime and tf2onnx)."),
    repeats: int = typer.Option(1000, min=10, max=1_000_000, help="Single-image runs per model."),
    batch: int = typer.Option(64, min=1, max=4096, help="Batch size for the throughput figure."),
    models_dir: Optional[Path] = typer.Option(None, exists=True, file_okay=False,
                                              help="Folder of shipped models and manifest."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """Measure each model's latency (p50/p95/p99, raced in one process against Keras and the ONNX
    Runtime peer), load time, throughput at batch 1 and N, peak memory, size and, for the digit
    model, the camera pipeline's per-frame cost, with the ratios to Keras and to the peer.

    Any converted model is measured on the inputs of the reference recorded beside it (your
    model: the held-out items convert kept); the models of one run take the same input shape."""
    from edge_lstm import bench

    bench.run(models, runtime and runtime.value, keras_model, no_keras, peer, repeats, batch,
              models_dir, json_out, echo=typer.echo)
