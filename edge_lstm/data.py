"""MNIST loading: a Keras-layout ``.npz``, a folder of IDX files, or Keras' own download.

Where the data comes from, first match wins:

1. an explicit path (``--data PATH``): a ``.npz`` with ``x_train, y_train, x_test, y_test``, or a
   folder holding the four IDX files (``train-images-idx3-ubyte`` …, gzipped or raw);
2. the ``EDGE_LSTM_MNIST`` environment variable, a path of either kind;
3. ``keras.datasets.mnist.load_data()``, which downloads (needs TensorFlow and internet).

The test split ships inside the package (:func:`load_test_split`), so parity checks and tests work
offline with no dataset at all. Every loader validates shapes, dtypes and labels.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_lstm.errors import EdgeLstmError
from edge_lstm.reading import open_regular

INPUT_SHAPE = (28, 28)  # an MNIST image: the model reads its 28 rows as time steps of 28 pixels
DIGITS = 10  # the digits 0..9: MNIST's labels
NOT_A_DIGIT = 10  # the model's last output: a mark that is not a digit (letter, shape, object)
CLASSES = 11  # the model's outputs: the digits, then NOT_A_DIGIT
ENV_VAR = "EDGE_LSTM_MNIST"
BUNDLED_TEST_SPLIT = Path(__file__).parent / "data" / "mnist_test.npz"
ZIP_MAGIC = b"PK"  # how an .npz (a zip archive, numpy.savez) begins
NPY_MAGIC = b"\x93NUMPY"  # how a single array (numpy.save) begins
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
_IDX_MAGIC = {3: 2051, 1: 2049}  # images, labels


@dataclass(frozen=True)
class Split:
    """Images (N, 28, 28) uint8 and labels (N,) uint8 in 0..9 (MNIST has digits only)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Mnist:
    train: Split
    test: Split
    source: str

    def train_sha256(self) -> str:
        """Content hash of the training images and labels, independent of the file format."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.train.x).tobytes())
        h.update(np.ascontiguousarray(self.train.y).tobytes())
        return h.hexdigest()


def load_mnist(path: str | os.PathLike | None = None) -> Mnist:
    """Load MNIST from ``path``, else ``$EDGE_LSTM_MNIST``, else Keras' download."""
    if path is None and os.environ.get(ENV_VAR):
        path = os.environ[ENV_VAR]
    if path is None:
        return _download()
    path = Path(path)
    if path.is_dir():
        arrays = _read_idx_folder(path)
    elif path.exists():
        arrays = read_npz(path, ("x_train", "y_train", "x_test", "y_test"))
    else:
        raise EdgeLstmError(f"dataset not found: {path}")
    return Mnist(
        train=_split(arrays["x_train"], arrays["y_train"], f"{path} (train)"),
        test=_split(arrays["x_test"], arrays["y_test"], f"{path} (test)"),
        source=str(path),
    )


def load_test_split(path: str | os.PathLike | None = None) -> Split:
    """The MNIST test split: from ``path`` if given, else the copy bundled with the package."""
    if path is not None:
        return load_mnist(path).test
    arrays = read_npz(BUNDLED_TEST_SPLIT, ("x_test", "y_test"))
    return _split(arrays["x_test"], arrays["y_test"], "bundled test split")


def normalize(x: np.ndarray) -> np.ndarray:
    """uint8 pixels → the model's float32 input in [0, 1]."""
    return x.astype(np.float32) / 255.0


def _download() -> Mnist:
    try:
        import keras
    except ImportError:
        raise EdgeLstmError(
            f"no dataset given: pass --data PATH or set {ENV_VAR} "
            "(downloading MNIST needs the [train] extra)"
        ) from None
    try:
        (xtr, ytr), (xte, yte) = keras.datasets.mnist.load_data()
    except Exception as e:  # network errors come in many types
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
        raise EdgeLstmError(
            f"could not download MNIST ({reason}); pass --data PATH or set {ENV_VAR}"
        ) from None
    return Mnist(_split(xtr, ytr, "download (train)"), _split(xte, yte, "download (test)"), "keras")


def read_npz(path: Path, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` file ``path`` (``keys`` only, each required, when given), or an
    EdgeLstmError saying in one line why it cannot be read. Told apart before numpy reads it: a
    ``.npy`` array (numpy returns an array, not an archive) and a file that is no zip archive
    (numpy would call it pickled data)."""
    try:
        with open_regular(path) as (file, _):
            head = file.read(len(NPY_MAGIC))
            if head == NPY_MAGIC:
                raise EdgeLstmError("not an .npz archive (a single .npy array); save with "
                                    "numpy.savez(path, name=array, …)")
            if not head.startswith(ZIP_MAGIC):
                raise EdgeLstmError("not a readable .npz file (numpy.savez writes a zip archive; "
                                    "this is not one)")
            file.seek(0)
            with np.load(file, allow_pickle=False) as f:
                missing = [k for k in keys or () if k not in f.files]
                if missing:
                    raise EdgeLstmError(f"missing array(s) {', '.join(missing)} (expected {', '.join(keys)})")
                return {k: f[k] for k in keys or f.files}
    except EdgeLstmError as e:
        raise EdgeLstmError(f"{path}: {e}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise EdgeLstmError(f"{path}: not a readable .npz file ({_reason(e)})") from None


def _read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / f"{stem}.gz", folder / stem, folder / (stem.replace("-idx", ".idx") + ".gz"),
                      folder / stem.replace("-idx", ".idx")]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise EdgeLstmError(f"{folder}: missing {stem}[.gz] (a folder needs the four MNIST IDX files)")
        arrays[key] = read_idx(found)
    return arrays


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or raw) of unsigned bytes."""
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise EdgeLstmError(f"{path}: cannot read ({_reason(e)})") from None
    if len(data) < 8:
        raise EdgeLstmError(f"{path}: truncated IDX file ({len(data)} bytes)")
    magic, = struct.unpack(">I", data[:4])
    ndim = data[3]
    if magic != _IDX_MAGIC.get(ndim):
        raise EdgeLstmError(f"{path}: not an MNIST IDX file (magic number {magic:#x})")
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise EdgeLstmError(f"{path}: truncated or corrupt IDX file "
                            f"(header says {expected} bytes of data, found {len(data) - header})")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _split(x: np.ndarray, y: np.ndarray, what: str) -> Split:
    if x.dtype != np.uint8:
        raise EdgeLstmError(f"{what}: images must be uint8 pixels, got {x.dtype}")
    if x.ndim != 3 or x.shape[1:] != INPUT_SHAPE:
        raise EdgeLstmError(f"{what}: images must have shape (N, {', '.join(map(str, INPUT_SHAPE))}), "
                            f"got {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise EdgeLstmError(f"{what}: labels must have shape ({len(x)},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise EdgeLstmError(f"{what}: labels must be integers, got {y.dtype}")
    if len(y) == 0:
        raise EdgeLstmError(f"{what}: no images")
    if y.min() < 0 or y.max() >= DIGITS:
        raise EdgeLstmError(f"{what}: labels must be in 0..{DIGITS - 1}, "
                            f"found {int(y.min())}..{int(y.max())}")
    return Split(x, y.astype(np.uint8))


def _reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
