#!/usr/bin/env bash
# tests/cli/onnx_cli_test.sh - the ckpt subcommands on ONNX models (run by CTest through
# tests/cli/cli.cmake, one test per section).
#
#   tests/cli/onnx_cli_test.sh CKPT_BINARY SOURCE_ROOT WORKDIR SECTION
#
# SECTION: inspect (ls, show, verify, scan over made models and the real corpus),
# run (ckpt run against numpy's arithmetic), weights (convert / diff against torch 1.13).
# Models are made here with python3-onnx's helpers and torch.onnx.export; expected values
# come from numpy (onnx.numpy_helper) and torch, never typed in.
set -u

CKPT=${1:?ckpt binary}
ROOT=${2:?source root}
WORK=${3:?work dir}
WHAT=${4:?section}
PY=/usr/bin/python3
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
# a Python expression over the last command's JSON output (bound to d) must hold
jhas() {
    checks=$((checks + 1))
    $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
        "$WORK/out" "$1" || { fail "JSON check failed: $1"; head -c 600 "$WORK/out" | sed 's/^/  | /' >&2; }
}
py() {
    checks=$((checks + 1))
    $PY - "$@" || fail "python check failed (see above)"
}

$PY -c 'import onnx, numpy' 2>/dev/null || {
    echo "python3-onnx is missing: apt-get install python3-onnx" >&2
    exit 1
}

# ---------------------------------------------------------------- models
make_models() {
    $PY - "$WORK" <<'EOF' || exit 1
import sys, os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
w = sys.argv[1]
rng = np.random.default_rng(7)
def vi(n, shape, et=TensorProto.FLOAT):
    return helper.make_tensor_value_info(n, et, shape)
def save(m, name):
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(w, name))
inits = [numpy_helper.from_array(rng.standard_normal((4, 8)).astype(np.float32), "fc1.w"),
         numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "fc1.b"),
         numpy_helper.from_array(rng.standard_normal((8, 3)).astype(np.float32), "fc2.w"),
         numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), "fc2.b")]
nodes = [helper.make_node("MatMul", ["x", "fc1.w"], ["h0"], name="mm1"),
         helper.make_node("Add", ["h0", "fc1.b"], ["h1"], name="add1"),
         helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
         helper.make_node("MatMul", ["h2", "fc2.w"], ["h3"], name="mm2"),
         helper.make_node("Add", ["h3", "fc2.b"], ["y"], name="add2")]
g = helper.make_graph(nodes, "mlp", [vi("x", ["batch", 4])], [vi("y", ["batch", 3])], inits)
save(helper.make_model(g, producer_name="onnx_cli_test", producer_version="1.0",
                       opset_imports=[helper.make_opsetid("", 13)]), "mlp.onnx")
# two outputs, one an intermediate; an int64 input passed through Identity
g = helper.make_graph(nodes + [helper.make_node("Identity", ["k"], ["k_out"], name="id")], "mlp2",
                      [vi("x", [2, 4]), vi("k", [3], TensorProto.INT64)],
                      [vi("y", [2, 3]), vi("h2", [2, 8]), vi("k_out", [3], TensorProto.INT64)],
                      inits)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "mlp2.onnx")
# Gemm with transB=0 (B stored (in, out)) and transB=1 (B stored (out, in))
gi = [numpy_helper.from_array(rng.standard_normal((4, 5)).astype(np.float32), "g0.B"),
      numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "g0.C"),
      numpy_helper.from_array(rng.standard_normal((2, 5)).astype(np.float32), "g1.B"),
      numpy_helper.from_array(np.arange(6, dtype=np.int64).reshape(2, 3), "steps"),
      numpy_helper.from_array(rng.standard_normal((2, 2)).astype(np.float16), "half")]
g = helper.make_graph([helper.make_node("Gemm", ["x", "g0.B", "g0.C"], ["t"], name="gemm0"),
                       helper.make_node("Gemm", ["t", "g1.B"], ["y"], name="gemm1", transB=1)],
                      "gemms", [vi("x", [1, 4])], [vi("y", [1, 2])], gi)
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "gemm.onnx")
# an op no kernel runs, and a custom-domain op
g = helper.make_graph([helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")], "u",
                      [vi("x", [2])], [vi("y", [2])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, os.path.join(w, "unknown_op.onnx"))
g = helper.make_graph([helper.make_node("Leak", ["x"], ["y"], name="leaker", domain="com.acme")],
                      "c", [vi("x", [2])], [vi("y", [2])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                        helper.make_opsetid("com.acme", 1)])
m.ir_version = 8
onnx.save(m, os.path.join(w, "custom.onnx"))
data = open(os.path.join(w, "mlp.onnx"), "rb").read()
open(os.path.join(w, "truncated.onnx"), "wb").write(data[: len(data) - 40])
np.save(os.path.join(w, "x.npy"), rng.standard_normal((5, 4)).astype(np.float32))
np.save(os.path.join(w, "x64.npy"), rng.standard_normal((5, 4)))
np.save(os.path.join(w, "xi.npy"), np.arange(20, dtype=np.int32).reshape(5, 4))
EOF
}

# ---------------------------------------------------------------- inspect
t_inspect() {
    make_models
    local M="$WORK/mlp.onnx"
    expect 0 "ls mlp" -- "$CKPT" ls "$M"
    has "fc1.w"
    has "# 4 tensors"
    expect 0 "ls --json" -- "$CKPT" ls "$M" --json
    json_ok "ls --json"
    cp "$WORK/out" "$WORK/ls.json"
    py "$M" "$WORK/ls.json" <<'EOF'
import sys, json, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
got = json.load(open(sys.argv[2]))
want = [(t.name, str(numpy_helper.to_array(t).dtype), list(t.dims)) for t in m.graph.initializer]
have = [(r["key"], r["dtype"], r["shape"]) for r in got]
assert have == want, (have, want)
EOF
    expect 0 "show mlp" -- "$CKPT" show "$M"
    has "IR version 8"
    has "producer: onnx_cli_test 1.0"
    has "ai.onnx 13"
    has "float32 [batch, 4]"
    has "2  MatMul"
    expect 0 "show --json" -- "$CKPT" show "$M" --json
    json_ok "show --json"
    cp "$WORK/out" "$WORK/show.json"
    py "$M" "$WORK/show.json" <<'EOF'
import sys, json, collections, onnx
m = onnx.load(sys.argv[1])
s = json.load(open(sys.argv[2]))
assert s["ir_version"] == m.ir_version and s["producer_name"] == m.producer_name
assert [(o["domain"], o["version"]) for o in s["opset_import"]] == \
    [(o.domain, o.version) for o in m.opset_import]
def dims(v):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value
            for d in v.type.tensor_type.shape.dim]
assert [(i["name"], i["shape"]) for i in s["inputs"]] == [(i.name, dims(i)) for i in m.graph.input]
assert [(o["name"], o["shape"]) for o in s["outputs"]] == [(o.name, dims(o)) for o in m.graph.output]
assert s["ops"] == dict(collections.Counter(n.op_type for n in m.graph.node)), s["ops"]
assert s["initializers"] == len(m.graph.initializer)
EOF
    expect 0 "show KEY on onnx" -- "$CKPT" show "$M" fc1.b
    has "float32"
    expect 2 "show missing onnx" -- "$CKPT" show "$WORK/none.onnx"
    expect 0 "stats on onnx" -- "$CKPT" stats "$M"
    has "fc2.w"

    expect 0 "verify mlp" -- "$CKPT" verify "$M"
    has ": ok: onnx"
    has "5 nodes"
    expect 0 "verify --json" -- "$CKPT" verify "$M" --json
    json_ok "verify --json"
    jhas 'd["verdict"] == "ok" and d["structure"] == "ok" and d["unsupported_ops"] == []'
    expect 0 "verify unknown op: a warning, not a failure" -- "$CKPT" verify "$WORK/unknown_op.onnx"
    has "warning: no kernel for NoSuchOp (domain ai.onnx, opset 13): 1 node, e.g. 'mystery'"
    expect 2 "verify truncated" -- "$CKPT" verify "$WORK/truncated.onnx"
    has "corrupt"
    expect 1 "verify custom domain: a scan finding" -- "$CKPT" verify "$WORK/custom.onnx"
    has "com.acme.Leak"

    expect 0 "scan mlp clean" -- "$CKPT" scan "$M"
    has "clean"
    expect 1 "scan custom domain" -- "$CKPT" scan "$WORK/custom.onnx" --json
    json_ok "scan --json"
    jhas '[(f["module"], f["name"], f["class"]) for f in d[0]["findings"]] == [("com.acme", "Leak", "unknown")]'
    expect 1 "scan escaping external data" -- "$CKPT" scan "$ROOT/tests/hostile/onnx/ext_dotdot.onnx"
    has "external_data"

    # every real model: recognised, parsed, shown, listed
    local real="$ROOT/../shared/fixtures/real/onnx" n=0
    if [ -d "$real" ]; then
        for f in "$real"/*.onnx; do
            n=$((n + 1))
            expect 0 "verify $(basename "$f")" -- "$CKPT" verify "$f"
            expect 0 "show $(basename "$f")" -- "$CKPT" show "$f" --json
            json_ok "show $(basename "$f")"
            expect 0 "ls $(basename "$f")" -- "$CKPT" ls "$f"
        done
        [ "$n" -ge 70 ] || fail "only $n real ONNX models"
    else
        echo "note: $real is absent: real models not checked"
    fi
}

# ---------------------------------------------------------------- run
t_run() {
    make_models
    local M="$WORK/mlp.onnx"
    expect 0 "run --help" -- "$CKPT" run --help
    has "usage: ckpt run"
    has "Exit status"
    expect 2 "run without a model" -- "$CKPT" run
    expect 2 "run bad option" -- "$CKPT" run "$M" --no-such-option
    err_has "unknown option"
    expect 2 "run missing model" -- "$CKPT" run "$WORK/none.onnx"
    expect 2 "run truncated model" -- "$CKPT" run "$WORK/truncated.onnx"
    expect 2 "run unknown input name" -- "$CKPT" run "$M" --input nope="$WORK/x.npy"
    err_has "no input 'nope'"
    expect 2 "run int32 for a float input" -- "$CKPT" run "$M" --input x="$WORK/xi.npy"
    err_has "int32"
    expect 2 "run an op without a kernel" -- "$CKPT" run "$WORK/unknown_op.onnx"
    err_has "mystery"
    expect 2 "run --threads 0" -- "$CKPT" run "$M" --threads 0

    rm -rf "$WORK/o1"
    expect 0 "run on x.npy" -- "$CKPT" run "$M" --input x="$WORK/x.npy" --output-dir "$WORK/o1"
    has "float32   [5, 3]"
    py "$M" "$WORK/x.npy" "$WORK/o1/y.npy" <<'EOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
x = np.load(sys.argv[2])
want = np.maximum(x @ w["fc1.w"] + w["fc1.b"], 0) @ w["fc2.w"] + w["fc2.b"]
got = np.load(sys.argv[3])
assert got.dtype == np.float32 and got.shape == want.shape, (got.dtype, got.shape)
assert np.allclose(got, want, rtol=1e-5, atol=1e-5), np.abs(got - want).max()
EOF
    rm -rf "$WORK/o2"
    expect 0 "run float64 input converted" -- "$CKPT" run "$M" --input x="$WORK/x64.npy" --output-dir "$WORK/o2" --threads 2 --repeat 3
    has "3 runs on 2 threads"
    py "$M" "$WORK/x64.npy" "$WORK/o2/y.npy" <<'EOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
x = np.load(sys.argv[2]).astype(np.float32)
want = np.maximum(x @ w["fc1.w"] + w["fc1.b"], 0) @ w["fc2.w"] + w["fc2.b"]
assert np.allclose(np.load(sys.argv[3]), want, rtol=1e-5, atol=1e-5)
EOF
    # TensorProto inputs (.pb) of ONNX's own test data, against its expected output
    local td=/usr/share/libonnx-testdata/data/node/test_add
    if [ -d "$td" ]; then
        rm -rf "$WORK/o4"
        expect 0 "run test_add on its .pb inputs" -- "$CKPT" run "$td/model.onnx" \
            --input x="$td/test_data_set_0/input_0.pb" --input y="$td/test_data_set_0/input_1.pb" \
            --output-dir "$WORK/o4"
        py "$td/test_data_set_0/output_0.pb" "$WORK/o4/sum.npy" <<'EOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
t = onnx.TensorProto()
t.ParseFromString(open(sys.argv[1], "rb").read())
assert np.allclose(np.load(sys.argv[2]), numpy_helper.to_array(t), rtol=1e-6, atol=1e-7)
EOF
    fi
    # random inputs: the seed is printed, the same seed gives the same outputs, dynamic dims = 1
    rm -rf "$WORK/r1" "$WORK/r2"
    expect 0 "run random seed 42" -- "$CKPT" run "$M" --seed 42 --output-dir "$WORK/r1"
    has "random ones with seed 42"
    has "[1, 3]"
    expect 0 "run random seed 42 again" -- "$CKPT" run "$M" --seed 42 --output-dir "$WORK/r2"
    checks=$((checks + 1))
    cmp -s "$WORK/r1/y.npy" "$WORK/r2/y.npy" || fail "same seed, different outputs"
    expect 0 "run random, seed from the clock" -- "$CKPT" run "$M"
    has "random ones with seed"
    # several outputs, an int64 input; --json
    rm -rf "$WORK/o3"
    expect 0 "run two-output model --json" -- "$CKPT" run "$WORK/mlp2.onnx" --seed 3 --json --output-dir "$WORK/o3"
    json_ok "run --json"
    cp "$WORK/out" "$WORK/run.json"
    py "$WORK/mlp2.onnx" "$WORK/run.json" "$WORK/o3" <<'EOF'
import sys, json, os, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
r = json.load(open(sys.argv[2]))
assert r["seed"] == 3 and r["runs"] == 1 and r["timing_ms"]["min"] > 0
assert [o["name"] for o in r["outputs"]] == ["y", "h2", "k_out"]
assert [o["shape"] for o in r["outputs"]] == [[2, 3], [2, 8], [3]]
assert [o["dtype"] for o in r["outputs"]] == ["float32", "float32", "int64"]
w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
h2 = np.load(os.path.join(sys.argv[3], "h2.npy"))
y = np.load(os.path.join(sys.argv[3], "y.npy"))
assert np.allclose(y, h2 @ w["fc2.w"] + w["fc2.b"], rtol=1e-5, atol=1e-5)
k = np.load(os.path.join(sys.argv[3], "k_out.npy"))
assert k.dtype == np.int64 and ((k >= 0) & (k < 4)).all()
EOF
}

# ---------------------------------------------------------------- weights
t_weights() {
    make_models
    $PY -c 'import torch' 2>/dev/null || {
        echo "torch is missing: apt-get install python3-torch" >&2
        exit 1
    }
    expect 0 "convert gemm.onnx" -- "$CKPT" convert "$WORK/gemm.onnx" "$WORK/gemm.pt"
    has "1 Gemm weights transposed"
    py "$WORK/gemm.onnx" "$WORK/gemm.pt" <<'EOF'
import sys, collections, numpy as np, onnx, torch
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
sd = torch.load(sys.argv[2], weights_only=False)
assert isinstance(sd, collections.OrderedDict)
assert list(sd) == [t.name for t in m.graph.initializer], list(sd)
for t in m.graph.initializer:
    a = numpy_helper.to_array(t)
    if t.name == "g0.B":  # Gemm transB=0: (in, out) -> torch's (out, in)
        a = a.T
    b = sd[t.name].numpy()
    assert b.dtype == a.dtype and b.shape == a.shape, (t.name, b.dtype, b.shape)
    assert a.tobytes() == np.ascontiguousarray(b).tobytes(), t.name  # bit for bit
EOF
    # a model exported by torch 1.13 converts back to its state_dict, and diff agrees
    $PY - "$WORK" <<'EOF' || fail "torch.onnx.export failed"
import sys, os, torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4 * 6 * 6, 5)
    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))
torch.manual_seed(0)
m = Net().eval()
w = sys.argv[1]
torch.onnx.export(m, torch.randn(1, 3, 8, 8), os.path.join(w, "net.onnx"), input_names=["x"],
                  output_names=["y"], dynamic_axes={"x": {0: "batch"}})
torch.save(m.state_dict(), os.path.join(w, "net.pt"))
sd = m.state_dict()
sd["fc.bias"] = sd["fc.bias"] + 1
torch.save(sd, os.path.join(w, "net_changed.pt"))
EOF
    expect 0 "convert net.onnx" -- "$CKPT" convert "$WORK/net.onnx" "$WORK/net_back.pt"
    py "$WORK/net.pt" "$WORK/net_back.pt" <<'EOF'
import sys, torch
a = torch.load(sys.argv[1])
b = torch.load(sys.argv[2], weights_only=False)
assert list(a) == list(b), (list(a), list(b))
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
    assert torch.equal(a[k], b[k]), k
EOF
    expect 0 "diff net.onnx net.pt: identical" -- "$CKPT" diff "$WORK/net.onnx" "$WORK/net.pt"
    expect 1 "diff net.onnx net_changed.pt" -- "$CKPT" diff "$WORK/net.onnx" "$WORK/net_changed.pt" --json
    json_ok "diff --json"
    has "fc.bias"
    expect 0 "diff gemm.onnx against its own conversion" -- "$CKPT" diff "$WORK/gemm.onnx" "$WORK/gemm.pt"
    expect 0 "convert to npz" -- "$CKPT" convert "$WORK/gemm.onnx" "$WORK/gemm.npz"
    py "$WORK/gemm.onnx" "$WORK/gemm.npz" <<'EOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
z = np.load(sys.argv[2])
for t in m.graph.initializer:
    a = numpy_helper.to_array(t)
    assert np.array_equal(z[t.name], a.T if t.name == "g0.B" else a), t.name
EOF
    expect 2 "convert a truncated model" -- "$CKPT" convert "$WORK/truncated.onnx" "$WORK/bad.pt"
}

case "$WHAT" in
inspect) t_inspect ;;
run) t_run ;;
weights) t_weights ;;
*)
    echo "unknown section $WHAT" >&2
    exit 2
    ;;
esac
echo "$WHAT: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
