#!/bin/sh
# tests/fuzz/run.sh - build the libFuzzer harnesses and run them.
#   run.sh smoke [harness...]   30 s per harness
#   run.sh long  [harness...]   10 min per harness
# Corpora start from tests/fuzz/corpus/<name> plus the committed fixtures and
# ../shared/fixtures/real/torch_zip; new inputs go to build-fuzz/corpus/<name>
# (merge the interesting ones back with -merge=1 and commit them minimized).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:-smoke}
[ $# -gt 0 ] && shift
case "$mode" in
  smoke) secs=30 ;;
  long) secs=600 ;;
  *) echo "usage: $0 smoke|long [zip pickle load roundtrip scan numpy onnx onnx_run jit ts_interp safetensors gguf dcp hf]" >&2; exit 2 ;;
esac
harnesses=${*:-"zip pickle load roundtrip scan numpy onnx onnx_run jit ts_interp safetensors gguf dcp hf"}
build="$root/build-fuzz"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCKPT_BUILD_FUZZERS=ON -DCKPT_WERROR=OFF >/dev/null
for h in $harnesses; do
  cmake --build "$build" -j"$(nproc)" --target "fuzz_$h" >/dev/null
done
[ -d "$root/../shared/fixtures/real/torch_zip" ] ||
  echo "note: ../shared/fixtures/real/torch_zip is absent: seeding from the committed files only"
status=0
for h in $harnesses; do
  work="$build/corpus/$h"
  mkdir -p "$work" "$build/crashes/$h"
  seeds="$here/corpus/$h"
  extra=""
  case "$h" in
    zip|load|roundtrip|scan)
      # the harnesses for load/roundtrip read one option byte first
      for f in "$root"/tests/fixtures/torch/*.pt "$root"/../shared/fixtures/real/torch_zip/*; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le 1048576 ] || continue
        if [ "$h" = zip ] || [ "$h" = scan ]; then cp "$f" "$work/" ; else
          { printf '\000'; cat "$f"; } > "$work/$(basename "$f").sel0"; fi
      done ;;
    onnx|onnx_run)
      # the real models of ../shared and the hostile ONNX corpus (1 MiB at most)
      for f in "$root"/../shared/fixtures/real/onnx/*.onnx "$root"/tests/hostile/onnx/*.onnx; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le 1048576 ] && cp "$f" "$work/"
      done ;;
    jit)
      # TorchScript, lite, full-model and .pt2 files: real ones and the committed fixtures
      for f in "$root"/../shared/fixtures/real/torchscript*/* "$root"/tests/fixtures/jit/*/*.pt* \
               "$root"/tests/hostile/jit/*; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le 1048576 ] && cp "$f" "$work/"
      done ;;
    safetensors)
      # the real files of ../shared (1 MiB at most) and the hostile safetensors corpus
      for f in "$root"/../shared/fixtures/real/safetensors/* "$root"/tests/hostile/safetensors/*.safetensors; do
        [ -f "$f" ] || continue
        [ "$(stat -c %s "$f")" -le 1048576 ] && cp "$f" "$work/"
      done ;;
    pickle)
      for f in "$root"/tests/fixtures/pickle/*.pkl; do
        { printf '\000'; cat "$f"; } > "$work/$(basename "$f").sel0"
      done ;;
  esac
  echo "== fuzz_$h for ${secs}s"
  dict="$here/pickle.dict"
  [ -f "$here/$h.dict" ] && dict="$here/$h.dict"
  if ! "$build/tests/fuzz_$h" "$work" "$seeds" -dict="$dict" \
       -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 -timeout=20 \
       -artifact_prefix="$build/crashes/$h/" -print_final_stats=1 2>&1 | tail -n 12; then
    status=1
  fi
  if ls "$build/crashes/$h"/* >/dev/null 2>&1; then
    echo "!! crashes in $build/crashes/$h"; status=1
  fi
done
exit $status
