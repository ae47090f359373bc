"""Check ckpt's TorchScript reader against torch (tests/jit/read.cmake).

    check_read.py --fixtures CKPT DIR
        every DIR/NAME.expected.json (tools/gen/make_jit_read.py, torch 1.13) against
        `ckpt ls --json`, `ckpt show` and `ckpt extract --state-dict` of DIR/NAME.pt(l);
        no torch needed (the state dict ckpt writes is read back with pickle + zipfile)
    check_read.py --real CKPT DIR [DIR...]
        every archive of the DIRs against torch.jit.load(f, map_location='cpu') live:
        named_parameters() + named_buffers() (names, dtypes, shapes, CRC-32 of the bytes),
        tensor attributes, and state_dict() bit for bit against `ckpt extract
        --state-dict`.  Format-1 archives (model.json; torch 1.13 no longer loads them)
        are checked against model.json + tensors/ read with zipfile and numpy.  Exit 77
        (CTest: skipped) when torch is absent or no DIR exists.
    check_read.py --hostile CKPT WORKDIR FILE
        truncated, emptied and garbled copies of FILE's members: `ckpt ls` and `ckpt show`
        either read them or fail with exit 2 and an error naming the file and the damaged
        record (or the zip structure); never crash.

Exit 0 when everything matches, 1 on a difference (each one printed).
"""
import io
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import zipfile
import zlib

SKIP = 77


def run(args):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          errors="replace")


def ckpt_ls(ckpt, path):
    r = run([ckpt, "ls", "--json", path])
    if r.returncode != 0:
        raise RuntimeError("ckpt ls exit %d: %s" % (r.returncode, r.stderr.strip()[:400]))
    rows = json.loads(r.stdout)
    return [{k: e[k] for k in ("key", "kind", "dtype", "shape", "crc32")} for e in rows]


# ------------------------------------------------------------ reading a torch.save file
# without torch: storages are raw records, tensors _rebuild_tensor_v2(storage, offset,
# size, stride, ...) of a contiguous state_dict copy.

DTYPES = {"FloatStorage": ("float32", 4), "DoubleStorage": ("float64", 8),
          "HalfStorage": ("float16", 2), "BFloat16Storage": ("bfloat16", 2),
          "LongStorage": ("int64", 8), "IntStorage": ("int32", 4), "ShortStorage": ("int16", 2),
          "CharStorage": ("int8", 1), "ByteStorage": ("uint8", 1), "BoolStorage": ("bool", 1),
          "QInt8Storage": ("qint8", 1), "QUInt8Storage": ("quint8", 1),
          "QInt32Storage": ("qint32", 4)}


class _Storage:
    def __init__(self, name, raw):
        self.dtype, self.size = DTYPES[name]
        self.raw = raw


class _T:
    def __init__(self, st, off, shape, stride):
        self.dtype = st.dtype
        self.shape = list(shape)
        n = 1
        for d in shape:
            n *= d
        contiguous, s = True, 1
        for d, st_ in zip(reversed(shape), reversed(stride)):
            if d != 1 and st_ != s:
                contiguous = False
            s *= d
        if not contiguous:
            raise ValueError("state dict tensor is not contiguous")
        self.bytes = st.raw[off * st.size:(off + n) * st.size]


def read_torch_save(path):
    z = zipfile.ZipFile(path)
    names = z.namelist()
    prefix = names[0].split("/")[0] + "/"

    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "collections" and name == "OrderedDict":
                import collections
                return collections.OrderedDict
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return lambda st, off, size, stride, *a: _T(st, off, size, stride)
            if module == "torch" and name in DTYPES:
                return name
            raise pickle.UnpicklingError("unexpected global %s.%s" % (module, name))

        def persistent_load(self, pid):
            _, cls, key, _loc, _n = pid
            return _Storage(cls, z.read(prefix + "data/" + key))

    return U(io.BytesIO(z.read(prefix + "data.pkl"))).load()


def state_dict_rows(ckpt, model, work):
    out = os.path.join(work, os.path.basename(model) + ".sd.pt")
    r = run([ckpt, "extract", "--state-dict", model, "-o", out])
    if r.returncode != 0:
        raise RuntimeError("ckpt extract --state-dict exit %d: %s" % (r.returncode,
                                                                     r.stderr.strip()[:400]))
    sd = read_torch_save(out)
    if type(sd).__name__ != "OrderedDict":
        raise RuntimeError("state dict is a %s, not an OrderedDict" % type(sd).__name__)
    return [{"key": k, "dtype": v.dtype, "shape": v.shape,
             "crc32": zlib.crc32(v.bytes) if v.bytes else 0} for k, v in sd.items()], out


def diff(what, want, got):
    if want == got:
        return []
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else None
        g = got[i] if i < len(got) else None
        if w != g:
            return ["%s: entry %d differs (torch %d entries, ckpt %d):\n    torch: %s\n    ckpt:  %s"
                    % (what, i, len(want), len(got), json.dumps(w), json.dumps(g))]
    return ["%s differs" % what]


def check_fixtures(ckpt, d):
    bad, n = [], 0
    with tempfile.TemporaryDirectory() as work:
        for f in sorted(os.listdir(d)):
            if not f.endswith(".expected.json"):
                continue
            name = f[:-len(".expected.json")]
            model = [os.path.join(d, name + e) for e in (".pt", ".ptl")
                     if os.path.exists(os.path.join(d, name + e))][0]
            exp = json.load(open(os.path.join(d, f)))
            n += 1
            try:
                got = ckpt_ls(ckpt, model)
                bad += ["%s: %s" % (name, x) for x in
                        diff("listing", exp["listing"] + exp["attributes"], got)]
                sd, _ = state_dict_rows(ckpt, model, work)
                bad += ["%s: %s" % (name, x) for x in diff("state_dict", exp["state_dict"], sd)]
                show = run([ckpt, "show", model])
                if show.returncode != 0:
                    bad.append("%s: ckpt show exit %d: %s" % (name, show.returncode,
                                                              show.stderr[:300]))
                    continue
                lines = show.stdout.split("\n")
                root = [ln for ln in lines if ln and not ln.startswith("#")][0].split(" ")[0]
                if root != exp["root_class"]:
                    bad.append("%s: root class %s, torch %s" % (name, root, exp["root_class"]))
                fwd = [ln for ln in lines if ln.startswith("  def forward(")]
                want = "  def forward(%s)" % ", ".join(
                    "%s: %s" % (a, t) for a, t in zip(exp["forward"]["args"],
                                                      exp["forward"]["types"]))
                if not fwd or not fwd[0].startswith(want):
                    bad.append("%s: forward %s, torch %s" % (name, fwd[:1], want))
                extra = sorted(ln[len("# extra file: "):] for ln in lines
                               if ln.startswith("# extra file: "))
                if extra != exp["extra"]:
                    bad.append("%s: extra files %s, torch %s" % (name, extra, exp["extra"]))
            except (RuntimeError, ValueError, KeyError, pickle.UnpicklingError) as e:
                bad.append("%s: %s" % (name, e))
    for b in bad:
        print("FAIL " + b)
    print("check_read --fixtures: %d models, %d differences" % (n, len(bad)))
    return 1 if bad or n == 0 else 0


# ------------------------------------------------------------ real archives, torch live

def torch_side(torch, path):
    try:
        m = torch.jit.load(path, map_location="cpu")
    except RuntimeError as e:
        msg = str(e)
        mt = re.search(r"Unknown builtin op: torchvision::(\w+)", msg)
        if not mt:
            raise
        # torchvision is not installed: give torch the op's schema so the archive's code
        # compiles (nothing runs); the listing does not depend on it
        lib = torch.library.Library("torchvision", "DEF")
        torch_side.libs.append(lib)
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("roi_align(Tensor input, Tensor rois, float spatial_scale, int "
                   "pooled_height, int pooled_width, int sampling_ratio, bool aligned) -> Tensor")
        m = torch.jit.load(path, map_location="cpu")
    return m


torch_side.libs = []


def t_entry(torch, name, t, kind=None):
    t = t.detach()
    e = {"key": name}
    if kind:
        e["kind"] = kind
    b = (t.int_repr() if t.is_quantized else t).contiguous().reshape(-1)
    if b.dtype == torch.bool:
        b = b.to(torch.uint8)
    raw = b.view(torch.uint8).numpy().tobytes() if b.numel() else b""
    e.update({"dtype": str(t.dtype)[6:], "shape": list(t.shape),
              "crc32": zlib.crc32(raw) if raw else 0})
    return e


def attr_names(mod):
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


def tensor_attrs(torch, m):
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
                out.append(t_entry(torch, prefix + "." + n if prefix else n, v, "attribute"))
    return out


def v1_listing(path):
    """Format 1: parameters (and buffers) from model.json's module tree, pre-order;
    tensor bytes gathered from tensors/<i> by offset and strides with numpy."""
    import numpy as np
    z = zipfile.ZipFile(path)
    prefix = z.namelist()[0].split("/")[0] + "/"
    mj = json.loads(z.read(prefix + "model.json"))
    np_dt = {"FLOAT": ("float32", np.float32), "DOUBLE": ("float64", np.float64),
             "INT64": ("int64", np.int64), "INT32": ("int32", np.int32),
             "UINT8": ("uint8", np.uint8), "INT8": ("int8", np.int8)}
    tensors = mj.get("tensors", [])

    def tensor(i):
        t = tensors[int(i)]
        name, dt = np_dt[t["dataType"]]
        raw = np.frombuffer(z.read(prefix + t["data"]["key"]), dtype=dt)
        shape = [int(x) for x in t.get("dims", [])]
        strides = [int(x) * raw.itemsize for x in t.get("strides", [])]
        a = np.lib.stride_tricks.as_strided(raw[int(t.get("offset", 0)):], shape, strides)
        b = np.ascontiguousarray(a).tobytes()
        return {"dtype": name, "shape": shape, "crc32": zlib.crc32(b) if b else 0}

    def mods(d, pre):
        yield pre, d
        for s in d.get("submodules", []):
            yield from mods(s, pre + "." + s["name"] if pre else s["name"])

    out = {"parameter": [], "buffer": []}
    attrs = []
    for pre, d in mods(mj["mainModule"], ""):
        for p in d.get("parameters", []):
            kind = "buffer" if p.get("isBuffer") else "parameter"
            e = {"key": pre + "." + p["name"] if pre else p["name"], "kind": kind}
            e.update(tensor(p["tensorId"]))
            out[kind].append(e)
    # attributes.pkl tensors: build_tensor_from_id(i) in attribute order
    for pre, d in mods(mj["mainModule"], ""):
        for a in d.get("attributes", []):
            if a.get("type") == "Tensor":
                attrs.append((pre + "." + a["name"] if pre else a["name"], int(a["id"])))
    if attrs:
        class U(pickle.Unpickler):
            def find_class(self, module, name):
                if module == "torch.jit._pickle" and name == "build_tensor_from_id":
                    return lambda i: ("tensor", i)
                raise pickle.UnpicklingError("%s.%s" % (module, name))
        vals = U(io.BytesIO(z.read(prefix + "attributes.pkl"))).load()
        for key, i in attrs:
            e = {"key": key, "kind": "attribute"}
            e.update(tensor(vals[i][1]))
            out.setdefault("attribute", []).append(e)
    return out["parameter"] + out["buffer"] + out.get("attribute", []), \
        [{k: e[k] for k in ("key", "dtype", "shape", "crc32")} for e in
         out["parameter"] + out["buffer"]]


def check_real(ckpt, dirs):
    dirs = [d for d in dirs if os.path.isdir(d)]
    if not dirs:
        print("SKIPPED: jit_read_real: no folder of real archives (../shared/fixtures/real/"
              "torchscript*) beside the checkout")
        return SKIP
    try:
        import torch
    except ImportError as e:
        print("SKIPPED: jit_read_real: torch is not importable (%s)" % e)
        return SKIP
    bad, rows = [], []
    with tempfile.TemporaryDirectory() as work:
        for d in dirs:
            for f in sorted(os.listdir(d)):
                path = os.path.join(d, f)
                status = "equal"
                try:
                    got = ckpt_ls(ckpt, path)
                except RuntimeError as e:
                    bad.append("%s: %s" % (f, e))
                    rows.append((f, "ckpt cannot read it"))
                    continue
                with zipfile.ZipFile(path) as z:
                    v1 = not any(n.endswith("/data.pkl") for n in z.namelist())
                if v1:
                    want, want_sd = v1_listing(path)
                    status = "format 1: equal to model.json (torch 1.13 cannot load it)"
                else:
                    m = torch_side(torch, path)
                    want = [t_entry(torch, n, t, "parameter") for n, t in m.named_parameters()]
                    want += [t_entry(torch, n, t, "buffer") for n, t in m.named_buffers()]
                    want += tensor_attrs(torch, m)
                    want_sd = [t_entry(torch, k, v) for k, v in m.state_dict().items()]
                d1 = diff("listing", want, got)
                try:
                    sd, _ = state_dict_rows(ckpt, path, work)
                    d2 = diff("state_dict", want_sd, sd)
                except (RuntimeError, ValueError, pickle.UnpicklingError) as e:
                    d2 = ["state_dict: %s" % e]
                bad += ["%s: %s" % (f, x) for x in d1 + d2]
                if d1 or d2:
                    status = "DIFFERENT"
                rows.append((f, "%s (%d tensors listed, %d in state_dict)" % (
                    status, len(got), len(want_sd))))
    for f, s in rows:
        print("%-100s %s" % (f, s))
    for b in bad:
        print("FAIL " + b)
    return 1 if bad else 0


# ------------------------------------------------------------ hostile copies

def check_hostile(ckpt, work, src):
    os.makedirs(work, exist_ok=True)
    z = zipfile.ZipFile(src)
    names = z.namelist()
    bad, n = [], 0
    cases = []
    for victim in names:
        base = victim.split("/", 1)[1]
        if not (base.endswith(".pkl") or base.endswith(".py") or base.endswith(".json")
                or base == "version" or base.startswith("data/") or base.startswith("tensors/")):
            continue
        data = z.read(victim)
        cases.append((base, "truncated", data[:len(data) // 2]))
        cases.append((base, "garbage", bytes((b * 7 + 13) & 0xFF for b in data[:64]) +
                      data[64:]))
        cases.append((base, "empty", b""))
    cases.append(("(archive)", "cut", None))
    for base, how, data in cases:
        out = os.path.join(work, "%s.%s.pt" % (base.replace("/", "_"), how))
        if data is None:
            raw = open(src, "rb").read()
            open(out, "wb").write(raw[:len(raw) * 2 // 3])
        else:
            with zipfile.ZipFile(out, "w") as w:
                for nm in names:
                    w.writestr(nm, data if nm.split("/", 1)[1] == base else z.read(nm))
        n += 1
        r = run([ckpt, "ls", out])
        r2 = run([ckpt, "show", out])
        for rr, cmd in ((r, "ls"), (r2, "show")):
            if rr.returncode < 0 or rr.returncode > 2:
                bad.append("%s %s (%s): crashed, exit %d: %s" % (cmd, base, how, rr.returncode,
                                                                 rr.stderr[-300:]))
            elif rr.returncode == 2 and os.path.basename(out) not in rr.stderr:
                bad.append("%s %s (%s): the error does not name the file: %s" % (
                    cmd, base, how, rr.stderr.strip()[:300]))
            elif rr.returncode == 2 and base not in rr.stderr and "zip" not in rr.stderr:
                bad.append("%s %s (%s): the error does not name the record: %s" % (
                    cmd, base, how, rr.stderr.strip()[:300]))
    for b in bad:
        print("FAIL " + b)
    print("check_read --hostile: %d damaged copies of %s, %d problems" % (
        n, os.path.basename(src), len(bad)))
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "--fixtures":
        return check_fixtures(argv[2], argv[3])
    if len(argv) >= 4 and argv[1] == "--real":
        return check_real(argv[2], argv[3:])
    if len(argv) == 5 and argv[1] == "--hostile":
        return check_hostile(argv[2], argv[3], argv[4])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
