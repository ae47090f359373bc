"""ckpt_onnx_export against torch 1.13 and ONNX Runtime (issue 11, item 5).

For each model (an MLP with Dropout and GELU, a CNN with BatchNorm, a 2-layer
batch-first LSTM and a bidirectional GRU inside C forward functions, 2-layer
transformer encoders (post-norm ReLU, pre-norm GELU), and a custom forward made
of functional ops, functional conv/pad/pooling on a module's weights with a GroupNorm, and an
Embedding on int64 ids), torch builds the model and writes its
weights; the C model (tests/onnx/onnx_tool.c) loads them and is exported at
several opsets, with and without a dynamic batch, BatchNorm folded (the
default) or kept.
Each file must pass onnx.checker (full_check), ONNX Runtime's output and
ckpt's own session's must equal the C model's within 1e-5 (and torch's), and the graph must have no
more nodes than torch.onnx.export's of the same model with the same options.

    python3 export_check.py build/tests/onnx_tool
"""
import os
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_check_util as U  # noqa: E402

import numpy as np  # noqa: E402

try:
    import onnx  # noqa: F401
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    U.need(False, "python3-onnx / torch missing: %s" % e)


class RNNNet(nn.Module):
    def __init__(self, gru):
        super().__init__()
        if gru:
            self.rnn = nn.GRU(8, 16, bidirectional=True, batch_first=True)
            self.fc = nn.Linear(32, 4)
        else:
            self.rnn = nn.LSTM(8, 16, num_layers=2, batch_first=True)
            self.fc = nn.Linear(16, 4)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 24)
        self.fc2 = nn.Linear(24, 5)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        h = h * 2.0 + 1.0
        h = torch.cat([h, torch.sigmoid(h)], -1)
        h = h.reshape(x.shape[0], 2, -1).sum(1)
        return torch.softmax(self.fc2(h), -1)


class FConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding="same", padding_mode="reflect")
        self.gn = nn.GroupNorm(2, 8)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
        self.fc = nn.Linear(8, 4)
        with torch.no_grad():
            self.gn.weight.uniform_(0.5, 1.5)
            self.gn.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        h = self.gn(torch.relu(self.c1(x)))
        h = F.max_pool2d(h, 3, 2, 1)
        h = F.avg_pool2d(self.c2(h), 2, ceil_mode=True)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class EmbNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc(self.emb(x).mean(1))


def make(kind):
    torch.manual_seed(0)
    if kind == "mlp":
        m = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 64),
                          nn.GELU(), nn.Linear(64, 10), nn.Softmax(-1))
        shape = (4, 32)
    elif kind == "cnn":
        m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),
                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
        for bn in (m[1], m[5]):
            with torch.no_grad():
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.5, 0.5)
        shape = (2, 3, 16, 16)
    elif kind in ("lstm", "gru"):
        m = RNNNet(kind == "gru")
        shape = (3, 5, 8)
    elif kind.startswith("transformer"):
        nf = kind == "transformer_nf"
        m = nn.TransformerEncoder(nn.TransformerEncoderLayer(
            32, 4, 64, activation="gelu" if nf else "relu", norm_first=nf), 2)
        shape = (6, 2, 32)
    elif kind == "fconv":
        m = FConv()
        shape = (2, 3, 17, 17)
    elif kind == "embed":
        m = EmbNet()
        shape = (3, 7)
    else:
        m = Custom()
        shape = (3, 16)
    m.eval()
    return m, shape


def torch_export(m, x, path, opset, dynamic):
    kw = {}
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    torch.onnx.export(m, x, path, opset_version=opset, input_names=["input"],
                      output_names=["output"], **kw)
    return len(onnx.load(path).graph.node)


def main():
    warnings.filterwarnings("ignore")
    tool = sys.argv[1]
    U.need(U.ort_node_path(), "onnxruntime-node not installed (scripts/ort.sh)")
    failures = []
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for kind in ("mlp", "cnn", "lstm", "gru", "transformer", "transformer_nf", "embed",
                     "fconv", "custom"):
            m, shape = make(kind)
            wpt = os.path.join(d, kind + ".pt")
            torch.save(m.state_dict(), wpt)
            rng = np.random.default_rng(1)
            if kind == "embed":
                x = rng.integers(0, 50, shape).astype(np.int64)
                xb = rng.integers(0, 50, (shape[0] + 2,) + shape[1:]).astype(np.int64)
            else:
                x = rng.standard_normal(shape).astype(np.float32)
                xb = rng.standard_normal((shape[0] + 2,) + shape[1:]).astype(np.float32)
            xf = os.path.join(d, kind + "_x.f32")
            x.tofile(xf)
            with torch.no_grad():
                ref = m(torch.from_numpy(x)).numpy()
            with torch.no_grad():
                refb = m(torch.from_numpy(xb)).numpy()
            variants = [(13, False, False), (13, True, False), (11, False, False),
                        (17, False, False)]
            if kind == "cnn":
                variants += [(13, False, True), (13, True, True)]
            for opset, dyn, fold in variants:
                tag = "%s opset %d%s%s" % (kind, opset, " dynamic" if dyn else "",
                                           " keep-bn" if kind == "cnn" and not fold else "")
                out = os.path.join(d, "%s_%d_%d_%d.onnx" % (kind, opset, dyn, fold))
                cout = out + ".out"
                args = ["export", kind, wpt, out, xf, ",".join(map(str, shape)), cout,
                        "--opset", opset]
                if dyn:
                    args.append("--dynamic-batch")
                if kind == "cnn" and not fold:
                    args.append("--keep-bn")
                if kind == "embed":
                    args.append("--int64")
                try:
                    text = U.run_tool(tool, *args)
                except RuntimeError as e:
                    failures.append("%s: %s" % (tag, e))
                    continue
                nodes = int(text.split()[1])
                c = np.fromfile(cout, dtype=np.float32).reshape(ref.shape)
                try:
                    U.checker(out)
                except Exception as e:  # noqa: BLE001
                    failures.append("%s: checker: %s" % (tag, e))
                    continue
                o = U.ort_run(out, {"input": x})[0]
                ok, dc = U.close(o, c)
                okt, dt = U.close(c, ref)
                if not ok:
                    failures.append("%s: ORT vs C max diff %.3g" % (tag, dc))
                if not okt:
                    failures.append("%s: C vs torch max diff %.3g" % (tag, dt))
                # ckpt's own session on the exported file (onnx_tool run feeds float32 only)
                try:
                    ckf = out + ".ck"
                    if kind == "embed":
                        raise RuntimeError("onnx_tool run reads float32 inputs only")
                    U.run_tool(tool, "run", out, xf, ",".join(map(str, shape)), ckf)
                    ck = np.fromfile(ckf, dtype=np.float32)
                    dck = U.close(ck.reshape(c.shape), c)[1] if ck.size == c.size else float("inf")
                except RuntimeError as e:
                    dck = float("nan")
                    if kind != "embed":
                        failures.append("%s: ckpt session: %s" % (tag, str(e)[-160:]))
                if kind != "embed" and not dck <= 1e-5:
                    failures.append("%s: ckpt session vs C max diff %.3g" % (tag, dck))
                if dyn:
                    ob = U.ort_run(out, {"input": xb})[0]
                    okb, db = U.close(ob, refb)
                    if not okb:
                        failures.append("%s: batch %d: ORT vs torch max diff %.3g"
                                        % (tag, xb.shape[0], db))
                tpath = os.path.join(d, "torch_%s_%d_%d.onnx" % (kind, opset, dyn))
                try:
                    tn = torch_export(m, torch.from_numpy(x), tpath, opset, dyn)
                except Exception as e:  # noqa: BLE001
                    tn = None
                    print("note: torch.onnx.export %s failed: %s" % (tag, str(e)[:200]))
                # torch folds BatchNorm into Conv in eval mode: compare like with like
                cmp = tn is not None and (kind != "cnn" or fold)
                if cmp and nodes > tn:
                    failures.append("%s: %d nodes, torch %d" % (tag, nodes, tn))
                rows.append((tag, nodes, tn, dc, dt, dck))
    print("%-28s %6s %6s %10s %10s %12s" % ("model", "ckpt", "torch", "ORT-C", "C-torch",
                                             "session-C"))
    for tag, n, tn, dc, dt, dck in rows:
        print("%-28s %6d %6s %10.2g %10.2g %12.2g" % (tag, n, tn if tn is not None else "-", dc,
                                                     dt, dck))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
