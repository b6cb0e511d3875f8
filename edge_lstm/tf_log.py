"""Keep TensorFlow's native start-up log off the terminal, and let everything else through.

Used wherever TensorFlow may load: the host toolchain (``converters``), and the command line,
whose device commands load it only on request (``--runtime tensorflow``, bench's Keras baseline).
This module itself never imports TensorFlow.

Importing TensorFlow writes straight to file descriptor 2 from C++, before its log level is read:
on AVX-512/AMX CPUs (or with ``TF_ENABLE_ONEDNN_OPTS=1``) four "oneDNN custom operations are on"
lines, elsewhere the CPU feature guard, CUDA probing on GPU builds. ``TF_CPP_MIN_LOG_LEVEL`` hides
none of them, and Python cannot redirect them. So the first ``import tensorflow`` (also the one
inside ``import keras``) runs with descriptor 2 pointed at a temporary file; afterwards the lines
that are known start-up noise are dropped and the rest (a Python warning, a real error) is
written to stderr.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import os
import re
import sys
from collections.abc import Iterator

# TensorFlow's C++ log level once it has started: 3 keeps only fatal records. Set by install() here,
# and given to child processes and to the tests' subprocesses.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}

# A native log record: absl's "I0000 00:00:1795766946.19 5026 port.cc:153] …" or older TensorFlow's
# "2024-01-01 10:00:00.1: I tensorflow/core/util/port.cc:113] …"; F (fatal) records always pass.
_RECORD = r"(?:[IWE]\d{4} [\d:.]+\s+\d+|[\d-]+ [\d:.]+: [IWE]) (?:\S+/)?"
NOISE = re.compile("|".join([
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    _RECORD + r"port\.cc:\d+\] oneDNN custom operations are on",
    _RECORD + r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized",
    r"To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.$",
    # GPU builds probing for CUDA and TensorRT: this project runs on the CPU only
    _RECORD + r"(?:cuda_\w+|cudart_stub|dso_loader|gpu_device|computation_placer|py_utils)\.cc:\d+\] ",
]))


def without_noise(text: str) -> str:
    """``text`` without the lines that are TensorFlow start-up noise."""
    return "".join(line for line in text.splitlines(keepends=True) if not NOISE.match(line))


@contextlib.contextmanager
def filtered_stderr(clean=without_noise) -> Iterator[None]:
    """Capture file descriptor 2 (native and Python writes alike), then replay ``clean(text)``.
    Without a real stderr (embedded use) there is nothing to filter."""
    import tempfile  # here, not at the top: the command line imports this module at start-up

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            sys.stderr.write(clean(capture.read().decode(errors="replace")))
            sys.stderr.flush()


class _QuietFirstImport:
    """Finds ``tensorflow`` like the normal path finder, but loads it inside ``filtered_stderr``."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            load = spec.loader.exec_module

            def exec_module(module):
                with filtered_stderr():
                    load(module)

            spec.loader.exec_module = exec_module
        return spec


def quiet_level() -> None:
    """Set TensorFlow's C++ log level (:data:`QUIET_ENV`) in this process, unless the user set it."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)


def install() -> None:
    """Quiet TensorFlow in this process: filter the start-up log of its first import, wherever it
    is, and keep its later C++ log to fatal errors (the level is read after start-up)."""
    quiet_level()
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietFirstImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFirstImport())
