"""A user's data (edge_lstm.dataset) and parity for each kind of output (edge_lstm.parity): the
layouts, the reproducible split, what each task is told from, and the rules each task is held to."""

import numpy as np
import pytest

from edge_lstm import dataset, parity
from edge_lstm.errors import EdgeLstmError

SHAPE = (12, 3)


def save(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_x_alone_is_split_reproducibly_into_training_and_held_out_parts(tmp_path):
    x = np.random.default_rng(0).normal(size=(100, *SHAPE))
    data = save(tmp_path / "d.npz", x=x, y=np.arange(100))
    first, again = dataset.load(data, None, SHAPE), dataset.load(data, None, SHAPE)
    assert len(first.eval.x) == 20 and len(first.train.x) == 80
    assert np.array_equal(first.eval.y, again.eval.y)
    assert not set(first.eval.y) & set(first.train.y)  # held out: never calibrated on
    assert np.array_equal(first.eval.x, x[first.eval.y].astype(np.float32))


def test_keras_layout_and_eval_file(tmp_path):
    x = np.random.default_rng(0).normal(size=(60, *SHAPE)).astype(np.float32)
    keras_layout = save(tmp_path / "k.npz", x_train=x[:30], y_train=np.zeros(30), x_test=x[30:],
                        y_test=np.ones(30))
    user = dataset.load(keras_layout, None, SHAPE)
    assert np.array_equal(user.train.x, x[:30]) and np.array_equal(user.eval.x, x[30:])
    other = save(tmp_path / "e.npz", x=x[:25])
    user = dataset.load(keras_layout, other, SHAPE)
    assert np.array_equal(user.eval.x, x[:25]) and user.eval.y is None


def test_uint8_inputs_are_pixels_scaled_to_one(tmp_path):
    x = np.full((100, *SHAPE), 255, np.uint8)
    user = dataset.load(save(tmp_path / "p.npz", x=x), None, SHAPE)
    assert user.train.x.dtype == np.float32 and user.train.x.max() == 1.0


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.zeros((50, 12, 4))), "items of (12, 4), but the model takes (12, 3)"),
    (dict(x=np.full((50, *SHAPE), np.inf)), "NaN or infinite values in 50 of 50 items"),
    (dict(x=np.zeros((50, *SHAPE)), y=np.zeros(49)), "expected one target per item"),
    (dict(x=np.zeros((24, *SHAPE))), "5 held-out items; checking parity needs at least 20"),
    (dict(x_train=np.zeros((5, *SHAPE)), x_test=np.zeros((30, *SHAPE))), "calibrating needs at least 10"),
    (dict(x=np.array(["a"] * 50)), "holds <U1 values"),
    (dict(images=np.zeros(3)), "no array 'x' (nor 'x_train'); found images"),
])
def test_bad_data_is_refused_in_words(tmp_path, arrays, message):
    with pytest.raises(EdgeLstmError) as caught:
        dataset.load(save(tmp_path / "bad.npz", **arrays), None, SHAPE)
    assert message in str(caught.value)


def test_a_file_that_is_not_an_npz(tmp_path):
    (tmp_path / "a.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(EdgeLstmError, match="not a readable .npz file"):
        dataset.load(tmp_path / "a.npz", None, SHAPE)
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(EdgeLstmError, match="not an .npz archive"):
        dataset.load(tmp_path / "one.npy", None, SHAPE)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_the_task_is_told_by_the_outputs_and_y():
    rng = np.random.default_rng(0)
    probs, steps = softmax(rng.normal(size=(40, 4))), softmax(rng.normal(size=(40, 6, 4)))
    ids = rng.integers(0, 4, 40)
    assert dataset.task_of(probs, ids, "d") == ("classifier", pytest.approx(ids))
    assert dataset.task_of(probs, None, "d")[0] == "classifier"
    assert dataset.task_of(probs, np.eye(4)[ids], "d")[1].tolist() == ids.tolist()  # one-hot
    assert dataset.task_of(probs, ids.astype(np.float32), "d")[1].tolist() == ids.tolist()  # ids as floats
    assert dataset.task_of(steps, rng.integers(0, 4, (40, 6)), "d")[0] == "per-step"
    assert dataset.task_of(rng.normal(size=(40, 4)), None, "d")[0] == "regression"  # not probabilities
    task, targets = dataset.task_of(rng.normal(size=(40, 1)), rng.normal(size=40), "d")
    assert task == "regression" and targets.shape == (40, 1)
    with pytest.raises(EdgeLstmError, match="class ids 0..9, but the model gives 4 classes"):
        dataset.task_of(probs, np.arange(40) % 10, "d")
    with pytest.raises(EdgeLstmError, match=r"y has items shaped \(3,\).*class ids shaped \(\)"):
        dataset.task_of(probs, np.zeros((40, 3)), "d")


def reference(outputs, labels, task):
    return parity.Reference(outputs, labels, "test", np.zeros((len(outputs), 2), np.float32), task,
                            parity.USER_LIMITS)


def test_regression_is_held_to_rmse_relative_to_the_spread():
    keras_outputs = np.random.default_rng(0).normal(2.0, 3.0, size=(500, 1)).astype(np.float32)
    ref = reference(keras_outputs, None, "regression")
    spread = float(np.std(keras_outputs))
    for shift, verdict in ((0.04, True), (0.06, False)):  # a constant error of 4% / 6% of the spread
        metrics = parity.compare(keras_outputs + shift * spread, ref)
        assert metrics.rel_rmse_pct == pytest.approx(100 * shift, rel=1e-3)
        assert metrics.max_abs_error == pytest.approx(shift * spread, rel=1e-3)
        assert parity.passed(parity.judge(metrics, ref, ref.limits)) is verdict


def test_per_step_agreement_counts_every_step():
    rng = np.random.default_rng(0)
    keras_outputs = softmax(rng.normal(size=(50, 10, 3)) * 5).astype(np.float32)
    labels = keras_outputs.argmax(-1)
    ref = reference(keras_outputs, labels, "per-step")
    changed = keras_outputs.copy()
    changed[0, :3] = np.roll(changed[0, :3], 1, axis=-1)  # 3 of 500 steps answer otherwise
    metrics = parity.compare(changed, ref)
    assert metrics.images == 500 and metrics.agreement == pytest.approx(99.4)
    assert metrics.accuracy == pytest.approx(99.4) and metrics.reference_accuracy == 100.0
    assert parity.passed(parity.judge(metrics, ref, ref.limits))
    strict = parity.judge(metrics, ref, ref.limits.given(min_agreement=99.9))
    assert not parity.passed(strict)


def test_reference_round_trip_and_bounds(tmp_path):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(3000, 40, 20)).astype(np.float32)  # 3.2 KB an item
    n = parity.reference_items(inputs)
    assert n == 1000 and parity.reference_items(inputs[:10]) == 10
    assert parity.reference_items(np.zeros((10, 2000, 1000), np.float32)) == 1  # 8 MB an item
    ref = parity.Reference(softmax(rng.normal(size=(n, 5))).astype(np.float32), rng.integers(0, 5, n),
                           "test", inputs[:n], "classifier", parity.USER_LIMITS.given(min_agreement=98.0))
    ref.save(tmp_path / "m.reference.npz")
    entry = {"kind": "reference", "task": "classifier", "limits": vars(ref.limits)}
    back = parity.Reference.load(tmp_path / "m.reference.npz", entry)
    assert np.array_equal(back.inputs, ref.inputs) and np.array_equal(back.outputs, ref.outputs)
    assert back.limits.min_agreement == 98.0 and back.task == "classifier"
    with pytest.raises(EdgeLstmError, match="needs a task"):
        parity.Reference.load(tmp_path / "m.reference.npz", {**entry, "task": "poetry"})
