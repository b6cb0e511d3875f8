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

from edge_lstm import progress
from edge_lstm.data import INPUT_SHAPE
from edge_lstm.preprocess import to_mnist

__all__ = ["augment", "augment_one"]

_W, _H = 200, 150  # small paper frame: to_mnist works on a ~160 px copy anyway


def _pen(digit28: np.ndarray, scale: float, width: float) -> np.ndarray:
    side = int(round(28 * scale))
    big = cv2.resize(digit28, (side, side), interpolation=cv2.INTER_LINEAR)
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
    """One camera-like variant of one MNIST digit, as (28, 28) uint8 (MNIST layout)."""
    scale = rng.uniform(2.6, 4.0)
    width = float(np.exp(rng.uniform(np.log(0.3), np.log(1.4))))
    ink = _pen(digit28, scale, width)
    h, w = ink.shape
    # geometry: rotation, anisotropic scale, shear, perspective, translation
    ang = np.deg2rad(rng.uniform(-16, 16))
    sx = rng.uniform(0.85, 1.15)
    sh = rng.uniform(-0.2, 0.2)
    A = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) @ np.array([[sx, sh], [0, 1.0]])
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    c = np.array([w / 2.0, h / 2.0])
    dst = (src - c) @ A.T + rng.uniform(-0.07, 0.07, (4, 2)) * w
    dst += np.array([_W / 2.0, _H / 2.0]) + rng.uniform(-20, 20, 2)
    M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    alpha = cv2.warpPerspective(ink, M, (_W, _H), flags=cv2.INTER_LINEAR)
    # paper, light, ink darkness
    xx = np.linspace(-0.5, 0.5, _W, dtype=np.float32)[None, :]
    yy = np.linspace(-0.5, 0.5, _H, dtype=np.float32)[:, None]
    t = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.0, 0.6) * (np.cos(t) * xx + np.sin(t) * yy)
    light = light - rng.uniform(0, 0.4) * (xx ** 2 + yy ** 2)
    paper = rng.uniform(120, 240) * light
    strength = rng.uniform(0.4, 0.95) * (1 + rng.uniform(0, 0.2) * cv2.resize(
        rng.standard_normal((6, 8), dtype=np.float32), (_W, _H), interpolation=cv2.INTER_CUBIC))
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
    d = to_mnist(img)
    if d is None:
        return digit28.copy()
    return np.clip(d.image * 255.0 + 0.5, 0, 255).astype(np.uint8)


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
    import multiprocessing
    import os

    pick = np.random.default_rng(seed).permutation(len(x))[:copies]
    jobs = [(x[pick[i:i + chunk]], (seed, i // chunk)) for i in range(0, len(pick), chunk)]
    out = []
    shown = progress.bar("augmenting", len(pick), "images") if show_progress \
        else contextlib.nullcontext(lambda n: None)
    with shown as advance, multiprocessing.get_context("spawn").Pool(
            os.cpu_count() or 1, initializer=cv2.setNumThreads, initargs=(1,)) as pool:
        for part in pool.imap(_augment_job, jobs):
            out.append(part)
            advance(len(part))
    return np.concatenate(out), y[pick]


def _augment_job(job) -> np.ndarray:
    images, seeds = job
    return augment(images, np.random.default_rng(seeds))
