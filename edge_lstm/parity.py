"""Parity: does a ``.tflite`` model give the Keras model's answers?

The reference is the Keras model's probabilities on the MNIST test split: computed fresh on the
host (``converters``), or read from the predictions shipped beside the models, so a device checks
agreement image by image without TensorFlow. :func:`compare` measures a model against it and
:func:`checks` applies the pass/fail rules.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edge_lstm import atomic, manifest, reading
from edge_lstm.data import CLASSES, DIGITS
from edge_lstm.errors import EdgeLstmError

MAX_DROP_PP = 0.3
MIN_AGREEMENT_PCT = 99.5
MAX_PREDICTIONS_BYTES = 64 * 2**20  # the test split's are about 200 KB
TEST_IMAGES = 10_000  # the MNIST test split: the thresholds are meant for all of it


@dataclass(frozen=True)
class Reference:
    """The Keras model's probabilities (N, 10) on the test images, and the true labels."""

    probs: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int) -> Reference:
        return Reference(self.probs[:n], self.labels[:n], self.source)

    def save(self, path: Path) -> None:
        """Write compactly: float16 probabilities and uint8 labels, compressed."""
        def writer(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, probs=self.probs.astype(np.float16),
                                    labels=self.labels.astype(np.uint8))
        atomic.write_with(path, writer)

    @classmethod
    def load(cls, path: Path) -> Reference:
        try:
            data = io.BytesIO(reading.read_regular(path, MAX_PREDICTIONS_BYTES, "predictions"))
            with np.load(data, allow_pickle=False) as f:
                probs, labels = f["probs"].astype(np.float32), f["labels"]
        except EdgeLstmError as e:  # not a regular file, or too large to be one
            raise EdgeLstmError(f"{path}: unreadable predictions file ({e})") from None
        except (OSError, KeyError, ValueError, EOFError, MemoryError, zipfile.BadZipFile, zlib.error) as e:
            raise EdgeLstmError(f"{path}: unreadable predictions file ({type(e).__name__}: "
                                f"{str(e).strip() or 'damaged'})") from None
        if probs.ndim != 2 or probs.shape[1] != CLASSES or labels.shape != probs.shape[:1] \
                or not np.issubdtype(labels.dtype, np.integer) or np.any((labels < 0) | (labels >= CLASSES)):
            raise EdgeLstmError(f"{path}: not a predictions file (probabilities {probs.shape}, "
                                f"labels {labels.shape} {labels.dtype}; "
                                f"expected (N, {CLASSES}) and N digits)")
        return cls(probs, labels, str(path))


def shipped_reference(folder: Path) -> Reference | None:
    """The Keras predictions recorded in ``folder``'s manifest, if any."""
    predictions = next(iter(manifest.artifacts(folder, "predictions")), None)
    if predictions is None:
        return None
    return Reference.load(Path(folder) / predictions["file"])


@dataclass
class Metrics:
    """How a model's answers compare with the reference's on the same images."""

    images: int
    accuracy: float            # %
    reference_accuracy: float  # %
    drop_pp: float             # reference − model, percentage points (positive = worse)
    agreement: float           # % of images with the same top-1 answer
    max_abs_dprob: float
    mean_abs_dprob: float
    per_class_delta_pp: list[float] = field(default_factory=list)
    changed_cells: list[dict] = field(default_factory=list)  # {"true", "predicted", "reference", "model"}

    def as_dict(self) -> dict:
        return asdict(self)


def compare(probs: np.ndarray, reference: Reference) -> Metrics:
    labels = reference.labels
    model_top, ref_top = probs.argmax(1), reference.probs.argmax(1)
    diff = np.abs(probs - reference.probs)
    accuracy = 100.0 * float(np.mean(model_top == labels))
    ref_accuracy = 100.0 * float(np.mean(ref_top == labels))
    per_class = []
    for c in range(DIGITS):  # per true class: the test images are digits, never "not a digit"
        mask = labels == c
        per_class.append(round(100.0 * float(np.mean(model_top[mask] == c) - np.mean(ref_top[mask] == c)), 3)
                         if mask.any() else 0.0)
    model_cm, ref_cm = _confusion(labels, model_top), _confusion(labels, ref_top)
    changed = [{"true": int(t), "predicted": int(p), "reference": int(ref_cm[t, p]),
                "model": int(model_cm[t, p])} for t, p in zip(*np.nonzero(model_cm != ref_cm))]
    return Metrics(
        images=len(labels),
        accuracy=round(accuracy, 3),
        reference_accuracy=round(ref_accuracy, 3),
        drop_pp=round(ref_accuracy - accuracy, 3),
        agreement=round(100.0 * float(np.mean(model_top == ref_top)), 3),
        max_abs_dprob=round(float(diff.max()), 6),
        mean_abs_dprob=round(float(diff.mean()), 6),
        per_class_delta_pp=per_class,
        changed_cells=changed,
    )


def _confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    cm = np.zeros((CLASSES, CLASSES), dtype=np.int64)
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


def checks(metrics: Metrics, max_drop: float = MAX_DROP_PP, min_agreement: float = MIN_AGREEMENT_PCT,
           recorded_accuracy: float | None = None) -> list[Check]:
    """The pass/fail rules: accuracy drop against Keras, top-1 agreement with Keras and, when a
    conversion-time accuracy was recorded for the same images, the accuracy against that record.

    On a sample smaller than the test split (``--limit``) one image is worth more than the
    limits allow (1 of 100 is 1 point), so there both rules tolerate the changed answers that
    ``min_agreement`` allows on the sample, and at least one: on 100 images one changed answer
    passes (99.0% agreement, 1 point of drop), two fail."""
    drop_limit, agreement_limit = max_drop, min_agreement
    if metrics.images < TEST_IMAGES:
        tolerated = max(1, int(metrics.images * (100.0 - min_agreement) / 100.0))
        drop_limit = max(max_drop, round(100.0 * tolerated / metrics.images, 3))
        agreement_limit = min(min_agreement, round(100.0 * (metrics.images - tolerated) / metrics.images, 3))
    result = [
        Check("accuracy drop vs Keras (pp)", metrics.drop_pp, f"≤ {drop_limit}",
              metrics.drop_pp <= drop_limit),
        Check("top-1 agreement with Keras (%)", metrics.agreement, f"≥ {agreement_limit}",
              metrics.agreement >= agreement_limit),
    ]
    if recorded_accuracy is not None:
        shortfall = round(recorded_accuracy - metrics.accuracy, 3)
        result.append(Check("accuracy vs recorded (pp below)", shortfall,
                            f"≤ {max_drop} (recorded {recorded_accuracy:.2f}%)", shortfall <= max_drop))
    return result


def passed(result: list[Check]) -> bool:
    return all(c.passed is not False for c in result)
