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

for runtime in ai-edge-litert tflite-runtime; do
    bash "$ROOT/.ci/arm64-env.sh" "$DIR/$runtime" "$runtime"
done

plan=$(python3 - "$ROOT/models/manifest.json" <<'PY'
import json, sys
manifest = json.load(open(sys.argv[1]))
for a in manifest["artifacts"]:
    if a.get("kind") == "tflite":
        for runtime in a["passed_on"]:
            if runtime in ("ai-edge-litert", "tflite-runtime"):
                print(a["file"], runtime, "full" if a["file"] == manifest.get("recommended") else "limit")
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
