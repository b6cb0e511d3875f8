"""Text in OpenCV's Hershey fonts as soft ink maps: printed digits to train on (converters.augment,
with the TrueType digits of converters.font_digits) and letters that are not digits
(converters.negatives).  The held-out camera sets' fonts stay out of training
(benchmarks/heldout_reading.py)."""

from __future__ import annotations

import cv2
import numpy as np

FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_DUPLEX,
         cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX_SMALL,
         cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)
ITALIC = 0.3  # share of text slanted
SIDE = 96  # canvas height the text is drawn at


def text_ink(text: str, rng: np.random.Generator) -> np.ndarray:
    """``text`` in a random Hershey font, upright or italic, thin to bold, cropped to its ink."""
    font = int(rng.choice(FONTS)) | (cv2.FONT_ITALIC if rng.random() < ITALIC else 0)
    thickness = int(rng.integers(1, 9))
    (w, h), base = cv2.getTextSize(text, font, 1.0, thickness)
    scale = 0.8 * SIDE / max(w, h + base)
    (w, h), base = cv2.getTextSize(text, font, scale, thickness)
    canvas = np.zeros((SIDE, max(SIDE, w + 16)), np.uint8)
    cv2.putText(canvas, text, (8, (SIDE + h - base) // 2), font, scale, 255, thickness, cv2.LINE_AA)
    return cropped(canvas, rng)


def cropped(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A drawing (uint8, 255 = ink) cropped to its ink with a border, as a soft float ink map."""
    ys, xs = np.nonzero(canvas)
    crop = canvas[ys.min():ys.max() + 1, xs.min():xs.max() + 1] if ys.size else canvas
    crop = cv2.copyMakeBorder(crop, 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=0)
    return cv2.GaussianBlur(crop.astype(np.float32) / 255.0, (0, 0), rng.uniform(0.5, 1.0))
