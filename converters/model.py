"""The seed architecture (each 28×28 image read as 28 time steps of 28 pixels), and safe loading
of any ``.keras`` model that converts."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import keras

from converters.support import CUSTOM_LAYER, check_convertible
from edge_lstm.data import CLASSES, INPUT_SHAPE
from edge_lstm.errors import EdgeLstmError


def architecture(units: int) -> str:
    """The seed family, as the manifest records it: the last output is "not a digit"."""
    return (f"Dense({units}) → LSTM({units}) → Dense({CLASSES}, softmax: digits 0-9, not a digit) "
            f"over 28 rows of 28 pixels")

# Earlier Keras run code hidden in a model file despite safe_mode: config.json calling any
# function (CVE-2025-1550, fixed in 3.9), turning safe mode off from inside the file (3.11),
# legacy HDF5 ignoring it (CVE-2025-9905, 3.11.3), reading any file or URL (CVE-2025-12058, 3.12),
# a TFSMLayer loading an outside SavedModel (CVE-2026-1462, 3.13.2).
SAFE_KERAS = (3, 13, 2)


def build(units: int = 28, unroll: bool = False) -> keras.Model:
    """``Sequential([Dense(units), LSTM(units), Dense(11, softmax)])``: 7 515 parameters at 28 units;
    outputs 0-9 are the digits, output 10 (``NOT_A_DIGIT``) anything else."""
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="image"),
            keras.layers.Dense(units, name="embed"),
            keras.layers.LSTM(units, unroll=unroll, name="lstm"),
            keras.layers.Dense(CLASSES, activation="softmax", name="digit"),
        ],
        name="edge_lstm",
    )


def require_safe_keras(version: str = keras.__version__) -> None:
    """Refuse to load model files with a Keras whose safe mode is known to let code through."""
    release = tuple(int(n) for n in re.findall(r"\d+", version)[:3])
    if release < SAFE_KERAS:
        need = ".".join(map(str, SAFE_KERAS))
        raise EdgeLstmError(f"Keras {version} can run code hidden in a model file even in safe mode; "
                            f"pip install 'keras>={need}'")


def load(path) -> keras.Model:
    """Load a ``.keras`` model in safe mode and check that it converts
    (:func:`converters.support.check_convertible`).

    Only the Keras 3 zip format is read: legacy HDF5 and SavedModel files are refused before
    Keras sees them, as they can carry code that safe mode does not cover."""
    path = Path(path)
    require_safe_keras()
    if path.suffix != ".keras":
        raise EdgeLstmError(f"{path}: not a .keras model; only the Keras 3 format is loaded "
                            "(other formats can run code when loaded)")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise EdgeLstmError(f"cannot read {path}: {e.strerror}") from None
    if magic != b"PK\x03\x04":
        raise EdgeLstmError(f"{path}: not a readable Keras model (not a .keras zip archive)")
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many types for a bad file
        custom = _custom_layer(path)
        if custom:  # its class is not registered here, so Keras cannot build it: say which one
            raise EdgeLstmError(f"{path.name}: {custom} {CUSTOM_LAYER}") from None
        raise EdgeLstmError(f"{path}: not a readable Keras model ({type(e).__name__})") from None
    if not isinstance(model, keras.Model):
        raise EdgeLstmError(f"{path}: holds a {type(model).__name__}, not a Keras model")
    check_convertible(model, path.name)
    return model


def _custom_layer(path: Path) -> str | None:
    """``layer 'name' (Class)`` for the first layer in the file's config that is not Keras' own."""
    try:
        with zipfile.ZipFile(path) as archive:
            pending = [json.loads(archive.read("config.json"))]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    while pending:  # every nested config: layers, wrapped layers, sub-models
        item = pending.pop()
        if isinstance(item, dict):
            module, config = item.get("module"), item.get("config")
            if ("registered_name" in item and isinstance(config, dict) and "name" in config
                    and not str(module).startswith("keras")):
                return f"layer {config['name']!r} ({item.get('class_name')})"
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None
