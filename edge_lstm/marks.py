"""Shape checks on a mark laid out like MNIST: marks that are not a digit whatever the model reads.

A stroke with a dot apart above or below it (``! ? i j ¡ ¿``) is punctuation or a letter: the
model reads ``!`` as a 1 (it never saw the dot, which preprocessing keeps as a piece of a broken
digit). A digit's pieces are strokes beside or across one another; a small round piece in line
with the stroke and clear of it above or below is rare in MNIST (a speck under a 1, a 3 or a 4, a
7 drawn like a ?: 14 of 20 000 camera frames of its training split; docs/accuracy.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from edge_lstm.preprocess import INK_LEVEL

DOT_GAP = 2  # px (of 28) of paper at least between the dot and the stroke, above or below it
DOT_SIZE = 0.4  # the dot's box fits in this fraction of the stroke's height...
DOT_ASPECT = 2.0  # ...and is at most this many times as long as it is wide: round, not a bar
MIN_DOT_AREA = 2  # px: a lone pixel is noise


def has_dot(image: np.ndarray) -> bool:
    """Whether ``image`` (28 × 28, ink in [0, 1]) is a stroke with a dot above or below it: its
    largest piece and a smaller round one in line with it, apart from it vertically."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((image > INK_LEVEL).view(np.uint8), connectivity=8)
    if count < 3:  # paper and one piece
        return False
    pieces = stats[1:][np.argsort(-stats[1:, cv2.CC_STAT_AREA])]
    x, y, w, h, _ = pieces[0]
    return any(_is_dot(piece, x, y, w, h) for piece in pieces[1:])


def _is_dot(piece: np.ndarray, x: int, y: int, w: int, h: int) -> bool:
    """Whether ``piece`` (x, y, w, h, area) is a dot of the stroke boxed by x, y, w, h."""
    px, py, pw, ph, area = piece
    apart = py >= y + h - 1 + DOT_GAP or py + ph - 1 + DOT_GAP <= y
    in_line = x - 1 <= px + pw / 2 <= x + w
    small = max(pw, ph) <= DOT_SIZE * h
    round_ = max(pw, ph) <= DOT_ASPECT * min(pw, ph)
    return bool(area >= MIN_DOT_AREA and apart and in_line and small and round_)
