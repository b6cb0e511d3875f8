"""Where touching digits may be cut apart (``infer --number``, step 5 of :mod:`edge_lstm.number`).

A cut is a path from top to bottom, one column per row, through little ink; it may step sideways,
so it follows the gap between slanted digits where no straight column separates them, but never
between two inked pixels that touch at the step's corner: the stroke they draw would pass the cut
whole, and the piece on one side would keep a stroke of the other.
"""

from __future__ import annotations

import numpy as np

from edge_lstm.preprocess import INK_LEVEL, STROKE_SIDE

# in fractions of the line's digit height, unless said otherwise
DIGIT_WIDTH = 0.8  # a handwritten digit's median width (MNIST, 1 excepted)
CUT_FROM = 0.6  # a component at least this wide may be several touching digits...
DENSE = 0.4  # ...unless its ink fills more of its columns than this (a fraction): a picture, not
# writing (touching digits of MNIST training numbers fill at most 0.37, their stroke normalised;
# the slabs a photo was cut into read as digits)
MIN_PART = 0.12  # a cut leaves at least this much on either side (a 1 is about this narrow)
CUTS_PER_DIGIT = 3  # candidate cuts per DIGIT_WIDTH of a component, the columns of least ink first
MAX_CUTS = 24  # per component: about eight touching digits
PATH_STEP = 0.6  # ink a cut path pays per column it steps sideways: straight where nothing is in the way
WALL = 1e6  # ink of the column between two components, and of a step through a stroke's corner
SMOOTH = 1  # columns averaged in the ink profile a cut is chosen on (line ink pixels)


def cut_paths(crops: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Per component crop (its own ink), its candidate cuts as paths from top to bottom (one column
    per row, left to right): through each column of the middle row, the path of least ink, which
    may step one column per row (at PATH_STEP ink per step), so a cut follows the gap between
    slanted digits where no straight column separates them. One dynamic program over all crops
    side by side, walls between them, from the top and from the bottom to the middle row."""
    wall = np.full((crops[0].shape[0], 1), WALL, np.float32)
    cost = np.concatenate([part for crop in crops for part in (wall, crop.astype(np.float32))] + [wall], 1)
    middle = cost.shape[0] // 2
    down, moves_down = _least_ink_paths(cost[:middle + 1])
    up, moves_up = _least_ink_paths(cost[middle:][::-1])
    total = down + up - cost[middle]
    starts = np.cumsum([1] + [crop.shape[1] + 1 for crop in crops[:-1]])  # of each crop in ``cost``
    cuts = [start + np.array([] if (crop > INK_LEVEL).mean() > DENSE
                             else _cuts(total[start:start + crop.shape[1]]), int)
            for crop, start in zip(crops, starts)]
    ends = np.concatenate(cuts)  # every crop's paths traced at once
    both = np.concatenate([_trace(moves_down, ends), _trace(moves_up, ends)[:, ::-1][:, 1:]], 1)
    mine = np.split(both, np.cumsum([len(c) for c in cuts])[:-1])
    return [list(np.maximum.accumulate(paths - start, 0)) for paths, start in zip(mine, starts)]


def _least_ink_paths(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least total ``cost`` of a path from the top row to each column of the bottom row
    (stepping at most one column per row, never between two inked pixels touching at the step's
    corner), and each row's step (-1, 0, 1) on the best path."""
    rows, width = cost.shape
    padded = np.full(width + 2, np.inf, np.float32)  # no step out of the crop
    padded[1:-1] = cost[0]
    from_left, from_right = np.full((2, *cost.shape), PATH_STEP, np.float32)  # the step's cost
    from_left[1:, 1:][np.minimum(cost[1:, :-1], cost[:-1, 1:]) > 0] = WALL
    from_right[1:, :-1][np.minimum(cost[1:, 1:], cost[:-1, :-1]) > 0] = WALL
    straight_wins, left_wins = np.ones((2, rows, width), bool)  # per row; the first row has no step
    left, right, side = np.empty((3, width), np.float32)  # per row, reused: small arrays, many rows
    straight = padded[1:-1]
    for row in range(1, rows):
        np.add(padded[:-2], from_left[row], out=left)
        np.add(padded[2:], from_right[row], out=right)
        np.minimum(left, right, out=side)
        np.less_equal(straight, side, out=straight_wins[row])
        np.less_equal(left, right, out=left_wins[row])
        np.minimum(straight, side, out=straight)
        straight += cost[row]
    return straight, np.where(straight_wins, 0, np.where(left_wins, -1, 1)).astype(np.int8)


def _trace(moves: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The paths (one row each: a column per row) that end at columns ``ends`` of the bottom row."""
    paths = np.empty((len(ends), moves.shape[0]), int)
    column = ends.copy()
    for row in range(moves.shape[0] - 1, -1, -1):
        paths[:, row] = column
        column += moves[row, column]
    return paths


def _cuts(profile: np.ndarray) -> list[int]:
    """Candidate cuts of one component with this ink ``profile`` (per column of the middle row:
    the ink of the best path through it): the columns of least ink among its local minima,
    MIN_PART from its ends and from each other, CUTS_PER_DIGIT per digit (MAX_CUTS at most)."""
    width, part = len(profile), max(1, round(MIN_PART * STROKE_SIDE))
    if width < CUT_FROM * STROKE_SIDE:
        return []
    smooth = np.convolve(profile, np.ones(SMOOTH) / SMOOTH, mode="same")
    inner = np.arange(part, width - part)
    minima = inner[(smooth[inner] <= smooth[inner - 1]) & (smooth[inner] <= smooth[inner + 1])]
    limit = min(MAX_CUTS, int(np.ceil(CUTS_PER_DIGIT * width / (DIGIT_WIDTH * STROKE_SIDE))))
    chosen: list[int] = []
    taken = np.zeros(width, bool)  # columns closer than MIN_PART to a chosen cut
    for column in minima[np.argsort(smooth[minima], kind="stable")]:
        if not taken[column]:
            chosen.append(int(column))
            taken[max(0, column - part + 1):column + part] = True
            if len(chosen) == limit:
                break
    return sorted(chosen)
