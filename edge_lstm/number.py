"""Camera frame -> every digit on one line of writing, left to right (``infer --number``).

The same recipe as :mod:`edge_lstm.preprocess` (working copy, paper and ink, threshold, MNIST
layout), with the one-digit step ("the largest component") replaced by a search for all of them,
segmentation by recognition:
1. components of the ink, without specks, border blobs, rules and a ruled paper's lines (capped at
   MAX_COMPONENTS, largest first);
2. each large component takes the pieces of a broken digit that lie above or below it;
3. the components on the line of the tallest one (a least-squares line through the centres: slope
   is fine), without dots and specks far shorter than the line's digits (a short stroke nearly
   touching one of them, such as the detached bar of a 5, joins it);
4. the line's ink sampled once at full resolution, its digit height at STROKE_SIDE, stroke width
   normalised like a single digit's;
5. atoms: each component, a wide one cut along a few paths of little ink from top to bottom
   (candidate cuts: a path may slant around a stroke, between slanted digits);
6. candidate digits: one atom, or a few neighbouring atoms (touching digits cut apart, a digit in
   pieces side by side), each laid out like MNIST; all classified in one model call, each also in
   slightly rotated views (a pair or a piece reads less consistently than a digit);
7. the reading: the candidates that cover the line with the best joint confidence (a dynamic
   program over the atoms); a digit read from part of a component whose rest is not a digit is
   marked partial (the caller calls it unsure), and a line of one component read as one digit
   or none is read the way ``infer`` reads a digit (``to_mnist``).
OpenCV + numpy only (never imports TensorFlow): the caller passes the classifier's ``predict``.
"""

from __future__ import annotations

import itertools
from typing import Callable, NamedTuple

import cv2
import numpy as np

from edge_lstm import marks, views
from edge_lstm.cut_paths import cut_paths
from edge_lstm.data import DIGITS  # outputs 0-9; an 11th output, if any, is "not a digit"
from edge_lstm.preprocess import (
    INK_LEVEL,
    INK_PAD,
    MIN_AREA,
    MIN_AREA_FRACTION,
    PIECE_AREA,
    STROKE_SIDE,
    Box,
    Digit,
    _centre_by_mass,
    _enlarge_tiny,
    _fit_20,
    _frame_box,
    _ink_in_box,
    _ink_levels,
    _merge_pieces,
    _normalise_stroke_width,
    _paper_and_ink,
    _rules,
    _threshold,
    _validate,
    _working_copy,
    to_mnist,
)

__all__ = ["MAX_DIGITS", "MAX_CANDIDATES", "Cut", "Reading", "candidate_pixels", "cut_line", "find_digits"]

MAX_DIGITS = 20  # line components read per frame: a page of writing or a textured scene stays fast
MAX_COMPONENTS = 5 * MAX_DIGITS  # components grouped into digits, largest first
MAX_CANDIDATES = 96  # candidate digits classified per frame (one model call of ~0.3 ms)
MIN_HEIGHT = 0.4  # a digit is at least this fraction of the tallest digit on the line (dots are not)
LINE_SPREAD = 0.6  # its centre lies within this fraction of the line's digit height from the line
FRAGMENT, FRAGMENT_GAP = 0.75, 0.15  # a piece shorter than this * the line's digit height, this close
OVERLAP = 0.5  # a piece of a broken digit overlaps it over this fraction of the piece's width
LINE_MARGIN = 0.1  # margin around the line's box (fraction of its digit height) for faint stroke ends
MAX_RUN = 8.0  # a component wider than this * its height is a rule or a border, not touching digits
# candidate digits, in fractions of the line's digit height (cuts: edge_lstm.cut_paths)
MAX_ATOMS = 7  # atoms a candidate digit is made of, at most (a wide digit has up to 6)
MAX_WIDTH = 1.4  # a candidate made of several atoms is at most this wide...
MERGE_GAP = 0.25  # ...with gaps between its atoms of at most this much
# A candidate's score, for its most probable digit d: log p(d) - NARROW_COST * its missing width
# (width / height below NARROWEST[d], as a fraction of it) - WIDE_COST * its excess width (width /
# the line's digit height over WIDEST[d]: a pair can look like one tall digit) - SHORT_COST * its
# missing height (below SHORTEST), + DIGIT_BONUS, + CUT_BONUS per candidate cut it leaves uncut.
# A reading's score is the sum over its digits. Tuned on numbers of MNIST *training* digits.
NARROWEST = np.array([0.65, 0.2, 0.65, 0.55, 0.55, 0.6, 0.5, 0.5, 0.5, 0.5])  # width / height of
WIDEST = np.array([1.25, 0.8, 1.33, 1.11, 1.11, 1.43, 1.0, 1.05, 1.05, 0.9])  # each digit 0-9: 5th
# and 95th percentiles in MNIST's training set; beyond them, it is more likely a piece or a pair
SHORTEST = FRAGMENT  # height / the line's digit height: shorter, it is more likely a piece of one
NARROW_COST, WIDE_COST, SHORT_COST = 0.5, 1.0, 2.0
DIGIT_BONUS = 0.7  # without it, fewer (merged) digits would always win...
CUT_BONUS = 0.7  # ...but a cut through a component needs more than the classifier liking both pieces
SKIP = -8.0  # score of leaving an atom out (a speck, a candidate not classified); see _skip_scores
LEFT_OUT = 0.3  # of a component's ink left out of the reading: its digits are unsure (less is a
# stroke's end or hook a cut path took off: on 3 100 numbers of MNIST training digits 0.1 made 5
# read ones unsure, 0.3 none)


class Reading(NamedTuple):
    """The digits read, left to right, with their probabilities (one row each, as ``predict`` gave
    them); ``partial``: per digit, whether it is part of a component whose other part the reading
    left out as not a digit (see _partly_read); ``capped``: there were more than MAX_COMPONENTS
    components, MAX_DIGITS components on the line or MAX_CANDIDATES candidate digits, so some were
    not read."""
    digits: list[Digit]
    probs: np.ndarray
    partial: np.ndarray
    capped: bool


class _Ink(NamedTuple):
    """The frame's ink on the working copy."""
    labels: np.ndarray  # components above half the threshold
    paper: np.ndarray
    light_ink: bool
    threshold: int


class _Line(NamedTuple):
    """The line's ink at full resolution, laid out like a single digit's before its 20x20 fit."""
    ink: np.ndarray  # stroke-normalised ink (paper 0, ink ~1), padded by INK_PAD
    owner: np.ndarray  # per pixel: 1 + index of the line component it belongs to, 0 for none
    scale: float  # ``ink`` pixels per frame pixel
    origin: tuple[int, int]  # corner of the sampled box in the frame


class _Atom(NamedTuple):
    """One line component's pixels: all of it, or a part between two candidate cut paths; start
    and stop bound its columns, ``pixels`` marks its own among the line's in those columns."""
    owner: int
    start: int
    stop: int
    pixels: np.ndarray


class _Candidate(NamedTuple):
    """Atoms first..last (inclusive) read as one digit."""
    first: int
    last: int
    digit: Digit  # box in line-ink coordinates until it is chosen
    uncut: int  # candidate cuts between its atoms (atoms of one component)


class Cut(NamedTuple):
    """A frame's line of writing cut into candidate digits, not yet classified; ``place`` turns a
    candidate's box into frame coordinates."""
    candidates: list[_Candidate]
    atoms: list[_Atom]
    line: _Line | None
    capped: bool
    place: Callable[[Box], Box]


def find_digits(image: np.ndarray, predict: Callable[[np.ndarray], np.ndarray],
                max_digits: int = MAX_DIGITS) -> Reading:
    """Every digit on the main line of writing in ``image``, left to right, as MNIST-like
    :class:`Digit` s with boxes in frame coordinates, read with ``predict`` ((N, 28, 28) images ->
    (N, 10 or 11) probabilities).  Raises ``ValueError`` like ``to_mnist``."""
    cut = cut_line(image, max_digits)
    if not cut.candidates:
        return Reading([], np.zeros((0, DIGITS), np.float32), np.zeros(0, bool), cut.capped)
    probs = views.classify([c.digit.image for c in cut.candidates], predict)
    chosen = _best_reading(len(cut.atoms), cut.candidates, probs)
    if len(chosen) <= 1 and len({atom.owner for atom in cut.atoms}) == 1:
        alone = _read_alone(image, cut, predict)
        if alone is not None:
            return alone
    digits = [Digit(cut.candidates[k].digit.image, cut.place(cut.candidates[k].digit.box)) for k in chosen]
    partial = _partly_read(cut.atoms, [cut.candidates[k] for k in chosen])
    return Reading(digits, probs[chosen], partial, cut.capped)


def _read_alone(image: np.ndarray, cut: Cut, predict: Callable[[np.ndarray], np.ndarray]) -> Reading | None:
    """A line of one component, read as one digit or none, read as ``infer`` reads a digit: the
    whole component laid out by ``to_mnist``; no digit when the model calls it not a digit or it
    has a dot (``marks``: a ``!`` without its dot reads 1). Cut, a wide 5 or 2 would be judged by
    a piece of it (the rest left out as not a digit), and so would a letter or a star by a piece
    that reads like a 1. None when ``to_mnist`` finds a mark off the line."""
    digit = to_mnist(image)
    if digit is None:
        return None
    x, y, w, h = cut.place(cv2.boundingRect(cut.line.owner))
    centre_x, centre_y = digit.box[0] + digit.box[2] / 2, digit.box[1] + digit.box[3] / 2
    if not (x <= centre_x <= x + w and y <= centre_y <= y + h):
        return None
    probs = views.classify([digit.image], predict)
    if marks.has_dot(digit.image) or probs.shape[1] > DIGITS and probs[0, DIGITS] > probs[0, :DIGITS].max():
        return Reading([], probs[:0], np.zeros(0, bool), cut.capped)
    return Reading([digit], probs, np.zeros(1, bool), cut.capped)


def cut_line(image: np.ndarray, max_digits: int = MAX_DIGITS) -> Cut:
    """Steps 1-6: the candidate digits of the main line of writing in ``image``."""
    image = _validate(image)
    frame, upscale = _enlarge_tiny(image)
    work = _working_copy(frame)
    ink, stats, capped = _components(work)
    groups, height = _on_one_line(_group(stats))
    if len(groups) > max_digits:  # keep the widest, still in reading order
        groups = sorted(sorted(groups, key=lambda g: g[1][0] - g[1][2])[:max_digits], key=lambda g: g[1][0])
        capped = True
    line = _sample_line(frame, work.shape, ink, groups, height) if groups else None
    if line is None:
        return Cut([], [], None, capped, lambda box: box)
    atoms = _atoms(line, len(groups))
    candidates, too_many = _candidates(line, atoms)
    region = (0, 0, image.shape[1], image.shape[0])
    return Cut(candidates, atoms, line, capped or too_many,
               lambda box: _frame_box(box, line.origin, line.scale, upscale, region))


def _components(work: np.ndarray):
    """Step 1: the ink, the stats (x0, y0, x1, y1, area, label) of the components worth reading
    (largest first: no specks, border blobs, rules), and whether some were left out. A component
    is the ink above half the threshold that reaches the threshold somewhere (hysteresis, as a
    single digit grows): a faint digit keeps its whole shape."""
    paper, ink, light_ink = _paper_and_ink(work)
    relative = cv2.GaussianBlur(cv2.divide(ink, paper, scale=255), (3, 3), 0)
    threshold = _threshold(relative)
    faint = ((relative > threshold // 2) & ~_rules(relative, threshold)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(faint, connectivity=8)
    strong = (np.bincount(labels[relative > threshold], minlength=count) > 0)[1:]
    height, width = work.shape
    x, y, w, h, area = stats[1:].T
    inside = (x > 0) & (y > 0) & (x + w < width) & (y + h < height) & (w <= MAX_RUN * h)
    keep = np.nonzero(strong & inside & (area >= max(MIN_AREA, int(MIN_AREA_FRACTION * width * height))))[0]
    keep = keep[np.argsort(-area[keep], kind="stable")]
    capped = len(keep) > MAX_COMPONENTS
    rows = [(int(x[i]), int(y[i]), int(x[i] + w[i]), int(y[i] + h[i]), int(area[i]), int(i) + 1)
            for i in keep[:MAX_COMPONENTS]]
    return _Ink(labels, paper, light_ink, threshold), rows, capped


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
    height; a short group (the detached bar of a 5) stays when it nearly touches one of them."""
    if not groups:
        return [], 0.0
    tallest = max(b[3] - b[1] for _, b in groups)
    short = [g for g in groups if g[1][3] - g[1][1] < MIN_HEIGHT * tallest]
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
    line = [g for g, keep in zip(groups, on_line) if keep]
    line += [g for g in short if _near(g[1], [b for _, b in line], FRAGMENT_GAP * line_height)]
    line = _join_fragments(sorted(line, key=lambda g: g[1][0]), line_height)
    return [g for g in line if g[1][3] - g[1][1] >= MIN_HEIGHT * tallest], line_height


def _near(box: Box, boxes: list[Box], distance: float) -> bool:
    """Whether ``box`` lies within ``distance`` of one of ``boxes`` (gap between the boxes)."""
    return any(max(b[0] - box[2], box[0] - b[2], b[1] - box[3], box[1] - b[3]) <= distance for b in boxes)


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


def _sample_line(frame: np.ndarray, work_shape, ink: _Ink, groups: list, height: float) -> _Line | None:
    """Step 4: the line's grey-level ink, sampled from the frame so that its digit height (``height``
    working pixels) becomes STROKE_SIDE, with each pixel's owner; None when there is no ink."""
    (work_height, work_width), (frame_height, frame_width) = work_shape, frame.shape[:2]
    to_frame_x, to_frame_y = frame_width / work_width, frame_height / work_height
    margin = max(1, round(LINE_MARGIN * height))
    x0, y0 = (max(0, min(b[k] for _, b in groups) - margin) for k in (0, 1))
    x1 = min(work_width, max(b[2] for _, b in groups) + margin)
    y1 = min(work_height, max(b[3] for _, b in groups) + margin)
    box = np.s_[y0:y1, x0:x1]
    owner = _owners(ink, groups, box)
    fx0, fy0 = int(np.floor(x0 * to_frame_x)), int(np.floor(y0 * to_frame_y))
    fx1 = min(frame_width, int(np.ceil(x1 * to_frame_x)))
    fy1 = min(frame_height, int(np.ceil(y1 * to_frame_y)))
    scale = STROKE_SIDE / (height * to_frame_y)
    relative = _ink_in_box(frame[fy0:fy1, fx0:fx1], scale, ink.light_ink, ink.paper[box], owner > 0)
    levels = _ink_levels(relative, ink.threshold)
    if levels is None:
        return None
    owner = cv2.resize(owner, relative.shape[::-1], interpolation=cv2.INTER_NEAREST)
    owner = cv2.copyMakeBorder(owner, INK_PAD, INK_PAD, INK_PAD, INK_PAD, cv2.BORDER_CONSTANT, value=0)
    return _Line(_normalise_stroke_width(levels), owner, scale, (fx0, fy0))


def _owners(ink: _Ink, groups: list, box) -> np.ndarray:
    """Per working pixel in ``box``: 1 + the index of the line component it belongs to, 0 for none."""
    by_label = np.zeros(int(ink.labels.max()) + 1, np.uint8)
    for index, (labels, _) in enumerate(groups):
        by_label[labels] = index + 1
    return by_label[ink.labels[box]]


def _atoms(line: _Line, count: int) -> list[_Atom]:
    """Step 5: the atoms of the ``count`` line components, left to right: each component's columns,
    cut along its candidate cut paths."""
    spans, crops = [], []
    for owner in range(1, count + 1):
        mine = np.where(line.owner == owner, line.ink, 0)
        columns = np.nonzero((mine > INK_LEVEL).any(0))[0]
        if columns.size:
            spans.append((owner, int(columns[0]), int(columns[-1]) + 1))
            crops.append(mine[:, columns[0]:columns[-1] + 1])
    if not spans:
        return []
    rows, atoms = line.ink.shape[0], []
    for (owner, start, stop), paths in zip(spans, cut_paths(crops)):
        edges = [np.full(rows, start), *(start + path for path in paths), np.full(rows, stop)]
        atoms += [_atom(line, owner, left, right) for left, right in zip(edges, edges[1:])]
    return sorted(atoms, key=lambda a: a.start + a.stop)


def _atom(line: _Line, owner: int, left: np.ndarray, right: np.ndarray) -> _Atom:
    """The pixels of component ``owner`` in columns [left[row], right[row]) of each row."""
    start, stop = int(left.min()), int(right.max())
    columns = np.arange(start, stop)
    pixels = (line.owner[:, start:stop] == owner) & (columns >= left[:, None]) & (columns < right[:, None])
    return _Atom(owner, start, stop, pixels)


def _candidates(line: _Line, atoms: list[_Atom]) -> tuple[list[_Candidate], bool]:
    """Step 6: the candidate digits, single atoms first, then runs of 2 to MAX_ATOMS neighbours
    narrow enough to be one digit, up to MAX_CANDIDATES; and whether some were left out."""
    runs = ((first, first + size - 1) for size in range(1, MAX_ATOMS + 1)
            for first in range(len(atoms) - size + 1))
    spans = list(itertools.islice(((first, last) for first, last in runs
                                   if first == last or _one_digit(atoms[first:last + 1])),
                                  MAX_CANDIDATES + 1))
    candidates = []
    for first, last in spans[:MAX_CANDIDATES]:
        digit = _candidate_digit(line, atoms[first:last + 1])
        if digit is not None:
            owners = len({a.owner for a in atoms[first:last + 1]})
            candidates.append(_Candidate(first, last, digit, last - first + 1 - owners))
    return candidates, len(spans) > MAX_CANDIDATES


def _one_digit(atoms: list[_Atom]) -> bool:
    """Whether neighbouring ``atoms`` may be one digit: at most MAX_WIDTH wide, gaps under MERGE_GAP."""
    if max(a.stop for a in atoms) - min(a.start for a in atoms) > MAX_WIDTH * STROKE_SIDE:
        return False
    reach = atoms[0].stop
    for atom in atoms[1:]:
        if atom.start - reach > MERGE_GAP * STROKE_SIDE:
            return False
        reach = max(reach, atom.stop)
    return True


def _candidate_digit(line: _Line, atoms: list[_Atom]) -> Digit | None:
    """The ink of ``atoms`` laid out like MNIST; the box is in line-ink coordinates."""
    start, keep = candidate_pixels(line, atoms)
    ink = line.ink[:, start:start + keep.shape[1]] * keep
    x, y, w, h = cv2.boundingRect((ink > INK_LEVEL).view(np.uint8))
    if w == 0:
        return None
    return Digit(_centre_by_mass(_fit_20(ink[y:y + h, x:x + w])), (x + start, y, w, h))


def candidate_pixels(line: _Line, atoms: list[_Atom]) -> tuple[int, np.ndarray]:
    """The first column of ``atoms`` on the line, and which pixels of the line ink from there are
    theirs: their components' pixels in their columns, and the faint ink there away from other
    components."""
    start, stop = min(a.start for a in atoms), max(a.stop for a in atoms)
    owner = line.owner[:, start:stop]
    keep = owner == 0
    for atom in atoms:
        keep[:, atom.start - start:atom.stop - start] |= atom.pixels
    foreign = ~keep & (owner > 0)
    if foreign.any():  # and the faint ink next to them
        keep &= ~cv2.dilate(foreign.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    return start, keep


def _best_reading(count: int, candidates: list[_Candidate], probs: np.ndarray) -> list[int]:
    """Step 7: the candidates that read atoms 0..count-1 left to right with the best total score
    (an atom may be left out at its skip score): a dynamic program over the atoms."""
    scores, skips = _scores(candidates, probs), _skip_scores(count, candidates, probs)
    ending: list[list[int]] = [[] for _ in range(count)]
    for k, candidate in enumerate(candidates):
        ending[candidate.last].append(k)
    best, back = np.full(count + 1, -np.inf), [(0, -1)] * (count + 1)
    best[0] = 0.0
    for end in range(1, count + 1):
        best[end], back[end] = best[end - 1] + skips[end - 1], (end - 1, -1)
        for k in ending[end - 1]:
            score = best[candidates[k].first] + scores[k]
            if score > best[end]:
                best[end], back[end] = score, (candidates[k].first, k)
    chosen, end = [], count
    while end:
        end, k = back[end]
        if k >= 0:
            chosen.append(k)
    return chosen[::-1]


def _partly_read(atoms: list[_Atom], chosen: list[_Candidate]) -> np.ndarray:
    """Per chosen candidate, whether the reading left out LEFT_OUT or more of the ink of one of its
    components. A number's digit is a whole component or one of the pieces it was cut into, all of
    them digits; a piece that reads like a 1 beside pieces that are not a digit is part of a letter,
    a star, a scribble (what that changed: docs/accuracy.md)."""
    read = np.zeros(len(atoms), bool)
    for candidate in chosen:
        read[candidate.first:candidate.last + 1] = True
    owners = np.array([atom.owner for atom in atoms])
    ink = np.array([atom.pixels.sum() for atom in atoms], float)
    left_out = np.bincount(owners[~read], ink[~read], owners.max() + 1)
    partly = left_out >= LEFT_OUT * np.bincount(owners, ink, owners.max() + 1)
    return np.array([partly[owners[c.first:c.last + 1]].any() for c in chosen], bool)


def _scores(candidates: list[_Candidate], probs: np.ndarray) -> np.ndarray:
    """Each candidate's score as its most probable digit (see NARROWEST)."""
    if not candidates:
        return np.zeros(0)
    _, _, width, height = np.array([c.digit.box for c in candidates], float).T
    label = probs[:, :DIGITS].argmax(1)
    narrow = NARROW_COST * np.maximum(0.0, 1 - width / np.maximum(height, 1) / NARROWEST[label])
    wide = WIDE_COST * np.maximum(0.0, width / STROKE_SIDE / WIDEST[label] - 1)
    short = SHORT_COST * np.maximum(0.0, 1 - height / STROKE_SIDE / SHORTEST)
    confidence = np.log(np.maximum(probs[np.arange(len(label)), label], 1e-6))
    uncut = np.array([c.uncut for c in candidates])
    return confidence - narrow - wide - short + DIGIT_BONUS + CUT_BONUS * uncut


def _skip_scores(count: int, candidates: list[_Candidate], probs: np.ndarray) -> np.ndarray:
    """Leaving an atom out scores SKIP (so only an atom that is no candidate is left out) or, with
    a "not a digit" output, the log of that probability for the atom alone when higher."""
    skips = np.full(count, SKIP)
    if probs.shape[1] > DIGITS:
        for candidate, p in zip(candidates, probs):
            if candidate.first == candidate.last:
                skips[candidate.first] = max(SKIP, float(np.log(max(p[DIGITS], 1e-6))))
    return skips
