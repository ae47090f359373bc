"""ckpt_onnx_simplify on models exported by torch 1.13 (issue 11, item 6).

Three models are exported by torch.onnx.export: an MLP (dynamic batch),
a CNN with BatchNorm and a 2-layer transformer encoder, all exported with
training=TrainingMode.PRESERVE (so BatchNormalization, Dropout, Identity and
Shape/Gather/Unsqueeze/Concat chains stay in the graph).  Each is simplified
by onnx_tool (ckpt_onnx_simplify); the result must pass
onnx.checker.check_model(full_check=True), have fewer nodes (the MLP: no more), and give the
original's outputs within 1e-5 both in ONNX Runtime and in ckpt's own
session.  Prints the node counts before and after.

Then every model of libonnx-testdata (node, pytorch-converted,
pytorch-operator, simple) is simplified and run by ckpt's conformance runner
on its own test data: every case that passes with the original model must
pass with the simplified one (the simplifier keeps each model's meaning on
~1000 graphs, If/Loop/Scan subgraphs included).

    python3 simplify_check.py build/tests/onnx_tool [build/tests/onnx_conformance]
"""
import re
import shutil
import subprocess
import os
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_check_util as U  # noqa: E402

import numpy as np  # noqa: E402

try:
    import onnx
    import torch
    import torch.nn as nn
except ImportError as e:  # pragma: no cover
    U.need(False, "python3-onnx / torch missing: %s" % e)


def models():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 64),
                        nn.ReLU(), nn.Linear(64, 10)).eval()
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    for bn in (cnn[1], cnn[5]):
        with torch.no_grad():
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    cnn.eval()
    tx = nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1), 2).eval()
    preserve = torch.onnx.TrainingMode.PRESERVE
    return [
        ("mlp", mlp, (4, 32), {"training": preserve,
                                "dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}}),
        ("cnn_bn", cnn, (2, 3, 16, 16), {"training": preserve}),
        ("transformer", tx, (6, 2, 32), {"training": preserve}),
    ]


def main():
    warnings.filterwarnings("ignore")
    tool = sys.argv[1]
    U.need(U.ort_node_path(), "onnxruntime-node not installed (scripts/ort.sh)")
    failures, rows = [], []
    with tempfile.TemporaryDirectory() as d:
        for name, m, shape, kw in models():
            src = os.path.join(d, name + ".onnx")
            dst = os.path.join(d, name + "_simple.onnx")
            x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
            torch.onnx.export(m, torch.from_numpy(x), src, opset_version=13,
                              input_names=["input"], output_names=["output"], **kw)
            try:
                rep = U.run_tool(tool, "simplify", src, dst)
            except RuntimeError as e:
                failures.append("%s: %s" % (name, e))
                continue
            r = dict((k, int(v)) for k, v in (ln.split() for ln in rep.strip().splitlines()))
            try:
                U.checker(dst)
            except Exception as e:  # noqa: BLE001
                failures.append("%s: checker: %s" % (name, e))
            ref = U.ort_run(src, {"input": x})[0]
            got = U.ort_run(dst, {"input": x})[0]
            ok, dort = U.close(got, ref)
            if not ok:
                failures.append("%s: ORT simplified vs original max diff %.3g" % (name, dort))
            xf, of = os.path.join(d, name + ".x"), os.path.join(d, name + ".out")
            x.tofile(xf)
            dck = float("nan")
            try:
                U.run_tool(tool, "run", dst, xf, ",".join(map(str, shape)), of)
                ck = np.fromfile(of, dtype=np.float32)
                okc, dck = U.close(ck.reshape(ref.shape) if ck.size == ref.size else ck, ref)
                if not okc:
                    failures.append("%s: ckpt session vs ORT max diff %.3g" % (name, dck))
            except RuntimeError as e:
                failures.append("%s: ckpt session: %s" % (name, e))
            # torch's eval export of the MLP is already minimal (Gemm/Relu): it may only not grow
            if r["nodes_after"] > r["nodes_before"] or (
                    name != "mlp" and r["nodes_after"] >= r["nodes_before"]):
                failures.append("%s: %d nodes before, %d after" % (name, r["nodes_before"],
                                                                   r["nodes_after"]))
            if not r["ran"]:
                failures.append("%s: shape inference could not run the model" % name)
            rows.append((name, r, dort, dck))
    print("%-12s %7s %6s %7s %6s %5s %5s %10s %10s" % ("model", "before", "after", "folded",
                                                      "ident", "bn", "gemm", "ORT diff",
                                                      "ckpt diff"))
    for name, r, dort, dck in rows:
        print("%-12s %7d %6d %7d %6d %5d %5d %10.2g %10.2g" % (
            name, r["nodes_before"], r["nodes_after"], r["folded"], r["identities"],
            r["batchnorms"], r["gemms"], dort, dck))
    conf = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(tool),
                                                               "onnx_conformance")
    data = "/usr/share/libonnx-testdata/data"
    if os.path.isdir(data) and os.path.exists(conf):
        failures += testdata(tool, conf, data)
    else:
        print("note: libonnx-testdata or onnx_conformance missing: the test-data pass skipped")
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


def passes(conf, root, sub):
    r = subprocess.run([conf, root, sub, "-v"], capture_output=True, text=True)
    return set(re.findall(r"^PASS (\S+)", r.stdout, re.M))


def testdata(tool, conf, data):
    bad = []
    with tempfile.TemporaryDirectory() as d:
        for sub in ("node", "pytorch-converted", "pytorch-operator", "simple"):
            n_simpl = shrunk = 0
            for case in sorted(os.listdir(os.path.join(data, sub))):
                src = os.path.join(data, sub, case)
                dst = os.path.join(d, sub, case)
                os.makedirs(dst)
                for e in os.listdir(src):
                    if e != "model.onnx":
                        os.symlink(os.path.join(src, e), os.path.join(dst, e))
                r = subprocess.run([tool, "simplify", os.path.join(src, "model.onnx"),
                                    os.path.join(dst, "model.onnx")],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    if "Segmentation" in r.stderr or r.returncode < 0:
                        bad.append("%s/%s: simplify crashed" % (sub, case))
                    # a model ckpt cannot read or run: keep the original
                    shutil.copy(os.path.join(src, "model.onnx"), os.path.join(dst, "model.onnx"))
                    continue
                n_simpl += 1
                rep = dict(ln.split() for ln in r.stdout.strip().splitlines())
                shrunk += int(rep["nodes_after"]) < int(rep["nodes_before"])
            before = passes(conf, data, sub)
            after = passes(conf, d, sub)
            # cases of random ops (Bernoulli, RandomNormal/Uniform(Like), Multinomial) pass by
            # chance: their reference outputs are one draw, so they are compared on neither side
            random_ops = ("bernoulli", "random", "multinomial")
            lost = sorted(c for c in before - after if not any(r in c for r in random_ops))
            print("%s: %d models simplified (%d smaller); conformance %d cases before, %d after"
                  % (sub, n_simpl, shrunk, len(before), len(after)))
            for c in lost:
                bad.append("%s: passes with the original model, fails simplified" % c)
    return bad


if __name__ == "__main__":
    sys.exit(main())
