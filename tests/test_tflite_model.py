"""edge_lstm.tflite_model: the pure-Python TFLite reader and the runtime op-version tables.

Models are built here as bytes with the `flatbuffers` package and the generated TFLite schema
module that ships with ai-edge-litert (schema_py_generated), which is also the reference reader
the results are compared against. Where a real runtime is at hand (ai-edge-litert in this venv,
tflite-runtime 2.14 through EDGE_LSTM_TFLITE_RUNTIME_PYTHON), it must agree with the tables.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge_lstm import tflite_model as tm
from edge_lstm.errors import EdgeLstmError
from edge_lstm.tflite_model import RUNTIME_OP_VERSIONS, ModelInfo, Op, TensorInfo, inspect, unsupported_ops

S = pytest.importorskip("ai_edge_litert.schema_py_generated")
flatbuffers = pytest.importorskip("flatbuffers")

BUILTIN = {v: k for k, v in vars(S.BuiltinOperator).items() if isinstance(v, int)}
CODE = {k: v for v, k in BUILTIN.items()}

# Ops an LSTM model converted for the device can contain.
LSTM_OPS = ("FULLY_CONNECTED", "UNIDIRECTIONAL_SEQUENCE_LSTM", "WHILE", "LESS", "ADD", "SUB", "MUL",
            "LOGISTIC", "TANH", "SOFTMAX", "RESHAPE", "STRIDED_SLICE", "SLICE", "GATHER",
            "CONCATENATION", "SPLIT", "SPLIT_V", "PACK", "UNPACK", "QUANTIZE", "DEQUANTIZE",
            "TRANSPOSE", "BATCH_MATMUL", "SHAPE", "FILL", "ZEROS_LIKE", "LOGICAL_AND")


# --- building models as bytes with the reference schema module ---------------------------------

def _opcode(name: str, version: int = 1, custom: str | None = None):
    oc = S.OperatorCodeT()
    code = S.BuiltinOperator.CUSTOM if custom is not None else CODE[name]
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, S.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    oc.version = version
    oc.customCode = custom
    return oc


def _tensor(name, shape, ttype=S.TensorType.FLOAT32, buffer=0, scale=None, zero_point=None):
    t = S.TensorT()
    t.name, t.shape, t.type, t.buffer = name, list(shape), ttype, buffer
    if scale is not None:
        q = S.QuantizationParametersT()
        q.scale, q.zeroPoint = list(scale), list(zero_point)
        t.quantization = q
    return t


def _subgraph(tensors, inputs, outputs, ops, name="main"):
    sg = S.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.name = tensors, inputs, outputs, name
    sg.operators = []
    for opcode_index, ins, outs in ops:
        op = S.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = opcode_index, ins, outs
        sg.operators.append(op)
    return sg


def _pack(opcodes, subgraphs, buffers=None, version=3) -> bytes:
    m = S.ModelT()
    m.version, m.description = version, "edge-lstm test"
    m.operatorCodes, m.subgraphs = opcodes, subgraphs
    m.buffers = buffers or [S.BufferT()]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _weights(n_floats: int):
    buf = S.BufferT()
    buf.data = list(struct.pack(f"<{n_floats}f", *([0.5] * n_floats)))
    return buf


def lstm_like_model(fc_version: int = 5) -> bytes:
    """An int8 model shaped like a converted Keras LSTM, weights included (at the file's end)."""
    opcodes = [_opcode("FULLY_CONNECTED", fc_version), _opcode("UNPACK", 2), _opcode("SPLIT", 2),
               _opcode("LOGISTIC", 2), _opcode("TANH", 2), _opcode("MUL", 2), _opcode("ADD", 2),
               _opcode("SOFTMAX", 2), _opcode("FULLY_CONNECTED", fc_version)]  # duplicate entry
    tensors = [
        _tensor("serving_default_inputs:0", [1, 28, 28], S.TensorType.INT8, 0, [0.0039215], [-128]),
        _tensor("weights", [16, 28], S.TensorType.INT8, 1, [0.01] * 16, [0] * 16),  # per channel
        _tensor("hidden", [1, 28, 16], S.TensorType.INT8, 0, [0.05], [3]),
        _tensor("StatefulPartitionedCall_1:0", [1, 10], S.TensorType.INT8, 0, [0.00390625], [-128]),
    ]
    ops = [(0, [0, 1], [2]), (1, [2], [3]), (2, [2], [3]), (3, [2], [3]), (4, [2], [3]),
           (5, [2, 2], [3]), (6, [2, 2], [3]), (7, [2], [3])]
    return _pack(opcodes, [_subgraph(tensors, [0], [3], ops)], [S.BufferT(), _weights(4096)])


def while_model() -> bytes:
    """Three subgraphs (WHILE with cond/body), a custom op and an op code above 127."""
    opcodes = [_opcode("WHILE"), _opcode("LESS"), _opcode("ADD"),
               _opcode("CUSTOM", custom="FlexTensorListReserve"),
               _opcode("STABLEHLO_ADD"),                    # builtin code 207: deprecated code 127
               _opcode("BROADCAST_TO", 1)]
    main = _subgraph([_tensor("x", [1, 8]), _tensor("i", [], S.TensorType.INT32),
                      _tensor("y", [1, 3], S.TensorType.INT16, 0, [0.1, 0.2, 0.3], [1, -2, 3])],
                     [0, 1], [2], [(0, [1, 0], [1, 2]), (3, [0], [2])])
    cond = _subgraph([_tensor("i", [], S.TensorType.INT32), _tensor("c", [], S.TensorType.BOOL)],
                     [0], [1], [(1, [0, 0], [1])], name="cond")
    body = _subgraph([_tensor("a", [1, 8]), _tensor("b", [1, 8])], [0], [1],
                     [(2, [0, 0], [1]), (4, [0, 0], [1]), (5, [0], [1])], name="body")
    return _pack(opcodes, [main, cond, body])


def reference(data: bytes) -> ModelInfo:
    """What the generated reader (schema_py_generated) says, in ModelInfo form."""
    m = S.Model.GetRootAsModel(data, 0)
    ops = set()
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        code = max(oc.DeprecatedBuiltinCode(), oc.BuiltinCode())
        if code == S.BuiltinOperator.CUSTOM:
            ops.add(Op(oc.CustomCode().decode(), oc.Version(), custom=True))
        else:
            ops.add(Op(BUILTIN[code], oc.Version()))
    types = {v: k.lower() for k, v in vars(S.TensorType).items() if isinstance(v, int)}
    sg = m.Subgraphs(0)

    def info(index):
        t = sg.Tensors(index)
        q = t.Quantization()
        scales = tuple(float(x) for x in q.ScaleAsNumpy()) if q and q.ScaleLength() else ()
        zps = tuple(int(x) for x in q.ZeroPointAsNumpy()) if q and q.ZeroPointLength() else ()
        return TensorInfo(t.Name().decode(), tuple(int(d) for d in t.ShapeAsNumpy()),
                          types[t.Type()], scales[0] if len(scales) == 1 else 0.0,
                          zps[0] if len(zps) == 1 else 0, (), scales, zps)

    return ModelInfo(tuple(sorted(ops, key=lambda o: (o.name, o.version, o.custom))),
                     tuple(info(sg.Inputs(i)) for i in range(sg.InputsLength())),
                     tuple(info(sg.Outputs(i)) for i in range(sg.OutputsLength())),
                     m.SubgraphsLength(), len(data))


# --- the reader ----------------------------------------------------------------------------

@pytest.mark.parametrize("build", [lstm_like_model, while_model])
def test_inspect_matches_the_generated_reader(build):
    data = build()
    assert inspect(data) == reference(data)


def test_inspect_lstm_like_model_details(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(lstm_like_model())
    info = inspect(path)
    assert info == inspect(str(path)) == inspect(bytearray(path.read_bytes()))
    assert info.size_bytes == path.stat().st_size
    assert info.subgraphs == 1
    assert [(o.name, o.version) for o in info.ops] == [
        ("ADD", 2), ("FULLY_CONNECTED", 5), ("LOGISTIC", 2), ("MUL", 2), ("SOFTMAX", 2),
        ("SPLIT", 2), ("TANH", 2), ("UNPACK", 2)]
    (inp,), (out,) = info.inputs, info.outputs
    assert (inp.name, inp.shape, inp.dtype, inp.zero_point) == (
        "serving_default_inputs:0", (1, 28, 28), "int8", -128)
    assert inp.scale == pytest.approx(0.0039215)
    assert (out.name, out.shape, out.dtype, out.scale, out.zero_point) == (
        "StatefulPartitionedCall_1:0", (1, 10), "int8", 0.00390625, -128)


def test_inspect_while_model_details():
    info = inspect(while_model())
    assert info.subgraphs == 3
    assert set(info.ops) == {Op("WHILE", 1), Op("LESS", 1), Op("ADD", 1), Op("STABLEHLO_ADD", 1),
                             Op("BROADCAST_TO", 1), Op("FlexTensorListReserve", 1, custom=True)}
    assert [o.name for o in info.ops] == sorted(o.name for o in info.ops)
    assert [(t.name, t.dtype) for t in info.inputs] == [("x", "float32"), ("i", "int32")]
    assert info.inputs[1].shape == ()
    (y,) = info.outputs  # per-channel: no single scale, all of them in scales/zero_points
    assert (y.dtype, y.scale, y.zero_point, y.zero_points) == ("int16", 0.0, 0, (1, -2, 3))
    assert y.scales == pytest.approx((0.1, 0.2, 0.3))


def test_inspect_matches_the_litert_interpreter():
    Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter
    data = lstm_like_model()
    info = inspect(data)
    it = Interpreter(model_content=data)
    for mine, theirs in ((info.inputs, it.get_input_details()), (info.outputs, it.get_output_details())):
        assert len(mine) == len(theirs)
        for m, r in zip(mine, theirs):
            assert m.name == r["name"]
            assert list(m.shape) == list(r["shape"])
            assert m.dtype == r["dtype"].__name__
            assert (m.scale, m.zero_point) == pytest.approx(r["quantization"])


def _fail(data) -> str:
    with pytest.raises(EdgeLstmError) as e:
        inspect(data)
    return str(e.value)


def test_every_truncation_is_a_clean_error(tmp_path):
    data = lstm_like_model()
    for n in range(0, len(data), 7):
        assert "not a TFLite model" in _fail(data[:n])
    assert "not a TFLite model" in _fail(data[:-1])           # only the weights' last byte gone
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[: len(data) // 2])
    assert _fail(path).startswith(f"{path}: not a TFLite model (")


def test_garbage_and_wrong_files_are_clean_errors(tmp_path):
    import random

    rnd = random.Random(0)
    for blob in (b"", b"TFL3", b"\x00" * 64, bytes(rnd.randrange(256) for _ in range(4096)),
                 b"PK\x03\x04" + bytes(200), b"<html>not a model</html>" * 10):
        assert "not a TFLite model" in _fail(blob)
    # Right identifier, nonsense offsets.
    assert "not a TFLite model" in _fail(struct.pack("<I", 0xFFFFFF00) + b"TFL3" + bytes(32))
    assert "not a TFLite model" in _fail(struct.pack("<I", 12) + b"TFL3" + struct.pack("<i", -10**6))
    # Another flatbuffer with a different identifier, and a wrong schema version.
    wrong_id = bytearray(lstm_like_model())
    wrong_id[4:8] = b"CIRC"
    assert "identifier" in _fail(bytes(wrong_id))
    assert "schema version 2" in _fail(_pack([_opcode("ADD")], [_subgraph([], [], [], [])], version=2))
    # Random corruption of a real model: parsed or refused, never a traceback.
    data = lstm_like_model()
    for _ in range(400):
        b = bytearray(data)
        for _ in range(rnd.randint(1, 6)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        try:
            inspect(bytes(b))
        except EdgeLstmError:
            pass
    # Weights (buffer data, or an external buffer's offset and size) past the end of the file.
    data = lstm_like_model()
    at = data.index(struct.pack("<I", 4096 * 4) + struct.pack("<f", 0.5))
    grown = data[:at] + struct.pack("<I", len(data)) + data[at + 4:]
    assert "buffers[1].data" in _fail(grown)
    ext = S.BufferT()
    ext.offset, ext.size = 10**6, 100
    external = _pack([_opcode("ADD")], [_subgraph([_tensor("a", [1], buffer=1)], [0], [0], [])],
                     [S.BufferT(), ext])
    assert "buffer 1" in _fail(external)
    missing = tmp_path / "missing.tflite"
    with pytest.raises(EdgeLstmError, match=r"missing\.tflite: cannot read"):
        inspect(missing)


def test_embedded_tables_match_the_schema():
    assert tm._BUILTIN_OPERATOR_NAMES == tuple(BUILTIN[i] for i in range(len(BUILTIN)))
    types = {v: k for k, v in vars(S.TensorType).items() if isinstance(v, int)}
    assert tm._TENSOR_TYPE_NAMES == tuple(types[i] for i in range(len(types)))


def test_module_imports_no_runtime_or_flatbuffers():
    code = textwrap.dedent("""
        import sys
        import edge_lstm.tflite_model
        bad = [m for m in ("tensorflow", "ai_edge_litert", "tflite_runtime", "flatbuffers", "keras")
               if m in sys.modules]
        print(bad)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- runtime tables ------------------------------------------------------------------------

def _info(*ops: Op) -> ModelInfo:
    return ModelInfo(ops=ops, inputs=(), outputs=(), subgraphs=1, size_bytes=0)


def test_tables_cover_lstm_ops():
    for runtime, table in RUNTIME_OP_VERSIONS.items():
        assert set(LSTM_OPS) <= set(table), runtime
        assert all(isinstance(v, int) and v >= 1 for v in table.values())
        assert set(table) <= set(BUILTIN.values())
    # Measured: tflite-runtime 2.14 refuses FULLY_CONNECTED 11 and 12, ai-edge-litert 2.3 runs 14.
    assert RUNTIME_OP_VERSIONS["tflite-runtime"]["FULLY_CONNECTED"] == 10
    assert RUNTIME_OP_VERSIONS["ai-edge-litert"]["FULLY_CONNECTED"] == 14


def test_unsupported_ops_reasons():
    fc12 = _info(Op("ADD", 1), Op("FULLY_CONNECTED", 12))
    assert unsupported_ops(fc12, "tflite-runtime") == [
        "FULLY_CONNECTED version 12 (tflite-runtime 2.14 runs up to version 10)"]
    assert unsupported_ops(fc12, "ai-edge-litert") == []
    assert unsupported_ops(_info(Op("FULLY_CONNECTED", 10)), "tflite_runtime") == []
    info = inspect(while_model())
    reasons = unsupported_ops(info, "tflite-runtime")
    assert len(reasons) == 3
    assert any(r.startswith("STABLEHLO_ADD version 1 (tflite-runtime 2.14 has no") for r in reasons)
    assert any(r.startswith("BROADCAST_TO version 1 (") for r in reasons)
    assert any("FlexTensorListReserve" in r and "Flex" in r for r in reasons)
    assert [r for r in unsupported_ops(info, "ai-edge-litert") if "STABLEHLO" in r] == []
    assert unsupported_ops(_info(Op("TFLite_Detection_PostProcess", 1, custom=True)), "tflite-runtime") == []
    assert unsupported_ops(fc12, "tensorflow") == []  # no table: TF runs what its converter writes


PROBE = """
import json, sys
mod, probes = sys.argv[1], json.loads(sys.stdin.read())
if mod == "tflite_runtime":
    from tflite_runtime.interpreter import Interpreter
else:
    from ai_edge_litert.interpreter import Interpreter
out = []
for path in probes:
    try:
        Interpreter(model_path=path)
        out.append(True)
    except Exception:
        out.append(False)
print(json.dumps(out))
"""


def _probe_runtime(python: str, module: str, runtime: str, tmp_path: Path):
    """Load (op, max) and (op, max+1) for the LSTM ops in the real runtime: the table must agree."""
    table = RUNTIME_OP_VERSIONS[runtime]
    cases, paths = [], []
    for name in LSTM_OPS:
        for version, expect in ((table[name], True), (table[name] + 1, False)):
            p = tmp_path / f"{runtime}_{name}_{version}.tflite"
            base = [_opcode("ADD")]
            p.write_bytes(_pack(base + [_opcode(name, version)], [_subgraph(
                [_tensor("a", [1]), _tensor("b", [1])], [0], [1], [(0, [0, 0], [1])])]))
            cases.append((name, version, expect))
            paths.append(str(p))
    done = subprocess.run([python, "-c", PROBE, module], input=json.dumps(paths), capture_output=True,
                          text=True, timeout=120, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    wrong = [(n, v, e) for (n, v, e), got in zip(cases, loaded) if got != e]
    assert wrong == []


def test_litert_table_agrees_with_the_installed_runtime(tmp_path):
    pytest.importorskip("ai_edge_litert.interpreter")
    import ai_edge_litert

    if getattr(ai_edge_litert, "__version__", "2.3.0").split(".")[:2] != ["2", "3"]:
        pytest.skip("the table is for ai-edge-litert 2.3")
    _probe_runtime(sys.executable, "ai_edge_litert", "ai-edge-litert", tmp_path)


def test_tflite_runtime_table_agrees_with_tflite_runtime_2_14(tmp_path):
    python = os.environ.get("EDGE_LSTM_TFLITE_RUNTIME_PYTHON")
    if not python or not Path(python).exists():
        pytest.skip("EDGE_LSTM_TFLITE_RUNTIME_PYTHON (a python with tflite-runtime 2.14) is not set")
    _probe_runtime(python, "tflite_runtime", "tflite-runtime", tmp_path)
