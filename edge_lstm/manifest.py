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

from edge_lstm import atomic, reading
from edge_lstm.errors import EdgeLstmError

FILENAME = "manifest.json"
ENV_VAR = "EDGE_LSTM_MODELS"
SCHEMA = 1
MAX_BYTES = 16 * 2**20  # a manifest of a few models is a few KB
# What an artifact is: ``train`` writes the first three, ``convert`` the others (the digit model's
# predictions, or a user model's reference: inputs, Keras outputs and labels).
KINDS = ("keras", "history", "curves", "predictions", "reference", "tflite")
NUMBER = (int, float)
# The fields edge-lstm reads, and their types: every other field is only shown to people.
ARTIFACT_FIELDS = {"file": str, "sha256": str, "kind": str, "size_bytes": int, "images": int,
                   "passed_on": list, "ops": list, "parity": dict, "task": str, "limits": dict,
                   "model": str}
REQUIRED_FIELDS = ("file", "sha256")
PARITY_FIELDS = {"passed": bool, "error": str, "images": int, "accuracy": NUMBER, "agreement": NUMBER}


def models_dir() -> Path:
    """The shipped models: ``$EDGE_LSTM_MODELS``, else ``models/`` beside the package."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(__file__).resolve().parent.parent / "models"


def load(folder: Path) -> dict:
    """The folder's manifest, or an empty one if it has none yet."""
    path = Path(folder) / FILENAME
    if not os.path.lexists(path):
        return {"schema": SCHEMA, "artifacts": []}
    try:
        manifest = json.loads(reading.read_regular(path, MAX_BYTES, "a manifest"))
    except (EdgeLstmError, ValueError) as e:
        raise EdgeLstmError(f"{path}: unreadable manifest ({e})") from None
    except RecursionError:
        raise EdgeLstmError(f"{path}: unreadable manifest (nested too deeply)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("artifacts"), list):
        raise EdgeLstmError(f"{path}: not an edge-lstm manifest")
    problem = _problem(manifest)
    if problem:
        raise EdgeLstmError(f"{path}: {problem}")
    return manifest


def _problem(manifest: dict) -> str | None:
    """The first field that is missing or of the wrong type, said in words; None if all are fine."""
    recommended = manifest.get("recommended")
    if recommended is not None and not _plain_name(recommended):
        return "'recommended' must be the name of a file in this folder"
    for i, artifact in enumerate(manifest["artifacts"]):
        where = f"artifacts[{i}]"
        if not isinstance(artifact, dict):
            return f"{where} must be an object, not {_json_type(artifact)}"
        where += f" ({artifact['file']})" if _plain_name(artifact.get("file")) else ""
        missing = [key for key in REQUIRED_FIELDS if key not in artifact]
        if missing:
            return f"{where} has no '{missing[0]}'"
        if not _plain_name(artifact["file"]):
            return f"{where}: 'file' must be the name of a file in this folder"
        bad = _mistyped(artifact, ARTIFACT_FIELDS)
        if bad:
            return f"{where}: {bad}"
        for runtime, record in artifact.get("parity", {}).items():
            bad = "must be an object" if not isinstance(record, dict) else _mistyped(record, PARITY_FIELDS)
            if bad:
                return f"{where}: parity.{runtime}: {bad}"
    return None


def _mistyped(obj: dict, fields: dict) -> str | None:
    for key, kind in fields.items():
        value = obj.get(key)
        wrong = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        if value is not None and wrong:
            return f"'{key}' must be {_json_type(kind)}, not {_json_type(value)}"
    return None


def _json_type(value_or_type) -> str:
    kind = value_or_type if isinstance(value_or_type, (type, tuple)) else type(value_or_type)
    names = {str: "a string", int: "an integer", NUMBER: "a number", float: "a number", bool: "true or false",
             list: "a list", dict: "an object", type(None): "null"}
    return names.get(kind, kind.__name__ if isinstance(kind, type) else "a value")


def _plain_name(name) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name


def save(folder: Path, manifest: dict) -> None:
    manifest["artifacts"].sort(key=lambda a: a["file"])
    atomic.write_json(Path(folder) / FILENAME, manifest)


def entry(manifest: dict, file: str, kind: str | None = None) -> dict | None:
    """The entry for an artifact's file name (and of that ``kind``, if given), or None."""
    found = next((a for a in manifest["artifacts"] if a["file"] == file), None)
    return found if found is None or kind is None or found.get("kind") == _known(kind) else None


def artifacts(source: Path | dict, kind: str) -> list[dict]:
    """The entries of one kind, in a loaded manifest or in a folder's."""
    found = source if isinstance(source, dict) else load(source)
    return [a for a in found["artifacts"] if a.get("kind") == _known(kind)]


def _known(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown artifact kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def record(folder: Path, path: Path, *, kind: str, **facts) -> dict:
    """Add or replace the entry for ``path`` (a file in ``folder``, one of :data:`KINDS`) with its
    hash, size and facts."""
    folder, path = Path(folder), Path(path)
    manifest = load(folder)
    new = {"file": path.name, **file_facts(path), "kind": _known(kind), **facts}
    manifest["artifacts"] = [a for a in manifest["artifacts"] if a["file"] != path.name] + [new]
    save(folder, manifest)
    return new


def file_facts(path: Path) -> dict:
    """sha256 and size, read in chunks: a model may be any size until it is inspected."""
    digest, size = hashlib.sha256(), 0
    try:
        with reading.open_regular(path) as (file, _):
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    except EdgeLstmError as e:
        raise EdgeLstmError(f"{path}: {e}") from None
    except OSError as e:
        raise EdgeLstmError(f"{path}: cannot read ({e.strerror or e})") from None
    return {"sha256": digest.hexdigest(), "size_bytes": size}


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


def sha256_matches(model: Path) -> bool | None:
    """Whether ``model``'s sha256 is the one its folder's manifest records; None: no record."""
    model = Path(model)
    found = entry(load(model.parent), model.name)
    return None if found is None else found["sha256"] == file_facts(model)["sha256"]


def failed_parity(model: Path, runtime: str) -> str | None:
    """Why ``model`` should not run on ``runtime``: its conversion-time parity failed there.

    None when it passed there, or when its folder's manifest has no record of it."""
    model = Path(model)
    if not sha256_matches(model):
        return None
    folder = load(model.parent)
    found = entry(folder, model.name)
    record = found.get("parity", {}).get(runtime)
    if not record or record.get("passed"):
        return None
    why = record.get("error") or (
        f"RMSE {record['rel_rmse_pct']}% of the spread of the Keras outputs" if "rel_rmse_pct" in record
        else f"{record.get('accuracy', '?')}% accurate, {record.get('agreement', '?')}% agreement with Keras")
    better = folder.get("recommended")
    return (f"{model.name} failed parity on {runtime} at conversion time ({why}); "
            + (f"use {better}" if better and better != model.name else "use another model")
            + " or run 'edge-lstm parity' to re-check")
