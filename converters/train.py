"""Fit the seed LSTM on MNIST, reproducibly, and write the model, its history and its curves."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from converters import model as seed_model
from edge_lstm import atomic, manifest
from edge_lstm.data import CLASSES, Mnist, load_mnist, normalize
from edge_lstm.recipe import SCHEDULES, Recipe


@dataclass(frozen=True)
class Result:
    model: keras.Model
    history: dict
    test_accuracy: float


def train(data: Mnist, recipe: Recipe, verbose: int | None = None, limit: int | None = None) -> Result:
    """Train on ``data.train`` (the first ``limit`` images if given); evaluate on ``data.test``.

    ``verbose``: Keras' level; by default its progress bar on a terminal and one line per epoch
    when the output is piped (0: silent, augmentation included)."""
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    if recipe.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}")
    keras.utils.set_random_seed(recipe.seed)
    tf.config.experimental.enable_op_determinism()
    x, y = data.train.x[:limit], data.train.y[:limit]
    if recipe.augment_copies:
        from converters.augment import augmented_copies

        extra_x, extra_y = augmented_copies(x, y, recipe.augment_copies, recipe.seed,
                                            show_progress=bool(verbose))
        x, y = np.concatenate([x, extra_x]), np.concatenate([y, extra_y])
    net = seed_model.build(recipe.units)
    steps = recipe.epochs * -(-len(x) // recipe.batch_size)
    rate = (keras.optimizers.schedules.CosineDecay(recipe.learning_rate, steps, alpha=0.02)
            if recipe.schedule == "cosine" else recipe.learning_rate)
    net.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(rate),
                metrics=["accuracy"])
    callbacks = []
    if recipe.schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2,
                                                           min_lr=1e-5, verbose=0))
    fit = net.fit(normalize(x), keras.utils.to_categorical(y, CLASSES),
                  batch_size=recipe.batch_size, epochs=recipe.epochs, shuffle=True,
                  callbacks=callbacks, verbose=verbose)
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    probs = net.predict(normalize(data.test.x), batch_size=1000, verbose=0)
    accuracy = float(np.mean(probs.argmax(1) == data.test.y))
    return Result(net, history, accuracy)


def run(out: Path, *, data: Path | None, epochs: int, batch_size: int, learning_rate: float,
        schedule: str, augment_copies: int, seed: int, limit: int | None, force: bool,
        echo: Callable[[str], None]) -> None:
    """``edge-lstm train``: train on MNIST (``data``, else the default source), save the model, its
    history and curves as ``out`` and beside it, and say where they went."""
    atomic.check_writable(out, force)
    mnist = load_mnist(data)
    recipe = Recipe(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                    schedule=schedule, seed=seed, augment_copies=augment_copies)
    result = train(mnist, recipe, limit=limit)
    save(result, out, mnist, recipe)
    echo(f"test accuracy: {result.test_accuracy:.2%} on {len(mnist.test)} images")
    echo(f"wrote {out}, {out.with_suffix('.history.json')}, {out.with_suffix('.curves.png')}")


def save(result: Result, out: Path, data: Mnist, recipe: Recipe) -> dict:
    """Write ``out`` (.keras), ``<stem>.history.json`` and ``<stem>.curves.png`` atomically and
    record them in the folder's manifest. Returns the model's manifest entry."""
    out = Path(out)
    history_path = out.with_suffix(".history.json")
    curves_path = out.with_suffix(".curves.png")
    atomic.write_with(out, result.model.save)
    atomic.write_json(history_path, {"recipe": asdict(recipe), "history": result.history,
                                     "test_accuracy": result.test_accuracy})
    atomic.write_with(curves_path, lambda p: plot_curves(result.history, p))
    folder = out.parent
    manifest.record(folder, history_path, kind="history", model=out.name)
    manifest.record(folder, curves_path, kind="curves", model=out.name)
    return manifest.record(
        folder, out,
        kind="keras",
        architecture=seed_model.ARCHITECTURE,
        parameters=int(result.model.count_params()),
        recipe=asdict(recipe),
        dataset={"source": Path(data.source).name, "train_sha256": data.train_sha256(),
                 "train_images": len(data.train), "test_images": len(data.test)},
        test_accuracy=round(result.test_accuracy, 6),
        versions=library_versions(),
    )


def library_versions() -> dict:
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "platform": sys.platform}


def plot_curves(history: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history["loss"]) + 1)
    loss_ax.plot(epochs, history["loss"], label="training loss")
    loss_ax.set_xlabel("epoch"), loss_ax.set_ylabel("loss"), loss_ax.set_yscale("log")
    acc_ax.plot(epochs, history["accuracy"], label="training accuracy")
    acc_ax.set_xlabel("epoch"), acc_ax.set_ylabel("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3), ax.legend()
    fig.suptitle("edge-lstm training")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
