"""Child processes: edge-lstm runs parts of itself in a fresh Python — another environment's
runtime, a model not yet known to load, a converter that may crash, a clean measurement.

:func:`run` is the parent's side and :func:`main` the child's. A child reports a user-facing problem
as a last ``error: …`` line on stderr and exit code 2; a child killed by a signal is reported as
such. Children start in the package root with ``PYTHONSAFEPATH`` set, so a ``numpy.py`` (or any
module) in the user's current folder is never imported; paths given as :class:`~pathlib.Path` are
passed absolute for that reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable

from edge_lstm import tf_log
from edge_lstm.errors import EdgeLstmError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class ChildFailed(EdgeLstmError):
    """A child process failed: ``signal`` names the signal that killed it (``"SIGSEGV"``) and
    ``said`` is its last line of stderr then; ``timed_out`` when it was stopped for taking too long."""

    def __init__(self, message: str, signal: str | None = None, said: str = "",
                 timed_out: bool = False):
        super().__init__(message)
        self.signal, self.said, self.timed_out = signal, said, timed_out


def env() -> dict[str, str]:
    """This environment, with this checkout first on PYTHONPATH, the current folder off sys.path
    (Python ≥ 3.11) and TensorFlow's logging quiet."""
    path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONSAFEPATH": "1", **tf_log.QUIET_ENV}


def executable(python: str) -> str:
    """The absolute path of ``python`` (a path, or a name on PATH), or a clear error."""
    found = shutil.which(python)
    if found is None:
        raise EdgeLstmError(f"cannot run {python}: not an executable file")
    return os.path.abspath(found)


def run(module: str, *args: str | Path, python: str | None = None,
        timeout: float | None = None) -> str:
    """Run ``python -m module args`` (default: this Python) and return its stdout.

    Raises :class:`ChildFailed` with the child's own ``error:`` line, or naming the signal that
    killed it, or saying it did not finish within ``timeout`` seconds."""
    command = [executable(python or sys.executable), "-m", module,
               *(str(a.absolute()) if isinstance(a, Path) else a for a in args)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              env=env(), cwd=PACKAGE_ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"did not finish within {timeout:g} s", timed_out=True) from None
    except OSError as e:
        raise ChildFailed(f"cannot run {command[0]}: {e.strerror or e}") from None
    if done.returncode < 0:
        name, said = _signal_name(-done.returncode), error_line(done.stderr, 0, default="")
        raise ChildFailed(f"crashed ({name}{': ' + said if said else ''})", name, said)
    if done.returncode != 0:
        raise ChildFailed(error_line(done.stderr, done.returncode))
    return done.stdout


def main(work: Callable[[], None]) -> None:
    """The child's side: run ``work`` and exit 0, or print its EdgeLstmError as ``error: …``
    and exit 2."""
    try:
        work()
    except EdgeLstmError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0)


def error_line(stderr: str, code: int, default: str | None = None) -> str:
    """The child's own ``error:`` line, else its last line (native ``INFO:`` lines aside), else
    ``default`` or its exit code."""
    lines = [line for line in stderr.strip().splitlines()
             if line.strip() and not line.startswith("INFO: ")]
    errors = [line for line in lines if line.startswith("error: ")]
    if errors:
        return errors[-1][len("error: "):]
    if lines:
        return lines[-1].strip()
    return f"exit code {code}" if default is None else default


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
