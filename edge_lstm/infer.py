"""``edge-lstm infer``: frames → MNIST-like digits → answers, one line (or JSON object) each.

The loop is the same for files, a video and a camera (OpenCV reads a video file the way it reads
a camera). Ctrl-C ends a run cleanly with its summary.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import cv2
import numpy as np

from edge_lstm import atomic
from edge_lstm.errors import EdgeLstmError
from edge_lstm.preprocess import Digit, to_mnist
from edge_lstm.runtime import Classifier
from edge_lstm.sources import Frame

WINDOW = "edge-lstm"


@dataclass
class Answer:
    source: str
    frame: int | None
    label: int | None                 # None: no digit found, or not confident enough
    confidence: float
    top3: list[tuple[int, float]]
    ms: float
    digit: Digit | None = None

    def as_dict(self) -> dict:
        return {"source": self.source, "frame": self.frame, "label": self.label,
                "confidence": round(self.confidence, 4),
                "top3": [[int(k), round(float(p), 4)] for k, p in self.top3], "ms": round(self.ms, 3),
                "box": list(self.digit.box) if self.digit and self.digit.box else None}

    def line(self) -> str:
        where = self.source if self.frame is None else f"{self.source}#{self.frame}"
        if self.label is None:
            return f"{where}: none ({self.confidence:.0%}) {self.ms:.1f} ms"
        return f"{where}: {self.label} ({self.confidence:.0%}) {self.ms:.1f} ms"


def classify(classifier: Classifier, image: np.ndarray, source: str, frame: int | None,
             roi=None, min_confidence: float = 0.0) -> Answer:
    """One frame → an answer; ``label`` is None when no digit is found or below ``min_confidence``."""
    start = time.perf_counter()
    try:
        digit = to_mnist(image, roi)
    except ValueError as e:  # a --roi outside the frame, an empty image
        raise EdgeLstmError(f"{source}: {e}") from None
    if digit is None:
        return Answer(source, frame, None, 0.0, [], 1e3 * (time.perf_counter() - start))
    probs = classifier.predict(digit.image)
    order = np.argsort(probs)[::-1][:3]
    confidence = float(probs[order[0]])
    label = int(order[0]) if confidence >= min_confidence else None
    return Answer(source, frame, label, confidence, [(int(k), float(probs[k])) for k in order],
                  1e3 * (time.perf_counter() - start), digit)


@dataclass
class Summary:
    frames: int = 0
    answered: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    interrupted: bool = False

    def text(self) -> str:
        fps = self.frames / self.seconds if self.seconds > 0 else 0.0
        lat = np.percentile(self.latencies_ms, [50, 95]) if self.latencies_ms else [0.0, 0.0]
        end = " (interrupted)" if self.interrupted else ""
        return (f"{self.frames} inputs, {self.answered} digits, {self.frames - self.answered - self.errors} "
                f"without a digit, {self.errors} errors; {fps:.1f} inputs/s; latency p50 {lat[0]:.2f} ms, "
                f"p95 {lat[1]:.2f} ms{end}")


def run(frames: Iterable[Frame], classifier: Classifier, echo: Callable[[str], None], *,
        roi=None, min_confidence: float = 0.0, max_frames: int | None = None, as_json: bool = False,
        show: bool = False, save: Path | None = None) -> Summary:
    """Classify every frame; report each on one line; return the run's summary."""
    summary = Summary()
    start = time.perf_counter()
    try:
        for frame in frames:
            if max_frames is not None and summary.frames >= max_frames:
                break
            summary.frames += 1
            if frame.error:
                summary.errors += 1
                echo(json.dumps({"source": frame.source, "error": frame.error}) if as_json
                     else f"{frame.source}: error: {frame.error}")
                continue
            answer = classify(classifier, frame.image, frame.source, frame.index, roi, min_confidence)
            summary.latencies_ms.append(answer.ms)
            summary.answered += answer.label is not None
            echo(json.dumps(answer.as_dict()) if as_json else answer.line())
            if show or save:
                fps = summary.frames / max(time.perf_counter() - start, 1e-9)
                picture = annotate(frame.image, answer, fps)
                if save:
                    _save(picture, save, frame)
                if show and _show(picture):
                    break
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if show:
            cv2.destroyAllWindows()
    summary.seconds = time.perf_counter() - start
    return summary


def annotate(image: np.ndarray, answer: Answer, fps: float) -> np.ndarray:
    """The frame with the digit's box, the 28×28 input in a corner, the answer and the FPS."""
    picture = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if answer.digit is not None:
        if answer.digit.box:
            x, y, w, h = answer.digit.box
            cv2.rectangle(picture, (x, y), (x + w, y + h), (0, 200, 0), 2)
        inset = cv2.resize((answer.digit.image * 255).astype(np.uint8), (112, 112),
                           interpolation=cv2.INTER_NEAREST)
        ih, iw = min(112, picture.shape[0]), min(112, picture.shape[1])
        picture[:ih, -iw:] = cv2.cvtColor(inset, cv2.COLOR_GRAY2BGR)[:ih, :iw]
    text = "none" if answer.label is None else f"{answer.label} ({answer.confidence:.0%})"
    cv2.putText(picture, f"{text}  {fps:.1f} fps", (8, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 255), 2)
    return picture


def _save(picture: np.ndarray, folder: Path, frame: Frame) -> None:
    name = Path(frame.source).stem if frame.index is None else f"{Path(frame.source).stem}_{frame.index:06d}"
    ok, encoded = cv2.imencode(".jpg", picture)
    if not ok:
        raise EdgeLstmError(f"cannot encode the annotated frame for {frame.source}")
    atomic.write_bytes(Path(folder) / f"{name.replace(':', '_')}.jpg", encoded.tobytes())


def _show(picture: np.ndarray) -> bool:
    """Show the picture; True when the user pressed q or Esc."""
    try:
        cv2.imshow(WINDOW, picture)
        return cv2.waitKey(1) & 0xFF in (ord("q"), 27)
    except cv2.error:
        raise EdgeLstmError("--show needs a display and an OpenCV build with GUI support "
                            "(opencv-python, not -headless); run headless without --show") from None
