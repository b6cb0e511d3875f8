"""The fast path, specified: batches give the answers one-by-one calls give, and `bench` races the
device models against ONNX Runtime and Keras in one process and prints both ratios."""

import json
import os
import subprocess

import numpy as np
import pytest

from conftest import run_cli
from edge_lstm import manifest
from edge_lstm.data import CLASSES, load_test_split, normalize
from edge_lstm.runtime import Classifier

MODELS = manifest.models_dir()
RECOMMENDED = MODELS / manifest.load(MODELS)["recommended"]
IMAGES = normalize(load_test_split().x[:300])
TFLITE_RUNTIME = os.environ.get("EDGE_LSTM_TFLITE_RUNTIME_PYTHON")
LEAN = [a["file"] for a in manifest.artifacts(MODELS, "tflite") if a.get("form") == "lean"]


@pytest.mark.parametrize("name", LEAN)
def test_batches_give_the_answers_of_single_images(name):
    classifier = Classifier(MODELS / name)
    assert classifier.resizable  # the lean form keeps the batch dimension open
    one_by_one = np.stack([classifier.predict(image) for image in IMAGES])
    for batch in (1, 7, 64):  # 300 = 4 × 64 + 44: the last batch is short
        together = classifier.predict(IMAGES, batch=batch)
        assert together.shape == (len(IMAGES), CLASSES)
        assert np.array_equal(together.argmax(1), one_by_one.argmax(1))
        assert np.abs(together - one_by_one).max() < 1e-5


@pytest.mark.skipif(not TFLITE_RUNTIME, reason="needs $EDGE_LSTM_TFLITE_RUNTIME_PYTHON (make test builds it)")
def test_tflite_runtime_is_never_given_batches():
    """tflite-runtime 2.14 for aarch64 crashes on the int8 lean model at batch > 1."""
    code = ("from edge_lstm.runtime import Classifier; import sys; "
            "print(Classifier(sys.argv[1], 'tflite-runtime').resizable)")
    done = subprocess.run([TFLITE_RUNTIME, "-c", code, str(MODELS / "lstm_int8.tflite")], text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(MODELS.parent)})
    assert done.stdout.strip() == "False", done.stderr


def test_bench_races_the_recommended_model_against_the_peer_and_keras():
    for module in ("tensorflow", "onnxruntime", "tf2onnx"):
        pytest.importorskip(module)
    done = run_cli("bench", RECOMMENDED, "--repeats", "200", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["model"]: row for row in json.loads(done.stdout)}
    assert set(rows) == {RECOMMENDED.name, "peer", "keras"}
    assert rows["peer"]["runtime"].startswith("onnxruntime")
    model = rows[RECOMMENDED.name]
    assert model["x_keras"] == round(rows["keras"]["p50_us"] / model["p50_us"], 2)
    assert model["x_peer"] == round(rows["peer"]["p50_us"] / model["p50_us"], 2)
    assert model["x_keras"] > 100  # far faster than Keras predict on any machine
    assert model["ips_batch_n"] > model["ips_batch_1"]
