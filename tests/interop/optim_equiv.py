#!/usr/bin/env python3
"""Optimizers: ckpt (optim_tool) against torch 1.13.

For each case: torch and C run 20 steps from the same parameters on the same
gradient sequence (parameter 0 has no gradient at step 0); the parameters and
every state tensor are compared (max relative difference printed; the bound is
1e-6), and the optimizer state dicts saved by torch.save and by ckpt_save must
be byte-identical.  Resume: torch's state after 10 steps is loaded by C and
continued, and C's is loaded by torch and continued; both must match torch's
uninterrupted run.  Without torch this fails with the install command."""
import argparse
import os
import subprocess
import sys

try:
    import torch
except ImportError:
    sys.exit("optim_equiv: torch is missing: apt-get install python3-torch")

KINDS = {"SGD": 1, "Adam": 2, "AdamW": 3, "RMSprop": 4, "Adagrad": 5}
SHAPES = [(3, 5), (7,), (2, 3, 3), (33,)]
STEPS, HALF = 20, 10
TOL = 1e-6

# (name, optimizer, defaults kwargs, [(nparams, group kwargs), ...])
CASES = [
    ("sgd_plain", "SGD", "lr=0.1", [(4, "")]),
    ("sgd_momentum", "SGD", "lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01",
     [(4, "")]),
    ("sgd_nesterov_max", "SGD", "lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001, "
     "maximize=True", [(4, "")]),
    ("sgd_groups", "SGD", "lr=0.1, momentum=0.5", [(2, "lr=0.01"), (2, "")]),
    ("adam", "Adam", "lr=0.01", [(4, "")]),
    ("adam_amsgrad", "Adam", "lr=0.02, amsgrad=True, weight_decay=0.1, maximize=True",
     [(4, "")]),
    ("adam_groups", "Adam", "lr=0.001", [(1, "lr=0.05, betas=(0.8, 0.9)"), (3, "")]),
    ("adamw", "AdamW", "lr=0.01", [(4, "")]),
    ("adamw_amsgrad", "AdamW", "lr=0.01, amsgrad=True, weight_decay=0.05, eps=1e-06",
     [(2, ""), (2, "lr=0.003")]),
    ("rmsprop", "RMSprop", "lr=0.01", [(4, "")]),
    ("rmsprop_centered", "RMSprop", "lr=0.01, momentum=0.9, centered=True, "
     "weight_decay=0.01, maximize=True", [(4, "")]),
    ("rmsprop_momentum", "RMSprop", "lr=0.001, momentum=0.5, alpha=0.9", [(3, ""), (1, "lr=0.1")]),
    ("adagrad", "Adagrad", "lr=0.1", [(4, "")]),
    ("adagrad_decay", "Adagrad", "lr=0.1, lr_decay=0.01, weight_decay=0.01, "
     "initial_accumulator_value=0.1, maximize=True", [(2, ""), (2, "lr=0.5")]),
]


def kw(s):
    return eval("dict(%s)" % s)  # test-only: our own literals


def make_params(init):
    return [torch.nn.Parameter(t.clone()) for t in init]


def make_opt(opt, defaults, groups, params):
    gl, k = [], 0
    for n, g in groups:
        d = {"params": params[k:k + n]}
        d.update(kw(g))
        gl.append(d)
        k += n
    return getattr(torch.optim, opt)(gl, **kw(defaults))


def run_torch(opt, params, grads, first, n):
    for s in range(first, first + n):
        for i, p in enumerate(params):
            p.grad = None if (s == 0 and i == 0) else grads[s][i].clone()
        opt.step()


def rel(a, b):
    a = a.double()
    b = b.double()
    d = (a - b).abs()
    den = b.abs().clamp_min(1e-30)
    return float((d / den).max()) if a.numel() else 0.0, bool(torch.equal(a, b))


def read_params(path, shapes):
    flat = torch.frombuffer(bytearray(open(path, "rb").read()), dtype=torch.float32)
    out, k = [], 0
    for s in shapes:
        n = 1
        for d in s:
            n *= d
        out.append(flat[k:k + n].reshape(s).clone())
        k += n
    return out


def compare(label, ps_a, ps_b, sd_a, sd_b, report):
    worst, bit = 0.0, True
    for a, b in zip(ps_a, ps_b):
        r, e = rel(a, b)
        worst, bit = max(worst, r), bit and e
    for k in sd_b["state"]:
        for key, vb in sd_b["state"][k].items():
            va = sd_a["state"][k][key]
            if torch.is_tensor(vb):
                r, e = rel(va, vb)
                worst, bit = max(worst, r), bit and e
            elif va != vb:
                report.append("%s: state %s %s differs: %r vs %r" % (label, k, key, va, vb))
    if list(sd_a["state"].keys()) != list(sd_b["state"].keys()):
        report.append("%s: state keys differ" % label)
    if sd_a["param_groups"] != sd_b["param_groups"]:
        report.append("%s: param_groups differ: %r vs %r" % (label, sd_a["param_groups"],
                                                           sd_b["param_groups"]))
    if worst > TOL:
        report.append("%s: max relative difference %.3g > %g" % (label, worst, TOL))
    return worst, bit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    torch.manual_seed(1234)
    failures = []
    for name, opt, defaults, groups in CASES:
        wd = os.path.join(a.workdir, name)
        for sub in ("t20", "c20", "t10", "c10", "cres"):
            os.makedirs(os.path.join(wd, sub), exist_ok=True)
        np_ = sum(n for n, _ in groups)
        shapes = SHAPES[:np_]
        init = [torch.randn(s) for s in shapes]
        grads = [[torch.randn(s) for s in shapes] for _ in range(STEPS)]
        spec = os.path.join(wd, "spec.txt")
        with open(spec, "w") as f:
            f.write("%d\n%s\n%d\n" % (KINDS[opt], defaults, len(groups)))
            for n, g in groups:
                f.write("%d %s\n" % (n, g))
            for s in shapes:
                f.write("%d %s\n" % (len(s), " ".join(str(d) for d in s)))
        with open(os.path.join(wd, "init.bin"), "wb") as f:
            f.write(b"".join(t.numpy().tobytes() for t in init))
        with open(os.path.join(wd, "grads.bin"), "wb") as f:
            f.write(b"".join(t.numpy().tobytes() for step in grads for t in step))

        def tool(init_path, first, n, load, out_dir):
            out_p = os.path.join(wd, out_dir, "params.bin")
            out_sd = os.path.join(wd, out_dir, "sd.pt")
            r = subprocess.run([a.tool, spec, init_path, os.path.join(wd, "grads.bin"),
                                str(first), str(n), load, out_p, out_sd],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("%s: optim_tool failed: %s" % (name, r.stderr.strip()))
            return out_p, out_sd

        try:
            # torch: 10 steps (saved), then 10 more (saved)
            tp = make_params(init)
            to = make_opt(opt, defaults, groups, tp)
            run_torch(to, tp, grads, 0, HALF)
            torch.save(to.state_dict(), os.path.join(wd, "t10", "sd.pt"))
            t10_params = [p.detach().clone() for p in tp]
            with open(os.path.join(wd, "t10", "params.bin"), "wb") as f:
                f.write(b"".join(t.numpy().tobytes() for t in t10_params))
            run_torch(to, tp, grads, HALF, STEPS - HALF)
            t20_sd_path = os.path.join(wd, "t20", "sd.pt")
            torch.save(to.state_dict(), t20_sd_path)
            t_params = [p.detach().clone() for p in tp]
            t_sd = torch.load(t20_sd_path)

            # C: 20 steps from the start
            cp, csd = tool(os.path.join(wd, "init.bin"), 0, STEPS, "-", "c20")
            w1, b1 = compare(name + " 20 steps", read_params(cp, shapes), t_params,
                             torch.load(csd), t_sd, failures)
            same = open(csd, "rb").read() == open(t20_sd_path, "rb").read()
            if not same:
                failures.append("%s: saved state dicts are not byte-identical" % name)

            # torch's state at 10 -> C continues
            cp, csd = tool(os.path.join(wd, "t10", "params.bin"), HALF, STEPS - HALF,
                           os.path.join(wd, "t10", "sd.pt"), "cres")
            w2, b2 = compare(name + " torch->C resume", read_params(cp, shapes), t_params,
                             torch.load(csd), t_sd, failures)

            # C's state at 10 -> torch continues
            cp, csd = tool(os.path.join(wd, "init.bin"), 0, HALF, "-", "c10")
            rp = make_params(read_params(cp, shapes))
            ro = make_opt(opt, defaults, groups, rp)
            ro.load_state_dict(torch.load(csd))
            run_torch(ro, rp, grads, HALF, STEPS - HALF)
            w3, b3 = compare(name + " C->torch resume", [p.detach() for p in rp], t_params,
                             ro.state_dict(), to.state_dict(), failures)
            print("%-18s max rel diff %.3g (20 steps, bit-equal %s), %.3g (torch->C), "
                  "%.3g (C->torch); state dict bytes identical: %s"
                  % (name, w1, b1, w2, w3, same))
        except Exception as e:  # report and go on
            failures.append("%s: %s" % (name, e))
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
