"""Atomic writes: a failure part-way leaves the old file intact and no temporary file behind."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
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


def test_long_names_get_a_short_hidden_temporary_file(tmp_path):
    """A 252-byte name (the limit is 255) and a name of 2-byte characters: the temporary file beside
    them stays under the limit, hidden, named after the target and with its suffix."""
    for name in ("m" * 246 + ".keras", "é" * 120 + ".png"):
        seen = []

        def writer(tmp, data=name.encode(), seen=seen):
            seen.append(tmp.name)
            tmp.write_bytes(data)

        atomic.write_with(tmp_path / name, writer)
        assert (tmp_path / name).read_bytes() == name.encode()
        (temp,) = seen
        assert len(temp.encode()) <= 255 and temp.startswith("." + name[:20])
        assert temp.endswith(Path(name).suffix)
    assert sorted(os.listdir(tmp_path)) == sorted(["m" * 246 + ".keras", "é" * 120 + ".png"])


def test_data_is_synced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    """What survives a power cut cannot be tested here, so this checks the two syncs that make a
    rename durable: the new file's data before it replaces the old one, then the folder."""
    target = tmp_path / "model.tflite"
    target.write_bytes(b"old")
    synced, real_fsync = [], os.fsync

    def fsync(fd):
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), target.read_bytes()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic.write_bytes(target, b"new")
    (temp, seen_first), (folder, seen_after) = synced
    assert Path(temp).name.startswith(".model.tflite.") and seen_first == b"old"
    assert folder == str(tmp_path) and seen_after == b"new"


def test_a_write_error_is_one_line_and_leaves_the_old_file(tmp_path):
    """A real write failure, in a child process whose file-size limit is 1000 bytes (EFBIG, as a
    full disk gives ENOSPC): an EdgeLstmError naming the file, the old file intact, no temp file."""
    target = tmp_path / "report.md"
    target.write_bytes(b"old")
    script = ("import resource, signal, sys\n"
              "from edge_lstm import atomic\n"
              "from edge_lstm.errors import EdgeLstmError\n"
              "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
              "try:\n"
              "    atomic.write_bytes(sys.argv[1], bytes(10_000))\n"
              "except EdgeLstmError as e:\n"
              "    print(e)\n")
    done = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.stdout == f"cannot write {target}: File too large\n", done.stderr
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["report.md"]


SLOW_WRITE = '''
import sys, time
from pathlib import Path
from edge_lstm import atomic, cli

@cli.app.command()
def slow_write(target: Path):
    """Write 50 MB, then wait as a slow SD card would, before the rename."""
    def writer(tmp):
        with open(tmp, "wb") as f:
            f.write(bytes(50_000_000))
            f.flush()
            print("writing", flush=True)
            time.sleep(60)
    atomic.write_with(target, writer)

sys.argv = ["edge-lstm", "slow-write", sys.argv[1]]
cli.main()
'''


@pytest.mark.parametrize("signum, code, message", [
    (signal.SIGTERM, 143, "error: stopped by SIGTERM"),
    (signal.SIGINT, 130, "error: interrupted"),
])
def test_a_signal_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path, signum, code, message):
    """The edge-lstm program (cli.main) killed part-way through a large atomic write."""
    target = tmp_path / "model.keras"
    target.write_bytes(b"old")
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, str(target)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "writing\n"
    (temp,) = [p for p in tmp_path.iterdir() if p.name.startswith(".model.keras.")]
    assert temp.stat().st_size == 50_000_000  # the half-written state the signal interrupts
    child.send_signal(signum)
    _, stderr = child.communicate(timeout=30)
    assert (child.returncode, stderr) == (code, message + "\n")
    assert os.listdir(tmp_path) == ["model.keras"] and target.read_bytes() == b"old"
