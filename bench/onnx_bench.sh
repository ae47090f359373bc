#!/usr/bin/env bash
# bench/onnx_bench.sh BUILD_DIR - ckpt's ONNX session vs ONNX Runtime 1.30
# (npm onnxruntime-node, scripts/ort.sh) side by side in one run: the MLP,
# CNN+BN and transformer encoder exported by torch 1.13 (bench/onnx_models.py)
# and three real models from ../shared/fixtures/real/onnx, batch 1 and 64,
# 1 and 2 threads; each measurement in its own process.  Prints a Markdown
# table (bench/onnx_report.py).  CKPT_BENCH_REPS sets the runs per point.
set -euo pipefail
BUILD=${1:-build-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TOOL="$BUILD/bench/onnx_bench"
[ -x "$TOOL" ] || { echo "[onnx_bench] $TOOL is missing: build $BUILD" >&2; exit 1; }
NODE_PATH=$(scripts/ort.sh) || { echo "[onnx_bench] ONNX Runtime not available: skipped" >&2; exit 0; }
export NODE_PATH
REPS=${CKPT_BENCH_REPS:-200}
WORK="$BUILD/onnx_bench"
mkdir -p "$WORK"
/usr/bin/python3 bench/onnx_models.py "$WORK" >/dev/null
REAL="$ROOT/../shared/fixtures/real/onnx"
models="mlp:$WORK/mlp.onnx cnn_bn:$WORK/cnn_bn.onnx transformer:$WORK/transformer.onnx"
if [ -d "$REAL" ]; then
    models="$models mnist_onnxjs:$REAL/matthieu-sgi__mnist-onnxjs__onnx_model.onnx"
    models="$models mnist8:$REAL/webonnx__wonnx__tests__mnist-8.onnx"
    models="$models squeezenet_light:$REAL/onnx__onnx__onnx__backend__test__data__light__light_squeezenet.onnx"
fi
OUT="$WORK/results.jsonl"
: > "$OUT"
for spec in $models; do
    name=${spec%%:*}
    path=${spec#*:}
    for batch in 1 64; do
        for threads in 1 2; do
            reps=$REPS
            [ "$batch" = 64 ] && reps=$((REPS / 4 + 5))
            c=$(OPENBLAS_NUM_THREADS=$threads "$TOOL" "$path" "$batch" "$threads" "$reps" 2>&1 | tail -1) || c='{"error": "ckpt failed"}'
            o=$(node bench/onnx_bench.js "$path" "$batch" "$threads" "$reps" 2>&1 | tail -1) || o='{"error": "ort failed"}'
            echo "{\"model\": \"$name\", \"batch\": $batch, \"threads\": $threads, \"ckpt\": $c, \"ort\": $o}" >> "$OUT" || true
        done
    done
done
/usr/bin/python3 bench/onnx_report.py "$OUT"
