"""Candidate digits as ``infer --number`` cuts them out of a line of writing: training images.

A number's digits touch, overlap and leave bits of stroke in each other's crop, and the reading
weighs candidates that are not digits at all: two digits taken as one, the piece of a digit cut
apart. ``line_crops(digits, labels, count, seed)`` draws numbers of MNIST training digits as
camera frames (the pen and paper of :mod:`converters.augment`), cuts them with
:func:`edge_lstm.number.cut_line` -- the device's own segmentation -- and labels each candidate
by the ink it holds, known per digit:

- one digit's ink (at least ONE_DIGIT of it, at most STRAY of any other's): that digit, also
  with a neighbour's stroke end in it or a sliver of its own cut off, as where digits overlap;
- two digits' ink (PAIR of each, or more): ``NOT_A_DIGIT``, the narrow ones first (two
  overlapping digits, a 1 inside its neighbour's box, pass for one digit more easily);
- a side of a 0 (SIDE_INK of its ink, at most STRAY of any other's): ``NOT_A_DIGIT``, for a cut
  through a 0 leaves a "C" the model otherwise reads as a 6 and a ")" it reads as a 2, 3 or 7;
- anything else: not used. Pieces of other digits are not taught as "not a digit": too many look
  like a digit themselves (the stroke of a 1, the top of a 7, the right side of an 8).

numpy + OpenCV only; deterministic for a given seed whatever the number of cores.
"""

from __future__ import annotations

import cv2
import numpy as np

from converters.augment import _pen, _photograph, in_pool
from edge_lstm.data import NOT_A_DIGIT
from edge_lstm.number import candidate_pixels, cut_line
from edge_lstm.preprocess import INK_PAD, STROKE_SIDE

__all__ = ["line_crops"]

LINE_STREAM = 12  # keeps the line crops' random streams apart from the other generated images
LENGTHS = (2, 3, 4, 5)  # digits per number
GAPS = (-4, 10)  # gap between neighbouring digits at MNIST's scale (negative: they overlap)
MAX_ANGLE = 8.0  # slope of the line, degrees
FRAME_WIDTHS = (320, 640)  # frame width range (4:3 frames)
DIGIT_HEIGHT = (0.12, 0.45)  # a digit's height as a fraction of the frame height
ONE_DIGIT, STRAY, PAIR = 0.8, 0.2, 0.4  # ink fractions, see the module docstring (0.9 and 0.1
# taught no digit with its neighbour's stroke end: a 1 with the corner of the 5 it touches was
# called "not a digit" and left out of the number)
NARROW_PAIR = 1.0  # a pair at most this wide (fraction of the line's digit height) is narrow
SIDE_INK = (0.25, 0.75)  # fraction of a 0's ink in a side of it, see the module docstring
CORE = 0.5  # ink level of a stroke's core: what the label maps count
PAIRS = 0.5  # pairs kept per single digit: more, and wide digits are called "not a digit" more often
SIDES = 0.2  # sides of a 0 kept per single digit (a 0 cut in several places gives several)
POOL = 2000  # digits each chunk of crops draws its numbers from
MARGIN = 4  # empty columns either side of a number's strip


def line_crops(digits: np.ndarray, labels: np.ndarray, count: int, seed: int, chunk: int = 500,
               show_progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """About ``count`` candidate digits cut from camera-like numbers of ``digits`` (MNIST layout,
    uint8) and their labels (0-9 or NOT_A_DIGIT), PAIRS not-digits per digit at most."""
    jobs = []
    for start in range(0, count, chunk):
        seeds = (seed, LINE_STREAM, start // chunk)
        pick = np.random.default_rng(seeds).choice(len(digits), POOL, replace=False)
        jobs.append((digits[pick], labels[pick], min(chunk, count - start), seeds))
    crops = in_pool(_crops_job, jobs, count, "line crops", show_progress)
    return crops[:, :-1].reshape(-1, 28, 28), crops[:, -1]


def _crops_job(job) -> np.ndarray:
    """``count`` crops as rows of 28 * 28 pixels and the label, one uint8 array."""
    digits, labels, count, seeds = job
    rng = np.random.default_rng((*seeds, 1))
    rows: list[np.ndarray] = []
    while len(rows) < count:
        picks = rng.choice(len(digits), int(rng.choice(LENGTHS)), replace=False)
        rows += _labelled(digits[picks], labels[picks], rng)
    return np.stack(rows[:count])


def _labelled(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
              sides_per_digit: float = SIDES) -> list[np.ndarray]:
    """The labelled candidates of one number frame (``sides_per_digit`` sides of a 0 and PAIRS
    pairs per digit, at most, narrow pairs first)."""
    frame, inks = _number_frame(digits, rng)
    cut = cut_line(frame)
    if cut.line is None:
        return []
    inks = [_on_line(ink, cut.line) for ink in inks]
    totals = np.array([ink.sum() for ink in inks]) + 1e-6
    positives, narrow_pairs, pairs, sides = [], [], [], []
    for candidate in cut.candidates:
        start, keep = candidate_pixels(cut.line, cut.atoms[candidate.first:candidate.last + 1])
        share = np.array([(ink[:, start:start + keep.shape[1]] * keep).sum() for ink in inks]) / totals
        first, second = np.sort(share)[::-1][:2]
        most = labels[np.argmax(share)]  # the digit whose ink it mostly holds
        if first >= ONE_DIGIT and second <= STRAY:
            label, kept = most, positives
        elif second >= PAIR:
            label = NOT_A_DIGIT
            kept = narrow_pairs if candidate.digit.box[2] <= NARROW_PAIR * STROKE_SIDE else pairs
        elif most == 0 and second <= STRAY and SIDE_INK[0] <= first <= SIDE_INK[1]:
            label, kept = NOT_A_DIGIT, sides
        else:
            continue
        pixels = np.clip(candidate.digit.image.ravel() * 255 + 0.5, 0, 255)
        kept.append(np.append(pixels, label).astype(np.uint8))
    sides = _some(sides, sides_per_digit * len(positives), rng)
    narrow = _some(narrow_pairs, PAIRS * len(positives), rng)
    return positives + sides + narrow + _some(pairs, PAIRS * len(positives) - len(narrow), rng)


def _some(rows: list[np.ndarray], count: float, rng: np.random.Generator) -> list[np.ndarray]:
    """At most ``count`` of ``rows``, drawn at random."""
    return [rows[k] for k in rng.permutation(len(rows))[:int(count)]]


def _on_line(ink: np.ndarray, line) -> np.ndarray:
    """A frame-sized ink map resampled like the line's ink (``number._sample_line``)."""
    scale, (x, y) = line.scale, line.origin
    shift = INK_PAD + 0.5 * scale - 0.5  # pixel centres, as cv2.resize maps them
    matrix = np.float32([[scale, 0, shift - scale * x], [0, scale, shift - scale * y]])
    return cv2.warpAffine(ink, matrix, line.ink.shape[::-1], flags=cv2.INTER_LINEAR)


def _number_frame(digits: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """``digits`` written side by side on paper, photographed: the frame (uint8) and each digit's
    ink in it (float32 maps)."""
    strips = _strips(digits, rng)
    scale_width = float(np.exp(rng.uniform(np.log(0.3), np.log(2.2))))
    width = int(rng.integers(*FRAME_WIDTHS))
    height = width * 3 // 4
    scale = rng.uniform(*DIGIT_HEIGHT) * height / 28
    scale = min(scale, 0.85 * width / strips.shape[2])  # the whole number fits in the frame
    pens = [_pen(strip, scale, scale_width) for strip in strips]
    ink_height, ink_width = pens[0].shape
    angle = rng.uniform(-MAX_ANGLE, MAX_ANGLE)
    matrix = cv2.getRotationMatrix2D((ink_width / 2, ink_height / 2), angle, 1.0)
    matrix[:, 2] += (np.array([width, height]) - (ink_width, ink_height)) / 2 + \
        rng.uniform(-0.05, 0.05, 2) * (width, height)
    inks = [cv2.warpAffine(pen, matrix, (width, height), flags=cv2.INTER_LINEAR) for pen in pens]
    frame = _photograph(np.maximum.reduce(inks), scale, rng)
    return frame, [(ink > CORE).astype(np.float32) for ink in inks]


def _strips(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each digit alone in its place on the number's 28-row strip: (digits, 28, width) uint8. Each
    is cut to its ink columns, shifted up or down by up to 2 px, a gap from GAPS before the next."""
    places, start = [], 0
    for digit in digits:
        columns = np.nonzero(digit.max(0) > 30)[0]
        digit = np.roll(digit[:, columns.min():columns.max() + 1] if columns.size else digit,
                        int(rng.integers(-2, 3)), axis=0)
        places.append((start, digit))
        start += digit.shape[1] + int(rng.integers(GAPS[0], GAPS[1] + 1))
        start = max(start, places[-1][0] + 1)
    width = max(p + d.shape[1] for p, d in places)
    strips = np.zeros((len(digits), 28, width + 2 * MARGIN), np.uint8)
    for k, (place, digit) in enumerate(places):
        strips[k, :, MARGIN + place:MARGIN + place + digit.shape[1]] = digit
    return strips
