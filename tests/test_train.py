"""Training: the seed architecture, a short real run that learns, reproducibility, and refusing
to overwrite (the other CLI errors: test_host_errors.py)."""

import json

import numpy as np
import pytest

from conftest import run_cli

tf = pytest.importorskip("tensorflow")

from converters import model as seed_model  # noqa: E402
from converters.negatives import negatives  # noqa: E402
from converters.train import Recipe, train  # noqa: E402
from edge_lstm.data import NOT_A_DIGIT, Mnist, Split, load_test_split  # noqa: E402


def test_seed_architecture():
    net = seed_model.build()
    assert net.count_params() == 7515
    assert net.output_shape == (None, 11)
    probs = net.predict(np.zeros((2, 28, 28), np.float32), verbose=0)
    assert probs.shape == (2, 11) and np.allclose(probs.sum(1), 1, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_mnist():
    test = load_test_split()
    return Mnist(Split(test.x[:3000], test.y[:3000]), Split(test.x[9000:], test.y[9000:]), "bundled")


def test_short_training_learns_and_is_reproducible(tiny_mnist):
    untrained = seed_model.build()
    before = np.mean(untrained.predict(tiny_mnist.test.x / 255.0, verbose=0).argmax(1) == tiny_mnist.test.y)
    recipe = Recipe(epochs=5, batch_size=32, seed=3, augment_copies=300, printed=100, negatives=600,
                    line_crops=200)
    first = train(tiny_mnist, recipe, verbose=0)
    second = train(tiny_mnist, recipe, verbose=0)
    assert first.test_accuracy > max(0.7, before + 0.5)
    unseen = negatives(200, seed=4, show_progress=False)  # another seed: images it did not train on
    assert np.mean(first.model.predict(unseen / 255.0, verbose=0).argmax(1) == NOT_A_DIGIT) > 0.6
    assert first.history["loss"][-1] < first.history["loss"][0]
    assert first.test_accuracy == second.test_accuracy
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_train_command_writes_model_history_curves_and_manifest(small_model):
    folder = small_model.parent
    history = json.loads(small_model.with_suffix(".history.json").read_text())
    assert len(history["history"]["loss"]) == 4
    assert small_model.with_suffix(".curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(a for a in manifest["artifacts"] if a["file"] == small_model.name)
    assert entry["parameters"] == 14571 and entry["test_accuracy"] == history["test_accuracy"]
    assert len(entry["dataset"]["train_sha256"]) == 64
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_train_refuses_to_overwrite(small_model, mnist_npz):
    done = run_cli("train", "--data", mnist_npz, "--out", small_model, "--epochs", "1")
    assert done.returncode != 0
    assert done.stderr.strip() == f"error: {small_model} already exists; pass --force to overwrite it"


def test_shipped_model_matches_its_manifest():
    """The shipped Keras model scores ≥ 98.3%, exactly as recorded, and its shipped predictions
    are its own answers."""
    from edge_lstm import manifest
    from edge_lstm.data import normalize
    from edge_lstm.parity import shipped_reference

    folder = manifest.models_dir()
    (entry,) = manifest.artifacts(folder, "keras")
    assert manifest.file_facts(folder / entry["file"])["sha256"] == entry["sha256"]
    assert entry["parameters"] == 35595  # 64 units
    test = load_test_split()
    probs = seed_model.load(folder / entry["file"]).predict(normalize(test.x), batch_size=1000, verbose=0)
    accuracy = float(np.mean(probs.argmax(1) == test.y))
    assert accuracy >= 0.983
    assert round(accuracy, 6) == entry["test_accuracy"]
    reference = shipped_reference(folder)
    assert np.array_equal(reference.outputs.argmax(1), probs.argmax(1))
    assert np.abs(reference.outputs - probs).max() < 1e-3  # stored as float16
