#!/bin/sh
# tests/formats/gguf_js_check.sh GGUF_TOOL WORKDIR - ckpt writes a GGUF file
# (every kv value type, F32/F16/I32 and Q8_0/Q4_0 tensors, alignment 32 and
# 64); @huggingface/gguf (npm, installed by scripts/gguf_js.sh) parses it; its
# metadata and tensor infos must equal what ckpt wrote and reads back.
# Exits 77 (CTest "Skipped") when node/npm or the npm registry is unavailable.
set -eu
tool=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if ! NODE_PATH=$("$root/scripts/gguf_js.sh" 2>"$work.log"); then
  mkdir -p "$(dirname "$work")"
  echo "SKIPPED: gguf_js_check: @huggingface/gguf not installable ($(tail -n 1 "$work.log" 2>/dev/null))"
  exit 77
fi
export NODE_PATH
mkdir -p "$work"
/usr/bin/python3 - "$work" <<'PY'
import sys, numpy as np
r = np.random.default_rng(5)
np.savez(sys.argv[1] + "/src.npz", q8=r.standard_normal((3, 64)).astype(np.float32),
         q4=r.standard_normal((2, 32)).astype(np.float32), h=r.standard_normal(7).astype(np.float16),
         i=np.arange(24, dtype=np.int32).reshape(2, 3, 4), s=np.float32(1.5))
PY
status=0
for align in 32 64; do
  "$tool" fromnpz "$work/src.npz" "$work/w$align.gguf" q8=Q8_0 q4=Q4_0 align=$align
  "$tool" dump "$work/w$align.gguf" "$work/w$align.npz" deq > "$work/ckpt$align.json"
  node "$here/gguf_js_check.mjs" "$work/w$align.gguf" > "$work/js$align.json"
  /usr/bin/python3 - "$work/ckpt$align.json" "$work/js$align.json" <<'PY' || status=1
import json, struct, sys
c, j = (json.load(open(p)) for p in sys.argv[1:3])
bad = []
if c["version"] != j["version"]:
    bad.append("version %r != %r" % (c["version"], j["version"]))
if list(c["kv"]) != list(j["kv"]):
    bad.append("kv keys/order %r != %r" % (list(c["kv"]), list(j["kv"])))
def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]
for k, v in c["kv"].items():
    w = j["kv"].get(k)
    t = c["kv_types"][k]
    if t == "float32":
        v, w = f32(v), (f32(w) if w is not None else None)
    if t == "array[float32]":
        v = [f32(x) for x in v]
    if v != w:
        bad.append("kv %s: ckpt %r, gguf.js %r" % (k, v, w))
    if t.startswith("array[array"):
        t = "array[array]"  # gguf.js reports the outer item type only
    if t != j["kv_types"].get(k):
        bad.append("kv type %s: ckpt %r, gguf.js %r" % (k, t, j["kv_types"].get(k)))
ct = [(t["name"], t["type"], t["shape"]) for t in c["tensors"]]
jt = [(t["name"], t["type"], t["shape"]) for t in j["tensors"]]
if ct != jt:
    bad.append("tensor infos: ckpt %r, gguf.js %r" % (ct, jt))
align = c["kv"].get("general.alignment", 32)
if any(t["offset"] % align for t in j["tensors"]) or j["data_offset"] % align:
    bad.append("offsets not aligned to %d" % align)
for b in bad:
    print("MISMATCH:", b)
print("gguf.js: %d keys, %d tensors, alignment %d: %s" % (len(j["kv"]), len(jt), align,
      "equal" if not bad else "DIFFERENT"))
sys.exit(1 if bad else 0)
PY
done
exit $status
