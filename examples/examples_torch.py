#!/usr/bin/python3
"""examples/ against torch: multi_model's file loads into torch models and
torch's multi-model and DataParallel files load into the C examples."""
import argparse
import os
import subprocess
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("examples_torch: torch is missing; install it with: "
          "sudo apt-get install python3-torch", file=sys.stderr)
    sys.exit(1)

ap = argparse.ArgumentParser()
ap.add_argument("--multi", required=True)
ap.add_argument("--dp", required=True)
ap.add_argument("--workdir", required=True)
a = ap.parse_args()
os.makedirs(a.workdir, exist_ok=True)


def model_a():
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))


def model_b():
    return nn.Linear(3, 2)


def run(*cmd):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    print(r.stdout.strip(), r.stderr.strip())
    if r.returncode != 0:
        sys.exit("FAIL: %s exited %d" % (cmd, r.returncode))
    return r.stdout


# C writes, torch reads (strict)
path = os.path.join(a.workdir, "multi_c.pt")
run(a.multi, path)
ck = torch.load(path)
ma, mb = model_a(), model_b()
ma.load_state_dict(ck["modelA"])
mb.load_state_dict(ck["modelB"])
opt = torch.optim.SGD(list(ma.parameters()), lr=0.5, momentum=0.9)
opt.load_state_dict(ck["optimizerA"])
assert opt.param_groups[0]["lr"] == 0.01, opt.param_groups
assert mb.weight[0, 0].item() == ck["modelB"]["weight"][0, 0].item()

# torch writes, C reads
torch.manual_seed(0)
ma, mb = model_a(), model_b()
opt = torch.optim.SGD(ma.parameters(), lr=0.01, momentum=0.9)
ma(torch.randn(5, 4)).sum().backward()
opt.step()
path = os.path.join(a.workdir, "multi_torch.pt")
torch.save({"modelA": ma.state_dict(), "modelB": mb.state_dict(),
            "optimizerA": opt.state_dict()}, path)
out = run(a.multi, "--load", path)
assert ("%g" % mb.weight[0, 0].item()) in out, out

net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
path = os.path.join(a.workdir, "dp_torch.pt")
torch.save(nn.DataParallel(net).state_dict(), path)
out = run(a.dp, path)
assert ("%g" % net[3].weight[0, 0].item()) in out, out
print("examples against torch: ok")
