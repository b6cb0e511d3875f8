"""Deterministic renderer of camera-like frames from MNIST digits (test helper).

``render(digit28, rng)`` draws an MNIST digit (white on black, 28x28 uint8) as a dark pen stroke
on a sheet of paper seen by a cheap webcam: random position and size (digit height 80-250 px),
pen width different from MNIST's (thin ball-point to felt marker), uneven lighting (gradient and
vignette), paper texture, sensor noise, slight rotation and perspective, defocus blur, ink darkness
variation and pen-colour tint, then a JPEG round trip.  Realistic, not adversarial: the digit is
always fully inside the frame and clearly visible to a person.

``glyph`` turns a character of a TrueType font into such a white-on-black image, so letters,
symbols and printed digits are drawn the same way (Pillow; the fonts bundled with matplotlib);
``mnist_like`` sizes it as MNIST sizes a digit, for ``render_number``.

Everything is drawn from the ``rng`` passed in, so the same seed gives the same frames.
OpenCV + numpy only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

__all__ = ["FONT_SUFFIXES", "font_files", "glyph", "matplotlib_fonts", "mnist_like", "render",
           "render_number", "render_video", "render_many"]

FONT_SUFFIXES = (".ttf", ".otf", ".woff")  # what Pillow reads of a fonts folder


def _stroke_map(digit28: np.ndarray, scale: float, width_factor: float) -> np.ndarray:
    """Upscale the digit by ``scale`` and return a soft ink map (float32 in [0,1]) whose stroke
    width is ``width_factor`` times the (scaled) MNIST stroke width."""
    height, width = digit28.shape
    size = (max(8, int(round(width * scale))), max(8, int(round(height * scale))))
    pad = int(np.ceil(scale * 3)) + 4
    big = cv2.resize(digit28, size, interpolation=cv2.INTER_CUBIC)
    big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    big = cv2.GaussianBlur(big, (0, 0), 0.45 * scale)
    shape = (big > 100).astype(np.uint8)
    if width_factor < 1.0:
        # Thin uniformly relative to the local stroke half-width, never breaking a stroke.
        dist = cv2.distanceTransform(shape, cv2.DIST_L2, 5)
        k = max(3, int(2 * np.ceil(1.6 * scale) + 1))
        local = cv2.dilate(dist, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        d = dist - (1.0 - width_factor) * local  # signed-ish distance inside the thinned stroke
        ink = np.clip(d + 0.5, 0, 1) * shape
        # keep at least a 1.5 px line
        ridge = (dist >= 0.999 * local) & (shape > 0)
        ink = np.maximum(ink, cv2.dilate(ridge.astype(np.float32), np.ones((2, 2), np.uint8)))
    else:
        outside = cv2.distanceTransform(1 - shape, cv2.DIST_L2, 5)
        grow = (width_factor - 1.0) * 1.3 * scale  # MNIST half-width is ~1.3 px at 28x28
        ink = np.clip(grow + 0.5 - outside, 0, 1)
    ink = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), 0.7)
    return ink


def _lighting(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    xx = (np.arange(w, dtype=np.float32) / w - 0.5)[None, :]
    yy = (np.arange(h, dtype=np.float32) / h - 0.5)[:, None]
    ang = rng.uniform(0, 2 * np.pi)
    grad = np.cos(ang) * xx + np.sin(ang) * yy  # in [-0.7, 0.7]
    light = 1.0 + rng.uniform(0.1, 0.6) * grad
    cx, cy = rng.uniform(-0.3, 0.3, 2)
    r2 = (xx - cx) ** 2 + (yy - cy) ** 2
    light *= 1.0 - rng.uniform(0.0, 0.45) * r2 / 0.5
    if rng.random() < 0.3:  # a soft shadow band across the page
        a2 = rng.uniform(0, np.pi)
        off = rng.uniform(-0.4, 0.4)
        s = np.cos(a2) * xx + np.sin(a2) * yy - off
        light *= 1.0 - rng.uniform(0.1, 0.3) / (1.0 + np.exp(-s / rng.uniform(0.03, 0.1)))
    return light


def _ruling(w: int, h: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A notebook page's lines as a brightness factor: "ruled" (across) or "squared" (both ways),
    light blue or grey lines 1-2 px wide every 24-48 px, the page turned by up to 5 degrees."""
    lines = np.zeros((h, w), np.float32)
    spacing, width = rng.uniform(24, 48), int(rng.integers(1, 3))
    for at in np.arange(rng.uniform(0, spacing) - w, 2 * w, spacing):
        cv2.line(lines, (-w, int(at)), (2 * w, int(at)), 1.0, width, cv2.LINE_AA)
        if kind == "squared":
            cv2.line(lines, (int(at), -h), (int(at), 2 * h), 1.0, width, cv2.LINE_AA)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-5, 5), 1.0)
    lines = cv2.warpAffine(lines, turn, (w, h))
    colour = np.array([rng.uniform(0.0, 0.15), rng.uniform(0.1, 0.3), rng.uniform(0.2, 0.45)], np.float32)
    return 1.0 - lines[..., None] * (colour if rng.random() < 0.6 else colour[[2, 2, 2]])  # blue or grey


def render(digit28: np.ndarray, rng: np.random.Generator, size: tuple[int, int] = (640, 480),
           max_angle: float = 15.0, page: str = "plain") -> np.ndarray:
    """Render an MNIST digit (28x28 uint8, white on black) as a BGR uint8 camera frame of ``size`` (w, h).
    A wider image (28 rows, any width: see ``number_strip``) is drawn the same way, as one line of
    writing; ``max_angle`` bounds its rotation (degrees); ``page``: "plain", "ruled" or "squared"."""
    digit28 = np.asarray(digit28)
    if digit28.dtype != np.uint8:
        digit28 = np.clip(digit28 * (255.0 if digit28.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    W, H = size
    # --- the digit shape -------------------------------------------------------------
    ys, xs = np.nonzero(digit28 > 30)
    if len(ys) == 0:
        ys, xs = np.array([4, 23]), np.array([4, 23])
    dh = ys.max() - ys.min() + 1
    dw = xs.max() - xs.min() + 1
    target_h = rng.uniform(80, min(250, 0.62 * H))
    target_h = min(target_h, 0.7 * W * max(dh, 8) / max(dw, 1))  # wide digits must fit too
    scale = target_h / max(dh, 8)
    width_factor = float(np.exp(rng.uniform(np.log(0.35), np.log(1.35))))
    ink = _stroke_map(digit28, scale, width_factor)
    ih, iw = ink.shape
    pad = (iw - digit28.shape[1] * scale) / 2.0  # the stroke map's border
    # centre of the digit's bounding box in the ink map coordinates
    cxd = pad + (xs.min() + xs.max() + 1) / 2.0 * scale
    cyd = pad + (ys.min() + ys.max() + 1) / 2.0 * scale
    # --- geometry: rotation, perspective, position ---------------------------------------
    ang = np.deg2rad(rng.uniform(-max_angle, max_angle))
    c, s = np.cos(ang), np.sin(ang)
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * (iw / 2.0)
    src = half + np.array([cxd, cyd], np.float32)
    jitter = rng.uniform(-0.06, 0.06, (4, 2)).astype(np.float32) * iw
    rot = np.array([[c, -s], [s, c]], np.float32)
    dst = half @ rot.T + jitter
    # place the digit at random, its whole (warped) bounding box at least 8 px inside the frame
    M0 = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    bx0, by0 = pad + xs.min() * scale, pad + ys.min() * scale
    bx1, by1 = pad + (xs.max() + 1) * scale, pad + (ys.max() + 1) * scale
    corners = cv2.perspectiveTransform(np.float32([[[bx0, by0], [bx1, by0], [bx1, by1], [bx0, by1]]]), M0)[0]
    (mnx, mny), (mxx, mxy) = corners.min(0), corners.max(0)
    lo_x, hi_x = 8 - mnx, W - 8 - mxx
    lo_y, hi_y = 8 - mny, H - 8 - mxy
    tx = rng.uniform(lo_x, hi_x) if hi_x > lo_x else (lo_x + hi_x) / 2
    ty = rng.uniform(lo_y, hi_y) if hi_y > lo_y else (lo_y + hi_y) / 2
    dst = dst + np.array([tx, ty], np.float32)
    M = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    alpha = cv2.warpPerspective(ink, M, (W, H), flags=cv2.INTER_LINEAR, borderValue=0)
    # --- paper, light, ink ---------------------------------------------------------------
    paper_level = rng.uniform(150, 235)
    tint = np.array([rng.uniform(0.9, 1.0), rng.uniform(0.95, 1.0), rng.uniform(0.95, 1.05)], np.float32)
    light = _lighting(W, H, rng)
    tex = cv2.resize(rng.normal(0, 1, (H // 8 + 1, W // 8 + 1)).astype(np.float32), (W, H),
                     interpolation=cv2.INTER_CUBIC)
    paper = paper_level * light * (1.0 + rng.uniform(0.0, 0.04) * tex)
    pen = rng.integers(0, 4)
    if pen == 0:   # black / graphite
        ink_col = np.array([1.0, 1.0, 1.0], np.float32)
    elif pen == 1:  # blue ball-point (BGR: keeps blue)
        ink_col = np.array([0.45, 0.85, 1.0], np.float32)
    elif pen == 2:  # dark blue
        ink_col = np.array([0.3, 0.9, 1.0], np.float32)
    else:          # pencil, a bit lighter
        ink_col = np.array([0.9, 0.9, 0.9], np.float32)
    strength = rng.uniform(0.55, 0.92) if pen != 3 else rng.uniform(0.45, 0.7)
    var = cv2.resize(rng.normal(0, 1, (H // 16 + 1, W // 16 + 1)).astype(np.float32), (W, H),
                     interpolation=cv2.INTER_CUBIC)
    local_strength = np.clip(strength * (1.0 + rng.uniform(0, 0.15) * var), 0.3, 0.97)
    a = (alpha * local_strength)[..., None]
    img = paper[..., None] * tint[None, None, :] * (1.0 - a * ink_col[None, None, :])
    if page != "plain":  # drawn last: the frames on plain paper stay what they were
        img *= _ruling(W, H, page, rng)
    # --- optics and sensor ---------------------------------------------------------------
    sigma = rng.uniform(0.3, 2.0)
    img = cv2.GaussianBlur(img, (0, 0), sigma)
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(1.5, 6.0))
    img = np.clip(img, 0, 255).astype(np.uint8)
    q = int(rng.integers(45, 95))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def number_strip(digits28: Iterable[np.ndarray], rng: np.random.Generator, gaps: tuple[int, int] = (-3, 8),
                 heights: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """MNIST digits side by side as one 28-row image: each cut to its ink columns, scaled by a
    factor drawn from ``heights`` (1: MNIST's size; smaller digits sit at a random height), shifted
    up or down by up to 2 px, with a gap drawn from ``gaps`` before the next (negative: the digits
    overlap, their strokes touch)."""
    strip = np.zeros((28, 0), np.uint8)
    for digit in digits28:
        columns = np.nonzero(digit.max(0) > 30)[0]
        # no draw for a fixed height, so the default frames stay what they were
        factor = rng.uniform(*heights) if heights[0] < heights[1] else heights[0]
        digit = _scaled(digit[:, columns.min():columns.max() + 1] if columns.size else digit, factor, rng)
        digit = np.roll(digit, int(rng.integers(-2, 3)), axis=0)
        gap = int(rng.integers(gaps[0], gaps[1] + 1)) if strip.shape[1] else 4
        start = max(0, strip.shape[1] + gap)
        grown = np.zeros((28, max(strip.shape[1], start + digit.shape[1])), np.uint8)
        grown[:, :strip.shape[1]] = strip
        grown[:, start:start + digit.shape[1]] = np.maximum(grown[:, start:start + digit.shape[1]], digit)
        strip = grown
    return cv2.copyMakeBorder(strip, 0, 0, 0, 4, cv2.BORDER_CONSTANT, value=0)


def _scaled(digit: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """``digit`` (28 rows) scaled by ``factor`` <= 1, placed at a random height in 28 rows."""
    if factor >= 1.0:
        return digit
    height, width = max(1, round(28 * factor)), max(1, round(digit.shape[1] * factor))
    small = cv2.resize(digit, (width, height), interpolation=cv2.INTER_AREA)
    top = int(rng.integers(0, 28 - height + 1))
    return cv2.copyMakeBorder(small, top, 28 - height - top, 0, 0, cv2.BORDER_CONSTANT, value=0)


def render_number(digits28: Iterable[np.ndarray], rng: np.random.Generator, size=(640, 480),
                  max_angle: float = 8.0, **strip) -> np.ndarray:
    """A handwritten number on paper: ``number_strip`` (its keyword arguments ``strip``) drawn like
    ``render``, sloped by up to ``max_angle`` degrees."""
    return render(number_strip(digits28, rng, **strip), rng, size, max_angle=max_angle)


def glyph(font_path: Path, char: str, size: int = 64) -> np.ndarray | None:
    """``char`` in a TrueType font (Pillow), white on black, cropped to its ink with a 4 px border,
    for ``render``; None if the font has no glyph for it (its "missing glyph" box)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), size)
    if font.getmask(char).getbbox() == font.getmask("\uffff").getbbox():
        return None
    canvas = Image.new("L", (4 * size, 2 * size), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 3), char, fill=255, font=font)
    ink = np.asarray(canvas)
    ys, xs = np.nonzero(ink > 40)
    if ys.size < 10:
        return None
    return np.pad(ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1], 4)


def mnist_like(ink: np.ndarray) -> np.ndarray:
    """A ``glyph`` drawn as MNIST draws a digit: its ink 20 px tall (the width in proportion) with
    a 4 px border, 28 rows."""
    ys, xs = np.nonzero(ink)
    ink = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    height, width = ink.shape
    small = cv2.resize(ink, (max(1, round(width * 20 / height)), 20), interpolation=cv2.INTER_AREA)
    return np.pad(small, 4)


def font_files(folder: Path) -> list[Path]:
    """The font files (FONT_SUFFIXES) in ``folder``, sorted."""
    return sorted(p for p in folder.iterdir() if p.suffix in FONT_SUFFIXES)


def matplotlib_fonts(names: Iterable[str]) -> list[Path]:
    """The TrueType fonts bundled with matplotlib (DejaVu, STIX, Computer Modern) of these names."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return [folder / f"{name}.ttf" for name in names if (folder / f"{name}.ttf").is_file()]


def render_many(digits: Iterable[np.ndarray], rng: np.random.Generator, size=(640, 480)) -> list[np.ndarray]:
    return [render(d, rng, size) for d in digits]


def render_video(path, digits: Iterable[np.ndarray], rng: np.random.Generator, size=(640, 480),
                 fps: float = 10.0, frames_per_digit: int = 3) -> Path:
    """Write a short MJPG video of rendered digits (``frames_per_digit`` frames each) and return its path.

    Use an ``.avi`` path: MJPG in AVI is the container/codec pair OpenCV can always write."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise RuntimeError(f"cv2.VideoWriter could not open {path}")
    try:
        for d in digits:
            frame = render(d, rng, size)
            for _ in range(frames_per_digit):
                writer.write(frame)
    finally:
        writer.release()
    return path
