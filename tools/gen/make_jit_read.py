"""Fixtures for the TorchScript reader (tests/jit/read.cmake), written by Debian's torch 1.13:

    /usr/bin/python3 tools/gen/make_jit_read.py tests/fixtures/jit/read

For each model NAME it writes NAME.pt (torch.jit.save) and NAME.expected.json, what
torch.jit.load(NAME.pt) reports:
  listing     named_parameters() then named_buffers(): key, kind, dtype, shape, crc32
              (CRC-32 of the row-major bytes)
  attributes  tensor attributes (neither parameter nor buffer), pre-order, same fields
  state_dict  module.state_dict(): key, dtype, shape, crc32
  root_class  the root module's qualified class name
  forward     the root forward's argument names and types (after self), return type
  extra       the extra/ file names
Models: scripted (nested submodules, tied and absent parameters, BatchNorm buffers, a
non-persistent buffer, tensor/int/str/list/dict attributes, a TorchScript class attribute,
extra files), traced, frozen, quantized dynamic (Linear, LSTM), quantized static (Conv,
Linear), a lite archive (_save_for_lite_interpreter), and a format-1 archive (model.json +
attributes.pkl + tensors/, what torch 1.0-1.2 wrote; torch 1.13 cannot load those, so its
expected listing is computed here from the tensors this script writes into it).  Seeds are fixed; files stay
small (< 200 KB).
"""
import io
import json
import os
import re
import sys
import zlib
from typing import Dict, List

import torch
import torch.nn as nn

torch.manual_seed(0)


def crc(t):
    t = t.detach()
    if t.is_quantized:
        t = t.int_repr()
    b = t.contiguous().reshape(-1)
    if b.numel() == 0:
        return 0
    return zlib.crc32(b.view(torch.uint8).numpy().tobytes()) if b.dtype != torch.bool else \
        zlib.crc32(b.to(torch.uint8).numpy().tobytes())


def dname(t):
    return str(t.dtype)[6:]


def entry(name, t, kind=None):
    e = {"key": name}
    if kind:
        e["kind"] = kind
    e.update({"dtype": dname(t), "shape": list(t.shape), "crc32": crc(t)})
    return e


def attr_names(mod):
    """A script module's attribute names in slot order, from torch's own dump of it."""
    names, inside = [], False
    for line in mod._c.dump_to_str(False, True, False).split("\n"):
        if line == "  attributes {":
            inside = True
        elif inside and line == "  }":
            break
        elif inside:
            mt = re.match(r"^    ([A-Za-z_0-9][A-Za-z_0-9]*) = ", line)
            if mt:
                names.append(mt.group(1))
    return names


def tensor_attrs(m):
    """Tensor attributes that are neither parameters nor buffers, pre-order, deduplicated."""
    out, seen = [], set()
    pb = {id(t) for _, t in m.named_parameters()} | {id(t) for _, t in m.named_buffers()}
    for prefix, mod in m.named_modules():
        params = {n for n, _ in mod.named_parameters(recurse=False)}
        bufs = {n for n, _ in mod.named_buffers(recurse=False)}
        for n in attr_names(mod):
            if n in params or n in bufs:
                continue
            v = mod._c.getattr(n)
            if isinstance(v, torch.Tensor) and id(v) not in pb and id(v) not in seen:
                seen.add(id(v))
                out.append(entry(prefix + "." + n if prefix else n, v, "attribute"))
    return out


def expected(path, extra=()):
    m = torch.jit.load(path, map_location="cpu")
    listing = [entry(n, t, "parameter") for n, t in m.named_parameters()]
    listing += [entry(n, t, "buffer") for n, t in m.named_buffers()]
    fwd = m.forward.schema
    return {
        "listing": listing,
        "attributes": tensor_attrs(m),
        "state_dict": [entry(k, v) for k, v in m.state_dict().items()],
        "root_class": m._c._type().qualified_name(),
        "forward": {"args": [a.name for a in fwd.arguments[1:]],
                    "types": [str(a.type) for a in fwd.arguments[1:]],
                    "returns": [str(r.type) for r in fwd.returns]},
        "extra": sorted(extra),
    }


@torch.jit.script
class Box(object):
    def __init__(self, lo: float, hi: float):
        self.lo = lo
        self.hi = hi

    def clamp(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, self.lo, self.hi)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x))) + x


class Net(nn.Module):
    scale: float

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.blocks = nn.Sequential(Block(4), Block(4))
        self.head = nn.Linear(4, 5)
        self.tied = nn.Linear(4, 5)
        self.tied.weight = self.head.weight  # tied: listed once, kept twice in state_dict
        self.register_buffer("steps", torch.tensor([7], dtype=torch.int64))
        self.register_buffer("scratch", torch.arange(3, dtype=torch.float32), persistent=False)
        self.anchors = torch.linspace(0, 1, 6).reshape(2, 3)  # a tensor attribute
        self.labels: List[str] = ["a", "b"]
        self.table: Dict[str, int] = {"x": 1, "y": 2}
        self.name = "net"
        self.scale = 0.5
        self.box = Box(-1.0, 1.0)

    def forward(self, x: torch.Tensor, k: int = 2) -> torch.Tensor:
        y = self.blocks(self.stem(x)).mean([2, 3])
        z = self.head(y) + self.tied(y) * self.scale
        return self.box.clamp(z) + self.anchors.sum() + float(k)

    @torch.jit.export
    def describe(self, prefix: str) -> str:
        return prefix + self.name


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class QStatic(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = torch.quantization.QuantStub()
        self.conv = nn.Conv2d(3, 4, 3)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4, 2)
        self.dequant = torch.quantization.DeQuantStub()

    def forward(self, x):
        x = self.relu(self.conv(self.quant(x)))
        x = x.mean([2, 3])
        return self.dequant(self.fc(x))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


def save(out, name, m, extra=None, lite=False):
    path = os.path.join(out, name + (".ptl" if lite else ".pt"))
    if lite:
        m._save_for_lite_interpreter(path)
    else:
        torch.jit.save(m, path, _extra_files=extra or {})
    exp = expected(path, (extra or {}).keys())
    with open(os.path.join(out, name + ".expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
        f.write("\n")
    size = os.path.getsize(path)
    assert size < 200 * 1024, (name, size)
    print("%s: %d bytes, %d listed, %d attributes, %d in state_dict" % (
        os.path.basename(path), size, len(exp["listing"]), len(exp["attributes"]),
        len(exp["state_dict"])))


class _TensorId:
    """Pickles as torch.jit._pickle.build_tensor_from_id(i), as format 1 wrote tensors."""

    def __init__(self, i):
        self.i = i

    def __reduce__(self):
        import torch.jit._pickle as jp
        return (jp.build_tensor_from_id, (self.i,))


def format1(out):
    """A format-1 archive (torch 1.0-1.2 layout, caffe2 ModelDef as proto3 JSON)."""
    g = torch.Generator().manual_seed(1)
    base = torch.randn(2, 3, generator=g)
    tensors = [("w", base, [3, 2], [1, 3], 0, True),        # a transposed view of base
               ("run", torch.arange(4, dtype=torch.int64), [4], [1], 0, False),
               ("fcw", torch.randn(10, generator=g), [2, 4], [4, 1], 2, True),  # offset 2
               ("fcb", torch.randn(2, generator=g, dtype=torch.float64), [2], [1], 0, True),
               ("val", torch.tensor([1.5, -2.0]), [2], [1], 0, False)]
    tdefs = []
    files = {}
    for i, (_, t, dims, strides, off, rg) in enumerate(tensors):
        files["tensors/%d" % i] = t.numpy().tobytes()
        tdefs.append({"dims": [str(d) for d in dims], "offset": str(off),
                      "strides": [str(x) for x in strides], "requiresGrad": rg,
                      "dataType": {torch.float32: "FLOAT", torch.int64: "INT64",
                                   torch.float64: "DOUBLE"}[t.dtype],
                      "data": {"key": "tensors/%d" % i}, "device": "cpu"})
    mj = {"protoVersion": "3", "producerName": "pytorch", "producerVersion": "1.0",
          "mainModule": {
              "name": "format1", "optimize": True,
              "torchscriptArena": {"key": "code/format1.py"},
              "submodules": [{"name": "fc", "optimize": True, "parameters": [
                  {"isBuffer": False, "tensorId": "2", "name": "weight"},
                  {"isBuffer": False, "tensorId": "3", "name": "bias"}]}],
              "parameters": [{"isBuffer": False, "tensorId": "0", "name": "weight"},
                             {"isBuffer": True, "tensorId": "1", "name": "running"}],
              "attributes": [{"type": "Tensor", "name": "value", "id": "0"},
                             {"type": "int", "name": "count", "id": "1"}]},
          "tensors": tdefs}
    files["model.json"] = json.dumps(mj).encode()
    import pickle
    files["attributes.pkl"] = pickle.dumps((_TensorId(4), 5), protocol=2)
    files["code/format1.py"] = (b"op_version_set = 0\ndef forward(self,\n    x: Tensor) -> "
                                b"Tensor:\n  return torch.add(x, self.value, alpha=1)\n")
    files["version"] = b"1\n"
    path = os.path.join(out, "format1.pt")
    import zipfile
    with zipfile.ZipFile(path, "w") as z:
        for k in ("version", "code/format1.py", "attributes.pkl", "model.json") + tuple(
                "tensors/%d" % i for i in range(len(tensors))):
            z.writestr("format1/" + k, files[k])

    def view(i):
        _, t, dims, strides, off, _ = tensors[i]
        return torch.as_strided(t, dims, strides, off)

    lst = [entry("weight", view(0), "parameter"), entry("fc.weight", view(2), "parameter"),
           entry("fc.bias", view(3), "parameter"), entry("running", view(1), "buffer")]
    exp = {"listing": lst, "attributes": [entry("value", view(4), "attribute")],
           "state_dict": [{k: e[k] for k in ("key", "dtype", "shape", "crc32")}
                          for e in (lst[0], lst[3], lst[1], lst[2])],
           "root_class": "__torch__.format1",
           "forward": {"args": ["x"], "types": ["Tensor"], "returns": ["Tensor"]},
           "extra": []}
    with open(os.path.join(out, "format1.expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
        f.write("\n")
    print("format1.pt: %d bytes (format 1)" % os.path.getsize(path))


def main(out):
    os.makedirs(out, exist_ok=True)
    net = Net().eval()
    scripted = torch.jit.script(net)
    save(out, "scripted", scripted, extra={"meta.json": b'{"v": 1}', "notes.txt": b"hello"})
    small = Small().eval()
    x = torch.randn(2, 6)
    save(out, "traced", torch.jit.trace(small, x))
    save(out, "frozen", torch.jit.freeze(torch.jit.script(Net().eval())))
    qd = torch.quantization.quantize_dynamic(LSTMNet().eval(), {nn.Linear, nn.LSTM},
                                             dtype=torch.qint8)
    save(out, "quant_dynamic", torch.jit.script(qd))
    torch.backends.quantized.engine = "qnnpack" if "fbgemm" not in \
        torch.backends.quantized.supported_engines else "fbgemm"
    qs = QStatic().eval()
    qs.qconfig = torch.quantization.get_default_qconfig(torch.backends.quantized.engine)
    torch.quantization.prepare(qs, inplace=True)
    qs(torch.randn(2, 3, 8, 8))
    torch.quantization.convert(qs, inplace=True)
    save(out, "quant_static", torch.jit.script(qs))
    save(out, "lite", torch.jit.script(Small().eval()), lite=True)
    format1(out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/jit/read")
