"""`edge-lstm parity` and `bench` on the shipped models, as on a device: no TensorFlow loaded.

Runs with ai-edge-litert here, and with tflite-runtime 2.14 in its own numpy<2 environment when
$EDGE_LSTM_TFLITE_RUNTIME_PYTHON names it (`make test` builds it).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from edge_lstm import manifest
from tflite_files import corrupt_weights

MODELS = manifest.models_dir()
SHIPPED = manifest.load(MODELS)
RECOMMENDED = SHIPPED["recommended"]
TFLITE_RUNTIME = os.environ.get("EDGE_LSTM_TFLITE_RUNTIME_PYTHON")
NO_TF = """
import runpy, sys
sys.argv = ["edge-lstm", *sys.argv[1:]]
try:
    runpy.run_module("edge_lstm", run_name="__main__")
except SystemExit as e:
    code = e.code
else:
    code = 0
assert "tensorflow" not in sys.modules, "TensorFlow was imported"
sys.exit(code)
"""


def device(*args, python=sys.executable, env=None):
    """Run edge-lstm in a child process and fail if it imports TensorFlow."""
    return subprocess.run([python, "-c", NO_TF, *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def copy_with_manifest(tmp_path, name):
    for a in manifest.artifacts(SHIPPED, "tflite") + manifest.artifacts(SHIPPED, "predictions"):
        shutil.copy(MODELS / a["file"], tmp_path)
    shutil.copy(MODELS / "manifest.json", tmp_path)
    return tmp_path / name


def test_recommended_model_passes_on_the_full_test_split():
    done = device("parity", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)
    assert result["passed"] and result["metrics"]["images"] == 10000
    names = [c["name"] for c in result["checks"]]
    assert "accuracy vs recorded (pp below)" in names  # held to the conversion-time record
    recorded = manifest.entry(SHIPPED, RECOMMENDED)["parity"]["ai-edge-litert"]["accuracy"]
    assert result["metrics"]["accuracy"] == pytest.approx(recorded, abs=0.05)


@pytest.mark.parametrize("name", [a["file"] for a in manifest.artifacts(SHIPPED, "tflite")
                                  if "ai-edge-litert" in a["passed_on"]])
def test_every_shipped_model_passes_a_quick_check(name):
    # 1 000 images: on 500, three disagreements (0.6%) already fail the 99.5% agreement bar
    done = device("parity", MODELS / name, "--limit", "1000", "--runtime", "ai-edge-litert")
    assert done.returncode == 0, done.stdout + done.stderr


def test_python_dash_m_is_the_same_command():
    done = subprocess.run([sys.executable, "-m", "edge_lstm", "parity", "--limit", "200"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and "PASS" in done.stdout


def test_corrupted_copy_fails(tmp_path):
    model = copy_with_manifest(tmp_path, RECOMMENDED)
    corrupt_weights(MODELS / RECOMMENDED, model)
    done = device("parity", model)
    assert done.returncode == 1
    assert "FAIL" in done.stdout and "sha256" in done.stdout


def test_inflated_recorded_accuracy_fails(tmp_path):
    model = copy_with_manifest(tmp_path, RECOMMENDED)
    data = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest.entry(data, RECOMMENDED)
    for record in entry["parity"].values():
        if "accuracy" in record:
            record["accuracy"] = min(100.0, record["accuracy"] + 1.5)
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    done = device("parity", model)
    assert done.returncode == 1
    assert "accuracy vs recorded" in done.stdout


def test_model_not_in_manifest_still_runs_with_a_notice(tmp_path):
    shutil.copy(MODELS / RECOMMENDED, tmp_path / "renamed.tflite")
    done = device("parity", tmp_path / "renamed.tflite", "--limit", "300")
    assert done.returncode == 0, done.stderr
    assert "no reference was recorded" in done.stdout


def test_runtime_not_installed_is_one_line():
    if TFLITE_RUNTIME is None:
        done = device("parity", "--runtime", "tflite-runtime", "--limit", "10")
        assert done.returncode == 1 and "tflite-runtime is not installed" in done.stdout
    else:
        done = device("parity", "--runtime", "ai-edge-litert", "--limit", "10", python=TFLITE_RUNTIME)
        assert done.returncode == 1 and "ai-edge-litert is not installed" in done.stdout


@pytest.mark.skipif(not TFLITE_RUNTIME, reason="needs $EDGE_LSTM_TFLITE_RUNTIME_PYTHON (make test builds it)")
def test_recommended_model_passes_on_tflite_runtime_2_14():
    done = device("parity", "--runtime", "tflite-runtime", "--json", python=TFLITE_RUNTIME)
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)
    assert result["runtime"].startswith("tflite-runtime 2.14") and result["metrics"]["images"] == 10000


def test_bench_reports_the_documented_fields():
    done = device("bench", MODELS / RECOMMENDED, "--json", "--repeats", "50", "--no-keras")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    for field, kind in {"model": str, "runtime": str, "p50_us": float, "p95_us": float, "p99_us": float,
                        "load_ms": float, "size_bytes": int}.items():
        assert isinstance(row[field], kind), field
    assert row["p50_us"] <= row["p95_us"] <= row["p99_us"]
    assert row["size_bytes"] == (MODELS / RECOMMENDED).stat().st_size
    assert row["frame_ms"] > 0 and row["peak_rss_mb"] > 0


@pytest.mark.skipif(not TFLITE_RUNTIME, reason="needs $EDGE_LSTM_TFLITE_RUNTIME_PYTHON (make test builds it)")
def test_host_commands_on_a_device_say_what_to_install(tmp_path):
    done = device("train", "--out", tmp_path / "m.keras", python=TFLITE_RUNTIME)
    assert done.returncode == 2
    assert "pip install 'edge-lstm[train]'" in done.stderr and "Traceback" not in done.stderr
