"""A user's data for ``convert --data DATA.npz``: inputs, optional targets, split reproducibly.

``DATA.npz`` holds ``x`` (and optionally ``y``), or the Keras layout ``x_train, y_train, x_test,
y_test``. ``uint8`` inputs are pixels and are scaled to [0, 1], as edge-lstm does for MNIST;
any other numeric inputs are fed as float32 unchanged. Calibration samples come from the training
part; parity is measured on the held-out part: ``x_test``, or ``--eval EVAL.npz`` (read the same
way), or else a fixed fifth of ``x`` drawn with a fixed seed, so every run holds out the same items.

What the outputs mean is told by the model's output and ``y`` (:func:`task_of`): a classifier
gives one score per class and ``y`` holds class ids; a per-step labeller gives scores per time
step and ``y`` one class id per step; anything else is a regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_lstm.data import read_npz
from edge_lstm.errors import EdgeLstmError

CLASSIFIER, PER_STEP, REGRESSION = "classifier", "per-step", "regression"
TASKS = (CLASSIFIER, PER_STEP, REGRESSION)
EVAL_FRACTION = 0.2  # of ``x`` held out when there is no test part
SPLIT_SEED = 0
MIN_CALIBRATION = 10  # fewer cannot set the int8 ranges of a model
MIN_EVAL = 20  # fewer make an agreement percentage meaningless (one item is 5 points)


@dataclass(frozen=True)
class Part:
    """Model-ready inputs (N, *input_shape) float32 and targets (N, …) or None."""

    x: np.ndarray
    y: np.ndarray | None


@dataclass(frozen=True)
class UserData:
    train: Part
    eval: Part


def load(data: Path, eval_data: Path | None, input_shape: tuple) -> UserData:
    """The training and held-out parts of ``data`` (and ``eval_data``), checked against the
    model's ``input_shape`` (without the batch)."""
    arrays = _read(data)
    if "x" in arrays:
        train = _part(arrays, "x", "y", data, input_shape)
        held_out = None
    else:
        train = _part(arrays, "x_train", "y_train", data, input_shape)
        held_out = _part(arrays, "x_test", "y_test", data, input_shape) if "x_test" in arrays else None
    if eval_data is not None:
        other = _read(eval_data)
        key = "x" if "x" in other else "x_test"
        held_out = _part(other, key, "y" if key == "x" else "y_test", eval_data, input_shape)
    if held_out is None:
        train, held_out = _split(train)
    if len(train.x) < MIN_CALIBRATION:
        raise EdgeLstmError(f"{data}: {len(train.x)} training items; calibrating needs at least "
                            f"{MIN_CALIBRATION}")
    if len(held_out.x) < MIN_EVAL:
        raise EdgeLstmError(f"{eval_data or data}: {len(held_out.x)} held-out items; checking parity "
                            f"needs at least {MIN_EVAL}")
    return UserData(train, held_out)


def is_keras_layout(path: Path) -> bool:
    """Whether ``path`` is a readable ``.npz`` in the Keras layout (``x_train`` …, no ``x``)."""
    arrays = _read(path)
    return "x" not in arrays and "x_train" in arrays


def _read(path: Path) -> dict[str, np.ndarray]:
    arrays = read_npz(path)
    if "x" not in arrays and "x_train" not in arrays:
        raise EdgeLstmError(f"{path}: no array 'x' (nor 'x_train'); found {', '.join(arrays) or 'none'}")
    return arrays


def _part(arrays: dict, x_key: str, y_key: str, path: Path, input_shape: tuple) -> Part:
    x = arrays[x_key]
    where = f"{path}: {x_key}"
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0  # pixels, as for MNIST
    elif np.issubdtype(x.dtype, np.number) and not np.iscomplexobj(x):
        x = x.astype(np.float32)
    else:
        raise EdgeLstmError(f"{where} holds {x.dtype} values; the model needs numbers")
    if x.shape[1:] != tuple(input_shape) or x.ndim == 0:
        raise EdgeLstmError(f"{where} has shape {x.shape}: items of {x.shape[1:]}, but the model "
                            f"takes {tuple(input_shape)}")
    if not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x).reshape(len(x), -1).all(axis=1)))
        raise EdgeLstmError(f"{where} has NaN or infinite values in {bad} of {len(x)} items")
    y = arrays.get(y_key)
    if y is not None and (y.ndim == 0 or len(y) != len(x)):
        raise EdgeLstmError(f"{path}: {y_key} has shape {y.shape}; expected one target per item "
                            f"of {x_key} ({len(x)})")
    return Part(x, y)


def _split(part: Part) -> tuple[Part, Part]:
    """A fixed fifth of the items held out, drawn with a fixed seed."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(part.x))
    cut = len(order) - int(round(len(order) * EVAL_FRACTION))
    train, held = np.sort(order[:cut]), np.sort(order[cut:])
    pick = (lambda idx: None) if part.y is None else (lambda idx: part.y[idx])
    return Part(part.x[train], pick(train)), Part(part.x[held], pick(held))


def task_of(outputs: np.ndarray, y: np.ndarray | None, where: str) -> tuple[str, np.ndarray | None]:
    """What the model's ``outputs`` (N, …) are, and ``y`` as that task's labels (class ids for the
    classifiers, float targets shaped like the outputs for a regression)."""
    shape = outputs.shape[1:]
    scores = len(shape) in (1, 2) and shape[-1] >= 2
    if y is None:
        return (_probability_task(shape) if scores and _probabilities(outputs) else REGRESSION), None
    ids_shape = shape[:-1]
    if scores and _class_ids(y) and y.shape[1:] == ids_shape:
        if y.min() < 0 or y.max() >= shape[-1]:
            raise EdgeLstmError(f"{where}: class ids {int(y.min())}..{int(y.max())}, but the model "
                                f"gives {shape[-1]} classes (0..{shape[-1] - 1})")
        return _probability_task(shape), y.astype(np.int64)
    if scores and y.shape[1:] == shape and _one_hot(y):
        return _probability_task(shape), y.argmax(-1)
    if np.issubdtype(y.dtype, np.number) and not np.iscomplexobj(y) and y.size == outputs.size:
        targets = y.astype(np.float32).reshape(outputs.shape)
        if not np.isfinite(targets).all():
            raise EdgeLstmError(f"{where}: NaN or infinite targets")
        if y.shape[1:] == shape or (shape == (1,) and y.ndim == 1):
            return REGRESSION, targets
    # per item: ``y`` here may be the held-out part only, so its length is not the file's
    expected = f"class ids shaped {ids_shape} or " if scores else ""
    raise EdgeLstmError(f"{where}: y has items shaped {y.shape[1:]} ({y.dtype}); the model gives "
                        f"{shape} per item, so each y item must be {expected}targets shaped {shape}")


def _probability_task(shape: tuple) -> str:
    return CLASSIFIER if len(shape) == 1 else PER_STEP


def _probabilities(outputs: np.ndarray) -> bool:
    """Softmax-like: non-negative scores summing to 1 for every item (and step)."""
    return bool((outputs >= 0).all() and np.allclose(outputs.sum(-1), 1.0, atol=1e-3))


def _class_ids(y: np.ndarray) -> bool:
    """Integers, or floats that are all whole numbers (labels read through pandas or float arrays)."""
    if np.issubdtype(y.dtype, np.integer):
        return True
    return bool(np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all() and (y == np.round(y)).all())


def _one_hot(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0, 1)).all() and (y.sum(-1) == 1).all())
