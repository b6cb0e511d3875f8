"""Your own model, end to end as a user runs it: the two example scripts train a model on the data
they generate, `edge-lstm convert --data` converts it, and `edge-lstm parity` checks the result
on the device side (no TensorFlow imported) against the reference written beside it. Bad data is
refused in one line with nothing written."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from test_device_parity import TFLITE_RUNTIME, device

from conftest import ROOT, run_cli
from edge_lstm import manifest

pytest.importorskip("tensorflow")

QUANT = "float32,int8"  # the two ends: exact, and the full-integer model


def example(name, folder):
    """Run examples/NAME.py into ``folder``; the .keras model and its .npz data."""
    done = subprocess.run([sys.executable, ROOT / "examples" / f"{name}.py", "--out", folder],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return folder / f"{name}.keras", folder / f"{name}.npz"


@pytest.fixture(scope="module")
def forecaster(tmp_path_factory):
    return example("forecaster", tmp_path_factory.mktemp("forecaster"))


@pytest.fixture(scope="module")
def spotter(tmp_path_factory):
    return example("keyword_spotter", tmp_path_factory.mktemp("spotter"))


def convert(model, data, out, *extra):
    done = run_cli("convert", model, "--data", data, "--out", out, "--quant", QUANT,
                   "--calibration-samples", "200", *extra)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = json.loads((out / "manifest.json").read_text())
    assert done.stdout.splitlines()[-1].endswith(f"default to it): {listed['recommended']}")  # said last
    return listed


def device_parity(model, *extra):
    """`parity` on the device side, on every device runtime this host has; the JSON results."""
    runtimes = ["-r", "ai-edge-litert"]
    if TFLITE_RUNTIME:
        runtimes += ["-r", f"tflite-runtime={TFLITE_RUNTIME}"]
    done = device("parity", model, *runtimes, "--json", *extra)
    return done.returncode, json.loads(done.stdout) if done.stdout.startswith("[") else done.stdout


def test_keyword_spotter_converts_to_int8_and_passes_on_the_device(spotter, tmp_path):
    model, data = spotter
    listed = convert(model, data, tmp_path)
    (reference,) = manifest.artifacts(listed, "reference")
    with np.load(data) as f:
        held_out = len(f["x_test"])
    assert reference["task"] == "classifier" and reference["items"] == min(held_out, 1000)
    int8 = manifest.entry(listed, "keyword_spotter_int8.tflite")
    assert int8["parity"]["ai-edge-litert"]["images"] == held_out  # checked on all of x_test
    assert any(op.startswith("UNIDIRECTIONAL_SEQUENCE_LSTM") for op in int8["ops"]) or \
        int8["form"] != "fused_reset"
    code, results = device_parity(tmp_path / "keyword_spotter_int8.tflite")
    assert code == 0, results
    for r in results:
        assert r["passed"] and r["metrics"]["agreement"] >= 99.0 and r["metrics"]["accuracy"] > 90
    code, results = device_parity(tmp_path / "keyword_spotter_int8.tflite", "--min-agreement", "100",
                                  "--limit", "30")
    assert code == (0 if all(r["metrics"]["agreement"] == 100 for r in results) else 1)


def test_forecaster_converts_and_passes_on_the_device(forecaster, tmp_path):
    model, data = forecaster
    listed = convert(model, data, tmp_path)
    (reference,) = manifest.artifacts(listed, "reference")
    assert reference["task"] == "regression" and reference["limits"]["max_rmse_pct"] == 5.0
    with np.load(tmp_path / reference["file"]) as f, np.load(data) as given:
        assert f["inputs"].shape[1:] == given["x"].shape[1:] and f["outputs"].shape[1:] == (1,)
        # held-out windows only: none of them is among the calibration's training windows
        assert len(f["inputs"]) == round(0.2 * len(given["x"]))
    code, results = device_parity(tmp_path / "forecaster_int8.tflite")
    assert code == 0, results
    for r in results:
        m = r["metrics"]
        assert r["passed"] and m["rel_rmse_pct"] <= 5.0 and m["max_abs_error"] >= m["rmse"] > 0
    # a limit tighter than the model's error fails it, with exit code 1
    tight = str(results[0]["metrics"]["rel_rmse_pct"] / 2)
    code, results = device_parity(tmp_path / "forecaster_int8.tflite", "--max-rmse", tight)
    assert code == 1 and not results[0]["passed"]


def test_bench_measures_a_converted_forecaster_on_its_own_inputs(forecaster, tmp_path):
    model, data = forecaster
    convert(model, data, tmp_path)
    done = device("bench", "--models-dir", tmp_path, "--json", "--repeats", "20", "--no-keras")
    assert done.returncode == 0, done.stderr
    rows = {r["model"]: r for r in json.loads(done.stdout)}
    assert set(rows) == {"forecaster_float32.tflite", "forecaster_int8.tflite"}
    for row in rows.values():
        assert row["p50_us"] > 0 and row["size_bytes"] > 0 and "frame_ms" not in row
    shutil.copy(model, tmp_path)  # beside the models: found through the reference's record of it
    race = run_cli("bench", "--models-dir", tmp_path, "--json", "--repeats", "20", "--no-peer")
    assert race.returncode == 0, race.stderr
    keras_row = next(r for r in json.loads(race.stdout) if r["model"] == "keras")
    assert keras_row["p50_us"] > 0 and keras_row["runtime"].startswith("keras")
    assert all(r["x_keras"] > 1 for r in json.loads(race.stdout) if r["model"] != "keras")


def test_a_per_step_labeller_is_checked_on_every_step(tmp_path):
    """Dense → LSTM(return_sequences) → TimeDistributed(Dense softmax): y holds a class per step."""
    import keras

    rng = np.random.default_rng(0)
    steps, classes = 20, 3
    y = np.repeat(rng.integers(0, classes, (400, 4)), steps // 4, axis=1)  # a class per 5-step segment
    x = rng.normal(0, 0.5, (400, steps, classes)).astype(np.float32) + np.eye(classes)[y]
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((steps, classes)), keras.layers.Dense(8),
                            keras.layers.LSTM(12, return_sequences=True),
                            keras.layers.TimeDistributed(keras.layers.Dense(classes, activation="softmax"))])
    net.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    net.fit(x, y, epochs=4, batch_size=32, verbose=0)
    net.save(tmp_path / "labeller.keras")
    np.savez(tmp_path / "labeller.npz", x=x, y=y)
    out = tmp_path / "out"
    done = run_cli("convert", tmp_path / "labeller.keras", "--data", tmp_path / "labeller.npz",
                   "--out", out, "--quant", "int8", "--calibration-samples", "100")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "80 held-out items (20 steps each), per-step" in done.stdout
    code, results = device_parity(out / "labeller_int8.tflite")
    assert code == 0, results
    for r in results:
        assert r["metrics"]["images"] == 80 * steps and r["metrics"]["agreement"] >= 99.0


@pytest.fixture(scope="module")
def dense_only(tmp_path_factory):
    import keras

    folder = tmp_path_factory.mktemp("dense")
    net = keras.Sequential([keras.Input((32, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    net.save(folder / "dense.keras")
    return folder / "dense.keras"


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_bad_data_is_one_line_and_writes_nothing(forecaster, dense_only, tmp_path):
    model, data = forecaster
    with np.load(data) as f:
        x, y = f["x"], f["y"]
    nan = x.copy()
    nan[3, 5, 0] = np.nan
    (tmp_path / "text.npz").write_text("not an archive")
    cases = [
        (model, _npz(tmp_path / "short.npz", x=x[:, :10], y=y),
         "items of (10, 1), but the model takes (32, 1)"),
        (model, _npz(tmp_path / "nan.npz", x=nan, y=y), "NaN or infinite values in 1 of"),
        (model, _npz(tmp_path / "y.npz", x=x, y=np.zeros((len(x), 3))), "the model gives (1,) per item"),
        (model, _npz(tmp_path / "few.npz", x=x[:20], y=y[:20]),
         "4 held-out items; checking parity needs at least 20"),
        (model, _npz(tmp_path / "nox.npz", inputs=x), "no array 'x' (nor 'x_train'); found inputs"),
        (model, tmp_path / "text.npz", "not a readable .npz file"),
        (dense_only, data, "no recurrent layer"),
    ]
    cases = [(m, ["--data", npz], message) for m, npz, message in cases] + [
        (model, ["--eval", data], "--eval needs --data too"),
        (model, [], "takes (32, 1), not MNIST's (28, 28): give your data with --data")]
    for keras_model, data_options, message in cases:
        out = tmp_path / "out"
        done = run_cli("convert", keras_model, *data_options, "--out", out, "--quant", "int8")
        assert done.returncode == 2, (data_options, done.stderr)
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("error: ") and message in line, line
        assert not out.exists()
