"""Test helpers that damage real .tflite files in realistic ways (no TensorFlow needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def rebuilt(src: Path, dst: Path, edit) -> Path:
    """``src`` re-packed with ``edit(model)`` applied to its schema objects (damage as a real
    bit error or a bad tool could make it, yet a well-formed file)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(Path(src).read_bytes(), 0))
    edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    Path(dst).write_bytes(bytes(builder.Output()))
    return Path(dst)


def corrupt_weights(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` with the bytes of its largest weight tensor flipped (bit-inverted)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(src))
    data = bytearray(Path(src).read_bytes())
    best = None
    for detail in interpreter.get_tensor_details():
        try:
            values = interpreter.get_tensor(detail["index"])
        except ValueError:  # tensors without data until invoke
            continue
        raw = values.tobytes()
        if len(raw) >= 64 and np.any(values) and (best is None or len(raw) > len(best)):
            if data.find(raw) >= 0:
                best = raw
    assert best is not None, f"no weight tensor found in {src}"
    start = data.find(best)
    data[start:start + len(best)] = bytes(b ^ 0xFF for b in best)
    Path(dst).write_bytes(bytes(data))
