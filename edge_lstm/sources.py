"""Where frames come from: image files, folders and globs, a video file, or a camera.

Each source yields :class:`Frame` objects; an input that cannot be read yields a Frame with an
``error`` instead of an image, so a run reports it and goes on with the next input.
"""

from __future__ import annotations

import glob
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from edge_lstm import MAX_IMAGE_PIXELS
from edge_lstm.errors import EdgeLstmError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
CAMERA_RETRIES = 5


@dataclass
class Frame:
    source: str
    index: int | None          # frame number in a video or camera stream; None for a file
    image: np.ndarray | None = None
    error: str | None = None


def expand_paths(patterns: list[str]) -> list[Path]:
    """Files, folders (their images, sorted) and globs → image paths, in the order given."""
    paths: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            paths += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.exists():
            paths.append(path)
        else:
            matches = sorted(glob.glob(pattern, recursive=True))
            if not matches:
                raise EdgeLstmError(f"no such file, folder or glob match: {pattern}")
            paths += [Path(m) for m in matches if Path(m).is_file()]
    return paths


def read_image(path: Path) -> Frame:
    """Decode one image file with OpenCV; unreadable files become a Frame with an error."""
    source = str(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        return Frame(source, None, error=f"cannot read: {e.strerror}")
    if data.size == 0:
        return Frame(source, None, error="empty file")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:  # OpenCV refuses images over its pixel limit
        image = None
    if image is None or image.size == 0:
        return Frame(source, None, error="cannot decode: not a supported image, corrupt, or larger "
                     f"than {MAX_IMAGE_PIXELS // 1_000_000} megapixels")
    return Frame(source, None, image=image)


def files(patterns: list[str]) -> Iterator[Frame]:
    """The images named by ``patterns``; a pattern that matches nothing fails now, not later."""
    return (read_image(path) for path in expand_paths(patterns))


def video(path: Path, every: int = 1) -> Iterator[Frame]:
    """Every ``every``-th frame of a video file, until it ends. Opens the file now."""
    if not Path(path).is_file():
        raise EdgeLstmError(f"video not found: {path}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise EdgeLstmError(f"{path}: OpenCV cannot open this video (unsupported format or corrupt file)")
    return _stream(capture, str(path), every, retries=0)


def camera(index: int, width: int | None = None, height: int | None = None, fps: float | None = None,
           every: int = 1) -> Iterator[Frame]:
    """Frames from camera ``index`` (V4L2 on Linux), retrying a dropped frame a few times.
    Opens the camera now."""
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise EdgeLstmError(
            f"cannot open camera {index}: no such device or it is busy "
            "(list cameras with 'v4l2-ctl --list-devices' or 'ls /dev/video*')")
    for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                        (cv2.CAP_PROP_FPS, fps)):
        if value:
            capture.set(prop, value)
    return _stream(capture, f"camera:{index}", every, retries=CAMERA_RETRIES)


def _stream(capture: cv2.VideoCapture, source: str, every: int, retries: int) -> Iterator[Frame]:
    """Read frames until the stream ends; a live camera gets ``retries`` tries per frame."""
    index = 0
    try:
        while True:
            ok, image = capture.read()
            failures = 0
            while not ok and failures < retries:
                failures += 1
                time.sleep(0.05 * failures)
                ok, image = capture.read()
            if not ok:
                if retries:
                    raise EdgeLstmError(f"{source}: no frame after {retries} retries (camera unplugged or busy?)")
                return
            if index % every == 0:
                yield Frame(source, index, image=image)
            index += 1
    finally:
        capture.release()
