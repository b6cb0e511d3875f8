"""The command line's value types: choices as enums and parsers for structured values, each
built from the one place its names live, so Typer checks them before a command runs.

A parser raises ``typer.BadParameter``; Typer names the option and :mod:`edge_lstm.exits`
prints it as one line.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import NamedTuple

import typer

from edge_lstm.errors import EdgeLstmError
from edge_lstm.quant import MODES
from edge_lstm.recipe import FORMS, PREFERENCES, SCHEDULES
from edge_lstm.runtime import RUNTIMES
from edge_lstm.verify import RuntimeSpec


def _choice(name: str, values) -> type[Enum]:
    """An enum whose members are named and valued as ``values``, for Typer to offer and check."""
    return Enum(name, {value: value for value in values}, type=str)


Runtime = _choice("Runtime", RUNTIMES)
Prefer = _choice("Prefer", PREFERENCES)
Schedule = _choice("Schedule", SCHEDULES)


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


class Modes(tuple):
    """Quantization modes, in the order given."""


def modes(text: str) -> Modes:
    """A comma-separated list of quantization modes."""
    names = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODES] or ([] if names else ["(none)"])
    if unknown:
        raise typer.BadParameter(f"unknown mode {', '.join(unknown)}; choose from {', '.join(MODES)}")
    return Modes(names)


class FormPin(NamedTuple):
    """``convert --form MODE=FORM``: the graph form to use for a mode."""

    mode: str
    form: str


def form_pin(text: str) -> FormPin:
    """``MODE=FORM``: pin the graph form of a mode."""
    mode, _, form = text.partition("=")
    if mode not in MODES or form not in FORMS:
        raise typer.BadParameter(f"takes MODE=FORM with a mode in {', '.join(MODES)} and a form "
                                 f"in {', '.join(FORMS)}; got {text!r}")
    return FormPin(mode, form)


def keras_file(path: Path) -> Path:
    """A Keras model to write: the name must end in .keras (Keras' own format)."""
    if path.suffix != ".keras":
        raise typer.BadParameter(f"the model file must end in .keras, got {path.name!r}")
    return path
