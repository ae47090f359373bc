#!/usr/bin/env bash
# bench/nn_bench.sh BUILD_DIR - C layer library forward vs torch eager, one
# thread; writes docs/NN_BENCHMARKS.md (CKPT_BENCH_NO_DOC=1: print only).
set -euo pipefail
BUILD=${1:-build-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TOOL="$BUILD/tests/nn_equiv_tool"
[ -x "$TOOL" ] || { echo "[nn_bench] $TOOL is missing: build $BUILD with tests on" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2>/dev/null ||
    { echo "[nn_bench] /usr/bin/python3 cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
doc=docs/NN_BENCHMARKS.md
[ "${CKPT_BENCH_NO_DOC:-0}" = 1 ] && doc=""
exec /usr/bin/python3 bench/nn_bench.py "$TOOL" ${doc:+"$doc"}
