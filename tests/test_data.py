"""MNIST loaders: npz, IDX (gzipped and raw), the bundled test split, and every bad-file case."""

import gzip
import os
import struct

import numpy as np
import pytest

from edge_lstm.data import BUNDLED_TEST_SPLIT, load_mnist, load_test_split, read_idx
from edge_lstm.errors import EdgeLstmError

RNG = np.random.default_rng(0)


def arrays(n_train=50, n_test=20):
    return {
        "x_train": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": RNG.integers(0, 10, n_train).astype(np.uint8),
        "x_test": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": RNG.integers(0, 10, n_test).astype(np.uint8),
    }


def idx_bytes(a: np.ndarray) -> bytes:
    magic = 2051 if a.ndim == 3 else 2049
    return struct.pack(f">I{a.ndim}I", magic, *a.shape) + a.tobytes()


def write_idx_folder(folder, data, gz):
    names = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    for key, name in names.items():
        raw = idx_bytes(data[key])
        (folder / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)


def test_npz_round_trip(tmp_path):
    data = arrays()
    np.savez(tmp_path / "m.npz", **data)
    mnist = load_mnist(tmp_path / "m.npz")
    assert np.array_equal(mnist.train.x, data["x_train"]) and np.array_equal(mnist.test.y, data["y_test"])
    assert len(mnist.train_sha256()) == 64


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder(tmp_path, gz):
    data = arrays()
    write_idx_folder(tmp_path, data, gz)
    mnist = load_mnist(tmp_path)
    assert np.array_equal(mnist.train.x, data["x_train"]) and np.array_equal(mnist.test.y, data["y_test"])


def test_same_data_same_hash_whatever_the_format(tmp_path):
    data = arrays()
    np.savez(tmp_path / "m.npz", **data)
    write_idx_folder(tmp_path, data, gz=True)
    assert load_mnist(tmp_path / "m.npz").train_sha256() == load_mnist(tmp_path).train_sha256()


def test_environment_variable(tmp_path, monkeypatch):
    np.savez(tmp_path / "m.npz", **arrays())
    monkeypatch.setenv("EDGE_LSTM_MNIST", str(tmp_path / "m.npz"))
    assert len(load_mnist().train) == 50


def test_bundled_test_split_is_mnist():
    test = load_test_split()
    assert test.x.shape == (10000, 28, 28) and test.x.dtype == np.uint8
    assert np.bincount(test.y).tolist()[:3] == [980, 1135, 1032]  # MNIST's published class counts
    assert BUNDLED_TEST_SPLIT.stat().st_size < 3_000_000


def bad_npz(tmp_path, **changes):
    data = {**arrays(), **changes}
    data = {k: v for k, v in data.items() if v is not None}
    np.savez(tmp_path / "bad.npz", **data)
    return tmp_path / "bad.npz"


@pytest.mark.parametrize("changes, message", [
    ({"y_test": None}, "missing array"),
    ({"x_train": np.zeros((50, 28, 27), np.uint8)}, "shape (N, 28, 28)"),
    ({"x_train": np.zeros((50, 28, 28), np.float32)}, "uint8"),
    ({"y_train": np.full(50, 10, np.uint8)}, "0..9"),
    ({"y_train": np.zeros(49, np.uint8)}, "labels must have shape"),
])
def test_bad_npz(tmp_path, changes, message):
    with pytest.raises(EdgeLstmError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_mnist(bad_npz(tmp_path, **changes))


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(EdgeLstmError, match="not found"):
        load_mnist(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip file")
    with pytest.raises(EdgeLstmError, match="not a readable .npz") as caught:
        load_mnist(tmp_path / "junk.npz")
    assert "pickle" not in str(caught.value)  # numpy's guess for a file that is no zip archive
    np.save(tmp_path / "one.npy", np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")  # an array under an archive's name
    with pytest.raises(EdgeLstmError, match="not an .npz archive"):
        load_mnist(tmp_path / "one.npz")
    os.mkfifo(tmp_path / "fifo.npz")  # would block numpy's open forever
    with pytest.raises(EdgeLstmError, match="not a regular file"):
        load_mnist(tmp_path / "fifo.npz")
    np.savez(tmp_path / "good.npz", **arrays())
    (tmp_path / "cut.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:5000])
    with pytest.raises(EdgeLstmError, match="not a readable .npz"):
        load_mnist(tmp_path / "cut.npz")


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_idx(tmp_path, gz):
    raw = idx_bytes(arrays()["x_train"])[:-100]
    path = tmp_path / ("f.gz" if gz else "f")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(EdgeLstmError, match="truncated"):
        read_idx(path)


def test_corrupt_gzip_and_bad_magic(tmp_path):
    (tmp_path / "f.gz").write_bytes(gzip.compress(idx_bytes(arrays()["y_train"]))[:30])
    with pytest.raises(EdgeLstmError, match="cannot read"):
        read_idx(tmp_path / "f.gz")
    (tmp_path / "g").write_bytes(b"\x00\x00\x08\x05" + b"\x00" * 20)
    with pytest.raises(EdgeLstmError, match="not an MNIST IDX"):
        read_idx(tmp_path / "g")


def test_idx_folder_missing_file(tmp_path):
    write_idx_folder(tmp_path, arrays(), gz=True)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(EdgeLstmError, match="missing t10k-labels"):
        load_mnist(tmp_path)
