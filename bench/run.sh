#!/usr/bin/env bash
# bench/run.sh BUILD_DIR - ckpt vs torch, side by side (`make bench` runs it).
#
# Makes the input files once with torch.save under $CKPT_BENCH_DIR (default
# /tmp/ckpt-bench, on the same disk as the outputs) and reuses them, checks
# that ckpt and torch read the same tensor bytes, warms the page cache, runs
# every operation in a fresh process (bench/bench_ckpt for ckpt,
# bench/bench_torch.py for torch, one thread), then prints the table and
# writes docs/BENCHMARKS.md (bench/report.py).
#
# Knobs: CKPT_BENCH_DIR, CKPT_BENCH_QUICK=1 (fewer runs, for a smoke test;
# then docs/BENCHMARKS.md is not written), CKPT_BENCH_NO_DOC=1.
set -euo pipefail

BUILD=${1:-build-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN="$BUILD/bench/bench_ckpt"
PY=/usr/bin/python3 # Debian's python3-torch lives here, whatever python3 is first in PATH
TORCH="$PY $ROOT/bench/bench_torch.py"
DIR=${CKPT_BENCH_DIR:-/tmp/ckpt-bench}
DATA="$DIR/data"
OUT="$DIR/out"
RES="$DIR/results.jsonl"
NEED_GIB=3

say() { printf '[bench] %s\n' "$*" >&2; }
fail() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

[ -x "$BIN" ] || fail "$BIN is missing: build with 'make bench' (or cmake --build $BUILD)"
$PY -c 'import torch' 2>/dev/null || fail "$PY cannot import torch (apt-get install python3-torch)"

# N: timed runs per operation (one untimed warm-up run precedes each set)
if [ "${CKPT_BENCH_QUICK:-0}" = 1 ]; then
    N_BIG=1 N_TORCH_BIG=1 N_SAVE=1 N_SMALL=1 N_TORCH_SMALL=1 N_MMAP=5
else
    N_BIG=7 N_TORCH_BIG=5 N_SAVE=3 N_SMALL=9 N_TORCH_SMALL=5 N_MMAP=31
fi

# ---- disk space: inputs (~1.1 GiB, kept between runs) + outputs (~1.1 GiB)
mkdir -p "$DATA" "$OUT/torch" "$OUT/ckpt"
have_kib=$(df -Pk "$DIR" | awk 'NR==2 {print $4}')
kept_kib=$(du -sk "$DATA" | awk '{print $1}')
need_kib=$((NEED_GIB * 1024 * 1024 - kept_kib))
if [ "$have_kib" -lt "$need_kib" ]; then
    fail "need ~${NEED_GIB} GiB free in $DIR (inputs kept there: $((kept_kib / 1024)) MiB); free: $((have_kib / 1024)) MiB. Set CKPT_BENCH_DIR to a folder with more room."
fi
rm -f "$OUT"/torch/* "$OUT"/ckpt/*

: >"$RES"
run() { # run CMD...: append its JSON lines to the results, show them
    "$@" | tee -a "$RES" >&2
}
warm() { cat "$@" >/dev/null; }

# The numbers are only as good as the machine is quiet: wait (up to 2 min) for
# other work to settle, then sample the run queue once a second for the
# whole run, so the report can say how much else was running.
for _ in $(seq 24); do
    awk '{exit !($1 < 0.7)}' /proc/loadavg && break
    say "machine busy (load average $(cut -d' ' -f1-3 /proc/loadavg)); waiting for it to settle"
    sleep 5
done
LOADAVG0=$(cut -d' ' -f1 /proc/loadavg)
(while :; do awk '/^procs_running/ {print $2}' /proc/stat; sleep 1; done) >"$DIR/runq.txt" &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true' EXIT

T0=$(date +%s)
say "inputs in $DATA (made once with torch.save, then reused)"
run $TORCH gen "$DATA"
BIG="$DATA/big.pt" MID="$DATA/mid.pt" SMALL="$DATA/small.pt"

say "checking that ckpt and torch read the same tensor bytes"
for f in "$BIG" "$SMALL"; do
    run "$BIN" crc "$f"
    run $TORCH crc "$f"
done
sync # no write-back of freshly made inputs during the measurements
warm "$BIG" "$MID" "$SMALL"

say "1 GiB: loads into owned memory, and the physical limits"
run "$BIN" read "$BIG" "$N_BIG"
run "$BIN" memcpy 1073741824 "$N_BIG"
run "$BIN" load-copy "$BIG" "$N_BIG"
run $TORCH load "$BIG" "$N_TORCH_BIG" wo
run $TORCH load "$BIG" "$N_TORCH_BIG" full
say "1 GiB: the same loads with glibc's malloc asking for transparent huge pages (what-if)"
THP="env GLIBC_TUNABLES=glibc.malloc.hugetlb=1"
run $THP "$BIN" read "$BIG" "$N_BIG" thp
run $THP "$BIN" load-copy "$BIG" "$N_BIG" thp
run $THP $TORCH load "$BIG" "$N_TORCH_BIG" wo thp

say "mmap loads (1 GiB and 64 MiB files)"
run "$BIN" load-mmap "$BIG" "$N_MMAP"
run "$BIN" load-mmap "$MID" "$N_MMAP"

say "peak RSS, each load in a fresh process"
run "$BIN" rss-copy "$BIG"
run "$BIN" rss-mmap "$BIG"
run "$BIN" rss-mmap "$BIG" touch
run $TORCH rss "$BIG" wo

say "1 GiB: saves (torch.save never fsyncs; ckpt with and without fsync)"
run "$BIN" write "$OUT/ckpt/write.bin" 1073741824 "$N_SAVE"
run $TORCH save "$BIG" "$OUT/torch/big.pt" "$N_SAVE"
run "$BIN" save "$BIG" "$OUT/ckpt/big.pt" "$N_SAVE" nofsync
run "$BIN" save "$BIG" "$OUT/ckpt/big.pt" "$N_SAVE" fsync
if cmp -s "$OUT/torch/big.pt" "$OUT/ckpt/big.pt"; then same=true; else same=false; fi
echo "{\"side\":\"check\",\"op\":\"same-bytes\",\"file\":\"big.pt\",\"same\":$same}" | tee -a "$RES" >&2
rm -f "$OUT"/torch/* "$OUT"/ckpt/*

say "100,000 small tensors: loads"
warm "$SMALL"
run "$BIN" load-copy "$SMALL" "$N_SMALL"
run "$BIN" load-mmap "$SMALL" "$N_SMALL"
run $TORCH load "$SMALL" "$N_TORCH_SMALL" wo
run $TORCH load "$SMALL" "$N_TORCH_SMALL" full

say "100,000 small tensors: saves"
run $TORCH save "$SMALL" "$OUT/torch/small.pt" "$N_TORCH_SMALL"
run "$BIN" save "$SMALL" "$OUT/ckpt/small.pt" "$N_SMALL" nofsync
run "$BIN" save "$SMALL" "$OUT/ckpt/small.pt" "$N_SMALL" fsync
run "$BIN" save "$SMALL" "$OUT/ckpt/small27.pt" "$N_SMALL" nofsync 27
if cmp -s "$OUT/torch/small.pt" "$OUT/ckpt/small.pt"; then same=true; else same=false; fi
echo "{\"side\":\"check\",\"op\":\"same-bytes\",\"file\":\"small.pt\",\"same\":$same}" | tee -a "$RES" >&2
rm -f "$OUT"/torch/* "$OUT"/ckpt/*

T1=$(date +%s)
kill $SAMPLER 2>/dev/null || true
awk -v la0="$LOADAVG0" -v la1="$(cut -d' ' -f1 /proc/loadavg)" \
    '{s += $1; if ($1 > m) m = $1; n++} END {printf "{\"side\":\"env\",\"op\":\"runq\",\"samples\":%d,\"mean\":%.2f,\"max\":%d,\"loadavg_start\":%s,\"loadavg_end\":%s}\n", n, n ? s / n : 0, m, la0, la1}' \
    "$DIR/runq.txt" | tee -a "$RES" >&2
say "done in $((T1 - T0)) s; results in $RES"

doc=docs/BENCHMARKS.md
if [ "${CKPT_BENCH_QUICK:-0}" = 1 ] || [ "${CKPT_BENCH_NO_DOC:-0}" = 1 ]; then doc=""; fi
$PY bench/report.py "$RES" "$BUILD" "$((T1 - T0))" ${doc:+"$doc"}
