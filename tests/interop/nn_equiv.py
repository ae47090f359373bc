#!/usr/bin/python3
"""Layer library vs torch 1.13, both directions (CTest interop_nn_equiv).

    /usr/bin/python3 tests/interop/nn_equiv.py --tool build/tests/nn_equiv_tool --workdir DIR

For each model (MLP; LeNet-style CNN with BatchNorm2d/1d; ResNet basic
blocks with downsample; 2-layer TransformerEncoder post-norm/relu/batch_first
and pre-norm/gelu/sequence-first):

  torch -> C: torch builds the model with random weights (and random
      BatchNorm running statistics), saves state_dict() and an input; C loads
      the state dict strictly, runs forward; outputs must match.  In train
      mode (models whose train forward is deterministic: BatchNorm, no
      Dropout) the updated running_mean/var and num_batches_tracked must
      match too.  Dropout (transformers) is only compared in eval mode: torch's
      generator cannot be reproduced.
  C -> torch: C builds the model with its own initialisation, saves its
      state_dict (ckpt_module_state_dict + ckpt_save) and its eval output;
      torch loads it with strict=True and must give the same output.

Closeness per tensor: max |c - t| / max(max |t|, 1e-6) <= 1e-5 (t torch, c C);
integer buffers must be equal.  Fails (never skips) without torch.
"""
import argparse
import collections
import copy
import os
import subprocess
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    sys.exit("nn_equiv: torch is missing: apt-get install python3-torch")

TOL = 1e-5
torch.set_num_threads(1)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2), BasicBlock(16, 16, 1))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(name):
    if name == "mlp":
        return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.GELU(),
                             nn.Linear(64, 10))
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(),
                             nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120),
                             nn.BatchNorm1d(120), nn.ReLU(), nn.Linear(120, 84), nn.SiLU(),
                             nn.Linear(84, 10), nn.LogSoftmax(dim=1))
    if name == "resnet":
        return ResNet()
    pre = name == "transformer_pre"
    layer = nn.TransformerEncoderLayer(32, 4, 64, 0.1, activation="gelu" if pre else "relu",
                                       batch_first=not pre, norm_first=pre)
    return nn.TransformerEncoder(layer, 2)


def make_input(name, batch, gen):
    shape = {"mlp": (batch, 32), "lenet": (batch, 1, 28, 28), "resnet": (batch, 3, 32, 32),
             "transformer": (batch, 16, 32), "transformer_pre": (16, batch, 32)}[name]
    return torch.randn(*shape, generator=gen)


def randomize(model, gen):
    """Random weights everywhere, random running statistics, a few batches tracked."""
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (0.5 / max(1, p.shape[-1]) ** 0.5))
        for mod in model.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                mod.weight.copy_(1 + 0.2 * torch.randn(mod.weight.shape, generator=gen))
                mod.bias.copy_(0.2 * torch.randn(mod.bias.shape, generator=gen))
                mod.running_mean.copy_(0.3 * torch.randn(mod.running_mean.shape, generator=gen))
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=gen))
                mod.num_batches_tracked.fill_(3)


def rel(c, t):
    c, t = c.double(), t.double()
    if c.shape != t.shape:
        return float("inf")
    if c.numel() == 0:
        return 0.0
    return ((c - t).abs().max() / max(t.abs().max().item(), 1e-6)).item()


def compare_sd(c_sd, t_sd, what):
    worst = 0.0
    if list(c_sd.keys()) != list(t_sd.keys()):
        raise AssertionError(f"{what}: state_dict keys differ:\n C {list(c_sd)}\n T {list(t_sd)}")
    for k, t in t_sd.items():
        c = c_sd[k]
        if c.dtype != t.dtype or c.shape != t.shape:
            raise AssertionError(f"{what}: {k}: {c.dtype}{tuple(c.shape)} vs "
                                 f"{t.dtype}{tuple(t.shape)}")
        if t.is_floating_point():
            worst = max(worst, rel(c, t))
        elif not torch.equal(c, t):
            raise AssertionError(f"{what}: {k}: {c.tolist()} != {t.tolist()}")
    return worst


def init_stats(c_sd, t_sd, name):
    """Our initialisation draws from torch's default distributions (streams
    differ): constant tensors (norm weights/biases, running stats, zero
    biases) must be equal; random ones must have the same bound and a
    standard deviation within 20% (returned as 0 when so, else the ratio)."""
    worst = 0.0
    for k, t in t_sd.items():
        c = c_sd[k]
        if not t.is_floating_point() or t.numel() < 2 or t.std() == 0:
            if not torch.equal(c, t):
                raise AssertionError(f"{name}: init of {k} differs from torch's constant")
            continue
        ratio = (c.double().std() / t.double().std()).item()
        bound_ok = c.abs().max() <= t.abs().max() * 1.25 + 1e-6 or "embed" in k
        if t.numel() >= 64 and (abs(ratio - 1) > 0.2 or not bound_ok):
            worst = max(worst, abs(ratio - 1))
            print(f"init {name} {k}: std ratio {ratio:.3f}, max {c.abs().max():.4f} vs "
                  f"{t.abs().max():.4f}")
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CKPT_NN_SEED", "20241")))
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    W = lambda f: os.path.join(args.workdir, f)  # noqa: E731
    failures = 0
    rows = []

    def tool(*a):
        r = subprocess.run([args.tool, *a], capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(f"nn_equiv_tool {' '.join(a)}: {r.stderr.strip()}")

    def check(label, value):
        nonlocal failures
        ok = value <= TOL
        failures += not ok
        rows.append((label, value, ok))

    models = ["mlp", "lenet", "resnet", "transformer", "transformer_pre"]
    for mi, name in enumerate(models):
        gen = torch.Generator().manual_seed(args.seed + mi)
        torch.manual_seed(args.seed + mi)
        model = build(name)
        randomize(model, gen)
        x = make_input(name, 4, gen)
        sd_path, in_path = W(f"{name}_sd.pt"), W(f"{name}_in.pt")
        torch.save(model.state_dict(), sd_path)
        torch.save({"input": x}, in_path)
        modes = ["eval"] + ([] if name.startswith("transformer") else ["train"])
        for mode in modes:
            try:
                m = copy.deepcopy(model)
                m.train(mode == "train")
                with torch.no_grad():
                    ref = m(x)
                out, sd_out = W(f"{name}_{mode}_out.pt"), W(f"{name}_{mode}_sd_out.pt")
                tool("run", name, mode, sd_path, in_path, out, sd_out)
                y = torch.load(out)["output"]
                check(f"{name} {mode}: torch -> C output", rel(y, ref))
                c_sd = torch.load(sd_out)
                check(f"{name} {mode}: state_dict after forward",
                      compare_sd(c_sd, m.state_dict(), f"{name} {mode}"))
            except AssertionError as e:
                failures += 1
                rows.append((f"{name} {mode}: {e}", float("inf"), False))
        # C -> torch
        try:
            out, sd_out = W(f"{name}_c_out.pt"), W(f"{name}_c_sd.pt")
            tool("init", name, str(args.seed + mi), "-", in_path, out, sd_out)
            t = build(name)
            t.load_state_dict(torch.load(sd_out), strict=True)
            t.eval()
            with torch.no_grad():
                ref = t(x)
            y = torch.load(out)["output"]
            check(f"{name} eval: C -> torch (strict load) output", rel(y, ref))
            check(f"{name}: C default init vs torch's distributions (std ratio - 1)",
                  init_stats(torch.load(sd_out), build(name).state_dict(), name))
        except (AssertionError, RuntimeError) as e:
            failures += 1
            rows.append((f"{name} C -> torch: {e}", float("inf"), False))

    for label, value, ok in rows:
        print(f"{'ok  ' if ok else 'FAIL'} {value:10.3e}  {label}")
    print(f"nn_equiv: {len(rows) - failures} ok, {failures} failed "
          f"(tolerance {TOL:g}: max|c-t| / max(max|t|, 1e-6) per tensor)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
