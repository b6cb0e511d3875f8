"""Classifying a digit in several views: the image and slightly rotated copies of it, one model
call, the geometric mean of their probabilities.

A digit reads the same in all views; what the model never saw (a letter, a symbol, a pair of
digits or a piece of one) is read less consistently, so its digit confidence drops and "not a
digit" or "unsure" wins more often. What that gained, on frames of training sources and then on
held-out camera frames: docs/accuracy.md.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from edge_lstm.preprocess import MNIST_SIDE

VIEWS = (-10.0, 10.0)  # degrees: the rotated copies an image is also classified in
CHANNELS = 4  # images warped in one OpenCV call


def classify(images: list[np.ndarray], predict: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Probabilities of ``images`` (each MNIST_SIDE²): the geometric mean over the image and its
    :data:`VIEWS`, all in one ``predict`` call."""
    views = [np.stack(images)]
    centre = ((MNIST_SIDE - 1) / 2, (MNIST_SIDE - 1) / 2)
    for angle in VIEWS:
        views.append(_turned(views[0], cv2.getRotationMatrix2D(centre, angle, 1.0)))
    probs = predict(np.concatenate(views)).reshape(len(views), len(images), -1)
    mean = np.exp(np.log(np.maximum(probs, 1e-6)).mean(0))
    return mean / mean.sum(1, keepdims=True)


def _turned(images: np.ndarray, turn: np.ndarray) -> np.ndarray:
    """``images`` (N, side, side) warped by ``turn``, CHANNELS at a time as the channels of one
    image: one OpenCV call per group. Every group has CHANNELS (the last padded): OpenCV warps
    two channels a little differently from one, three or four."""
    count, side = len(images), images.shape[1]
    padded = np.concatenate([images, np.zeros((-count % CHANNELS, side, side), images.dtype)])
    groups = padded.reshape(-1, CHANNELS, side, side).transpose(0, 2, 3, 1)  # (side, side, CHANNELS) each
    turned = np.stack([cv2.warpAffine(np.ascontiguousarray(group), turn, (side, side)) for group in groups])
    return turned.transpose(0, 3, 1, 2).reshape(-1, side, side)[:count]
