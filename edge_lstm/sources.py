"""Where frames come from: image files, folders and globs, a video file, or a camera.

Each source yields :class:`Frame` objects; an input that cannot be read yields a Frame with an
``error`` instead of an image, so a run reports it and goes on with the next input. Only regular
files are opened, without blocking: a FIFO or a device named as an image is reported, not waited on.
"""

from __future__ import annotations

import glob
import itertools
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge_lstm import MAX_IMAGE_PIXELS, reading
from edge_lstm.errors import EdgeLstmError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm",
                  ".gif"}
CAMERA_RETRIES = 5
MAX_FILE_BYTES = 200 * 2**20    # an image file larger than this is refused unread
MAX_INPUTS = 100_000            # per folder or glob: more is a mistyped pattern, not a run
MAX_BAD_FRAMES = 25             # unreadable video frames in a row before the rest counts as lost
MAX_PAGES = 100                 # pages read from one multi-page image; the rest is reported
MULTI_PAGE_MAGIC = (b"II*\x00", b"MM\x00*", b"GIF8")  # TIFF (both byte orders), GIF
ALPHA_MAGIC = (b"\x89PNG", b"RIFF")  # PNG, WebP: the formats a drawing app saves with transparency


@dataclass
class Frame:
    source: str
    index: int | None          # frame of a video or camera, page of a multi-page image; else None
    image: np.ndarray | None = None
    error: str | None = None


def expand_paths(patterns: list[str]) -> list[Path | Frame]:
    """Files, folders (their images, sorted) and globs → image paths, in the order given; a folder
    without images is an error Frame. A pattern that names nothing fails now, not later."""
    return [found for pattern in patterns for found in _expand(pattern)]


def _expand(pattern: str) -> list[Path | Frame]:
    if not pattern:  # Path("") is the current folder: an empty "$VAR" must not read it
        raise EdgeLstmError("an input is an empty string; give a file, folder or glob")
    path = Path(pattern)
    if path.is_dir():
        try:
            images = _capped(pattern, (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        except OSError as e:
            return [Frame(pattern, None, error=f"cannot list this folder: {e.strerror}")]
        return images or [Frame(pattern, None, error="no images in this folder (looked for "
                                f"{', '.join(sorted(IMAGE_SUFFIXES))})")]
    if os.path.lexists(path):  # a file, a FIFO, a broken symlink…: read_image says what it is
        return [path]
    matches = _capped(pattern, _glob(pattern)) if glob.has_magic(pattern) else []
    if not matches:
        raise EdgeLstmError(f"no such file, folder or glob match: {pattern}")
    return matches


def _capped(pattern: str, paths: Iterable[Path]) -> list[Path]:
    found = list(itertools.islice(paths, MAX_INPUTS + 1))
    if len(found) > MAX_INPUTS:
        raise EdgeLstmError(f"{pattern} names more than {MAX_INPUTS} inputs; narrow it or split the run")
    return sorted(found)


def _glob(pattern: str) -> Iterator[Path]:
    """The pattern's matches. Unlike glob.glob, ``**`` does not descend into symlinked folders,
    so a link to ``.`` cannot make it loop."""
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    try:
        yield from Path(*parts[:first]).glob(str(Path(*parts[first:])))
    except ValueError as e:  # e.g. '**' inside a name
        raise EdgeLstmError(f"bad glob {pattern}: {e}") from None


def read_image(path: Path) -> Iterator[Frame]:
    """Decode an image file with OpenCV: one frame, or one per page (``index`` = page) for an
    animated GIF or a multi-page TIFF; what cannot be read becomes a Frame with an error."""
    source = str(path)
    try:
        data = _read_file(path)
    except EdgeLstmError as e:
        yield Frame(source, None, error=str(e))
        return
    if data.size == 0:
        yield Frame(source, None, error="empty file")
        return
    pages = _page_count(data)
    if pages == 1:
        yield _decoded(source, None, _decode(data))
        return
    for page, image in enumerate(_pages(data, min(pages, MAX_PAGES))):
        yield _decoded(source, page, image)
    if pages > MAX_PAGES:
        yield Frame(source, MAX_PAGES, error=f"more pages not read (at most {MAX_PAGES} pages "
                    "of one file)")


def _pages(data: np.ndarray, count: int) -> Iterator[np.ndarray | None]:
    """The first ``count`` pages: a TIFF's one at a time; a GIF's all at once, since a GIF frame
    is drawn over the ones before it (OpenCV decodes a lone later frame wrong)."""
    if bytes(data[:4]) == b"GIF8":
        try:
            ok, images = cv2.imdecodemulti(data, cv2.IMREAD_COLOR, None, (0, count))
        except cv2.error:
            ok, images = False, []
        yield from images if ok else [None] * count
        return
    for page in range(count):
        yield _decode(data, page)


def _page_count(data: np.ndarray) -> int:
    """Pages in a TIFF or GIF (up to MAX_PAGES + 1), counted on a small grey decoding; 1 for any
    other format. (cv2.imcount takes a path, and OpenCV 5 crashes on non-UTF-8 ones.)"""
    if not bytes(data[:4]).startswith(MULTI_PAGE_MAGIC):
        return 1
    try:
        ok, pages = cv2.imdecodemulti(data, cv2.IMREAD_REDUCED_GRAYSCALE_8, None, (0, MAX_PAGES + 1))
    except cv2.error:
        return 1
    return max(1, len(pages)) if ok else 1


def _decode(data: np.ndarray, page: int | None = None) -> np.ndarray | None:
    try:
        if page is None and bytes(data[:4]) in ALPHA_MAGIC:
            return _opaque(data)
        if page is None:
            return cv2.imdecode(data, cv2.IMREAD_COLOR)
        ok, images = cv2.imdecodemulti(data, cv2.IMREAD_COLOR, None, (page, page + 1))
        return images[0] if ok and images else None
    except cv2.error:  # OpenCV refuses images over its pixel limit
        return None


def _opaque(data: np.ndarray) -> np.ndarray | None:
    """A PNG or WebP as IMREAD_COLOR decodes it, but with its transparent pixels painted with a
    background that shows the rest: IMREAD_COLOR keeps the colour under them, often black, and a
    black digit on a transparent canvas would read as a blank frame."""
    image, shown = cv2.imdecode(data, cv2.IMREAD_UNCHANGED), cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None or shown is None or image.ndim == 2 or image.shape[2] != 4:
        return shown
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    image = _turned_like(image, shown)
    alpha = image[..., 3:].astype(np.float32) / 255
    grey = cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2GRAY).astype(np.float32)
    drawn = float((grey * alpha[..., 0]).sum() / max(float(alpha.sum()), 1e-6))  # mean of what is drawn
    background = 255.0 if drawn < 128 else 0.0  # dark drawing on white paper, light on black
    return (image[..., :3] * alpha + background * (1 - alpha) + 0.5).astype(np.uint8)


def _turned_like(image: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """``image`` turned and flipped as ``shown`` is: IMREAD_COLOR applies the file's EXIF
    orientation, IMREAD_UNCHANGED does not (and OpenCV does not say which it was). An image of one
    colour under its alpha (a bare drawing) shows no turn and stays as stored: such files have no
    orientation tag in practice, unlike photos."""
    turns = [image, cv2.transpose(image)]
    turns += [cv2.flip(turn, axis) for turn in turns for axis in (0, 1, -1)]
    same = [turn for turn in turns if turn.shape[:2] == shown.shape[:2]]
    return min(same, key=lambda turn: cv2.norm(turn[..., :3], shown, cv2.NORM_L1), default=image)


def _decoded(source: str, index: int | None, image: np.ndarray | None) -> Frame:
    if image is None or image.size == 0:
        return Frame(source, index, error="cannot decode: not a supported image, corrupt, or "
                     f"larger than {MAX_IMAGE_PIXELS // 1_000_000} megapixels")
    return Frame(source, index, image=image)


def _read_file(path: Path) -> np.ndarray:
    """The bytes of a regular file of at most MAX_FILE_BYTES."""
    return np.frombuffer(reading.read_regular(path, MAX_FILE_BYTES, "one image"), np.uint8)


def files(patterns: list[str]) -> Iterator[Frame]:
    """The images named by ``patterns``, each read when the run gets to it; the patterns are
    expanded now, so one that names nothing fails before any work."""
    found = expand_paths(patterns)
    return itertools.chain.from_iterable([f] if isinstance(f, Frame) else read_image(f) for f in found)


def video(path: Path, every: int = 1) -> Iterator[Frame]:
    """Every ``every``-th frame of a video file, until it ends. Opens the file now."""
    path = Path(path)
    if not path.is_file():
        raise EdgeLstmError(f"{path}: not a regular file" if path.exists() else f"video not found: {path}")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise EdgeLstmError(f"{path}: OpenCV cannot open this video (unsupported format or corrupt file)")
    return _released(capture, _video_frames(capture, str(path), every))


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
    return _released(capture, _camera_frames(capture, f"camera:{index}", every))


def _released(capture: cv2.VideoCapture, frames: Iterator[Frame]) -> Iterator[Frame]:
    try:
        yield from frames
    finally:
        capture.release()


def _video_frames(capture: cv2.VideoCapture, source: str, every: int) -> Iterator[Frame]:
    """Read to the end the container announces: a frame that fails to decode is reported and
    reading goes on after it; frames that never decode again up to the end are reported once."""
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))  # 0 when the container does not say
    index, failed = 0, []  # failed: unreadable frames since the last good one
    while True:
        ok, image = capture.read()
        if not ok and (index >= total or len(failed) >= MAX_BAD_FRAMES):
            break
        if not ok:
            failed.append(index)
        else:
            yield from (Frame(source, i, error="cannot decode this frame (corrupt)")
                        for i in failed if i % every == 0)
            failed = []
            if index % every == 0:
                yield Frame(source, index, image=image)
        index += 1
    if failed:
        yield Frame(source, failed[0], error=f"no readable frame from here on, of the {total} the "
                    "video announces (truncated or corrupt)")
    elif index == 0:
        yield Frame(source, None, error="no readable frame (empty or corrupt video)")


def _camera_frames(capture: cv2.VideoCapture, source: str, every: int) -> Iterator[Frame]:
    """Read until the camera stops answering; each frame gets CAMERA_RETRIES tries."""
    index = 0
    while True:
        ok, image = capture.read()
        failures = 0
        while not ok and failures < CAMERA_RETRIES:
            failures += 1
            time.sleep(0.05 * failures)
            ok, image = capture.read()
        if not ok:
            yield Frame(source, index, error=f"no frame after {CAMERA_RETRIES} retries "
                        "(camera unplugged or busy?)")
            return
        if index % every == 0:
            yield Frame(source, index, image=image)
        index += 1
