"""An LSTM forecaster: the next value of a series from the 32 values before it.

The series is generated: a daily and a weekly rhythm whose amplitudes drift slowly, plus noise
(think of a sensor read every hour). The script trains a small ``LSTM(32) → Dense(16) → Dense(1)``
regressor for a few epochs (well under a minute on two CPU cores) and writes, into --out,
``forecaster.keras`` and ``forecaster.npz`` (``x`` windows (N, 32, 1) and ``y`` next values
(N, 1), float32) for::

    edge-lstm convert OUT/forecaster.keras --data OUT/forecaster.npz --out OUT/models

convert holds out a fixed fifth of the windows for parity. Needs the host extra
(pip install -e '.[train]').
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

WINDOW = 32


def series(length: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(length, dtype=np.float64)
    drift = 1.0 + 0.3 * np.sin(2 * np.pi * t / 2000)
    values = drift * np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168 + 1.0)
    return (values + rng.normal(0.0, 0.1, length)).astype(np.float32)


def windows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every window of :data:`WINDOW` values (N, WINDOW, 1) and the value after it (N, 1)."""
    idx = np.arange(WINDOW)[None, :] + np.arange(len(values) - WINDOW)[:, None]
    return values[idx][..., None], values[WINDOW:, None]


def build():
    import keras

    layers = keras.layers
    return keras.Sequential([
        keras.Input((WINDOW, 1), name="history"),
        layers.LSTM(32),
        layers.Dense(16, activation="relu"),
        layers.Dense(1),
    ], name="forecaster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="Folder to write into.")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    import keras

    keras.utils.set_random_seed(1)
    x, y = windows(series(4000, np.random.default_rng(1)))
    model = build()
    model.compile(keras.optimizers.Adam(3e-3), "mse")
    model.fit(x, y, batch_size=64, epochs=args.epochs, validation_split=0.2, verbose=2)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "forecaster.keras")
    np.savez(args.out / "forecaster.npz", x=x, y=y)
    print(f"wrote {args.out / 'forecaster.keras'} and {args.out / 'forecaster.npz'}")


if __name__ == "__main__":
    main()
