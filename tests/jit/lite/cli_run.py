#!/usr/bin/env python3
"""test_jit_lite__cli_run: `ckpt run NAME.ptl --input x=NAME.in.npy` on the lite
fixtures writes output_<k>.npy equal to what torch's lite interpreter gave
(NAME.out<k>.npy, from tools/gen/make_jit_lite.py) within 1e-5 + 1e-5|b|.
Skips (77) without numpy.  Usage: cli_run.py CKPT"""
import os
import subprocess
import sys
import tempfile

NAME = "test_jit_lite__cli_run"
try:
    import numpy as np
except Exception as e:  # noqa: BLE001
    print("SKIPPED: %s: numpy is not importable (%s)" % (NAME, e))
    sys.exit(77)

FIX = "tests/fixtures/jit/lite"
bad = 0
for name in ("mlp", "mlp_v4", "cnn", "cnn_v5", "flow", "flow_v5", "mbv2", "cnn_opt"):
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.argv[1], "run", os.path.join(FIX, name + ".ptl"), "--input",
                            "x=" + os.path.join(FIX, name + ".in.npy"), "--output-dir", d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("%s: ckpt run failed: %s" % (name, r.stderr.strip()))
            bad += 1
            continue
        k = 0
        while os.path.exists(os.path.join(FIX, "%s.out%d.npy" % (name, k))):
            want = np.load(os.path.join(FIX, "%s.out%d.npy" % (name, k)))
            path = os.path.join(d, "output_%d.npy" % k)
            if want.ndim == 0 and not os.path.exists(path):
                k += 1  # a Python scalar result: printed, not written
                continue
            got = np.load(path)
            diff = np.abs(got.astype(np.float64) - want)
            ok = got.shape == want.shape and bool(np.all(diff <= 1e-5 + 1e-5 * np.abs(want)))
            print("%s output_%d: %s max |diff| %.3g" % (name, k, "ok" if ok else "DIFFERS",
                                                       float(diff.max()) if diff.size else 0))
            bad += 0 if ok else 1
            k += 1
sys.exit(1 if bad else 0)
