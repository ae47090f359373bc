#!/usr/bin/env python3
"""Fixtures for the TorchScript writer (tests/jit/write): small models that
Debian's torch 1.13 exports with torch.onnx.export, their example input and
torch's output on it.  ckpt reads each .onnx, writes it as a TorchScript
archive, and tests/jit/write/check_write.py compares torch.jit.load of that
archive with the .out.npy written here.

    /usr/bin/python3 tools/gen/make_jit_write.py tests/fixtures/jit/write

names.onnx (built with onnx.helper, reference by numpy) has value names
that are no Python identifiers or clash with TorchScript's (self, training,
x.1, 0.weight, a.b / a_b, _3), two inputs and two outputs: its inputs and
outputs are names.in.npz / names.out.npz (arr_0, arr_1, ... in order).

unsupported.onnx holds an op the writer does not map (DepthToSpace): writing it
must fail naming the node and leave no file."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 16)
        self.fc3 = nn.Linear(16, 4)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        h = torch.tanh(self.fc2(h)) * 0.5 + torch.sigmoid(h)
        return torch.softmax(self.fc3(h), dim=-1)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(3)
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 2 * 2, 5)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(self.bn0(x)))), 2)
        x = F.avg_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        y = torch.flatten(x, 1)
        g = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(y) + g.sum(1, keepdim=True)


class Block(nn.Module):
    """one pre-norm attention block: linear projections, matmul attention,
    softmax, layer norm, gelu MLP, reshapes and transposes"""

    def __init__(self, d=16, heads=2):
        super().__init__()
        self.h = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp1 = nn.Linear(d, 2 * d)
        self.mlp2 = nn.Linear(2 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q = q.reshape(b, t, self.h, d // self.h).transpose(1, 2)
        k = k.reshape(b, t, self.h, d // self.h).transpose(1, 2)
        v = v.reshape(b, t, self.h, d // self.h).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-2, -1) / (d // self.h) ** 0.5, dim=-1)
        o = (a @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(o)
        return x + self.mlp2(F.gelu(self.mlp1(self.ln2(x))))


class Misc(nn.Module):
    """shape and element-wise ops: cat, unsqueeze/squeeze, slice, clamp,
    leaky relu, reduce mean, permute, exp/sqrt"""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        y = torch.cat([x, torch.exp(-x.abs())], dim=1)
        y = y.unsqueeze(1)[:, :, 1:5].squeeze(1)
        z = torch.clamp(self.fc(torch.cat([y, y[:, :2]], 1)), -0.5, 0.5)
        w = F.leaky_relu(z, 0.1).mean(dim=1, keepdim=True)
        return torch.sqrt(z * z + 1.0) - w


class Ops(nn.Module):
    """more mappings: ConvTranspose, Conv1d with asymmetric-free pads, avg_pool1d,
    instance norm, hardswish, elu, where, comparison, expand, constant pad,
    max/min, transpose, gather of a row, cast"""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)
        self.c1 = nn.Conv1d(3, 5, 3, padding=2, dilation=2)
        self.inorm = nn.InstanceNorm1d(5, affine=True)

    def forward(self, x):                       # x (2, 4, 3, 3)
        u = F.hardswish(self.up(x))             # (2, 3, 6, 6)
        s = u.flatten(2)                        # (2, 3, 36)
        h = F.elu(self.inorm(self.c1(s)), 0.7)  # (2, 5, 36)
        h = F.avg_pool1d(h, 3, stride=2, padding=1)
        m = torch.where(h > 0.1, h, h * 0.5)
        e = F.pad(m, (1, 2), value=0.25)
        t = torch.maximum(e, e.transpose(1, 2).mean(1, keepdim=True).transpose(1, 2))
        r = t[:, 1] + t.min(dim=1).values.to(torch.float64).to(torch.float32)
        return r.unsqueeze(1).expand(2, 3, r.shape[1]) * 2.0


class Embed(nn.Module):
    """int64 indices: Embedding (Gather), then a dynamic batch: the reshapes
    read the batch size from Shape at run time"""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.fc = nn.Linear(8, 3)

    def forward(self, idx):                     # idx (B, 4) int64
        e = self.emb(idx)
        return self.fc(e).reshape(idx.shape[0], -1)


class Ops11(nn.Module):
    """exported at opset 11: attribute forms (Squeeze/Unsqueeze/ReduceSum axes,
    Split sizes), Clip with inputs, Softmax's 2-D coercion, Tile, ArgMax,
    HardSigmoid, Softplus, Max/Min, strided Slice, Gather by index tensor,
    a Gemm with a transposed A"""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 6))
        self.register_buffer("idx", torch.tensor([2, 0, 1]))

    def forward(self, x):                       # x (4, 3)
        g = torch.addmm(torch.ones(3, 6), x.t(), self.w, beta=0.5, alpha=2.0)  # (3, 6)
        a, b = g.split([2, 4], dim=1)
        h = torch.cat([F.hardsigmoid(a), F.softplus(b)], 1).unsqueeze(0)       # (1, 3, 6)
        s = torch.log_softmax(h, dim=1).squeeze(0)                             # (3, 6)
        t = s.repeat(2, 1)[::2, 1::2]                                          # (3, 3)
        u = torch.max(t, t.index_select(0, self.idx)) + torch.min(t, -t)
        k = u.argmax(dim=1, keepdim=True).to(torch.float32)
        return torch.clamp(u.sum(dim=0, keepdim=True), min=-1.0) + k


class Shuffle(nn.Module):
    def forward(self, x):
        return F.pixel_shuffle(x, 2)


def names_model(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(1)
    inits = {n: rng.standard_normal(s).astype(np.float32)
             for n, s in [("0.weight", (3, 3)), ("training", (3,)), ("a.b", (3,)),
                          ("a_b", (3,)), ("_3", (3,))]}
    inits["_3"] = np.abs(inits["_3"]) + 0.5
    nodes = [helper.make_node("MatMul", ["self", "0.weight"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "training"], ["a"], name="add"),
             helper.make_node("Mul", ["a", "a.b"], ["b"], name="mul"),
             helper.make_node("Sub", ["b", "a_b"], ["c"], name="sub"),
             helper.make_node("Add", ["c", "x.1"], ["d"], name="add2"),
             helper.make_node("Div", ["d", "_3"], ["y.out"], name="div"),
             helper.make_node("Relu", ["x.1"], ["z"], name="relu")]
    t = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3])
    g = helper.make_graph(nodes, "names", [t("self"), t("x.1")], [t("y.out"), t("z")],
                          [numpy_helper.from_array(v, n) for n, v in inits.items()])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]),
              os.path.join(out, "names.onnx"))
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((2, 3)).astype(np.float32)
    y = ((a @ inits["0.weight"] + inits["training"]) * inits["a.b"] - inits["a_b"] + b) / inits["_3"]
    np.savez(os.path.join(out, "names.in.npz"), a, b)
    np.savez(os.path.join(out, "names.out.npz"), y.astype(np.float32), np.maximum(b, 0))


MODELS = [
    ("mlp", MLP, (3, 8)),
    ("cnn", CNN, (2, 3, 16, 16)),
    ("block", Block, (2, 5, 16)),
    ("misc", Misc, (4, 3)),
    ("ops", Ops, (2, 4, 3, 3)),
]


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    for name, cls, shape in MODELS:
        m = cls().eval()
        with torch.no_grad():
            for p in m.buffers():  # give BatchNorm non-trivial statistics
                if p.dtype == torch.float32:
                    p.copy_(torch.rand_like(p) + 0.5)
        x = torch.randn(*shape)
        with torch.no_grad():
            y = m(x)
        path = os.path.join(out, name + ".onnx")
        torch.onnx.export(m, (x,), path, opset_version=17, input_names=["x"],
                          output_names=["y"], do_constant_folding=True)
        np.save(os.path.join(out, name + ".in.npy"), x.numpy())
        np.save(os.path.join(out, name + ".out.npy"), y.numpy())
    # a dynamic batch: exported with B=2, checked with B=3
    m = Embed().eval()
    x2 = torch.randint(0, 20, (2, 4))
    x = torch.randint(0, 20, (3, 4))
    with torch.no_grad():
        y = m(x)
    torch.onnx.export(m, (x2,), os.path.join(out, "embed.onnx"), opset_version=17,
                      input_names=["idx"], output_names=["y"],
                      dynamic_axes={"idx": {0: "batch"}, "y": {0: "batch"}})
    np.save(os.path.join(out, "embed.in.npy"), x.numpy())
    np.save(os.path.join(out, "embed.out.npy"), y.numpy())
    m = Ops11().eval()
    x = torch.randn(4, 3)
    with torch.no_grad():
        y = m(x)
    torch.onnx.export(m, (x,), os.path.join(out, "ops11.onnx"), opset_version=11,
                      input_names=["x"], output_names=["y"])
    np.save(os.path.join(out, "ops11.in.npy"), x.numpy())
    np.save(os.path.join(out, "ops11.out.npy"), y.numpy())
    names_model(out)
    torch.onnx.export(Shuffle().eval(), (torch.randn(1, 4, 2, 2),),
                      os.path.join(out, "unsupported.onnx"), opset_version=13,
                      input_names=["x"], output_names=["y"])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/jit/write")
