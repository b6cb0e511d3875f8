"""``edge-lstm infer``: frames → MNIST-like digits → answers, one line (or JSON object) each.

The loop is the same for files, a video and a camera (OpenCV reads a video file the way it reads
a camera). Ctrl-C ends a run with its summary; the exit code says it was interrupted.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from edge_lstm import atomic, marks, views
from edge_lstm.data import DIGITS, NOT_A_DIGIT
from edge_lstm.errors import EdgeLstmError
from edge_lstm.exits import INTERRUPTED
from edge_lstm.number import find_digits
from edge_lstm.preprocess import Digit, _search_region, to_mnist
from edge_lstm.runtime import Classifier
from edge_lstm.sources import Frame

Box = tuple[int, int, int, int]  # x, y, w, h
WINDOW = "edge-lstm"
NAME_BYTES = 255  # the longest file name on Linux file systems
WINDOW_PROBE = "import cv2; cv2.namedWindow('probe'); cv2.waitKey(1); cv2.destroyAllWindows()"
# Why a frame has no digit (``reason`` in JSON): nothing stands out from the paper; the model's
# "not a digit" output wins (a letter, a shape, an object, a scene) or the mark is a stroke with a
# dot (``marks``); the best digit is below --min-confidence.
BLANK, NOT_DIGIT, UNSURE = "blank", "not a digit", "unsure"


@dataclass
class Answer:
    source: str
    frame: int | None
    label: int | None                 # None: no digit, ``reason`` says why
    confidence: float                 # of the label; of "not a digit" (1: a dot); of the best digit if unsure
    top3: list[tuple[int, float]]     # the three likeliest digits
    ms: float
    digit: Digit | None = None
    reason: str | None = None         # BLANK, NOT_DIGIT or UNSURE when label is None

    @property
    def box(self) -> Box | None:
        """The digit's box in the frame (preprocessing keeps it inside)."""
        return self.digit.box if self.digit else None

    def as_dict(self) -> dict:
        return {"source": self.source, "frame": self.frame, "label": self.label,
                "confidence": round(self.confidence, 4),
                "top3": [[int(k), round(float(p), 4)] for k, p in self.top3], "ms": round(self.ms, 3),
                "box": list(self.box) if self.box else None, "reason": self.reason}

    @property
    def value(self) -> str | None:
        """What was read, as text: the digit, or None."""
        return None if self.label is None else str(self.label)

    def line(self) -> str:
        where = self.source if self.frame is None else f"{self.source}#{self.frame}"
        if self.reason == BLANK:
            return f"{where}: none (blank) {self.ms:.1f} ms"
        if self.label is None:
            return f"{where}: none ({self.reason}, {self.confidence:.0%}) {self.ms:.1f} ms"
        return f"{where}: {self.label} ({self.confidence:.0%}) {self.ms:.1f} ms"


@dataclass
class NumberAnswer:
    """``infer --number``: every digit on the frame's line of writing, left to right."""
    source: str
    frame: int | None
    digits: list[tuple[int | None, float, Box | None]]  # label (None: unsure), confidence, box
    capped: bool  # more candidates than find_digits reads: some were not read
    ms: float

    @property
    def value(self) -> str | None:
        """The number, or None when there is no digit or one of them is unsure."""
        labels = [label for label, _, _ in self.digits]
        return "".join(map(str, labels)) if labels and None not in labels else None

    def as_dict(self) -> dict:
        return {"source": self.source, "frame": self.frame, "number": self.value,
                "digits": [{"label": label, "confidence": round(p, 4), "box": list(box) if box else None}
                           for label, p, box in self.digits],
                "capped": self.capped, "ms": round(self.ms, 3)}

    def line(self) -> str:
        where = self.source if self.frame is None else f"{self.source}#{self.frame}"
        read = "".join("?" if label is None else str(label) for label, _, _ in self.digits)
        text = self.value or (f"none ({read}: a digit unsure)" if read else "none")
        return f"{where}: {text}{' (capped)' if self.capped else ''} {self.ms:.1f} ms"


def classify(classifier: Classifier, image: np.ndarray, source: str, frame: int | None,
             roi=None, min_confidence: float = 0.0) -> Answer:
    """One frame → an answer; ``label`` is None (and ``reason`` says why) when nothing stands out
    from the paper, when the model says it is not a digit, or below ``min_confidence``."""
    start = time.perf_counter()
    try:
        digit = to_mnist(image, roi)
    except ValueError as e:  # a --roi outside the frame, an empty image
        raise EdgeLstmError(f"{source}: {e}") from None
    if digit is None:
        return Answer(source, frame, None, 0.0, [], 1e3 * (time.perf_counter() - start), reason=BLANK)
    probs = views.classify([digit.image], classifier.predict)[0]  # three views: one invoke
    order = np.argsort(probs[:DIGITS])[::-1][:3]
    top3 = [(int(k), float(probs[k])) for k in order]
    best = int(order[0])
    confidence, not_digit = float(probs[best]), float(probs[NOT_A_DIGIT])
    if marks.has_dot(digit.image):  # a shape check, not the model's guess: certain
        reason, confidence = NOT_DIGIT, 1.0
    elif not_digit > confidence:
        reason, confidence = NOT_DIGIT, not_digit
    else:
        reason = UNSURE if confidence < min_confidence else None
    return Answer(source, frame, None if reason else best, confidence, top3,
                  1e3 * (time.perf_counter() - start), digit, reason)


def read_number(classifier: Classifier, image: np.ndarray, source: str, frame: int | None,
                roi=None, min_confidence: float = 0.0) -> NumberAnswer:
    """One frame → the number on it: candidate digits classified in one batch, the most confident
    reading kept; a digit below ``min_confidence`` has label None."""
    start = time.perf_counter()
    try:
        dx, dy, _, _ = region = _search_region(roi, image.shape[:2])  # ValueError: roi outside the frame
        # all candidates in one invoke: a last batch padded to runtime.BATCH costs a third more
        # (90 images: 1.17 ms in batches of 64, 0.81 ms in one)
        found = find_digits(image[dy:dy + region[3], dx:dx + region[2]],
                            lambda x: classifier.predict(x, batch=len(x)))
    except ValueError as e:
        raise EdgeLstmError(f"{source}: {e}") from None
    digits = []
    for digit, p, partial in zip(found.digits, found.probs, found.partial):
        label, (x, y, w, h) = int(p[:DIGITS].argmax()), digit.box
        sure = p[label] >= min_confidence and p[label] > p[NOT_A_DIGIT] and not partial
        digits.append((label if sure else None, float(p[label]), (x + dx, y + dy, w, h)))
    return NumberAnswer(source, frame, digits, found.capped, 1e3 * (time.perf_counter() - start))


class Latencies:
    """Per-frame latencies in bounded memory: every one up to SIZE, then a uniform sample of
    SIZE (reservoir sampling), so a day-long camera run does not grow."""

    SIZE = 10_000

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.seen = 0
        self._random = random.Random(0)

    def add(self, ms: float) -> None:
        self.seen += 1
        if len(self.samples) < self.SIZE:
            self.samples.append(ms)
        elif (slot := self._random.randrange(self.seen)) < self.SIZE:
            self.samples[slot] = ms

    def percentiles(self, qs: list[float]) -> list[float]:
        return list(np.percentile(self.samples, qs))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass
class Summary:
    frames: int = 0
    answered: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: Latencies = field(default_factory=Latencies)
    interrupted: bool = False
    reads: str = "digit"  # what a frame is answered with: a digit, or with --number a number

    def text(self) -> str:
        unread = self.frames - self.answered - self.errors
        line = (f"{_count(self.frames, 'input')}, {_count(self.answered, self.reads)}, "
                f"{unread} without a {self.reads}, {_count(self.errors, 'error')}")
        if self.latencies.samples:  # no rate or latency when nothing was classified
            fps = self.frames / self.seconds if self.seconds > 0 else 0.0
            p50, p95 = self.latencies.percentiles([50, 95])
            line += f"; {fps:.1f} inputs/s; latency p50 {p50:.2f} ms, p95 {p95:.2f} ms"
        return line + (" (interrupted)" if self.interrupted else "")

    @property
    def exit_code(self) -> int:
        """130 for an interrupted run, 1 when an input failed or there was none, else 0."""
        if self.interrupted:
            return INTERRUPTED
        return 1 if self.errors or not self.frames else 0


class Steady:
    """The last value (digit, number or None) read in ``frames`` consecutive frames: a live view
    that does not flicker when one frame is misread."""

    def __init__(self, frames: int) -> None:
        self.frames, self.value = frames, None
        self._latest, self._held = None, 0

    def update(self, value: str | None) -> str | None:
        self._held = self._held + 1 if value == self._latest else 1
        self._latest = value
        if self._held >= self.frames:
            self.value = value
        return self.value


def run(frames: Iterable[Frame], classifier: Classifier, echo: Callable[[str], None], *,
        roi=None, min_confidence: float = 0.0, max_frames: int | None = None, as_json: bool = False,
        show: bool = False, saver: Saver | None = None, number: bool = False,
        steady: int | None = None) -> Summary:
    """Classify every frame (``number``: read every digit on it); report each on one line, with the
    steady value when ``steady`` is given; return the run's summary."""
    summary, held = Summary(reads="number" if number else "digit"), steady and Steady(steady)
    read = read_number if number else classify
    start = time.perf_counter()
    try:
        for frame in itertools.islice(frames, max_frames):  # never pulls a frame past max_frames
            summary.frames += 1
            if frame.error:
                summary.errors += 1
                echo(json.dumps({"source": frame.source, "frame": frame.index, "error": frame.error})
                     if as_json else f"{frame.source}{_at(frame.index)}: error: {frame.error}")
                continue
            answer = read(classifier, frame.image, frame.source, frame.index, roi, min_confidence)
            summary.latencies.add(answer.ms)
            summary.answered += answer.value is not None
            echo(_report(answer, held and held.update(answer.value), as_json, bool(held)))
            if show or saver:
                fps = summary.frames / max(time.perf_counter() - start, 1e-9)
                picture = annotate(frame.image, answer, fps)
                if saver:
                    saver.save(picture, frame)
                if show and _show(picture):
                    break
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if show:
            cv2.destroyAllWindows()
    summary.seconds = time.perf_counter() - start
    return summary


def _report(answer: Answer | NumberAnswer, steady: str | None, as_json: bool, with_steady: bool) -> str:
    if as_json:
        return json.dumps({**answer.as_dict(), **({"steady": steady} if with_steady else {})})
    return answer.line() + (f"  steady: {steady or 'none'}" if with_steady else "")


def _at(index: int | None) -> str:
    return "" if index is None else f"#{index}"


def annotate(image: np.ndarray, answer: Answer | NumberAnswer, fps: float) -> np.ndarray:
    """The frame with the digit's box, the 28×28 input in a corner, the answer and the FPS
    (a number: a box and a label per digit)."""
    picture = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if isinstance(answer, NumberAnswer):
        for label, _, box in answer.digits:
            if box:
                x, y, w, h = box
                cv2.rectangle(picture, (x, y), (x + w - 1, y + h - 1), (0, 200, 0), 2)
                cv2.putText(picture, "?" if label is None else str(label), (x, max(y - 4, 12)),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 200, 0), 2)
        cv2.putText(picture, f"{answer.value or 'none'}  {fps:.1f} fps", (8, 28), cv2.FONT_HERSHEY_SIMPLEX,
                    0.8, (0, 0, 255), 2)
        return picture
    if answer.box:
        x, y, w, h = answer.box
        cv2.rectangle(picture, (x, y), (x + w - 1, y + h - 1), (0, 200, 0), 2)
    if answer.digit is not None:
        inset = cv2.resize((answer.digit.image * 255).astype(np.uint8), (112, 112),
                           interpolation=cv2.INTER_NEAREST)
        ih, iw = min(112, picture.shape[0]), min(112, picture.shape[1])
        picture[:ih, -iw:] = cv2.cvtColor(inset, cv2.COLOR_GRAY2BGR)[:ih, :iw]
    text = f"none ({answer.reason})" if answer.label is None else f"{answer.label} ({answer.confidence:.0%})"
    cv2.putText(picture, f"{text}  {fps:.1f} fps", (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2)
    return picture


class Saver:
    """Annotated frames into a new or empty folder, so no file there is one this run did not
    write: NAME.EXT.jpg for a file (a.png and a.jpg stay apart; a second a.png from another folder
    gets a.png-2.jpg), NAME.EXT_FRAME.jpg for a frame of a video or camera."""

    def __init__(self, folder: Path):
        try:
            used = folder.exists() and (not folder.is_dir() or any(folder.iterdir()))
        except OSError as e:
            raise EdgeLstmError(f"--save {folder}: {e.strerror}") from None
        if used:
            raise EdgeLstmError(f"--save {folder}: give a new or empty folder, so no file is replaced")
        self.folder = folder
        self.names: set[str] = set()  # file names written; a stream's names are unique by frame

    def save(self, picture: np.ndarray, frame: Frame) -> None:
        path = self.folder / self._name(frame)
        ok, encoded = cv2.imencode(".jpg", picture)
        if not ok:
            raise EdgeLstmError(f"cannot encode the annotated frame for {frame.source}")
        atomic.write_bytes(path, encoded.tobytes())  # a full disk: "cannot write PATH: …"

    def _name(self, frame: Frame) -> str:
        stem = _fit(Path(frame.source).name.replace(":", "_"))
        if frame.index is not None:
            return f"{stem}_{frame.index:06d}.jpg"
        name = f"{stem}.jpg"
        for n in itertools.count(2):
            if name not in self.names:
                break
            name = f"{stem}-{n}.jpg"
        self.names.add(name)
        return name


def _fit(stem: str, limit: int = NAME_BYTES - 24) -> str:
    """``stem`` cut to leave room for ``-N``/``_FRAME`` and ``.jpg`` in a 255-byte file name."""
    raw = os.fsencode(stem)
    return stem if len(raw) <= limit else os.fsdecode(raw[:limit])


def check_display() -> None:
    """Fail now, in one line, where a window cannot open: OpenCV's GUI would abort the process
    (Qt without a display), so a child process tries first."""
    displays = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not displays:
        raise EdgeLstmError("--show needs a display (DISPLAY and WAYLAND_DISPLAY are not set); "
                            "run without --show, or with --save FOLDER")
    try:
        probe = subprocess.run([sys.executable, "-I", "-c", WINDOW_PROBE], capture_output=True, timeout=30)
        failed = probe.returncode != 0
    except subprocess.TimeoutExpired:
        failed = True
    if failed:
        raise EdgeLstmError("--show cannot open a window (no usable display, or an OpenCV build "
                            "without GUI support such as opencv-python-headless); run without --show")


def _show(picture: np.ndarray) -> bool:
    """Show the picture; True when the user pressed q or Esc."""
    cv2.imshow(WINDOW, picture)
    return cv2.waitKey(1) & 0xFF in (ord("q"), 27)


def write_line(text: str, err: bool = False) -> None:
    """Print one line; a closed or full output is a one-line error, not a traceback nor a run
    that prints nothing and succeeds."""
    stream, name = (sys.stderr, "standard error") if err else (sys.stdout, "standard output")
    if stream is None:
        raise EdgeLstmError(f"{name} is closed; nowhere to write the answers")
    try:
        stream.write(text + "\n")
        stream.flush()
    except OSError as e:
        _discard(stream)
        raise EdgeLstmError(f"cannot write to {name}: {e.strerror}") from None


def _discard(stream) -> None:
    """Point a failed stream at /dev/null, so Python's flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


def command(inputs: list[str], video: Path | None, camera: int | None, *, camera_size: tuple,
            every: int, model: Path | None, runtime: str | None, threads: int | None,
            trust_model: bool, roi, min_confidence: float, max_frames: int | None,
            as_json: bool, show: bool, save: Path | None, number: bool = False,
            steady: int | None = None) -> int:
    """``edge-lstm infer``: open the one source given, load the model (refusing a changed or
    failed one), classify every frame, print the summary; returns the exit code."""
    from edge_lstm import manifest, probe, sources

    if sum([bool(inputs), video is not None, camera is not None]) != 1:
        raise EdgeLstmError("give image paths, --video FILE or --camera INDEX (exactly one)")
    if steady and inputs:
        raise EdgeLstmError("--steady holds a value across the frames of --video or --camera, "
                            "not image files")
    saver = Saver(save) if save else None  # before any work: refuse a folder with files
    if show:
        check_display()
    if inputs:
        frames = sources.files(inputs)
    elif video is not None:
        frames = sources.video(video, every)
    else:
        frames = sources.camera(camera, *camera_size, every)
    classifier = probe.load(model or manifest.recommended_model(), runtime, threads, not trust_model)
    refusal = manifest.failed_parity(classifier.path, classifier.runtime)
    if refusal:
        raise EdgeLstmError(refusal)
    summary = run(frames, classifier, write_line, roi=roi, min_confidence=min_confidence,
                  max_frames=max_frames, as_json=as_json, show=show, saver=saver, number=number,
                  steady=steady)
    write_line(summary.text(), err=as_json)
    return summary.exit_code
