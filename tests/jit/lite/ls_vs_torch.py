#!/usr/bin/env python3
"""test_jit_lite__ls_vs_torch: `ckpt ls` on each lite archive (the fixtures of
tools/gen/make_jit_lite.py and ../shared/fixtures/real/torchscript_lite/*.ptl)
lists the names, shapes and order torch.jit.load(f).named_parameters() +
named_buffers() give.  Skips (77) without torch.  Usage: ls_vs_torch.py CKPT"""
import glob
import os
import subprocess
import sys

NAME = "test_jit_lite__ls_vs_torch"
try:
    import torch
except Exception as e:  # noqa: BLE001
    print("SKIPPED: %s: torch is not importable (%s)" % (NAME, e))
    sys.exit(77)

files = sorted(f for f in glob.glob("tests/fixtures/jit/lite/*.ptl") if "hostile" not in f)
files += sorted(glob.glob("../shared/fixtures/real/torchscript_lite/*.ptl"))
bad = 0
for f in files:
    m = torch.jit.load(f)
    want = [(n, list(t.shape)) for n, t in list(m.named_parameters()) + list(m.named_buffers())]
    r = subprocess.run([sys.argv[1], "ls", f], capture_output=True, text=True)
    got = []
    for line in r.stdout.splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        shape = line[line.index("[") + 1:line.index("]")] if "[" in line else ""
        got.append((parts[0], [int(s) for s in shape.split(",") if s.strip()]))
    ok = r.returncode == 0 and got == want
    print("%s: %d tensors %s" % (os.path.basename(f), len(want), "ok" if ok else "DIFFER"))
    if not ok:
        print("  ckpt:  %s\n  torch: %s\n  %s" % (got, want, r.stderr.strip()))
        bad += 1
sys.exit(1 if bad else 0)
