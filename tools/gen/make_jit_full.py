#!/usr/bin/python3
"""Full-model pickle fixtures (torch.save(model)) for tests/jit/full, written by
Debian torch 1.13.  Run from the repository root:

    /usr/bin/python3 tools/gen/make_jit_full.py

For each model NAME, tests/fixtures/jit/full/ gets:
  NAME.pt        torch.save(model) (zip; *_legacy: _use_new_zipfile_serialization=False)
  NAME.in.npy    the input
  NAME.out.npy   model(input), in eval mode (a tuple result flattened: NAME.out1.npy, ...)
  NAME.list.txt  torch's listing: "P name shape requires_grad" per named_parameters(),
                 "B name shape" per named_buffers(), then "S name" per state_dict() key,
                 "C path class" per named_modules()
The user-class model (user_net) runs in torch but is Python code for ckpt; the
hostile pickle (hostile_reduce.pt) holds an object whose __reduce__ names
os.system: loading it in data-only mode must not run it.
"""
import collections
import os
import sys

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join("tests", "fixtures", "jit", "full")


class Net(nn.Module):
    """A user's own class: its forward is Python code."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.register_buffer("position_ids", torch.arange(4), persistent=False)
        self.register_buffer("counter", torch.zeros(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
        self.scale = 0.5

    def forward(self, x):
        return self.head(torch.relu(self.conv(x))) * self.scale


def randomize_bn(m):
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.5, 0.5)
            mod.num_batches_tracked.fill_(7)
        if isinstance(mod, (nn.LayerNorm, nn.GroupNorm)) and mod.weight is not None:
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.5, 0.5)


def as_torch2(m):
    """What torch 2.x pickles: plain dict containers and the extra hook dicts."""
    for mod in m.modules():
        mod.__dict__["_parameters"] = dict(mod._parameters)
        mod.__dict__["_buffers"] = dict(mod._buffers)
        mod.__dict__["_modules"] = dict(mod._modules)
        for k in ("_backward_pre_hooks", "_forward_hooks_with_kwargs",
                  "_forward_pre_hooks_with_kwargs", "_state_dict_pre_hooks",
                  "_forward_hooks_always_called"):
            mod.__dict__[k] = collections.OrderedDict()
    return m


def models():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    out = {}
    out["mlp"] = (nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4), nn.Softmax(dim=1)),
                  torch.randn(3, 8, generator=g))
    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2, bias=False), nn.AvgPool2d(2),
        nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(32, 10), nn.LeakyReLU(0.1))
    out["cnn"] = (cnn, torch.randn(2, 3, 16, 16, generator=g))
    acts = nn.Sequential(
        nn.Linear(6, 12), nn.LayerNorm(12), nn.GELU(), nn.Linear(12, 12), nn.SiLU(), nn.ELU(0.5),
        nn.Hardswish(), nn.Hardsigmoid(), nn.ReLU6(), nn.Tanh(), nn.Sigmoid(), nn.Dropout(0.3),
        nn.Identity(), nn.GELU(approximate="tanh"), nn.LogSoftmax(dim=-1))
    out["acts"] = (acts, torch.randn(4, 6, generator=g) * 3)
    seq1d = nn.Sequential(
        nn.Conv1d(4, 6, 3, stride=2, padding=1), nn.GroupNorm(2, 6), nn.BatchNorm1d(6), nn.ReLU(),
        nn.Flatten(), nn.Unflatten(1, (6, 5)),
        nn.ConvTranspose1d(6, 2, 2) if False else nn.Identity())
    out["conv1d"] = (seq1d, torch.randn(2, 4, 10, generator=g))
    ct = nn.Sequential(nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
                       nn.ReLU(), nn.Conv2d(4, 2, 1))
    out["convt"] = (ct, torch.randn(1, 3, 5, 5, generator=g))
    emb = nn.Sequential(nn.Embedding(10, 4, padding_idx=0), nn.Flatten(), nn.Linear(12, 2))
    out["embed"] = (emb, torch.tensor([[1, 2, 0], [9, 3, 3]], dtype=torch.int64))
    out["user_net"] = (Net(), torch.randn(1, 1, 6, 6, generator=g))
    out["lstm"] = (nn.LSTM(4, 5, num_layers=2, batch_first=True, bidirectional=True),
                   torch.randn(2, 3, 4, generator=g))
    out["gru"] = (nn.GRU(3, 4), torch.randn(5, 2, 3, generator=g))
    out["lstm_proj"] = (nn.LSTM(3, 6, proj_size=2, bias=False), torch.randn(4, 2, 3, generator=g))
    out["rnn_relu"] = (nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=True),
                       torch.randn(3, 1, 3, generator=g))
    out["transformer"] = (nn.TransformerEncoderLayer(8, 2, dim_feedforward=16),
                          torch.randn(5, 2, 8, generator=g))
    enc = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation="gelu", batch_first=True,
                                   norm_first=True), num_layers=2, norm=nn.LayerNorm(8))
    out["transformer_enc"] = (enc, torch.randn(2, 5, 8, generator=g))
    out["mha"] = (nn.MultiheadAttention(8, 2), torch.randn(4, 2, 8, generator=g))
    out["mlp_legacy"] = (out["mlp"][0], out["mlp"][1])
    out["cnn_legacy"] = (out["cnn"][0], out["cnn"][1])
    out["cnn_torch2"] = (None, out["cnn"][1])
    out["mlp_training"] = (nn.Sequential(nn.Linear(8, 3), nn.Tanh()), out["mlp"][1])
    return out


def listing(m):
    lines = []
    for n, p in m.named_parameters():
        lines.append("P %s %s %d" % (n, "x".join(map(str, p.shape)) or "-", int(p.requires_grad)))
    for n, b in m.named_buffers():
        lines.append("B %s %s" % (n, "x".join(map(str, b.shape)) or "-"))
    for k in m.state_dict():
        lines.append("S %s" % k)
    for n, mod in m.named_modules():
        c = type(mod)
        lines.append("C %s %s.%s" % (n or "-", c.__module__, c.__qualname__))
    return "\n".join(lines) + "\n"


def flatten(y):
    if isinstance(y, (tuple, list)):
        for e in y:
            yield from flatten(e)
    else:
        yield y


class Evil:
    def __reduce__(self):
        return (os.system, ("touch ckpt_fullmodel_pwned",))


def main():
    os.makedirs(OUT, exist_ok=True)
    ms = models()
    for name, (m, x) in ms.items():
        if name == "cnn_torch2":
            import copy
            m = as_torch2(copy.deepcopy(ms["cnn"][0]))
        if name in ("cnn",):
            randomize_bn(m)
        if name in ("acts", "conv1d", "transformer", "transformer_enc"):
            randomize_bn(m)
        if name != "mlp_training":
            m.eval()
        path = os.path.join(OUT, name + ".pt")
        torch.save(m, path, _use_new_zipfile_serialization=not name.endswith("_legacy"))
        with torch.no_grad():
            y = m(x, x, x) if name == "mha" else m(x)
        np.save(os.path.join(OUT, name + ".in.npy"), x.numpy())
        flat = list(flatten(y))
        for i, t in enumerate(flat):
            np.save(os.path.join(OUT, name + (".out.npy" if i == 0 else ".out%d.npy" % i)),
                    t.numpy())
        with open(os.path.join(OUT, name + ".list.txt"), "w") as f:
            f.write(listing(m))
        # what torch reads back equals what was written
        m2 = torch.load(path)
        with torch.no_grad():
            y2 = m2(x, x, x) if name == "mha" else m2(x)
            assert all(torch.allclose(a, b) for a, b in zip(flatten(y2), flat))
    # hostile: a module attribute whose pickle calls os.system
    m = nn.Sequential(nn.Linear(2, 2))
    m.__dict__["payload"] = Evil()
    torch.save(m, os.path.join(OUT, "hostile_reduce.pt"))
    # a module that contains itself: torch loads it (pickle memo); ckpt refuses the cycle
    m = nn.Sequential(nn.Linear(2, 2))
    m._modules["loop"] = m
    torch.save(m, os.path.join(OUT, "hostile_cycle.pt"))
    # hostile: a parameter slot holding a str, a submodule slot holding an int
    m = nn.Sequential(nn.Linear(2, 2))
    m[0]._parameters["weight"] = "not a tensor"
    torch.save(m, os.path.join(OUT, "hostile_param_str.pt"))
    m = nn.Sequential(nn.Linear(2, 2))
    m._modules["1"] = 5
    torch.save(m, os.path.join(OUT, "hostile_module_int.pt"))
    # hostile: modules nested deeper than ckpt's limit (200)
    m = nn.Identity()
    for _ in range(230):
        m = nn.Sequential(m)
    sys.setrecursionlimit(100000)
    torch.save(m, os.path.join(OUT, "hostile_deep.pt"))
    # hostile: the root itself is the os.system call
    torch.save(Evil(), os.path.join(OUT, "hostile_root.pt"))
    print("wrote", OUT)


if __name__ == "__main__":
    sys.exit(main())
