"""Host commands (train, convert, parity --keras) answer bad input with exactly one line on
stderr, whatever TensorFlow prints as it starts on this CPU.

On AVX-512/AMX CPUs TensorFlow turns oneDNN on and prints start-up lines that
TF_CPP_MIN_LOG_LEVEL does not hide; TF_ENABLE_ONEDNN_OPTS=1 makes it do so on any x86-64 CPU. Each
case runs as a user would run it, in a child process, with oneDNN forced on and with the CPU's
default, and without TF_CPP_MIN_LOG_LEVEL (the command line must quiet TensorFlow itself).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("tensorflow")

ONEDNN = [pytest.param("1", id="onednn-on"), pytest.param(None, id="onednn-default")]


def child_env(onednn: str | None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")}
    return {**env, "TF_ENABLE_ONEDNN_OPTS": onednn} if onednn else env


def edge_lstm(*args, onednn: str | None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge_lstm", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=child_env(onednn))


def test_onednn_on_makes_tensorflow_print_at_start_up():
    """The reproduction holds here: without the filter, importing TensorFlow prints the lines."""
    done = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, text=True,
                          env=child_env("1"))
    assert "oneDNN custom operations are on" in done.stderr


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    """Files that must not reach Keras' loader, or that its safe mode must refuse."""
    import keras

    folder = tmp_path_factory.mktemp("bad-models")
    (folder / "legacy.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    (folder / "text.keras").write_text("not a model")
    code = keras.Sequential([keras.Input((28, 28)), keras.layers.Lambda(lambda x: x * 2),
                             keras.layers.Flatten(), keras.layers.Dense(10)])
    code.save(folder / "lambda.keras")
    return folder


CASES = [
    pytest.param(["train", "--data", "/nonexistent/mnist.npz"],
                 "'--data': path '/nonexistent/mnist.npz' does not exist", id="train-no-data"),
    pytest.param(["train", "--schedule", "linear"],
                 "'linear' is not one of 'cosine', 'plateau', 'constant'", id="train-schedule"),
    pytest.param(["train", "--out", "{tmp}/model.h5"], "'--out' / '-o': the model file must end in .keras",
                 id="train-out-h5"),
    pytest.param(["convert", "{models}/legacy.h5", "--out", "{tmp}"], "not a .keras model",
                 id="convert-h5"),
    pytest.param(["convert", "{models}/text.keras", "--out", "{tmp}"], "not a .keras zip archive",
                 id="convert-not-zip"),
    pytest.param(["convert", "{models}/lambda.keras", "--out", "{tmp}"], "not a readable Keras model",
                 id="convert-lambda-refused-by-safe-mode"),
    pytest.param(["convert", "{tmp}/missing.keras"], "missing.keras' does not exist", id="convert-missing"),
    pytest.param(["parity", "--keras", "{models}/legacy.h5", "--limit", "10"], "not a .keras model",
                 id="parity-keras-h5"),
    pytest.param(["parity", "--keras", "{models}/lambda.keras", "--limit", "10"],
                 "not a readable Keras model", id="parity-keras-lambda"),
]


@pytest.mark.parametrize("onednn", ONEDNN)
@pytest.mark.parametrize("args, message", CASES)
def test_host_error_is_one_line(args, message, onednn, bad_models, tmp_path):
    args = [a.format(tmp=tmp_path, models=bad_models) for a in args]
    if args[0] == "train" and "--out" not in args:
        args += ["--out", tmp_path / "m.keras"]
    done = edge_lstm(*args, onednn=onednn)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ") and message in line
    assert os.listdir(tmp_path) == []  # nothing written


def test_the_filter_drops_start_up_noise_and_keeps_everything_else(capfd):
    """At the file-descriptor level, as TensorFlow's C++ writes: known start-up records go; a real
    native error and a Python warning stay, in order."""
    from edge_lstm import tf_log

    kept = ("E0000 00:00:1795766946.190284    5026 op_kernel.cc:1857] a real failure\n"
            "/site-packages/tensorflow/x.py:3: UserWarning: something to read\n")
    with tf_log.filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written "
                    b"to STDERR\nI0000 00:00:1795766946.190284    5026 port.cc:153] oneDNN custom "
                    b"operations are on. You may see slightly different numerical results.\n")
        os.write(2, kept.encode())
        os.write(2, b"I0000 00:00:1795766996.329964    5127 cpu_feature_guard.cc:227] This TensorFlow "
                    b"binary is optimized to use available CPU instructions.\nTo enable the following "
                    b"instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
                    b"appropriate compiler flags.\n")
    assert capfd.readouterr().err == kept


def test_keras_with_a_known_safe_mode_bypass_is_refused():
    from converters import model
    from edge_lstm.errors import EdgeLstmError

    for old in ("3.5.0", "3.11.3", "3.13.1"):
        with pytest.raises(EdgeLstmError, match=f"Keras {old} can run code hidden in a model file"):
            model.require_safe_keras(old)
    model.require_safe_keras("3.13.2")
    model.require_safe_keras()  # the installed one
