#!/usr/bin/env python3
"""tests/guide/resume_torch.py - torch's side of the new-user task of
docs/TRAINING.md (examples/guide/resume_torch.c):

  make DIR   train Net with AdamW + CosineAnnealingLR for 20 steps and save the
             training checkpoint DIR/start.pt ({epoch, model, optimizer,
             scheduler}); save the 40 batches of the next steps (DIR/batches.pt)
             and torch's own continuation of those 40 steps (DIR/ref.pt).
  check DIR  load the checkpoint C wrote (DIR/out.pt) strictly into the same
             classes, compare parameters and optimizer state with torch's
             continuation, resume one more step in torch.
"""
import sys

import torch
from torch import nn

STEPS_BEFORE, STEPS_C, B, IN, HID, OUT = 20, 40, 32, 16, 64, 5
TOL = 1e-5


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(IN, HID)
        self.fc2 = nn.Linear(HID, HID)
        self.head = nn.Linear(HID, OUT)

    def forward(self, x):
        return self.head(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def build():
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS_BEFORE + STEPS_C,
                                                       eta_min=1e-4)
    return model, opt, sched


def batches(gen, n):
    xs = torch.randn(n, B, IN, generator=gen)
    w = torch.randn(IN, OUT, generator=gen)
    ys = (xs @ w).argmax(-1)  # a learnable rule
    return xs, ys


def step(model, opt, sched, x, y):
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return loss.item()


def make(d):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    model, opt, sched = build()
    xs, ys = batches(gen, STEPS_BEFORE + STEPS_C)
    for i in range(STEPS_BEFORE):
        step(model, opt, sched, xs[i], ys[i])
    torch.save({"epoch": STEPS_BEFORE, "model": model.state_dict(),
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict()},
               f"{d}/start.pt")
    torch.save({"x": xs[STEPS_BEFORE:].contiguous(), "y": ys[STEPS_BEFORE:].contiguous()},
               f"{d}/batches.pt")
    losses = [step(model, opt, sched, xs[i], ys[i])
              for i in range(STEPS_BEFORE, STEPS_BEFORE + STEPS_C)]
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "losses": torch.tensor(losses)},
               f"{d}/ref.pt")
    print(f"made: loss {losses[0]:.4f} -> {losses[-1]:.4f} over torch's {STEPS_C} steps")


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-6)).item()


def check(d):
    ref = torch.load(f"{d}/ref.pt")
    out = torch.load(f"{d}/out.pt", weights_only=False)
    assert out["epoch"] == STEPS_BEFORE + STEPS_C, out["epoch"]
    model, opt, sched = build()
    model.load_state_dict(out["model"], strict=True)
    opt.load_state_dict(out["optimizer"])
    sched.load_state_dict(out["scheduler"])
    worst = 0.0
    for k, v in ref["model"].items():
        e = rel(out["model"][k], v)
        worst = max(worst, e)
        assert e <= TOL, f"parameter {k}: relative difference {e:.3g} > {TOL}"
    for i, st in ref["optimizer"]["state"].items():
        for key in ("exp_avg", "exp_avg_sq"):
            e = rel(out["optimizer"]["state"][i][key], st[key])
            assert e <= 1e-4, f"optimizer state {i}.{key}: {e:.3g}"
        assert float(out["optimizer"]["state"][i]["step"]) == float(st["step"])
    assert sched.last_epoch == ref["scheduler"]["last_epoch"], sched.last_epoch
    lr_c, lr_t = opt.param_groups[0]["lr"], ref["optimizer"]["param_groups"][0]["lr"]
    assert abs(lr_c - lr_t) <= 1e-12 * max(1.0, abs(lr_t)), (lr_c, lr_t)
    # torch resumes from C's checkpoint
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(B, IN, generator=gen), torch.randint(0, OUT, (B,), generator=gen)
    loss = step(model, opt, sched, x, y)
    print(f"checked: max relative parameter difference vs torch {worst:.3g} (<= {TOL}); "
          f"lr {lr_c:.6g}; torch resumed one step, loss {loss:.4f}")


if __name__ == "__main__":
    {"make": make, "check": check}[sys.argv[1]](sys.argv[2])
