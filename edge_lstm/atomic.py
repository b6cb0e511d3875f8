"""Atomic file writes: write a temporary file beside the target, then rename it into place.

A crash or an error part-way leaves the previous file (or no file), never a half-written one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from edge_lstm.errors import EdgeLstmError


def check_writable(path: Path, force: bool) -> None:
    """Fail early if ``path`` exists (without ``force``) or its folder cannot be written."""
    path = Path(path)
    if path.exists() and not force:
        raise EdgeLstmError(f"{path} already exists; pass --force to overwrite it")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EdgeLstmError(f"cannot create folder {folder}: {e.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise EdgeLstmError(f"folder {folder} is not writable")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it to ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as e:
        raise EdgeLstmError(f"cannot write {path}: {e.strerror}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_with(path: Path, writer: Callable[[Path], None]) -> None:
    """Atomically write ``path`` with a library writer that takes a file name (Keras, matplotlib)."""
    with atomic_path(path) as tmp:
        writer(tmp)
