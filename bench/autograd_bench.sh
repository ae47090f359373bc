#!/usr/bin/env bash
# bench/autograd_bench.sh BUILD_DIR - training and inference steps on the
# autograd tape (demo CNN, ResNet-style net, 2-layer transformer), ckpt (C,
# OpenBLAS one thread) vs torch eager (one thread); prints a Markdown table of
# ratios (bench/autograd_bench.py).  CKPT_BENCH_SCALE=0.3 runs fewer steps.
set -euo pipefail
BUILD=${1:-build-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TOOL="$BUILD/bench/autograd_bench"
[ -x "$TOOL" ] || { echo "[autograd_bench] $TOOL is missing: build $BUILD" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
exec /usr/bin/python3 bench/autograd_bench.py "$TOOL"
