"""Tables and progress for the terminal, with rich: columns without box-drawing characters, bold
headers on a terminal; a table is rendered at its natural width, so no cell is ever folded or
cut (a narrower terminal wraps the line instead)."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import Callable

from rich.console import Console
from rich.progress import Progress
from rich.table import Table


def render(headers: list[str], rows: list[list[str]], left: int = 1) -> str:
    """``rows`` of cells under ``headers`` as text; the first ``left`` columns are names
    (left-aligned), the rest numbers (right-aligned)."""
    terminal = sys.stdout.isatty()
    table = Table(box=None, pad_edge=False, header_style="bold" if terminal else None)
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i < left else "right", no_wrap=i < left)
    for row in rows:
        table.add_row(*row)
    out = io.StringIO()
    console = Console(file=out, width=10_000, force_terminal=terminal, no_color=not terminal,
                      highlight=False)
    console.width = console.measure(table).maximum  # the natural width: nothing is cut
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().rstrip().splitlines())


@contextlib.contextmanager
def progress(total: int, what: str) -> Iterator[Callable[[str], None]]:
    """A progress bar on stderr while it is a terminal (else nothing): yields ``step(label)``,
    to call as each of ``total`` pieces of work starts."""
    if not sys.stderr.isatty() or total < 2:
        yield lambda label: None
        return
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=total)
        started = False

        def step(label: str) -> None:
            nonlocal started
            bar.update(task, advance=1 if started else 0, description=f"{what}: {label}")
            started = True

        yield step
