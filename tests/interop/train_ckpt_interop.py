#!/usr/bin/env python3
"""Training checkpoints (ckpt/train.h) across torch 1.13 and ckpt.

A checkpoint is what a torch user writes:
    torch.save({'epoch', 'model', 'optimizer', 'scheduler', 'scaler', **extras}, path)
with AdamW(lr=0.01) + CosineAnnealingLR(T_max=20) + GradScaler state, and
again with SGD(nesterov) over two parameter groups + MultiStepLR ("groups").
train_ckpt_tool (C, public API only) and this script train the same model on
the same fixed gradients (see train_ckpt_tool.c).

torch -> C: torch trains K steps and saves; C restores it (ckpt_train_load),
  trains M steps and saves; torch continues its own run M steps.  torch then
  restores C's file strictly into fresh objects (model.load_state_dict strict,
  optimizer/scheduler.load_state_dict, GradScaler state) and both go on R steps.
C -> torch: C trains K steps and saves; torch restores it strictly and trains M
  steps; C restores the same file and trains M steps.
Every parameter, optimizer state tensor, param_group, scheduler state, scaler
state, epoch and extra must be equal (bit for bit; Python types included)."""
import argparse, os, subprocess, sys

try:
    import numpy as np
    import torch
    from torch import nn
except Exception as e:  # pragma: no cover
    print(f"SKIPPED: interop_train_ckpt: torch/numpy not importable ({e})")
    sys.exit(77)

K, M, R = 7, 9, 3
EXTRAS = ("best", "note", "ema")


CONFIG = "adamw"


def build():
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    with torch.no_grad():
        for pi, p in enumerate(model.parameters()):
            i = np.arange(p.numel())
            v = ((3 * i + 5 * pi) % 11 - 5).astype(np.float32) / np.float32(10)
            p.copy_(torch.from_numpy(v).view_as(p))
    if CONFIG == "groups":
        named = list(model.named_parameters())
        opt = torch.optim.SGD(
            [{"params": [p for n, p in named if n.endswith("bias")]},
             {"params": [p for n, p in named if not n.endswith("bias")], "weight_decay": 1e-4}],
            lr=0.05, momentum=0.9, nesterov=True)
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[5, 12], gamma=0.3)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)
    scaler = {"scale": 1024.0, "growth_factor": 2.0, "backoff_factor": 0.5,
              "growth_interval": 20, "_growth_tracker": 3}
    return {"epoch": 0, "model": model, "opt": opt, "sched": sched, "scaler": scaler}


def train(r, n):
    for _ in range(n):
        s = r["epoch"]
        for pi, p in enumerate(r["model"].parameters()):
            i = np.arange(p.numel())
            g = ((7 * i + 13 * s + 3 * pi) % 17 - 8).astype(np.float32) / np.float32(8)
            p.grad = torch.from_numpy(g).view_as(p).clone()
        r["opt"].step()
        r["sched"].step()
        r["epoch"] += 1


def save(r, path, extras):
    torch.save({"epoch": r["epoch"], "model": r["model"].state_dict(),
                "optimizer": r["opt"].state_dict(), "scheduler": r["sched"].state_dict(),
                "scaler": dict(r["scaler"]), **extras}, path)


def restore(path):
    """Strict restore into fresh objects, as a torch user resumes."""
    ck = torch.load(path)
    r = build()
    missing = r["model"].load_state_dict(ck["model"], strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys
    r["opt"].load_state_dict(ck["optimizer"])
    r["sched"].load_state_dict(ck["scheduler"])
    gs = torch.cuda.amp.GradScaler(enabled=False)
    gs.load_state_dict(ck["scaler"])  # a no-op when disabled (CPU); checked below as a dict
    r["scaler"] = dict(ck["scaler"])
    r["epoch"] = ck["epoch"]
    return r, ck


def same(a, b, where, fails):
    """Equal values and Python types, tensors bit for bit."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        ok = (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
              and a.shape == b.shape and torch.equal(a, b))
        if not ok:
            d = (a.double() - b.double()).abs().max().item() if (
                isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape) else None
            fails.append(f"{where}: tensors differ (max |diff| {d})")
        return
    if type(a) is not type(b):
        fails.append(f"{where}: {type(a).__name__} vs {type(b).__name__}")
        return
    if isinstance(a, dict):
        if list(a.keys()) != list(b.keys()):
            fails.append(f"{where}: keys {list(a.keys())} vs {list(b.keys())}")
            return
        for k in a:
            same(a[k], b[k], f"{where}.{k}", fails)
    elif isinstance(a, (list, tuple)):
        if len(a) != len(b):
            fails.append(f"{where}: length {len(a)} vs {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}.{i}", fails)
    elif a != b:
        fails.append(f"{where}: {a!r} vs {b!r}")


def compare(x, y, tag, fails):
    same(x["epoch"], y["epoch"], f"{tag}: epoch", fails)
    same(x["model"].state_dict(), y["model"].state_dict(), f"{tag}: model", fails)
    same(x["opt"].state_dict(), y["opt"].state_dict(), f"{tag}: optimizer", fails)
    same(x["sched"].state_dict(), y["sched"].state_dict(), f"{tag}: scheduler", fails)
    same(x["scaler"], y["scaler"], f"{tag}: scaler", fails)
    same([g["lr"] for g in x["opt"].param_groups], [g["lr"] for g in y["opt"].param_groups],
         f"{tag}: live lrs", fails)


def main():
    global CONFIG
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    w = lambda n: os.path.join(a.workdir, n)
    fails = []

    def tool(*args):
        pre = ["groups"] if CONFIG == "groups" else []
        subprocess.run([a.tool, *pre, *map(str, args)], check=True)

    for CONFIG in ("adamw", "groups"):
        one_config(a, w, tool, fails)
    print(f"train_ckpt_interop: {len(fails)} mismatches; configs adamw+cosine and "
          f"sgd-groups+multistep, epochs {K}+{M}+{R}")
    for f in fails[:40]:
        print("  " + f)
    sys.exit(1 if fails else 0)


def one_config(a, w, tool, fails):
    w0 = w
    w = lambda n: w0(CONFIG + "_" + n)

    # torch -> C -> torch
    t = build()
    train(t, K)
    ema = torch.tensor([1.0, 2.0, -3.0, 0.5])
    save(t, w("torch_k.pt"), {"best": 0.5, "note": "from torch", "ema": ema})
    tool("resume", w("torch_k.pt"), w("c_km.pt"), M)
    train(t, M)
    c, ck = restore(w("c_km.pt"))
    compare(c, t, "torch->C", fails)
    same({k: ck[k] for k in EXTRAS}, {"best": 0.5, "note": "from torch", "ema": ema + 1},
         "torch->C: extras", fails)
    same(list(ck.keys()), ["epoch", "model", "optimizer", "scheduler", "scaler", *EXTRAS],
         "torch->C: top-level keys", fails)
    train(c, R)
    train(t, R)
    compare(c, t, "torch->C, torch resumed", fails)

    # C -> torch, and C -> C
    tool("fresh", w("c_k.pt"), K)
    t2, ck2 = restore(w("c_k.pt"))
    ref = build()
    train(ref, K)
    compare(t2, ref, "C fresh vs torch", fails)
    train(t2, M)
    tool("resume", w("c_k.pt"), w("c_k_m.pt"), M)
    c2, ck3 = restore(w("c_k_m.pt"))
    compare(c2, t2, "C->torch", fails)
    same(ck3["note"], "from C", "C->torch: extras", fails)
    if CONFIG == "groups":
        same(len(t["opt"].param_groups), 2, "groups: count", fails)
        return
    # ckpt_module_save / ckpt_module_load: torch.save(model.state_dict()) both ways,
    # and sub_key "model" of a torch training checkpoint
    tool("msave", w("c_model.pt"))
    m = build()["model"]
    sd = torch.load(w("c_model.pt"))
    same(type(sd).__name__, "OrderedDict", "module_save: type", fails)
    same(getattr(sd, "_metadata", None), m.state_dict()._metadata, "module_save: _metadata", fails)
    r = m.load_state_dict(sd, strict=True)
    same(sd, build()["model"].state_dict(), "module_save: tensors", fails)
    torch.save(t["model"].state_dict(), w("torch_model.pt"))
    tool("mload", w("torch_model.pt"), "-", w("c_model2.pt"))
    same(torch.load(w("c_model2.pt")), t["model"].state_dict(), "module_load", fails)
    tool("mload", w("torch_k.pt"), "model", w("c_model3.pt"))
    same(torch.load(w("c_model3.pt")), torch.load(w("torch_k.pt"))["model"],
         "module_load sub_key model", fails)



if __name__ == "__main__":
    main()
