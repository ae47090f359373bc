#!/usr/bin/env bash
# tests/cli/cli_test.sh - end-to-end tests of the ckpt subcommands show, stats, diff, rename,
# convert, extract and verify (run by CTest through tests/cli/cli.cmake, one test per subcommand).
#
#   tests/cli/cli_test.sh CKPT_BINARY SOURCE_ROOT WORKDIR SUBCOMMAND
#
# Each section checks successes and errors (exit codes 0/1/2), --json validity through
# `python3 -m json.tool`, and, where values matter, loads ckpt's output with real torch
# (/usr/bin/python3, torch 1.13) and compares it with torch computing the same thing.
set -u

CKPT=${1:?ckpt binary}
ROOT=${2:?source root}
WORK=${3:?work dir}
WHAT=${4:?subcommand}
PY=/usr/bin/python3
FIX="$ROOT/tests/fixtures/torch"
fails=0
checks=0

mkdir -p "$WORK" || exit 2
WORK=$(cd "$WORK" && pwd)

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect CODE DESCRIPTION -- command...
expect() {
    local want=$1 desc=$2
    shift 3
    checks=$((checks + 1))
    "$@" >"$WORK/out" 2>"$WORK/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$desc: exit $got, expected $want ($*)"
        sed 's/^/  | /' "$WORK/out" "$WORK/err" | head -20 >&2
    fi
}

# the last command's stdout must contain TEXT
has() {
    checks=$((checks + 1))
    grep -qF -- "$1" "$WORK/out" || { fail "output lacks '$1'"; sed 's/^/  | /' "$WORK/out" | head -20 >&2; }
}
err_has() {
    checks=$((checks + 1))
    grep -qF -- "$1" "$WORK/err" || { fail "stderr lacks '$1'"; sed 's/^/  | /' "$WORK/err" >&2; }
}
json_ok() {
    checks=$((checks + 1))
    $PY -m json.tool "$WORK/out" >/dev/null || fail "invalid JSON: $1"
}
py() {
    checks=$((checks + 1))
    $PY - "$@" || fail "torch check failed (see above)"
}

need_torch() {
    if ! $PY -c 'import torch' 2>/dev/null; then
        echo "torch is missing: install it with 'apt-get install python3-torch'" >&2
        exit 1
    fi
}

common_errors() { # SUBCOMMAND ARGS-FOR-A-VALID-CALL...
    local cmd=$1
    expect 0 "$cmd --help" -- "$CKPT" "$cmd" --help
    has "usage: ckpt $cmd"
    has "Exit status"
    expect 2 "$cmd without arguments" -- "$CKPT" "$cmd"
    expect 2 "$cmd bad option" -- "$CKPT" "$cmd" --no-such-option "$FIX/checkpoint.pt"
    err_has "unknown option"
    echo "not a checkpoint" >"$WORK/garbage.pt"
    expect 2 "$cmd unreadable file" -- "$CKPT" "$cmd" "$WORK/garbage.pt" "${@:2}"
    expect 2 "$cmd missing file" -- "$CKPT" "$cmd" "$WORK/does-not-exist.pt" "${@:2}"
}

t_show() {
    common_errors show
    expect 0 "show checkpoint" -- "$CKPT" show "$FIX/checkpoint.pt"
    has "dict, 7 items"
    has "model: OrderedDict, 9 items"
    has "_metadata: 5 modules: '' v1, '0' v1, '1' v2"
    has "epoch: int 7"
    has "loss: float 0.03125"
    has "note: str 'train'"
    has "[0] lr=0.001 betas=(0.9, 0.999) eps=1e-08 weight_decay=0 amsgrad=False"
    has "params=[0..5] (6)"
    has "1.num_batches_tracked: tensor int64 [] cpu = 2"
    has "0.bias: tensor float32 [3] cpu = [-0.3993,  0.1690,  0.1796]"
    expect 0 "show KEY (greedy dotted key)" -- "$CKPT" show "$FIX/checkpoint.pt" model.1.running_var
    has "model.1.running_var: tensor float32 [3] cpu = [0.8768, 0.8732, 0.8319]"
    expect 0 "show list index" -- "$CKPT" show "$FIX/views_shared.pt" nested.list.1
    has "stride [6] offset 0 = [ 0.,  6., 12., 18.]"
    expect 0 "show int dict key" -- "$CKPT" show "$FIX/checkpoint.pt" optimizer.state.5.exp_avg
    has "tensor float32 [2] cpu"
    expect 0 "show views" -- "$CKPT" show "$FIX/views_shared.pt"
    has "t: tensor float32 [6, 4] cpu, stride [1, 6] offset 0"
    has "expand: tensor float32 [3, 4] cpu, stride [0, 0] offset 6"
    expect 0 "show width cap" -- "$CKPT" show "$FIX/checkpoint.pt" model --width 2
    has "… 7 more"
    expect 0 "show depth cap" -- "$CKPT" show "$FIX/checkpoint.pt" --depth 1
    has "model: OrderedDict, 9 items …"
    expect 0 "show 0-dim" -- "$CKPT" show "$FIX/scalar_0dim.pt"
    has "tensor float64 [] cpu = 2.5000"
    expect 2 "show missing key" -- "$CKPT" show "$FIX/checkpoint.pt" model.nope
    err_has "no key 'nope'"
    expect 2 "show index out of range" -- "$CKPT" show "$FIX/views_shared.pt" nested.list.7
    expect 2 "show key below a tensor" -- "$CKPT" show "$FIX/checkpoint.pt" model.0.weight.x
    expect 2 "show bad --depth" -- "$CKPT" show "$FIX/checkpoint.pt" --depth x
}

t_stats() {
    need_torch
    common_errors stats
    expect 0 "stats checkpoint" -- "$CKPT" stats "$FIX/checkpoint.pt"
    has "model.0.weight"
    has "sample standard deviation"
    for f in checkpoint views_shared dtype_float16 dtype_bfloat16 dtype_float64 dtype_int8 \
             dtype_uint8 dtype_int64 dtype_complex64 dtype_complex128 scalar_0dim; do
        expect 0 "stats --json $f" -- "$CKPT" stats "$FIX/$f.pt" --json
        json_ok "stats $f"
        cp "$WORK/out" "$WORK/stats_$f.json"
        py "$FIX/$f.pt" "$WORK/stats_$f.json" <<'PYEOF'
import json, math, sys, torch
sys.path.insert(0, "tests/interop")
obj = torch.load(sys.argv[1])
rep = json.load(open(sys.argv[2]))
assert rep["std"] == "sample"
def walk(o, key, out):
    if torch.is_tensor(o):
        out.append((key, o)); return
    items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, (list, tuple)) else []
    for k, v in items:
        walk(v, (key + "." if key else "") + str(k), out)
ts = []
walk(obj, "", ts)
assert [k for k, _ in ts] == [t["key"] for t in rep["tensors"]], "key order"
def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or abs(a - b) < 1e-300
for (k, t), r in zip(ts, rep["tensors"]):
    x = (t.to(torch.complex128).abs() if t.is_complex() else t.to(torch.float64)).flatten()
    assert r["count"] == t.numel(), k
    if t.numel() == 0:
        continue
    want = [x.min().item(), x.max().item(), x.mean().item()]
    got = [r["min"], r["max"], r["mean"]]
    assert all(close(a, b) for a, b in zip(got, want)), (k, got, want)
    if t.numel() > 1:
        assert close(r["std"], x.std().item()), (k, r["std"], x.std().item())
    else:
        assert r["std"] is None and math.isnan(x.std().item()), k
    assert r["nan"] == 0 and r["inf"] == 0
PYEOF
    done
    # NaN / Inf detection: exit 1
    $PY - "$WORK/nan.pt" "$WORK/inf16.pt" <<'PYEOF'
import sys, torch
x = torch.arange(12, dtype=torch.float32).view(3, 4)
x[1, 2] = float("nan"); x[2, 0] = float("inf"); x[0, 0] = float("-inf")
torch.save({"ok": torch.ones(3), "bad": x, "badt": x.t()}, sys.argv[1])
torch.save({"big": torch.tensor([1.0, 70000.0, -1e6])}, sys.argv[2])
PYEOF
    expect 1 "stats NaN/Inf exit 1" -- "$CKPT" stats "$WORK/nan.pt"
    has "<- NaN/Inf"
    expect 1 "stats NaN/Inf --json" -- "$CKPT" stats "$WORK/nan.pt" --json
    json_ok "stats nan"
    py "$WORK/out" <<'PYEOF'
import json, sys, torch
r = json.load(open(sys.argv[1]))
bad = r["tensors"][1]
assert r["nan"] == 2 and r["inf"] == 4, r
assert bad["nan"] == 1 and bad["inf"] == 2 and bad["finite"] == 9, bad
x = torch.arange(12, dtype=torch.float64)
x = x[[i for i in range(12) if i not in (0, 6, 8)]]
assert bad["min"] == x.min().item() and bad["max"] == x.max().item()
assert abs(bad["std"] - x.std().item()) <= 1e-12 * x.std().item()
PYEOF
    expect 0 "stats KEY without NaN" -- "$CKPT" stats "$WORK/nan.pt" ok
    expect 2 "stats missing key" -- "$CKPT" stats "$WORK/nan.pt" nope
    # a float16 conversion that overflows is caught by the health check
    expect 0 "convert to float16" -- "$CKPT" convert "$WORK/inf16.pt" "$WORK/inf16h.pt" --to zip --dtype float16
    expect 1 "stats finds the float16 overflow" -- "$CKPT" stats "$WORK/inf16h.pt"
}

t_diff() {
    need_torch
    common_errors diff "$FIX/checkpoint.pt"
    expect 0 "diff identical" -- "$CKPT" diff "$FIX/checkpoint.pt" "$FIX/checkpoint.pt"
    has "identical"
    expect 0 "diff with its legacy copy" -- "$CKPT" convert "$FIX/checkpoint.pt" "$WORK/legacy.pt" --to legacy
    expect 0 "diff zip vs legacy" -- "$CKPT" diff "$FIX/checkpoint.pt" "$WORK/legacy.pt"
    expect 0 "diff --json identical" -- "$CKPT" diff "$FIX/checkpoint.pt" "$FIX/checkpoint.pt" --json
    json_ok "diff identical"
    $PY - "$FIX/checkpoint.pt" "$WORK/b.pt" <<'PYEOF'
import sys, torch
c = torch.load(sys.argv[1])
c["epoch"] = 8
c["rng"]["note"] = "eval"
del c["best_acc"]
c["extra"] = torch.zeros(2)
w = c["model"]["0.weight"].clone()
w[0, 0] += 0.5
w[1, 1] = float("nan")
c["model"]["0.weight"] = w
c["model"]["0.bias"] = c["model"]["0.bias"].double()
c["model"]["3.bias"] = c["model"]["3.bias"].view(2, 1)
c["model"]["1.weight"] = c["model"]["1.weight"] + 1e-7
torch.save(c, sys.argv[2])
PYEOF
    expect 1 "diff differs" -- "$CKPT" diff "$FIX/checkpoint.pt" "$WORK/b.pt"
    has "only-a  best_acc"
    has "only-b  extra"
    has "value   epoch: 7 vs 8"
    has "value   rng.note: 'train' vs 'eval'"
    has "dtype   model.0.bias: float32 vs float64"
    has "shape   model.3.bias: [2] vs [2, 1]"
    has "tensor  model.0.weight: 2 of 12 elements differ, max abs 0.5"
    has "1 NaN vs number"
    has "tensor  model.1.weight"
    expect 1 "diff --tol still differs" -- "$CKPT" diff "$FIX/checkpoint.pt" "$WORK/b.pt" --tol 1e-6
    checks=$((checks + 1))
    grep -q "model.1.weight" "$WORK/out" && fail "--tol 1e-6 should accept a 1e-7 change"
    expect 1 "diff --json" -- "$CKPT" diff "$FIX/checkpoint.pt" "$WORK/b.pt" --json
    json_ok "diff differs"
    py "$WORK/out" "$FIX/checkpoint.pt" "$WORK/b.pt" <<'PYEOF'
import json, sys, torch
r = json.load(open(sys.argv[1]))
a, b = torch.load(sys.argv[2]), torch.load(sys.argv[3])
assert r["identical"] is False
assert r["only_in_a"] == ["best_acc"] and r["only_in_b"] == ["extra"], r
t = {x["key"]: x for x in r["tensors"]}
x, y = a["model"]["0.weight"].double(), b["model"]["0.weight"].double()
ok = ~(x.isnan() | y.isnan())
d = (x - y).abs()[ok]
rel = d / torch.maximum(x.abs(), y.abs())[ok]
assert t["model.0.weight"]["differing"] == 2 and t["model.0.weight"]["nan_mismatch"] == 1
assert abs(t["model.0.weight"]["max_abs"] - d.max().item()) < 1e-15
assert abs(t["model.0.weight"]["max_rel"] - rel.max().item()) < 1e-15
assert t["model.3.weight"]["equal"] is True
PYEOF
    # NaN at the same place on both sides counts as equal
    $PY - "$WORK/n1.pt" "$WORK/n2.pt" <<'PYEOF'
import sys, torch
x = torch.tensor([1.0, float("nan"), 0.0])
torch.save({"x": x}, sys.argv[1])
y = x.clone(); y[1] = -float("nan")
torch.save({"x": y}, sys.argv[2])
PYEOF
    expect 0 "diff NaN vs NaN" -- "$CKPT" diff "$WORK/n1.pt" "$WORK/n2.pt"
    expect 2 "diff bad --tol" -- "$CKPT" diff "$WORK/n1.pt" "$WORK/n2.pt" --tol -1
    expect 2 "diff missing B" -- "$CKPT" diff "$WORK/n1.pt" "$WORK/nope.pt"
    expect 2 "diff three files" -- "$CKPT" diff "$WORK/n1.pt" "$WORK/n2.pt" "$WORK/n2.pt"
}

t_rename() {
    need_torch
    common_errors rename "$WORK/out.pt" --add-prefix x.
    $PY - "$WORK/ddp.pt" <<'PYEOF'
import sys, torch, torch.nn as nn
torch.manual_seed(0)
m = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
ddp_like = nn.Module(); ddp_like.module = m
torch.save({"model": ddp_like.state_dict(), "epoch": 3}, sys.argv[1])
PYEOF
    expect 0 "rename --strip-prefix --key" -- "$CKPT" rename "$WORK/ddp.pt" "$WORK/stripped.pt" --key model --strip-prefix module.
    py "$WORK/ddp.pt" "$WORK/stripped.pt" <<'PYEOF'
import sys, torch
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present
want = torch.load(sys.argv[1])
consume_prefix_in_state_dict_if_present(want["model"], "module.")
# torch 1.13 tests `"_metadata" in state_dict` (a key, never there) and so leaves _metadata
# alone; later torch renames it: 'module' -> '', 'module.x' -> 'x'.  Apply that fix here.
meta = want["model"]._metadata
for key in list(meta.keys()):
    if key and (key == "module" or key.startswith("module.")):
        meta[key[len("module."):]] = meta.pop(key)
got = torch.load(sys.argv[2])
assert type(got["model"]) is type(want["model"])
assert sorted(got["model"].keys()) == sorted(want["model"].keys())
assert got["model"]._metadata == want["model"]._metadata, (got["model"]._metadata, want["model"]._metadata)
for k in want["model"]:
    assert torch.equal(got["model"][k], want["model"][k]), k
assert got["epoch"] == 3
orig = torch.load(sys.argv[1])["model"]
assert list(got["model"].keys()) == [k[len("module."):] for k in orig.keys()], "order kept"
PYEOF
    expect 0 "rename --add-prefix back" -- "$CKPT" rename "$WORK/stripped.pt" "$WORK/back.pt" --key model --add-prefix module.
    expect 0 "rename round trip is identical" -- "$CKPT" diff "$WORK/ddp.pt" "$WORK/back.pt"
    py "$WORK/ddp.pt" "$WORK/back.pt" <<'PYEOF'
import sys, torch
a, b = torch.load(sys.argv[1])["model"], torch.load(sys.argv[2])["model"]
# DDP's own '' entry was replaced by the module's on the way (as in torch); the rest returns
want = [(k, v) for k, v in a._metadata.items() if k]
assert list(b._metadata.items()) == want, (a._metadata, b._metadata)
PYEOF
    expect 0 "rename --map with back-references" -- "$CKPT" rename "$FIX/seq_bn_state_dict.pt" "$WORK/mapped.pt" --map '^([0-9]+)\.(weight|bias)$=layer\1.\2' --layout 1.13
    py "$FIX/seq_bn_state_dict.pt" "$WORK/mapped.pt" <<'PYEOF'
import re, sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
want = [re.sub(r"^([0-9]+)\.(weight|bias)$", r"layer\1.\2", k) for k in a]
assert list(b.keys()) == want, list(b.keys())
for k, k2 in zip(a, want):
    assert torch.equal(a[k], b[k2])
assert isinstance(b, type(a))
PYEOF
    expect 0 "rename --dry-run" -- "$CKPT" rename "$FIX/seq_bn_state_dict.pt" --dry-run --map '^([0-9]+)\.=L\1_'
    has "0.weight -> L0_weight"
    expect 2 "rename collision" -- "$CKPT" rename "$FIX/seq_bn_state_dict.pt" "$WORK/coll.pt" --map '^[0-9]+\.=x.'
    err_has "would both become"
    checks=$((checks + 1))
    [ -e "$WORK/coll.pt" ] && fail "a refused rename must not write OUT"
    expect 2 "rename bad regex" -- "$CKPT" rename "$FIX/seq_bn_state_dict.pt" "$WORK/x.pt" --map '(=x'
    err_has "bad regular expression"
    expect 2 "rename --map without =" -- "$CKPT" rename "$FIX/seq_bn_state_dict.pt" "$WORK/x.pt" --map abc
    expect 2 "rename no operation" -- "$CKPT" rename "$FIX/seq_bn_state_dict.pt" "$WORK/x.pt"
    expect 2 "rename missing --key" -- "$CKPT" rename "$FIX/checkpoint.pt" "$WORK/x.pt" --key nope --add-prefix a.
    expect 2 "rename --key not a dict" -- "$CKPT" rename "$FIX/checkpoint.pt" "$WORK/x.pt" --key epoch --add-prefix a.
    expect 2 "rename bad layout" -- "$CKPT" rename "$FIX/checkpoint.pt" "$WORK/x.pt" --add-prefix a. --layout 3
}

t_convert() {
    need_torch
    common_errors convert "$WORK/out.pt" --to zip
    for f in checkpoint views_shared dtype_float16 dtype_bfloat16 dtype_float32 dtype_float64 \
             dtype_int64 dtype_complex64 dtype_bool scalar_0dim empty proto4; do
        for dt in bfloat16 float16 float32 float64; do
            expect 0 "convert $f to $dt" -- "$CKPT" convert "$FIX/$f.pt" "$WORK/c_${f}_$dt.pt" --to zip --dtype $dt
        done
        expect 0 "convert $f to legacy" -- "$CKPT" convert "$FIX/$f.pt" "$WORK/c_${f}_legacy.pt" --to legacy --dtype bfloat16
    done
    py "$FIX" "$WORK" <<'PYEOF'
import sys, torch
fix, work = sys.argv[1], sys.argv[2]
FLOAT = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
def walk(o, key, out):
    if torch.is_tensor(o):
        out.append((key, o)); return
    items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, (list, tuple)) else []
    for k, v in items:
        walk(v, key + "." + str(k), out)
def bits(t):
    return t.view({2: torch.int16, 4: torch.int32, 8: torch.int64, 1: torch.int8,
                   16: torch.int64}[t.element_size()]) if t.element_size() != 16 else torch.view_as_real(t)
for f in ["checkpoint", "views_shared", "dtype_float16", "dtype_bfloat16", "dtype_float32",
          "dtype_float64", "dtype_int64", "dtype_complex64", "dtype_bool", "scalar_0dim", "empty",
          "proto4"]:
    src = torch.load("%s/%s.pt" % (fix, f))
    for dt, name in [(torch.bfloat16, "bfloat16"), (torch.float16, "float16"),
                     (torch.float32, "float32"), (torch.float64, "float64"), (torch.bfloat16, "legacy")]:
        out = torch.load("%s/c_%s_%s.pt" % (work, f, name))
        a, b = [], []
        walk(src, "", a); walk(out, "", b)
        assert [k for k, _ in a] == [k for k, _ in b], (f, name)
        for (k, x), (_, y) in zip(a, b):
            want = x.to(dt) if x.dtype in FLOAT else x
            assert y.dtype == want.dtype and y.shape == want.shape and y.stride() == x.stride(), (f, name, k)
            assert y.requires_grad == x.requires_grad and type(y) is type(x), (f, name, k)
            if want.dtype == torch.bool:
                assert torch.equal(y, want)
            else:
                assert torch.equal(bits(y.contiguous()), bits(want.contiguous())), (f, name, k)
        # views and sharing preserved
        if f == "views_shared":
            p = out["base"].storage().data_ptr()
            for k in ("t", "step", "narrow", "offset", "expand", "same"):
                assert out[k].storage().data_ptr() == p, k
            assert out["same"] is out["base"]
            assert out["nested"]["list"][0].storage().data_ptr() == p
PYEOF
    # special values: NaN, infinities, subnormals, ties, overflow, bit-exact with .to()
    $PY - "$WORK/special.pt" <<'PYEOF'
import sys, torch
v = [0.0, -0.0, 1.0, float("inf"), -float("inf"), float("nan"), 65504.0, 65520.0, 1e6, -1e6,
     1e-8, 6e-8, 1e-40, 1.00390625, 1.01171875, 3.4e38, 0.1, -2.5]
g = torch.Generator().manual_seed(7)
r = torch.randn(1000, generator=g, dtype=torch.float64) * 1000
torch.save({"f32": torch.tensor(v, dtype=torch.float32), "f64": torch.tensor(v, dtype=torch.float64),
            "r64": r, "r32": r.float(), "h": torch.tensor(v).half(), "b": torch.tensor(v).bfloat16()},
           sys.argv[1])
PYEOF
    for dt in bfloat16 float16 float32 float64; do
        expect 0 "convert special to $dt" -- "$CKPT" convert "$WORK/special.pt" "$WORK/special_$dt.pt" --to zip --dtype $dt
    done
    py "$WORK" <<'PYEOF'
import sys, torch
work = sys.argv[1]
src = torch.load(work + "/special.pt")
IB = {torch.float16: torch.int16, torch.bfloat16: torch.int16, torch.float32: torch.int32,
      torch.float64: torch.int64}
for name, dt in [("bfloat16", torch.bfloat16), ("float16", torch.float16),
                 ("float32", torch.float32), ("float64", torch.float64)]:
    out = torch.load("%s/special_%s.pt" % (work, name))
    for k, x in src.items():
        want = x.to(dt)
        assert torch.equal(out[k].view(IB[dt]), want.view(IB[dt])), (name, k, out[k], want)
PYEOF
    expect 0 "convert without --dtype" -- "$CKPT" convert "$FIX/checkpoint.pt" "$WORK/plain.pt" --to zip --layout 2.1
    expect 0 "convert keeps values" -- "$CKPT" diff "$FIX/checkpoint.pt" "$WORK/plain.pt"
    # without --to, OUT's extension names the format (.pt: zip); an unknown one is an error
    expect 0 "convert without --to, .pt" -- "$CKPT" convert "$FIX/checkpoint.pt" "$WORK/x.pt"
    expect 0 "convert .pt is zip" -- "$CKPT" verify "$WORK/x.pt"
    has ": ok: torch-zip"
    expect 2 "convert without --to, unknown extension" -- "$CKPT" convert "$FIX/checkpoint.pt" "$WORK/x.weights"
    err_has "give --to"
    expect 2 "convert bad --to" -- "$CKPT" convert "$FIX/checkpoint.pt" "$WORK/x.pt" --to tar
    expect 2 "convert bad --dtype" -- "$CKPT" convert "$FIX/checkpoint.pt" "$WORK/x.pt" --to zip --dtype int8
    expect 2 "convert legacy --layout" -- "$CKPT" convert "$FIX/checkpoint.pt" "$WORK/x.pt" --to legacy --layout 2.1
    expect 2 "convert into a missing folder" -- "$CKPT" convert "$FIX/checkpoint.pt" "$WORK/no/such/dir/x.pt" --to zip
}

t_extract() {
    need_torch
    common_errors extract model "$WORK/out.pt"
    expect 0 "extract model" -- "$CKPT" extract "$FIX/checkpoint.pt" model "$WORK/model.pt"
    expect 0 "extracted model equals the state dict fixture" -- "$CKPT" diff "$WORK/model.pt" "$FIX/seq_bn_state_dict.pt"
    expect 0 "extract a tensor (greedy key)" -- "$CKPT" extract "$FIX/checkpoint.pt" model.1.running_mean "$WORK/rm.pt"
    expect 0 "extract an optimizer state (int key)" -- "$CKPT" extract "$FIX/checkpoint.pt" optimizer.state.4 "$WORK/s4.pt" --layout legacy
    expect 0 "extract a view (list index)" -- "$CKPT" extract "$FIX/views_shared.pt" nested.list.1 "$WORK/view.pt"
    expect 0 "extract param_groups" -- "$CKPT" extract "$FIX/checkpoint.pt" optimizer.param_groups "$WORK/pg.pt"
    py "$FIX" "$WORK" <<'PYEOF'
import sys, torch
fix, work = sys.argv[1], sys.argv[2]
c = torch.load(fix + "/checkpoint.pt")
m = torch.load(work + "/model.pt")
assert type(m) is type(c["model"]) and list(m) == list(c["model"])
assert m._metadata == c["model"]._metadata
for k in m:
    assert torch.equal(m[k], c["model"][k]), k
assert torch.equal(torch.load(work + "/rm.pt"), c["model"]["1.running_mean"])
s4 = torch.load(work + "/s4.pt")
assert list(s4) == list(c["optimizer"]["state"][4])
for k in s4:
    assert torch.equal(s4[k], c["optimizer"]["state"][4][k])
v = torch.load(work + "/view.pt")
src = torch.load(fix + "/views_shared.pt")["nested"]["list"][1]
assert torch.equal(v, src) and v.stride() == src.stride() and v.storage_offset() == src.storage_offset()
assert torch.load(work + "/pg.pt") == c["optimizer"]["param_groups"]
PYEOF
    expect 2 "extract missing key" -- "$CKPT" extract "$FIX/checkpoint.pt" model.9.weight "$WORK/x.pt"
    err_has "no key"
    checks=$((checks + 1))
    [ -e "$WORK/x.pt" ] && fail "a failed extract must not write OUT"
    expect 2 "extract too few arguments" -- "$CKPT" extract "$FIX/checkpoint.pt" model
    expect 2 "extract bad layout" -- "$CKPT" extract "$FIX/checkpoint.pt" model "$WORK/x.pt" --layout 9
}

# verify: every format ckpt reads is named and checked; the scanner decides 0/1
t_verify() {
    common_errors verify
    need_torch
    expect 0 "verify torch zip" -- "$CKPT" verify "$FIX/checkpoint.pt"
    has ": ok: torch-zip"
    has "every CRC-32 matches"
    has "scan: clean"
    expect 1 "verify legacy whole-module pickle" -- "$CKPT" verify "$ROOT/tests/fixtures/legacy/stream_module.pt"
    has "torch.nn.modules.linear.Linear"
    for f in "$ROOT"/tests/fixtures/legacy/stream_[!m]*.pt; do
        expect 0 "verify legacy $(basename "$f")" -- "$CKPT" verify "$f"
        has ": ok: torch-legacy"
        has "every storage record read and sized as declared"
    done
    expect 0 "verify torch tar" -- "$CKPT" verify "$ROOT/tests/fixtures/legacy/tar_basic.pt"
    has ": ok: torch-tar"
    # the numbers verify prints are torch's: storages and tensors of the legacy file
    expect 0 "verify legacy --json" -- "$CKPT" verify "$ROOT/tests/fixtures/legacy/stream_views.pt" --json
    json_ok "verify --json"
    py "$WORK/out" "$ROOT/tests/fixtures/legacy/stream_views.pt" <<'PYEOF'
import json, sys, torch
r = json.load(open(sys.argv[1]))
assert r["format"] == "torch-legacy" and r["verdict"] == "ok" and r["structure"] == "ok", r
obj = torch.load(sys.argv[2])
ts = []
def walk(o):
    if isinstance(o, torch.Tensor): ts.append(o)
    elif isinstance(o, dict): [walk(v) for v in o.values()]
    elif isinstance(o, (list, tuple)): [walk(v) for v in o]
walk(obj)
assert r["tensors"] == len(ts), (r["tensors"], len(ts))
# storages: every storage id the object pickle names (a legacy view storage,
# ('storage', cls, root, loc, n, (view, offset, size)), counts as its own)
import pickle
ids = set()
class U(pickle.Unpickler):
    def persistent_load(self, pid):
        ids.add(pid[2] if pid[5] is None else pid[5][0])
        return None
    def find_class(self, module, name):
        class Any(dict):
            def __init__(self, *a, **k):
                pass
            def __setstate__(self, state):
                pass
        return Any
f = open(sys.argv[2], "rb")
for _ in range(4):
    U(f).load()
assert r["storages"] == len(ids), (r, ids)
assert r["scan"]["verdict"] == "clean" and r["scan"]["findings"] == [], r
PYEOF
    # a legacy file cut short: a storage record is missing its bytes
    head -c -40 "$ROOT/tests/fixtures/legacy/stream_views.pt" >"$WORK/legacy_cut.pt"
    expect 2 "verify truncated legacy" -- "$CKPT" verify "$WORK/legacy_cut.pt"
    has ": corrupt: torch-legacy"
    # a flipped byte inside a storage record: only the CRC notices
    $PY - "$FIX/checkpoint.pt" "$WORK/crc.pt" <<'PYEOF'
import struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); i = [x for x in z.infolist() if "/data/" in x.filename][0]
b = bytearray(open(sys.argv[1], "rb").read())
n, m = struct.unpack_from("<HH", b, i.header_offset + 26)  # the local header's own lengths
b[i.header_offset + 30 + n + m + 1] ^= 0xff
open(sys.argv[2], "wb").write(b)
PYEOF
    expect 2 "verify CRC mismatch" -- "$CKPT" verify "$WORK/crc.pt"
    has "CRC-32 mismatch"
    # sound structure, unsafe pickle: exit 1, and --json says so
    expect 1 "verify unsafe zip" -- "$CKPT" verify "$ROOT/tests/hostile/reduce_os_system.pt"
    has ": unsafe: "
    has "os.system"
    expect 1 "verify unsafe --json" -- "$CKPT" verify "$ROOT/tests/hostile/reduce_os_system.pt" --json
    json_ok "verify unsafe --json"
    py "$WORK/out" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["verdict"] == "unsafe" and r["scan"]["verdict"] == "unsafe", r
assert any(f["global"] in ("os.system", "posix.system") for f in r["scan"]["findings"]), r
PYEOF
    expect 1 "verify unsafe legacy" -- "$CKPT" verify "$ROOT/tests/hostile/legacy_malicious_sys_info.pt"
    # plain tar from Python's tarfile: members checked; cut inside a member: corrupt
    $PY - "$WORK" <<'PYEOF'
import io, json, struct, sys, tarfile, torch
w = sys.argv[1]
with tarfile.open(w + "/plain.tar", "w") as t:
    for name, data in (("a.txt", b"hello" * 100), ("b.bin", bytes(1500))):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
b = open(w + "/plain.tar", "rb").read()
open(w + "/plain_cut.tar", "wb").write(b[:512 + 200])
# safetensors, written as the format's specification gives it (no library here):
# u64 header length, JSON header, data tiled by data_offsets
def st(path, tensors, fix=None):
    hdr, data = {}, b""
    for k, t in tensors.items():
        raw = t.numpy().tobytes()
        hdr[k] = {"dtype": {torch.float32: "F32", torch.int64: "I64"}[t.dtype],
                  "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if fix: fix(hdr)
    h = json.dumps(hdr).encode()
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
ts = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.arange(4)}
st(w + "/ok.safetensors", ts)
st(w + "/gap.safetensors", ts, lambda h: h["n"].__setitem__("data_offsets", [28, 60]))
st(w + "/short.safetensors", ts, lambda h: h["w"].__setitem__("shape", [3, 3]))
# ONNX from torch's own exporter
torch.onnx.export(torch.nn.Linear(3, 2), torch.zeros(1, 3), w + "/lin.onnx")
import numpy
numpy.savez(w + "/arrays.npz", a=numpy.arange(3), b=numpy.ones((2, 2)))
numpy.save(w + "/one.npy", numpy.arange(12, dtype=numpy.float32).reshape(3, 4))
open(w + "/one_cut.npy", "wb").write(open(w + "/one.npy", "rb").read()[:-5])
numpy.save(w + "/obj.npy", numpy.array([{"a": 1}], dtype=object), allow_pickle=True)
PYEOF
    expect 0 "verify plain tar" -- "$CKPT" verify "$WORK/plain.tar"
    has ": ok: tar"
    has "2 tar members"
    expect 2 "verify truncated tar" -- "$CKPT" verify "$WORK/plain_cut.tar"
    has "structure: corrupt"
    expect 0 "verify safetensors" -- "$CKPT" verify "$WORK/ok.safetensors"
    has ": ok: safetensors"
    has "2 tensors (56 bytes)"
    expect 2 "verify safetensors gap" -- "$CKPT" verify "$WORK/gap.safetensors"
    has "gap"
    expect 2 "verify safetensors wrong size" -- "$CKPT" verify "$WORK/short.safetensors"
    has "need 36"
    expect 0 "verify onnx" -- "$CKPT" verify "$WORK/lin.onnx"
    has ": ok: onnx"
    has "producer 'pytorch'"
    # TorchScript lite: named, its constants' tensors counted, unsafe (torch.load runs code)
    expect 1 "verify lite archive" -- "$CKPT" verify "$ROOT/tests/fixtures/torchscript/lite_frozen.ptl" --json
    json_ok "verify lite --json"
    py "$WORK/out" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["format"] == "torchscript-lite" and r["structure"] == "ok" and r["verdict"] == "unsafe", r
assert r["scan"]["format"] == "TorchScript lite archive", r
PYEOF
    expect 0 "scan names npz" -- "$CKPT" scan "$WORK/arrays.npz"
    has "NumPy npz"
    expect 0 "verify npz" -- "$CKPT" verify "$WORK/arrays.npz"
    has ": ok: npz"
    has "2 tensors in 2 storages (56 tensor bytes)"
    expect 0 "verify npy" -- "$CKPT" verify "$WORK/one.npy"
    has ": ok: npy"
    has "1 tensors in 1 storages (48 tensor bytes)"
    expect 2 "verify truncated npy" -- "$CKPT" verify "$WORK/one_cut.npy"
    has "structure: corrupt"
    expect 2 "scan truncated npy: never clean" -- "$CKPT" scan "$WORK/one_cut.npy"
    has "unreadable"
    expect 1 "verify object npy: unsafe" -- "$CKPT" verify "$WORK/obj.npy"
    has ": unsafe: npy"
    expect 0 "scan names ONNX" -- "$CKPT" scan "$WORK/lin.onnx"
    has "ONNX model"
    expect 0 "ls lists an ONNX model's initializers" -- "$CKPT" ls "$WORK/lin.onnx"
    has "weight"
    # ONNX external data: raw bytes, named only through an .onnx beside it that names the
    # file in a StringStringEntryProto value (torch's exported model + one such entry)
    mkdir -p "$WORK/ext" "$WORK/noext"
    $PY - "$WORK" <<'PYEOF'
import os, sys
w = sys.argv[1]
m = open(w + "/lin.onnx", "rb").read()
entry = b"\x0a\x08location\x12\x0bweights.bin"
open(w + "/ext/model.onnx", "wb").write(m + b"\x72" + bytes([len(entry)]) + entry)
raw = bytes(range(7, 207)) * 5
open(w + "/ext/weights.bin", "wb").write(raw)
open(w + "/noext/weights.bin", "wb").write(raw)
PYEOF
    expect 0 "verify ONNX with a metadata entry" -- "$CKPT" verify "$WORK/ext/model.onnx"
    expect 2 "ls names ONNX external data" -- "$CKPT" ls "$WORK/ext/weights.bin"
    err_has "ONNX external data"
    err_has "model.onnx"
    expect 2 "verify ONNX external data: not verifiable" -- "$CKPT" verify "$WORK/ext/weights.bin"
    has ": unverified: onnx-external-data"
    expect 2 "the same bytes alone are unknown" -- "$CKPT" ls "$WORK/noext/weights.bin"
    err_has "not a format ckpt knows"
    expect 2 "verify garbage" -- "$CKPT" verify "$ROOT/tests/cli/cli_test.sh"
    has ": corrupt: text"
    # the real files (CI has ../shared): every one named, none called corrupt when sound
    local real="$ROOT/../shared/fixtures/real"
    if [ -d "$real" ]; then
        for f in "$real"/torch_legacy/* "$real"/safetensors/* "$real"/onnx/*.onnx; do
            expect 0 "verify real $(basename "$f")" -- "$CKPT" verify "$f"
        done
        for f in "$real"/torchscript/* "$real"/torchscript_lite/*; do
            expect 1 "verify real TorchScript $(basename "$f")" -- "$CKPT" verify "$f"
        done
    else
        echo "note: ../shared/fixtures/real absent: real-file checks of verify not run"
    fi
}

cd "$ROOT" || exit 2
case "$WHAT" in
show | stats | diff | rename | convert | extract | verify) "t_$WHAT" ;;
*)
    echo "unknown section $WHAT" >&2
    exit 2
    ;;
esac
echo "cli_$WHAT: $checks checks, $fails failed"
[ "$fails" = 0 ]
