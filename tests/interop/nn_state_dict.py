#!/usr/bin/python3
"""Module state_dict / load_state_dict against real torch (1.13).

torch builds models and saves their state dicts; nn_tool (C) builds the same
module trees from a spec file with raw ckpt_module_param/buffer calls, loads
the file with load_state_dict and writes its state_dict() back.  Checks:
  * byte identity with torch.save(model.state_dict()) (same basename);
  * torch loads the C file with strict=True and every tensor is equal;
  * wrong architectures: C's message equals str(RuntimeError) from torch, and
    the non-strict missing/unexpected lists equal torch's;
  * dtype conversion (bfloat16 / int64 files into float32 models), non-contiguous
    tensors, mmap, assign, DataParallel "module." keys, BatchNorm version-1
    files without num_batches_tracked, 0-d parameters from 1-element inputs.
"""
import argparse
import collections
import os
import subprocess
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("nn_state_dict: torch is missing; install it with: "
          "sudo apt-get install python3-torch", file=sys.stderr)
    sys.exit(1)

ap = argparse.ArgumentParser()
ap.add_argument("--tool", required=True)
ap.add_argument("--workdir", required=True)
args = ap.parse_args()
os.makedirs(args.workdir, exist_ok=True)
W = args.workdir
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


# ------------------------------------------------------------------ models

class MLP(nn.Module):
    def __init__(self, sizes=(8, 16, 4)):
        super().__init__()
        self.layers = nn.Sequential(*[m for i in range(len(sizes) - 1) for m in
                                      (nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU())])


class CNN(nn.Module):
    def __init__(self, bn=True):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=not bn)
        self.bn1 = nn.BatchNorm2d(8) if bn else nn.Identity()
        self.conv2 = nn.Conv2d(8, 4, 3)
        self.fc = nn.Linear(4, 10)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))


class ResNetTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2), BasicBlock(16, 16, 1))
        self.fc = nn.Linear(16, 10)


def transformer():
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32)
    return nn.TransformerEncoder(layer, num_layers=2)


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, bias=False)
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(4, 4), nn.ReLU()),
                                     nn.Linear(4, 2)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(2, 3), "bn": nn.BatchNorm1d(3)})
        self.register_buffer("scale", torch.ones(2))
        self.register_buffer("cache", torch.zeros(5), persistent=False)


def seq_lin_bn():
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def randomize(model):
    torch.manual_seed(0)
    with torch.no_grad():
        for name, b in model.named_buffers():
            if b.is_floating_point():
                b.copy_(torch.rand_like(b) + 0.5)
            else:
                b.fill_(7)
    return model


# ------------------------------------------------------------------- spec

DT = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64",
      torch.bfloat16: "bfloat16", torch.float16: "float16", torch.int32: "int32"}


def write_spec(model, path):
    with open(path, "w") as f:
        for mpath, mod in model.named_modules():
            f.write("module %s %s %d\n" % (mpath or "-", type(mod).__name__,
                                           getattr(type(mod), "_version", 1)))
            pre = mpath + "." if mpath else ""
            for n, p in mod._parameters.items():
                if p is None:
                    f.write("param_none %s%s\n" % (pre, n))
                else:
                    dims = ",".join(str(d) for d in p.shape) or "-"
                    f.write("param %s%s %s %s\n" % (pre, n, DT[p.dtype], dims))
            for n, b in mod._buffers.items():
                pers = 0 if n in mod._non_persistent_buffers_set else 1
                if b is None:
                    f.write("buffer_none %s%s %d\n" % (pre, n, pers))
                else:
                    dims = ",".join(str(d) for d in b.shape) or "-"
                    f.write("buffer %s%s %s %s %d\n" % (pre, n, DT[b.dtype], dims, pers))


def run_tool(spec, inp, out, *opts):
    rep = out + ".report"
    r = subprocess.run([args.tool, spec, inp, out, "--report", rep] + list(opts),
                       capture_output=True, text=True)
    missing, unexpected, message = [], [], None
    if os.path.exists(rep):
        lines = open(rep).read().split("\n")
        for i, ln in enumerate(lines):
            if ln.startswith("missing "):
                missing.append(ln[8:])
            elif ln.startswith("unexpected "):
                unexpected.append(ln[11:])
            elif ln == "message":
                message = "\n".join(lines[i + 1:])
                break
    return r.returncode, r.stderr, missing, unexpected, message


def same_state(a, b):
    if list(a.keys()) != list(b.keys()):
        return False
    for k in a:
        if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k], b[k]):
            return False
    return True


def roundtrip(name, make, sd=None, opts=(), expect=None, byte_identical=True):
    """torch saves `sd` (default: make().state_dict()); C loads it into the
    tree of make() and saves its state_dict; torch checks the result."""
    model = randomize(make())
    d = os.path.join(W, name)
    os.makedirs(os.path.join(d, "t"), exist_ok=True)
    os.makedirs(os.path.join(d, "c"), exist_ok=True)
    spec = os.path.join(d, "spec.txt")
    write_spec(make(), spec)
    tfile = os.path.join(d, "t", "model.pt")
    cfile = os.path.join(d, "c", "model.pt")
    if sd is None:
        sd = model.state_dict()
    elif callable(sd):
        sd = sd(model)
    torch.save(sd, tfile)
    rc, err, _, _, msg = run_tool(spec, tfile, cfile, *opts)
    check(rc == 0, "%s: nn_tool rc=%d %s %s" % (name, rc, err.strip(), msg))
    if rc != 0:
        return
    back = torch.load(cfile)
    ref = make()
    ref.load_state_dict(back, strict=True)          # strict load in torch
    if expect is None:
        expect = model.state_dict()
    elif callable(expect):
        expect = expect(model)
    check(same_state(ref.state_dict(), expect), "%s: tensors differ after round trip" % name)
    check(getattr(back, "_metadata", None) == getattr(ref.state_dict(), "_metadata", None),
          "%s: _metadata differs" % name)
    if byte_identical:
        torch.save(ref.state_dict(), tfile)
        check(open(tfile, "rb").read() == open(cfile, "rb").read(),
              "%s: bytes differ from torch.save(model.state_dict())" % name)
    print("ok   %s" % name)


MODELS = {"mlp": MLP, "cnn_bn": CNN, "resnet_block": ResNetTiny, "transformer": transformer,
          "seq_linear_bn": seq_lin_bn, "nested": Nested}

for name, make in MODELS.items():
    roundtrip(name, make)
    roundtrip(name + "_copy", make, opts=("--copy",))
roundtrip("resnet_mmap", ResNetTiny, opts=("--mmap",))
roundtrip("resnet_assign", ResNetTiny, opts=("--assign",))
roundtrip("transformer_mmap_assign", transformer, opts=("--mmap", "--assign"))


# dtype conversion: what torch's own load_state_dict (copy_) makes of the file
def converted(fn):
    def sd(model):
        out = collections.OrderedDict((k, fn(k, v)) for k, v in model.state_dict().items())
        out._metadata = model.state_dict()._metadata
        return out
    return sd


def torch_loaded(sdfn, make):
    def exp(model):
        ref = make()
        ref.load_state_dict(sdfn(model))
        return ref.state_dict()
    return exp


for label, fn in [
        ("bf16", lambda k, v: v.bfloat16() if v.is_floating_point() else v),
        ("f16", lambda k, v: v.half() if v.is_floating_point() else v),
        ("f64", lambda k, v: v.double() if v.is_floating_point() else v),
        ("int64", lambda k, v: (v * 10).round().long() if v.is_floating_point() else v),
        ("noncontig", lambda k, v: v.t().contiguous().t() if v.dim() == 2 else v),
        ("noncontig_bf16", lambda k, v: v.t().contiguous().t().bfloat16() if v.dim() == 2 else v),
        ("nbt_float", lambda k, v: v.double() if k.endswith("num_batches_tracked") else v)]:
    for mname in ("cnn_bn", "transformer"):
        make = MODELS[mname]
        sdfn = converted(fn)
        roundtrip("%s_%s" % (mname, label), make, sd=sdfn, expect=torch_loaded(sdfn, make))


# DataParallel file: "module." keys, loaded into the plain model
def dp_sd(model):
    return nn.DataParallel(model).state_dict()


roundtrip("dataparallel", ResNetTiny, sd=dp_sd, opts=("--strip-module",))


# BatchNorm files of version 1: no num_batches_tracked, set to 0 on load
def bn_v1(drop_meta):
    def sd(model):
        s = model.state_dict()
        meta = s._metadata
        out = collections.OrderedDict((k, v) for k, v in s.items()
                                      if not k.endswith("num_batches_tracked"))
        if not drop_meta:
            m2 = collections.OrderedDict(meta)
            for k in m2:
                if k and isinstance(model.get_submodule(k), nn.modules.batchnorm._BatchNorm):
                    m2[k] = {"version": 1}
            out._metadata = m2
        return out
    return sd


for dm in (False, True):
    sdfn = bn_v1(dm)
    roundtrip("bn_version1%s" % ("_nometa" if dm else ""), CNN, sd=sdfn,
              expect=torch_loaded(sdfn, CNN))


# 0-d parameter/buffer from a 1-element 1-d input (0.3-era files)
def one_d(model):
    s = model.state_dict()
    s["bn1.num_batches_tracked"] = torch.tensor([5])
    return s


roundtrip("zero_d_from_1d", CNN, sd=one_d, expect=torch_loaded(one_d, CNN))


# ------------------------------------------------- wrong architectures
def torch_error(model, sd, strict=True):
    try:
        r = model.load_state_dict(sd, strict=strict)
        return None, list(r.missing_keys), list(r.unexpected_keys)
    except RuntimeError as e:
        return str(e), None, None


def wrong(name, make_file, make_model, strict=True, sdfn=None):
    d = os.path.join(W, "wrong_" + name)
    os.makedirs(d, exist_ok=True)
    src = randomize(make_file())
    sd = sdfn(src) if sdfn else src.state_dict()
    tfile = os.path.join(d, "in.pt")
    torch.save(sd, tfile)
    spec = os.path.join(d, "spec.txt")
    target = make_model()
    write_spec(target, spec)
    opts = () if strict else ("--non-strict",)
    rc, err, missing, unexpected, msg = run_tool(spec, tfile, os.path.join(d, "out.pt"), *opts)
    tmsg, tmiss, tunexp = torch_error(make_model(), sd, strict)
    if tmsg is not None:
        check(rc == 3, "%s: C accepted what torch refused (rc=%d %s)" % (name, rc, err))
        check(msg == tmsg, "%s: message differs\n  C:     %r\n  torch: %r" % (name, msg, tmsg))
    else:
        check(rc == 0, "%s: C refused what torch accepted: %s %s" % (name, err, msg))
        check(missing == tmiss, "%s: missing %r != torch %r" % (name, missing, tmiss))
        check(unexpected == tunexp, "%s: unexpected %r != torch %r" % (name, unexpected, tunexp))
    print("ok   wrong_%s" % name)


def lin32():
    return nn.Sequential(nn.Linear(3, 2))


def lin23():
    return nn.Sequential(nn.Linear(2, 3))


for strict in (True, False):
    sfx = "" if strict else "_nonstrict"
    wrong("mlp_deeper" + sfx, lambda: MLP((8, 16, 4)), lambda: MLP((8, 16, 16, 4)), strict)
    wrong("mlp_shallower" + sfx, lambda: MLP((8, 16, 16, 4)), lambda: MLP((8, 16, 4)), strict)
    wrong("size_mismatch" + sfx, lin32, lin23, strict)
    wrong("cnn_bn_vs_plain" + sfx, lambda: CNN(True), lambda: CNN(False), strict)
    wrong("cnn_plain_vs_bn" + sfx, lambda: CNN(False), lambda: CNN(True), strict)
    wrong("resnet_vs_cnn" + sfx, ResNetTiny, CNN, strict)
    wrong("transformer_vs_mlp" + sfx, transformer, MLP, strict)
    wrong("nested_vs_resnet" + sfx, Nested, ResNetTiny, strict)
    wrong("dp_unstripped" + sfx, ResNetTiny, ResNetTiny, strict, sdfn=dp_sd)
    wrong("not_a_tensor" + sfx, lin32, lin32, strict,
          sdfn=lambda m: collections.OrderedDict([("0.weight", 3), ("0.bias", m[0].bias)]))
    wrong("mixed" + sfx, lambda: MLP((3, 2, 5)), lambda: MLP((2, 3)), strict)

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("all nn state_dict checks passed")
