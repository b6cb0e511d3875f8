"""The seed architecture: each 28×28 image read as 28 time steps of 28 pixels."""

from __future__ import annotations

import keras

ARCHITECTURE = "Dense(28) → LSTM(28) → Dense(10, softmax) over 28 rows of 28 pixels"
INPUT_SHAPE = (28, 28)
CLASSES = 10


def build(units: int = 28, unroll: bool = False) -> keras.Model:
    """``Sequential([Dense(units), LSTM(units), Dense(10, softmax)])``: 7 486 parameters at 28 units."""
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="image"),
            keras.layers.Dense(units, name="embed"),
            keras.layers.LSTM(units, unroll=unroll, name="lstm"),
            keras.layers.Dense(CLASSES, activation="softmax", name="digit"),
        ],
        name="edge_lstm",
    )


def load(path) -> keras.Model:
    """Load a ``.keras`` model and check it takes 28×28 images and gives 10 classes."""
    from edge_lstm.errors import EdgeLstmError

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises many types for a bad file
        raise EdgeLstmError(f"{path}: not a readable Keras model ({type(e).__name__})") from None
    if tuple(model.input_shape[1:]) != INPUT_SHAPE or tuple(model.output_shape[1:]) != (CLASSES,):
        raise EdgeLstmError(f"{path}: model takes {model.input_shape[1:]} and gives "
                            f"{model.output_shape[1:]}; expected {INPUT_SHAPE} → ({CLASSES},)")
    return model
