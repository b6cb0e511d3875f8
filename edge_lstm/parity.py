"""Parity: does a ``.tflite`` model give the Keras model's answers?

The reference is the Keras model's outputs on held-out inputs: computed fresh on the host
(``converters``), or read from the file ``convert`` wrote beside the models, so a device checks
agreement item by item without TensorFlow. For the MNIST digit model that file holds the
probabilities on the test split bundled with the package (``*.predictions.npz``); for any other
model it also holds the inputs (``*.reference.npz``). :func:`compare` measures a model against it
and :func:`judge` applies the pass/fail rules of its task: top-1 agreement (and accuracy, with
labels) for classifiers and per-step labellers, relative RMSE for regressions.
"""

from __future__ import annotations

import io
import math
import zipfile
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from edge_lstm import atomic, manifest, reading
from edge_lstm.data import CLASSES
from edge_lstm.dataset import CLASSIFIER, PER_STEP, REGRESSION, TASKS
from edge_lstm.errors import EdgeLstmError

MAX_DROP_PP = 0.3
MIN_AGREEMENT_PCT = 99.5
MAX_PREDICTIONS_BYTES = 64 * 2**20  # the test split's are about 200 KB; a reference a few MB
TEST_IMAGES = 10_000  # the MNIST test split: the thresholds are meant for all of it
# What a reference for a user's model holds: at most this many held-out items and bytes of inputs.
REFERENCE_ITEMS = 1000
REFERENCE_INPUT_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Limits:
    """The pass/fail limits: top-1 agreement (%) and accuracy drop (points) for classifiers,
    RMSE relative to the spread of the Keras outputs (%) for regressions."""

    min_agreement: float
    max_drop: float
    max_rmse_pct: float

    def given(self, **options: float | None) -> Limits:
        """These limits with those of ``options`` that are not None."""
        return replace(self, **{k: v for k, v in options.items() if v is not None})


MNIST_LIMITS = Limits(MIN_AGREEMENT_PCT, MAX_DROP_PP, 5.0)
USER_LIMITS = Limits(99.0, 1.0, 5.0)  # a user's held-out set is smaller than MNIST's 10 000


@dataclass(frozen=True)
class Reference:
    """The Keras model's outputs (N, …) on the held-out inputs, the true labels (class ids, or
    targets for a regression; None if unknown), and the inputs themselves (None: the bundled MNIST
    test split, for the digit model's ``predictions`` file)."""

    outputs: np.ndarray
    labels: np.ndarray | None
    source: str
    inputs: np.ndarray | None = None
    task: str = CLASSIFIER
    limits: Limits = MNIST_LIMITS

    def __len__(self) -> int:
        return len(self.outputs)

    @property
    def digits(self) -> bool:
        """The MNIST digit model's reference: its limits are meant for the whole test split."""
        return self.inputs is None

    def head(self, n: int) -> Reference:
        return self.take(slice(n))

    def take(self, items) -> Reference:
        """These items only (a slice or indices; indices need the inputs)."""
        return replace(self, outputs=self.outputs[items],
                       labels=None if self.labels is None else self.labels[items],
                       inputs=None if self.inputs is None else self.inputs[items])

    def with_limits(self, limits: dict) -> Reference:
        """This reference with those of ``limits`` (field name → value) that are not None."""
        return replace(self, limits=self.limits.given(**limits))

    def model_inputs(self) -> np.ndarray:
        """The inputs the models are run on, float32 as they take them."""
        if self.inputs is not None:
            return self.inputs
        from edge_lstm.data import load_test_split, normalize

        return normalize(load_test_split().x[: len(self)])

    def save(self, path: Path) -> None:
        """Write compactly: the digit model's float16 probabilities and uint8 labels, or a user
        model's inputs, outputs and labels; compressed."""
        arrays = ({"probs": self.outputs.astype(np.float16), "labels": self.labels.astype(np.uint8)}
                  if self.digits else
                  {"inputs": self.inputs, "outputs": self.outputs,
                   **({} if self.labels is None else {"labels": self.labels})})

        def writer(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)
        atomic.write_with(path, writer)

    @classmethod
    def load(cls, path: Path, entry: dict | None = None) -> Reference:
        """A ``predictions`` file, or a ``reference`` file described by its manifest ``entry``."""
        try:
            data = io.BytesIO(reading.read_regular(path, MAX_PREDICTIONS_BYTES, "predictions"))
            with np.load(data, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except EdgeLstmError as e:  # not a regular file, or too large to be one
            raise EdgeLstmError(f"{path}: unreadable predictions file ({e})") from None
        except (OSError, KeyError, ValueError, EOFError, MemoryError, zipfile.BadZipFile, zlib.error) as e:
            raise EdgeLstmError(f"{path}: unreadable predictions file ({type(e).__name__}: "
                                f"{str(e).strip() or 'damaged'})") from None
        if entry is None or entry.get("kind") != "reference":
            return _digits(arrays, path, _limits(entry or {}, MNIST_LIMITS, path))
        return _user_reference(arrays, path, entry)


def _limits(entry: dict, default: Limits | None, path: Path) -> Limits:
    """The limits recorded in a manifest ``entry``, else ``default`` (None: they must be there)."""
    limits = entry.get("limits")
    if limits is None and default is not None:
        return default
    if not isinstance(limits, dict) or set(limits) != set(Limits.__annotations__) \
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in limits.values()):
        raise EdgeLstmError(f"{path}: its manifest entry needs limits "
                            f"({', '.join(Limits.__annotations__)}: numbers)")
    return Limits(**limits)


def _digits(arrays: dict, path: Path, limits: Limits) -> Reference:
    probs, labels = arrays.get("probs"), arrays.get("labels")
    if probs is None or labels is None or probs.ndim != 2 or probs.shape[1] != CLASSES \
            or labels.shape != probs.shape[:1] or not np.issubdtype(labels.dtype, np.integer) \
            or np.any((labels < 0) | (labels >= CLASSES)):
        raise EdgeLstmError(f"{path}: not a predictions file (expected probabilities (N, {CLASSES}) "
                            "and N digit labels)")
    return Reference(probs.astype(np.float32), labels, str(path), limits=limits)


def _user_reference(arrays: dict, path: Path, entry: dict) -> Reference:
    inputs, outputs, labels = arrays.get("inputs"), arrays.get("outputs"), arrays.get("labels")
    task, limits = entry.get("task"), _limits(entry, None, path)
    problem = None
    if inputs is None or outputs is None or outputs.ndim < 2 or len(inputs) != len(outputs) \
            or inputs.dtype != np.float32 or outputs.dtype != np.float32:
        problem = "expected float32 inputs and outputs, one output per input"
    elif task not in TASKS:
        problem = f"its manifest entry needs a task ({', '.join(TASKS)})"
    elif labels is not None and labels.shape != (outputs.shape if task == REGRESSION else outputs.shape[:-1]):
        problem = f"labels {labels.shape} do not match outputs {outputs.shape}"
    elif labels is not None and task != REGRESSION and not _class_ids(labels, outputs.shape[-1]):
        problem = f"labels must be class ids in 0..{outputs.shape[-1] - 1}"
    if problem:
        raise EdgeLstmError(f"{path}: not a reference file ({problem})")
    return Reference(outputs, labels, str(path), inputs, task, limits)


def _class_ids(labels: np.ndarray, classes: int) -> bool:
    return np.issubdtype(labels.dtype, np.integer) and bool(((labels >= 0) & (labels < classes)).all())


def reference_items(inputs: np.ndarray) -> int:
    """How many items a device reference keeps: all, up to :data:`REFERENCE_ITEMS` and
    :data:`REFERENCE_INPUT_BYTES` of inputs (at least one)."""
    return max(1, min(len(inputs), REFERENCE_ITEMS, REFERENCE_INPUT_BYTES // max(1, inputs[0].nbytes)))


def shipped_reference(folder: Path) -> Reference | None:
    """The Keras reference recorded in ``folder``'s manifest (a user model's, else the digit
    model's predictions), if any."""
    entries = manifest.artifacts(folder, "reference") or manifest.artifacts(folder, "predictions")
    if not entries:
        return None
    return Reference.load(Path(folder) / entries[0]["file"], entries[0])


@dataclass
class Metrics:
    """How a classifier's (or per-step labeller's) answers compare with the reference's on the
    same items; accuracies are None without labels."""

    images: int                # answers compared: items, or items × steps
    accuracy: float | None     # %
    reference_accuracy: float | None  # %
    drop_pp: float | None      # reference − model, percentage points (positive = worse)
    agreement: float           # % of answers with the same top-1 class
    max_abs_dprob: float
    mean_abs_dprob: float
    per_class_delta_pp: list[float] = field(default_factory=list)
    changed_cells: list[dict] = field(default_factory=list)  # {"true", "predicted", "reference", "model"}

    def as_dict(self) -> dict:
        return asdict(self)

    def record(self) -> dict:
        """The figures the manifest keeps."""
        return {k: getattr(self, k) for k in ("images", "accuracy", "drop_pp", "agreement",
                                               "max_abs_dprob", "mean_abs_dprob")}


@dataclass
class RegressionMetrics:
    """How a regression's outputs compare with the reference's: RMSE, also relative to the spread
    (standard deviation) of the Keras outputs, and the largest absolute error; with targets, each
    one's RMSE against them."""

    images: int
    rmse: float
    spread: float
    rel_rmse_pct: float
    max_abs_error: float
    target_rmse: float | None = None
    reference_target_rmse: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def record(self) -> dict:
        return {k: getattr(self, k) for k in ("images", "rmse", "rel_rmse_pct", "max_abs_error",
                                               "target_rmse")}


def compare(outputs: np.ndarray, reference: Reference) -> Metrics | RegressionMetrics:
    if outputs.shape != reference.outputs.shape:
        raise EdgeLstmError(f"the model gives {outputs.shape[1:]} per item, the reference "
                            f"{reference.outputs.shape[1:]}: not the model the reference was made for")
    if reference.task == REGRESSION:
        return _regression(outputs, reference)
    classes = outputs.shape[-1]
    flat = (lambda a: a.reshape(-1, classes)) if reference.task == PER_STEP else (lambda a: a)
    labels = None if reference.labels is None else reference.labels.reshape(-1)
    return _classification(flat(outputs), flat(reference.outputs), labels)


def _classification(probs: np.ndarray, reference: np.ndarray, labels: np.ndarray | None) -> Metrics:
    model_top, ref_top = probs.argmax(1), reference.argmax(1)
    diff = np.abs(probs - reference)
    metrics = Metrics(images=len(probs), accuracy=None, reference_accuracy=None, drop_pp=None,
                      agreement=round(100.0 * float(np.mean(model_top == ref_top)), 3),
                      max_abs_dprob=round(float(diff.max()), 6),
                      mean_abs_dprob=round(float(diff.mean()), 6))
    if labels is None:
        return metrics
    accuracy = 100.0 * float(np.mean(model_top == labels))
    ref_accuracy = 100.0 * float(np.mean(ref_top == labels))
    classes = probs.shape[1]
    per_class = []
    for c in range(int(labels.max()) + 1):  # per true class (the digit model's "not a digit": none)
        mask = labels == c
        per_class.append(round(100.0 * float(np.mean(model_top[mask] == c) - np.mean(ref_top[mask] == c)), 3)
                         if mask.any() else 0.0)
    model_cm, ref_cm = _confusion(labels, model_top, classes), _confusion(labels, ref_top, classes)
    metrics.changed_cells = [{"true": int(t), "predicted": int(p), "reference": int(ref_cm[t, p]),
                              "model": int(model_cm[t, p])} for t, p in zip(*np.nonzero(model_cm != ref_cm))]
    metrics.accuracy, metrics.reference_accuracy = round(accuracy, 3), round(ref_accuracy, 3)
    metrics.drop_pp, metrics.per_class_delta_pp = round(ref_accuracy - accuracy, 3), per_class
    return metrics


def _regression(outputs: np.ndarray, reference: Reference) -> RegressionMetrics:
    error = outputs.astype(np.float64) - reference.outputs
    rmse = float(np.sqrt(np.mean(error ** 2)))
    spread = float(np.std(reference.outputs))
    metrics = RegressionMetrics(
        images=len(outputs), rmse=round(rmse, 6), spread=round(spread, 6),
        rel_rmse_pct=round(100.0 * rmse / spread, 3) if spread > 0 else (0.0 if rmse == 0 else math.inf),
        max_abs_error=round(float(np.abs(error).max()), 6))
    if reference.labels is not None:
        metrics.target_rmse = round(float(np.sqrt(np.mean((outputs - reference.labels) ** 2))), 6)
        metrics.reference_target_rmse = round(
            float(np.sqrt(np.mean((reference.outputs - reference.labels) ** 2))), 6)
    return metrics


def _confusion(labels: np.ndarray, predicted: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    cm = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(cm, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return cm


@dataclass(frozen=True)
class Check:
    name: str
    value: float | None
    limit: str
    passed: bool | None  # None: not applicable on this run

    def as_dict(self) -> dict:
        return asdict(self)


def judge(metrics: Metrics | RegressionMetrics, reference: Reference, limits: Limits,
          recorded_accuracy: float | None = None) -> list[Check]:
    """The pass/fail rules of the reference's task, with ``limits``."""
    if isinstance(metrics, RegressionMetrics):
        return [Check("RMSE / spread of Keras outputs (%)", metrics.rel_rmse_pct,
                      f"≤ {limits.max_rmse_pct}", metrics.rel_rmse_pct <= limits.max_rmse_pct)]
    return checks(metrics, limits.max_drop, limits.min_agreement, recorded_accuracy,
                  full=TEST_IMAGES if reference.digits else math.inf)


def checks(metrics: Metrics, max_drop: float = MAX_DROP_PP, min_agreement: float = MIN_AGREEMENT_PCT,
           recorded_accuracy: float | None = None, full: float = TEST_IMAGES) -> list[Check]:
    """The classifier rules: accuracy drop against Keras (with labels), top-1 agreement with
    Keras and, when a conversion-time accuracy was recorded for the same items, the accuracy
    against that record.

    On a sample smaller than ``full`` (the MNIST test split; a user's reference is always a
    sample) one answer may be worth more than the limits allow (1 of 100 is 1 point), so there
    both rules tolerate the changed answers that ``min_agreement`` allows on the sample, and at
    least one: on 100 images one changed answer passes (99.0% agreement, 1 point of drop), two fail."""
    drop_limit, agreement_limit = max_drop, min_agreement
    if metrics.images < full:
        tolerated = max(1, int(metrics.images * (100.0 - min_agreement) / 100.0))
        drop_limit = max(max_drop, round(100.0 * tolerated / metrics.images, 3))
        agreement_limit = min(min_agreement, round(100.0 * (metrics.images - tolerated) / metrics.images, 3))
    result = [] if metrics.drop_pp is None else [
        Check("accuracy drop vs Keras (pp)", metrics.drop_pp, f"≤ {drop_limit}",
              metrics.drop_pp <= drop_limit)]
    result.append(Check("top-1 agreement with Keras (%)", metrics.agreement, f"≥ {agreement_limit}",
                        metrics.agreement >= agreement_limit))
    if recorded_accuracy is not None and metrics.accuracy is not None:
        shortfall = round(recorded_accuracy - metrics.accuracy, 3)
        result.append(Check("accuracy vs recorded (pp below)", shortfall,
                            f"≤ {max_drop} (recorded {recorded_accuracy:.2f}%)", shortfall <= max_drop))
    return result


def passed(result: list[Check]) -> bool:
    return all(c.passed is not False for c in result)
