"""Camera frame -> every digit on one line of writing, left to right (``infer --number``).

The same recipe as :mod:`edge_lstm.preprocess` (working copy, paper and ink, threshold, MNIST
layout), with the one-digit step ("the largest component") replaced by a search for all of them:
1. components of the ink, without specks and border blobs (capped at MAX_COMPONENTS, largest first);
2. each large component takes the pieces of a broken digit that lie above or below it
   (``_merge_pieces``: pieces beside it are the next digit, not part of this one);
3. the digits on the line of the tallest one (a least-squares line through the centres: slope is
   fine), without dots and specks far shorter than the line's digits;
4. a blob much wider than a digit is several touching digits: cut at the columns of least ink;
5. each digit is sampled at full resolution and laid out like MNIST, as a single digit is.
OpenCV + numpy only (never imports TensorFlow).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from edge_lstm.preprocess import (
    MIN_AREA,
    MIN_AREA_FRACTION,
    MIN_CONTRAST,
    MIN_DIGIT,
    MIN_DIGIT_FRACTION,
    PIECE_AREA,
    Box,
    Digit,
    _enlarge_tiny,
    _Found,
    _frame_box,
    _merge_pieces,
    _mnist_layout,
    _paper_and_ink,
    _sample,
    _threshold,
    _validate,
    _working_copy,
)

__all__ = ["MAX_DIGITS", "Digits", "find_digits"]

MAX_DIGITS = 20  # digits read per frame: a page of writing or a textured scene stays fast
MAX_COMPONENTS = 5 * MAX_DIGITS  # components grouped into digits, largest first
MIN_HEIGHT = 0.4  # a digit is at least this fraction of the tallest digit on the line (dots are not)
LINE_SPREAD = 0.6  # its centre lies within this fraction of the line's digit height from the line
FRAGMENT, FRAGMENT_GAP = 0.75, 0.15  # a piece shorter than this * the line's digit height, this close
OVERLAP = 0.5  # a piece of a broken digit overlaps it over this fraction of the piece's width
DIGIT_WIDTH = 0.8  # a handwritten digit's median width / height (MNIST, 1 excepted)
SPLIT_RATIO = 1.1  # a blob wider than this * the line's digit height holds several digits
CUT_WINDOW = 0.35  # a cut lies within this fraction of a digit's width from its expected column


class Digits(NamedTuple):
    """The digits found, left to right; ``capped``: there were more than MAX_DIGITS candidates
    (or MAX_COMPONENTS components), so some were not read."""
    digits: list[Digit]
    capped: bool


class _Ink(NamedTuple):
    """The frame's ink on the working copy."""
    relative: np.ndarray  # ink darkness relative to the paper (255 = black)
    labels: np.ndarray  # components above the threshold
    low: np.ndarray  # components above half the threshold, into which a digit grows
    paper: np.ndarray
    light_ink: bool
    threshold: int


def find_digits(image: np.ndarray, max_digits: int = MAX_DIGITS) -> Digits:
    """Every digit on the main line of writing in ``image``, left to right, as MNIST-like
    :class:`Digit` s with boxes in frame coordinates.  Raises ``ValueError`` like ``to_mnist``."""
    image = _validate(image)
    frame, upscale = _enlarge_tiny(image)
    work = _working_copy(frame)
    ink, stats, capped = _components(work)
    boxes = _split_wide(ink, *_on_one_line(_group(stats)))
    if len(boxes) > max_digits:  # keep the widest, still in reading order
        largest = sorted(sorted(boxes, key=lambda b: b[1][0] - b[1][1])[:max_digits], key=lambda b: b[1][0])
        boxes, capped = largest, True
    region = (0, 0, image.shape[1], image.shape[0])
    digits = [_digit(frame, work.shape, ink, labels, columns, upscale, region) for labels, columns in boxes]
    return Digits([d for d in digits if d is not None], capped)


def _components(work: np.ndarray):
    """Step 1: the ink, the stats (x0, y0, x1, y1, area, label) of the components worth reading
    (largest first), and whether some were left out."""
    paper, ink, light_ink = _paper_and_ink(work)
    relative = cv2.GaussianBlur(cv2.divide(ink, paper, scale=255), (3, 3), 0)
    threshold = _threshold(relative)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((relative > threshold).astype(np.uint8),
                                                               connectivity=8)
    _, low = cv2.connectedComponents((relative > threshold // 2).astype(np.uint8), connectivity=8)
    height, width = work.shape
    x, y, w, h, area = stats[1:].T
    inside = (x > 0) & (y > 0) & (x + w < width) & (y + h < height)
    keep = np.nonzero(inside & (area >= max(MIN_AREA, int(MIN_AREA_FRACTION * width * height))))[0]
    keep = keep[np.argsort(-area[keep], kind="stable")]
    capped = len(keep) > MAX_COMPONENTS
    rows = [(int(x[i]), int(y[i]), int(x[i] + w[i]), int(y[i] + h[i]), int(area[i]), int(i) + 1)
            for i in keep[:MAX_COMPONENTS]]
    return _Ink(relative, labels, low, paper, light_ink, threshold), rows, capped


def _group(stats: list) -> list[tuple[list[int], Box]]:
    """Step 2: (labels, box x0, y0, x1, y1) of each digit: a component with the pieces above or
    below it; components taken largest first."""
    rects = [s[:4] for s in stats]
    free = list(range(len(stats)))
    groups = []
    while free:
        main = free.pop(0)
        x0, _, x1, _ = rects[main]
        pieces = [p for p in free if stats[p][4] >= PIECE_AREA * stats[main][4]
                  and min(x1, rects[p][2]) - max(x0, rects[p][0]) >= OVERLAP * (rects[p][2] - rects[p][0])]
        kept = _merge_pieces(rects, main, pieces)
        free = [p for p in free if p not in kept]
        box = (min(rects[k][0] for k in kept), min(rects[k][1] for k in kept),
               max(rects[k][2] for k in kept), max(rects[k][3] for k in kept))
        groups.append(([stats[k][5] for k in kept], box))
    return groups


def _on_one_line(groups: list) -> tuple[list, float]:
    """Step 3: the groups on the line through the tallest one, left to right, and the line's digit
    height."""
    if not groups:
        return [], 0.0
    tallest = max(b[3] - b[1] for _, b in groups)
    groups = [g for g in groups if g[1][3] - g[1][1] >= MIN_HEIGHT * tallest]
    centres = np.array([((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for _, b in groups])
    heights = np.array([b[3] - b[1] for _, b in groups], float)
    on_line = np.abs(centres[:, 1] - centres[np.argmax(heights), 1]) <= LINE_SPREAD * tallest
    for _ in range(2):  # refit: a sloped line drifts from the tallest digit's height
        if on_line.sum() >= 2:
            slope, offset = np.polyfit(centres[on_line, 0], centres[on_line, 1], 1)
        else:
            slope, offset = 0.0, centres[on_line, 1].mean()
        line_height = float(np.median(heights[on_line]))
        on_line = np.abs(centres[:, 1] - (slope * centres[:, 0] + offset)) <= LINE_SPREAD * line_height
    line = sorted((g for g, keep in zip(groups, on_line) if keep), key=lambda g: g[1][0])
    return _join_fragments(line, line_height), line_height


def _join_fragments(line: list, line_height: float) -> list:
    """A group far shorter than the line's digits (the detached bar of a 5, the top of a 4) joins
    its nearest neighbour on the line when they almost touch."""
    joined = True
    while joined and len(line) > 1:
        joined = False
        for i, (labels, (x0, y0, x1, y1)) in enumerate(line):
            if y1 - y0 >= FRAGMENT * line_height:
                continue
            gaps = [(max(line[j][1][0] - x1, x0 - line[j][1][2]), j)
                    for j in (i - 1, i + 1) if 0 <= j < len(line)]
            gap, j = min(gaps)
            if gap > FRAGMENT_GAP * line_height:
                continue
            other, (a0, b0, a1, b1) = line[j]
            line[min(i, j)] = (labels + other, (min(x0, a0), min(y0, b0), max(x1, a1), max(y1, b1)))
            del line[max(i, j)]
            joined = True
            break
    return line


def _split_wide(ink: _Ink, groups: list, height: float) -> list:
    """Step 4: (labels, (x0, x1) columns) per digit; a blob wider than SPLIT_RATIO * the line's
    ``height`` is cut into about width / (DIGIT_WIDTH * height) digits at the columns of least ink."""
    out = []
    for labels, (x0, y0, x1, y1) in groups:
        width = x1 - x0
        parts = max(1, round(width / (DIGIT_WIDTH * height))) if width > SPLIT_RATIO * height else 1
        if parts == 1:
            out.append((labels, (x0, x1)))
            continue
        mine = np.isin(ink.labels[y0:y1, x0:x1], labels)
        profile = (ink.relative[y0:y1, x0:x1] * mine).sum(0)
        step, reach = width / parts, max(1, int(CUT_WINDOW * width / parts))
        cuts = [x0]
        for k in range(1, parts):
            lo, hi = int(k * step) - reach, int(k * step) + reach + 1
            lo, hi = max(lo, cuts[-1] - x0 + 1), min(hi, width - 1)
            cuts.append(x0 + (lo + int(np.argmin(profile[lo:hi])) if hi > lo else int(k * step)))
        cuts.append(x1)
        out.extend((labels, (a, b)) for a, b in zip(cuts, cuts[1:]) if b > a)
    return out


def _digit(frame, work_shape, ink: _Ink, labels: list, columns, upscale: int, region: Box) -> Digit | None:
    """Step 5: one digit's pixels (grown into its faint ink, kept to its columns), sampled and laid
    out like MNIST; None when it is too small or too faint to be a digit."""
    left, right = columns
    digit = np.isin(ink.labels, labels)
    grown = (np.bincount(ink.low[digit], minlength=int(ink.low.max()) + 1) > 0)[ink.low]
    grown[:, :left], grown[:, right:] = False, False
    if not grown.any():
        return None
    x, y, w, h = box = cv2.boundingRect(grown.view(np.uint8))
    if max(w, h) < max(MIN_DIGIT, MIN_DIGIT_FRACTION * min(work_shape)) \
            or int(ink.relative[y:y + h, x:x + w].max()) < MIN_CONTRAST:
        return None
    found = _Found(box, grown, (ink.labels > 0) & ~grown, ink.paper, ink.light_ink, ink.threshold)
    sampled = _sample(frame, work_shape, found)
    shaped = None if sampled is None else _mnist_layout(sampled[0])
    if shaped is None:
        return None
    _, scale, origin = sampled
    return Digit(shaped[0].astype(np.float32), _frame_box(shaped[1], origin, scale, upscale, region))
