"""Two ways a run can end that Python reports badly: a signal to stop, and a standard output that
cannot be written. The command line's ``main`` turns both into one line and an exit code."""

from __future__ import annotations

import io
import os
import signal
import sys


class Stopped(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that ``finally`` blocks run (and remove
    temporary files); a BaseException, like KeyboardInterrupt, so no ``except Exception`` eats it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


def raise_on_stop_signals() -> None:
    """Raise ``Stopped`` on SIGTERM and SIGHUP instead of dying with files half-written."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)


def _stop(signum: int, frame) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    raise Stopped(signum)


class StdoutFailed(OSError):
    """Writing standard output failed: a closed pipe, a full disk."""


class _Stdout(io.TextIOWrapper):
    """Standard output whose write errors say that they are standard output's."""

    def __init__(self, stream):
        super().__init__(stream.buffer, stream.encoding, stream.errors,
                         line_buffering=stream.line_buffering)

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OSError as e:
            raise StdoutFailed(e.errno, e.strerror) from None

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as e:
            raise StdoutFailed(e.errno, e.strerror) from None


def label_stdout_errors() -> None:
    """Make a failed write to ``sys.stdout`` raise ``StdoutFailed`` (when it is a real stream)."""
    if hasattr(sys.stdout, "buffer"):
        sys.stdout = _Stdout(sys.stdout)


def discard_stdout() -> None:
    """Point a failed standard output at /dev/null, so that Python's flush at exit succeeds."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
