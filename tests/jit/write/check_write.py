#!/usr/bin/env python3
"""TorchScript archives written by ckpt, checked with Debian's torch 1.13.

    check_write.py JIT_WRITE_TOOL FIXTURE_DIR OUT_DIR [CKPT_CLI]

For each ONNX fixture of tools/gen/make_jit_write.py (torch's own output
beside it) and for the C model jit_write_tool traces: ckpt writes the archive
plain and frozen; torch.jit.load runs both and must match the reference within
|a-b| <= 1e-5 + 1e-5|b|; torch's record list must hold data.pkl, constants.pkl,
version and code/__torch__.py; the plain archive's parameters are the ONNX
initializers; the frozen one has no parameters and its tensors are constants;
torch.jit.save of the loaded module, loaded again, gives the same parameters
and outputs.  The unsupported fixture must fail naming the node and leave no
file.  With CKPT_CLI, `ckpt convert X.onnx OUT --to torchscript [--freeze]`
gives archives that run the same.  Exit 77 when torch is absent."""
import io
import os
import subprocess
import sys

NAME = "jit_write_torch_check"
try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover
    print(f"SKIPPED: {NAME}: {e}")
    sys.exit(77)

try:
    import onnx
    from onnx import numpy_helper
except ImportError:
    onnx = None

TOOL, FIX, OUT = sys.argv[1:4]
CLI = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
os.makedirs(OUT, exist_ok=True)
failures = []


def close(a, b):
    """(max |a-b|, whether |a-b| <= 1e-5 + 1e-5|b| everywhere)"""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf"), False
    if a.size == 0:
        return 0.0, True
    d = np.abs(a - b)
    return float(np.max(d)), bool(np.all(d <= 1e-5 + 1e-5 * np.abs(b)))


def tool(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True)


def fnv(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def torch_listing(m):
    out = []
    for kind, items in (("param", m.named_parameters()), ("buffer", m.named_buffers())):
        for k, t in items:
            t = t.detach().contiguous()
            shape = ",".join(str(d) for d in t.shape)
            out.append(f"{k} {kind} {str(t.dtype).replace('torch.', '')} [{shape}] "
                       f"{fnv(t.numpy().tobytes())}")
    return out


def ckpt_listing(path):
    r = tool("tensors", path)
    if r.returncode != 0:
        failures.append(f"ckpt_jit_load {os.path.basename(path)}: {r.stderr.strip()}")
        return None
    return r.stdout.splitlines()


def archive_constants(path):
    """the tensors of constants.pkl as (dtype, shape, fnv) sorted, read with
    zipfile + a data-only unpickler (no torch)"""
    import pickle
    import zipfile
    z = zipfile.ZipFile(path)
    prefix = z.namelist()[0].split("/")[0]
    dtypes = {"FloatStorage": "float32", "DoubleStorage": "float64", "LongStorage": "int64",
              "IntStorage": "int32", "BoolStorage": "bool", "HalfStorage": "float16"}

    class U(pickle.Unpickler):
        def find_class(self, mod, name):
            if (mod, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda st, off, size, stride, rg, hooks, *a: (st, tuple(size))
            if mod == "torch" and name in dtypes:
                return name
            if (mod, name) == ("collections", "OrderedDict"):
                return dict
            raise pickle.UnpicklingError(f"{mod}.{name}")

        def persistent_load(self, pid):
            _, cls, key, _, numel = pid
            return (dtypes[cls], z.read(f"{prefix}/constants/{key}"))

    out = []
    for (dt, data), shape in U(io.BytesIO(z.read(f"{prefix}/constants.pkl"))).load():
        out.append((dt, shape, fnv(data)))
    return sorted(out)


def check_archive(name, path, x, ref, frozen, inits=None):
    recs = torch._C.PyTorchFileReader(path).get_all_records()
    for r in ("data.pkl", "constants.pkl", "version", "code/__torch__.py"):
        if r not in recs:
            failures.append(f"{name}: record {r} missing from {recs}")
    m = torch.jit.load(path)
    xs = x if isinstance(x, list) else [x]
    refs = ref if isinstance(ref, list) else [ref]
    with torch.no_grad():
        y = m(*[torch.from_numpy(a) for a in xs])
    ys = list(y) if isinstance(y, tuple) else [y]
    d, ok = 0.0, len(ys) == len(refs)
    for a, b in zip(ys, refs):
        da, oka = close(a.numpy(), b)
        d, ok = max(d, da), ok and oka
    print(f"{name}: torch.jit.load(ckpt's archive) runs; max |y - reference| = {d:.3g}")
    if not ok:
        failures.append(f"{name}: output differs (max {d})")
    params = dict(m.named_parameters())
    if frozen:
        if params or list(m.named_buffers()):
            failures.append(f"{name}: frozen archive has parameters/buffers")
        if "constants/0" not in recs:
            failures.append(f"{name}: frozen archive has no constants/ records")
    elif inits is not None:
        for k, v in params.items():
            hit = [n for n, a in inits.items() if a.shape == tuple(v.shape)
                   and np.array_equal(a, v.detach().numpy())]
            if not hit:
                failures.append(f"{name}: parameter {k} is no initializer of the ONNX model")
    # round trip: torch.jit.save of what torch loaded, loaded again
    rt = path[:-3] + "_rt.pt"
    torch.jit.save(m, rt)
    m2 = torch.jit.load(rt)
    p2 = dict(m2.named_parameters())
    if sorted(p2) != sorted(params) or any(not torch.equal(params[k], p2[k]) for k in params):
        failures.append(f"{name}: parameters change through torch.jit.save")
    with torch.no_grad():
        y2 = m2(*[torch.from_numpy(a) for a in xs])
    y2s = list(y2) if isinstance(y2, tuple) else [y2]
    if len(ys) != len(y2s) or any(not torch.equal(a, b) for a, b in zip(ys, y2s)):
        failures.append(f"{name}: outputs change through torch.jit.save")
    # ... and read by ckpt (ckpt_jit_load): the same tensors as from ckpt's own
    # archive, and as torch lists them
    a, b = ckpt_listing(path), ckpt_listing(rt)
    t = torch_listing(m)
    if a is not None and b is not None:
        if a != b:
            failures.append(f"{name}: ckpt reads torch's re-save differently: {a} vs {b}")
        elif a != t:
            failures.append(f"{name}: ckpt's tensors {a} differ from torch's {t}")
        else:
            print(f"{name}: round trip ckpt -> torch.jit.load -> torch.jit.save -> "
                  f"ckpt_jit_load: {len(a)} tensors equal")
    if frozen:
        ca, cb = archive_constants(path), archive_constants(rt)
        if len(set(ca)) != len(ca):
            failures.append(f"{name}: equal constants are not pooled: {ca}")
        if sorted(set(ca)) != sorted(set(cb)) or not ca:
            failures.append(f"{name}: constants change through torch.jit.save: {ca} vs {cb}")
        else:
            print(f"{name}: {len(ca)} constants equal after torch.jit.save")
    return m


for f in sorted(os.listdir(FIX)):
    if not f.endswith(".onnx") or f.startswith("unsupported"):
        continue
    base = f[:-5]
    if os.path.exists(os.path.join(FIX, base + ".in.npz")):
        zi = np.load(os.path.join(FIX, base + ".in.npz"))
        zo = np.load(os.path.join(FIX, base + ".out.npz"))
        x = [zi[f"arr_{i}"] for i in range(len(zi.files))]
        ref = [zo[f"arr_{i}"] for i in range(len(zo.files))]
    else:
        x = np.load(os.path.join(FIX, base + ".in.npy"))
        ref = np.load(os.path.join(FIX, base + ".out.npy"))
    inits = None
    if onnx is not None:
        om = onnx.load(os.path.join(FIX, f))
        inits = {i.name: numpy_helper.to_array(i) for i in om.graph.initializer}
    for frozen in (False, True):
        out = os.path.join(OUT, base + ("_frozen" if frozen else "") + ".pt")
        r = tool("onnx", os.path.join(FIX, f), out, *(["--freeze"] if frozen else []))
        if r.returncode != 0:
            failures.append(f"{base}: ckpt could not write it: {r.stderr.strip()}")
            continue
        try:
            check_archive(base + (" (frozen)" if frozen else ""), out, x, ref, frozen, inits)
        except Exception as e:  # noqa: BLE001 - report every model
            failures.append(f"{base}{' (frozen)' if frozen else ''}: {type(e).__name__}: {e}")

# the C models traced through the tape
r = tool("module", OUT)
if r.returncode != 0:
    failures.append(f"cmodel: {r.stderr.strip()}")
else:
    for cm in ("cmodel", "ctransformer"):
        x = np.load(os.path.join(OUT, cm + ".in.npy"))
        ref = np.load(os.path.join(OUT, cm + ".out.npy"))
        for frozen in (False, True):
            p = os.path.join(OUT, cm + ("_frozen.pt" if frozen else ".pt"))
            try:
                check_archive(cm + (" (frozen)" if frozen else ""), p, x, ref, frozen)
            except Exception as e:  # noqa: BLE001
                failures.append(f"{cm}: {type(e).__name__}: {e}")

# an op without a mapping: a clean error naming the node, no file
bad = os.path.join(OUT, "unsupported.pt")
if os.path.exists(bad):
    os.remove(bad)
r = tool("onnx", os.path.join(FIX, "unsupported.onnx"), bad)
if r.returncode == 0 or "DepthToSpace" not in r.stderr or os.path.exists(bad):
    failures.append(f"unsupported: expected a refusal naming DepthToSpace and no file: {r.stderr!r}")
leftover = [f for f in os.listdir(OUT) if f.startswith("unsupported") or ".tmp" in f]
if leftover:
    failures.append(f"unsupported: files left behind: {leftover}")

# the CLI: ckpt convert --to torchscript
if CLI:
    for frozen in (False, True):
        out = os.path.join(OUT, "cli_cnn" + ("_frozen" if frozen else "") + ".pt")
        r = subprocess.run([CLI, "convert", os.path.join(FIX, "cnn.onnx"), out, "--to",
                            "torchscript", *(["--freeze"] if frozen else [])],
                           capture_output=True, text=True)
        if r.returncode != 0:
            failures.append(f"ckpt convert --to torchscript: {r.stderr.strip()}")
            continue
        try:
            check_archive("ckpt convert cnn.onnx" + (" --freeze" if frozen else ""), out,
                          np.load(os.path.join(FIX, "cnn.in.npy")),
                          np.load(os.path.join(FIX, "cnn.out.npy")), frozen)
        except Exception as e:  # noqa: BLE001
            failures.append(f"ckpt convert: {type(e).__name__}: {e}")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
