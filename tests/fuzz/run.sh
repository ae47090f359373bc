#!/bin/sh
# tests/fuzz/run.sh - build the libFuzzer harnesses and run them.
#   run.sh smoke [harness...]   a fixed-seed run of a fixed number of inputs per
#                               harness (about 30 s each here): the same tree gives
#                               the same inputs, so a clean smoke stays clean in CI
#   run.sh long  [harness...]   10 min per harness, random seed (exploration)
# Corpora start from tests/fuzz/corpus/<name> plus the committed fixtures and
# ../shared/fixtures/real/torch_zip; new inputs go to build-fuzz/corpus/<name>
# (merge the interesting ones back with -merge=1 and commit them minimized).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:-smoke}
[ $# -gt 0 ] && shift
case "$mode" in
  smoke) secs=90 ;;  # a cap: the smoke ends after its run count, long before this
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
# inputs per harness in smoke mode: about 30 s each on a 2-core machine
smoke_runs() {
  case "$1" in
    numpy) echo 3000000 ;; safetensors) echo 1200000 ;; dcp) echo 1000000 ;;
    zip) echo 650000 ;; onnx_run) echo 600000 ;; ts_interp) echo 230000 ;;
    pickle) echo 350000 ;; onnx) echo 350000 ;; gguf) echo 280000 ;;
    roundtrip) echo 150000 ;; load) echo 140000 ;; hf) echo 100000 ;;
    jit) echo 45000 ;; scan) echo 25000 ;; *) echo 50000 ;;
  esac
}
failed=""
report=""
mkdir -p "$build/logs"
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
  if [ "$mode" = smoke ]; then
    echo "== fuzz_$h: $(smoke_runs "$h") inputs, seed 1"
  else
    echo "== fuzz_$h for ${secs}s"
  fi
  dict="$here/pickle.dict"
  [ -f "$here/$h.dict" ] && dict="$here/$h.dict"
  how=""
  [ "$mode" = smoke ] && how="-seed=1 -runs=$(smoke_runs "$h")"
  log="$build/logs/$h.log"
  stamp="$build/logs/$h.stamp"
  : >"$stamp"  # only artifacts newer than this belong to this run
  rc=0
  # shellcheck disable=SC2086  # $how is two options or none
  "$build/tests/fuzz_$h" "$work" "$seeds" -dict="$dict" $how \
    -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 -timeout=20 \
    -artifact_prefix="$build/crashes/$h/" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  tail -n 6 "$log"
  arts=$(find "$build/crashes/$h" -type f -newer "$stamp" 2>/dev/null || true)
  if [ "$rc" -ne 0 ] || [ -n "$arts" ]; then
    failed="$failed $h"
    # what went wrong, the input that did it (base64 when small) and how to rerun it,
    # kept for the end of the output where a CI log's tail shows it
    report="$report
!! fuzz_$h failed (exit $rc); full log: $log
$(grep -E -A 30 '^==[0-9]+== ?ERROR|^SUMMARY|runtime error|out-of-memory|ALARM|deadly signal' "$log" |
  grep -v -E '^ +#[0-9]+ 0x[0-9a-f]+ in .* \(/' | sed 's/ (BuildId: [0-9a-f]*)//' | head -n 40)"
    for a in $arts; do
      report="$report
   input $a ($(stat -c %s "$a") bytes); rerun: $build/tests/fuzz_$h $a"
      [ "$(stat -c %s "$a")" -le 3072 ] && report="$report
   base64: $(base64 -w0 "$a")"
    done
  fi
done
if [ -n "$failed" ]; then
  printf '%s\n' "$report"
  echo "fuzz $mode: FAILED:$failed"
  exit 1
fi
echo "fuzz $mode: all clean ($harnesses)"
