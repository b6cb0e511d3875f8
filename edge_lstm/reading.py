"""Reading a file the user named: only a regular file, opened without blocking, up to a size.

A FIFO named as a manifest, a model or predictions would block ``open`` forever, a device would
be read without end, and a sparse 1 GiB file would be read whole into memory before anything
says it is not what it claims to be; each is refused here in a few words (callers add the path).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from edge_lstm.errors import EdgeLstmError


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[tuple[BinaryIO, int]]:
    """``(file, size)`` of a regular file; EdgeLstmError saying why anything else is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens at once instead of blocking
    except OSError as e:
        broken = " (broken symlink)" if os.path.islink(path) else ""
        raise EdgeLstmError(f"cannot open: {e.strerror}{broken}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise EdgeLstmError("a folder, not a file" if stat.S_ISDIR(info.st_mode)
                            else "not a regular file (a FIFO, socket or device)")
    with open(fd, "rb") as file:
        yield file, info.st_size


def read_regular(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (``what`` names it in the refusal)."""
    try:
        with open_regular(path) as (file, size):
            if size > max_bytes:
                raise EdgeLstmError(f"{size / 2**20:.0f} MB is over the {max_bytes // 2**20} MB "
                                    f"limit for {what}")
            return file.read(max_bytes + 1)
    except OSError as e:
        raise EdgeLstmError(f"cannot read: {e.strerror}") from None
