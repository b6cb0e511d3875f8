#!/usr/bin/env bash
# Device parity of the shipped models on an emulated aarch64 CPU (a Raspberry Pi 5's Cortex-A76).
#
#   .ci/arm64-parity.sh [DIR]      (default DIR: .arm64)
#
# Builds an emulated Python with each runtime (.ci/arm64-env.sh), then runs `edge-lstm parity`
# there for every shipped .tflite on each runtime it passed on at conversion time: the recommended
# model on the full test split, the others on the first LIMIT images (default 1000).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-$ROOT/.arm64}
LIMIT=${EDGE_LSTM_ARM64_LIMIT:-1000}

RUNTIMES=(ai-edge-litert tflite-runtime)  # the runtimes .ci/arm64-env.sh can build
for runtime in "${RUNTIMES[@]}"; do
    bash "$ROOT/.ci/arm64-env.sh" "$DIR/$runtime" "$runtime"
done

# Every shipped model on each of those runtimes it passed on at conversion time (edge_lstm.manifest
# reads the manifest with the standard library only).
plan=$(PYTHONPATH=$ROOT python3 - "$ROOT/models" "${RUNTIMES[@]}" <<'PY'
import sys
from edge_lstm import manifest
folder, runtimes = sys.argv[1], sys.argv[2:]
recommended = manifest.load(folder).get("recommended")
for a in manifest.artifacts(folder, "tflite"):
    for runtime in (r for r in a["passed_on"] if r in runtimes):
        print(a["file"], runtime, "full" if a["file"] == recommended else "limit")
PY
)

failed=0
while read -r model runtime scope; do
    args=(-m edge_lstm parity "$ROOT/models/$model" --runtime "$runtime")
    [[ $scope == limit ]] && args+=(--limit "$LIMIT")
    echo "== $model on emulated aarch64, $runtime ($scope)"
    if ! PYTHONPATH=$ROOT "$DIR/$runtime/python" "${args[@]}"; then
        failed=$((failed + 1))
    fi
done <<< "$plan"

if (( failed )); then
    echo "arm64 parity: $failed run(s) failed" >&2
    exit 1
fi
echo "arm64 parity: all runs passed"
