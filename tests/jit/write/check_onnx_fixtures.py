#!/usr/bin/env python3
"""Every ONNX model under the given folders that ckpt writes as TorchScript
(ckpt_jit_save_onnx) must load in torch 1.13 and give ckpt's ONNX runtime's
outputs (`ckpt run`, itself checked against ONNX Runtime by the onnx tests)
within |a-b| <= 1e-5 + 1e-5|b| (NaN where both are NaN), on random inputs of the
declared shapes (dynamic dims 1).  A model whose op the writer refuses is
counted, not failed (the refusal is the contract); a kernel torch's CPU build
lacks (float16 clamp/sigmoid in 1.13), or an integer division by a random
zero that torch raises on, is reported.  At least MIN_PASS models
must pass.

    check_onnx_fixtures.py JIT_WRITE_TOOL CKPT_CLI OUT_DIR MIN_PASS DIR...
Exit 77 when torch, numpy or onnx is absent."""
import json
import os
import subprocess
import sys

NAME = "jit_write_onnx_fixtures"
try:
    import numpy as np
    import onnx
    import torch
except ImportError as e:
    print(f"SKIPPED: {NAME}: {e}")
    sys.exit(77)

tool, cli, out, min_pass = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
dirs = sys.argv[5:]
os.makedirs(out, exist_ok=True)
TT = {1: np.float32, 11: np.float64, 7: np.int64, 6: np.int32, 9: np.bool_, 10: np.float16,
      2: np.uint8, 3: np.int8}
counts = {"pass": 0, "refused": 0, "no-input": 0, "torch-lacks": 0}
fails = []
files = sorted(os.path.join(r, f) for d in dirs if os.path.isdir(d)
               for r, _, fs in os.walk(d) for f in fs if f.endswith(".onnx"))
for f in files:
    if os.path.getsize(f) > 20 << 20:
        continue
    arc = os.path.join(out, "m.pt")
    r = subprocess.run([tool, "onnx", f, arc], capture_output=True, text=True)
    if r.returncode:
        counts["refused"] += 1
        continue
    try:
        m = onnx.load(f, load_external_data=False)
    except Exception:  # noqa: BLE001
        counts["no-input"] += 1
        continue
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(0)
    args, flags = [], []
    for k, i in enumerate(x for x in m.graph.input if x.name not in inits):
        tt = i.type.tensor_type
        if tt.elem_type not in TT:
            args = None
            break
        shape = [d.dim_value if d.HasField("dim_value") else 1 for d in tt.shape.dim]
        dt = TT[tt.elem_type]
        if np.issubdtype(dt, np.floating):
            a = rng.uniform(-1, 1, shape).astype(dt)
        else:
            a = rng.integers(0, 2 if dt == np.bool_ else 4, shape).astype(dt)
        p = os.path.join(out, f"in{k}.npy")
        np.save(p, a)
        args.append(a)
        flags += ["--input", f"{i.name}={p}"]
    od = os.path.join(out, "ref")
    subprocess.run(["rm", "-rf", od])
    r = None if args is None else subprocess.run(
        [cli, "run", f, *flags, "--output-dir", od, "--json"], capture_output=True, text=True)
    if r is None or r.returncode:
        counts["no-input"] += 1
        continue
    refs = [np.load(o["file"]) for o in json.loads(r.stdout)["outputs"]]
    try:
        tm = torch.jit.load(arc)
        with torch.no_grad():
            y = tm(*[torch.from_numpy(a) for a in args])
    except Exception as e:  # noqa: BLE001
        msg = str(e).strip().splitlines()[-1]
        if "not implemented for 'Half'" in msg or "ZeroDivisionError" in msg:
            counts["torch-lacks"] += 1
            print(f"torch 1.13 lacks a kernel: {f}: {msg}")
        else:
            fails.append(f"{f}: torch.jit.load/run: {msg}")
        continue
    ys = [t.numpy() for t in (y if isinstance(y, tuple) else (y,))]
    bad = len(ys) != len(refs)
    for a, b in zip(ys, refs):
        if a.shape != b.shape:
            bad = True
            continue
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
        d = np.where(same, 0.0, np.abs(a64 - b64))
        if not np.all(same | (d <= 1e-5 + 1e-5 * np.abs(np.where(same, 0.0, b64)))):
            bad = True
    if bad:
        fails.append(f"{f}: outputs differ from ckpt run's")
    else:
        counts["pass"] += 1
print(" ".join(f"{k}={v}" for k, v in counts.items()), f"fail={len(fails)}")
for x in fails:
    print("FAIL:", x)
if counts["pass"] < min_pass:
    print(f"FAIL: {counts['pass']} passed, fewer than {min_pass}")
sys.exit(1 if fails or counts["pass"] < min_pass else 0)
