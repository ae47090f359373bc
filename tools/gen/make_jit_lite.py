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
from typing import List, Optional, Tuple

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


def save(name, model, x, versions=(), optimize=False):
    model.eval()
    randomize_bn(model)
    s = torch.jit.script(model)
    if optimize:
        # xnnpack op contexts as constants, prepacked::*_clamp_run operators
        from torch.utils.mobile_optimizer import optimize_for_mobile
        s = optimize_for_mobile(s)
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
save("cnn_opt", CNN(), torch.randn(1, 3, 12, 12), versions=(5,), optimize=True)


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


class Objs(nn.Module):
    """range with a step, an attribute written (SET_ATTR), tuple slicing, isinstance,
    an Optional argument left at its default, int -> float."""

    def __init__(self):
        super().__init__()
        self.k = 3

    def forward(self, n: int, m: Optional[int] = None) -> Tuple[int, bool, int, float]:
        total = 0
        for i in range(2, n, 2):
            total += i * self.k
        self.k = self.k + 1
        t = (total, n, 5)
        s = t[1:]
        if m is None:
            m = 4
        f = float(n) / 4.0
        return total + s[0], isinstance(t, Tuple[int, int, int]), m, f


def save_objs():
    s = torch.jit.script(Objs())
    path = os.path.join(OUT, "objs.ptl")
    s._save_for_lite_interpreter(path)
    a, b, c, d = _load_for_lite_interpreter(path)(9)
    np.save(os.path.join(OUT, "objs.out.npy"), np.array([9, a, int(b), c, d], dtype=np.float64))
    print("objs", _get_model_bytecode_version(path), a, b, c, d)


class QNet(nn.Module):
    """Static int8 quantization (qnnpack): quantize, quantized conv/relu/linear, dequantize."""

    def __init__(self):
        super().__init__()
        self.q = torch.quantization.QuantStub()
        self.conv = nn.Conv2d(2, 4, 3)
        self.relu = nn.ReLU()
        self.dq = torch.quantization.DeQuantStub()
        self.q2 = torch.quantization.QuantStub()
        self.fc = nn.Linear(4 * 4 * 4, 3)
        self.dq2 = torch.quantization.DeQuantStub()

    def forward(self, x):
        x = self.dq(self.relu(self.conv(self.q(x))))
        return self.dq2(self.fc(self.q2(x.flatten(1))))


def save_quant():
    torch.backends.quantized.engine = "qnnpack"
    m = QNet().eval()
    m.qconfig = torch.quantization.get_default_qconfig("qnnpack")
    m = torch.quantization.fuse_modules(m, [["conv", "relu"]])  # quantized::conv2d_relu
    p = torch.quantization.prepare(m)
    p(torch.randn(16, 2, 6, 6))
    q = torch.quantization.convert(p)
    s = torch.jit.script(q)
    path = os.path.join(OUT, "qnet.ptl")
    s._save_for_lite_interpreter(path)
    x = torch.randn(2, 2, 6, 6)
    y = _load_for_lite_interpreter(path)(x)
    np.save(os.path.join(OUT, "qnet.in.npy"), x.numpy())
    np.save(os.path.join(OUT, "qnet.out0.npy"), y.numpy())
    print("qnet", _get_model_bytecode_version(path), os.path.getsize(path))


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


def random_programs(count=200, length=32, seed=12):
    """Functions __torch__.MLP.r0 ... of random instructions whose indices are in
    range (so they pass the reader): each run must end in a result or an error."""
    import random
    rnd = random.Random(seed)
    ops = (("aten::linear", "", 3), ("aten::relu", "", 1), ("aten::add", "int", 2),
           ("aten::__getitem__", "t", 2), ("prim::RaiseException", "", 2), ("aten::len", "t", 1),
           ("aten::format", "", -1), ("aten::cat", "", 2))
    consts = (1, 2.5, "s{}", None, True, (1, 2), [3, 4], -1, "forward")
    types = ("List[int]", "Tensor", "Dict[str,int]", "Tuple[int,int]")
    reg = 6
    names = ["OP", "OPN", "LOAD", "LOADC", "MOVE", "STORE", "STOREN", "DROP", "DROPR", "JF",
             "JMP", "LOOP", "GET_ATTR", "SET_ATTR", "LIST_UNPACK", "TUPLE_CONSTRUCT",
             "NAMED_TUPLE_CONSTRUCT", "LIST_CONSTRUCT", "DICT_CONSTRUCT", "CREATE_OBJECT",
             "ISINSTANCE", "TUPLE_SLICE", "TUPLE_INDEX", "RAISE_EXCEPTION", "DICT_INDEX",
             "UNCHECKED_CAST", "__IS__", "UN_INITIALIZED", "__ISNOT__", "FORMAT", "DEVICE",
             "DTYPE", "DIM", "__NOT__", "NUM_TO_TENSOR", "IS_CUDA", "WARN", "INTERFACE_CALL"]
    fns = []
    for k in range(count):
        ins = [("STOREN", 1, 2)]
        for pc in range(1, length - 1):
            # half pushes, so the other instructions find values to work on
            op = rnd.choice(names) if rnd.random() < 0.5 else rnd.choice(("LOAD", "LOADC"))
            n = rnd.randint(0, 3)
            if op in ("OP", "OPN"):
                x = rnd.randrange(len(ops))
            elif op in ("LOAD", "MOVE", "STORE", "DROPR"):
                x = rnd.randint(1, 2) if rnd.random() < 0.5 else rnd.randint(1, reg)
            elif op == "STOREN":
                x = rnd.randint(1, reg)
                n = rnd.randint(0, reg - x + 1)
            elif op in ("LOADC", "INTERFACE_CALL"):
                x = rnd.randrange(len(consts))
            elif op in ("JF", "JMP", "LOOP"):
                x = rnd.randint(-pc, length - 1 - pc)
                n = rnd.randint(2, 4) if op == "LOOP" else n
            elif op in ("LIST_CONSTRUCT", "DICT_CONSTRUCT", "NAMED_TUPLE_CONSTRUCT",
                        "CREATE_OBJECT"):
                x = rnd.randrange(len(types))
            elif op == "ISINSTANCE":
                x = rnd.randrange(len(types))
                n = rnd.randint(0, len(types) - x)
            else:
                x = rnd.randint(0, 3)
            ins.append((op, x, n))
        ins.append(("RET", 0, 0))
        code = (("instructions", tuple(ins)), ("operators", ops), ("constants", consts),
                ("types", types), ("register_size", reg))
        fns.append(("__torch__.MLP.r%d" % k, code))
    bc = (8,) + tuple(fns)
    src = os.path.join(OUT, "mlp.ptl")
    zin = zipfile.ZipFile(src)
    rec = [n for n in zin.namelist() if n.endswith("/bytecode.pkl")][0]
    out = os.path.join(OUT, "hostile_random.ptl")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for n in zin.namelist():
            z.writestr(n.replace("mlp/", "hostile_random/", 1),
                       pickle.dumps(bc, protocol=2) if n == rec else zin.read(n))
    print("hostile random", count)


save_ints()
save_objs()
save_quant()
random_programs()
hostile("reg", bad_reg)
hostile("jump", bad_jump)
hostile("op", bad_op)
hostile("loop", self_loop)
hostile("underflow", underflow)
hostile("opcode", bad_opcode)
hostile("truncated", None, raw=lambda d: d[: len(d) // 2])
