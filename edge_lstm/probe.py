"""Load a model only once it is known not to crash this process.

A damaged ``.tflite`` that the reader (:mod:`edge_lstm.tflite_model`) accepts can still crash a
runtime's native code (SIGSEGV in ``allocate_tensors``), which no ``try`` catches. A model whose
sha256 is the one recorded in its folder's manifest passed parity at conversion time and loads
directly; any other model is first loaded, allocated and run once on a blank image in a child
process (``python -m edge_lstm.probe``), so a crash there becomes a one-line error.
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

import numpy as np

from edge_lstm import child, manifest, tflite_model
from edge_lstm.errors import EdgeLstmError
from edge_lstm.runtime import Classifier, Model, model_file

TIMEOUT_S = 60          # one input takes milliseconds; a damaged WHILE loop may never end
MEMORY_BYTES = 4 << 30  # a damaged tensor shape can ask for gigabytes; the models need a few MB


def load(model: Path, runtime: str | None = None, threads: int | None = None,
         refuse_changed: bool = False, kind: type[Model] = Classifier) -> Model:
    """A :class:`~edge_lstm.runtime.Classifier` (or another ``kind`` of model) for ``model``,
    probed in a child process first unless its manifest vouches for it. ``refuse_changed``:
    refuse a model whose sha256 differs from its record."""
    model = model_file(model)
    matches = manifest.sha256_matches(model)
    if matches is False and refuse_changed:
        raise EdgeLstmError(
            f"{model}: its sha256 is not the one recorded in {model.parent / manifest.FILENAME} "
            "(the file changed after conversion); check it with 'edge-lstm parity', or pass "
            "--trust-model to run it anyway")
    if not matches:
        probe(model, runtime, threads)
    return kind(model, runtime, threads)


def probe(model: Path, runtime: str | None = None, threads: int | None = None) -> None:
    """Load ``model`` and run it once in a child process; a one-line error if that fails."""
    tflite_model.inspect(model)  # a malformed file needs no child to be refused
    args = [Path(model)] + (["--runtime", runtime] if runtime else []) \
        + (["--threads", str(threads)] if threads else [])
    try:
        child.run("edge_lstm.probe", *args, timeout=TIMEOUT_S)
    except child.ChildFailed as e:
        if e.signal:
            said = f": {e.said}" if e.said else ""
            raise EdgeLstmError(f"{model}: the runtime crashed loading this model ({e.signal}{said}); "
                                "the file is damaged or was not made for this runtime") from None
        if e.timed_out:
            raise EdgeLstmError(f"{model}: loading and running it once took over {TIMEOUT_S} s; "
                                "the file is damaged or was not made for this runtime") from None
        raise


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m edge_lstm.probe", description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("--runtime")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    _limit_memory(MEMORY_BYTES)
    loaded = Model(args.model, args.runtime, args.threads, quiet=False)
    loaded.predict(np.zeros(loaded.input_shape, np.float32))


def _limit_memory(limit: int) -> None:
    """Make an allocation beyond ``limit`` fail (a clean error) rather than swap or be OOM-killed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


if __name__ == "__main__":
    child.main(_main)
