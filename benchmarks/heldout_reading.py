"""Held-out camera frames, per kind: digits read right, and frames without a digit answered null.

Every frame is a 640x480 camera-like picture made from a source the model was never trained on
(training: MNIST's training split; digits in OpenCV's Hershey fonts and in the fonts of
converters/fonts; letters and signs in Hershey fonts; procedural shapes, scenes and objects; see
converters/augment.py and converters/negatives.py),
and goes through ``edge_lstm.infer.classify`` -- what ``edge-lstm infer`` runs -- with the
shipped recommended model (or ``--model``) on the device runtime and the default
--min-confidence 0.5; with ``--number``, through ``edge_lstm.infer.read_number`` (``infer
--number``): a digit frame is right when the number is that one digit, a frame without one when
the number is null.

Kinds (sources):
- mnist: MNIST *test* digits (edge_lstm/data/mnist_test.npz), drawn by tests/camera_frames.render;
- handwriting: other people's handwriting -- scikit-learn's 8x8 scanned digits (UCI, 1 797
  digits by 43 writers, ``sklearn.datasets.load_digits``), and digits in handwriting fonts when
  ``--fonts DIR`` names a folder of font files (e.g. @fontsource caveat, indie-flower,
  kalam, patrick-hand: ``npm pack @fontsource/caveat``, the files/*-latin-400-normal.woff);
- printed: digits in matplotlib's bundled TrueType fonts (DejaVu, STIX, Computer Modern);
- letters: letters a person would not take for a digit (converters.negatives.LETTERS) in those
  fonts and the handwriting fonts;
- shapes: symbol glyphs (stars, hearts, arrows, card suits, punctuation, maths) in DejaVu and STIX;
- objects: crops of scikit-image's and scikit-learn's sample photos laid on paper;
- scenes: the camera pointed at those photos (a crop fills the frame);
- blank: paper alone, under uneven light, with texture and noise.

Glyphs and objects are drawn with the same paper, light, pen, blur, noise and JPEG as the
MNIST frames (``render``).  Needs Pillow, scikit-learn and scikit-image (dev tools, not in the
package's dependencies).

    python benchmarks/heldout_reading.py [--frames 300] [--mnist-frames 2000] [--fonts DIR] [--model M.tflite]
        [--number]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # converters.negatives.LETTERS
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the frame renderer

from camera_frames import FONT_SUFFIXES, font_files, glyph, matplotlib_fonts, render  # noqa: E402
from converters.negatives import LETTERS  # noqa: E402  (numpy + OpenCV, no TensorFlow)
from edge_lstm import manifest  # noqa: E402
from edge_lstm.data import load_test_split  # noqa: E402
from edge_lstm.infer import classify, read_number  # noqa: E402
from edge_lstm.runtime import Classifier  # noqa: E402

MIN_CONFIDENCE = 0.5  # infer's default
PRINTED_FONTS = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSerif",
                 "DejaVuSerif-Bold", "DejaVuSerif-Italic", "DejaVuSansMono", "DejaVuSansMono-Bold",
                 "STIXGeneral", "STIXGeneralBol", "STIXGeneralItalic", "cmr10", "cmss10", "cmtt10", "cmb10")
SYMBOLS = "★☆♥♦♣♠☺☹♪♫☀☂☎✉✈✂✔✘→←↑↓↔⇒∞≈≠±×÷√∑∏∫Ω∆#@&%§¶©®?!*{}<>$€£¥~^"
SYMBOL_FONTS = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "STIXGeneral")
PHOTOS = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "horse", "clock",
          "hubble_deep_field", "immunohistochemistry", "moon", "brick", "grass", "gravel", "cat",
          "retina", "logo", "colorwheel", "microaneurysms", "cell")


def glyph_frames(fonts: list[Path], chars: str, frames: int, rng) -> list[tuple[np.ndarray, str]]:
    """``frames`` (frame, char) pairs of random characters in random fonts (glyphs a font lacks skipped)."""
    glyphs = [(g, c) for f in fonts for c in chars if (g := glyph(f, c)) is not None]
    picks = rng.choice(len(glyphs), frames, replace=len(glyphs) < frames)
    return [(render(glyphs[i][0], rng), glyphs[i][1]) for i in picks]


def sklearn_digits(frames: int, rng) -> list[tuple[np.ndarray, str]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    picks = rng.choice(len(digits.target), frames, replace=False)
    out = []
    for i in picks:
        small = (digits.images[i] * (255 / 16)).astype(np.uint8)
        big = cv2.resize(small, (24, 24), interpolation=cv2.INTER_LINEAR)
        out.append((render(np.pad(big, 2), rng), str(digits.target[i])))
    return out


def photos() -> list[np.ndarray]:
    """Grey sample photos of scikit-image and scikit-learn."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    out = []
    for name in PHOTOS:
        image = np.asarray(getattr(skimage.data, name)())
        if image.dtype == bool:
            image = image.astype(np.uint8) * 255
        elif image.dtype != np.uint8:
            image = cv2.normalize(image.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        out.append(cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image)
    out += [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for image in load_sample_images().images]
    return out


def _crop(photo: np.ndarray, aspect: float, rng) -> np.ndarray:
    height, width = photo.shape
    h = int(rng.uniform(0.3, 1.0) * min(height, width / aspect))
    w = int(h * aspect)
    y, x = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
    return photo[y:y + h, x:x + w]


def _camera(frame: np.ndarray, rng) -> np.ndarray:
    """Uneven light, defocus, sensor noise and JPEG on a grey frame; BGR out."""
    h, w = frame.shape
    xx, yy = np.meshgrid(np.linspace(-0.5, 0.5, w), np.linspace(-0.5, 0.5, h))
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0, 0.5) * (np.cos(angle) * xx + np.sin(angle) * yy)
    lit = frame.astype(np.float32) * light.astype(np.float32)
    image = cv2.GaussianBlur(lit, (0, 0), rng.uniform(0.3, 2.0))
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(rng.uniform(1.5, 6))
    image = np.clip(image, 0, 255).astype(np.uint8)
    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(45, 95))])[1]
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


def scene_frames(pictures, frames: int, rng) -> list[tuple[np.ndarray, str]]:
    """The camera pointed at a photo: a crop fills the 640x480 frame."""
    out = []
    for _ in range(frames):
        crop = _crop(pictures[rng.integers(len(pictures))], 4 / 3, rng)
        out.append((_camera(cv2.resize(crop, (640, 480), interpolation=cv2.INTER_AREA), rng), ""))
    return out


def object_frames(pictures, frames: int, rng) -> list[tuple[np.ndarray, str]]:
    """A photo crop (an object, a picture) lying on paper, 80-300 px, somewhere in the frame."""
    out = []
    for _ in range(frames):
        crop = _crop(pictures[rng.integers(len(pictures))], rng.uniform(0.6, 1.6), rng)
        scale = rng.uniform(80, 300) / max(crop.shape)
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        frame = np.full((480, 640), rng.uniform(150, 235), np.float32)
        y, x = rng.integers(8, 480 - crop.shape[0] - 8), rng.integers(8, 640 - crop.shape[1] - 8)
        frame[y:y + crop.shape[0], x:x + crop.shape[1]] = crop
        out.append((_camera(frame, rng), ""))
    return out


def kinds(frames: int, fonts: Path | None, rng, mnist_frames: int) -> dict[str, list[tuple[np.ndarray, str]]]:
    """Every held-out set: kind -> [(frame, truth)], truth "" for a frame without a digit."""
    test = load_test_split()
    mnist_rng = np.random.default_rng(int(rng.integers(2 ** 32)))  # its count leaves the others' frames alone
    picks = mnist_rng.choice(len(test), mnist_frames, replace=False)
    printed = matplotlib_fonts(PRINTED_FONTS)
    handwritten = font_files(fonts) if fonts else []
    hand = sklearn_digits(frames // 2 if handwritten else frames, rng)
    if handwritten:
        hand += glyph_frames(handwritten, "0123456789", frames - len(hand), rng)
    pictures = photos()
    return {
        "mnist": [(render(test.x[i], mnist_rng), str(test.y[i])) for i in picks],
        "handwriting": hand,
        "printed": glyph_frames(printed, "0123456789", frames, rng),
        "letters": [(f, "") for f, _ in glyph_frames(printed + handwritten, LETTERS, frames, rng)],
        "shapes": [(f, "") for f, _ in glyph_frames(matplotlib_fonts(SYMBOL_FONTS), SYMBOLS, frames, rng)],
        "objects": object_frames(pictures, frames, rng),
        "scenes": scene_frames(pictures, frames, rng),
        "blank": [(render(np.zeros((28, 28), np.uint8), rng), "") for _ in range(frames)],
    }


def score(classifier: Classifier, frames) -> tuple[float, Counter]:
    """Share of frames answered right (the digit, or null without one) and the null reasons."""
    right, reasons = 0, Counter()
    for frame, truth in frames:
        answer = classify(classifier, frame, "frame", None, None, MIN_CONFIDENCE)
        right += (answer.label is None) if not truth else (str(answer.label) == truth)
        reasons[answer.reason or "digit"] += 1
    return right / len(frames), reasons


def score_number(classifier: Classifier, frames) -> tuple[float, Counter]:
    """The same with ``infer --number``: the number is the digit, or null without one; and how
    many digits were read (unsure ones too)."""
    right, counts = 0, Counter()
    for frame, truth in frames:
        answer = read_number(classifier, frame, "frame", None, None, MIN_CONFIDENCE)
        right += answer.value == (truth or None)
        counts[f"{len(answer.digits)} read" + ("" if answer.value is None else ", a number")] += 1
    return right / len(frames), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300, help="frames per kind")
    parser.add_argument("--mnist-frames", type=int, help="MNIST-style frames (default: --frames); a "
                        "rate near 100%% needs more frames to tell 98.5%% from 97.5%%")
    parser.add_argument("--fonts", type=Path,
                        help=f"a folder of handwriting fonts ({', '.join(FONT_SUFFIXES)})")
    parser.add_argument("--model", type=Path, help="a .tflite model (default: the recommended one)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--number", action="store_true", help="read each frame as infer --number does")
    args = parser.parse_args()
    mnist_frames = args.mnist_frames or args.frames
    classifier = Classifier(args.model or manifest.recommended_model())
    print(f"model {classifier.path.name} on {classifier.runtime}; {args.frames} frames per kind "
          f"({mnist_frames} MNIST-style), --min-confidence {MIN_CONFIDENCE}")
    print("| kind | right | answers |\n|---|---:|---|")
    rejected = total = 0
    sets = kinds(args.frames, args.fonts, np.random.default_rng(args.seed), mnist_frames)
    for kind, frames in sets.items():
        rate, reasons = (score_number if args.number else score)(classifier, frames)
        if not frames[0][1]:
            rejected, total = rejected + rate * len(frames), total + len(frames)
        shown = ", ".join(f"{k} {v}" for k, v in reasons.most_common())
        print(f"| {kind} | {rate:.1%} | {shown} |", flush=True)
    print(f"| every frame without a digit | {rejected / total:.1%} | |")


if __name__ == "__main__":
    main()
