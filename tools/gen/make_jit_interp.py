#!/usr/bin/python3
"""Fixtures for the TorchScript source interpreter (tests/jit/interp.cmake).

Writes, with Debian's torch 1.13, the five models of issue 12 item 2 -- the
layer set, a ResNet-style CNN, a MobileNetV2-style CNN, a transformer encoder
and an LSTM with control flow in its forward -- each scripted
(torch.jit.script) and traced (torch.jit.trace), with their inputs and the
outputs torch.jit.load(f)(*inputs) gives, into tests/fixtures/jit/interp/:

    NAME_{script,trace}.pt         the archive
    NAME_in_ARG.npy                one per forward argument (by name)
    NAME_{script,trace}_out_K.npy  the flattened outputs, in order

plus hostile_*.pt: a small scripted module whose code/ text is replaced by
code that must fail cleanly (deep nesting, a loop that never ends, raise,
unknown globals, torch.ops.load_library, unbounded recursion).

Usage: /usr/bin/python3 tools/gen/make_jit_interp.py [OUTDIR]
"""
import io
import os
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from typing import Dict, List, Optional, Tuple

torch.manual_seed(12)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "jit", "interp")


class Layers(nn.Module):
    """The layer set: conv, batchnorm, relu, pools, flatten, linear, layernorm,
    dropout, embedding, softmax, sigmoid, tanh, gelu, leaky relu."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.avg = nn.AvgPool2d(2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(16, 12)
        self.ln = nn.LayerNorm(12)
        self.drop = nn.Dropout(0.3)
        self.emb = nn.Embedding(10, 12)
        self.act1 = nn.Sigmoid()
        self.act2 = nn.Tanh()
        self.act3 = nn.GELU()
        self.act4 = nn.LeakyReLU(0.1)
        self.soft = nn.Softmax(dim=-1)

    def forward(self, x, idx):
        y = self.pool(self.relu(self.bn(self.conv(x))))
        y = self.avg(y)
        y = self.flat(y)
        y = self.drop(self.ln(self.fc(y)))
        e = self.emb(idx).sum(1)
        z = self.act1(y) + self.act2(e) + self.act3(y) * self.act4(e)
        return self.soft(z)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        idt = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.down is not None:
            idt = self.down(x)
        out += idt
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2), BasicBlock(16, 16, 1))
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hid = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: List[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False), nn.BatchNorm2d(hid),
                   nn.Hardswish(), nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(inplace=True),
            InvertedResidual(8, 8, 1, 1), InvertedResidual(8, 12, 2, 4),
            InvertedResidual(12, 12, 1, 4), nn.Conv2d(12, 24, 1, bias=False), nn.BatchNorm2d(24),
            nn.Hardswish())
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(24, 10))

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        x = torch.flatten(x, 1)
        return self.classifier(x)


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.1)
        self.enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(self.enc(x))


class HandLSTM(nn.Module):
    """An LSTM written out (gates from Linear layers, sigmoid/tanh, chunk)
    and stepped over the timesteps in a loop, with a data-dependent branch, a
    while loop and a tuple result: control flow the interpreter must run."""

    def __init__(self):
        super().__init__()
        self.hidden = 8
        self.ih = nn.Linear(4, 4 * 8)
        self.hh = nn.Linear(8, 4 * 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        b = x.size(0)
        h = torch.zeros(b, self.hidden)
        c = torch.zeros(b, self.hidden)
        outs: List[torch.Tensor] = []
        for t in range(x.size(1)):
            gates = self.ih(x[:, t]) + self.hh(h)
            i, f, g, o = gates.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            if bool(h.sum() > 0):
                outs.append(self.out(h))
            else:
                outs.append(-self.out(h))
        k = 0
        y = torch.stack(outs, 1)
        while k < 2 and bool(y.abs().max() > 10.0):
            y = y * 0.5
            k += 1
        return y, (h, c)


class LSTMFlow(nn.Module):
    """An LSTM layer, then an LSTMCell stepped in a Python loop, a branch on
    the data and a tuple result."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.cell = nn.LSTMCell(8, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        hx = torch.zeros(x.size(0), 6)
        cx = torch.zeros(x.size(0), 6)
        outs: List[torch.Tensor] = []
        for t in range(y.size(1)):
            hx, cx = self.cell(y[:, t], (hx, cx))
            if bool(hx.sum() > 0):
                outs.append(self.out(hx))
            else:
                outs.append(-self.out(hx))
        return torch.stack(outs, 1), h


class Features(nn.Module):
    """Python the printer keeps: dicts, lists and their methods, tuple
    unpacking, while/break/continue, augmented assignment, string format,
    Optional/None checks, isinstance, enumerate/zip, int/float/bool
    arguments, a module-level function, a submodule list, a raise that is
    not taken."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(6, 6), nn.Linear(6, 6)])
        self.k = 3

    def helper(self, x, opt: Optional[torch.Tensor]):
        if opt is None:
            return x
        return x + opt

    def forward(self, x, n: int, scale: float, flag: bool):
        d: Dict[str, int] = {"a": 1, "b": n}
        d["c"] = d["a"] + d.get("b", 0)
        keys = list(d.keys())
        total = 0
        for i, k in enumerate(keys):
            total += d[k] * (i + 1)
        xs: List[int] = []
        i = 0
        while True:
            i += 1
            if i % 2 == 0:
                continue
            xs.append(i)
            if len(xs) >= self.k:
                break
        a, b = xs[0], xs[-1]
        for blk in self.blocks:
            x = torch.relu(blk(x))
        y = self.helper(x, None)
        z = self.helper(x, y)
        msg = "n={} total={}".format(n, total)
        if len(msg) > 1000:
            raise RuntimeError("too long")
        s = 0.0
        for p, q in zip(xs, [1, 2, 3]):
            s += float(p * q)
        if isinstance(n, int) and flag:
            z = z * scale
        else:
            z = z - scale
        return z * float(total + a + b) + s, y.sum(1) // 2


def models():
    return [
        ("layers", Layers(), {"x": torch.randn(2, 3, 8, 8), "idx": torch.randint(0, 10, (2, 5))}),
        ("resnet", ResNet(), {"x": torch.randn(1, 3, 16, 16)}),
        ("mobilenet", MobileNetV2(), {"x": torch.randn(1, 3, 16, 16)}),
        ("transformer", Transformer(), {"x": torch.randn(5, 1, 16)}),
        ("lstm", HandLSTM(), {"x": torch.randn(2, 6, 4)}),
        ("features", Features(), {"x": torch.randn(3, 6), "n": 4, "scale": 0.5, "flag": True}),
        ("lstm_nn", LSTMFlow(), {"x": torch.randn(2, 6, 4)}),
    ]


def flatten(v, out):
    if isinstance(v, (tuple, list)):
        for x in v:
            flatten(x, out)
    elif isinstance(v, dict):
        for x in v.values():
            flatten(x, out)
    else:
        out.append(v)


def randomize_bn(m):
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
            with torch.no_grad():
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, model, inputs in models():
        randomize_bn(model)
        model.eval()
        args = tuple(inputs.values())
        for k, v in inputs.items():
            # a 0-d array stands for an int/float/bool argument
            np.save(os.path.join(OUT, "%s_in_%s.npy" % (name, k)),
                    v.numpy() if isinstance(v, torch.Tensor) else np.array(v))
        for kind in ("script", "trace"):
            if kind == "trace" and name == "features":
                continue  # non-tensor arguments: scripted only
            if kind == "script":
                sm = torch.jit.script(model)
            else:
                sm = torch.jit.trace(model, args, check_trace=False)
            path = os.path.join(OUT, "%s_%s.pt" % (name, kind))
            torch.jit.save(sm, path)
            loaded = torch.jit.load(path)
            res = loaded(*args)
            flat = []
            flatten(res, flat)
            for i, t in enumerate(flat):
                np.save(os.path.join(OUT, "%s_%s_out_%d.npy" % (name, kind, i)),
                        t.detach().numpy())
            print("%s: %d bytes, %d outputs" % (path, os.path.getsize(path), len(flat)))
    hostile()


class Tiny(nn.Module):
    def forward(self, x):
        return torch.relu(x)


HOSTILE = {
    # forward bodies (indented 4, as the printer writes them)
    "nest": "    return " + "(" * 3000 + "x" + ")" * 3000 + "\n",
    "loop": "    i = 0\n    while True:\n      i = i + 1\n    return x\n",
    "raise": "    if True:\n      raise AssertionError(\"no\")\n    return x\n",
    "global": "    return os.system(\"true\")\n",
    "library": "    _0 = torch.ops.load_library(\"libevil.so\")\n    return x\n",
    "recurse": "    return self.forward(x)\n",
    "custom": "    _0 = __torch__.torch.classes.evil.Thing.__new__(__torch__.torch.classes.evil.Thing)\n"
              "    return x\n",
    "primraise": "    ops.prim.RaiseException(\"bad input\", \"builtins.ValueError\")\n    return x\n",
    "unknownop": "    return torch.frobnicate(x)\n",
    "syntax": "    return x +\n",
    "blocks": "".join("    " + "  " * i + "if True:\n" for i in range(400)) + "    " + "  " * 400 + "pass\n"
              "    return x\n",
}


def hostile():
    base = os.path.join(OUT, "hostile_base.pt")
    torch.jit.save(torch.jit.script(Tiny()), base)
    with zipfile.ZipFile(base) as z:
        entries = [(i, z.read(i.filename)) for i in z.infolist()]
    os.remove(base)
    for tag, body in HOSTILE.items():
        out = os.path.join(OUT, "hostile_%s.pt" % tag)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zo:
            for info, data in entries:
                name = info.filename
                if name.endswith("code/__torch__.py"):
                    text = data.decode()
                    head, sep, _ = text.partition("    x: Tensor) -> Tensor:\n")
                    assert sep, text
                    data = (head + sep + body).encode()
                zo.writestr(name.replace("hostile_base", "hostile_" + tag), data)
        print(out)


if __name__ == "__main__":
    main()
