"""The ``edge-lstm`` command line.

Device commands (``infer``, ``parity``, ``bench``) import only the light runtime. Host commands
(``train``, ``convert``) import the TensorFlow toolchain in ``converters`` inside the command, so
``edge-lstm --help`` and every device command run without TensorFlow.

``main`` is the program (``edge-lstm``, ``python -m edge_lstm``). It and ``clean_errors`` on each
command share one table, ``_ending``, of the ways a run ends that are not bugs: one line on stderr
and an exit code, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

try:  # Ctrl-C while the command line loads (typer: most of 0.1 s): the same one line as later
    import typer

    from edge_lstm import exits, tf_log
    from edge_lstm.errors import EdgeLstmError
except KeyboardInterrupt:
    sys.stderr.write("error: interrupted\n")
    raise SystemExit(130) from None

app = typer.Typer(
    name="edge-lstm",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

DataOption = typer.Option(None, "--data", help="MNIST as a Keras-layout .npz or a folder of the "
                          "four IDX files (default: $EDGE_LSTM_MNIST, else Keras' download).")


HOST_MODULES = ("tensorflow", "keras", "matplotlib")  # only train, convert and parity --keras need them


def _ending(e: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit code for a way a run can end that is not a bug, else None."""
    if isinstance(e, EdgeLstmError):
        return str(e), 2
    if isinstance(e, ModuleNotFoundError) and e.name in HOST_MODULES:
        return (f"this needs {e.name}, the host toolchain: pip install 'edge-lstm[train]' "
                "(device commands do not)"), 2
    if isinstance(e, KeyboardInterrupt):
        return "interrupted", 130
    if isinstance(e, exits.Stopped):
        return f"stopped by {e.name}", 128 + e.signum
    if isinstance(e, exits.StdoutFailed):
        exits.discard_stdout()
        return f"cannot write to standard output: {e.strerror}", 2
    return None


def _typer_swallowed(e: SystemExit) -> BaseException | None:
    """What Typer turned into this exit without a word: Ctrl-C while it parsed, a broken pipe."""
    cause = e.__context__
    if isinstance(cause, typer.Exit):
        cause = cause.__cause__
    return cause if isinstance(cause, (KeyboardInterrupt, OSError)) else None


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def clean_errors(command):
    """Give a command's endings their one line and exit code here, inside Typer, which would
    otherwise turn Ctrl-C and a broken pipe into a silent exit."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BaseException as e:
            ending = _ending(e)
            if ending is None:
                raise
            raise fail(*ending) from None

    return wrapper


def main() -> None:
    """The program: run the command line, then end it with an exit code and at most one line."""
    exits.raise_on_stop_signals()  # so that finally blocks remove temporary files
    tf_log.install()  # device commands load TensorFlow on request (--runtime tensorflow, bench)
    try:
        if sys.stdout is None:  # started with stdout closed: every answer would be lost
            raise EdgeLstmError("standard output is closed; nowhere to write the answers")
        exits.label_stdout_errors()
        try:
            app(prog_name="edge-lstm")  # always ends in SystemExit
        finally:
            sys.stdout.flush()  # now, while a failure can still be reported
    except BaseException as e:
        if isinstance(e, SystemExit):
            e = _typer_swallowed(e) or e
        ending = _ending(e)
        if ending is None:
            raise
        raise SystemExit(fail(*ending).exit_code) from None


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
    schedule: str = typer.Option("cosine", help="Learning-rate schedule: 'cosine' decay, "
                                 "'plateau' (halve the rate when the loss stops improving) or "
                                 "'constant'."),
    augment: bool = typer.Option(True, "--augment/--no-augment", help="Add camera-like variants "
                                 "of the training images (pen width, rotation, perspective, light, "
                                 "blur, noise, JPEG), run through the device's preprocessing."),
    augment_copies: int = typer.Option(30000, min=1, help="How many camera-like variants to add."),
    seed: int = typer.Option(1, help="Random seed; the same seed gives the same model on the same "
                             "machine with the same library versions (elsewhere: similar accuracy, "
                             "other weights)."),
    limit: Optional[int] = typer.Option(None, min=1, help="Train on the first N images only."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model."),
) -> None:
    """Train the seed LSTM on MNIST and write the model, its history and training curves.

    The defaults are the shipped model's recipe: 30 epochs of Adam at 3e-3 with cosine decay, on
    the 60 000 training images plus 30 000 camera-like variants. The blog post's seed:
    --epochs 10 --lr 1e-3 --schedule constant --no-augment.
    """
    from edge_lstm import atomic
    from edge_lstm.data import load_mnist

    if out.suffix != ".keras":
        raise EdgeLstmError(f"{out}: the model file must end in .keras")
    from converters.train import SCHEDULES, Recipe, save, train as fit

    if schedule not in SCHEDULES:
        raise EdgeLstmError(f"--schedule must be one of: {', '.join(SCHEDULES)}")
    atomic.check_writable(out, force)
    mnist = load_mnist(data)
    recipe = Recipe(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                    schedule=schedule, seed=seed, augment_copies=augment_copies if augment else 0)
    verbose = 1 if sys.stdout.isatty() else 2
    result = fit(mnist, recipe, verbose=verbose, limit=limit)
    save(result, out, mnist, recipe)
    typer.echo(f"test accuracy: {result.test_accuracy:.2%} on {len(mnist.test)} images")
    typer.echo(f"wrote {out}, {out.with_suffix('.history.json')}, {out.with_suffix('.curves.png')}")


class Prefer(str, Enum):
    speed = "speed"
    size = "size"


RuntimeOption = typer.Option(
    None, "--runtime", "-r",
    help="Runtime to use: ai-edge-litert, tflite-runtime or tensorflow (default: the first "
    "installed). Repeat to compare several; NAME=PYTHON runs it in another environment's Python.")


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
    form: Optional[list[str]] = typer.Option(None, "--form", help="Expert: MODE=FORM pins the graph "
                                             "form of a mode (lean, fused_reset, fused, loop, "
                                             "unrolled); see docs/conversion.md."),
    prefer: Prefer = typer.Option(Prefer.speed, help="How each mode's graph form and the "
                                  "recommended model are chosen among those that pass parity: "
                                  "speed (fastest on the slower device runtime) or size "
                                  "(smallest file, e.g. for microcontrollers and NPUs)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing .tflite files."),
) -> None:
    """Convert a Keras model to TFLite in each quantization mode and check each one's parity.

    Each mode is converted to each of its candidate graph forms, each in its own process, so a
    converter crash fails only that form; the fastest form that passes is kept. Each model
    is then run on every runtime available (ai-edge-litert, TensorFlow's interpreter, and
    tflite-runtime from $EDGE_LSTM_TFLITE_RUNTIME_PYTHON) against the Keras model on the MNIST test
    split; models that pass are recorded in the output folder's manifest.json, with the Keras
    predictions that let a device check parity without TensorFlow. Exit code 1 if a mode failed.
    """
    from converters.convert import run as run_conversion

    raise typer.Exit(run_conversion(model, quant, out, data=data, samples=calibration_samples,
                                    int8_io=int8_io, runtimes=runtime, forms=form,
                                    prefer=prefer.value, force=force, echo=typer.echo))


def _between(low: float, high: float):
    """A Typer callback accepting a number from ``low`` to ``high``; unlike Click's FloatRange it
    refuses NaN (which compares false with everything and would pass every check)."""

    def check(value: float) -> float:
        if not low <= value <= high:
            raise typer.BadParameter(f"must be a number from {low:g} to {high:g}, got {value}")
        return value

    return check


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
    max_drop: float = typer.Option(0.3, callback=_between(0, 100),
                                   help="Largest accuracy drop against Keras, in points."),
    min_agreement: float = typer.Option(99.5, callback=_between(0, 100),
                                        help="Smallest top-1 agreement with Keras, in %."),
    models_dir: Optional[Path] = typer.Option(None, help="Folder of shipped models and manifest "
                                              "(default: $EDGE_LSTM_MODELS, else models/)."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    report: Optional[Path] = typer.Option(None, dir_okay=False, help="Also write a Markdown report here."),
    chart: Optional[Path] = typer.Option(None, dir_okay=False,
                                         help="Also write a PNG chart here (needs matplotlib)."),
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
    reference = _reference(keras_model, [folder] if models_dir or not models else
                           [paths[0].parent, manifest.models_dir()], test)
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


def _reference(keras_model: Optional[Path], folders: list[Path], test):
    """Keras' answers: run now from ``--keras``, else the predictions recorded in the first of
    ``folders`` that has them."""
    from edge_lstm import parity as parity_rules

    if keras_model is not None:
        from converters.reference import keras_reference

        return keras_reference(keras_model, test)
    for folder in folders:
        shipped = parity_rules.shipped_reference(folder)
        if shipped is not None:
            return shipped
    raise EdgeLstmError(f"no Keras predictions recorded in {folders[0]}; pass --keras MODEL.keras")


def _parse_roi(text: Optional[str]):
    if text is None:
        return None
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise EdgeLstmError(f"--roi must be x,y,w,h in whole pixels, got {text!r}") from None
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise EdgeLstmError(f"--roi needs x, y ≥ 0 and w, h > 0, got {text!r}")
    return x, y, w, h


@app.command()
@clean_errors
def infer(
    inputs: Optional[list[str]] = typer.Argument(None, help="Image files, folders or globs."),
    video: Optional[Path] = typer.Option(None, "--video", help="Read frames from a video file."),
    camera: Optional[int] = typer.Option(None, "--camera", min=0, max=1023, help="Read frames "
                                         "from camera INDEX (0 = /dev/video0)."),
    width: Optional[int] = typer.Option(None, help="Camera frame width to ask for."),
    height: Optional[int] = typer.Option(None, help="Camera frame height to ask for."),
    fps: Optional[float] = typer.Option(None, help="Camera frame rate to ask for."),
    max_frames: Optional[int] = typer.Option(None, min=1, help="Stop after N inputs."),
    every: int = typer.Option(1, min=1, help="Classify every N-th frame of a video or camera."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help=".tflite model (default: the "
                                         "manifest's recommended device model)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", "-r", help="ai-edge-litert, "
                                          "tflite-runtime or tensorflow (default: first installed)."),
    threads: Optional[int] = typer.Option(None, min=1, max=64, help="Interpreter threads."),
    trust_model: bool = typer.Option(False, "--trust-model", help="Run a model whose sha256 differs "
                                     "from the one recorded in its manifest (it is still loaded "
                                     "in a child process first)."),
    roi: Optional[str] = typer.Option(None, help="Look for the digit only in x,y,w,h of the frame."),
    min_confidence: float = typer.Option(0.5, min=0.0, max=1.0, help="Answer 'none' below this "
                                         "probability."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per line."),
    show: bool = typer.Option(False, "--show", help="Show the annotated frames in a window (q quits)."),
    save: Optional[Path] = typer.Option(None, help="Write annotated frames into this new or empty "
                                        "folder: NAME.EXT.jpg per file (a.png → a.png.jpg), "
                                        "NAME.EXT_FRAME.jpg per video or camera frame."),
) -> None:
    """Classify handwritten digits in images, a video or a live camera.

    Each photo is turned into an MNIST-like 28×28 digit (threshold, polarity, the digit's
    component, 20×20 fit, centre of mass) and classified by the TFLite model. One line per input
    (--json: one object), then a summary. Exit code 1 if some input could not be read, 130 if
    the run was interrupted.
    """
    from edge_lstm import infer as inference, manifest, probe, sources

    chosen = [bool(inputs), video is not None, camera is not None]
    if sum(chosen) != 1:
        raise EdgeLstmError("give image paths, --video FILE or --camera INDEX (exactly one)")
    region = _parse_roi(roi)
    saver = inference.Saver(save) if save else None
    if show:
        inference.check_display()
    if inputs:
        frames = sources.files(inputs)
    elif video is not None:
        frames = sources.video(video, every)
    else:
        frames = sources.camera(camera, width, height, fps, every)
    classifier = probe.load(model or manifest.recommended_model(), runtime, threads, not trust_model)
    refusal = manifest.failed_parity(classifier.path, classifier.runtime)
    if refusal:
        raise EdgeLstmError(refusal)
    summary = inference.run(frames, classifier, inference.write_line, roi=region,
                            min_confidence=min_confidence, max_frames=max_frames, as_json=json_out,
                            show=show, saver=saver)
    inference.write_line(summary.text(), err=json_out)
    raise typer.Exit(summary.exit_code)


@app.command()
@clean_errors
def bench(
    models: Optional[list[Path]] = typer.Argument(None, help="Models to measure (default: every "
                                                  ".tflite in the manifest)."),
    runtime: Optional[str] = typer.Option(None, "--runtime", "-r", help="Runtime for the .tflite models."),
    keras_model: Optional[Path] = typer.Option(None, "--keras", help="Keras baseline (default: the "
                                               "manifest's .keras model, when TensorFlow is installed)."),
    no_keras: bool = typer.Option(False, "--no-keras", help="Skip the Keras baseline and the peer."),
    peer: bool = typer.Option(True, "--peer/--no-peer", help="Also race ONNX Runtime on Keras' own "
                              "ONNX export of the Keras model (needs onnxruntime and tf2onnx)."),
    repeats: int = typer.Option(1000, min=10, max=1_000_000, help="Single-image runs per model."),
    batch: int = typer.Option(64, min=1, max=4096, help="Batch size for the throughput figure."),
    models_dir: Optional[Path] = typer.Option(None, help="Folder of shipped models and manifest."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """Measure each model's latency (p50/p95/p99, raced in one process against Keras and the ONNX
    Runtime peer), load time, throughput at batch 1 and N, peak memory, size and the camera
    pipeline's per-frame cost, with the ratios to Keras and to the peer."""
    from edge_lstm import bench as benchmark

    benchmark.run(models, runtime, keras_model, no_keras, peer, repeats, batch, models_dir,
                  json_out, echo=typer.echo)
