#!/usr/bin/env python3
"""Training resumes across torch 1.13 and ckpt (tests 5b/5c of issue 6).

5b: torch trains K steps and saves {'step', 'model', 'optimizer', 'scheduler',
'scaler'}; train_tool (C) resumes M steps; torch continues the same M steps;
the results must agree.  5c: the reverse (C trains K and saves, torch
resumes M, C continues M).  Model, batches, optimizers and schedulers are
those of tests/interop/train_tool.c; the batch order is written here.
Reports, per combination, the largest relative difference (max|c - t| /
max|t| per tensor) over every parameter and optimizer state tensor."""
import argparse, collections, gzip, os, subprocess, sys

import numpy as np
import torch
from torch import nn

K, M, B, TOTAL = 20, 50, 32, 70  # TOTAL: train_tool.c's TOTAL_STEPS
TOL = 1e-5
COMBOS = [("sgd", "step", 0), ("adam", "step", 0), ("adamw", "step", 0),
          ("sgd", "onecycle", 0), ("adam", "onecycle", 0), ("adamw", "onecycle", 0),
          ("sgd", "step", 1), ("adam", "onecycle", 1)]


def build(opt_name, sched_name, seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    elif opt_name == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=0.001)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=0.001, weight_decay=0.01)
    if sched_name == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=0.1 if opt_name == "sgd" else 0.01, total_steps=TOTAL)
    else:
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    # GradScaler is CUDA-only in 1.13 (disabled on CPU): its float32 arithmetic here
    scaler = {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
              "growth_interval": 20, "_growth_tracker": 0}
    return model, opt, sched, scaler


def sched_sd(sched):
    sd = sched.state_dict()
    if "anneal_func" in sd:  # 1.13 pickles a bound method; write 2.x's string instead
        sd = collections.OrderedDict(
            (("_anneal_func_type", "cos") if k == "anneal_func" else (k, v)) for k, v in sd.items())
        sd = dict(sd)
    return sd


def save(path, step, model, opt, sched, scaler):
    torch.save({"step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched_sd(sched), "scaler": dict(scaler)}, path)


def load(path, model, opt, sched, scaler):
    ck = torch.load(path, weights_only=False)
    model.load_state_dict(ck["model"], strict=True)
    opt.load_state_dict(ck["optimizer"])
    sd = dict(ck["scheduler"])
    sd.pop("_anneal_func_type", None)
    sched.load_state_dict(sd)
    scaler.update(ck["scaler"])
    return ck["step"]


def train(model, opt, sched, scaler, use_scaler, X, Y, order, start, n):
    lossf = nn.CrossEntropyLoss()
    for s in range(start, start + n):
        idx = order[s]
        loss = lossf(model(X[idx]), Y[idx])
        opt.zero_grad()
        if use_scaler:
            scale = torch.tensor(scaler["scale"], dtype=torch.float32)
            (loss * scale).backward()
            inv = scale.double().reciprocal().float()
            found = False
            for p in model.parameters():
                p.grad.mul_(inv)
                found = found or not bool(torch.isfinite(p.grad).all())
            if not found:
                opt.step()
            if found:
                scaler["scale"] = float(scale * scaler["backoff_factor"])
                scaler["_growth_tracker"] = 0
            else:
                scaler["_growth_tracker"] += 1
                if scaler["_growth_tracker"] == scaler["growth_interval"]:
                    scaler["scale"] = float(scale * scaler["growth_factor"])
                    scaler["_growth_tracker"] = 0
        else:
            loss.backward()
            opt.step()
        sched.step()


def tensors(model, opt):
    out = {f"model.{k}": v for k, v in model.state_dict().items()}
    for i, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 0:
                out[f"state.{i}.{k}"] = v
    return out


def compare(c_path, model, opt, sched, scaler, combo):
    cm, co, cs, cg = build(*combo[:2])
    load(c_path, cm, co, cs, cg)
    a, b = tensors(cm, co), tensors(model, opt)
    assert list(a) == list(b), (list(a), list(b))
    worst = 0.0
    for k in a:
        denom = b[k].abs().max().item() or 1.0
        worst = max(worst, (a[k] - b[k]).abs().max().item() / denom)
    lr_c, lr_t = co.param_groups[0]["lr"], opt.param_groups[0]["lr"]
    same_sched = cs.last_epoch == sched.last_epoch and abs(lr_c - lr_t) <= 1e-12 * abs(lr_t)
    same_scaler = cg == scaler
    return worst, same_sched and same_scaler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    torch.set_num_threads(1)
    raw = np.loadtxt(gzip.open(a.data, "rt"), delimiter=",", dtype=np.int64)
    X = torch.from_numpy(raw[:, :64].astype(np.float32) / np.float32(16))
    Y = torch.from_numpy(raw[:, 64])
    rs = np.random.RandomState(0)
    order = np.concatenate([rs.permutation(len(raw)) for _ in range(4)])[:(K + M) * B]
    order = order.reshape(K + M, B)
    order_path = os.path.join(a.workdir, "order.txt")
    np.savetxt(order_path, order, fmt="%d")
    order = torch.from_numpy(order)
    failed = 0
    for combo in COMBOS:
        opt_name, sched_name, sc = combo
        tag = f"{opt_name}+{sched_name}{'+scaler' if sc else ''}"
        w = lambda n: os.path.join(a.workdir, f"{tag}_{n}.pt")
        tool = lambda *args: subprocess.run([a.tool, "run", a.data, order_path, opt_name,
                                             sched_name, str(sc), *map(str, args)], check=True)
        # 5b: torch K steps -> C M steps, vs torch K + M steps
        model, opt, sched, scaler = build(opt_name, sched_name)
        train(model, opt, sched, scaler, sc, X, Y, order, 0, K)
        save(w("torch_k"), K, model, opt, sched, scaler)
        train(model, opt, sched, scaler, sc, X, Y, order, K, M)
        tool(w("torch_k"), K, M, w("c_from_torch"))
        d_b, ok_b = compare(w("c_from_torch"), model, opt, sched, scaler, combo)
        # 5c: C K steps -> torch M steps, vs C K + M steps
        tool("-", 0, K, w("c_k"))
        model, opt, sched, scaler = build(opt_name, sched_name, seed=1)
        assert load(w("c_k"), model, opt, sched, scaler) == K
        train(model, opt, sched, scaler, sc, X, Y, order, K, M)
        tool(w("c_k"), K, M, w("c_km"))
        d_c, ok_c = compare(w("c_km"), model, opt, sched, scaler, combo)
        good = d_b <= TOL and d_c <= TOL and ok_b and ok_c
        failed += not good
        print(f"{tag:24s} torch->C max rel diff {d_b:.3e}   C->torch {d_c:.3e}   "
              f"scheduler/scaler state equal: {ok_b and ok_c}   {'ok' if good else 'FAIL'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
