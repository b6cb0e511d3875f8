"""Things that are not digits, as the device sees them: training images for the "not a digit" class.

``negatives(count, seed)`` returns ``count`` (28, 28) uint8 images made the way
:mod:`converters.augment` makes camera-like digits -- drawn on paper, photographed, read back by
:func:`edge_lstm.preprocess.to_mnist` -- so the model learns what preprocessing makes of them:

- letters, signs and short strings in OpenCV's Hershey fonts (the letters a person would not take
  for a digit, ``LETTERS``; punctuation and signs, ``SIGNS``), as pen strokes of any width;
- procedural shapes: polygons, stars, arrows, crosses, hatching, grids, zig-zags, spirals, waves,
  scribbles, dots, filled blobs, hearts, double arrows, suns, envelopes, card suits (none drawn in
  a way that makes a digit: no circles, no lone strokes);
- scenes and objects: textured shapes overlapping on a textured background, or lying on paper,
  under uneven light, as a camera pointed at a desk, a room or a photo sees them.

Only these sources are trained on; the held-out camera sets (benchmarks/heldout_reading.py) use
other fonts, symbol glyphs, photos and other handwriting.  numpy + OpenCV only; deterministic
for a given seed whatever the number of cores.
"""

from __future__ import annotations

import cv2
import numpy as np

from converters.augment import _H, _W, _photograph, drawn, in_pool
from converters.hershey import SIDE, cropped, text_ink
from edge_lstm.preprocess import to_mnist

__all__ = ["LETTERS", "negative_one", "negatives"]

# Letters unlike any digit: O D Q C c U u n (0), I l i j J T t (1, 7), Z z L (2), S s (5), b G e
# (6), B (8), g q a d (9), h y Y (4) and other look-alikes of MNIST's more casual digits are left
# out, so the model is never taught to refuse a real digit.
LETTERS = "AEFHKMNPRVWXfkmprvwx"
SIGNS = "?#$%&@*+=<>~^"  # punctuation and signs drawn like letters (no lone stroke like ! ( ) [ ] { })
KINDS = ("letters", "shapes", "scenes")
SHARES = (0.35, 0.35, 0.3)  # how often each kind is drawn
NEGATIVE_STREAM = 10  # keeps the negatives' random streams apart from the augmentation's
LINE_SPREAD = 0.04  # ink spread across / along its main axis under which a mark is one straight line


def negative_one(rng: np.random.Generator) -> np.ndarray:
    """One camera-like image of something that is not a digit, (28, 28) uint8 in MNIST layout."""
    while True:
        kind = KINDS[int(rng.choice(len(KINDS), p=SHARES))]
        if kind == "scenes":
            digit = to_mnist(_scene(rng))
            image = None if digit is None else np.clip(digit.image * 255 + 0.5, 0, 255).astype(np.uint8)
        else:
            image = drawn(_letters(rng) if kind == "letters" else _shape(rng), rng)
        if image is not None and not _line_like(image):  # None: the paper looked blank
            return image


def negatives(count: int, seed: int, chunk: int = 1000, show_progress: bool = True) -> np.ndarray:
    """``count`` negatives, (count, 28, 28) uint8: one seeded generator per chunk, the chunks
    spread over the CPU cores, so the images are the same whatever the number of cores."""
    jobs = [(min(chunk, count - start), (seed, NEGATIVE_STREAM, start // chunk))
            for start in range(0, count, chunk)]
    return in_pool(_negatives_job, jobs, count, "not-a-digit images", show_progress)


def _negatives_job(job) -> np.ndarray:
    count, seeds = job
    rng = np.random.default_rng(seeds)
    return np.stack([negative_one(rng) for _ in range(count)])


def _line_like(image: np.ndarray) -> bool:
    """A single straight stroke (a lone arm of a shape, one hatching line): it is a 1 as often as
    not, so it is no negative."""
    ys, xs = np.nonzero(image > 64)
    if xs.size < 3:
        return True
    spread = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    return spread[0] < LINE_SPREAD * spread[1]


def _canvas() -> np.ndarray:
    return np.zeros((SIDE, SIDE), np.uint8)


def _letters(rng: np.random.Generator) -> np.ndarray:
    """One to three letters (LETTERS) or signs (SIGNS) in a Hershey font."""
    alphabet = list(SIGNS if rng.random() < 0.25 else LETTERS)
    return text_ink("".join(rng.choice(alphabet, int(rng.choice([1, 2, 3], p=[0.7, 0.2, 0.1])))), rng)


def _shape(rng: np.random.Generator) -> np.ndarray:
    canvas = _canvas()
    SHAPES[int(rng.integers(len(SHAPES)))](canvas, rng, int(rng.integers(2, 9)))
    return cropped(canvas, rng)


def _points(rng, n, spread=0.4) -> np.ndarray:
    return (SIDE / 2 + rng.uniform(-spread, spread, (n, 2)) * SIDE).astype(np.int32)


def _polygon(canvas, rng, width) -> None:
    sides = int(rng.integers(3, 9)) if width < 0 else int(rng.integers(3, 5))  # more sides: a 0
    angles = np.sort(rng.uniform(0, 2 * np.pi, sides)) if rng.random() < 0.5 else \
        np.arange(sides) * 2 * np.pi / sides + rng.uniform(0, np.pi)
    radius = rng.uniform(0.25, 0.45, (sides, 1)) * SIDE if rng.random() < 0.5 else 0.4 * SIDE
    pts = (SIDE / 2 + radius * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(np.int32)
    if width < 0 or rng.random() < 0.3:  # width < 0: filled
        cv2.fillPoly(canvas, [pts], 255, cv2.LINE_AA)
    else:
        cv2.polylines(canvas, [pts], True, 255, width, cv2.LINE_AA)


def _star(canvas, rng, width) -> None:
    tips = int(rng.integers(4, 9))
    angles = np.arange(2 * tips) * np.pi / tips + rng.uniform(0, np.pi)
    radius = np.where(np.arange(2 * tips) % 2, rng.uniform(0.12, 0.25), 0.45) * SIDE
    pts = (SIDE / 2 + radius[:, None] * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(np.int32)
    if rng.random() < 0.4:
        cv2.fillPoly(canvas, [pts], 255, cv2.LINE_AA)
    else:
        cv2.polylines(canvas, [pts], True, 255, width, cv2.LINE_AA)


def _arrow(canvas, rng, width) -> None:
    start, end = _points(rng, 2)
    if np.hypot(*(end - start)) < SIDE / 3:
        start, end = np.int32([10, SIDE // 2]), np.int32([SIDE - 10, SIDE // 2])
    cv2.arrowedLine(canvas, tuple(map(int, start)), tuple(map(int, end)), 255, width, cv2.LINE_AA,
                    tipLength=rng.uniform(0.2, 0.45))


def _cross(canvas, rng, width) -> None:
    arms = int(rng.choice([2, 3, 4]))  # +/x, asterisk-like
    turn = rng.uniform(0, np.pi)
    for k in range(arms):
        a = turn + k * np.pi / arms
        d = 0.42 * SIDE * np.array([np.cos(a), np.sin(a)])
        p0, p1 = SIDE / 2 - d, SIDE / 2 + d
        cv2.line(canvas, tuple(map(int, p0)), tuple(map(int, p1)), 255, width, cv2.LINE_AA)


def _hatching(canvas, rng, width) -> None:
    gap = int(rng.integers(max(6, 2 * width + 3), 20))
    lines = np.zeros((3 * SIDE, 3 * SIDE), np.uint8)
    for y in range(0, 3 * SIDE, gap):
        cv2.line(lines, (0, y), (3 * SIDE, y), 255, max(1, width // 2), cv2.LINE_AA)
    turn = cv2.getRotationMatrix2D((1.5 * SIDE, 1.5 * SIDE), rng.uniform(0, 180), 1.0)
    lines = cv2.warpAffine(lines, turn, lines.shape[::-1])[SIDE:2 * SIDE, SIDE:2 * SIDE]
    if rng.random() < 0.4:  # cross-hatching
        lines = np.maximum(lines, cv2.rotate(lines, cv2.ROTATE_90_CLOCKWISE))
    mask = np.zeros_like(canvas)
    if rng.random() < 0.5:
        _polygon(mask, rng, -1)
    else:
        cv2.rectangle(mask, (12, 12), (SIDE - 12, SIDE - 12), 255, -1)
    canvas[:] = np.minimum(lines, mask)


def _grid(canvas, rng, width) -> None:
    cells = int(rng.integers(2, 6))
    x = np.linspace(10, SIDE - 10, cells + 1).astype(int)
    y = np.linspace(10, SIDE - 10, int(rng.integers(2, 6)) + 1).astype(int)
    for v in x:
        cv2.line(canvas, (int(v), int(y[0])), (int(v), int(y[-1])), 255, max(1, width // 2))
    for v in y:
        cv2.line(canvas, (int(x[0]), int(v)), (int(x[-1]), int(v)), 255, max(1, width // 2))


def _zigzag(canvas, rng, width) -> None:
    n = int(rng.integers(5, 10))  # five corners or more: fewer are a Z, a 2 or a 7
    xs = np.linspace(8, SIDE - 8, n)
    ys = SIDE / 2 + np.where(np.arange(n) % 2, 1, -1) * rng.uniform(0.1, 0.35) * SIDE
    pts = np.stack([xs, ys], 1).astype(np.int32)
    if rng.random() < 0.5:
        pts = pts[:, ::-1]  # vertical
    cv2.polylines(canvas, [pts], False, 255, width, cv2.LINE_AA)


def _spiral(canvas, rng, width) -> None:
    t = np.linspace(0, rng.uniform(4, 7) * np.pi, 200)  # two turns or more: fewer are a 6
    r = 0.45 * SIDE * t / t[-1]
    pts = SIDE / 2 + np.stack([r * np.cos(t), r * np.sin(t) * rng.choice([-1, 1])], 1)
    cv2.polylines(canvas, [pts.astype(np.int32)], False, 255, max(1, width // 2), cv2.LINE_AA)


def _wave(canvas, rng, width) -> None:
    x = np.linspace(6, SIDE - 6, 100)
    y = SIDE / 2 + rng.uniform(0.1, 0.3) * SIDE * np.sin(x / SIDE * rng.uniform(3, 7) * np.pi)
    cv2.polylines(canvas, [np.stack([x, y], 1).astype(np.int32)], False, 255, width, cv2.LINE_AA)


def _scribble(canvas, rng, width) -> None:
    """A tangle of strokes: many direction changes, unlike any single digit."""
    pts = _points(rng, int(rng.integers(8, 16)), 0.45)
    cv2.polylines(canvas, [pts], False, 255, max(1, width // 2), cv2.LINE_AA)


def _dots(canvas, rng, width) -> None:
    for x, y in _points(rng, int(rng.integers(3, 12)), 0.42):
        cv2.circle(canvas, (int(x), int(y)), int(rng.integers(3, 10)), 255, -1, cv2.LINE_AA)


def _blob(canvas, rng, width) -> None:
    """A filled silhouette: a smooth random outline (an object, a stain)."""
    angles = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    coef = rng.normal(0, 0.12, 6)
    radius = 0.32 + sum(c * np.cos((k + 2) * angles + rng.uniform(0, 6)) for k, c in enumerate(coef))
    radius = np.clip(radius, 0.1, 0.48) * SIDE
    stretch = rng.uniform(0.5, 1.0)
    pts = SIDE / 2 + np.stack([radius * np.cos(angles), stretch * radius * np.sin(angles)], 1)
    cv2.fillPoly(canvas, [pts.astype(np.int32)], 255, cv2.LINE_AA)


def _heart(canvas, rng, width) -> None:
    t = np.linspace(0, 2 * np.pi, 80)
    x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = (SIDE / 2 + 2.6 * np.stack([x, y], 1)).astype(np.int32)
    if width < 0 or rng.random() < 0.5:  # width < 0: filled
        cv2.fillPoly(canvas, [pts], 255, cv2.LINE_AA)
    else:
        cv2.polylines(canvas, [pts], True, 255, width, cv2.LINE_AA)


def _double_arrow(canvas, rng, width) -> None:
    """A double-shafted arrow, one or both ends: ⇒ ⇔."""
    y0, y1, head = int(0.4 * SIDE), int(0.6 * SIDE), int(0.25 * SIDE)
    for y in (y0, y1):
        cv2.line(canvas, (10, y), (SIDE - 10, y), 255, max(1, width // 2), cv2.LINE_AA)
    ends = [SIDE - 10] if rng.random() < 0.6 else [SIDE - 10, 10]
    for end in ends:
        back = end - head if end > SIDE // 2 else end + head
        tip = np.int32([[back, SIDE // 2 - head], [end, SIDE // 2], [back, SIDE // 2 + head]])
        cv2.polylines(canvas, [tip], False, 255, max(1, width // 2), cv2.LINE_AA)


def _sun(canvas, rng, width) -> None:
    cv2.circle(canvas, (SIDE // 2, SIDE // 2), int(0.18 * SIDE), 255, -1, cv2.LINE_AA)
    for a in np.arange(int(rng.integers(6, 13))) * 2 * np.pi / 12:
        d = np.array([np.cos(a), np.sin(a)])
        p0, p1 = SIDE / 2 + 0.26 * SIDE * d, SIDE / 2 + 0.45 * SIDE * d
        cv2.line(canvas, tuple(map(int, p0)), tuple(map(int, p1)), 255, max(1, width // 2), cv2.LINE_AA)


def _envelope(canvas, rng, width) -> None:
    top, bottom = int(0.22 * SIDE), int(0.78 * SIDE)
    cv2.rectangle(canvas, (8, top), (SIDE - 8, bottom), 255, width, cv2.LINE_AA)
    flap = np.int32([[8, top], [SIDE // 2, int(rng.uniform(0.5, 0.65) * SIDE)], [SIDE - 8, top]])
    cv2.polylines(canvas, [flap], False, 255, width, cv2.LINE_AA)


def _club(canvas, rng, width) -> None:
    """A card suit drawn filled: three lobes (club) or a heart upside down (spade), on a stem."""
    r = int(0.16 * SIDE)
    if rng.random() < 0.5:
        for cx, cy in ((SIDE // 2, int(0.3 * SIDE)), (int(0.33 * SIDE), int(0.55 * SIDE)),
                       (int(0.67 * SIDE), int(0.55 * SIDE))):
            cv2.circle(canvas, (cx, cy), r, 255, -1, cv2.LINE_AA)
    else:
        _heart(canvas, rng, -1)
        canvas[:] = canvas[::-1]
    stem = np.int32([[SIDE // 2, SIDE // 2], [int(0.38 * SIDE), SIDE - 6], [int(0.62 * SIDE), SIDE - 6]])
    cv2.fillPoly(canvas, [stem], 255, cv2.LINE_AA)


SHAPES = (_polygon, _star, _arrow, _cross, _hatching, _grid, _zigzag, _spiral, _wave,
          _scribble, _dots, _blob, _heart, _double_arrow, _sun, _envelope, _club)


def _texture(rng: np.random.Generator) -> np.ndarray:
    """Grain at a random scale, from smooth shading to gravel, zero mean, about unit spread."""
    cells = int(rng.choice([4, 12, 40, 100]))
    return cv2.resize(rng.standard_normal((cells, cells), dtype=np.float32), (_W, _H),
                      interpolation=cv2.INTER_CUBIC)


def _scene(rng: np.random.Generator) -> np.ndarray:
    """A scene or an object, as a camera sees it: textured shapes of any grey overlapping on a
    textured background (a desk, a room, a photo) or lying on paper, with a few thin lines
    (edges, cables), photographed (light, blur, noise, JPEG) at the small training frame size."""
    on_paper = rng.random() < 0.4
    img = (rng.uniform(170, 235) if on_paper else rng.uniform(60, 200)) \
        + rng.uniform(0, 8 if on_paper else 40) * _texture(rng)
    for _ in range(int(rng.integers(1, 4) if on_paper else rng.integers(2, 12))):
        mask = np.zeros((_H, _W), np.uint8)
        pts = (rng.uniform(0.1, 0.9, (int(rng.integers(3, 7)), 2)) * [_W, _H]).astype(np.int32)
        if rng.random() < 0.5:
            cv2.fillPoly(mask, [cv2.convexHull(pts)], 1, cv2.LINE_AA)
        else:
            axes = (int(rng.integers(5, 60)), int(rng.integers(5, 60)))
            cv2.ellipse(mask, tuple(int(v) for v in pts[0]), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        surface = rng.uniform(0, 255) + rng.uniform(0, 60) * _texture(rng)
        img = np.where(mask > 0, surface, img)
    for _ in range(int(rng.integers(0, 4))):
        (x0, y0), (x1, y1) = (rng.uniform(0, 1, (2, 2)) * [_W, _H]).astype(int)
        cv2.line(img, (int(x0), int(y0)), (int(x1), int(y1)), float(rng.uniform(0, 255)),
                 int(rng.integers(1, 4)), cv2.LINE_AA)
    alpha = np.clip((img.max() - img) / 255.0, 0, 1).astype(np.float32)
    return _photograph(alpha, rng.uniform(1, 3), rng)
