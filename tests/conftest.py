"""Shared fixtures: real data, a real small trained model, real converted models.

The offline MNIST copy in ../shared/datasets is used when present (development and CI); without
it the fixtures fall back to the test split bundled with the package.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge_lstm import tf_log

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "datasets" / "mnist.npz"

# A shell's background job starts with SIGINT ignored, which its children would inherit: tests
# that interrupt a child need it handled here (exec gives the child the default action back).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m edge_lstm ARGS`` in a child process, as a user would."""
    return subprocess.run([sys.executable, "-m", "edge_lstm", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, **tf_log.QUIET_ENV, **(env or {})})


def invoke_cli(*args):
    """Run the command line in this process (typer's CliRunner), for tests with no process boundary
    under test. An exception that is not an exit is raised: a traceback fails the test."""
    from typer.testing import CliRunner

    from edge_lstm.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.fixture(scope="module")
def classifier():
    """The recommended device model, loaded on the default runtime."""
    from edge_lstm import manifest
    from edge_lstm.runtime import Classifier

    return Classifier(manifest.recommended_model())


@pytest.fixture(scope="session")
def mnist_npz(tmp_path_factory) -> Path:
    """A Keras-layout MNIST .npz: the offline copy, else one made from the bundled test split."""
    if SHARED_MNIST.exists():
        return SHARED_MNIST
    from edge_lstm.data import load_test_split

    test = load_test_split()
    path = tmp_path_factory.mktemp("mnist") / "mnist.npz"
    np.savez(path, x_train=test.x[:8000], y_train=test.y[:8000], x_test=test.x[8000:], y_test=test.y[8000:])
    return path


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, mnist_npz) -> Path:
    """A real model trained briefly on a subset (about 96% accurate), saved as .keras. 40 units,
    narrower than the shipped model: test_convert's size and latency bounds are for this width."""
    pytest.importorskip("tensorflow")
    out = tmp_path_factory.mktemp("model") / "small.keras"
    done = run_cli("train", "--data", mnist_npz, "--out", out, "--epochs", "4", "--limit", "30000",
                   "--batch-size", "64", "--no-augment", "--negatives", "1000", "--line-crops", "0",
                   "--units", "40")
    assert done.returncode == 0, done.stderr
    return out
