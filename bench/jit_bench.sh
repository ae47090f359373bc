#!/usr/bin/env bash
# bench/jit_bench.sh BUILD_DIR - ckpt vs torch 1.13's torch.jit.load side by side in one run
# (issue 12 item 8): the load time of every real TorchScript archive in
# ../shared/fixtures/real/torchscript*, and the forward latency of the five models of
# bench/jit_models.py (layer set, ResNet-style, MobileNetV2-style, transformer encoder, LSTM
# with control flow) at batch 1 and 32, one thread; each measurement in its own process.
# Prints a Markdown table (bench/jit_report.py).  CKPT_BENCH_REPS sets the runs per point.
set -euo pipefail
BUILD=${1:-build-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TOOL="$BUILD/bench/jit_bench"
[ -x "$TOOL" ] || { echo "[jit_bench] $TOOL is missing: build $BUILD" >&2; exit 1; }
REPS=${CKPT_BENCH_REPS:-200}
WORK="$BUILD/jit_bench"
mkdir -p "$WORK"
OUT="$WORK/results.jsonl"
: > "$OUT"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
for f in "$ROOT"/../shared/fixtures/real/torchscript/*.pt* "$ROOT"/../shared/fixtures/real/torchscript_lite/*.ptl; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    lr=$((REPS / 10 + 3))
    c=$("$TOOL" load "$f" "$lr" 2>&1 | tail -1) || c='{"error": "ckpt failed"}'
    t=$(/usr/bin/python3 bench/jit_bench.py load "$f" "$lr" 2>&1 | tail -1) || t='{"error": "torch failed"}'
    case "$c" in "{"*) ;; *) c='{"error": "ckpt failed"}' ;; esac
    case "$t" in "{"*) ;; *) t='{"error": "torch cannot load it"}' ;; esac
    echo "{\"kind\": \"load\", \"model\": \"$name\", \"ckpt\": $c, \"torch\": $t}" >> "$OUT"
done
/usr/bin/python3 bench/jit_models.py "$WORK" | while read -r name shape; do
    for batch in 1 32; do
        s=${shape/B/$batch}
        reps=$REPS
        [ "$batch" = 32 ] && reps=$((REPS / 4 + 5))
        c=$("$TOOL" run "$WORK/$name.pt" "$s" "$reps" 2>&1 | tail -1) || c='{"error": "ckpt failed"}'
        case "$c" in "{"*) ;; *) c='{"error": "ckpt failed"}' ;; esac
        t=$(/usr/bin/python3 bench/jit_bench.py run "$WORK/$name.pt" "$s" "$reps" 2>&1 | tail -1) || t='{"error": "torch failed"}'
        echo "{\"kind\": \"run\", \"model\": \"$name\", \"batch\": $batch, \"ckpt\": $c, \"torch\": $t}" >> "$OUT"
    done
done
/usr/bin/python3 bench/jit_report.py "$OUT"
