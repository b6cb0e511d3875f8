"""Held-out number reading: exact-read rate per number length and time per 640x480 frame.

Numbers are composed from MNIST *test* digits (edge_lstm/data/mnist_test.npz, never trained on
and never used to tune the segmentation) and drawn as camera frames by
tests/camera_frames.render_number, in two sets:
- ``camera``: digits side by side with gaps from -3 px (at MNIST's 28-px scale: overlapping,
  touching strokes) to 8 px, each shifted up or down by up to 2 px, the line sloped by up to 8
  degrees, on paper with uneven light, blur, noise and JPEG;
- ``harder``: gaps from -5 to 14 px, slope up to 12 degrees, and digits of different heights in
  one number (70-100%, each at a random height on the line);
- ``spaced`` and ``overlapping``: the ``camera`` set split by its gaps, 1 to 8 px (every digit
  stands apart) and -3 to 0 px (every pair touches or overlaps), to show where reads fail;
- ``gapN`` (``gap0``, ``gap-2``, ...): the ``camera`` set with every gap N px, to show how reads
  fall as digits overlap more.
With ``--fonts DIR`` (a folder of handwriting fonts, e.g. heldout_reading.py's), the numbers are
written in those fonts' digits instead: each number in one font, as one person writes it, its
digits random; sized like MNIST's (``camera_frames.mnist_like``) and drawn in the same sets.
Each frame goes through ``edge_lstm.infer.read_number`` (what ``infer --number`` runs) with the
shipped recommended model (or ``--model``) and the default --min-confidence 0.5. A read is exact
when every digit is right, in the right order, and no digit is missing or extra.

Timing: the median over the 4-digit frames, against ``classify`` (one digit, ``infer``) on the
same frames in the same process as the baseline; and a page of 200 blobs (candidates capped).
Wall-clock time, and CPU time of the process beside it: on a shared machine a frame waiting for
a core shows in the first only.

    python benchmarks/number_reading.py [--frames 300] [--lengths 2,3,4,5,6]
        [--sets camera,harder,spaced,overlapping,gap0,gap-1,gap-2,gap-3] [--fonts DIR] [--model M.tflite]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the frame renderer

from camera_frames import FONT_SUFFIXES, font_files, glyph, mnist_like, render_number  # noqa: E402
from edge_lstm import manifest  # noqa: E402
from edge_lstm.data import load_test_split  # noqa: E402
from edge_lstm.infer import classify, read_number  # noqa: E402
from edge_lstm.runtime import Classifier  # noqa: E402

SETS = {  # name -> (seed base, render_number keyword arguments)
    "camera": (1000, {}),
    "harder": (2000, {"gaps": (-5, 14), "max_angle": 12.0, "heights": (0.7, 1.0)}),
    "spaced": (3000, {"gaps": (1, 8)}),
    "overlapping": (4000, {"gaps": (-3, 0)}),
}
DEFAULT_SETS = "camera,harder"  # the split ones on request
GAP_SEED = 5000  # gapN: seed GAP_SEED + 100 * N + length
Writer = Callable[[np.random.Generator, int], tuple[list[np.ndarray], str]]  # a number's digits and its text


def style_of(kind: str) -> tuple[int, dict]:
    """(seed base, render_number keyword arguments) of the set named ``kind``."""
    if kind in SETS:
        return SETS[kind]
    if kind.startswith("gap") and kind[3:].lstrip("-").isdigit():
        gap = int(kind[3:])
        return GAP_SEED + 100 * gap, {"gaps": (gap, gap)}
    raise SystemExit(f"unknown set {kind!r}: choose from {', '.join(SETS)} or gapN (N in px, e.g. gap-2)")


def mnist_writer() -> Writer:
    """Numbers of MNIST test digits."""
    test = load_test_split()

    def write(rng: np.random.Generator, length: int) -> tuple[list[np.ndarray], str]:
        picks = rng.choice(len(test), length, replace=False)
        return list(test.x[picks]), "".join(map(str, test.y[picks]))
    return write


def font_writer(folder: Path) -> Writer:
    """Numbers written in one of the fonts in ``folder``."""
    fonts = font_files(folder)
    if not fonts:
        raise SystemExit(f"no font ({', '.join(FONT_SUFFIXES)}) in {folder}")
    glyphs = {(font, d): glyph(font, str(d)) for font in fonts for d in range(10)}
    if lacking := sorted({font.name for (font, _), ink in glyphs.items() if ink is None}):
        raise SystemExit(f"fonts without all ten digits: {', '.join(lacking)}")
    digits = {key: mnist_like(ink) for key, ink in glyphs.items()}

    def write(rng: np.random.Generator, length: int) -> tuple[list[np.ndarray], str]:
        font, text = fonts[rng.integers(len(fonts))], rng.integers(0, 10, length)
        return [digits[font, d] for d in text], "".join(map(str, text))
    return write


def measure(classifier: Classifier, write: Writer, length: int, frames: int,
            kind: str) -> tuple[float, float, list, list]:
    """(exact-read rate, rate with the right digit count, (wall, CPU) ms per frame with --number,
    the same for one digit)."""
    seed, style = style_of(kind)
    rng = np.random.default_rng(seed + length)
    exact = counted = 0
    number_ms, digit_ms = [], []
    for _ in range(frames):
        digits, truth = write(rng, length)
        frame = render_number(digits, rng, **style)
        answer, ms = timed(read_number, classifier, frame, "frame", None, None, 0.5)
        number_ms.append(ms)
        digit_ms.append(timed(classify, classifier, frame, "frame", None, None, 0.5)[1])
        exact += answer.value == truth
        counted += len(answer.digits) == length
    return exact / frames, counted / frames, number_ms, digit_ms


def timed(function, *args):
    """``function(*args)`` and the (wall, CPU) milliseconds it took."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, (1e3 * (time.perf_counter() - wall), 1e3 * (time.process_time() - cpu))


def blobs_page() -> np.ndarray:
    """8 lines of 25 strokes: more components, and more on a line, than are read."""
    page = np.full((480, 640), 220, np.uint8)
    for k in range(200):
        x, y = 16 + (k % 25) * 24, 16 + (k // 25) * 56
        cv2.rectangle(page, (x, y), (x + 7, y + 19), 30, -1)
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--lengths", default="2,3,4,5,6")
    parser.add_argument("--sets", default=DEFAULT_SETS, help=f"of {', '.join(SETS)}, gapN")
    parser.add_argument("--fonts", type=Path, help="a folder of handwriting fonts: numbers in their digits")
    parser.add_argument("--model", type=Path, help="a .tflite model (default: the recommended one)")
    args = parser.parse_args()
    for kind in args.sets.split(","):
        style_of(kind)  # an unknown name fails before any frame is read
    write = font_writer(args.fonts) if args.fonts else mnist_writer()
    classifier = Classifier(args.model or manifest.recommended_model())
    source = f"digits in the fonts of {args.fonts}" if args.fonts else "MNIST test digits"
    print(f"model {classifier.path.name} on {classifier.runtime}; {args.frames} frames per length; {source}")
    for kind in args.sets.split(","):
        for length in (int(n) for n in args.lengths.split(",")):
            exact, counted, number_ms, digit_ms = measure(classifier, write, length, args.frames, kind)
            line = f"{kind} {length} digits: exact {exact:.1%}, digit count right {counted:.1%}"
            if length == 4:
                (number, number_cpu), (digit, digit_cpu) = np.median(number_ms, 0), np.median(digit_ms, 0)
                line += (f"; 640x480 frame median {number:.2f} ms with --number ({number_cpu:.2f} ms CPU), "
                         f"{digit:.2f} ms for one digit ({digit_cpu:.2f} ms CPU), ratio {number / digit:.2f} "
                         f"({number_cpu / digit_cpu:.2f} CPU)")
            print(line, flush=True)
    page = blobs_page()
    read_number(classifier, page, "warm-up", None)
    answers = [timed(read_number, classifier, page, "blobs", None) for _ in range(20)]
    wall, cpu = np.median([ms for _, ms in answers], 0)
    print(f"200 blobs: median {wall:.2f} ms ({cpu:.2f} ms CPU), capped {answers[0][0].capped}, "
          f"{len(answers[0][0].digits)} digits read")


if __name__ == "__main__":
    main()
