"""Digits in TrueType fonts as soft ink maps: printed faces (serif, sans, mono; regular, bold,
italic) and handwriting fonts, the shapes Hershey's single strokes lack -- a bold serif 4, a 6
with a closed bowl, a 1 with a long flag.  The fonts (``converters/fonts``, digits only, licences
in ``LICENSES.txt``) are none of those the held-out camera sets use (benchmarks/heldout_reading.py).
Pillow renders them (Matplotlib, which training needs, needs it too)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from converters.hershey import SIDE, cropped

FONT_DIR = Path(__file__).resolve().parent / "fonts"


@lru_cache(maxsize=1)
def _fonts() -> tuple:
    from PIL import ImageFont

    paths = sorted(FONT_DIR.glob("*.ttf"))
    if not paths:
        raise FileNotFoundError(f"no fonts in {FONT_DIR}: the printed digits need them")
    return tuple(ImageFont.truetype(str(path), SIDE) for path in paths)


def font_ink(digit: str, rng: np.random.Generator) -> np.ndarray:
    """``digit`` in a random font of ``converters/fonts``, cropped to its ink like Hershey text."""
    from PIL import Image, ImageDraw

    fonts = _fonts()
    font = fonts[int(rng.integers(len(fonts)))]
    canvas = Image.new("L", (2 * SIDE, 2 * SIDE), 0)
    ImageDraw.Draw(canvas).text((SIDE // 2, SIDE // 3), digit, fill=255, font=font)
    return cropped(np.asarray(canvas), rng)
