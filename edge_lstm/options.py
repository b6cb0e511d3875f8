"""The command line's value types: choices as enums and parsers for structured values, each
built from the one place its names live, so Typer checks them before a command runs.

A parser raises ``typer.BadParameter``; Typer names the option and :mod:`edge_lstm.exits`
prints it as one line.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

import typer

from converters.export import FORMS, MODES  # NumPy only, never TensorFlow
from edge_lstm.errors import EdgeLstmError
from edge_lstm.runtime import RUNTIMES
from edge_lstm.verify import RuntimeSpec

Runtime = Enum("Runtime", {name: name for name in RUNTIMES}, type=str)


class Prefer(str, Enum):
    speed = "speed"
    size = "size"


class Roi(NamedTuple):
    """A part of the frame, in whole pixels."""

    x: int
    y: int
    w: int
    h: int


def roi(text: str) -> Roi:
    """``x,y,w,h`` with x, y ≥ 0 and w, h > 0."""
    try:
        region = Roi(*(int(v) for v in text.split(",")))
    except (TypeError, ValueError):
        raise typer.BadParameter(f"must be x,y,w,h in whole pixels, got {text!r}") from None
    if region.x < 0 or region.y < 0 or region.w <= 0 or region.h <= 0:
        raise typer.BadParameter(f"needs x, y ≥ 0 and w, h > 0, got {text!r}")
    return region


def runtime_spec(text: str) -> RuntimeSpec:
    """``NAME`` or ``NAME=PYTHON``: a runtime, run here or in another environment's Python."""
    try:
        return RuntimeSpec.parse(text)
    except EdgeLstmError as e:
        raise typer.BadParameter(str(e)) from None


def runtime_text(text: str) -> str:
    """``NAME`` or ``NAME=PYTHON``, checked and passed on as the same text."""
    runtime_spec(text)
    return text


def modes(text: str) -> str:
    """A comma-separated list of quantization modes, checked (passed on as the same text)."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODES] or ([] if names else ["(none)"])
    if unknown:
        raise typer.BadParameter(f"unknown mode {', '.join(unknown)}; choose from {', '.join(MODES)}")
    return ",".join(names)


def form_pin(text: str) -> str:
    """``MODE=FORM``: pin the graph form of a mode (checked, passed on as the same text)."""
    mode, _, form = text.partition("=")
    if mode not in MODES or form not in FORMS:
        raise typer.BadParameter(f"takes MODE=FORM with a mode in {', '.join(MODES)} and a form "
                                 f"in {', '.join(FORMS)}; got {text!r}")
    return text


def schedule(text: str) -> str:
    """A learning-rate schedule of ``converters.train`` (which loads TensorFlow: train needs it)."""
    from converters.train import SCHEDULES

    if text not in SCHEDULES:
        raise typer.BadParameter(f"must be one of {', '.join(SCHEDULES)}, got {text!r}")
    return text
