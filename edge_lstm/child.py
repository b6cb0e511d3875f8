"""Child processes: edge-lstm runs parts of itself in a fresh Python — another environment's
runtime, a converter that may crash, a clean measurement. Children report a user-facing problem as
a last ``error: …`` line on stderr and a non-zero exit code."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def env() -> dict[str, str]:
    """This environment, with this checkout first on PYTHONPATH and TensorFlow's logging quiet."""
    path = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}


def error_line(stderr: str, code: int) -> str:
    """The child's own ``error:`` line, else its last line, else its exit code."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    if errors:
        return errors[-1][len("error: "):]
    return lines[-1] if lines else f"exit code {code}"
