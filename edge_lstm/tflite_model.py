"""Read a TFLite model's operators and input/output tensors without TensorFlow.

A minimal, bounds-checked FlatBuffers reader for the parts of the TFLite schema that decide
whether a device runtime can load a model: the operator codes (name and version), the primary
subgraph's inputs and outputs, and the number of subgraphs.  Pure Python (``struct``) - it
imports neither TensorFlow, ``ai_edge_litert``, ``tflite_runtime`` nor the ``flatbuffers``
package, so it runs on a Raspberry Pi that only has tflite-runtime and numpy.

Every offset is checked against the length of the file, so a garbage or truncated file is
reported as ``EdgeLstmError("<path>: not a TFLite model (...)")`` and never as an
``IndexError`` or ``struct.error``.

Schema (tensorflow/lite/schema/schema.fbs, field index in brackets)::

    Model          version[0]:uint32  operator_codes[1]:[OperatorCode]  subgraphs[2]:[SubGraph]
                   description[3]:string  buffers[4]:[Buffer]
    OperatorCode   deprecated_builtin_code[0]:int8  custom_code[1]:string  version[2]:int32=1
                   builtin_code[3]:int32          (builtin code = max of [0] and [3])
    SubGraph       tensors[0]:[Tensor]  inputs[1]:[int32]  outputs[2]:[int32]
                   operators[3]:[Operator]  name[4]:string
    Operator       opcode_index[0]:uint32  inputs[1]:[int32]  outputs[2]:[int32]
    Tensor         shape[0]:[int32]  type[1]:TensorType(int8)  buffer[2]:uint32  name[3]:string
                   quantization[4]:QuantizationParameters  shape_signature[7]:[int32]
    QuantizationParameters  min[0]:[float] max[1]:[float] scale[2]:[float] zero_point[3]:[int64]
    Buffer         data[0]:[ubyte]  offset[1]:uint64  size[2]:uint64

Field indices were checked against ``ai_edge_litert/schema_py_generated.py`` (ai-edge-litert
2.3.0), whose generated reader is used by the tests as the reference.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from edge_lstm.errors import EdgeLstmError

__all__ = [
    "Op",
    "TensorInfo",
    "ModelInfo",
    "inspect",
    "unsupported_ops",
    "RUNTIME_OP_VERSIONS",
    "RUNTIME_LABELS",
]

# Generated from ai_edge_litert 2.3.0's schema_py_generated.py (classes BuiltinOperator and
# TensorType; the enums are dense, index = code) by /work/scratch/opcheck/gen_tables.py.
# fmt: off
_BUILTIN_OPERATOR_NAMES: tuple[str, ...] = (
    'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D',
    'DEPTH_TO_SPACE', 'DEQUANTIZE', 'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED',
    'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
    'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D',
    'MUL', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN',
    'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH', 'CONCAT_EMBEDDINGS', 'SKIP_GRAM',
    'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD', 'UNIDIRECTIONAL_SEQUENCE_RNN',
    'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB',
    'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE',
    'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2', 'SPLIT', 'LOG_SOFTMAX', 'DELEGATE',
    'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM', 'ARG_MAX', 'MINIMUM',
    'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE',
    'SIN', 'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL',
    'NOT_EQUAL', 'LOG', 'SUM', 'SQRT', 'RSQRT', 'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT',
    'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR', 'ONE_HOT', 'LOGICAL_AND',
    'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE',
    'ZEROS_LIKE', 'FILL', 'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU',
    'SQUARED_DIFFERENCE', 'MIRROR_PAD', 'ABS', 'SPLIT_V', 'UNIQUE', 'CEIL',
    'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK', 'ELU',
    'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND',
    'HARD_SWISH', 'IF', 'WHILE', 'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5',
    'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM', 'BATCH_MATMUL',
    'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM', 'CALL_ONCE', 'BROADCAST_TO', 'RFFT2D',
    'CONV_3D', 'IMAG', 'REAL', 'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND',
    'HASHTABLE_IMPORT', 'HASHTABLE_SIZE', 'REDUCE_ALL', 'CONV_3D_TRANSPOSE',
    'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE', 'BROADCAST_ARGS',
    'RANDOM_STANDARD_NORMAL', 'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL', 'GELU',
    'DYNAMIC_UPDATE_SLICE', 'RELU_0_TO_1', 'UNSORTED_SEGMENT_PROD',
    'UNSORTED_SEGMENT_MAX', 'UNSORTED_SEGMENT_SUM', 'ATAN2', 'UNSORTED_SEGMENT_MIN',
    'SIGN', 'BITCAST', 'BITWISE_XOR', 'RIGHT_SHIFT', 'STABLEHLO_LOGISTIC',
    'STABLEHLO_ADD', 'STABLEHLO_DIVIDE', 'STABLEHLO_MULTIPLY', 'STABLEHLO_MAXIMUM',
    'STABLEHLO_RESHAPE', 'STABLEHLO_CLAMP', 'STABLEHLO_CONCATENATE',
    'STABLEHLO_BROADCAST_IN_DIM', 'STABLEHLO_CONVOLUTION', 'STABLEHLO_SLICE',
    'STABLEHLO_CUSTOM_CALL', 'STABLEHLO_REDUCE', 'STABLEHLO_ABS', 'STABLEHLO_AND',
    'STABLEHLO_COSINE', 'STABLEHLO_EXPONENTIAL', 'STABLEHLO_FLOOR', 'STABLEHLO_LOG',
    'STABLEHLO_MINIMUM', 'STABLEHLO_NEGATE', 'STABLEHLO_OR', 'STABLEHLO_POWER',
    'STABLEHLO_REMAINDER', 'STABLEHLO_RSQRT', 'STABLEHLO_SELECT', 'STABLEHLO_SUBTRACT',
    'STABLEHLO_TANH', 'STABLEHLO_SCATTER', 'STABLEHLO_COMPARE', 'STABLEHLO_CONVERT',
    'STABLEHLO_DYNAMIC_SLICE', 'STABLEHLO_DYNAMIC_UPDATE_SLICE', 'STABLEHLO_PAD',
    'STABLEHLO_IOTA', 'STABLEHLO_DOT_GENERAL', 'STABLEHLO_REDUCE_WINDOW',
    'STABLEHLO_SORT', 'STABLEHLO_WHILE', 'STABLEHLO_GATHER', 'STABLEHLO_TRANSPOSE',
    'DILATE', 'STABLEHLO_RNG_BIT_GENERATOR', 'REDUCE_WINDOW', 'STABLEHLO_COMPOSITE',
    'STABLEHLO_SHIFT_LEFT', 'STABLEHLO_CBRT', 'STABLEHLO_CASE',
)

_TENSOR_TYPE_NAMES: tuple[str, ...] = (
    'FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16',
    'COMPLEX64', 'INT8', 'FLOAT64', 'COMPLEX128', 'UINT64', 'RESOURCE', 'VARIANT',
    'UINT32', 'UINT16', 'INT4', 'BFLOAT16', 'INT2', 'UINT4', 'FLOAT8_E4M3FN',
    'FLOAT8_E5M2',
)
# fmt: on

_CUSTOM = _BUILTIN_OPERATOR_NAMES.index("CUSTOM")  # 32
_FILE_IDENTIFIER = b"TFL3"
_SCHEMA_VERSION = 3

# The builtin op versions each runtime's BuiltinOpResolver registers (AddBuiltin(op, reg,
# min_version, max_version); an op added without versions registers version 1 only).
#
# Measured, not copied: every (builtin code, version 1..20) pair was appended to the operator
# codes of a one-ADD model and loaded with the runtime's Python Interpreter (whose default
# resolver is the BuiltinOpResolver of tensorflow/lite/core/kernels/register.cc); a pair that
# loads is registered, one that fails says "Didn't find op for builtin opcode 'X' version 'N'".
# Scripts: /work/scratch/opcheck/gen_probes.py and run_probes.py.
#   tflite-runtime 2.14.0 (PyPI wheel): FULLY_CONNECTED loads up to version 10 and refuses 11
#       and 12, matching the field report that it refuses FULLY_CONNECTED version 12.
#   ai-edge-litert 2.3.0 (PyPI wheel, the TF 2.21-era LiteRT).
# Cross-checked against sources read through the code search index:
#   tensorflow/tensorflow tensorflow/lite/tools/versioning/runtime_version.cc @ f3ddd831d6e1
#       (FULLY_CONNECTED 10 -> "2.11.0", no version 11 yet; UNIDIRECTIONAL_SEQUENCE_LSTM 4 ->
#       "2.12.0"), consistent with the 2.14 measurement; a 2.14-tagged register.cc was not in
#       the index (tensorflow/tensorflow tensorflow/lite/kernels/register.cc @ 218768619f7c and
#       @ 00b1ec2ad4b0 are older: FULLY_CONNECTED max 4 and 9).
#   google-ai-edge/LiteRT tflite/core/kernels/register.cc @ 02c75e3a183c (FULLY_CONNECTED 14,
#       UNIDIRECTIONAL_SEQUENCE_LSTM 4, STABLEHLO_* kernels): agrees with the 2.3.0 measurement
#       for FULLY_CONNECTED but is older than the wheel for a few ops (e.g. CONCATENATION 5 vs
#       7, ADD 5 vs 6), so the measured values are used.
# fmt: off
RUNTIME_OP_VERSIONS: dict[str, dict[str, int]] = {
    "tflite-runtime": {
        "ABS": 5, "ADD": 5, "ADD_N": 1, "ARG_MAX": 3, "ARG_MIN": 3, "ASSIGN_VARIABLE": 1,
        "ATAN2": 1, "AVERAGE_POOL_2D": 3, "BATCH_MATMUL": 4, "BATCH_TO_SPACE_ND": 4,
        "BIDIRECTIONAL_SEQUENCE_LSTM": 3, "BIDIRECTIONAL_SEQUENCE_RNN": 3, "BITCAST": 1,
        "BITWISE_XOR": 1, "BROADCAST_ARGS": 1, "BROADCAST_TO": 3, "BUCKETIZE": 1,
        "CALL_ONCE": 1, "CAST": 5, "CEIL": 1, "COMPLEX_ABS": 1, "CONCATENATION": 4,
        "CONV_2D": 7, "CONV_3D": 1, "CONV_3D_TRANSPOSE": 1, "COS": 1, "CUMSUM": 1,
        "DENSIFY": 1, "DEPTHWISE_CONV_2D": 7, "DEPTH_TO_SPACE": 2, "DEQUANTIZE": 5, "DIV":
        2, "DYNAMIC_UPDATE_SLICE": 1, "ELU": 1, "EMBEDDING_LOOKUP": 3,
        "EMBEDDING_LOOKUP_SPARSE": 1, "EQUAL": 4, "EXP": 2, "EXPAND_DIMS": 1, "FAKE_QUANT":
        2, "FILL": 4, "FLOOR": 1, "FLOOR_DIV": 3, "FLOOR_MOD": 2, "FULLY_CONNECTED": 10,
        "GATHER": 6, "GATHER_ND": 4, "GELU": 2, "GREATER": 2, "GREATER_EQUAL": 3,
        "HARD_SWISH": 1, "HASHTABLE": 1, "HASHTABLE_FIND": 1, "HASHTABLE_IMPORT": 1,
        "HASHTABLE_LOOKUP": 1, "HASHTABLE_SIZE": 1, "IF": 1, "IMAG": 1, "L2_NORMALIZATION":
        2, "L2_POOL_2D": 1, "LEAKY_RELU": 2, "LESS": 3, "LESS_EQUAL": 2,
        "LOCAL_RESPONSE_NORMALIZATION": 1, "LOG": 1, "LOGICAL_AND": 1, "LOGICAL_NOT": 1,
        "LOGICAL_OR": 1, "LOGISTIC": 3, "LOG_SOFTMAX": 2, "LSH_PROJECTION": 1, "LSTM": 4,
        "MATRIX_DIAG": 1, "MATRIX_SET_DIAG": 1, "MAXIMUM": 4, "MAX_POOL_2D": 3, "MEAN": 3,
        "MINIMUM": 4, "MIRROR_PAD": 3, "MUL": 7, "MULTINOMIAL": 1, "NEG": 1,
        "NON_MAX_SUPPRESSION_V4": 1, "NON_MAX_SUPPRESSION_V5": 1, "NOT_EQUAL": 3, "ONE_HOT":
        1, "PACK": 4, "PAD": 4, "PADV2": 4, "POW": 1, "PRELU": 1, "QUANTIZE": 3,
        "RANDOM_STANDARD_NORMAL": 1, "RANDOM_UNIFORM": 1, "RANGE": 2, "RANK": 1,
        "READ_VARIABLE": 1, "REAL": 1, "REDUCE_ALL": 1, "REDUCE_ANY": 1, "REDUCE_MAX": 3,
        "REDUCE_MIN": 3, "REDUCE_PROD": 2, "RELU": 3, "RELU6": 3, "RELU_0_TO_1": 1,
        "RELU_N1_TO_1": 1, "RESHAPE": 1, "RESIZE_BILINEAR": 4, "RESIZE_NEAREST_NEIGHBOR": 4,
        "REVERSE_SEQUENCE": 1, "REVERSE_V2": 3, "RFFT2D": 1, "RIGHT_SHIFT": 1, "RNN": 3,
        "ROUND": 1, "RSQRT": 2, "SCATTER_ND": 1, "SEGMENT_SUM": 1, "SELECT": 4, "SELECT_V2":
        2, "SHAPE": 1, "SIGN": 2, "SIN": 1, "SKIP_GRAM": 1, "SLICE": 6, "SOFTMAX": 3,
        "SPACE_TO_BATCH_ND": 4, "SPACE_TO_DEPTH": 2, "SPARSE_TO_DENSE": 3, "SPLIT": 4,
        "SPLIT_V": 2, "SQRT": 1, "SQUARE": 1, "SQUARED_DIFFERENCE": 2, "SQUEEZE": 2,
        "STRIDED_SLICE": 8, "SUB": 5, "SUM": 2, "SVDF": 4, "TANH": 3, "TILE": 3, "TOPK_V2":
        3, "TRANSPOSE": 6, "TRANSPOSE_CONV": 4, "UNIDIRECTIONAL_SEQUENCE_LSTM": 4,
        "UNIDIRECTIONAL_SEQUENCE_RNN": 3, "UNIQUE": 1, "UNPACK": 4, "UNSORTED_SEGMENT_MAX":
        1, "UNSORTED_SEGMENT_MIN": 1, "UNSORTED_SEGMENT_PROD": 1, "UNSORTED_SEGMENT_SUM": 1,
        "VAR_HANDLE": 1, "WHERE": 2, "WHILE": 1, "ZEROS_LIKE": 1,
    },
    "ai-edge-litert": {
        "ABS": 5, "ADD": 6, "ADD_N": 1, "ARG_MAX": 3, "ARG_MIN": 3, "ASSIGN_VARIABLE": 1,
        "ATAN2": 1, "AVERAGE_POOL_2D": 3, "BATCH_MATMUL": 4, "BATCH_TO_SPACE_ND": 4,
        "BIDIRECTIONAL_SEQUENCE_LSTM": 3, "BIDIRECTIONAL_SEQUENCE_RNN": 3, "BITCAST": 1,
        "BITWISE_XOR": 1, "BROADCAST_ARGS": 1, "BROADCAST_TO": 4, "BUCKETIZE": 1,
        "CALL_ONCE": 1, "CAST": 9, "CEIL": 1, "COMPLEX_ABS": 1, "CONCATENATION": 7,
        "CONV_2D": 8, "CONV_3D": 1, "CONV_3D_TRANSPOSE": 1, "COS": 2, "CUMSUM": 1,
        "DENSIFY": 1, "DEPTHWISE_CONV_2D": 7, "DEPTH_TO_SPACE": 2, "DEQUANTIZE": 9,
        "DILATE": 1, "DIV": 2, "DYNAMIC_UPDATE_SLICE": 6, "ELU": 1, "EMBEDDING_LOOKUP": 5,
        "EMBEDDING_LOOKUP_SPARSE": 1, "EQUAL": 5, "EXP": 2, "EXPAND_DIMS": 1, "FAKE_QUANT":
        2, "FILL": 5, "FLOOR": 1, "FLOOR_DIV": 3, "FLOOR_MOD": 2, "FULLY_CONNECTED": 14,
        "GATHER": 8, "GATHER_ND": 6, "GELU": 3, "GREATER": 2, "GREATER_EQUAL": 3,
        "HARD_SWISH": 1, "HASHTABLE": 1, "HASHTABLE_FIND": 1, "HASHTABLE_IMPORT": 1,
        "HASHTABLE_LOOKUP": 1, "HASHTABLE_SIZE": 1, "IF": 1, "IMAG": 1, "L2_NORMALIZATION":
        2, "L2_POOL_2D": 1, "LEAKY_RELU": 2, "LESS": 3, "LESS_EQUAL": 2,
        "LOCAL_RESPONSE_NORMALIZATION": 1, "LOG": 2, "LOGICAL_AND": 1, "LOGICAL_NOT": 1,
        "LOGICAL_OR": 1, "LOGISTIC": 3, "LOG_SOFTMAX": 2, "LSH_PROJECTION": 1, "LSTM": 4,
        "MATRIX_DIAG": 1, "MATRIX_SET_DIAG": 1, "MAXIMUM": 4, "MAX_POOL_2D": 3, "MEAN": 3,
        "MINIMUM": 4, "MIRROR_PAD": 3, "MUL": 8, "MULTINOMIAL": 1, "NEG": 1,
        "NON_MAX_SUPPRESSION_V4": 1, "NON_MAX_SUPPRESSION_V5": 1, "NOT_EQUAL": 4, "ONE_HOT":
        1, "PACK": 5, "PAD": 6, "PADV2": 6, "POW": 1, "PRELU": 1, "QUANTIZE": 6,
        "RANDOM_STANDARD_NORMAL": 1, "RANDOM_UNIFORM": 1, "RANGE": 2, "RANK": 1,
        "READ_VARIABLE": 1, "REAL": 1, "REDUCE_ALL": 1, "REDUCE_ANY": 1, "REDUCE_MAX": 3,
        "REDUCE_MIN": 3, "REDUCE_PROD": 2, "REDUCE_WINDOW": 1, "RELU": 3, "RELU6": 3,
        "RELU_0_TO_1": 1, "RELU_N1_TO_1": 1, "RESHAPE": 1, "RESIZE_BILINEAR": 4,
        "RESIZE_NEAREST_NEIGHBOR": 4, "REVERSE_SEQUENCE": 1, "REVERSE_V2": 4, "RFFT2D": 1,
        "RIGHT_SHIFT": 1, "RNN": 3, "ROUND": 1, "RSQRT": 3, "SCATTER_ND": 1, "SEGMENT_SUM":
        1, "SELECT": 4, "SELECT_V2": 2, "SHAPE": 1, "SIGN": 2, "SIN": 2, "SKIP_GRAM": 1,
        "SLICE": 8, "SOFTMAX": 4, "SPACE_TO_BATCH_ND": 4, "SPACE_TO_DEPTH": 2,
        "SPARSE_TO_DENSE": 3, "SPLIT": 5, "SPLIT_V": 3, "SQRT": 2, "SQUARE": 1,
        "SQUARED_DIFFERENCE": 2, "SQUEEZE": 2, "STABLEHLO_ADD": 1, "STABLEHLO_AND": 1,
        "STABLEHLO_CASE": 1, "STABLEHLO_COMPOSITE": 1, "STABLEHLO_GATHER": 1,
        "STABLEHLO_MAXIMUM": 1, "STABLEHLO_MINIMUM": 1, "STABLEHLO_MULTIPLY": 1,
        "STABLEHLO_PAD": 1, "STABLEHLO_REDUCE_WINDOW": 1, "STABLEHLO_RNG_BIT_GENERATOR": 1,
        "STABLEHLO_SCATTER": 1, "STABLEHLO_SHIFT_LEFT": 1, "STRIDED_SLICE": 8, "SUB": 5,
        "SUM": 2, "SVDF": 4, "TANH": 3, "TILE": 3, "TOPK_V2": 3, "TRANSPOSE": 9,
        "TRANSPOSE_CONV": 5, "UNIDIRECTIONAL_SEQUENCE_LSTM": 4,
        "UNIDIRECTIONAL_SEQUENCE_RNN": 3, "UNIQUE": 1, "UNPACK": 6, "UNSORTED_SEGMENT_MAX":
        1, "UNSORTED_SEGMENT_MIN": 1, "UNSORTED_SEGMENT_PROD": 1, "UNSORTED_SEGMENT_SUM": 1,
        "VAR_HANDLE": 1, "WHERE": 2, "WHILE": 1, "ZEROS_LIKE": 1,
    },
}
# fmt: on

# Ops whose first registered version is above 1 (BROADCAST_TO version 1 was rolled back).
_RUNTIME_MIN_VERSIONS: dict[str, dict[str, int]] = {
    "tflite-runtime": {"BROADCAST_TO": 2},
    "ai-edge-litert": {"BROADCAST_TO": 2},
}

# Custom ops the BuiltinOpResolver also registers (AddCustom in register.cc), in both runtimes.
_RUNTIME_CUSTOM_OPS: dict[str, frozenset[str]] = {
    "tflite-runtime": frozenset({"NumericVerify", "Mfcc", "AudioSpectrogram",
                                 "TFLite_Detection_PostProcess"}),
    "ai-edge-litert": frozenset({"NumericVerify", "Mfcc", "AudioSpectrogram",
                                 "TFLite_Detection_PostProcess"}),
}

# How each runtime is named in messages.
RUNTIME_LABELS: dict[str, str] = {
    "tflite-runtime": "tflite-runtime 2.14",
    "ai-edge-litert": "ai-edge-litert 2.3",
}

_RUNTIME_ALIASES = {
    "tflite-runtime": "tflite-runtime", "tflite_runtime": "tflite-runtime",
    "ai-edge-litert": "ai-edge-litert", "ai_edge_litert": "ai-edge-litert", "litert": "ai-edge-litert",
}


@dataclass(frozen=True)
class Op:
    """One operator code: builtin name (``"FULLY_CONNECTED"``) or, when ``custom``, the custom code."""

    name: str
    version: int
    custom: bool = False


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output as the interpreter reports it.

    ``scale``/``zero_point`` are the per-tensor quantization parameters (0.0 and 0 when the
    tensor is not quantized or is quantized per channel, like the interpreter's
    ``quantization`` tuple); ``scales``/``zero_points`` hold all of them.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0
    shape_signature: tuple[int, ...] = ()
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    ops: tuple[Op, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    subgraphs: int
    size_bytes: int


class _Malformed(Exception):
    """Internal: the bytes are not a well-formed TFLite flatbuffer (turned into EdgeLstmError)."""


class _Reader:
    """Bounds-checked access to a little-endian FlatBuffer."""

    __slots__ = ("buf", "n")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.n = len(buf)

    def _check(self, pos: int, size: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > self.n:
            raise _Malformed(f"{what} at byte {pos} runs past the end of the {self.n}-byte file")

    def scalar(self, fmt: str, pos: int, what: str = "value"):
        size = struct.calcsize(fmt)
        self._check(pos, size, what)
        return struct.unpack_from(fmt, self.buf, pos)[0]

    def deref(self, pos: int, what: str) -> int:
        """Follow the uoffset stored at ``pos``."""
        return pos + self.scalar("<I", pos, what)

    def table(self, pos: int, what: str) -> _Table:
        self._check(pos, 4, what)
        if pos % 4:
            raise _Malformed(f"{what} at byte {pos} is misaligned")
        vtable = pos - self.scalar("<i", pos, what)
        self._check(vtable, 4, f"{what} vtable")
        vt_size = self.scalar("<H", vtable)
        tbl_size = self.scalar("<H", vtable + 2)
        if vt_size < 4 or vt_size % 2:
            raise _Malformed(f"{what} has a bad vtable size {vt_size}")
        self._check(vtable, vt_size, f"{what} vtable")
        self._check(pos, tbl_size, what)
        return _Table(self, pos, vtable, vt_size, tbl_size, what)

    def vector(self, pos: int, elem_size: int, what: str) -> tuple[int, int]:
        """(start, length) of the vector whose length word is at ``pos``."""
        length = self.scalar("<I", pos, f"{what} length")
        self._check(pos + 4, length * elem_size, what)
        return pos + 4, length

    def string(self, pos: int, what: str) -> str:
        start, length = self.vector(pos, 1, what)
        return self.buf[start:start + length].decode("utf-8", errors="replace")


class _Table:
    __slots__ = ("r", "pos", "vtable", "vt_size", "tbl_size", "what")

    def __init__(self, r: _Reader, pos: int, vtable: int, vt_size: int, tbl_size: int, what: str):
        self.r, self.pos, self.vtable, self.vt_size, self.tbl_size, self.what = (
            r, pos, vtable, vt_size, tbl_size, what)

    def _field(self, index: int, size: int) -> int:
        """Absolute position of field ``index``, or 0 when absent."""
        entry = 4 + 2 * index
        if entry + 2 > self.vt_size:
            return 0
        off = self.r.scalar("<H", self.vtable + entry)
        if off == 0:
            return 0
        if off + size > self.tbl_size:
            raise _Malformed(f"{self.what} field {index} lies outside its table")
        return self.pos + off

    def scalar(self, index: int, fmt: str, default):
        pos = self._field(index, struct.calcsize(fmt))
        return default if not pos else self.r.scalar(fmt, pos, f"{self.what} field {index}")

    def _target(self, index: int, name: str) -> int:
        pos = self._field(index, 4)
        return self.r.deref(pos, f"{self.what}.{name}") if pos else 0

    def string(self, index: int, name: str) -> str | None:
        target = self._target(index, name)
        return self.r.string(target, f"{self.what}.{name}") if target else None

    def table(self, index: int, name: str) -> _Table | None:
        target = self._target(index, name)
        return self.r.table(target, f"{self.what}.{name}") if target else None

    def scalars(self, index: int, fmt: str, name: str) -> tuple:
        target = self._target(index, name)
        if not target:
            return ()
        size = struct.calcsize(fmt)
        start, length = self.r.vector(target, size, f"{self.what}.{name}")
        return struct.unpack_from(f"<{length}{fmt.lstrip('<')}", self.r.buf, start)

    def tables(self, index: int, name: str) -> list[_Table]:
        target = self._target(index, name)
        if not target:
            return []
        start, length = self.r.vector(target, 4, f"{self.what}.{name}")
        return [self.r.table(self.r.deref(start + 4 * i, f"{self.what}.{name}[{i}]"),
                             f"{self.what}.{name}[{i}]") for i in range(length)]


def _op_name(code: int) -> str:
    if 0 <= code < len(_BUILTIN_OPERATOR_NAMES):
        return _BUILTIN_OPERATOR_NAMES[code]
    return f"BUILTIN_OP_{code}"  # newer than the embedded schema


def _dtype_name(code: int) -> str:
    if 0 <= code < len(_TENSOR_TYPE_NAMES):
        return _TENSOR_TYPE_NAMES[code].lower()
    return f"tensor_type_{code}"


def _tensor_info(tensors: list[_Table], index: int, role: str) -> TensorInfo:
    if not 0 <= index < len(tensors):
        raise _Malformed(f"{role} tensor index {index} is out of range (subgraph has "
                         f"{len(tensors)} tensors)")
    t = tensors[index]
    scales: tuple = ()
    zero_points: tuple = ()
    q = t.table(4, "quantization")
    if q is not None:
        scales = tuple(float(s) for s in q.scalars(2, "f", "scale"))
        zero_points = tuple(int(z) for z in q.scalars(3, "q", "zero_point"))
    return TensorInfo(
        name=t.string(3, "name") or "",
        shape=tuple(int(d) for d in t.scalars(0, "i", "shape")),
        dtype=_dtype_name(t.scalar(1, "<b", 0)),
        scale=scales[0] if len(scales) == 1 else 0.0,
        zero_point=zero_points[0] if len(zero_points) == 1 else 0,
        shape_signature=tuple(int(d) for d in t.scalars(7, "i", "shape_signature")),
        scales=scales,
        zero_points=zero_points,
    )


def _parse(buf: bytes) -> ModelInfo:
    r = _Reader(buf)
    if r.n < 8:
        raise _Malformed(f"only {r.n} bytes")
    ident = buf[4:8]
    if ident != _FILE_IDENTIFIER:
        raise _Malformed(f"file identifier is {ident!r}, expected {_FILE_IDENTIFIER!r}")
    model = r.table(r.deref(0, "root offset"), "Model")
    version = model.scalar(0, "<I", 0)
    if version != _SCHEMA_VERSION:
        raise _Malformed(f"schema version {version}, expected {_SCHEMA_VERSION}")

    ops = set()
    for oc in model.tables(1, "operator_codes"):
        code = max(oc.scalar(0, "<b", 0), oc.scalar(3, "<i", 0))
        op_version = oc.scalar(2, "<i", 1)
        if code == _CUSTOM:
            ops.add(Op(oc.string(1, "custom_code") or "", op_version, custom=True))
        else:
            ops.add(Op(_op_name(code), op_version))

    subgraphs = model.tables(2, "subgraphs")
    if not subgraphs:
        raise _Malformed("it has no subgraphs")
    n_codes = len(model.tables(1, "operator_codes"))
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()
    for i, sg in enumerate(subgraphs):
        tensors = sg.tables(0, "tensors")
        for t in tensors:  # touch every tensor so a damaged one is caught here
            t.scalars(0, "i", "shape")
            t.string(3, "name")
        sg_inputs = sg.scalars(1, "i", "inputs")
        sg_outputs = sg.scalars(2, "i", "outputs")
        for op in sg.tables(3, "operators"):
            opcode_index = op.scalar(0, "<I", 0)
            if opcode_index >= n_codes:
                raise _Malformed(f"an operator uses operator code {opcode_index} of {n_codes}")
            op.scalars(1, "i", "inputs")
            op.scalars(2, "i", "outputs")
        if i == 0:
            inputs = tuple(_tensor_info(tensors, j, "input") for j in sg_inputs)
            outputs = tuple(_tensor_info(tensors, j, "output") for j in sg_outputs)

    # Weights live in the buffers, at the end of the file: a truncated file fails here.
    for i, b in enumerate(model.tables(4, "buffers")):
        b.scalars(0, "B", f"buffers[{i}].data")
        offset = b.scalar(1, "<Q", 0)
        size = b.scalar(2, "<Q", 0)
        if offset > 1 and offset + size > r.n:
            raise _Malformed(f"buffer {i} ({size} bytes at byte {offset}) runs past the end "
                             f"of the {r.n}-byte file")

    return ModelInfo(
        ops=tuple(sorted(ops, key=lambda o: (o.name, o.version, o.custom))),
        inputs=inputs,
        outputs=outputs,
        subgraphs=len(subgraphs),
        size_bytes=r.n,
    )


def inspect(path_or_bytes: str | os.PathLike | bytes | bytearray | memoryview) -> ModelInfo:
    """Operators, inputs and outputs of a ``.tflite`` file (a path, or the model's bytes).

    Raises EdgeLstmError ``"<path>: not a TFLite model (<why>)"`` for anything that is not a
    complete TFLite flatbuffer, and ``"<path>: cannot read (<why>)"`` when the file can't be read.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        label = "model bytes"
        buf = bytes(path_or_bytes)
    else:
        label = os.fspath(path_or_bytes)
        try:
            with open(label, "rb") as f:
                buf = f.read()
        except OSError as e:
            raise EdgeLstmError(f"{label}: cannot read ({e.strerror or e})") from None
    try:
        return _parse(buf)
    except (_Malformed, struct.error, IndexError, ValueError, OverflowError, MemoryError) as e:
        raise EdgeLstmError(f"{label}: not a TFLite model ({e})") from None


def unsupported_ops(info: ModelInfo, runtime: str) -> list[str]:
    """Why ``runtime`` would refuse to load the model, one plain sentence per operator code.

    Empty when every operator code is registered by the runtime's builtin op resolver, and for a
    runtime with no table (TensorFlow's interpreter, which runs whatever its converter writes).
    """
    key = _RUNTIME_ALIASES.get(runtime.strip().lower())
    if key is None:
        return []
    label = RUNTIME_LABELS[key]
    table = RUNTIME_OP_VERSIONS[key]
    mins = _RUNTIME_MIN_VERSIONS.get(key, {})
    reasons: list[str] = []
    for op in info.ops:
        if op.custom:
            if op.name in _RUNTIME_CUSTOM_OPS.get(key, frozenset()):
                continue
            if op.name.startswith("Flex"):
                reasons.append(f"custom op {op.name} (a TensorFlow op kept by the converter; "
                               f"{label} has no Flex delegate: convert with TFLITE_BUILTINS only)")
            else:
                reasons.append(f"custom op {op.name} ({label} has no kernel registered for it)")
            continue
        top = table.get(op.name)
        if top is None:
            reasons.append(f"{op.name} version {op.version} ({label} has no {op.name} kernel)")
        elif op.version > top:
            reasons.append(f"{op.name} version {op.version} ({label} runs up to version {top})")
        elif op.version < mins.get(op.name, 1):
            reasons.append(f"{op.name} version {op.version} ({label} runs versions "
                           f"{mins.get(op.name, 1)} to {top})")
    return reasons
