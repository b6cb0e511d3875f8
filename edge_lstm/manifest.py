"""``manifest.json``: what a folder of artifacts holds, how each was made and how it scored.

A manifest describes one folder (``models/`` in the repository). Each command that writes an
artifact into a folder records it there: ``train`` the Keras model, ``convert`` the TFLite models,
their parity results and the Keras predictions. Entries are keyed by file name::

    {"schema": 1, "recommended": "lstm_int8.tflite",
     "artifacts": [{"file": "lstm.keras", "kind": "keras", "sha256": "…", "size_bytes": 1234, …}]}
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from edge_lstm import atomic
from edge_lstm.errors import EdgeLstmError

FILENAME = "manifest.json"
ENV_VAR = "EDGE_LSTM_MODELS"
SCHEMA = 1


def models_dir() -> Path:
    """The shipped models: ``$EDGE_LSTM_MODELS``, else ``models/`` beside the package."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(__file__).resolve().parent.parent / "models"


def load(folder: Path) -> dict:
    """The folder's manifest, or an empty one if it has none yet."""
    path = Path(folder) / FILENAME
    if not path.exists():
        return {"schema": SCHEMA, "artifacts": []}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise EdgeLstmError(f"{path}: unreadable manifest ({e})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("artifacts"), list):
        raise EdgeLstmError(f"{path}: not an edge-lstm manifest")
    return manifest


def save(folder: Path, manifest: dict) -> None:
    manifest["artifacts"].sort(key=lambda a: a["file"])
    atomic.write_json(Path(folder) / FILENAME, manifest)


def entry(manifest: dict, file: str) -> dict | None:
    """The entry for an artifact's file name, or None."""
    return next((a for a in manifest["artifacts"] if a["file"] == file), None)


def record(folder: Path, path: Path, **facts) -> dict:
    """Add or replace the entry for ``path`` (a file in ``folder``) with its hash, size and facts."""
    folder, path = Path(folder), Path(path)
    manifest = load(folder)
    new = {"file": path.name, **file_facts(path), **facts}
    manifest["artifacts"] = [a for a in manifest["artifacts"] if a["file"] != path.name] + [new]
    save(folder, manifest)
    return new


def file_facts(path: Path) -> dict:
    data = Path(path).read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "size_bytes": len(data)}


def recommended_model(folder: Path | None = None) -> Path:
    """The manifest's recommended device model in ``folder`` (default: the shipped models)."""
    folder = Path(folder) if folder else models_dir()
    if not (folder / FILENAME).is_file():
        raise EdgeLstmError(f"no {FILENAME} in {folder}: give a .tflite path, or set {ENV_VAR} to "
                            "the folder of shipped models (install from a clone with pip install -e .)")
    name = load(folder).get("recommended")
    if not name:
        raise EdgeLstmError(f"{folder / FILENAME} names no recommended device model; "
                            "give a .tflite path")
    return folder / name


def failed_parity(model: Path, runtime: str) -> str | None:
    """Why ``model`` should not run on ``runtime``: its conversion-time parity failed there.

    None when it passed there, or when its folder's manifest has no record of it."""
    model = Path(model)
    folder = load(model.parent)
    found = entry(folder, model.name)
    if not found or found.get("sha256") != file_facts(model)["sha256"]:
        return None
    record = found.get("parity", {}).get(runtime)
    if not record or record.get("passed"):
        return None
    why = record.get("error") or (f"{record['accuracy']:.1f}% accurate, {record['agreement']:.1f}% "
                                  "agreement with Keras")
    better = folder.get("recommended")
    return (f"{model.name} failed parity on {runtime} at conversion time ({why}); "
            + (f"use {better}" if better and better != model.name else "use another model")
            + " or run 'edge-lstm parity' to re-check")
