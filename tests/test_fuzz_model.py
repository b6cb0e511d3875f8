"""Fuzz model loading: byte mutants of the shipped int8 model (bit flips, truncations, inserted
bytes), each loaded and run once the way `infer` and `parity` load a model that no manifest
vouches for (reader, probe in a child process, then this process). None may kill the process
by a signal or end in a traceback; each ends in answers or a one-line error.

Mutants run in a few worker processes that report each mutant as they finish it; a worker that
dies is restarted after the mutant that killed it, so one crash cannot hide the others.
EDGE_LSTM_FUZZ_SEED and EDGE_LSTM_FUZZ_MUTANTS change the seed (default 8) and count (300).
"""

import json
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import ROOT
from edge_lstm import manifest

SEED = int(os.environ.get("EDGE_LSTM_FUZZ_SEED", "8"))
MUTANTS = int(os.environ.get("EDGE_LSTM_FUZZ_MUTANTS", "300"))
WORKERS = 2
WORKER = """
import json, sys
import numpy as np
from edge_lstm import probe
from edge_lstm.errors import EdgeLstmError

for line in sys.stdin:
    try:
        probe.load(line.strip(), "ai-edge-litert").predict(np.zeros((28, 28), np.float32))
        outcome = {"model": line.strip(), "ok": True}
    except EdgeLstmError as e:
        outcome = {"model": line.strip(), "error": str(e)}
    print(json.dumps(outcome), flush=True)
"""


def mutant(data: bytes, rng: random.Random) -> bytes:
    """A damaged copy: flipped bits (half of them in the first quarter, where the tables that
    describe the graph sit; the rest anywhere), a truncation or a few inserted bytes."""
    data = bytearray(data)
    kind = rng.choice(["flip", "flip", "flip", "truncate", "insert"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            span = len(data) // 4 if rng.random() < 0.5 else len(data)
            data[rng.randrange(span)] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del data[rng.randrange(len(data)):]
    else:
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(data)


def run_worker(paths: list[Path]) -> tuple[list[dict], list[Path], list[str]]:
    """Outcomes, the mutants that killed a worker, and the workers' stderr."""
    outcomes, killers, stderrs = [], [], []
    todo = list(paths)
    while todo:
        done = subprocess.run([sys.executable, "-c", WORKER], input="".join(f"{p}\n" for p in todo),
                              capture_output=True, text=True, cwd=ROOT, timeout=900,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        reported = [json.loads(line) for line in done.stdout.splitlines()]
        outcomes += reported
        stderrs.append(done.stderr)
        todo = todo[len(reported):]
        if done.returncode != 0 and todo:
            killers.append(todo.pop(0))  # the one being loaded when the worker died
    return outcomes, killers, stderrs


def test_mutants_of_the_shipped_model_never_crash(tmp_path):
    rng = random.Random(SEED)
    original = (manifest.models_dir() / "lstm_int8.tflite").read_bytes()
    paths = []
    for i in range(MUTANTS):
        path = tmp_path / f"mutant{i:03d}.tflite"
        path.write_bytes(mutant(original, rng))
        paths.append(path)
    with ThreadPoolExecutor(WORKERS) as pool:
        shards = list(pool.map(run_worker, [paths[i::WORKERS] for i in range(WORKERS)]))
    outcomes = [o for shard in shards for o in shard[0]]
    killers = [k for shard in shards for k in shard[1]]
    stderr = "".join(s for shard in shards for s in shard[2])
    assert not killers, f"seed {SEED}: these mutants killed the process: {killers}"
    assert "Traceback" not in stderr, stderr
    errors = [o["error"] for o in outcomes if "error" in o]
    assert all("\n" not in e for e in errors)
    assert len(outcomes) == MUTANTS
    # Not vacuous: some mutants still load and run, some are refused by the reader, and some
    # get past the reader to be refused by the runtime (in the probe, or after it).
    refused_by_reader = [e for e in errors if "not a TFLite model" in e]
    assert len(errors) < MUTANTS and refused_by_reader and len(refused_by_reader) < len(errors)
