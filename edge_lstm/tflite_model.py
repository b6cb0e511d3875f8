"""What a ``.tflite`` model holds (operators, inputs, outputs) and why a runtime refused it.

The file is read with the schema classes the default runtime ships
(``ai_edge_litert.schema_py_generated``, generated from TFLite's ``schema.fbs``). tflite-runtime
ships none, so on a legacy device only the file identifier is checked and the operators are the
ones recorded in the folder's manifest at conversion; the runtime itself refuses what it cannot
load. Which op versions a runtime has is its own knowledge: :func:`missing_kernel` turns its
refusal into one line rather than keeping a copy of its kernel tables here.
"""

from __future__ import annotations

import functools
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from edge_lstm import manifest, reading
from edge_lstm.errors import EdgeLstmError

IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
MAX_BYTES = 256 * 2**20  # read whole to be checked; the digit classifiers are about 100 KB

# What the runtime says when it lacks a kernel, and the same said in a few words.
_REFUSALS = (
    (r"Didn't find op for builtin opcode '(\w+)' version '(-?\d+)'",
     "no {0} version {1} (convert the model for this runtime, or use a newer runtime)"),
    (r"Op builtin_code out of range: (-?\d+)", "no builtin op {0} (an op newer than this runtime)"),
    (r"Select TensorFlow op.*?\((\w+)\) failed",
     "no TensorFlow op {0} (it has no Flex delegate: convert with TFLITE_BUILTINS only)"),
    (r"unresolved custom op: (\w+)", "no custom op {0}"),
    (r"Type (\w+) is unsupported by op (\w+)",
     "its {1} kernel takes no {0} (a newer runtime's does, or convert in another mode)"),
)


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str  # "float32", "int8", …


@dataclass(frozen=True)
class ModelInfo:
    ops: tuple[str, ...]  # "FULLY_CONNECTED:v12", sorted; custom ops by their custom code
    inputs: tuple[TensorInfo, ...]  # empty when read from the manifest
    outputs: tuple[TensorInfo, ...]
    size_bytes: int


class _Damaged(Exception):
    """The bytes are not a TFLite model (turned into an EdgeLstmError)."""


# The generated code trusts its input: offsets that point outside the file or at nonsense surface
# as one of these.
_DAMAGE = (_Damaged, struct.error, IndexError, ValueError, TypeError, OverflowError, MemoryError)


@functools.cache
def _schema():
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:  # tflite-runtime only: no schema classes
        return None
    return schema_py_generated


def inspect(path: str | Path) -> ModelInfo:
    """Operators, inputs and outputs of a ``.tflite`` file.

    Raises EdgeLstmError ``"<path>: not a TFLite model (<why>)"`` for anything that is not a
    complete TFLite file, and ``"<path>: <why>"`` for a file that cannot be read, is not a
    regular file or is over MAX_BYTES."""
    path = Path(path)
    try:
        data = reading.read_regular(path, MAX_BYTES, "a model")
    except EdgeLstmError as e:
        raise EdgeLstmError(f"{path}: {e}") from None
    try:
        if len(data) < 8 or data[4:8] != IDENTIFIER:
            raise _Damaged(f"file identifier {data[4:8]!r}, expected {IDENTIFIER!r}")
        schema = _schema()
        return _read(schema, data) if schema else _recorded(path, len(data))
    except _DAMAGE as e:
        why = e if isinstance(e, _Damaged) else f"damaged: {type(e).__name__}: {e}"
        raise EdgeLstmError(f"{path}: not a TFLite model ({why})") from None


def _recorded(path: Path, size: int) -> ModelInfo:
    """What the folder's manifest recorded at conversion (no ops if the file is not the one recorded)."""
    if not manifest.sha256_matches(path):
        return ModelInfo((), (), (), size)
    entry = manifest.entry(manifest.load(path.parent), path.name)
    return ModelInfo(tuple(str(op) for op in entry.get("ops", [])), (), (), size)


def _read(schema, data: bytes) -> ModelInfo:
    model = schema.Model.GetRootAs(data, 0)
    if model.Version() != SCHEMA_VERSION:
        raise _Damaged(f"schema version {model.Version()}, expected {SCHEMA_VERSION}")
    names = {code: name for name, code in vars(schema.BuiltinOperator).items() if isinstance(code, int)}
    ops = {_op(model.OperatorCodes(i), names, schema.BuiltinOperator.CUSTOM)
           for i in range(_count(model.OperatorCodesLength(), data, "operator codes"))}
    if _count(model.SubgraphsLength(), data, "subgraphs") == 0:
        raise _Damaged("no subgraphs")
    main = model.Subgraphs(0)
    types = {code: name.lower() for name, code in vars(schema.TensorType).items()
             if isinstance(code, int)}
    tensors = _count(main.TensorsLength(), data, "tensors")
    inputs = [main.Inputs(i) for i in range(_count(main.InputsLength(), data, "inputs"))]
    outputs = [main.Outputs(i) for i in range(_count(main.OutputsLength(), data, "outputs"))]
    for index in inputs + outputs:
        if not 0 <= index < tensors:
            raise _Damaged(f"tensor index {index} is out of range ({tensors} tensors)")
    _check_buffers(model, data)
    return ModelInfo(tuple(sorted(ops)), tuple(_tensor(main.Tensors(i), types, data) for i in inputs),
                     tuple(_tensor(main.Tensors(i), types, data) for i in outputs), len(data))


def _count(length: int, data: bytes, what: str) -> int:
    """A vector's length, if the file has room for it (each element takes 4 bytes or more)."""
    if length > len(data) // 4:
        raise _Damaged(f"{length} {what} cannot fit in {len(data)} bytes")
    return length


def _op(code, names: dict[int, str], custom: int) -> str:
    builtin = max(code.DeprecatedBuiltinCode(), code.BuiltinCode())
    if builtin == custom:
        name = (code.CustomCode() or b"").decode("utf-8", errors="replace")
    else:
        name = names.get(builtin, f"BUILTIN_OP_{builtin}")  # newer than this schema
    return f"{name}:v{code.Version()}"


def _tensor(tensor, types: dict[int, str], data: bytes) -> TensorInfo:
    shape = tuple(int(tensor.Shape(i)) for i in range(_count(tensor.ShapeLength(), data, "dims")))
    return TensorInfo((tensor.Name() or b"").decode("utf-8", errors="replace"), shape,
                      types.get(tensor.Type(), f"tensor_type_{tensor.Type()}"))


def _check_buffers(model, data: bytes) -> None:
    """The weights: their data, or the bytes after the model that they point to, in the file."""
    for i in range(_count(model.BuffersLength(), data, "buffers")):
        buffer = model.Buffers(i)
        try:
            buffer.DataAsNumpy()
        except ValueError:
            raise _Damaged(f"buffer {i} runs past the end of the file") from None
        if buffer.Offset() > 1 and buffer.Offset() + buffer.Size() > len(data):
            raise _Damaged(f"buffer {i} ({buffer.Size()} bytes at byte {buffer.Offset()}) runs "
                           f"past the end of the {len(data)}-byte file")


def missing_kernel(load_error: Exception) -> str | None:
    """What the runtime's load error says it lacks, in a few words; None if it says something else."""
    for pattern, words in _REFUSALS:
        found = re.search(pattern, str(load_error), re.DOTALL)
        if found:
            return words.format(*found.groups())
    return None
