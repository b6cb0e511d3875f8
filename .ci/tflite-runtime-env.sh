#!/usr/bin/env bash
# Create a Python 3.11 virtualenv with tflite-runtime 2.14 (x86-64 host runtime).
#
#   .ci/tflite-runtime-env.sh DIR
#
# DIR/bin/python then has tflite-runtime==2.14.0, numpy<2 and typer.
# tflite-runtime 2.14 has wheels only up to Python 3.11 and is built against numpy 1.x.
# Idempotent: if DIR/bin/python already imports tflite_runtime, nothing is done.
# Env: PYTHON311=/path/to/python3.11 names the interpreter; otherwise python3.11, then python3,
# are looked up on PATH.
set -euo pipefail

die() { echo "tflite-runtime-env: ERROR: $*" >&2; exit 1; }
log() { echo "tflite-runtime-env: $*" >&2; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 DIR"
DIR=$1
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac

CHECK='from tflite_runtime.interpreter import Interpreter; import numpy, typer; assert numpy.__version__.split(".")[0] == "1", numpy.__version__'

if [[ -x "$DIR/bin/python" ]] && "$DIR/bin/python" -c "$CHECK" >/dev/null 2>&1; then
    log "already set up: $DIR"
    exit 0
fi

# --- find a Python 3.11 -------------------------------------------------------
is_py311() { [[ -n "$1" ]] && "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; }
PY=
for cand in "${PYTHON311:-}" "$(command -v python3.11 || true)" "$(command -v python3 || true)"; do
    if is_py311 "$cand"; then PY=$cand; break; fi
done
[[ -n "$PY" ]] || die "no Python 3.11 with the venv module found (tried \$PYTHON311, python3.11 and python3 on PATH); set PYTHON311=/path/to/python3.11"
# a shim (pyenv) resolves to the real binary; use it so the venv does not depend on the shim
PY=$("$PY" -c 'import sys; print(sys.executable)')

# --- venv + packages ------------------------------------------------------------
if [[ -e "$DIR" && ! -x "$DIR/bin/python" ]] && [[ -n "$(ls -A "$DIR" 2>/dev/null)" ]]; then
    die "$DIR exists, is not empty and is not a virtualenv; refusing to touch it"
fi
if [[ -x "$DIR/bin/python" ]] && ! is_py311 "$DIR/bin/python"; then
    die "$DIR is a virtualenv but not Python 3.11; remove it first"
fi
if [[ ! -x "$DIR/bin/python" ]]; then
    log "creating venv at $DIR with $PY"
    "$PY" -m venv "$DIR" || die "could not create venv at $DIR"
fi

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
log "installing tflite-runtime==2.14.0 'numpy<2' typer"
if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$DIR/bin/python" -m pip install -q --no-input \
        --only-binary=tflite-runtime,numpy \
        'tflite-runtime==2.14.0' 'numpy<2' 'typer>=0.12' >"$LOG" 2>&1; then
    cat "$LOG" >&2
    die "pip install failed (see above); DIR=$DIR"
fi

if ! "$DIR/bin/python" -c "$CHECK" >"$LOG" 2>&1; then
    cat "$LOG" >&2
    die "installed, but 'from tflite_runtime.interpreter import Interpreter' fails in $DIR"
fi
log "ready: $DIR/bin/python ($("$DIR/bin/python" -c 'import numpy, tflite_runtime; print("tflite-runtime", tflite_runtime.__version__, "numpy", numpy.__version__)'))"
