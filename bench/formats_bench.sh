#!/usr/bin/env bash
# bench/formats_bench.sh BUILD_DIR - safetensors and convert throughput (issue 13),
# each operation in a fresh process, page cache warm, one run:
#   - load of a 1 GiB state dict: safetensors copy, safetensors mmap (zero copy;
#     and mmap + touching every page), ckpt's own torch-zip load, and the
#     page-cache read limit (read() of the whole file into one buffer);
#   - torch zip -> safetensors convert vs read()+write() of the same bytes.
# torch.load of the same zip (torch 1.13, one thread) is timed alongside.
# Prints a markdown table with ratios against the limits; DCP save/load over
# MPI is bench/dcp_bench.sh.
# Knobs: CKPT_BENCH_DIR (default /tmp/ckpt-bench), CKPT_FORMATS_MIB (default
# 1024), CKPT_BENCH_QUICK=1 (one run each, small file).
set -euo pipefail
BUILD=${1:-build-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN="$BUILD/bench/formats_bench"
PY=/usr/bin/python3
DIR=${CKPT_BENCH_DIR:-/tmp/ckpt-bench}/formats
MIB=${CKPT_FORMATS_MIB:-1024}
N=5
if [ "${CKPT_BENCH_QUICK:-0}" = 1 ]; then MIB=${CKPT_FORMATS_MIB:-64}; N=1; fi
[ -x "$BIN" ] || { echo "formats_bench.sh: $BIN missing (build $BUILD first)" >&2; exit 1; }
mkdir -p "$DIR"
ZIP="$DIR/sd-${MIB}m.pt"
ST="$DIR/sd-${MIB}m.safetensors"
if [ ! -f "$ZIP" ]; then
    # 16 float32 tensors of MIB/16 MiB each, torch.save (torch 1.13)
    $PY - "$ZIP" "$MIB" <<'PY'
import sys, torch
path, mib = sys.argv[1], int(sys.argv[2])
g = torch.Generator().manual_seed(0)
n = mib * (1 << 20) // 16 // 4
sd = {f"layers.{i}.weight": torch.randn(n // 1024, 1024, generator=g) for i in range(16)}
torch.save(sd, path)
PY
fi
"$BIN" convert "$ZIP" "$ST" >/dev/null
RES="$DIR/results.jsonl"
: >"$RES"
run() { for _ in $(seq "$N"); do "$BIN" "$@"; done | tee -a "$RES" >&2; }
cat "$ZIP" "$ST" >/dev/null
run read-limit "$ST"
run st-load-copy "$ST"
run st-load-mmap "$ST"
run st-load-mmap-touch "$ST"
run zip-load "$ZIP"
run copy-limit "$ST" "$DIR/copy.out"
run convert "$ZIP" "$DIR/convert.safetensors"
for _ in $(seq "$N"); do
    $PY - "$ZIP" <<'PY' | tee -a "$RES" >&2
import json, resource, sys, time, torch
torch.set_num_threads(1)
t = time.monotonic()
sd = torch.load(sys.argv[1])
x = sum(int(v.view(-1)[::1024].sum().item() != 0) for v in sd.values())
ms = (time.monotonic() - t) * 1e3
print(json.dumps({"op": "torch-load", "ms": ms, "bytes": sum(v.numel() * 4 for v in sd.values()),
                  "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "x": x}))
PY
done
rm -f "$DIR/copy.out" "$DIR/convert.safetensors"
$PY - "$RES" "$MIB" "$(nproc)" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r["op"], []).append(r)
med = lambda op: statistics.median(r["ms"] for r in by[op])
rss = lambda op: max(r["peak_rss_kb"] for r in by[op]) / 1024
gib = int(sys.argv[2]) / 1024
print(f"State dict: {sys.argv[2]} MiB float32 (16 tensors), page cache warm, median of {len(by['st-load-copy'])} runs, one process per run.\n")
print("| operation | ms | GiB/s | vs limit | peak RSS MiB |")
print("|---|---:|---:|---:|---:|")
for op, label, ref in [("read-limit", "read() of the file (page-cache limit)", None),
                       ("st-load-copy", "safetensors load, copy", "read-limit"),
                       ("st-load-mmap", "safetensors load, mmap (zero copy)", "read-limit"),
                       ("st-load-mmap-touch", "safetensors load, mmap + every page touched", "read-limit"),
                       ("zip-load", "ckpt torch-zip load, copy", "read-limit"),
                       ("torch-load", "torch.load of the zip (torch 1.13)", "read-limit"),
                       ("copy-limit", "read()+write() of the safetensors bytes (limit)", None),
                       ("convert", "torch zip -> safetensors convert (ckpt)", "copy-limit")]:
    m = med(op)
    ratio = "" if ref is None else f"{med(ref) / m:.2f}x"
    print(f"| {label} | {m:.1f} | {gib / (m / 1000):.2f} | {ratio} | {rss(op):.0f} |")
print("\n`vs limit` = limit time / operation time (1.00x = at the limit, higher = faster than it).")
print(f"safetensors copy load vs ckpt's torch-zip load: {med('zip-load') / med('st-load-copy'):.2f}x; "
      f"vs torch.load of the zip: {med('torch-load') / med('st-load-copy'):.2f}x")
PY
