"""`edge-lstm convert` and host `parity` on a real small trained model, every mode, every runtime
available (tflite-runtime 2.14 from $EDGE_LSTM_TFLITE_RUNTIME_PYTHON, which `make test` builds)."""

import json
import os
import shutil

import pytest

from conftest import run_cli
from edge_lstm.manifest import artifacts, entry
from edge_lstm.quant import MODES
from edge_lstm.runtime import DEVICE_RUNTIMES
from tflite_files import corrupt_weights

pytest.importorskip("tensorflow")

TFLITE_RUNTIME = os.environ.get("EDGE_LSTM_TFLITE_RUNTIME_PYTHON")
DEVICE = [r for r in DEVICE_RUNTIMES if TFLITE_RUNTIME or r != "tflite-runtime"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory, small_model, mnist_npz):
    out = tmp_path_factory.mktemp("converted")
    done = run_cli("convert", small_model, "--out", out, "--data", mnist_npz, "--calibration-samples", "200")
    manifest = json.loads((out / "manifest.json").read_text())
    return out, done, manifest


def test_every_mode_converts_and_is_recorded(converted, small_model):
    out, done, manifest = converted
    assert done.returncode == 0, done.stdout + done.stderr
    for mode in MODES:
        name = f"{small_model.stem}_{mode}.tflite"
        e = entry(manifest, name)
        assert e is not None and (out / name).exists(), f"{mode}: {done.stdout}"
        assert e["quant"] == mode and e["size_bytes"] == (out / name).stat().st_size
        assert "ai-edge-litert" in e["passed_on"]
        litert = e["parity"]["ai-edge-litert"]
        assert litert["images"] == 10000 and litert["agreement"] >= 99.5 and litert["drop_pp"] <= 0.3
    assert entry(manifest, f"{small_model.stem}.predictions.npz")["images"] == 10000


def test_each_mode_keeps_its_fastest_passing_form_and_the_fastest_is_recommended(converted,
                                                                                small_model):
    out, done, manifest = converted
    stem = small_model.stem
    for mode in ("float32", "float16", "int8"):
        assert f"{mode} (lean)" in done.stdout  # every candidate form was converted...
    assert entry(manifest, f"{stem}_float32.tflite")["form"] == "lean"  # ...the fastest was kept
    slowest = {a["file"]: max(a["parity"][r]["latency_us"] for r in DEVICE)
               for a in artifacts(manifest, "tflite") if set(DEVICE) <= set(a["passed_on"])}
    # relative, not in µs: a busy machine slows every form (int16x8 runs on reference kernels)
    assert slowest[f"{stem}_float32.tflite"] < slowest[f"{stem}_int16x8.tflite"]
    assert manifest["prefer"] == "speed"
    assert slowest[manifest["recommended"]] <= 1.1 * min(slowest.values())


def test_prefer_size_keeps_the_compact_full_integer_lstm(small_model, mnist_npz, tmp_path):
    done = run_cli("convert", small_model, "--out", tmp_path, "--data", mnist_npz, "--quant",
                   "int8", "--prefer", "size", "--calibration-samples", "200",
                   "--runtime", "ai-edge-litert")
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    name = f"{small_model.stem}_int8.tflite"
    e = entry(manifest, name)
    assert manifest["recommended"] == name and e["form"] == "fused_reset"
    assert e["size_bytes"] <= 32 * 1024
    assert any(op.startswith("UNIDIRECTIONAL_SEQUENCE_LSTM") for op in e["ops"])
    from edge_lstm.tflite_model import inspect

    assert inspect(tmp_path / name).inputs[0].dtype == "float32"  # float I/O, int8 inside


def test_other_28x28_data_checks_the_digit_model_on_that_data(small_model, mnist_npz, tmp_path):
    """A Keras-layout file whose test split is not MNIST's (here: training digits as the test part,
    as a Fashion-MNIST or own-digits file would be) is the user's data, not the bundled split."""
    import numpy as np

    with np.load(mnist_npz) as f:
        x, y = f["x_train"][:3000], f["y_train"][:3000]
    np.savez(tmp_path / "own.npz", x_train=x[:2000], y_train=y[:2000], x_test=x[2000:], y_test=y[2000:])
    out = tmp_path / "out"
    done = run_cli("convert", small_model, "--out", out, "--data", tmp_path / "own.npz",
                   "--quant", "float32", "--runtime", "ai-edge-litert")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not artifacts(out, "predictions")
    (reference,) = artifacts(out, "reference")
    assert reference["items"] == 1000 and reference["task"] == "classifier"


@pytest.mark.skipif(not TFLITE_RUNTIME, reason="needs $EDGE_LSTM_TFLITE_RUNTIME_PYTHON (make test builds it)")
def test_runtime_matrix_with_real_tflite_runtime(converted, small_model):
    _, done, manifest = converted
    stem = small_model.stem
    for mode in ("float32", "float16", "int8"):
        assert "tflite-runtime" in entry(manifest, f"{stem}_{mode}.tflite")["passed_on"]
    dynamic = entry(manifest, f"{stem}_dynamic.tflite")["parity"]["tflite-runtime"]
    assert "FULLY_CONNECTED version 12" in dynamic["error"]
    # tflite-runtime 2.14 gives wrong answers with the unrolled int16x8 form: caught, and the
    # lean form, which it runs right, is kept
    unrolled = next(line for line in done.stdout.splitlines()
                    if f"{stem}_int16x8.unrolled.tflite" in line and "tflite-runtime" in line)
    assert unrolled.endswith("FAIL")
    assert "tflite-runtime" in entry(manifest, f"{stem}_int16x8.tflite")["passed_on"]
    assert "warning:" in done.stderr


def test_host_parity_against_keras_and_reports(converted, small_model, tmp_path):
    out, _, _ = converted
    model = out / f"{small_model.stem}_int8.tflite"
    done = run_cli("parity", model, "--keras", small_model, "--report", tmp_path / "r.md",
                   "--chart", tmp_path / "r.png", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)[0]
    assert result["passed"] and result["metrics"]["images"] == 10000
    assert len(result["metrics"]["per_class_delta_pp"]) == 10
    assert "- ops: " in (tmp_path / "r.md").read_text()
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_parity_fails_on_perturbed_weights(converted, small_model, tmp_path):
    out, _, _ = converted
    broken = tmp_path / "broken.tflite"
    corrupt_weights(out / f"{small_model.stem}_float32.tflite", broken)
    shutil.copy(out / f"{small_model.stem}.predictions.npz", tmp_path)
    done = run_cli("parity", broken, "--models-dir", out)
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "top-1 agreement" in done.stdout


def test_a_converter_crash_fails_only_its_mode(small_model, mnist_npz, tmp_path):
    """Full-integer calibration of the WHILE-loop form segfaults TF 2.21's converter (really)."""
    done = run_cli("convert", small_model, "--out", tmp_path, "--data", mnist_npz, "--quant",
                   "int8,float16", "--form", "int8=loop", "--calibration-samples", "20",
                   "--runtime", "ai-edge-litert")
    assert done.returncode == 1
    assert "int8 (loop): FAILED: the TFLite converter crashed (SIGSEGV)" in done.stdout
    assert (tmp_path / f"{small_model.stem}_float16.tflite").exists()
    assert not (tmp_path / f"{small_model.stem}_int8.tflite").exists()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["recommended"] == f"{small_model.stem}_float16.tflite"


def test_convert_bad_input(small_model, mnist_npz, tmp_path):
    (tmp_path / "text.keras").write_text("not a model")
    cases = [
        (["convert", tmp_path / "text.keras", "--out", tmp_path], "not a readable Keras model"),
        (["convert", tmp_path / "missing.keras"], "missing.keras' does not exist"),
        (["convert", small_model, "--quant", "int4"], "'--quant' / '-q': unknown mode int4"),
        (["convert", small_model, "--out", tmp_path / "ok", "--quant", "int8", "--data",
          tmp_path / "none.npz"], "'--data': path"),
    ]
    (tmp_path / "f").write_text("a file where a folder should be")
    cases.append((["convert", small_model, "--out", tmp_path / "f" / "x"], "cannot create folder"))
    for args, message in cases:
        done = run_cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_convert_refuses_to_overwrite(converted, small_model):
    out, _, _ = converted
    done = run_cli("convert", small_model, "--out", out, "--quant", "float32")
    assert done.returncode == 2 and "--force" in done.stderr


def test_another_input_shape_needs_its_own_data(tmp_path):
    import keras

    net = keras.Sequential([keras.Input((32, 32)), keras.layers.LSTM(4), keras.layers.Dense(10)])
    net.save(tmp_path / "wide.keras")
    done = run_cli("convert", tmp_path / "wide.keras", "--out", tmp_path / "out")
    assert done.returncode == 2 and "takes (32, 32), not MNIST's (28, 28)" in done.stderr
    assert "--data" in done.stderr and not (tmp_path / "out").exists()


def test_truncated_tflite_given_to_parity(converted, small_model, tmp_path):
    out, _, _ = converted
    cut = tmp_path / "cut.tflite"
    cut.write_bytes((out / f"{small_model.stem}_int8.tflite").read_bytes()[:3000])
    done = run_cli("parity", cut, "--models-dir", out)
    assert done.returncode == 2
    assert "not a TFLite model" in done.stderr and "Traceback" not in done.stderr


def test_int8_io_model_runs_through_the_same_classifier(small_model, mnist_npz, tmp_path, converted):
    """--int8-io: int8 input and output tensors; the runtime quantizes and dequantizes for callers."""
    import numpy as np

    from edge_lstm.data import load_test_split, normalize
    from edge_lstm.runtime import Classifier
    from edge_lstm.tflite_model import inspect

    done = run_cli("convert", small_model, "--out", tmp_path, "--data", mnist_npz, "--quant", "int8",
                   "--int8-io", "--calibration-samples", "200", "--runtime", "ai-edge-litert")
    assert done.returncode == 0, done.stdout + done.stderr
    model = tmp_path / f"{small_model.stem}_int8.tflite"
    assert inspect(model).inputs[0].dtype == "int8"
    images = normalize(load_test_split().x[:500])
    int8_io = Classifier(model).predict(images)
    float_io = Classifier(converted[0] / model.name).predict(images)
    assert np.allclose(int8_io.sum(1), 1, atol=0.05)
    assert np.mean(int8_io.argmax(1) == float_io.argmax(1)) >= 0.99
