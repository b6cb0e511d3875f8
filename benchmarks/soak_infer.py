"""Soak benchmark: a long video through `edge-lstm infer --video`, memory sampled as it runs.

Writes an MJPG video of MNIST test digits on noisy paper (10 000 small frames by default), runs
``python -m edge_lstm infer --video … --json`` in a child process, reads the child's resident memory
(VmRSS in /proc/PID/status, Linux) every 100 answers, and prints the frames, the frame rate, the
memory at 10 % of the run (once the model, the decoder and the buffers are warm: the baseline) and
at the end, and the growth between them. A run whose memory is flat grows by well under a few MB.

    python benchmarks/soak_infer.py [--frames 10000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from edge_lstm.data import load_test_split

SIZE = (160, 120)  # small frames keep the soak about the loop, not about decoding


def write_video(path: Path, frames: int, seed: int = 0) -> None:
    """Digits from the bundled test split, dark on paper, at a random place in each frame."""
    rng = np.random.default_rng(seed)
    digits = load_test_split().x
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, SIZE)
    for i in range(frames):
        paper = rng.normal(215, 6, (SIZE[1], SIZE[0])).clip(0, 255).astype(np.uint8)
        side = int(rng.integers(48, 96))
        x, y = rng.integers(4, SIZE[0] - side - 4), rng.integers(4, SIZE[1] - side - 4)
        ink = cv2.resize(digits[i % len(digits)], (side, side)).astype(np.float32) / 255
        paper[y:y + side, x:x + side] = (paper[y:y + side, x:x + side] * (1 - 0.8 * ink)).astype(np.uint8)
        writer.write(cv2.cvtColor(paper, cv2.COLOR_GRAY2BGR))
    writer.release()


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB; empty once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM") if key in fields}


def soak(video: Path, frames: int) -> dict:
    """Run infer on the video; RSS at 10 % and at the last answer, and the run's summary line."""
    child = subprocess.Popen([sys.executable, "-m", "edge_lstm", "infer", "--video", str(video), "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    start, answers, at_10, last = time.perf_counter(), 0, {}, {}
    for _ in child.stdout:
        answers += 1
        if answers % 100 == 0 or answers in (frames // 10, frames):
            last = memory_mb(child.pid) or last
            if answers == frames // 10:
                at_10 = last
    summary = child.stderr.read().strip()
    child.wait()
    return {"answers": answers, "seconds": time.perf_counter() - start, "at_10": at_10, "end": last,
            "summary": summary, "returncode": child.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10_000, help="Frames in the video.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "soak.avi"
        write_video(video, args.frames)
        result = soak(video, args.frames)
    if result["returncode"] != 0 or not result["at_10"]:
        sys.exit(f"infer failed (exit code {result['returncode']}): {result['summary']}")
    growth = result["end"]["VmRSS"] - result["at_10"]["VmRSS"]
    print(f"frames       {result['answers']} of {args.frames}, {SIZE[0]}x{SIZE[1]} MJPG")
    print(f"rate         {result['answers'] / result['seconds']:.0f} frames/s (whole child, with start-up)")
    print(f"RSS at 10%   {result['at_10']['VmRSS']:.1f} MB (baseline)")
    print(f"RSS at end   {result['end']['VmRSS']:.1f} MB (peak {result['end']['VmHWM']:.1f} MB)")
    ratio = result["end"]["VmRSS"] / result["at_10"]["VmRSS"]
    print(f"growth       {growth:+.1f} MB, {ratio:.3f}x the baseline")
    print(f"summary      {result['summary']}")


if __name__ == "__main__":
    main()
