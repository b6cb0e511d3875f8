"""Atomic writes: a failure part-way leaves the old file intact and no temporary file behind."""

import os

import pytest

from edge_lstm import atomic
from edge_lstm.errors import EdgeLstmError


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"old")

    def broken_writer(path):
        path.write_bytes(b"half-writ")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, broken_writer)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_write_replaces(tmp_path):
    atomic.write_json(tmp_path / "a.json", {"x": 1})
    atomic.write_json(tmp_path / "a.json", {"x": 2})
    assert (tmp_path / "a.json").read_text().strip().endswith("}")
    assert '"x": 2' in (tmp_path / "a.json").read_text()


def test_check_writable(tmp_path):
    (tmp_path / "exists").write_text("x")
    with pytest.raises(EdgeLstmError, match="--force"):
        atomic.check_writable(tmp_path / "exists", force=False)
    atomic.check_writable(tmp_path / "exists", force=True)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(EdgeLstmError, match="cannot create folder"):
        atomic.check_writable(tmp_path / "a-file" / "sub" / "m.keras", force=False)


def test_written_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        atomic.write_bytes(tmp_path / "m.tflite", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "m.tflite").stat().st_mode & 0o777 == 0o644
