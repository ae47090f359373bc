#!/usr/bin/env python3
"""tests/jit/convert/convert_check.py CKPT ORT_RUN_JS WORKDIR - `ckpt convert` between model
formats (issue 12 item 6), every output checked against the real references:

- a scripted CNN, a traced MLP, a scripted transformer encoder, a lite archive, a full-model
  pickle of torch.nn classes and three torch.export archives (tests/fixtures/jit/pt2),
  written by Debian's torch 1.13, are converted --to onnx (traced on an example input) and
  run in ONNX Runtime 1.30 on a *different* input: equal to torch's output within 1e-5
  (|a-b| <= 1e-5 + 1e-5|b|);
- the same models converted --to torchscript, and torch.onnx.export's ONNX of the CNN
  converted --to torchscript, are loaded with torch.jit.load and run: equal within 1e-5;
- the chain-shaped ones converted --to full-model are loaded with torch.load as an
  nn.Sequential of torch.nn classes and run: equal within 1e-5 (the encoder is refused);
- a model whose branch depends on its input is refused by --to onnx (the second-input check).
Exit 77 (skipped) when torch, numpy or ONNX Runtime is missing."""
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:
    print("SKIPPED: jit_convert: %s" % e)
    sys.exit(77)

CKPT, ORT_JS, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
NODE_PATH = os.environ.get("NODE_PATH", "")
os.makedirs(WORK, exist_ok=True)
failures = []


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return torch.softmax(self.fc2(torch.tanh(self.fc1(x))), -1)


class Encoder(nn.Module):
    """nn.TransformerEncoder scripted in eval mode: torch 1.13's code checks devices with
    str.find and all() over a list of bools before its fast path."""

    def __init__(self):
        super().__init__()
        self.enc = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True), 2)

    def forward(self, x):
        return self.enc(x).mean(1)


class Branchy(nn.Module):
    def forward(self, x):
        if bool(x.sum() > 0):
            return x * 2.0
        return x - 1.0


def close(a, b, what):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        failures.append("%s: shape %s vs %s" % (what, a.shape, b.shape))
        return
    d = np.abs(a - b) - (1e-5 + 1e-5 * np.abs(b))
    if (d > 0).any():
        failures.append("%s: max diff %g" % (what, float(np.abs(a - b).max())))
    else:
        print("ok   %s (max diff %.2g)" % (what, float(np.abs(a - b).max()) if a.size else 0.0))


def ckpt(*args, expect_ok=True, expect_msg=None):
    p = subprocess.run([CKPT] + list(args), capture_output=True, text=True)
    if (p.returncode == 0) != expect_ok or (expect_msg and expect_msg not in p.stderr):
        failures.append("ckpt %s: exit %d: %s%s" % (" ".join(args), p.returncode, p.stdout,
                                                    p.stderr))
        return False
    return True


def ort_run(model, x, name):
    d = os.path.join(WORK, "ort_" + name)
    os.makedirs(d, exist_ok=True)
    os.replace(model, os.path.join(d, "model.onnx"))
    x.astype(np.float32).tofile(os.path.join(d, "x.bin"))
    inp = subprocess.run(["node", "-e", "const o=require('onnxruntime-node');"
                          "o.InferenceSession.create(process.argv[1]).then(s=>"
                          "console.log(JSON.stringify(s.inputNames)))",
                          os.path.join(d, "model.onnx")], capture_output=True, text=True,
                         env=dict(os.environ, NODE_PATH=NODE_PATH))
    names = json.loads(inp.stdout) if inp.returncode == 0 else ["x"]
    with open(os.path.join(d, "inputs.json"), "w") as f:
        json.dump([{"name": names[0], "elem_type": 1, "dims": list(x.shape), "file": "x.bin"}],
                  f)
    p = subprocess.run(["node", ORT_JS, d], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=NODE_PATH))
    if p.returncode != 0:
        failures.append("%s: ONNX Runtime: %s%s" % (name, p.stdout, p.stderr))
        return None
    outs = json.load(open(os.path.join(d, "outputs.json")))
    o = outs[0]
    return np.fromfile(os.path.join(d, o["file"]), dtype=np.float32).reshape(o["dims"])


def main():
    if subprocess.run(["node", "-e", "require('onnxruntime-node')"], capture_output=True,
                      env=dict(os.environ, NODE_PATH=NODE_PATH)).returncode != 0:
        print("SKIPPED: jit_convert: ONNX Runtime (npm onnxruntime-node) is not installed")
        sys.exit(77)
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    cnn = CNN().eval()
    cnn.bn.running_mean.uniform_(-0.5, 0.5)
    cnn.bn.running_var.uniform_(0.5, 1.5)
    mlp = MLP().eval()
    files = {}
    files["scripted_cnn"] = (os.path.join(WORK, "scripted_cnn.pt"), cnn, (2, 3, 8, 8), "x")
    torch.jit.save(torch.jit.script(cnn), files["scripted_cnn"][0])
    files["traced_mlp"] = (os.path.join(WORK, "traced_mlp.pt"), mlp, (3, 12), "x")
    torch.jit.save(torch.jit.trace(mlp, torch.zeros(3, 12)), files["traced_mlp"][0])
    files["lite_cnn"] = (os.path.join(WORK, "lite_cnn.ptl"), cnn, (2, 3, 8, 8), "x")
    torch.jit.script(cnn)._save_for_lite_interpreter(files["lite_cnn"][0])
    enc = Encoder().eval()
    files["scripted_encoder"] = (os.path.join(WORK, "scripted_encoder.pt"), enc, (2, 5, 16), "x")
    torch.jit.save(torch.jit.script(enc), files["scripted_encoder"][0])
    seq = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4)).eval()
    files["full_model"] = (os.path.join(WORK, "full_model.pt"), seq, (3, 12), "input")
    torch.save(seq, files["full_model"][0])
    for name, (path, mod, shape, arg) in files.items():
        x1 = rng.standard_normal(shape).astype(np.float32)
        x2 = rng.standard_normal(shape).astype(np.float32)
        np.save(os.path.join(WORK, name + "_x.npy"), x1)
        with torch.no_grad():
            y2 = mod(torch.from_numpy(x2)).numpy()
        onnx_path = os.path.join(WORK, name + ".onnx")
        if ckpt("convert", path, onnx_path, "--to", "onnx", "--input",
                "%s=%s" % (arg, os.path.join(WORK, name + "_x.npy"))):
            y = ort_run(onnx_path, x2, name)
            if y is not None:
                close(y, y2, "%s -> onnx, ONNX Runtime on another input" % name)
        ts_path = os.path.join(WORK, name + "_ts.pt")
        if ckpt("convert", path, ts_path, "--to", "torchscript", "--input",
                "%s=%s" % (arg, os.path.join(WORK, name + "_x.npy"))):
            with torch.no_grad():
                y = torch.jit.load(ts_path)(torch.from_numpy(x2)).numpy()
            close(y, y2, "%s -> torchscript, torch.jit.load on another input" % name)
        fm_path = os.path.join(WORK, name + "_full.pt")
        chain = name != "scripted_encoder"  # attention is not a chain of torch.nn layers
        if os.path.exists(fm_path):
            os.remove(fm_path)
        if ckpt("convert", path, fm_path, "--to", "full-model", "--input",
                "%s=%s" % (arg, os.path.join(WORK, name + "_x.npy")), expect_ok=chain,
                expect_msg=None if chain else "a full-model pickle is written"):
            if chain:
                with torch.no_grad():
                    y = torch.load(fm_path)(torch.from_numpy(x2)).numpy()
                close(y, y2, "%s -> full-model, torch.load on another input" % name)
            else:
                print("ok   %s -> full-model refused (not a chain of layers)" % name)
        if not chain and os.path.exists(fm_path):
            failures.append("%s: the refused conversion left a file" % name)
    # torch.export archives (tests/fixtures/jit/pt2, built from the PT2 spec with torch 1.13's
    # eager outputs): --to onnx (ONNX Runtime) and --to torchscript (torch.jit.load)
    pt2 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "jit",
                       "pt2")
    for name in ("mlp", "cnn", "resblock"):
        src = os.path.join(pt2, name + ".pt2")
        x = np.load(os.path.join(pt2, name + ".input_0.npy"))
        y = np.load(os.path.join(pt2, name + ".output_0.npy"))
        onnx_path = os.path.join(WORK, "pt2_" + name + ".onnx")
        if ckpt("convert", src, onnx_path, "--to", "onnx", "--input",
                os.path.join(pt2, name + ".input_0.npy")):
            got = ort_run(onnx_path, x, "pt2_" + name)
            if got is not None:
                close(got, y, "%s.pt2 -> onnx, ONNX Runtime" % name)
        ts_path = os.path.join(WORK, "pt2_" + name + "_ts.pt")
        if ckpt("convert", src, ts_path, "--to", "torchscript", "--input",
                os.path.join(pt2, name + ".input_0.npy")):
            with torch.no_grad():
                got = torch.jit.load(ts_path)(torch.from_numpy(x))
            if isinstance(got, (tuple, list)):  # several outputs: the first is compared
                got = got[0]
            close(got.numpy(), y, "%s.pt2 -> torchscript, torch.jit.load" % name)
    # torch.onnx.export's ONNX -> TorchScript
    onnx_path = os.path.join(WORK, "exported_cnn.onnx")
    torch.onnx.export(cnn, torch.zeros(2, 3, 8, 8), onnx_path, input_names=["x"],
                      output_names=["y"], opset_version=13)
    x2 = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        y2 = cnn(torch.from_numpy(x2)).numpy()
    for frozen in (False, True):
        ts_path = os.path.join(WORK, "exported_cnn%s.pt" % ("_frozen" if frozen else ""))
        if ckpt("convert", onnx_path, ts_path, "--to", "torchscript",
                *(["--freeze"] if frozen else [])):
            with torch.no_grad():
                y = torch.jit.load(ts_path)(torch.from_numpy(x2)).numpy()
            close(y, y2, "torch.onnx.export ONNX -> torchscript%s" % (" (frozen)" if frozen
                                                                     else ""))
    fm_path = os.path.join(WORK, "exported_cnn_full.pt")
    if ckpt("convert", onnx_path, fm_path, "--to", "full-model"):
        with torch.no_grad():
            y = torch.load(fm_path)(torch.from_numpy(x2)).numpy()
        close(y, y2, "torch.onnx.export ONNX -> full-model, torch.load")
    # a branch on the input's values cannot be traced faithfully: refused
    bpath = os.path.join(WORK, "branchy.pt")
    if os.path.exists(os.path.join(WORK, "branchy.onnx")):
        os.remove(os.path.join(WORK, "branchy.onnx"))
    torch.jit.save(torch.jit.script(Branchy()), bpath)
    np.save(os.path.join(WORK, "pos.npy"), np.full((2, 3), 0.01, dtype=np.float32))
    if ckpt("convert", bpath, os.path.join(WORK, "branchy.onnx"), "--to", "onnx", "--input",
            "x=" + os.path.join(WORK, "pos.npy"), expect_ok=False, expect_msg="second input"):
        print("ok   a branch on the input's values is refused by --to onnx")
    if os.path.exists(os.path.join(WORK, "branchy.onnx")):
        failures.append("the refused conversion left branchy.onnx behind")
    if failures:
        print("\n".join("FAIL " + f for f in failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
