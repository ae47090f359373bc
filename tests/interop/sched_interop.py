#!/usr/bin/env python3
"""LR schedulers and GradScaler: ckpt (sched_tool) against real torch 1.13.

For every case: torch steps N times and records the lrs; the C tool does the
same and the lrs must be bit-equal.  Then, at step K: torch's saved state dict
is loaded by C and continued; C's saved state dict (ckpt_save, torch 1.13
layout) is loaded by torch and continued; both continuations must equal
torch's own run bit for bit, and the two saved files must be byte-identical
(except OneCycleLR, whose 1.13 state dict pickles a bound method; ckpt writes
torch 2.x's `_anneal_func_type` tag instead).
"""
import argparse
import math
import os
import subprocess
import sys
import warnings

try:
    import torch
    from torch.optim import lr_scheduler as L
except ImportError:
    sys.exit("sched_interop: torch is missing; install it with: apt-get install python3-torch")

warnings.simplefilter("ignore")
N, K = 50, 20

KINDS = {"step": L.StepLR, "multistep": L.MultiStepLR, "exponential": L.ExponentialLR,
         "cosine": L.CosineAnnealingLR, "warm": L.CosineAnnealingWarmRestarts,
         "linear": L.LinearLR, "constant": L.ConstantLR, "onecycle": L.OneCycleLR,
         "plateau": L.ReduceLROnPlateau}
TORCH_ARGS = {"step_size", "gamma", "milestones", "factor", "total_iters", "start_factor",
              "end_factor", "T_max", "eta_min", "T_0", "T_mult", "max_lr", "total_steps",
              "pct_start", "cycle_momentum", "base_momentum", "max_momentum", "div_factor",
              "final_div_factor", "three_phase", "mode", "patience", "threshold",
              "threshold_mode", "cooldown", "min_lr", "eps", "last_epoch"}

CASES = [
    ("step_a", {"kind": "step", "lr": [0.1, 0.05], "step_size": 3, "gamma": 0.5}),
    ("step_resume", {"kind": "step", "lr": [0.1, 0.3], "initial_lr": [0.2, 0.3],
                     "step_size": 7, "gamma": 0.1, "last_epoch": 4}),
    ("multistep_a", {"kind": "multistep", "lr": [1.0], "milestones": [5, 10, 10, 30],
                     "gamma": 0.3}),
    ("multistep_resume", {"kind": "multistep", "lr": [0.5, 0.7], "initial_lr": [0.1, 0.7],
                          "milestones": [3, 12, 40], "last_epoch": 8}),
    ("exponential_a", {"kind": "exponential", "lr": [0.1, 0.01], "gamma": 0.95}),
    ("exponential_resume", {"kind": "exponential", "lr": [0.3], "initial_lr": [0.3],
                            "gamma": 0.9, "last_epoch": 10}),
    ("cosine_a", {"kind": "cosine", "lr": [0.1, 0.02], "T_max": 10}),
    ("cosine_b", {"kind": "cosine", "lr": [0.1], "T_max": 7, "eta_min": 0.001}),
    ("cosine_resume", {"kind": "cosine", "lr": [0.05], "initial_lr": [0.1], "T_max": 13,
                       "eta_min": 1e-5, "last_epoch": 6}),
    ("warm_a", {"kind": "warm", "lr": [0.1, 0.2], "T_0": 5}),
    ("warm_b", {"kind": "warm", "lr": [0.1], "T_0": 3, "T_mult": 2, "eta_min": 1e-4}),
    ("linear_a", {"kind": "linear", "lr": [0.05, 0.5]}),
    ("linear_b", {"kind": "linear", "lr": [0.1], "start_factor": 0.25, "end_factor": 0.9,
                  "total_iters": 12}),
    ("constant_a", {"kind": "constant", "lr": [0.05]}),
    ("constant_b", {"kind": "constant", "lr": [0.05, 0.2], "factor": 0.5, "total_iters": 4}),
    ("onecycle_a", {"kind": "onecycle", "lr": [0.1, 0.2], "max_lr": [0.1, 0.2],
                    "total_steps": 60}),
    ("onecycle_adam", {"kind": "onecycle", "lr": [0.001], "mom": "betas", "max_lr": [0.01],
                       "total_steps": 55, "three_phase": 1, "anneal": "linear",
                       "pct_start": 0.25}),
    ("onecycle_nomom", {"kind": "onecycle", "lr": [0.1], "max_lr": [0.3], "total_steps": 50,
                        "cycle_momentum": 0, "div_factor": 10.0}),
    ("sequential_a", {"kind": "sequential", "milestones": [2], "children": [
        {"kind": "constant", "lr": [1.0, 0.5], "factor": 0.1, "total_iters": 2},
        {"kind": "exponential", "lr": [1.0, 0.5], "gamma": 0.9}]}),
    ("sequential_b", {"kind": "sequential", "milestones": [5, 20], "children": [
        {"kind": "linear", "lr": [0.1], "start_factor": 0.1, "total_iters": 5},
        {"kind": "cosine", "lr": [0.1], "T_max": 15},
        {"kind": "step", "lr": [0.1], "step_size": 4, "gamma": 0.5}]}),
    ("plateau_a", {"kind": "plateau", "lr": [0.1, 0.05], "patience": 2, "cooldown": 1}),
    ("plateau_b", {"kind": "plateau", "lr": [0.1], "mode": "max", "threshold_mode": "abs",
                   "threshold": 0.01, "patience": 1, "factor": 0.5, "min_lr": [0.002]}),
]


def metrics():
    return [1.0 / (1 + k % 7) + 0.01 * k for k in range(N)]


def cspec(sp):
    parts = []
    for k, v in sp.items():
        if k == "children":
            continue
        if k == "min_lr":
            vals = v if isinstance(v, list) else [v]
            parts.append("min_lrs=" + ",".join(float(x).hex() for x in vals))
            parts.append("min_lr_float=%d" % isinstance(vals[0], float))
            continue
        if k == "eta_min":
            parts.append("eta_min_float=%d" % isinstance(v, float))
        if isinstance(v, list):
            v = ",".join(x.hex() if isinstance(x, float) else str(x) for x in v)
        elif isinstance(v, float):
            v = v.hex()
        parts.append("%s=%s" % (k, v))
    s = ";".join(parts)
    if sp["kind"] == "sequential":
        s += "|" + "|".join(cspec(c) for c in sp["children"])
    return s


def make_opt(sp):
    params = [torch.nn.Parameter(torch.zeros(2)) for _ in sp["lr"]]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, sp["lr"])]
    if "initial_lr" in sp:
        for g, il in zip(groups, sp["initial_lr"]):
            g["initial_lr"] = il
    if sp.get("mom") == "betas":
        return torch.optim.Adam(groups)
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def make_sched(sp, opt):
    if sp["kind"] == "sequential":
        kids = [make_sched(c, opt) for c in sp["children"]]
        return L.SequentialLR(opt, kids, milestones=sp["milestones"])
    args = {k: v for k, v in sp.items() if k in TORCH_ARGS}
    if "anneal" in sp:
        args["anneal_strategy"] = sp["anneal"]
    return KINDS[sp["kind"]](opt, **args)


def top_group_spec(sp):
    return sp["children"][0] if sp["kind"] == "sequential" else sp


def state(sp, opt, sch):
    lrs = sch._last_lr if hasattr(sch, "_last_lr") else [g["lr"] for g in opt.param_groups]
    if top_group_spec(sp).get("mom") == "betas":
        mom = [g["betas"][0] for g in opt.param_groups]
    else:
        mom = [g.get("momentum", 0.0) for g in opt.param_groups]
    return [float(x) for x in lrs], [float(x) for x in mom]


def step(sp, sch, k):
    if sp["kind"] == "plateau":
        sch.step(metrics()[k])
    else:
        sch.step()


def torch_run(sp, start_k=0, load=None, set_lr=None, set_mom=None, save_at=None):
    opt = make_opt(top_group_spec(sp))
    sch = make_sched(sp, opt)
    if load is not None:
        sch.load_state_dict(torch.load(load))
    if set_lr is not None:
        for g, lr in zip(opt.param_groups, set_lr):
            g["lr"] = lr
    if set_mom is not None and sp["kind"] == "onecycle":
        for g, m in zip(opt.param_groups, set_mom):
            if "betas" in g:
                g["betas"] = (m, g["betas"][1])
            else:
                g["momentum"] = m
    out = [state(sp, opt, sch)]
    for k in range(start_k, N):
        if save_at is not None and k == save_at:
            torch.save(sch.state_dict(), save_at_path[0])
        step(sp, sch, k)
        out.append(state(sp, opt, sch))
    return out


save_at_path = [None]


def c_run(tool, sp, nsteps, start_k=0, load=None, save=None, set_lr=None, set_mom=None):
    cmd = [tool, "sched", cspec(sp), str(nsteps)]
    if sp["kind"] == "plateau":
        cmd += ["--metrics", ",".join(m.hex() for m in metrics()[start_k:])]
    if load:
        cmd += ["--load", load]
    if save:
        cmd += ["--save", save]
    if set_lr:
        cmd += ["--set-lr", ",".join(x.hex() for x in set_lr)]
    if set_mom:
        cmd += ["--set-mom", ",".join(x.hex() for x in set_mom)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("sched_tool failed: %s\n%s" % (" ".join(cmd), r.stderr))
    out = []
    for line in r.stdout.splitlines():
        a, b = line.split("|")
        out.append(([float.fromhex(x) for x in a.split()], [float.fromhex(x) for x in b.split()]))
    return out


class Cmp:
    def __init__(self):
        self.max_rel = 0.0
        self.unequal = 0
        self.failures = []

    def check(self, name, want, got, with_mom):
        if len(want) != len(got):
            self.failures.append("%s: %d states vs %d" % (name, len(want), len(got)))
            return
        for i, ((wl, wm), (gl, gm)) in enumerate(zip(want, got)):
            pairs = list(zip(wl, gl)) + (list(zip(wm, gm)) if with_mom else [])
            for w, g in pairs:
                if w != g:
                    self.unequal += 1
                    rel = abs(w - g) / max(abs(w), 1e-300)
                    self.max_rel = max(self.max_rel, rel)
                    if rel > 1e-12:
                        self.failures.append("%s: state %d: torch %r, ckpt %r" % (name, i, w, g))
                        return


EPOCHS = [3, 0, 7, 7, 1, 12, 30, 5, 18, 2, 44, 9, 6, 25, 13, 40, 11, 4, 8, 10]


def closed_form_case(tool, name, sp, cmp):
    """step(epoch): torch's _get_closed_form_lr (warm restarts: their own epoch rule)."""
    opt = make_opt(sp)
    sch = make_sched(sp, opt)
    want = [state(sp, opt, sch)]
    for e in EPOCHS:
        sch.step(e)
        want.append(state(sp, opt, sch))
    cmd = [tool, "sched", cspec(sp), str(len(EPOCHS)), "--epochs",
           ",".join(str(e) for e in EPOCHS)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        cmp.failures.append("%s closed form: %s" % (name, r.stderr))
        return
    got = []
    for line in r.stdout.splitlines():
        a, b = line.split("|")
        got.append(([float.fromhex(x) for x in a.split()], [float.fromhex(x) for x in b.split()]))
    cmp.check(name + " closed form", want, got, False)


def scaler_case(tool, work, cmp):
    """GradScaler: update rule vs a Python model of torch's _amp_update_scale_ kernel
    (the op has no CPU kernel in 1.13), state dict through torch's own state_dict()."""
    from torch.cuda.amp import GradScaler
    flags = "0001000100000000100000001111000000000000"
    init, gf, bf, gi = 1024.0, 2.0, 0.5, 3
    f32 = lambda x: torch.tensor(x, dtype=torch.float32).item()
    scale, tracker, want = f32(init), 0, []
    for f in flags:
        if f == "1":
            scale, tracker = f32(scale * bf), 0
        else:
            s = tracker + 1
            if s == gi:
                ns = f32(scale * gf)
                if math.isfinite(ns):
                    scale = ns
                tracker = 0
            else:
                tracker = s
        want.append((scale, tracker))
    out = os.path.join(work, "c_scaler", "scaler.pt")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = subprocess.run([tool, "scaler", init.hex(), gf.hex(), bf.hex(), str(gi), flags, out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        cmp.failures.append("scaler tool: " + r.stderr)
        return
    lines = r.stdout.splitlines()
    got = [(float.fromhex(l.split()[0]), int(l.split()[1])) for l in lines[:-1]]
    if got != want:
        cmp.failures.append("scaler: update sequence differs: %r vs %r" % (got[:8], want[:8]))
    inv = torch.tensor(scale, dtype=torch.float64).reciprocal().float()
    g = torch.tensor([1.0, -2.5, 3e-3, 7.0], dtype=torch.float32) * inv
    gw = [float(x) for x in g]
    gc = [float.fromhex(x) for x in lines[-1].split()[2:]]
    if gw != gc or lines[-1].split()[1] != "0":
        cmp.failures.append("scaler: unscale differs: %r vs %r" % (gw, gc))
    gs = GradScaler.__new__(GradScaler)
    gs._enabled = True
    gs._scale = torch.full((1,), scale, dtype=torch.float32)
    gs._growth_tracker = torch.full((1,), tracker, dtype=torch.int32)
    gs._growth_factor, gs._backoff_factor, gs._growth_interval = gf, bf, gi
    tpath = os.path.join(work, "torch_scaler", "scaler.pt")
    os.makedirs(os.path.dirname(tpath), exist_ok=True)
    torch.save(gs.state_dict(), tpath)
    if open(tpath, "rb").read() != open(out, "rb").read():
        cmp.failures.append("scaler: state dict bytes differ from torch.save's")
    sd = torch.load(out)
    gs2 = GradScaler.__new__(GradScaler)
    gs2._enabled = True
    gs2._scale = None
    gs2._growth_tracker = None
    gs2.load_state_dict(sd)
    if gs2.state_dict() != gs.state_dict():
        cmp.failures.append("scaler: torch reloads %r, expected %r" % (gs2.state_dict(),
                                                                      gs.state_dict()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    cmp = Cmp()
    identical = closed = 0
    for name, sp in CASES:
        oc = sp["kind"] == "onecycle" and sp.get("cycle_momentum", 1) != 0
        no_bytes = sp["kind"] == "onecycle"
        ref = torch_run(sp)
        cmp.check(name + " run", ref, c_run(a.tool, sp, N), oc)
        # torch -> C at step K
        tdir = os.path.join(a.workdir, "torch", name)
        cdir = os.path.join(a.workdir, "c", name)
        os.makedirs(tdir, exist_ok=True)
        os.makedirs(cdir, exist_ok=True)
        tfile, cfile = os.path.join(tdir, "sched.pt"), os.path.join(cdir, "sched.pt")
        save_at_path[0] = tfile
        torch_run(sp, save_at=K)
        lr_k, mom_k = ref[K]
        got = c_run(a.tool, sp, N - K, start_k=K, load=tfile, set_lr=lr_k,
                    set_mom=mom_k if oc else None)
        cmp.check(name + " torch->C", ref[K:], got, oc)
        # C -> torch at step K
        c_run(a.tool, sp, K, save=cfile)
        got = torch_run(sp, start_k=K, load=cfile, set_lr=lr_k, set_mom=mom_k)
        cmp.check(name + " C->torch", ref[K:], got, oc)
        if not no_bytes:
            if open(tfile, "rb").read() != open(cfile, "rb").read():
                cmp.failures.append("%s: state dict bytes differ from torch.save's" % name)
            else:
                identical += 1
        if sp["kind"] in ("step", "multistep", "exponential", "cosine", "linear", "constant",
                          "warm"):
            closed_form_case(a.tool, name, sp, cmp)
            closed += 1
    scaler_case(a.tool, a.workdir, cmp)
    print("sched_interop: %d cases (%d also in closed form), %d state dicts byte-identical, "
          "%d unequal values, max relative difference %.3g"
          % (len(CASES), closed, identical, cmp.unequal, cmp.max_rel))
    for f in cmp.failures:
        print("FAIL", f)
    return 1 if cmp.failures else 0


if __name__ == "__main__":
    sys.exit(main())
