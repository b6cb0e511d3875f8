"""Camera frame -> MNIST-like 28x28 digit.  OpenCV + numpy only (never imports TensorFlow).

``to_mnist(image, roi=None)`` takes a picture of one handwritten digit (any size, dark ink on light
paper or light on dark) and lays it out like MNIST: 28x28 float32 in [0, 1], white on black, fitted
into 20x20 keeping its aspect ratio, centred by centre of mass.  MNIST-style input passes unchanged.

The recipe, one function per step (tuned on camera-like frames, see tests/camera_frames.py):
1. ``_working_copy``: grey, about 160 px (INTER_AREA averages the sensor noise; tiny inputs upscaled);
2. ``_paper_and_ink``: paper = closing (dark ink) or opening (light ink), whichever polarity wins;
3. ink relative to the local paper, ``(paper - grey) / paper`` (uneven light cancels), ``_threshold``;
4. ``_digit_mask``: components without specks and border blobs, the largest one with the pieces of
   a broken digit, grown by hysteresis into its faint ink (not into a ruled paper's faint lines:
   ``_rules``);
5. ``_sample``: at full resolution, the *grey-level* ink next to the digit, paper 0 and ink ~1;
6. ``_normalise_stroke_width`` to MNIST's (grey dilation/erosion at 40 px), ``_fit_20`` (INTER_AREA
   anti-aliases like MNIST); 7. ``_centre_by_mass`` in 28x28, as the original MNIST recipe did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from edge_lstm.data import INPUT_SHAPE

__all__ = ["Digit", "to_mnist"]

Box = tuple[int, int, int, int]  # x, y, w, h

MNIST_SIDE = INPUT_SHAPE[0]  # square
FIT_SIDE = 20  # MNIST fits each digit's long side into 20 px, then pads it to 28
MIN_INPUT_SIDE = 8  # the smallest side worth searching for a digit
MIN_WORK_SIDE = 96  # smaller inputs are upscaled first so the morphology has room to work
WORK_SIDE = 160  # long side of the working copy: keeps the digit's shape, fast to threshold
PAPER_SIDE, PAPER_MIN_SIDE = 40, 4  # long and shortest side of the tiny copy where the paper is estimated
PAPER_KERNEL = np.ones((5, 5), np.uint8)  # ~1/8 of PAPER_SIDE: wide enough to swallow a felt-pen stroke
PAPER_PAD = 5  # the closing's reach (2 x 2 px) plus the blur's (1 px), past the tiny copy's edges
STROKE_SIDE = 40  # digit's long side while its stroke width is normalised
STROKE_WIDTH = 3.7  # stroke width at STROKE_SIDE that becomes MNIST's median (~1.85 px) at FIT_SIDE
# polarity and paper
MNIST_BORDER, MNIST_PEAK = 40.0, 100  # an input already laid out like MNIST: dark border, bright digit
DARK_PAPER, LIGHT_PAPER = 80, 150  # median grey below: a dark board (light ink); above: light paper
TAIL_PERCENTILE = 99.9  # the ink's tail: the strongest 0.1% of a top-hat
LIGHT_TAIL_RATIO = 1.3  # light ink must clearly beat the far more common dark ink
MIN_PAPER = 16  # floor of the paper brightness, so the ink ratio stays finite in black corners
# threshold, on the relative ink (255 = black)
PEAK_PERCENTILE = 99.7  # the darkest ink, robust to a few hot pixels
NOISE_SPREADS = 6  # the threshold sits this many quartile spreads above the median (noise floor)...
NOISE_MARGIN = 5  # ...plus a margin for JPEG-flat paper, where the spread is 0
PEAK_FRACTION = 0.35  # ...and at least this fraction of the darkest ink, so halos stay out
MIN_THRESHOLD = 15  # never threshold the paper grain itself (~6% darker than the paper)
# ruled or squared paper: its light lines would join the digit they touch by hysteresis
RULE_SPAN = 0.9  # a line crosses at least this fraction of the working copy's short side...
RULE_GAP = 0.25  # ...broken by digits over at most this fraction of it...
MIN_RULES = 3  # ...and there are this many at least (one or two long strokes are a digit's: a 1, an 11)
RULE_WIDTH = 3  # working px: a line's faint ink around the straight segment found
# components
MIN_AREA, MIN_AREA_FRACTION = 4, 0.0004  # specks: under 4 working pixels or 0.04% of the working copy
PIECE_AREA = 0.04  # a piece of a broken digit has at least this fraction of the main stroke's area,
PIECE_GAP = 0.25  # lies within this fraction of the digit's size from it,
PIECE_GROWTH = 2.5  # and grows the digit by at most this factor (a 9's tail broken off its loop doubles it)
MIN_DIGIT, MIN_DIGIT_FRACTION = 5, 0.05  # a digit spans at least 5 working px and 5% of the short side
MIN_CONTRAST = 20  # its darkest ink is at least ~8% darker than its paper
# grey-level ink in the digit's box
CROP_MARGIN = 0.08  # margin around the box (fraction of its long side) for the faint stroke ends
INK_PERCENTILE = 0.97  # the ink's reference darkness, robust to a few very dark pixels...
FULL_INK = 0.75  # ...of which this fraction already counts as full ink (1.0): pens vary along a stroke
INK_PAD = 4  # zero border around the ink so the stroke-width dilation has room
INK_LEVEL = 0.3  # pixels above this ink level make the digit's tight box


@dataclass(frozen=True)
class Digit:
    """An MNIST-like digit: ``image`` is (28, 28) float32 in [0, 1], white on black;
    ``box`` is (x, y, w, h) of the digit in the input frame (full-frame coordinates)."""
    image: np.ndarray
    box: Box | None


class _Found(NamedTuple):
    """The digit as located on the working copy."""
    box: Box  # its bounding box
    mask: np.ndarray  # its pixels
    paper: np.ndarray  # paper brightness (uint8), as if the ink were dark
    light_ink: bool
    threshold: int


def to_mnist(image: np.ndarray, roi: Box | None = None) -> Digit | None:
    """Turn a picture of one handwritten digit into an MNIST-like :class:`Digit`, or ``None``.

    ``roi`` = (x, y, w, h) restricts the search to that part of the frame; the returned ``box``
    is always in full-frame coordinates.  Raises ``ValueError`` for an empty image, a non-uint8
    dtype or a shape that is not (H, W), (H, W, 1), (H, W, 3) or (H, W, 4).
    """
    image = _validate(image)
    if roi is None and _is_mnist_style(image):
        return Digit(_grey(image).astype(np.float32) / np.float32(255.0), (0, 0, MNIST_SIDE, MNIST_SIDE))
    x, y, w, h = region = _search_region(roi, image.shape[:2])
    if min(w, h) < MIN_INPUT_SIDE:
        return None
    frame, upscale = _enlarge_tiny(image[y:y + h, x:x + w])
    work = _working_copy(frame)
    found = _locate(work)
    sampled = None if found is None else _sample(frame, work.shape, found)
    shaped = None if sampled is None else _mnist_layout(sampled[0])
    if shaped is None:
        return None
    digit28, tight = shaped
    _, scale, origin = sampled
    return Digit(digit28.astype(np.float32), _frame_box(tight, origin, scale, upscale, region))


def _validate(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"to_mnist expects a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"to_mnist expects a uint8 image, got dtype {image.dtype} "
                         "(convert with np.clip(x * 255, 0, 255).astype(np.uint8) for floats in [0, 1])")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"to_mnist expects a grey or BGR/BGRA image (H, W[, 3|4]), got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"to_mnist got an empty image of shape {image.shape}")
    return image


def _is_mnist_style(image: np.ndarray) -> bool:
    if image.shape[:2] != (MNIST_SIDE, MNIST_SIDE):
        return False
    grey = _grey(image)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(border.mean()) < MNIST_BORDER and int(grey.max()) >= MNIST_PEAK


def _search_region(roi, shape) -> Box:
    """The part of the frame to search: all of it, or ``roi`` clipped to it."""
    height, width = shape
    if roi is None:
        return 0, 0, width, height
    try:
        x, y, w, h = (int(v) for v in roi)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"roi must be (x, y, w, h), got {roi!r}") from exc
    x0, y0, x1, y1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"roi {roi!r} is empty or outside the {width}x{height} frame")
    return x0, y0, x1 - x0, y1 - y0


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
    return cv2.cvtColor(np.ascontiguousarray(image), code)


def _percentile(values: np.ndarray, q: float) -> int:
    """q-th percentile (0-100) of a uint8 array via its histogram (much faster than np.percentile)."""
    return _percentiles(values, q)[0]


def _percentiles(values: np.ndarray, *qs: float) -> list[int]:
    """The ``qs``-th percentiles (0-100) of a uint8 array, from one histogram."""
    cumulative = np.cumsum(np.bincount(values.ravel(), minlength=256))
    return [int(np.searchsorted(cumulative, q / 100.0 * (cumulative[-1] - 1), side="right")) for q in qs]


def _enlarge_tiny(frame: np.ndarray) -> tuple[np.ndarray, int]:
    """Upscale a frame under MIN_WORK_SIDE by a whole factor; return it and the factor."""
    height, width = frame.shape[:2]
    factor = int(np.ceil(MIN_WORK_SIDE / max(height, width)))  # 1 from MIN_WORK_SIDE up
    if factor > 1:
        frame = cv2.resize(frame, (width * factor, height * factor), interpolation=cv2.INTER_CUBIC)
    return frame, factor


def _working_copy(frame: np.ndarray) -> np.ndarray:
    """Step 1: a grey copy with a long side of about WORK_SIDE."""
    height, width = frame.shape[:2]
    shrink = max(1.0, max(height, width) / WORK_SIDE)
    if shrink == 1.0:
        return _grey(frame)
    size = (max(MIN_INPUT_SIDE, round(width / shrink)), max(MIN_INPUT_SIDE, round(height / shrink)))
    small = frame
    while min(small.shape[0] // 2, small.shape[1] // 2) >= 1 and max(small.shape[:2]) >= 2 * WORK_SIDE:
        # exact halving has a fast INTER_AREA path (~4x faster than one big step)
        small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if small.shape[:2] != size[::-1]:
        small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
    return _grey(small)  # converting the small copy is cheaper


def _paper_levels(work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paper brightness under dark ink (closing) and under light ink (opening) of the working copy,
    estimated on a tiny copy, smoothed and scaled back up."""
    height, width = work.shape
    shrink = max(1.0, max(width, height) / PAPER_SIDE)
    tiny = work
    if shrink > 1:
        size = (max(PAPER_MIN_SIDE, round(width / shrink)), max(PAPER_MIN_SIDE, round(height / shrink)))
        tiny = cv2.resize(work, size, interpolation=cv2.INTER_AREA)
    padded, inside = _extrapolated(tiny, PAPER_PAD), np.s_[PAPER_PAD:-PAPER_PAD, PAPER_PAD:-PAPER_PAD]
    levels = [cv2.blur(cv2.morphologyEx(padded, op, PAPER_KERNEL), (3, 3))[inside]
              for op in (cv2.MORPH_CLOSE, cv2.MORPH_OPEN)]
    if shrink > 1:
        levels = [cv2.resize(level, (width, height), interpolation=cv2.INTER_LINEAR) for level in levels]
    return levels[0], levels[1]


def _extrapolated(image: np.ndarray, pad: int) -> np.ndarray:
    """``image`` padded by ``pad`` px that continue a darkening toward its edges (2 * edge - mirror,
    never brighter than the edge): with a flat border, the closing would take the paper at a
    vignetted edge for the brighter paper further in, and the edge would look inked."""
    edge = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    mirror = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    return cv2.subtract(edge, cv2.subtract(mirror, edge))


def _paper_and_ink(work: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Step 2: paper brightness (as if the ink were dark), the ink's top-hat, whether the ink is light.
    The paper is most of the picture, so a clearly dark or light median decides the polarity; in
    between, the side whose top-hat has the stronger tail is the ink."""
    closing, opening = _paper_levels(work)
    dark_ink, light_ink = cv2.subtract(closing, work), cv2.subtract(work, opening)
    median = _percentile(work, 50)
    if median < DARK_PAPER or (median <= LIGHT_PAPER and _percentile(light_ink, TAIL_PERCENTILE)
                               > _percentile(dark_ink, TAIL_PERCENTILE) * LIGHT_TAIL_RATIO):
        return np.maximum(cv2.subtract(255, opening), MIN_PAPER), light_ink, True
    return np.maximum(closing, MIN_PAPER), dark_ink, False


def _threshold(relative: np.ndarray) -> int:
    """Step 3: high hysteresis threshold, clear of the noise floor and a fair part of the darkest ink."""
    peak, noise, upper = _percentiles(relative, PEAK_PERCENTILE, 50, 75)
    spread = upper - noise
    return max(noise + NOISE_SPREADS * spread + NOISE_MARGIN, int(PEAK_FRACTION * peak), MIN_THRESHOLD)


def _locate(work: np.ndarray) -> _Found | None:
    """Steps 2-4 on the working copy; None when no digit stands out from the paper."""
    paper, ink, light_ink = _paper_and_ink(work)
    # ink darkness relative to the local paper brightness (255 = black): uneven light cancels
    relative = cv2.GaussianBlur(cv2.divide(ink, paper, scale=255), (3, 3), 0)
    threshold = _threshold(relative)
    mask = _digit_mask(relative, threshold)
    if mask is None:
        return None
    x, y, w, h = box = cv2.boundingRect(mask.view(np.uint8))
    too_small = max(w, h) < max(MIN_DIGIT, MIN_DIGIT_FRACTION * min(work.shape))
    if too_small or int(relative[y:y + h, x:x + w].max()) < MIN_CONTRAST:
        return None
    return _Found(box, mask, paper, light_ink, threshold)


def _digit_mask(relative: np.ndarray, threshold: int) -> np.ndarray | None:
    """Step 4: the digit as a boolean mask of the working copy, or None.  Its components above
    ``threshold`` grow by hysteresis into those above half of it that they touch, but not into a
    ruled paper's lines."""
    height, width = relative.shape
    labels, kept = _digit_labels((relative > threshold).astype(np.uint8),
                                 max(MIN_AREA, int(MIN_AREA_FRACTION * width * height)))
    if kept is None:
        return None
    digit = (np.bincount(kept, minlength=int(labels.max()) + 1) > 0)[labels]
    faint = ((relative > threshold // 2) & ~_rules(relative, threshold)).astype(np.uint8)
    count, labels = cv2.connectedComponents(faint, connectivity=8)
    return (np.bincount(labels[digit], minlength=count) > 0)[labels]  # digit pixels are never label 0


def _rules(relative: np.ndarray, threshold: int) -> np.ndarray:
    """The faint ink of a ruled or squared paper's lines, a mask of the working copy: straight runs
    between half the threshold and the threshold across most of it, MIN_RULES of them at least."""
    faint = ((relative > threshold // 2) & (relative <= threshold)).astype(np.uint8)
    span = RULE_SPAN * min(relative.shape)
    segments = cv2.HoughLinesP(faint, 1, np.pi / 180, int(span / 2), minLineLength=span,
                               maxLineGap=RULE_GAP * min(relative.shape))
    lines = np.zeros_like(faint)
    if segments is not None and len(segments) >= MIN_RULES:
        for x0, y0, x1, y1 in segments.reshape(-1, 4).tolist():  # (N, 1, 4) in OpenCV 4, (N, 4) in 5
            cv2.line(lines, (x0, y0), (x1, y1), 1, RULE_WIDTH)
    return (lines & faint) > 0


def _digit_labels(mask: np.ndarray, min_area: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Label image of ``mask`` and the digit's labels (None if none): the largest component that is
    no speck and does not touch the border, with the pieces of a broken digit around it."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    stats = stats[1:]  # without the background
    left, top, width, height, area = stats.T
    on_edge = (left == 0) | (top == 0) | (left + width >= mask.shape[1]) | (top + height >= mask.shape[0])
    candidates = np.nonzero(~on_edge & (area >= min_area))[0]
    if candidates.size == 0:
        return labels, None
    main = int(candidates[np.argmax(area[candidates])])
    min_piece = max(min_area, PIECE_AREA * area[main])
    pieces = [int(c) for c in candidates if c != main and area[c] >= min_piece]
    kept = _merge_pieces([(x, y, x + w, y + h) for x, y, w, h, _ in stats.tolist()], main, pieces)
    return labels, np.array(kept, np.int32) + 1


def _merge_pieces(rects: list, main: int, pieces: list) -> list:
    """The main component plus the pieces that lie close to its (growing) box without making it much
    larger: the parts of a broken stroke, not a neighbouring mark.  Repeats until nothing joins."""
    kept, (x0, y0, x1, y1) = [main], rects[main]
    joined = True
    while joined and pieces:
        joined = False
        size = max(x1 - x0, y1 - y0)
        for piece in list(pieces):
            px0, py0, px1, py1 = rects[piece]
            gap = max(0, px0 - x1, x0 - px1, py0 - y1, y0 - py1)
            merged = min(x0, px0), min(y0, py0), max(x1, px1), max(y1, py1)
            grown = max(merged[2] - merged[0], merged[3] - merged[1])
            if gap <= PIECE_GAP * size and grown <= PIECE_GROWTH * size:
                kept.append(piece)
                pieces.remove(piece)
                (x0, y0, x1, y1), joined = merged, True
    return kept


def _sample(frame: np.ndarray, work_shape, found: _Found):
    """Step 5: (ink, scale, origin), the grey-level ink around the digit resized by ``scale`` so its
    long side is STROKE_SIDE, padded by INK_PAD; ``origin`` is its corner in the frame.  None if no ink."""
    x, y, w, h = found.box
    (work_height, work_width), (height, width) = work_shape, frame.shape[:2]
    to_frame_x, to_frame_y = width / work_width, height / work_height
    margin = max(1, round(CROP_MARGIN * max(w, h)))
    sx0, sy0 = max(0, x - margin), max(0, y - margin)
    sx1, sy1 = min(work_width, x + w + margin), min(work_height, y + h + margin)
    fx0, fy0 = int(np.floor(sx0 * to_frame_x)), int(np.floor(sy0 * to_frame_y))
    fx1, fy1 = min(width, int(np.ceil(sx1 * to_frame_x))), min(height, int(np.ceil(sy1 * to_frame_y)))
    scale = STROKE_SIDE / max(w * to_frame_x, h * to_frame_y)
    box = np.s_[sy0:sy1, sx0:sx1]
    relative = _ink_in_box(frame[fy0:fy1, fx0:fx1], scale, found.light_ink, found.paper[box], found.mask[box])
    ink = _ink_levels(relative, found.threshold)
    return None if ink is None else (ink, scale, (fx0, fy0))


def _ink_in_box(crop: np.ndarray, scale: float, light_ink: bool, paper, digit) -> np.ndarray:
    """Ink darkness relative to the paper, float32 >= 0, of ``crop`` resized by ``scale``, kept within
    a working pixel of the ``digit`` mask: its faint edges stay, while other marks, a ruled paper's
    lines and texture too faint to count on the working copy (thin lines fade when it shrinks) go."""
    crop = _grey(crop)
    if light_ink:
        crop = 255 - crop
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    grey = cv2.resize(crop, size, interpolation=interpolation).astype(np.float32)
    paper = cv2.resize(paper, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
    near = cv2.dilate(digit.astype(np.uint8), np.ones((3, 3), np.uint8))
    keep = cv2.resize(near, size, interpolation=cv2.INTER_NEAREST)
    return np.maximum(paper - grey, 0) / paper * keep


def _ink_levels(relative: np.ndarray, threshold: int) -> np.ndarray | None:
    """Paper 0, ink ~1: the faint floor (half the threshold) maps to 0 and FULL_INK of the ink's
    reference darkness to 1; padded by INK_PAD.  None if there is no ink."""
    rank = int(INK_PERCENTILE * (relative.size - 1))
    marked = relative[relative > 0]  # the same rank among the ink alone (relative >= 0): selecting
    rank -= relative.size - marked.size  # among many equal zeros is slow
    if rank < 0:
        return None
    reference = float(np.partition(marked, rank)[rank])
    floor = 0.5 * threshold / 255.0
    ink = np.clip((relative - floor) / max(FULL_INK * reference - floor, 1e-3), 0.0, 1.0)
    return cv2.copyMakeBorder(ink, INK_PAD, INK_PAD, INK_PAD, INK_PAD, cv2.BORDER_CONSTANT, value=0)


def _mnist_layout(ink: np.ndarray):
    """Steps 6-7: (28x28 digit, tight box of the ink it came from), or None when no ink is left."""
    ink = _normalise_stroke_width(ink)
    x, y, w, h = tight = cv2.boundingRect((ink > INK_LEVEL).view(np.uint8))
    if w == 0:
        return None
    return _centre_by_mass(_fit_20(ink[y:y + h, x:x + w])), tight


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width (px) of a soft ink map: 2 * ink mass / total variation (L1)."""
    variation = float(np.abs(np.diff(ink, axis=0)).sum() + np.abs(np.diff(ink, axis=1)).sum())
    return 2.0 * float(ink.sum()) / variation if variation > 1e-6 else 0.0


def _normalise_stroke_width(ink: np.ndarray) -> np.ndarray:
    """Grey dilation (thin pens) or erosion (thick pens) to a stroke width of about STROKE_WIDTH."""
    steps = round(STROKE_WIDTH - _stroke_width(ink))
    if steps >= 1:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (steps + 1, steps + 1))
        return cv2.dilate(ink, disc, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    if steps <= -1:
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (1 - steps, 1 - steps))
        return cv2.erode(ink, disc, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return ink


def _fit_20(ink: np.ndarray) -> np.ndarray:
    """Area-resize so the long side is FIT_SIDE, keeping the aspect ratio."""
    scale = FIT_SIDE / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    fitted = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
    return np.clip(fitted, 0, 1, out=fitted)


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Pad to 28x28 with the centre of mass moved (by whole pixels) to the centre: the digit
    pasted where the shift puts it, what falls outside cut off."""
    height, width = digit.shape
    top, left = (MNIST_SIDE - height) // 2, (MNIST_SIDE - width) // 2
    mass = float(digit.sum())
    if mass > 0:
        centre = (MNIST_SIDE - 1) / 2
        top += round(centre - (top + float(digit.sum(1) @ np.arange(height, dtype=np.float32)) / mass))
        left += round(centre - (left + float(digit.sum(0) @ np.arange(width, dtype=np.float32)) / mass))
    out = np.zeros((MNIST_SIDE, MNIST_SIDE), np.float32)
    y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + height, MNIST_SIDE), min(left + width, MNIST_SIDE)
    if y0 < y1 and x0 < x1:
        out[y0:y1, x0:x1] = digit[y0 - top:y1 - top, x0 - left:x1 - left]
    return out


def _frame_box(tight: Box, origin, scale: float, upscale: int, region: Box) -> Box:
    """The tight box of the (padded) ink in full-frame coordinates, clamped to the searched region
    (the stroke-width dilation and the rounding can reach past its edges)."""
    x, y, w, h = tight
    region_x, region_y, region_w, region_h = region
    per_input_pixel = scale * upscale  # ink pixels per input pixel
    left = int((origin[0] * scale + x - INK_PAD) / per_input_pixel)
    top = int((origin[1] * scale + y - INK_PAD) / per_input_pixel)
    right, bottom = left + max(1, round(w / per_input_pixel)), top + max(1, round(h / per_input_pixel))
    left, top = min(max(left, 0), region_w - 1), min(max(top, 0), region_h - 1)
    right, bottom = max(min(right, region_w), left + 1), max(min(bottom, region_h), top + 1)
    return region_x + left, region_y + top, right - left, bottom - top
