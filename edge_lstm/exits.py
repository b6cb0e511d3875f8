"""How a run ends: every way that is not a bug becomes one line on stderr and an exit code.

:class:`Program` is the command group of ``edge-lstm``; its ``main`` is the one place where a
usage error, a domain error (:class:`EdgeLstmError`), Ctrl-C, a stop signal or an unwritable
standard output becomes ``error: …`` and an exit code, for the installed program and for tests
that invoke the app in-process alike. Also here: the two endings Python reports badly, a signal
to stop and a standard output that cannot be written.
"""

from __future__ import annotations

import codecs
import io
import os
import signal
import sys

import typer
from typer.core import TyperGroup

from edge_lstm.errors import EdgeLstmError

HOST_MODULES = ("tensorflow", "keras", "matplotlib")  # only train, convert and parity --keras need them
USAGE = 2        # bad options or input: Click's code for usage errors, ours for EdgeLstmError
INTERRUPTED = 130  # the shell's code for a run ended by Ctrl-C


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


def _unencodable(error: UnicodeEncodeError) -> tuple[str, int]:
    """A file name's undecodable bytes go out as they came in (surrogateescape); any other
    character the locale cannot encode as an escape, so that no name can stop a run."""
    try:
        return codecs.lookup_error("surrogateescape")(error)
    except UnicodeError:
        return codecs.lookup_error("backslashreplace")(error)


codecs.register_error("edge_lstm.stdout", _unencodable)


class _Stdout(io.TextIOWrapper):
    """Standard output whose write errors say that they are standard output's, and that writes
    any file name (a UTF-8 locale's strict stdout refuses a name that is not UTF-8)."""

    def __init__(self, stream):
        super().__init__(stream.buffer, stream.encoding, "edge_lstm.stdout",
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


def ending(e: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit code for a way a run can end that is not a bug, else None."""
    if isinstance(e, typer.TyperException):  # usage errors: bad option, value, command
        return " ".join(e.format_message().split()), e.exit_code
    if isinstance(e, EdgeLstmError):
        return str(e), USAGE
    if isinstance(e, ModuleNotFoundError) and e.name in HOST_MODULES:
        return (f"this needs {e.name}, the host toolchain: pip install 'edge-lstm[train]' "
                "(device commands do not)"), USAGE
    if isinstance(e, KeyboardInterrupt):
        return "interrupted", INTERRUPTED
    if isinstance(e, Stopped):
        return f"stopped by {e.name}", 128 + e.signum
    if isinstance(e, MemoryError):  # a small device; the big inputs are refused before this
        return "out of memory", USAGE
    if isinstance(e, StdoutFailed):
        discard_stdout()
        return f"cannot write to standard output: {e.strerror}", USAGE
    return None


class Program(TyperGroup):
    """The ``edge-lstm`` group: parse, run the command, and end with an exit code and at most one
    line. Click's own ``main`` would print usage errors as a boxed panel and turn Ctrl-C and a
    broken pipe into silent exits; this one lets every ending reach :func:`ending`."""

    def main(self, args=None, prog_name=None, **_) -> None:
        args = sys.argv[1:] if args is None else list(args)
        bare, code = not args, 0
        try:
            try:
                with self.make_context(prog_name or self.name, args or ["--help"]) as ctx:
                    self.invoke(ctx)
            except typer.Exit as e:  # --help, --version, a command's exit code
                code = USAGE if bare else e.exit_code  # no command: the help, as a usage error
            finally:
                sys.stdout.flush()  # now, while a failure can still be reported
        except BaseException as e:
            end = ending(e)
            if end is None:
                raise
            message, code = end
            sys.stderr.write(f"error: {message}\n")
        sys.exit(code)
