#!/usr/bin/env python3
"""Fixtures for the lite (mobile) bytecode interpreter: small models saved with
torch.jit's _save_for_lite_interpreter (bytecode version 8 in torch 1.13) and
backported to versions 4-7 with torch.jit.mobile._backport_for_mobile, with an
input and the output torch's own lite interpreter gives
(torch.jit.mobile._load_for_lite_interpreter(f)(x)).

Run with Debian's torch 1.13: /usr/bin/python3 tools/gen/make_jit_lite.py OUTDIR
Writes NAME.ptl, NAME.in.npy, NAME.out.npy for each model."""
import io
import os
import pickle
import sys
import zipfile
from typing import List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.jit.mobile import _backport_for_mobile, _get_model_bytecode_version, \
    _load_for_lite_interpreter

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/jit/lite"
torch.manual_seed(0)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


class Flow(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.n = 3

    def forward(self, x):
        y = x
        for i in range(self.n):
            y = self.fc(y)
            if i % 2 == 0:
                y = torch.tanh(y)
            else:
                y = y * 0.5 + 1.0
        if y.sum() > 0:
            y = y - x
        else:
            y = y + x
        parts = [y, x]
        return torch.cat(parts, 1), y.size(0)


class Block(nn.Module):
    """MobileNetV2 inverted residual: expand 1x1, depthwise 3x3, project 1x1."""

    def __init__(self, c=8, t=4):
        super().__init__()
        h = c * t
        self.expand = nn.Sequential(nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False),
                                nn.BatchNorm2d(h), nn.Hardswish())
        self.project = nn.Sequential(nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.project(self.dw(self.expand(x)))


def randomize_bn(m):
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)


def save(name, model, x, versions=()):
    model.eval()
    randomize_bn(model)
    s = torch.jit.script(model)
    path = os.path.join(OUT, name + ".ptl")
    s._save_for_lite_interpreter(path)
    files = [(name, path)]
    for v in versions:
        p = os.path.join(OUT, "%s_v%d.ptl" % (name, v))
        assert _backport_for_mobile(path, p, v), (name, v)
        assert _get_model_bytecode_version(p) == v
        files.append(("%s_v%d" % (name, v), p))
    for n, p in files:
        lite = _load_for_lite_interpreter(p)
        with torch.no_grad():
            y = lite(x)
            ref = s(x)
        ys = y if isinstance(y, tuple) else (y,)
        rs = ref if isinstance(ref, tuple) else (ref,)
        for a, b in zip(ys, rs):
            if isinstance(a, torch.Tensor):
                assert torch.allclose(a, b, atol=1e-6), n
        np.save(os.path.join(OUT, n + ".in.npy"), x.numpy())
        for i, a in enumerate(ys):
            if not isinstance(a, torch.Tensor):
                a = torch.tensor(a)
            np.save(os.path.join(OUT, "%s.out%d.npy" % (n, i)), a.numpy())
        print(n, _get_model_bytecode_version(p), os.path.getsize(p))


os.makedirs(OUT, exist_ok=True)
save("mlp", MLP(), torch.randn(2, 8), versions=(4, 5, 6, 7))
save("cnn", CNN(), torch.randn(1, 3, 12, 12), versions=(5,))
save("flow", Flow(), torch.randn(2, 6), versions=(5,))
save("mbv2", Block(), torch.randn(1, 8, 6, 6))


# ---- a model on ints, lists and dicts only (no tensor op): runs without the op library
class Ints(nn.Module):
    def forward(self, n: int) -> Tuple[int, int, str]:
        s = 0
        xs: List[int] = []
        for i in range(n):
            if i % 3 == 0:
                s += i * i
            else:
                s -= i // 2
            xs.append(i)
        d = {"a": s, "b": len(xs)}
        return d["a"], xs[-1] + d["b"], "n={} s={}".format(n, s)


def save_ints():
    s = torch.jit.script(Ints())
    path = os.path.join(OUT, "ints.ptl")
    s._save_for_lite_interpreter(path)
    lite = _load_for_lite_interpreter(path)
    a, b, msg = lite(7)
    np.save(os.path.join(OUT, "ints.out.npy"), np.array([7, a, b], dtype=np.int64))
    with open(os.path.join(OUT, "ints.out.txt"), "w") as f:
        f.write(msg + "\n")
    print("ints", _get_model_bytecode_version(path), a, b, msg)


# ---- hostile bytecode: mlp.ptl with bytecode.pkl rewritten
class _U(pickle.Unpickler):
    def persistent_load(self, pid):
        raise ValueError("no tensors expected")


def hostile(name, edit, raw=None):
    src = os.path.join(OUT, "mlp.ptl")
    zin = zipfile.ZipFile(src)
    rec = [n for n in zin.namelist() if n.endswith("/bytecode.pkl")][0]
    bc = _U(io.BytesIO(zin.read(rec))).load()
    if raw is None:
        bc = list(bc)
        fn = list(bc[1])
        code = [list(p) for p in fn[1]]
        ins = [list(i) for i in code[0][1]]
        edit(ins, code)
        code[0][1] = tuple(tuple(i) for i in ins)
        fn[1] = tuple(tuple(p) for p in code)
        bc[1] = tuple(fn)
        data = pickle.dumps(tuple(bc), protocol=2)
    else:
        data = raw(pickle.dumps(bc, protocol=2))
    out = os.path.join(OUT, "hostile_%s.ptl" % name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for n in zin.namelist():
            z.writestr(n.replace("mlp/", "hostile_%s/" % name, 1),
                       data if n == rec else zin.read(n))
    print("hostile", name)


def bad_reg(ins, code):
    ins[1][1] = 99  # LOAD 99: register_size is 4


def bad_jump(ins, code):
    ins.insert(1, ["JMP", -5, 0])


def bad_op(ins, code):
    ins[-2][1] = 7 if ins[-2][0] == "OP" else ins[-2][1]
    for i in ins:
        if i[0] == "OP":
            i[1] = 7  # operator 7 of 2


def self_loop(ins, code):
    ins.insert(0, ["JMP", 0, 0])  # in range, never ends: stopped by the step limit


def underflow(ins, code):
    ins.insert(0, ["DROP", 0, 0])
    ins.insert(0, ["DROP", 0, 0])
    ins.insert(0, ["DROP", 0, 0])  # the stack holds self and x only


def bad_opcode(ins, code):
    ins[0][0] = "FORK_BOMB"


save_ints()
hostile("reg", bad_reg)
hostile("jump", bad_jump)
hostile("op", bad_op)
hostile("loop", self_loop)
hostile("underflow", underflow)
hostile("opcode", bad_opcode)
hostile("truncated", None, raw=lambda d: d[: len(d) // 2])
