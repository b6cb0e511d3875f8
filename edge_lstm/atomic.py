"""Atomic file writes: write a temporary file beside the target, then rename it into place.

A crash, an error, Ctrl-C or SIGTERM (the command line raises it as an exception) part-way leaves
the previous file (or no file), never a half-written one; the data and the rename are synced, so
a power cut right after (an SD card on a device) does not leave an empty file either.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

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
    """Yield a temporary path in the target's folder; on success sync it and rename it to ``path``."""
    path = _target(Path(path))
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prefix, suffix = _temp_affixes(path)
        fd, name = tempfile.mkstemp(suffix, prefix, dir=path.parent)
        tmp = Path(name)
        os.close(fd)
        yield tmp
        _fsync(tmp, os.O_RDONLY)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
        _fsync(path.parent, os.O_RDONLY | os.O_DIRECTORY)  # the rename itself
    except OSError as e:
        raise EdgeLstmError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _target(path: Path) -> Path:
    """The file to replace: a symlink's target (the link stays a link). A device, FIFO or socket
    is refused: the rename would put a file in place of ``/dev/full`` or a named pipe."""
    real = Path(os.path.realpath(path))
    if real.exists() and not real.is_file():
        kind = "a folder" if real.is_dir() else "not a regular file (a device, FIFO or socket)"
        raise EdgeLstmError(f"cannot write {path}: {kind}; give the path of a file")
    return real if path.is_symlink() else path


def _temp_affixes(path: Path) -> tuple[str, str]:
    """``.NAME.`` and the suffix for the temporary file: hidden, named after the target, and short
    enough (under 100 bytes with mkstemp's 8 random characters) for a 255-byte name limit."""
    name = os.fsdecode(os.fsencode(path.name)[:64])  # bytes, as a name that is not UTF-8 has them
    suffix = path.suffix if len(os.fsencode(path.suffix)) <= 16 else ""  # writers pick a format by it
    return f".{name}.", suffix


def _fsync(path: Path, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno != errno.EINVAL:  # EINVAL: a file system that cannot sync this (some folders)
            raise
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8", "backslashreplace"))  # a file name that is not UTF-8: escaped


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_with(path: Path, writer: Callable[[Path], None]) -> None:
    """Atomically write ``path`` with a library writer that takes a file name (Keras, matplotlib)."""
    with atomic_path(path) as tmp:
        writer(tmp)
