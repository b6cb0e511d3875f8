"""Camera-condition augmentation of MNIST training images (numpy + OpenCV only).

``augment(x, rng)`` takes MNIST images (N, 28, 28) uint8 and returns the same number of
camera-like variants, (N, 28, 28) uint8, made the way the device sees a digit: each digit is drawn
as a pen stroke (thinner or thicker than MNIST's) on a small sheet of paper with uneven light and
noise, slightly rotated / sheared / put in perspective, blurred, optionally JPEG-compressed, and
then run through :func:`edge_lstm.preprocess.to_mnist` -- the same preprocessing as on the device.
So the model is trained on what preprocessing actually produces from a camera, not on a guess.

About 2-4 ms per image on one core.  Deterministic for a given ``rng``.
"""

from __future__ import annotations

import contextlib

import cv2
import numpy as np

from converters.font_digits import font_ink
from converters.hershey import text_ink
from edge_lstm import progress
from edge_lstm.data import INPUT_SHAPE
from edge_lstm.preprocess import to_mnist

__all__ = ["augment", "augment_one"]

_W, _H = 200, 150  # small paper frame: to_mnist works on a ~160 px copy anyway
PRINTED_STREAM = 11  # keeps the printed digits' random streams apart from the augmentation's
FONT_SHARE = 0.5  # share of printed digits in TrueType fonts (converters.font_digits), the rest Hershey
LOW_RES = 0.2  # share of digits first shrunk to 8-14 px, as a small or coarse scan draws them


def _pen(digit28: np.ndarray, scale: float, width: float) -> np.ndarray:
    """The strokes of ``digit28`` (28 rows, any width) drawn ``scale`` times larger with a pen
    ``width`` times MNIST's, with an 8 px border: float32, 1 = ink."""
    size = (int(round(digit28.shape[1] * scale)), int(round(digit28.shape[0] * scale)))
    big = cv2.resize(digit28, size, interpolation=cv2.INTER_LINEAR)
    big = cv2.GaussianBlur(big, (0, 0), 0.5 * scale)
    shape = (big > 90).astype(np.uint8)
    shape = cv2.copyMakeBorder(shape, 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=0)
    if width < 1.0:
        dist = cv2.distanceTransform(shape, cv2.DIST_L2, 3)
        k = int(2 * np.ceil(1.5 * scale) + 1)
        local = cv2.dilate(dist, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        ink = np.clip(dist - (1.0 - width) * local + 0.5, 0, 1) * shape
        ink = np.maximum(ink, ((dist >= local - 1e-3) & (shape > 0)).astype(np.float32))
    else:
        out = cv2.distanceTransform(1 - shape, cv2.DIST_L2, 3)
        ink = np.clip((width - 1.0) * 1.3 * scale + 0.5 - out, 0, 1)
    return ink.astype(np.float32)


def augment_one(digit28: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One camera-like variant of one MNIST digit, as (28, 28) uint8 (MNIST layout): another pen
    (thin to thick), slant, size and aspect, sometimes a coarse scan, on paper seen by a camera."""
    if rng.random() < LOW_RES:  # a small or coarsely scanned digit: blocky, soft strokes
        side = int(rng.integers(8, 15))
        small = cv2.resize(digit28, (side, side), interpolation=cv2.INTER_AREA)
        blocky = rng.random() < 0.5
        digit28 = cv2.resize(small, (28, 28), interpolation=cv2.INTER_NEAREST if blocky else cv2.INTER_LINEAR)
    scale = rng.uniform(1.8, 4.0)
    width = float(np.exp(rng.uniform(np.log(0.3), np.log(2.2))))
    return on_paper(_pen(digit28, scale, width), scale, rng, digit28)


def drawn(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """An ink map of any size (a glyph, a shape) resized to a digit's size here, then ``on_paper``."""
    long_side = rng.uniform(45, 130)  # the digits' long side on the paper, as augment_one draws them
    zoom = long_side / max(ink.shape)
    ink = cv2.resize(ink, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_AREA)
    return on_paper(ink, long_side / 28, rng)


def printed_copies(count: int, seed: int, chunk: int = 1000,
                   show_progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``count`` camera-like printed digits (TrueType and Hershey fonts) and their labels, 0-9 in turn; one
    seeded generator per chunk spread over the CPU cores, as for ``augmented_copies``."""
    jobs = [(start, min(chunk, count - start), (seed, PRINTED_STREAM, start // chunk))
            for start in range(0, count, chunk)]
    labels = (np.arange(count) % 10).astype(np.uint8)
    return in_pool(_printed_job, jobs, count, "printed digits", show_progress), labels


def _printed_job(job) -> np.ndarray:
    start, count, seeds = job
    rng = np.random.default_rng(seeds)
    out = np.empty((count, *INPUT_SHAPE), np.uint8)
    for i in range(count):
        ink = font_ink if rng.random() < FONT_SHARE else text_ink
        while (image := drawn(ink(str((start + i) % 10), rng), rng)) is None:
            pass  # nothing found on the paper (too faint): draw it again
        out[i] = image
    return out


def on_paper(ink: np.ndarray, scale: float, rng: np.random.Generator,
             fallback: np.ndarray | None = None) -> np.ndarray | None:
    """An ink map (float32, 1 = ink) drawn at ``scale`` times MNIST's size, placed on a small sheet of
    paper (rotated, slanted, in perspective), lit, blurred, noisy, maybe JPEG, and read back by
    :func:`to_mnist`: (28, 28) uint8, or ``fallback`` (None if not given) when no mark is found."""
    h, w = ink.shape
    ang = np.deg2rad(rng.uniform(-16, 16))
    sx = rng.uniform(0.75, 1.25)
    sh = rng.uniform(-0.4, 0.4)  # slant: upright to strongly italic handwriting
    A = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) @ np.array([[sx, sh], [0, 1.0]])
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    c = np.array([w / 2.0, h / 2.0])
    dst = (src - c) @ A.T + rng.uniform(-0.07, 0.07, (4, 2)) * w
    dst += np.array([_W / 2.0, _H / 2.0]) + rng.uniform(-20, 20, 2)
    M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    alpha = cv2.warpPerspective(ink, M, (_W, _H), flags=cv2.INTER_LINEAR)
    img = _photograph(alpha, scale, rng)
    d = to_mnist(img)
    if d is None:
        return None if fallback is None else fallback.copy()
    return np.clip(d.image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _photograph(alpha: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Ink ``alpha`` on paper under uneven light, blurred, noisy, maybe JPEG, maybe inverted."""
    height, width = alpha.shape
    xx = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    yy = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    t = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.0, 0.6) * (np.cos(t) * xx + np.sin(t) * yy)
    light = light - rng.uniform(0, 0.4) * (xx ** 2 + yy ** 2)
    paper = rng.uniform(120, 240) * light
    strength = rng.uniform(0.4, 0.95) * (1 + rng.uniform(0, 0.2) * cv2.resize(
        rng.standard_normal((6, 8), dtype=np.float32), (width, height), interpolation=cv2.INTER_CUBIC))
    img = paper * (1.0 - np.clip(alpha * strength, 0, 0.98))
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.8) * scale / 3.0)
    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(1, 7))
    img = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        quality = int(rng.integers(40, 95))
        jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        img = cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)
    if rng.random() < 0.2:  # light ink on a dark board
        img = 255 - img
    return img


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera-like variants of MNIST images: (N, 28, 28) uint8 -> (N, 28, 28) uint8."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1:] != INPUT_SHAPE or x.dtype != np.uint8:
        raise ValueError(f"augment expects (N, 28, 28) uint8, got {x.shape} {x.dtype}")
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = augment_one(x[i], rng)
    return out


def augmented_copies(x: np.ndarray, y: np.ndarray, copies: int, seed: int = 0,
                     chunk: int = 1000, show_progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` camera-like variants of reproducibly chosen training images, with their labels.

    Work is split into fixed chunks, each with its own seeded generator, and spread over the CPU
    cores; the result is the same whatever the number of cores."""
    pick = np.random.default_rng(seed).permutation(len(x))[:copies]
    jobs = [(x[pick[i:i + chunk]], (seed, i // chunk)) for i in range(0, len(pick), chunk)]
    return in_pool(_augment_job, jobs, len(pick), "augmenting", show_progress), y[pick]


def in_pool(work, jobs: list, total: int, what: str, show_progress: bool) -> np.ndarray:
    """``work(job)`` for every job on every CPU core (one OpenCV thread each), the image arrays it
    returns joined in job order; a progress bar of ``total`` images unless ``show_progress`` is False."""
    import multiprocessing
    import os

    out = []
    shown = progress.bar(what, total, "images") if show_progress else contextlib.nullcontext(lambda n: None)
    with shown as advance, multiprocessing.get_context("spawn").Pool(
            os.cpu_count() or 1, initializer=cv2.setNumThreads, initargs=(1,)) as pool:
        for part in pool.imap(work, jobs):
            out.append(part)
            advance(len(part))
    return np.concatenate(out)


def _augment_job(job) -> np.ndarray:
    images, seeds = job
    return augment(images, np.random.default_rng(seeds))
