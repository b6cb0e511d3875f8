"""Faults around the model: damaged and tampered .tflite files, broken manifests and predictions,
bad parity options, other Pythons, child processes and `convert --force`.

Each case ends in a correct result or one `error:` line with a non-zero exit: no traceback, no
death by signal. Real files throughout: the shipped models, damaged copies of them, the real
runtime. The CLI runs in-process (CliRunner) unless a process boundary is what is tested.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ROOT, invoke_cli
from edge_lstm import manifest, parity
from edge_lstm.data import load_test_split
from edge_lstm.errors import EdgeLstmError
from edge_lstm.runtime import Classifier
from tflite_files import corrupt_weights, rebuilt

S = pytest.importorskip("ai_edge_litert.schema_py_generated")
flatbuffers = pytest.importorskip("flatbuffers")

MODELS = manifest.models_dir()
SHIPPED = manifest.load(MODELS)
RECOMMENDED = MODELS / SHIPPED["recommended"]
# The shipped float32 model converted with --form float32=loop: a WHILE loop whose trip count can
# be damaged so that the model loads and fails only when it runs.
LOOP_MODEL = ROOT / "tests" / "data" / "lstm_float32_loop.tflite"
TFLITE_RUNTIME = os.environ.get("EDGE_LSTM_TFLITE_RUNTIME_PYTHON")
HOSTILE_NUMPY = "raise ImportError('the numpy.py in the current folder was imported')\n"


def cli(*args):
    """Run the command line in this process: (exit code, stdout, stderr)."""
    result = invoke_cli(*args)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code, stderr, *expected):
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for text in expected:
        assert text in lines[0], lines[0]


def usage_error(code, stderr, option):
    one_line_error(code, stderr, f"Invalid value for '{option}'")


def shipped_copy(tmp_path: Path) -> Path:
    """The shipped device models, predictions and manifest, copied to ``tmp_path``."""
    for a in manifest.artifacts(SHIPPED, "tflite") + manifest.artifacts(SHIPPED, "predictions"):
        shutil.copy(MODELS / a["file"], tmp_path)
    shutil.copy(MODELS / manifest.FILENAME, tmp_path)
    return tmp_path


def _reads_nowhere(op_name: str):
    """A damage: the first ``op_name`` operator's first input set to tensor -1. Reading it is
    undefined behaviour in the runtime: mostly a SIGSEGV in XNNPACK's delegate, sometimes (the
    memory layout decides) a clean "cannot load" error."""
    def edit(model):
        code = getattr(S.BuiltinOperator, op_name)
        op = next(op for op in model.subgraphs[0].operators
                  if model.operatorCodes[op.opcodeIndex].builtinCode == code)
        op.inputs = [-1, *op.inputs[1:]]
    return edit


def _loop_runs_past_the_sequence(model):
    """The WHILE loop's trip count (28 rows) set to 40: the body's GATHER fails at invoke."""
    main = model.subgraphs[0]
    data = [model.buffers[t.buffer].data for t in main.tensors]
    (count,) = [t for t, d in zip(main.tensors, data) if t.type == S.TensorType.INT32 and len(t.shape) == 0
                and d is not None and bytes(d) == (28).to_bytes(4, "little")]
    model.buffers[count.buffer].data = list((40).to_bytes(4, "little"))


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("digit") / "seven.png"
    cv2.imwrite(str(path), load_test_split().x[0])
    return path


# --- 1. a model that crashes the runtime -------------------------------------------------------

def test_a_model_that_crashes_the_runtime_is_one_line(tmp_path, digit_png):
    crashed = 0
    for op_name in ("LOGISTIC", "TANH", "MUL", "SPLIT"):
        model = rebuilt(MODELS / "lstm_float32.tflite", tmp_path / f"{op_name}.tflite",
                        _reads_nowhere(op_name))
        from edge_lstm.tflite_model import inspect

        inspect(model)  # the reader accepts it: only the runtime can tell
        code, _, err = cli("infer", "--model", model, digit_png)
        one_line_error(code, err, f"{op_name}.tflite: ")
        crashed += "the runtime crashed loading this model (SIGSEGV)" in err
        code, out, _ = cli("parity", model, "--limit", "20")
        assert code == 1 and "FAIL" in out
    assert crashed  # the crash path itself was exercised, not only clean refusals


def test_bench_names_the_model_that_crashes_the_runtime(tmp_path):
    """bench measures each model in a child; its crash used to be "error: crashed (SIGSEGV)"."""
    crashed = 0
    for op_name in ("LOGISTIC", "TANH", "MUL", "SPLIT"):
        model = rebuilt(MODELS / "lstm_float32.tflite", tmp_path / f"{op_name}.tflite",
                        _reads_nowhere(op_name))
        code, _, err = cli("bench", model, "--no-keras", "--no-peer", "--repeats", "10")
        one_line_error(code, err, f"{op_name}.tflite")
        crashed += "the runtime crashed measuring it (SIGSEGV)" in err
    assert crashed


# --- 2. a tampered model ------------------------------------------------------------------------

def test_infer_refuses_a_changed_model_unless_trusted(tmp_path, digit_png):
    folder = shipped_copy(tmp_path)
    corrupt_weights(RECOMMENDED, folder / RECOMMENDED.name)
    code, _, err = cli("infer", "--model", folder / RECOMMENDED.name, digit_png)
    one_line_error(code, err, "sha256", "--trust-model")
    code, out, err = cli("infer", "--model", folder / RECOMMENDED.name, digit_png, "--trust-model", "--json")
    assert code == 0, err
    assert "label" in json.loads(out.splitlines()[0])  # it ran (its answers are not to be trusted)
    code, out, _ = cli("parity", folder / RECOMMENDED.name, "--limit", "200")
    assert code == 1 and "sha256" in out


def test_infer_runs_a_recorded_model_and_an_unrecorded_copy(tmp_path, digit_png):
    code, out, err = cli("infer", "--model", RECOMMENDED, digit_png)
    assert code == 0 and out.startswith(f"{digit_png}: 7"), out + err
    shutil.copy(RECOMMENDED, tmp_path / "mine.tflite")  # in no manifest: probed, then run
    code, out, err = cli("infer", "--model", tmp_path / "mine.tflite", digit_png)
    assert code == 0 and out.startswith(f"{digit_png}: 7"), out + err


# --- 3. a broken manifest -----------------------------------------------------------------------

def _set(path, value):
    def edit(data):
        target = data
        for key in path[:-1]:
            target = manifest.entry(target, key) if isinstance(key, str) and key.endswith(".tflite") \
                else target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return edit


@pytest.mark.parametrize("edit, field", [
    (_set(["artifacts", 0, "file"], KeyError), "'file'"),
    (_set(["lstm_int8.tflite", "sha256"], KeyError), "'sha256'"),
    (_set(["lstm_int8.tflite", "sha256"], 12), "'sha256' must be a string"),
    (_set(["lstm_int8.tflite", "file"], ["lstm_int8.tflite"]), "'file'"),
    (_set(["lstm_int8.tflite", "parity", "ai-edge-litert", "accuracy"], "98.6"),
     "'accuracy' must be a number"),
    (_set(["lstm_int8.tflite", "parity", "ai-edge-litert", "passed"], "yes"),
     "'passed' must be true or false"),
    (_set(["lstm_int8.tflite", "parity"], []), "'parity' must be an object"),
    (_set(["lstm_int8.tflite", "passed_on"], "ai-edge-litert"), "'passed_on' must be a list"),
    (_set(["recommended"], 5), "'recommended'"),
    (_set(["recommended"], "../lstm_int8.tflite"), "'recommended'"),
    (_set(["artifacts", 0], ["lstm.keras"]), "artifacts[0] must be an object"),
])
def test_manifest_fields_are_checked_on_load(tmp_path, digit_png, edit, field):
    folder = shipped_copy(tmp_path)
    data = json.loads((folder / manifest.FILENAME).read_text())
    edit(data)
    (folder / manifest.FILENAME).write_text(json.dumps(data))
    for args in (["parity", "--models-dir", folder, "--limit", "20"],
                 ["infer", "--model", folder / RECOMMENDED.name, digit_png]):
        code, _, err = cli(*args)
        one_line_error(code, err, str(folder / manifest.FILENAME), field)


# --- 4. a damaged predictions file --------------------------------------------------------------

def _flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64]) + data[middle + 64:]


@pytest.mark.parametrize("damage", [lambda d: b"", lambda d: d[:100], lambda d: d[:len(d) // 2],
                                    lambda d: d[:-22], _flip_middle],
                         ids=["empty", "100-bytes", "half", "no-directory-end", "flipped"])
def test_damaged_predictions_are_one_line(tmp_path, damage):
    folder = shipped_copy(tmp_path)
    path = folder / "lstm.predictions.npz"
    path.write_bytes(damage(path.read_bytes()))
    code, _, err = cli("parity", "--models-dir", folder, "--limit", "20")
    one_line_error(code, err, "lstm.predictions.npz: unreadable predictions file")


def test_predictions_of_the_wrong_shape_are_one_line(tmp_path):
    folder = shipped_copy(tmp_path)
    np.savez(folder / "lstm.predictions.npz", probs=np.zeros((5, 3)), labels=np.zeros(5, int))
    code, _, err = cli("parity", "--models-dir", folder, "--limit", "20")
    one_line_error(code, err, "not a predictions file")


def _sparse(size: int):
    def make(path):
        with open(path, "wb") as f:
            f.truncate(size)  # sparse: costs no disk
    return make


def _nested(path):
    path.write_text("[" * 100_000)


@pytest.mark.parametrize("name, make, command, expected", [
    (manifest.FILENAME, os.mkfifo, "infer", "unreadable manifest (not a regular file"),
    (manifest.FILENAME, _nested, "infer", "unreadable manifest (nested too deeply)"),
    ("lstm.predictions.npz", os.mkfifo, "parity", "unreadable predictions file (not a regular file"),
    ("lstm.predictions.npz", _sparse(parity.MAX_PREDICTIONS_BYTES + 1), "parity", "limit for predictions"),
    (RECOMMENDED.name, os.mkfifo, "parity", "not a regular file"),
    (RECOMMENDED.name, _sparse(2**30), "parity", "limit for a model"),
], ids=["manifest-fifo", "manifest-nested", "predictions-fifo", "predictions-huge", "model-fifo",
        "model-1GiB"])
def test_a_fifo_a_huge_or_a_nested_file_beside_the_models_is_one_line(tmp_path, digit_png, name, make,
                                                                      command, expected):
    """A FIFO used to block for ever, a 1 GiB file was read whole (MemoryError on a small device),
    a deeply nested manifest raised RecursionError. A child process, so that a hang fails the test."""
    folder = shipped_copy(tmp_path)
    (folder / name).unlink()
    make(folder / name)
    args = (["infer", "--model", folder / RECOMMENDED.name, digit_png] if command == "infer"
            else ["parity", "--models-dir", folder, "--limit", "20"])
    done = run_in(tmp_path, *args, timeout=60)
    one_line_error(done.returncode, done.stderr, expected)


def test_report_to_a_fifo_is_refused_and_through_a_symlink_writes_its_target(tmp_path):
    """The atomic rename used to put a regular file in place of a FIFO or a device (as root:
    ``--report /dev/full`` replaced /dev/full) and in place of a symlink."""
    os.mkfifo(tmp_path / "fifo.md")
    code, _, err = cli("parity", "--limit", "20", "--report", tmp_path / "fifo.md")
    one_line_error(code, err, "fifo.md: not a regular file")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo.md").st_mode)
    (tmp_path / "link.md").symlink_to("real.md")
    code, _, err = cli("parity", "--limit", "20", "--report", tmp_path / "link.md")
    assert code == 0, err
    assert (tmp_path / "link.md").is_symlink()
    assert (tmp_path / "real.md").read_text().startswith("# Parity report")


# --- 5. bad options, other Pythons, models that fail ----------------------------------------

@pytest.mark.parametrize("option, value", [("--min-agreement", "nan"), ("--min-agreement", "101"),
                                           ("--max-drop", "nan"), ("--max-drop", "inf"),
                                           ("--max-drop", "-0.1")])
def test_parity_thresholds_must_be_finite_and_in_range(option, value):
    code, _, err = cli("parity", option, value, "--limit", "20")
    usage_error(code, err, option)


def test_report_to_a_folder_is_refused(tmp_path):
    code, _, err = cli("parity", "--limit", "20", "--report", tmp_path)
    usage_error(code, err, "--report")


def test_a_python_that_is_missing_or_writes_nothing(tmp_path):
    code, _, err = cli("parity", "--limit", "20", "--runtime", f"tflite-runtime={tmp_path / 'nope'}")
    one_line_error(code, err, "cannot run", "nope")
    code, out, _ = cli("parity", "--limit", "20", "--runtime", "tflite-runtime=/bin/true")
    assert code == 1 and "/bin/true ran but wrote no predictions" in out


@pytest.mark.parametrize("threads", [100000, 2147483648, 65, 0])
def test_threads_are_bounded(digit_png, threads):
    code, _, err = cli("infer", "--model", RECOMMENDED, "--threads", threads, digit_png)
    usage_error(code, err, "--threads")
    with pytest.raises(EdgeLstmError, match=f"threads must be between 1 and 64, got {threads}"):
        Classifier(RECOMMENDED, threads=threads)


def test_operator_version_0_is_one_line(tmp_path, digit_png):
    def version_0(model):
        model.operatorCodes[0].version = 0

    model = rebuilt(RECOMMENDED, tmp_path / "v0.tflite", version_0)
    code, _, err = cli("infer", "--model", model, digit_png)
    one_line_error(code, err, "version 0")


def test_a_model_that_fails_at_invoke_is_one_line(tmp_path, digit_png):
    model = rebuilt(LOOP_MODEL, tmp_path / "long.tflite", _loop_runs_past_the_sequence)
    with pytest.raises(EdgeLstmError, match="failed running this model .*gather index out of bounds"):
        Classifier(model).predict(np.zeros((28, 28), np.float32))
    code, _, err = cli("infer", "--model", model, digit_png)
    one_line_error(code, err, "long.tflite: ai-edge-litert failed running this model")


# --- 6. small samples ----------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [10, 100, 1000])
def test_the_shipped_model_passes_small_samples(limit):
    code, out, err = cli("parity", "--limit", limit, "--runtime", "ai-edge-litert", "--json")
    assert code == 0, out + err
    assert json.loads(out)[0]["metrics"]["images"] == limit


def test_small_samples_tolerate_one_changed_answer_not_two():
    labels = np.arange(100) % 10
    reference = np.eye(10, dtype=np.float32)[labels]
    for changed, verdict in ((1, True), (2, False)):
        probs = reference.copy()
        probs[:changed] = np.roll(probs[:changed], 1, axis=1)
        metrics = parity.compare(probs, parity.Reference(reference, labels, "test"))
        assert parity.passed(parity.checks(metrics)) is verdict, (changed, metrics)


# --- 8. children never import from the current folder ---------------------------------------

def run_in(cwd: Path, *args, timeout=300):
    """``python -P -m edge_lstm ARGS`` in ``cwd``: this process ignores the folder, as an installed
    ``edge-lstm`` script does, so only the children it starts are at risk."""
    return subprocess.run([sys.executable, "-P", "-m", "edge_lstm", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def hostile_cwd(tmp_path) -> Path:
    folder = tmp_path / "cwd"
    folder.mkdir()
    (folder / "numpy.py").write_text(HOSTILE_NUMPY)
    assert subprocess.run([sys.executable, "-c", "import numpy"], cwd=folder).returncode != 0
    return folder


def test_children_ignore_a_numpy_py_in_the_current_folder(hostile_cwd, tmp_path, digit_png):
    other = f"tflite-runtime={TFLITE_RUNTIME}" if TFLITE_RUNTIME else f"ai-edge-litert={sys.executable}"
    done = run_in(hostile_cwd, "parity", "--limit", "20", "--runtime", other)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run_in(hostile_cwd, "bench", RECOMMENDED, "--no-keras", "--repeats", "10", "--json")
    assert done.returncode == 0, done.stderr
    shutil.copy(RECOMMENDED, tmp_path / "mine.tflite")  # not in a manifest: probed in a child
    done = run_in(hostile_cwd, "infer", "--model", tmp_path / "mine.tflite", digit_png)
    assert done.returncode == 0 and "7" in done.stdout, done.stderr


# --- 7. convert --force keeps the previous good model -------------------------------------

def test_convert_force_keeps_the_good_model_when_the_new_one_fails(small_model, mnist_npz, hostile_cwd,
                                                                   tmp_path):
    """The plain fused float32 form is stateful: it fails parity everywhere (about 38 %
    agreement). Converting it with --force over a good model must leave the good one in place.
    Run from a folder holding a numpy.py, which the converter children must not import."""
    out = tmp_path / "models"
    args = ["convert", small_model, "--out", out, "--data", mnist_npz, "--quant", "float32",
            "--runtime", "ai-edge-litert"]
    done = run_in(hostile_cwd, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    name = f"{small_model.stem}_float32.tflite"
    good, record = (out / name).read_bytes(), manifest.entry(manifest.load(out), name)

    done = run_in(hostile_cwd, *args, "--form", "float32=fused", "--force")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no form passed (fused: failed parity on every runtime); the previous one is kept" \
        in done.stderr
    assert (out / name).read_bytes() == good
    assert manifest.entry(manifest.load(out), name) == record
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [name, manifest.FILENAME, f"{small_model.stem}.predictions.npz"])  # no staging left
    code, out_text, _ = cli("parity", out / name, "--limit", "200")
    assert code == 0, out_text
