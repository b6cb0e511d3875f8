"""A keyword-spotter-like classifier: Conv1D + LSTM over 49 frames of 10 spectral features.

The data is generated: each of four "keywords" is a sweep of energy across the frequency bands
at its own speed and starting band, said at a random moment, louder or softer, over noise;
class 0 is noise alone. The script trains a small model for a few epochs (well under a minute on
two CPU cores) and writes, into --out, ``keyword_spotter.keras`` and ``keyword_spotter.npz``
(``x_train, y_train, x_test, y_test``, float32 features and class ids) for::

    edge-lstm convert OUT/keyword_spotter.keras --data OUT/keyword_spotter.npz --out OUT/models

Needs the host extra (pip install -e '.[train]').
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FRAMES, BANDS, CLASSES = 49, 10, 5
SPEEDS = (0.5, -0.5, 1.0, -1.0)  # bands per frame of each keyword's sweep


def generate(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` utterances (n, FRAMES, BANDS) of log-energies and their class ids."""
    y = rng.integers(0, CLASSES, n)
    x = rng.normal(0.0, 0.4, (n, FRAMES, BANDS)).astype(np.float32)
    t = np.arange(FRAMES)[:, None]
    bands = np.arange(BANDS)[None, :]
    for i in np.flatnonzero(y):
        speed = SPEEDS[y[i] - 1]
        start, length = rng.integers(0, FRAMES // 3), rng.integers(FRAMES // 3, FRAMES // 2)
        first = 1.0 if speed > 0 else BANDS - 2.0
        centre = first + speed * (t - start)
        spoken = (t >= start) & (t < start + length)
        x[i] += spoken * rng.uniform(1.0, 2.0) * np.exp(-0.5 * (bands - centre) ** 2)
    return x, y


def build():
    import keras

    layers = keras.layers
    return keras.Sequential([
        keras.Input((FRAMES, BANDS), name="features"),
        layers.Conv1D(16, 3, activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling1D(2),
        layers.LSTM(24),
        layers.Dropout(0.1),
        layers.Dense(CLASSES, activation="softmax"),
    ], name="keyword_spotter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="Folder to write into.")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    import keras

    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x_train, y_train = generate(3000, rng)
    x_test, y_test = generate(1000, rng)
    model = build()
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "keyword_spotter.keras")
    np.savez(args.out / "keyword_spotter.npz", x_train=x_train, y_train=y_train, x_test=x_test,
             y_test=y_test)
    print(f"test accuracy {100 * accuracy:.1f}%; wrote {args.out / 'keyword_spotter.keras'} "
          f"and {args.out / 'keyword_spotter.npz'}")


if __name__ == "__main__":
    main()
