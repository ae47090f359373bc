#!/usr/bin/env bash
# bench/train_bench.sh BUILD_DIR - training step time of the demo's CNN, ckpt
# (C, OpenBLAS one thread) vs torch eager (one thread); prints the ratio.
set -euo pipefail
BUILD=${1:-build-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TOOL="$BUILD/tests/train_tool"
[ -x "$TOOL" ] || { echo "[train_bench] $TOOL is missing: build $BUILD with tests on" >&2; exit 1; }
DATA=${CKPT_DIGITS:-/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz}
[ -f "$DATA" ] || { echo "[train_bench] $DATA is missing (apt-get install python3-sklearn)" >&2; exit 1; }
exec /usr/bin/python3 bench/train_bench.py "$TOOL" "$DATA"
