#!/usr/bin/env python3
"""tests/guide/onnx_torch.py make|check DIR - the torch side of the
examples/guide/onnx_infer.c test: `make` builds a small CNN with BatchNorm
(seeded), exports it with torch.onnx.export (opset 13, dynamic batch) and
writes an input batch and torch's output; `check` compares the C program's
output with torch's (max |diff| <= 1e-4 * max(1, max |torch|))."""
import os
import sys

import numpy as np
import torch
from torch import nn

BATCH = 5


def main():
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "make":
        torch.manual_seed(3)
        model = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(), nn.Linear(16, 10))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
        model.eval()
        x = torch.randn(BATCH, 3, 16, 16)
        with torch.no_grad():
            y = model(x)
        torch.onnx.export(model, (x,), os.path.join(d, "model.onnx"), opset_version=13,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
        x.numpy().astype(np.float32).tofile(os.path.join(d, "x.f32"))
        y.numpy().astype(np.float32).tofile(os.path.join(d, "y_torch.f32"))
        print("onnx_torch: exported model.onnx, batch", BATCH)
    else:
        want = np.fromfile(os.path.join(d, "y_torch.f32"), dtype=np.float32)
        got = np.fromfile(os.path.join(d, "y.f32"), dtype=np.float32)
        if got.shape != want.shape:
            sys.exit("onnx_torch: %d values from C, %d from torch" % (got.size, want.size))
        diff = float(np.abs(got - want).max())
        tol = 1e-4 * max(1.0, float(np.abs(want).max()))
        print("onnx_torch: max |C - torch| = %.3g (tolerance %.3g)" % (diff, tol))
        if not diff <= tol:
            sys.exit(1)


if __name__ == "__main__":
    main()
