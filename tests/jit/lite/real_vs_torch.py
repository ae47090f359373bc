#!/usr/bin/env python3
"""test_jit_lite__real_vs_torch: run each real lite archive
(../shared/fixtures/real/torchscript_lite/*.ptl) with ckpt (jit_lite_test
--run) and with torch 1.13's own lite interpreter on the same input, and
compare within |a-b| <= 1e-5 + 1e-5|b|.  Skips (77) without torch or the
folder.  Usage: real_vs_torch.py JIT_LITE_TEST"""
import glob
import os
import subprocess
import sys
import tempfile

NAME = "test_jit_lite__real_vs_torch"
REAL = "../shared/fixtures/real/torchscript_lite"


def skip(why):
    print("SKIPPED: %s: %s" % (NAME, why))
    sys.exit(77)


try:
    import numpy as np
    import torch
    from torch.jit.mobile import _load_for_lite_interpreter
except Exception as e:  # noqa: BLE001
    skip("torch is not importable (%s)" % e)
if not os.path.isdir(REAL):
    skip("%s is absent" % REAL)

exe = sys.argv[1]
torch.manual_seed(0)
bad = 0
for f in sorted(glob.glob(os.path.join(REAL, "*.ptl"))):
    name = os.path.basename(f)
    try:
        m = _load_for_lite_interpreter(f)
    except Exception as e:  # noqa: BLE001
        print("%s: torch cannot load it (%s): not compared" % (name, str(e).splitlines()[0]))
        continue
    # the ASL demo models take a 1x3x200x200 image (their app's input size)
    x = torch.rand(1, 3, 200, 200)
    with torch.no_grad():
        want = m(x)
    wants = want if isinstance(want, tuple) else (want,)
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "x.npy"), x.numpy())
        r = subprocess.run([exe, "--run", f, os.path.join(d, "x.npy"), d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("%s: ckpt failed: %s" % (name, r.stderr.strip()))
            bad += 1
            continue
        for k, w in enumerate(wants):
            got = np.load(os.path.join(d, "output_%d.npy" % k))
            w = w.numpy()
            diff = np.abs(got.astype(np.float64) - w)
            ok = got.shape == w.shape and bool(np.all(diff <= 1e-5 + 1e-5 * np.abs(w)))
            print("%s: output %d %s max |diff| %.3g" % (name, k, "ok" if ok else "DIFFERS",
                                                        float(diff.max()) if diff.size else 0))
            bad += 0 if ok else 1
sys.exit(1 if bad else 0)
