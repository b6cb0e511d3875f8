"""Camera frame -> MNIST-like 28x28 digit.  OpenCV + numpy only (never imports TensorFlow).

``to_mnist(image, roi=None)`` takes any picture of one handwritten digit (BGR/BGRA or grey uint8,
any size, dark ink on light paper or light on dark) and returns a :class:`Digit` whose ``image`` is
a 28x28 float32 array in [0, 1] laid out like MNIST (white digit on black, the digit fitted into a
20x20 box keeping its aspect ratio, centred by centre of mass), or ``None`` when there is no digit.

Recipe (tuned on camera-like frames, see tests/camera_frames.py):

1. work on a copy downscaled to about 160 px (INTER_AREA averages the sensor noise away), grey;
   inputs under 96 px are upscaled first;
2. background = morphological closing (dark ink) or opening (light ink) of that copy, the polarity
   being the one whose top-hat has the stronger tail;
3. ink darkness relative to the local paper brightness, ``(paper - grey) / paper`` (uneven light
   cancels), thresholded at a level set from the darkest ink and the noise floor;
4. connected components: drop specks and blobs touching the border, keep the largest one and merge
   the nearby pieces of a broken digit;
5. back at full resolution, sample the *grey-level* ink darkness (not the binary mask) in the
   digit's box, normalise it so the ink is ~1 and the paper 0;
6. resize so the digit's long side is 40 px, normalise the stroke width to MNIST's with a grey
   dilation/erosion, area-resize (INTER_AREA, which anti-aliases like MNIST) to the 20x20 box;
7. pad to 28x28 and shift the centre of mass to the centre, as in the original MNIST recipe.

An image that already is MNIST-style (28x28, dark background, bright digit) passes through
unchanged as ``image / 255``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

__all__ = ["Digit", "to_mnist"]

Box = Tuple[int, int, int, int]

_WORK = 160  # long side of the working copy used for thresholding and components
_MNIST_WIDTH = 1.85  # median stroke width of MNIST digits, measured with _stroke_width
_NORM_WIDTH = True  # dilate/erode to MNIST's stroke width
_BINARY = False  # ablation: sample the binary mask instead of grey-level ink
_BLUR = 0.0  # optional Gaussian sigma after the 20x20 resize
_TARGET40 = 3.7  # stroke width to reach in the 40 px box; gives ~_MNIST_WIDTH after the 20 px resize
_MID = 40  # size of the intermediate box where the stroke width is normalised


@dataclass(frozen=True)
class Digit:
    """An MNIST-like digit: ``image`` is (28, 28) float32 in [0, 1], white on black;
    ``box`` is (x, y, w, h) of the digit in the input frame (full-frame coordinates)."""

    image: np.ndarray
    box: Optional[Box]


def _validate(image) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"to_mnist expects a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"to_mnist expects a uint8 image, got dtype {image.dtype} "
                         "(convert with np.clip(x * 255, 0, 255).astype(np.uint8) for floats in [0, 1])")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"to_mnist expects a grey (H, W) or BGR/BGRA (H, W, 3|4) image, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"to_mnist got an empty image of shape {image.shape}")
    return image


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return image
    code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
    return cv2.cvtColor(np.ascontiguousarray(image), code)


def _pct(a: np.ndarray, q: float) -> int:
    """q-th percentile (0-100) of a uint8 array via its histogram (much faster than np.percentile)."""
    c = np.cumsum(np.bincount(a.ravel(), minlength=256))
    return int(np.searchsorted(c, q / 100.0 * (c[-1] - 1), side="right"))


def _is_mnist_style(grey: np.ndarray) -> bool:
    if grey.shape != (28, 28):
        return False
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(border.mean()) < 40.0 and int(grey.max()) >= 100


def _stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width (px) of a soft ink map: 2 * ink mass / total variation (L1)."""
    tv = float(np.abs(np.diff(ink, axis=0)).sum() + np.abs(np.diff(ink, axis=1)).sum())
    return 2.0 * float(ink.sum()) / tv if tv > 1e-6 else 0.0


def _check_roi(roi, shape) -> Box:
    H, W = shape
    try:
        x, y, w, h = (int(v) for v in roi)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"roi must be (x, y, w, h), got {roi!r}") from exc
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"roi {roi!r} is empty or outside the {W}x{H} frame")
    return x0, y0, x1 - x0, y1 - y0


def _select(mask: np.ndarray, min_area: int):
    """Pick the digit's components in a binary mask; return (x, y, w, h, label image, labels kept)."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    h, w = mask.shape
    xs, ys, ws, hs, area = (stats[1:, i] for i in range(5))
    touching = (xs == 0) | (ys == 0) | (xs + ws >= w) | (ys + hs >= h)
    ok = (~touching) & (area >= min_area)
    cand = np.nonzero(ok)[0]
    if cand.size == 0:
        return None
    main = cand[np.argmax(area[cand])]
    keep = [main]
    bx0, by0, bx1, by1 = xs[main], ys[main], xs[main] + ws[main], ys[main] + hs[main]
    rest = [int(c) for c in cand if c != main and area[c] >= max(min_area, 0.04 * area[main])]
    changed = True
    while changed and rest:
        changed = False
        size = max(bx1 - bx0, by1 - by0)
        for c in list(rest):
            cx0, cy0, cx1, cy1 = xs[c], ys[c], xs[c] + ws[c], ys[c] + hs[c]
            gapx = max(0, max(cx0 - bx1, bx0 - cx1))
            gapy = max(0, max(cy0 - by1, by0 - cy1))
            nx0, ny0, nx1, ny1 = min(bx0, cx0), min(by0, cy0), max(bx1, cx1), max(by1, cy1)
            grown = max(nx1 - nx0, ny1 - ny0)
            if max(gapx, gapy) <= 0.25 * size and grown <= 1.6 * size:
                keep.append(c)
                rest.remove(c)
                bx0, by0, bx1, by1 = nx0, ny0, nx1, ny1
                changed = True
    return bx0, by0, bx1 - bx0, by1 - by0, lab, np.array(keep, np.int32) + 1


def _center_of_mass_28(img20: np.ndarray) -> np.ndarray:
    h, w = img20.shape
    out = np.zeros((28, 28), np.float32)
    y0, x0 = (28 - h) // 2, (28 - w) // 2
    out[y0:y0 + h, x0:x0 + w] = img20
    m = float(out.sum())
    if m <= 0:
        return out
    ys = np.arange(28, dtype=np.float32)
    cy = float((out.sum(1) * ys).sum()) / m
    cx = float((out.sum(0) * ys).sum()) / m
    dx, dy = int(round(13.5 - cx)), int(round(13.5 - cy))
    if dx or dy:
        M = np.float32([[1, 0, dx], [0, 1, dy]])
        out = cv2.warpAffine(out, M, (28, 28), flags=cv2.INTER_NEAREST, borderValue=0)
    return out


def to_mnist(image: np.ndarray, roi: Optional[Box] = None) -> Optional[Digit]:
    """Turn a picture of one handwritten digit into an MNIST-like :class:`Digit`, or ``None``.

    ``roi`` = (x, y, w, h) restricts the search to that part of the frame; the returned ``box``
    is always in full-frame coordinates.  Raises ``ValueError`` for an empty image, a non-uint8
    dtype or a shape that is not (H, W), (H, W, 1), (H, W, 3) or (H, W, 4).
    """
    image = _validate(image)
    if roi is None and image.shape[:2] == (28, 28):
        grey = _grey(image)
        if _is_mnist_style(grey):
            return Digit(grey.astype(np.float32) / np.float32(255.0), (0, 0, 28, 28))
    ox = oy = 0
    if roi is not None:
        ox, oy, rw, rh = _check_roi(roi, image.shape[:2])
        image = image[oy:oy + rh, ox:ox + rw]
    H, W = image.shape[:2]
    if min(H, W) < 8:
        return None
    up = 1
    if max(H, W) < 96:
        # tiny inputs (e.g. a 28x28 crop): upscale so the morphology has room to work
        up = int(np.ceil(96 / max(H, W)))
        image = cv2.resize(image, (W * up, H * up), interpolation=cv2.INTER_CUBIC)
        H, W = image.shape[:2]

    # --- working copy (downscale first, convert to grey on the small copy) ---------------
    f = max(1.0, max(H, W) / _WORK)
    if f > 1.0:
        sw, sh = max(8, int(round(W / f))), max(8, int(round(H / f)))
        small = image
        while min(small.shape[0] // 2, small.shape[1] // 2) >= 1 and max(small.shape[:2]) >= 2 * _WORK:
            # exact halving has a fast INTER_AREA path (~4x faster than one big step)
            small = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2), interpolation=cv2.INTER_AREA)
        if small.shape[:2] != (sh, sw):
            small = cv2.resize(small, (sw, sh), interpolation=cv2.INTER_AREA)
        small = _grey(small)
    else:
        small, sw, sh = _grey(image), W, H
    fx, fy = W / sw, H / sh
    # paper brightness: closing (dark ink) / opening (light ink) on a tiny copy, wide enough
    # (~1/8 of the frame) to swallow a felt-pen stroke, then smoothed and scaled back up
    tf = max(1.0, max(sw, sh) / 40.0)
    tw_, th_ = max(4, int(round(sw / tf))), max(4, int(round(sh / tf)))
    tiny = cv2.resize(small, (tw_, th_), interpolation=cv2.INTER_AREA) if tf > 1 else small
    ker = np.ones((5, 5), np.uint8)
    close = cv2.blur(cv2.morphologyEx(tiny, cv2.MORPH_CLOSE, ker, borderType=cv2.BORDER_REPLICATE), (3, 3))
    opn = cv2.blur(cv2.morphologyEx(tiny, cv2.MORPH_OPEN, ker, borderType=cv2.BORDER_REPLICATE), (3, 3))
    if tf > 1:
        close = cv2.resize(close, (sw, sh), interpolation=cv2.INTER_LINEAR)
        opn = cv2.resize(opn, (sw, sh), interpolation=cv2.INTER_LINEAR)
    dark = cv2.subtract(close, small)   # dark ink on light paper
    light = cv2.subtract(small, opn)    # light ink on dark paper
    # polarity: the paper is most of the picture, so a clearly dark or light median decides;
    # in between, the side whose top-hat has the stronger tail is the ink
    med = _pct(small, 50)
    if med < 80:
        inverted = True
    elif med > 150:
        inverted = False
    else:
        inverted = _pct(light, 99.9) > _pct(dark, 99.9) * 1.3
    if inverted:
        bg_small = cv2.subtract(255, opn)
        ink_small = light
    else:
        bg_small = close
        ink_small = dark
    bg_small = np.maximum(bg_small, 16)
    # ink darkness relative to the local paper brightness, as uint8 (255 = black ink)
    rel = cv2.GaussianBlur(cv2.divide(ink_small, bg_small, scale=255), (3, 3), 0)

    # --- threshold (hysteresis) and components -------------------------------------------
    hi = _pct(rel, 99.7)
    noise = _pct(rel, 50)
    mad = _pct(rel, 75) - noise
    thr = max(noise + 6 * mad + 5, int(0.35 * hi), 15)
    mask = (rel > thr).astype(np.uint8)
    min_area = max(4, int(0.0004 * sw * sh))
    sel = _select(mask, min_area)
    if sel is None:
        return None
    bx, by, bw, bh, lab, keep = sel
    lut = np.zeros(int(lab.max()) + 1, bool)
    lut[keep] = True
    chosen = lut[lab]
    others = (lab > 0) & ~chosen
    # grow the chosen components into the faint parts of their strokes
    low = (rel > thr // 2).astype(np.uint8)
    n2, lab = cv2.connectedComponents(low, connectivity=8)
    lut = np.zeros(n2, bool)
    lut[lab[chosen]] = True
    lut[0] = False
    chosen = lut[lab]
    others &= ~chosen
    ys_, xs_ = np.nonzero(chosen)
    bx, by = int(xs_.min()), int(ys_.min())
    bw, bh = int(xs_.max()) + 1 - bx, int(ys_.max()) + 1 - by
    if max(bw, bh) < max(5, 0.05 * min(sw, sh)):
        return None
    # the digit must stand out from the paper
    if int(rel[by:by + bh, bx:bx + bw].max()) < 20:
        return None

    # --- full resolution grey-level ink inside the box -----------------------------------
    mx = max(1, int(round(0.08 * max(bw, bh))))
    sx0, sy0 = max(0, bx - mx), max(0, by - mx)
    sx1, sy1 = min(sw, bx + bw + mx), min(sh, by + bh + mx)
    X0, Y0 = int(np.floor(sx0 * fx)), int(np.floor(sy0 * fy))
    X1, Y1 = min(W, int(np.ceil(sx1 * fx))), min(H, int(np.ceil(sy1 * fy)))
    crop = _grey(image[Y0:Y1, X0:X1])
    if inverted:
        crop = 255 - crop
    cw, ch = X1 - X0, Y1 - Y0
    # digit long side -> ~_MID px for the stroke work
    s = _MID / max(bw * fx, bh * fy)
    tw, th = max(1, int(round(cw * s))), max(1, int(round(ch * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    g = cv2.resize(crop, (tw, th), interpolation=interp).astype(np.float32)
    bg = cv2.resize(bg_small[sy0:sy1, sx0:sx1], (tw, th), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    # suppress other blobs (specks, neighbouring marks) but keep every faint pixel near the digit
    near = cv2.dilate(chosen[sy0:sy1, sx0:sx1].astype(np.uint8), np.ones((3, 3), np.uint8))
    keepmask = 1 - (others[sy0:sy1, sx0:sx1] & (near == 0)).astype(np.uint8)
    keepmask = cv2.resize(keepmask, (tw, th), interpolation=cv2.INTER_NEAREST)
    r = np.maximum(bg - g, 0) / bg
    r *= keepmask
    top = float(np.partition(r.ravel(), int(0.97 * (r.size - 1)))[int(0.97 * (r.size - 1))])
    if top <= 0:
        return None
    lo = 0.5 * thr / 255.0
    ink = np.clip((r - lo) / max(0.75 * top - lo, 1e-3), 0.0, 1.0)
    if _BINARY:
        ink = (r > thr / 255.0).astype(np.float32)
    ink = cv2.copyMakeBorder(ink, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=0)

    # --- tight box, stroke-width normalisation, 20x20, 28x28 -----------------------------
    ys, xs = np.nonzero(ink > 0.3)
    if ys.size == 0:
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    if _NORM_WIDTH:
        n = int(round(_TARGET40 - _stroke_width(ink)))
        if n >= 1:
            ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (n + 1, n + 1)),
                             borderType=cv2.BORDER_CONSTANT, borderValue=0)
        elif n <= -1:
            ink = cv2.erode(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (1 - n, 1 - n)),
                            borderType=cv2.BORDER_CONSTANT, borderValue=0)
        ys, xs = np.nonzero(ink > 0.3)
        if ys.size == 0:
            return None
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    ink = ink[y0:y1, x0:x1]
    dh, dw = ink.shape
    sc = 20.0 / max(dh, dw)
    ow, oh = max(1, int(round(dw * sc))), max(1, int(round(dh * sc)))
    img20 = cv2.resize(ink, (ow, oh), interpolation=cv2.INTER_AREA)
    if _BLUR > 0:
        img20 = cv2.GaussianBlur(img20, (0, 0), _BLUR)
    out = _center_of_mass_28(np.clip(img20, 0, 1))
    k = s * up  # working pixels per input pixel
    box = (ox + int((X0 * s + x0 - 4) / k), oy + int((Y0 * s + y0 - 4) / k),
           max(1, int(round(dw / k))), max(1, int(round(dh / k))))
    return Digit(out.astype(np.float32), box)
