#!/usr/bin/env python3
"""tests/guide/resnet_torch.py - torch's side of the ResNet-style proof of
docs/MODELS.md (examples/guide/resnet_train.c): custom residual blocks,
BatchNorm and a GELU transformer head, trained 50 steps.

  make DIR   write the initial state (DIR/init.pt), the 50 batches
             (DIR/batches.pt) and torch's state after 50 SGD steps (DIR/ref.pt)
  check DIR  compare C's state after its 50 steps (DIR/out.pt) with torch's
             (parameters and BatchNorm buffers, max relative difference
             <= 1e-4) and load it strictly into the torch class
"""
import sys

import torch
from torch import nn

STEPS, B, C, CLASSES = 50, 16, 8, 10
TOL = 1e-4


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, C, 3, padding=1, bias=False), nn.BatchNorm2d(C),
                                  nn.ReLU())
        self.blocks = nn.Sequential(Block(C), Block(C))
        self.pool = nn.MaxPool2d(2)
        self.head = nn.TransformerEncoderLayer(d_model=C, nhead=2, dim_feedforward=32,
                                               dropout=0.0, activation="gelu",
                                               batch_first=True)
        self.fc = nn.Linear(C, CLASSES)

    def forward(self, x):
        x = self.pool(self.blocks(self.stem(x)))       # (B, C, 4, 4)
        t = x.flatten(2).transpose(1, 2)               # (B, 16 tokens, C)
        return self.fc(self.head(t).mean(1))


def optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)


def make(d):
    torch.manual_seed(0)
    model = Net()
    torch.save(model.state_dict(), f"{d}/init.pt")
    gen = torch.Generator().manual_seed(3)
    xs = torch.randn(STEPS, B, 1, 8, 8, generator=gen)
    ys = (xs.flatten(2).sum(-1).squeeze(-1) * 2).long().clamp(-4, 5) + 4  # learnable classes
    torch.save({"x": xs, "y": ys}, f"{d}/batches.pt")
    opt = optimizer(model)
    model.train()
    losses = []
    for i in range(STEPS):
        loss = nn.functional.cross_entropy(model(xs[i]), ys[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    torch.save({"model": model.state_dict(), "losses": torch.tensor(losses)}, f"{d}/ref.pt")
    print(f"made: torch loss {losses[0]:.4f} -> {losses[-1]:.4f} over {STEPS} steps")


def check(d):
    ref = torch.load(f"{d}/ref.pt")
    out = torch.load(f"{d}/out.pt", weights_only=False)
    sd = out["model"] if "model" in out else out
    worst, where = 0.0, ""
    for k, v in ref["model"].items():
        c = sd[k]
        if v.dtype.is_floating_point:
            e = ((c - v).abs().max() / v.abs().max().clamp_min(1e-6)).item()
        else:
            e = float((c != v).any())
        if e > worst:
            worst, where = e, k
    assert worst <= TOL, f"{where}: relative difference {worst:.3g} > {TOL}"
    model = Net()
    model.load_state_dict(sd, strict=True)
    if "losses" in out:
        lc, lt = out["losses"], ref["losses"]
        el = ((lc - lt).abs() / lt.abs()).max().item()
        assert el <= TOL, f"losses differ by {el:.3g}"
    print(f"checked: max relative difference after {STEPS} steps {worst:.3g} ({where}); "
          f"strict load into the torch class ok")


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
