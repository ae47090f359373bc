#!/usr/bin/env python3
"""tests/guide/jit_torch.py make|check DIR - the torch side of the examples/guide/jit_run.c
test: `make` scripts a small CNN with BatchNorm and a residual add (seeded), saves it with
torch.jit.save and writes an input batch and torch.jit.load(f)(x); `check` compares the C
program's output with torch's (|diff| <= 1e-5 + 1e-5|torch|) and the state dict it saved
with the archive's state_dict(), bit for bit."""
import os
import sys

import numpy as np
import torch
from torch import nn

BATCH = 4


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        y = torch.relu(y + self.conv2(y))
        return self.head(y.mean([2, 3]))


def main():
    mode, d = sys.argv[1], sys.argv[2]
    path = os.path.join(d, "model.pt")
    if mode == "make":
        torch.manual_seed(5)
        model = Net()
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 1.5)
        model.eval()
        torch.jit.save(torch.jit.script(model), path)
        x = torch.randn(BATCH, 3, 16, 16)
        with torch.no_grad():
            y = torch.jit.load(path)(x)
        x.numpy().astype(np.float32).tofile(os.path.join(d, "x.f32"))
        y.numpy().astype(np.float32).tofile(os.path.join(d, "y_torch.f32"))
        print("jit_torch: scripted model.pt, batch", BATCH)
        return
    want = np.fromfile(os.path.join(d, "y_torch.f32"), dtype=np.float32)
    got = np.fromfile(os.path.join(d, "y.f32"), dtype=np.float32)
    if got.shape != want.shape:
        sys.exit("jit_torch: %d values from C, %d from torch" % (got.size, want.size))
    diff = np.abs(got.astype(np.float64) - want)
    print("jit_torch: max |C - torch| = %.3g" % float(diff.max()))
    if (diff > 1e-5 + 1e-5 * np.abs(want)).any():
        sys.exit(1)
    ref = torch.jit.load(path).state_dict()
    sd = torch.load(os.path.join(d, "sd.pt"))
    if list(sd.keys()) != list(ref.keys()):
        sys.exit("jit_torch: state dict keys %s, torch %s" % (list(sd.keys()), list(ref.keys())))
    for k in ref:
        if sd[k].dtype != ref[k].dtype or not torch.equal(sd[k], ref[k]):
            sys.exit("jit_torch: state dict entry %s differs" % k)
    print("jit_torch: state dict equal to torch's (%d entries)" % len(ref))


if __name__ == "__main__":
    main()
