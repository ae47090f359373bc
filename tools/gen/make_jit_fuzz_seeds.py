#!/usr/bin/env python3
"""tools/gen/make_jit_fuzz_seeds.py - small seeds for tests/fuzz/corpus/jit (the jit
readers' fuzz harness): a scripted and a traced TorchScript archive, a lite archive and
a full-model pickle of one Linear layer, written by Debian's torch 1.13."""
import os
import sys

import torch
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.register_buffer("b", torch.zeros(2))

    def forward(self, x):
        return torch.relu(self.fc(x)) + self.b


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/jit"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    m = M().eval()
    s = torch.jit.script(m)
    torch.jit.save(s, os.path.join(out, "scripted.pt"))
    torch.jit.save(torch.jit.trace(m, torch.zeros(1, 2)), os.path.join(out, "traced.pt"))
    s._save_for_lite_interpreter(os.path.join(out, "lite.ptl"))
    torch.save(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), os.path.join(out, "full_model.pt"))


if __name__ == "__main__":
    main()
