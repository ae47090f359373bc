#!/usr/bin/python3
"""Run the real TorchScript archives with `ckpt run` and with torch 1.13 (for
format-1 archives, which torch 1.13 refuses, their code/ text run as Python over
torch on the tensors model.json lists), on
inputs synthesised from each forward's signature (Tensor arguments get the
shape the archive's model was built for, listed below), and compare within
|a-b| <= tol_abs + 1e-5 |b|.

usage: real_run.py CKPT_BINARY REAL_DIR

Prints one line per archive: runs (max abs diff) / error and why.  Fails when
an archive listed in MUST_RUN does not run or differs; skips (77) when torch,
numpy or REAL_DIR is absent.
"""
import os
import subprocess
import sys
import tempfile

NAME = "jit_interp_real"

try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover
    print("SKIPPED: %s: %s" % (NAME, e))
    sys.exit(77)

CKPT, REAL = sys.argv[1], sys.argv[2]
if not os.path.isdir(os.path.join(REAL, "torchscript")):
    print("SKIPPED: %s: %s/torchscript is absent" % (NAME, REAL))
    sys.exit(77)

F32 = np.float32
# archive -> [(argument, shape, dtype, low, high)]
INPUTS = {
    "torchscript/LaurentMazare__tch-rs__tests__foo.pt": [("x", (2, 3), F32), ("y", (2, 3), F32)],
    "torchscript/LaurentMazare__tch-rs__tests__foo2.pt": [("x", (2, 3), F32), ("y", (2, 3), F32)],
    "torchscript/LaurentMazare__tch-rs__tests__foo3.pt": [("x", (4, 3), F32)],
    "torchscript/LaurentMazare__tch-rs__tests__foo6.pt": [("x", (2, 3), F32)],
    "torchscript/LaurentMazare__tch-rs__tests__foo9.pt": [("s", (2, 256), F32),
                                                         ("t", (2, 256), F32)],
    "torchscript/LaurentMazare__tch-rs__tests__foo@ae7b2940.pt": [("x", (2, 3), F32),
                                                                   ("y", (2, 3), F32)],
    "torchscript/abc3698__Libtorch_MNIST__mnist_cnn.pt": [("input", (1, 1, 28, 28), F32)],
    "torchscript/pytorch__android-demo-app__HelloWorldApp__app__src__main__assets__mobile_model.pt":
        [("x", (1, 3, 360, 480), F32)],
    "torchscript/pytorch__android-demo-app__ViT4MNIST__app__src__main__assets__vit4mnist.pth":
        [("x", (1, 1, 28, 28), F32)],
    "torchscript/pytorch__ios-demo-app__D2Go__D2Go__d2go_optimized.pt": [],
    "torchscript/pytorch__ios-demo-app__PyTorchDemo__PyTorchDemo__ImageClassification__model__mobilenet_quantized.pt":
        [("X", (1, 3, 224, 224), F32)],
    "torchscript/pytorch__ios-demo-app__PyTorchDemo__PyTorchDemo__NLP__model__reddit.pt":
        [("byte_input", (1, 16), np.int64)],
    "torchscript_lite/pytorch__android-demo-app__ASLRecognition__app__src__main__assets__asl.ptl":
        [("x", (1, 3, 200, 200), F32)],
    "torchscript_lite/pytorch__android-demo-app__ASLRecognition__app__src__main__assets__asl@4b717026.ptl":
        [("x", (1, 3, 200, 200), F32)],
}
# must run in ckpt and equal torch (where torch runs them)
MUST_RUN = {
    "torchscript/LaurentMazare__tch-rs__tests__foo.pt",
    "torchscript/LaurentMazare__tch-rs__tests__foo2.pt",
    "torchscript/LaurentMazare__tch-rs__tests__foo3.pt",
    "torchscript/LaurentMazare__tch-rs__tests__foo9.pt",
    "torchscript/LaurentMazare__tch-rs__tests__foo@ae7b2940.pt",
    "torchscript/abc3698__Libtorch_MNIST__mnist_cnn.pt",
    "torchscript/pytorch__android-demo-app__HelloWorldApp__app__src__main__assets__mobile_model.pt",
    "torchscript/pytorch__ios-demo-app__PyTorchDemo__PyTorchDemo__NLP__model__reddit.pt",
    "torchscript_lite/pytorch__android-demo-app__ASLRecognition__app__src__main__assets__asl.ptl",
    "torchscript_lite/pytorch__android-demo-app__ASLRecognition__app__src__main__assets__asl@4b717026.ptl",
}
TOL_ABS = {}


def format1_reference(path, args):
    """torch 1.13 cannot load format-1 archives (model.json + tensors/), but
    their code is Python over torch: run it with torch on the module tree
    model.json describes (tensor parameters and attributes only)."""
    import json
    import types
    import zipfile
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        root = names[0].split("/")[0] + "/"
        meta = json.loads(z.read(root + "model.json"))
        dtypes = {"FLOAT": np.float32, "DOUBLE": np.float64, "INT64": np.int64}

        def tensor(i):
            t = meta["tensors"][int(i)]
            dt = dtypes[t["dataType"]]
            raw = np.frombuffer(z.read(root + t["data"]["key"]), dtype=dt)
            item = np.dtype(dt).itemsize
            a = np.lib.stride_tricks.as_strided(
                raw[int(t.get("offset", "0")):], [int(d) for d in t["dims"]],
                [int(s) * item for s in t["strides"]])
            return torch.from_numpy(np.ascontiguousarray(a))

        def module(mm):
            o = types.SimpleNamespace()
            for p in mm.get("parameters", []):
                setattr(o, p["name"], tensor(p["tensorId"]))
            for a in mm.get("attributes", []):
                if a.get("type") == "Tensor":
                    setattr(o, a["name"], tensor(a["id"]))
            for sm in mm.get("submodules", []):
                setattr(o, sm["name"], module(sm))
            return o

        self = module(meta["mainModule"])
        code = z.read(root + meta["mainModule"]["torchscriptArena"]["key"]).decode()
    class TorchNS:
        """torch.X, else the Tensor method X (the printer wrote torch.view(x, s))"""

        def __getattr__(self, name):
            if hasattr(torch, name):
                return getattr(torch, name)
            return lambda t, *a, **k: getattr(t, name)(*a, **k)

    env = {"torch": TorchNS(), "Tensor": torch.Tensor}
    exec(compile(code, path, "exec"), env)
    with torch.no_grad():
        return env["forward"](self, *args)


def flatten(v, out):
    if isinstance(v, (tuple, list)):
        for x in v:
            flatten(x, out)
    elif isinstance(v, dict):
        for x in v.values():
            flatten(x, out)
    else:
        out.append(v)


def main():
    rng = np.random.default_rng(12)
    failures = []
    tmp = tempfile.mkdtemp(prefix="jit_interp_real_")
    for rel, spec in sorted(INPUTS.items()):
        path = os.path.join(REAL, rel)
        if not os.path.exists(path):
            print("%s: absent" % rel)
            continue
        args, cli = [], []
        for i, (arg, shape, dt) in enumerate(spec):
            if dt == np.int64:
                a = rng.integers(0, 100, size=shape).astype(dt)
            else:
                a = rng.uniform(0, 1, size=shape).astype(dt)
            f = os.path.join(tmp, "in_%s.npy" % arg)
            np.save(f, a)
            args.append(torch.from_numpy(a))
            cli += ["--input", "%s=%s" % (arg, f)]
        ref, why = None, None
        try:
            with torch.no_grad():
                res = torch.jit.load(path)(*args)
            ref = []
            flatten(res, ref)
            if not all(isinstance(t, torch.Tensor) for t in ref):
                ref, why = None, "torch returns %s" % type(res).__name__
        except Exception as e:  # torch 1.13 cannot load or run it
            why = "torch 1.13: " + (str(e).strip().splitlines() or ["error"])[0][:80]
            if "Legacy model format" in str(e):
                try:
                    ref = []
                    flatten(format1_reference(path, args), ref)
                    why = None
                except Exception as e2:
                    ref, why = None, "format 1, its code under torch: %s" % str(e2)[:80]
        outdir = os.path.join(tmp, "out_" + os.path.basename(rel))
        p = subprocess.run([CKPT, "run", path, "--output-dir", outdir] + cli,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            msg = (p.stderr.strip().splitlines() or ["?"])[-1]
            print("%s: ckpt error: %s (%s)" % (rel, msg, why or "torch runs it"))
            if rel in MUST_RUN:
                failures.append(rel)
            continue
        if ref is None:
            print("%s: ckpt runs; no torch reference (%s)" % (rel, why))
            continue
        worst, bad = 0.0, False
        for k, t in enumerate(ref):
            f = os.path.join(outdir, "output_%d.npy" % k)
            if not os.path.exists(f):
                bad = True
                print("%s: output_%d missing" % (rel, k))
                break
            a = np.load(f).astype(np.float64)
            b = t.dequantize().numpy().astype(np.float64) if t.is_quantized else \
                t.numpy().astype(np.float64)
            if a.shape != b.shape:
                bad = True
                print("%s: output_%d shape %s, torch %s" % (rel, k, a.shape, b.shape))
                break
            d = np.abs(a - b)
            worst = max(worst, float(d.max()) if d.size else 0.0)
            if not np.all(d <= TOL_ABS.get(rel, 1e-5) + 1e-5 * np.abs(b)):
                bad = True
        print("%s: ckpt runs, max abs diff vs torch %.3g%s" % (rel, worst,
                                                               " (OVER TOLERANCE)" if bad else ""))
        if bad and rel in MUST_RUN:
            failures.append(rel)
    if failures:
        print("FAILED: %s" % ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
