"""edge_lstm.tflite_model: what a .tflite holds, read with the runtime's own schema classes (or
taken from the manifest where there are none), and a runtime's refusal said in one line.

Real files throughout: the shipped models, damaged copies of them, the real runtimes.
"""

import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from edge_lstm import manifest, tflite_model
from edge_lstm.errors import EdgeLstmError
from edge_lstm.runtime import Classifier
from tflite_files import rebuilt

S = pytest.importorskip("ai_edge_litert.schema_py_generated")

MODELS = manifest.models_dir()
SHIPPED = manifest.load(MODELS)
TFLITE_FILES = [a["file"] for a in SHIPPED["artifacts"] if a["kind"] == "tflite"]
FLOAT32 = MODELS / "lstm_float32.tflite"
TFLITE_RUNTIME = os.environ.get("EDGE_LSTM_TFLITE_RUNTIME_PYTHON")


@pytest.mark.parametrize("name", TFLITE_FILES)
def test_shipped_models_read_as_the_runtime_sees_them(name):
    from ai_edge_litert.interpreter import Interpreter

    info = tflite_model.inspect(MODELS / name)
    assert list(info.ops) == manifest.entry(SHIPPED, name)["ops"]  # recorded at conversion
    assert info.size_bytes == (MODELS / name).stat().st_size
    interpreter = Interpreter(model_path=str(MODELS / name))
    for mine, theirs in ((info.inputs, interpreter.get_input_details()),
                         (info.outputs, interpreter.get_output_details())):
        assert [(t.name, t.shape, t.dtype) for t in mine] == [
            (d["name"], tuple(d["shape"]), d["dtype"].__name__) for d in theirs]


def refused(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    with pytest.raises(EdgeLstmError) as e:
        tflite_model.inspect(path)
    message = str(e.value)
    assert message.startswith(f"{path}: not a TFLite model (") and "\n" not in message
    return message


def test_damaged_files_are_one_line_errors(tmp_path):
    data = FLOAT32.read_bytes()
    path = tmp_path / "bad.tflite"
    assert "file identifier b''" in refused(path, b"")
    assert "file identifier b'CIRC'" in refused(path, data[:4] + b"CIRC" + data[8:])
    rng = random.Random(0)
    refused(path, bytes(rng.randrange(256) for _ in range(4096)))
    refused(path, data[:4] + b"TFL3" + bytes(rng.randrange(256) for _ in range(4096)))
    for cut in (8, 100, len(data) // 2, len(data) - 1):  # op codes sit at the end of a converted file
        refused(path, data[:cut])
    with pytest.raises(EdgeLstmError, match=r"missing\.tflite: cannot open"):
        tflite_model.inspect(tmp_path / "missing.tflite")


def test_what_is_read_is_checked(tmp_path):
    def output_out_of_range(model):
        model.subgraphs[0].outputs = [len(model.subgraphs[0].tensors)]

    def no_subgraphs(model):
        model.subgraphs = []

    def schema_version_2(model):
        model.version = 2

    def weights_stored_after_the_model(model):
        model.buffers[-1].offset, model.buffers[-1].size = 10**6, 100

    for edit, why in ((output_out_of_range, "tensor index"), (no_subgraphs, "no subgraphs"),
                      (schema_version_2, "schema version 2"),
                      (weights_stored_after_the_model, "buffer .* runs past the end")):
        path = rebuilt(FLOAT32, tmp_path / f"{edit.__name__}.tflite", edit)
        with pytest.raises(EdgeLstmError, match=f"not a TFLite model \\({why}"):
            tflite_model.inspect(path)
    data = bytearray(FLOAT32.read_bytes())  # the largest weights' length word grown past the end
    model = S.Model.GetRootAs(bytes(data), 0)
    weights = max((model.Buffers(i).DataAsNumpy() for i in range(model.BuffersLength())
                   if model.Buffers(i).DataLength()), key=len)
    at = data.find(weights.tobytes()) - 4
    data[at:at + 4] = struct.pack("<I", len(data))
    assert "runs past the end" in refused(tmp_path / "grown.tflite", bytes(data))


def test_random_damage_never_escapes_as_a_traceback(tmp_path):
    data, rng, path = FLOAT32.read_bytes(), random.Random(1), tmp_path / "flipped.tflite"
    outcomes = set()
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(data) // 4)] ^= 1 << rng.randrange(8)  # where the tables are
        path.write_bytes(bytes(damaged))
        try:
            tflite_model.inspect(path)
            outcomes.add("read")
        except EdgeLstmError:
            outcomes.add("refused")
    assert outcomes == {"read", "refused"}


NO_SCHEMA = """
import sys
class NoLiteRT:  # this Python has only tflite-runtime: no ai_edge_litert, so no schema classes
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "ai_edge_litert":
            raise ImportError(name)
sys.meta_path.insert(0, NoLiteRT())
from edge_lstm.errors import EdgeLstmError
from edge_lstm.tflite_model import inspect
for path in sys.argv[1:]:
    try:
        info = inspect(path)
        print(",".join(info.ops), len(info.inputs), info.size_bytes)
    except EdgeLstmError as e:
        print("error:", e)
"""


@pytest.mark.parametrize("python", [sys.executable, TFLITE_RUNTIME],
                         ids=["litert-blocked", "tflite-runtime"])
def test_without_schema_classes_the_ops_come_from_the_manifest(python, tmp_path):
    if python is None:
        pytest.skip("EDGE_LSTM_TFLITE_RUNTIME_PYTHON (a python with tflite-runtime 2.14) is not set")
    recorded = MODELS / "lstm_dynamic.tflite"
    unrecorded = tmp_path / "renamed.tflite"
    shutil.copy(recorded, unrecorded)
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"PK\x03\x04JUNK" + bytes(100))  # a zip header, say
    done = subprocess.run([python, "-c", NO_SCHEMA, recorded, unrecorded, garbage], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    size = recorded.stat().st_size
    assert done.stdout.splitlines() == [
        f"{','.join(manifest.entry(SHIPPED, recorded.name)['ops'])} 0 {size}",
        f" 0 {size}",  # no record, no ops: the runtime itself will say what it lacks
        f"error: {garbage}: not a TFLite model (file identifier b'JUNK', expected b'TFL3')"]


@pytest.mark.skipif(not TFLITE_RUNTIME,
                    reason="needs $EDGE_LSTM_TFLITE_RUNTIME_PYTHON (make test builds it)")
def test_tflite_runtime_2_14_refuses_the_dynamic_model_in_one_line():
    model = MODELS / "lstm_dynamic.tflite"
    code = ("from edge_lstm.errors import EdgeLstmError\nfrom edge_lstm.runtime import Classifier\n"
            f"try:\n    Classifier({str(model)!r})\nexcept EdgeLstmError as e:\n    print(e)")
    done = subprocess.run([TFLITE_RUNTIME, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == (f"{model}: tflite-runtime 2.14.0 cannot run this model: no "
                                   "FULLY_CONNECTED version 12 (convert the model for this runtime, "
                                   "or use a newer runtime)")


def _opcode_as(builtin=None, version=None, custom=None):
    def edit(model):
        code = next(c for c in model.operatorCodes if c.builtinCode == S.BuiltinOperator.FULLY_CONNECTED)
        code.version = version if version is not None else code.version
        if custom:
            code.builtinCode = code.deprecatedBuiltinCode = S.BuiltinOperator.CUSTOM
            code.customCode = custom
    return edit


@pytest.mark.parametrize("edit, lacks", [
    (_opcode_as(version=0), "no FULLY_CONNECTED version 0 (convert the model"),
    (_opcode_as(custom="MyOp"), "no custom op MyOp"),
    (_opcode_as(custom="FlexMatMul"), "no TensorFlow op FlexMatMul (it has no Flex delegate"),
])
def test_litert_refusals_in_one_line(tmp_path, edit, lacks):
    model = rebuilt(FLOAT32, tmp_path / "refused.tflite", edit)
    with pytest.raises(EdgeLstmError) as e:
        Classifier(model, "ai-edge-litert")
    message = str(e.value)
    assert message.startswith(f"{model}: ai-edge-litert ") and "\n" not in message
    assert f"cannot run this model: {lacks}" in message


def test_a_kernel_without_the_model_s_type_is_named():
    # tflite-runtime 2.14's words loading an int16x8 model with a LayerNormalization (an int16 RSQRT)
    error = RuntimeError("/tensorflow/tensorflow/lite/kernels/elementwise.cc:105 Type INT16 is unsupported "
                         "by op Rsqrt.Node number 263 (RSQRT) failed to prepare.Failed to apply the default "
                         "TensorFlow Lite delegate indexed at 0.")
    assert tflite_model.missing_kernel(error) == ("its Rsqrt kernel takes no INT16 (a newer runtime's "
                                                  "does, or convert in another mode)")
