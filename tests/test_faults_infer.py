"""Faults on `edge-lstm infer`'s input path, each replayed with real files, real OpenCV and the
shipped model: every one ends in a correct result or a one-line error with a non-zero exit code —
no traceback, no death by signal, no hang, no user file changed, nothing silently skipped.

In-process runs (typer's CliRunner) where no process boundary is under test; a child process where
the fault is one: a signal death, a hang, a closed or full stdout, Ctrl-C.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import invoke_cli
from edge_lstm import sources, tf_log
from edge_lstm.data import load_test_split
from edge_lstm.errors import EdgeLstmError
from edge_lstm.infer import Latencies, annotate, classify, run

TEST = load_test_split()


def infer(*args):
    """``edge-lstm infer ARGS`` in this process."""
    return invoke_cli("infer", *args)


def infer_child(*args, timeout: float = 60, env: dict | None = None, **popen) -> subprocess.CompletedProcess:
    """``python -m edge_lstm infer ARGS`` in a child process that must end within ``timeout``."""
    return subprocess.run([sys.executable, "-m", "edge_lstm", "infer", *map(str, args)], text=True,
                          timeout=timeout, env=env or {**os.environ, **tf_log.QUIET_ENV},
                          **{"capture_output": True, **popen})


def assert_one_line_error(stderr: str, message: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], stderr


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def write_digit(path, i: int = 0) -> None:
    """MNIST test digit ``i``, dark on paper, as an image file."""
    cv2.imwrite(str(path), 255 - cv2.resize(TEST.x[i], (84, 84)))


def write_video(path, frames: int, size=(160, 120)) -> bytes:
    """An MJPG AVI of MNIST digits on paper; returns its bytes."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
    for i in range(frames):
        paper = np.full((size[1], size[0]), 220, np.uint8)
        paper[18:102, 38:122] = 255 - cv2.resize(TEST.x[i % 100], (84, 84))
        writer.write(cv2.cvtColor(paper, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path.read_bytes()


def snapshot(folder) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


# --- 1. --save never destroys a user file ----------------------------------------------------------

def test_save_into_a_folder_with_files_is_refused_before_any_work(tmp_path):
    write_digit(tmp_path / "a.png")
    write_digit(tmp_path / "a.jpg", 1)
    before = snapshot(tmp_path)
    done = infer("--save", tmp_path, tmp_path)
    assert done.exit_code == 2 and done.stdout == ""
    assert_one_line_error(done.stderr, "give a new or empty folder")
    assert snapshot(tmp_path) == before


def test_save_gives_every_input_its_own_file(tmp_path):
    for path in ("one/a.png", "one/a.jpg", "two/a.png"):
        (tmp_path / path).parent.mkdir(exist_ok=True)
        write_digit(tmp_path / path)
    write_video(tmp_path / "clip.avi", 2)
    out = tmp_path / "out"
    assert infer("--save", out, tmp_path / "one", tmp_path / "two").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg.jpg", "a.png-2.jpg", "a.png.jpg"]
    frames = tmp_path / "frames"
    assert infer("--save", frames, "--video", tmp_path / "clip.avi").exit_code == 0
    assert sorted(p.name for p in frames.iterdir()) == ["clip.avi_000000.jpg", "clip.avi_000001.jpg"]
    before = snapshot(out)
    assert infer("--save", out, tmp_path / "one").exit_code == 2  # a second run into the same folder
    assert snapshot(out) == before


def test_save_fits_long_and_non_utf8_names(tmp_path):
    """A 250-byte name used to fail with "File name too long" (NAME.EXT.jpg is over 255 bytes),
    a name that is not UTF-8 with a UnicodeEncodeError traceback."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    long_name, odd_name = "a" * 250 + ".png", os.fsdecode(b"bad\xff.png")
    for i, name in enumerate((long_name, odd_name)):
        write_digit(inputs / f"{i}.png", i)
        os.rename(inputs / f"{i}.png", inputs / name)
    done = infer("--save", tmp_path / "out", "--json", inputs)  # JSON: CliRunner's stdout is strict
    assert done.exit_code == 0, done.stdout + done.stderr
    saved = sorted(os.fsencode(p.name) for p in (tmp_path / "out").iterdir())
    assert saved[0].startswith(b"a" * 200) and len(saved[0]) <= 255 and saved[1] == b"bad\xff.png.jpg"


def test_a_name_that_is_not_utf8_is_printed_by_a_strict_utf8_stdout(tmp_path):
    """Python's stdout is strict in a UTF-8 locale such as en_GB.UTF-8 (a Raspberry Pi's): the
    name's bytes go out as they are instead of a UnicodeEncodeError traceback."""
    name = os.fsencode(tmp_path) + b"/bad\xff.png"
    write_digit(tmp_path / "a.png")
    os.rename(tmp_path / "a.png", name)
    done = subprocess.run([sys.executable, "-m", "edge_lstm", "infer", name], capture_output=True,
                          timeout=60, env={**os.environ, **tf_log.QUIET_ENV, "PYTHONIOENCODING": "utf-8"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(name + b": 7 ")


def test_an_empty_argument_is_an_error_not_the_current_folder(tmp_path, monkeypatch):
    write_digit(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    done = infer("")
    assert done.exit_code == 2 and done.stdout == ""
    assert_one_line_error(done.stderr, "an input is an empty string")


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))  # as a full disk: writes fail (EFBIG)


def test_save_on_a_full_disk_is_one_line_and_leaves_nothing_half_written(tmp_path):
    write_digit(tmp_path / "a.png")
    done = infer_child(tmp_path / "a.png", "--save", tmp_path / "out", preexec_fn=_limit_file_size)
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "cannot write")
    assert list((tmp_path / "out").iterdir()) == []


# --- 2, 3. numbers OpenCV and LiteRT crash on are refused by the command line ----------------------

@pytest.mark.parametrize("option, value", [("--camera", -1), ("--threads", 100000)])
def test_values_that_kill_the_process_are_refused(option, value, tmp_path):
    write_digit(tmp_path / "a.png")
    args = [option, value] if option == "--camera" else [tmp_path / "a.png", option, value]
    done = infer_child(*args)
    assert done.returncode == 2
    assert_one_line_error(done.stderr, f"Invalid value for '{option}'")


@pytest.mark.parametrize("option, value", [("--camera", 1099511627776), ("--threads", 2147483648)])
def test_huge_values_are_refused_without_a_traceback(option, value, tmp_path):
    write_digit(tmp_path / "a.png")
    done = infer(*([option, value] if option == "--camera" else [tmp_path / "a.png", option, value]))
    assert done.exit_code == 2
    assert_one_line_error(done.stderr, f"Invalid value for '{option}'")


def test_the_largest_camera_index_is_tried_and_reported():
    done = infer_child("--camera", 1023)
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "cannot open camera 1023")


# --- 4. --show without a display -------------------------------------------------------------------

@pytest.mark.parametrize("display, message", [(None, "--show needs a display"),
                                              (":97", "--show cannot open a window")])
def test_show_without_a_usable_display_fails_before_any_work(tmp_path, display, message):
    write_digit(tmp_path / "a.png")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = infer_child(tmp_path / "a.png", "--show", env={**env, **({"DISPLAY": display} if display else {})})
    assert done.returncode == 2 and done.stdout == ""
    assert_one_line_error(done.stderr, message)


# --- 5. a corrupt video frame ----------------------------------------------------------------------

def test_a_corrupt_video_frame_is_reported_and_the_rest_is_read(tmp_path):
    data = bytearray(write_video(tmp_path / "clip.avi", 100))
    starts = [m.start() for m in re.finditer(rb"\xff\xd8\xff", data)]  # each frame's JPEG
    assert len(starts) == 100
    data[starts[27] + 100:starts[27] + 400] = bytes(300)
    (tmp_path / "bad.avi").write_bytes(data)
    done = infer("--video", tmp_path / "bad.avi", "--json")
    assert done.exit_code == 1
    lines = json_lines(done.stdout)
    assert [a["frame"] for a in lines if "error" in a] == [27]
    assert [a["frame"] for a in lines if "error" not in a] == [i for i in range(100) if i != 27]
    assert re.match(r"100 inputs, \d+ digits, \d+ without a digit, 1 error; ", done.stderr.splitlines()[-1])


def test_a_truncated_video_says_where_it_stops(tmp_path):
    data = write_video(tmp_path / "clip.avi", 100)
    (tmp_path / "cut.avi").write_bytes(data[:len(data) // 2])
    done = infer("--video", tmp_path / "cut.avi", "--json")
    assert done.exit_code == 1
    last = json_lines(done.stdout)[-1]
    assert "no readable frame from here on" in last["error"] and 30 < last["frame"] < 70


# --- 6. inputs that are not image files ------------------------------------------------------------

def test_every_unreadable_entry_of_a_folder_is_an_error_and_a_fifo_does_not_hang(tmp_path):
    write_digit(tmp_path / "good.png")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "folder.png").mkdir()
    os.mkfifo(tmp_path / "fifo.png")
    done = infer_child(tmp_path, "--json", timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = {a["source"].rsplit("/", 1)[1]: a["error"] for a in json_lines(done.stdout) if "error" in a}
    assert errors == {"dangling.png": "cannot open: No such file or directory (broken symlink)",
                      "loop.png": "cannot open: Too many levels of symbolic links (broken symlink)",
                      "folder.png": "a folder, not a file",
                      "fifo.png": "not a regular file (a FIFO, socket or device)"}
    assert "5 inputs" in done.stderr and "4 errors" in done.stderr


@pytest.mark.parametrize("name, make", [
    ("empty", lambda path: path.mkdir()),
    ("x.png", lambda path: path.mkdir()),
    ("x.png", lambda path: path.symlink_to(path.parent / "nowhere.png")),
])
def test_an_argument_without_images_is_an_error_not_zero_inputs(tmp_path, name, make):
    path = tmp_path / name
    make(path)
    done = infer(path)
    assert done.exit_code == 1
    assert done.stdout.startswith(f"{path}: error: ")
    assert done.stdout.splitlines()[-1] == "1 input, 0 digits, 0 without a digit, 1 error"  # nothing timed


def test_globstar_does_not_loop_through_symlinks_to_the_current_folder(tmp_path):
    write_digit(tmp_path / "a.png")
    (tmp_path / "sub").mkdir()
    write_digit(tmp_path / "sub" / "b.png")
    (tmp_path / "l1").symlink_to(".")
    (tmp_path / "l2").symlink_to(".")
    done = infer_child(tmp_path / "**" / "*.png", "--json", timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(a["source"] for a in json_lines(done.stdout)) == [str(tmp_path / "a.png"),
                                                                    str(tmp_path / "sub" / "b.png")]


def test_a_pattern_naming_too_many_inputs_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_INPUTS", 3)
    for i in range(4):
        write_digit(tmp_path / f"{i}.png")
    for pattern in (tmp_path, tmp_path / "*.png"):
        done = infer(pattern)
        assert done.exit_code == 2 and done.stdout == ""
        assert_one_line_error(done.stderr, "names more than 3 inputs")


# --- 7. --max-frames -------------------------------------------------------------------------------

def test_max_frames_does_not_pull_the_next_input(classifier, tmp_path):
    pulled = []

    def frames():
        for i in range(3):
            pulled.append(i)
            write_digit(tmp_path / f"{i}.png", i)
            yield from sources.read_image(tmp_path / f"{i}.png")

    summary = run(frames(), classifier, lambda line: None, max_frames=1)
    assert pulled == [0] and summary.frames == 1


# --- 8. standard output closed or full -------------------------------------------------------------

@pytest.mark.parametrize("json_out", [False, True])
def test_a_closed_stdout_is_an_error(tmp_path, json_out):
    write_digit(tmp_path / "a.png")
    done = infer_child(tmp_path / "a.png", *(["--json"] if json_out else []),
                       stdout=None, capture_output=False, stderr=subprocess.PIPE,
                       preexec_fn=lambda: os.close(1))
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "standard output is closed")


def test_a_full_stdout_is_an_error(tmp_path):
    write_digit(tmp_path / "a.png")
    with open("/dev/full", "w") as full:
        done = infer_child(tmp_path / "a.png", stdout=full, capture_output=False, stderr=subprocess.PIPE)
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "cannot write to standard output: No space left on device")


# --- 9. bounded latency memory ---------------------------------------------------------------------

def test_latencies_keep_a_bounded_sample_with_the_right_percentiles():
    latencies = Latencies()
    values = np.random.default_rng(0).permutation(5 * Latencies.SIZE).astype(float)
    for value in values:
        latencies.add(value)
    assert len(latencies.samples) == Latencies.SIZE and latencies.seen == len(values)
    p50, p95 = latencies.percentiles([50, 95])
    assert abs(p50 - np.percentile(values, 50)) < 0.02 * len(values)
    assert abs(p95 - np.percentile(values, 95)) < 0.02 * len(values)


# --- 10. a huge file is refused unread -------------------------------------------------------------

def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    write_digit(tmp_path / "a.png")
    with open(tmp_path / "big.png", "wb") as big:
        big.truncate(sources.MAX_FILE_BYTES + 1)  # sparse: costs no disk
    done = infer(tmp_path, "--json")
    assert done.exit_code == 1
    errors = [a for a in json_lines(done.stdout) if "error" in a]
    assert [e["source"] for e in errors] == [str(tmp_path / "big.png")]
    assert "limit for one image" in errors[0]["error"]


# --- 11. Ctrl-C ------------------------------------------------------------------------------------

def test_ctrl_c_prints_the_summary_and_exits_130(tmp_path):
    write_video(tmp_path / "long.avi", 3000)
    child = subprocess.Popen([sys.executable, "-m", "edge_lstm", "infer", "--video",
                              str(tmp_path / "long.avi")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    child.stdout.readline()  # the run is under way
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130
    assert out.splitlines()[-1].endswith("(interrupted)") and "Traceback" not in err


# --- 12 and fuzz: every image gives an answer inside the frame, or a one-line error -----------------

def random_image(rng: np.random.Generator) -> np.ndarray:
    """Noise, a flat colour or a bar, 1 to 2000 px a side (often extreme aspect ratios), 1/3/4 channels."""
    h, w = rng.integers(1, 2001, 2) if rng.random() < 0.2 else rng.integers(1, 300, 2)
    if rng.random() < 0.3:
        h, w = (1 + int(rng.integers(12)), w) if rng.random() < 0.5 else (h, 1 + int(rng.integers(12)))
    shape = (h, w, *([int(rng.choice([1, 3, 4]))] if rng.random() < 0.75 else []))
    kind = rng.integers(3)
    if kind == 0:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    image = np.full(shape, rng.integers(256), np.uint8)
    if kind == 2:
        image[h // 4:3 * h // 4 + 1, w // 3:w // 3 + max(1, w // 10)] = 255 - image.flat[0]
    return image


def assert_inside(answer, image: np.ndarray) -> None:
    if answer.box is not None:
        x, y, w, h = answer.box
        assert x >= 0 and y >= 0 and w > 0 and h > 0
        assert x + w <= image.shape[1] and y + h <= image.shape[0]
        assert answer.as_dict()["box"] == [x, y, w, h]


def test_boxes_lie_inside_the_frame(classifier):
    tall = np.full((228, 10, 3), 23, np.uint8)
    tall[57:172, 3:4] = 232  # a bar at the edge of a thin frame: the padded box used to reach past it
    for image in (tall, tall.transpose(1, 0, 2).copy()):
        answer = classify(classifier, image, "bar", None)
        assert answer.digit is not None
        assert_inside(answer, image)
        assert annotate(image, answer, 1.0).shape == image.shape


def test_random_images_give_an_answer_or_a_one_line_error(classifier):
    rng = np.random.default_rng(8)
    outcomes = {"answer": 0, "digit": 0, "error": 0}
    for i in range(300):
        image = random_image(rng)
        try:
            answer = classify(classifier, image, f"fuzz{i}", None)
        except EdgeLstmError as e:
            assert "\n" not in str(e)
            outcomes["error"] += 1
            continue
        assert_inside(answer, image)
        outcomes["answer"] += 1
        outcomes["digit"] += answer.digit is not None
    assert outcomes["answer"] > 0 and outcomes["digit"] > 0, outcomes


# --- nothing silently skipped: every page of a multi-page image ----------------------------------

@pytest.mark.parametrize("suffix", [".tiff", ".gif"])
def test_every_page_of_a_multi_page_image_is_a_frame(tmp_path, suffix):
    digits = [0, 1, 2]
    pages = [cv2.cvtColor(255 - cv2.resize(TEST.x[list(TEST.y).index(d)], (112, 112)), cv2.COLOR_GRAY2BGR)
             for d in digits]
    path = tmp_path / f"pages{suffix}"
    assert cv2.imwritemulti(str(path), pages)
    done = infer(path, "--json")
    assert done.exit_code == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["frame"] for a in answers] == [0, 1, 2]
    assert [a["label"] for a in answers] == digits


def test_pages_over_the_limit_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_PAGES", 2)
    path = tmp_path / "pages.tiff"
    assert cv2.imwritemulti(str(path), [np.full((60, 60, 3), 200, np.uint8)] * 3)
    frames = list(sources.files([str(path)]))
    assert [f.index for f in frames] == [0, 1, 2]
    assert frames[2].error == "more pages not read (at most 2 pages of one file)"
