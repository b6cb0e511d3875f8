"""The progress of a long step: a live bar on a terminal, one plain line when the output is piped.

Both end with the same summary line (``calibrating: 500 samples in 1.2 s``), so a log file gets
one narrow line per step instead of a redrawn bar.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Callable, TextIO, TypeVar

T = TypeVar("T")


@contextlib.contextmanager
def bar(label: str, total: int, unit: str, file: TextIO | None = None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``: report ``n`` more of ``total`` ``unit`` done. The summary line is
    written when the step ends normally; a step that fails leaves only its error."""
    file = file or sys.stdout
    start, done = time.perf_counter(), 0

    def count(n: int = 1) -> None:
        nonlocal done
        done += n

    if _is_terminal(file):
        with _live(file) as live:
            task = live.add_task(label, total=total)

            def advance(n: int = 1) -> None:
                count(n)
                live.advance(task, n)

            yield advance
    else:
        yield count
    print(f"{label}: {done:,} {unit} in {time.perf_counter() - start:.1f} s", file=file, flush=True)


def track(items: Iterable[T], label: str, total: int, unit: str) -> Iterator[T]:
    """``items``, one by one, with a :func:`bar` advancing by one for each."""
    with bar(label, total, unit) as advance:
        for item in items:
            yield item
            advance(1)


def _is_terminal(file: TextIO) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _live(file: TextIO):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(file=file), transient=True)
