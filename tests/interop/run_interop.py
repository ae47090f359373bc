"""Live differential tier: ckpt against real PyTorch, both directions, bit for bit.

    /usr/bin/python3 tests/interop/run_interop.py --tool BUILD/interop_tool --workdir DIR
        [--seed N] [--count N] [--gen N]          differential (CTest interop_zip_differential)
    /usr/bin/python3 tests/interop/run_interop.py --tool ... --workdir DIR --allowlist
                                                  allowlist check (CTest interop_allowlist)

Differential steps:
  a. torch.save every object of gen_objects.generate(seed) to DIR/torch/<name>.pt
  b. `interop_tool canon` on them; each .canon must equal canon.py of torch.load(file)
  c. `interop_tool resave` into DIR/resaved/; torch.load of each must give the same canon,
     and torch.save(torch.load(original)) into DIR/torch_resave/<name>.pt must be
     byte-identical to ckpt's DIR/resaved/<name>.pt
  d. `interop_tool gen DIR/gen N SEED`; torch.load of each c_<i>.pt must give the C
     side's c_<i>.canon, and torch.save of the loaded object (DIR/gen_torch/c_<i>.pt)
     must be byte-identical to ckpt's file.
Exit status 0 only when every comparison passed.
"""

import argparse
import difflib
import io
import os
import pickletools
import shutil
import subprocess
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import torch
except ImportError as e:
    print("run_interop: cannot import torch (%s)." % e)
    print("Install it with:  apt-get install -y python3-torch python3-numpy")
    print("(and run the tests with /usr/bin/python3); this tier never passes without torch.")
    sys.exit(1)

import canon  # noqa: E402

MAX_DETAIL = 8


# ------------------------------------------------------------------ helpers

def run(cmd):
    t = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.time() - t
    if p.returncode != 0:
        print("command failed (rc=%d, %.1fs): %s ..." % (p.returncode, dt, " ".join(cmd[:4])))
        print(p.stderr[-4000:])
    return p.returncode, p.stderr


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def text_diff(a, b, ctx=160):
    """Where two canonical texts first differ, with context."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    lo = max(0, i - ctx)
    return ("first difference at char %d (lengths %d vs %d)\n"
            "      expected: ...%s\n      got:      ...%s" % (
                i, len(a), len(b), a[lo:i + ctx], b[lo:i + ctx]))


def pickle_lines(data):
    out = io.StringIO()
    try:
        pickletools.dis(data, out=out)
    except Exception as e:  # noqa: BLE001 - a broken pickle is a finding
        out.write("<pickletools failed: %s>\n" % e)
    return out.getvalue().splitlines()


def zip_diff(want_path, got_path):
    """Describe how two torch.save files differ: records, data.pkl, bytes."""
    want, got = read(want_path, "rb"), read(got_path, "rb")
    lines = ["bytes: torch %d, ckpt %d" % (len(want), len(got))]
    n = min(len(want), len(got))
    i = next((k for k in range(n) if want[k] != got[k]), n)
    lines.append("first differing byte offset: %d" % i)
    try:
        zw, zg = zipfile.ZipFile(want_path), zipfile.ZipFile(got_path)
    except zipfile.BadZipFile as e:
        lines.append("ckpt file is not a readable zip: %s" % e)
        return "\n".join(lines)
    nw, ng = zw.namelist(), zg.namelist()
    if nw != ng:
        lines.append("record lists differ:\n  torch: %s\n  ckpt:  %s" % (nw[:20], ng[:20]))
    for name in nw:
        if name in ng and zw.read(name) != zg.read(name):
            if name.endswith("data.pkl"):
                a, b = pickle_lines(zw.read(name)), pickle_lines(zg.read(name))
                d = list(difflib.unified_diff(a, b, "torch/data.pkl", "ckpt/data.pkl", n=3,
                                              lineterm=""))
                lines.append("data.pkl differs:")
                lines.extend("  " + x for x in d[:40])
            else:
                lines.append("record %s differs" % name)
    infow = {x.filename: x for x in zw.infolist()}
    for x in zg.infolist():
        y = infow.get(x.filename)
        if y and (y.header_offset != x.header_offset or y.CRC != x.CRC or y.extra != x.extra
                  or y.compress_type != x.compress_type):
            lines.append("zip entry %s: offset %d/%d crc %08x/%08x extra %d/%d bytes" % (
                x.filename, y.header_offset, x.header_offset, y.CRC, x.CRC, len(y.extra),
                len(x.extra)))
            break
    return "\n".join(lines)


class Report:
    def __init__(self):
        self.counts = {}
        self.fails = {}

    def ok(self, step):
        self.counts.setdefault(step, [0, 0])[0] += 1

    def fail(self, step, name, detail):
        self.counts.setdefault(step, [0, 0])[1] += 1
        lst = self.fails.setdefault(step, [])
        lst.append((name, detail))

    def print(self):
        bad = 0
        print("\n=== interop results ===")
        for step, (ok, ko) in self.counts.items():
            print("%-34s %5d ok  %5d FAILED" % (step, ok, ko))
            bad += ko
        for step, lst in self.fails.items():
            print("\n--- %s: %d failure(s); first %d:" % (step, len(lst), min(len(lst), MAX_DETAIL)))
            for name, detail in lst[:MAX_DETAIL]:
                print("* %s\n%s" % (name, detail))
            if len(lst) > MAX_DETAIL:
                print("  (others: %s)" % ", ".join(n for n, _ in lst[MAX_DETAIL:MAX_DETAIL + 40]))
        return bad


def torch_canon(path):
    return canon.canon(torch.load(path, weights_only=False))


# -------------------------------------------------------------- differential

def differential(args):
    import gen_objects
    rep = Report()
    wd = args.workdir
    if os.path.isdir(wd):
        shutil.rmtree(wd)
    dirs = {k: os.path.join(wd, k) for k in
            ("torch", "canon", "resaved", "torch_resave", "gen", "gen_torch")}
    for d in dirs.values():
        os.makedirs(d)

    t0 = time.time()
    objs = gen_objects.generate(args.seed, args.count)
    names = []
    want = {}
    for name, obj in objs:
        path = os.path.join(dirs["torch"], name + ".pt")
        torch.save(obj, path)
        names.append(name)
    print("a. torch.save: %d objects (%.1fs)" % (len(names), time.time() - t0))

    # b. ckpt canon vs torch canon of the same files
    t = time.time()
    files = [os.path.join(dirs["torch"], n + ".pt") for n in names]
    rc, _ = run([args.tool, "canon", dirs["canon"]] + files)
    if rc != 0:
        rep.fail("tool", "interop_tool canon", "exit status %d" % rc)
    loaded = {}
    for n, f in zip(names, files):
        obj = torch.load(f, weights_only=False)
        loaded[n] = obj
        want[n] = canon.canon(obj)
        cpath = os.path.join(dirs["canon"], n + ".pt.canon")
        if not os.path.exists(cpath):
            rep.fail("b. load: ckpt canon == torch canon", n, "no .canon written")
            continue
        got = read(cpath).rstrip("\n")
        if got == want[n]:
            rep.ok("b. load: ckpt canon == torch canon")
        else:
            rep.fail("b. load: ckpt canon == torch canon", n,
                     got[:600] if got.startswith("ERROR") else text_diff(want[n], got))
    print("b. canon compare (%.1fs)" % (time.time() - t))

    # c. ckpt resave: torch reads it back equal, and bytes equal torch's own resave
    t = time.time()
    rc, _ = run([args.tool, "resave", dirs["resaved"]] + files)
    if rc != 0:
        rep.fail("tool", "interop_tool resave", "exit status %d (see stderr above)" % rc)
    for n in names:
        rpath = os.path.join(dirs["resaved"], n + ".pt")
        tpath = os.path.join(dirs["torch_resave"], n + ".pt")
        torch.save(loaded[n], tpath)
        if not os.path.exists(rpath):
            rep.fail("c1. resave: torch.load(ckpt file) canon", n, "ckpt wrote no file")
            rep.fail("c2. resave: bytes == torch resave", n, "ckpt wrote no file")
            continue
        try:
            got = torch_canon(rpath)
        except Exception as e:  # noqa: BLE001 - any torch failure is a finding
            got = "TORCH LOAD FAILED: %s: %s" % (type(e).__name__, str(e)[:500])
        if got == want[n]:
            rep.ok("c1. resave: torch.load(ckpt file) canon")
        else:
            rep.fail("c1. resave: torch.load(ckpt file) canon", n,
                     got if got.startswith("TORCH") else text_diff(want[n], got))
        if read(rpath, "rb") == read(tpath, "rb"):
            rep.ok("c2. resave: bytes == torch resave")
        else:
            rep.fail("c2. resave: bytes == torch resave", n, zip_diff(tpath, rpath))
    loaded.clear()
    print("c. resave compare (%.1fs)" % (time.time() - t))

    # d. C-built documents
    t = time.time()
    rc, _ = run([args.tool, "gen", dirs["gen"], str(args.gen), str(args.seed)])
    if rc != 0:
        rep.fail("tool", "interop_tool gen", "exit status %d (see stderr above)" % rc)
    for i in range(args.gen):
        n = "c_%d" % i
        ppath = os.path.join(dirs["gen"], n + ".pt")
        cpath = os.path.join(dirs["gen"], n + ".canon")
        tpath = os.path.join(dirs["gen_torch"], n + ".pt")
        if not (os.path.exists(ppath) and os.path.exists(cpath)):
            rep.fail("d1. gen: torch.load canon == C canon", n, "tool wrote no .pt/.canon")
            continue
        cwant = read(cpath).rstrip("\n")
        try:
            obj = torch.load(ppath, weights_only=False)
            got = canon.canon(obj)
        except Exception as e:  # noqa: BLE001
            obj = None
            got = "TORCH LOAD FAILED: %s: %s" % (type(e).__name__, str(e)[:500])
        if got == cwant:
            rep.ok("d1. gen: torch.load canon == C canon")
        else:
            rep.fail("d1. gen: torch.load canon == C canon", n,
                     got if got.startswith("TORCH") else text_diff(cwant, got))
        if obj is None and got.startswith("TORCH"):
            rep.fail("d2. gen: bytes == torch re-save", n, "torch could not load it")
            continue
        torch.save(obj, tpath)
        if read(ppath, "rb") == read(tpath, "rb"):
            rep.ok("d2. gen: bytes == torch re-save")
        else:
            rep.fail("d2. gen: bytes == torch re-save", n, zip_diff(tpath, ppath))
    print("d. gen compare (%.1fs)" % (time.time() - t))
    print("total %.1fs" % (time.time() - t0))
    return 1 if rep.print() else 0


# --------------------------------------------------------------- allowlist

_FIXED_ALLOWED = {
    "collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
    "_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.complex",
    "torch._tensor._rebuild_from_type_v2",
}
_REBUILD = ["_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor",
            "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3",
            "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage",
            "_rebuild_nested_tensor", "_rebuild_wrapper_subclass",
            "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor"]
_DTYPES = ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
           "complex32", "complex64", "complex128", "bool", "qint8", "quint8", "qint32",
           "bfloat16", "quint4x2", "quint2x4", "float8_e5m2", "float8_e4m3fn",
           "float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
           "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "uint16", "uint32", "uint64"]
_DTYPES += ["uint%d" % i for i in range(1, 8)] + ["int%d" % i for i in range(1, 8)]
_STORAGE_NAMES = ["Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte",
                  "Bool", "ComplexDouble", "ComplexFloat", "QInt8", "QUInt8", "QInt32",
                  "QUInt4x2", "QUInt2x4"]
_QSCHEMES = ["per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
             "per_channel_symmetric", "per_channel_affine_float_qparams"]
# torch 2.6+ weights-only opcodes (spec 4.2 + 4.3)
_OPCODES = {"GLOBAL", "NEWOBJ", "REDUCE", "BUILD", "APPEND", "APPENDS", "SETITEM", "SETITEMS",
            "MARK", "TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "NONE", "NEWFALSE", "NEWTRUE",
            "EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_DICT", "EMPTY_SET", "BININT", "BININT1",
            "BININT2", "BINUNICODE", "SHORT_BINSTRING", "BINPERSID", "BINGET", "LONG_BINGET",
            "BINPUT", "LONG_BINPUT", "LONG1", "PROTO", "STOP", "BINFLOAT"}


def allowed_globals():
    s = set(_FIXED_ALLOWED)
    s.update("torch._utils." + r for r in _REBUILD)
    s.update("torch." + d for d in _DTYPES)
    s.update("torch." + q for q in _QSCHEMES)
    for n in _STORAGE_NAMES:
        s.add("torch.%sStorage" % n)
        s.add("torch.cuda.%sStorage" % n)
        s.add("torch.%sTensor" % n)
        s.add("torch.cuda.%sTensor" % n)
    s.update({"torch.storage.TypedStorage", "torch.storage.UntypedStorage"})
    return s


def pickle_globals(path):
    """(globals as module.name after Python 2->3 mapping, opcode names) of data.pkl."""
    import _compat_pickle
    z = zipfile.ZipFile(path)
    first = z.namelist()[0]
    data = z.read(first.split("/")[0] + "/data.pkl")
    globs, ops = set(), set()
    for op, arg, _pos in pickletools.genops(data):
        ops.add(op.name)
        if op.name == "GLOBAL":
            mod, name = arg.split(" ", 1)
            if (mod, name) in _compat_pickle.NAME_MAPPING:
                mod, name = _compat_pickle.NAME_MAPPING[(mod, name)]
            elif mod in _compat_pickle.IMPORT_MAPPING:
                mod = _compat_pickle.IMPORT_MAPPING[mod]
            globs.add(mod + "." + name)
        elif op.name == "STACK_GLOBAL":
            globs.add("<STACK_GLOBAL>")
    return globs, ops


def allowlist(args):
    wd = args.workdir
    pairs = []  # (ckpt file, torch-made file of the same object)
    for ck, tk in (("resaved", "torch_resave"), ("gen", "gen_torch")):
        d = os.path.join(wd, ck)
        if not os.path.isdir(d):
            print("allowlist: %s is missing: run the differential test (interop_zip_differential) "
                  "first, or this script without --allowlist" % d)
            return 1
        for f in sorted(os.listdir(d)):
            if f.endswith(".pt"):
                pairs.append((os.path.join(d, f), os.path.join(wd, tk, f)))
    if not pairs:
        print("allowlist: no ckpt-written files under %s" % wd)
        return 1
    allowed = allowed_globals()
    bad, inherent, ok = [], {}, 0
    for ck, tk in pairs:
        try:
            globs, ops = pickle_globals(ck)
        except Exception as e:  # noqa: BLE001
            bad.append((ck, "cannot read data.pkl: %s" % e))
            continue
        extra = sorted(g for g in globs if g not in allowed)
        badops = sorted(o for o in ops if o not in _OPCODES)
        if not extra and not badops:
            ok += 1
            continue
        # A global torch 1.13 itself writes for the same object is inherent to the
        # format (e.g. builtins.bytes for b''), not something ckpt added.
        tglobs = set()
        if os.path.exists(tk):
            try:
                tglobs, tops = pickle_globals(tk)
            except Exception:  # noqa: BLE001
                tops = set()
        else:
            tops = set()
        own = [g for g in extra if g not in tglobs] + [o for o in badops if o not in tops]
        if own:
            bad.append((ck, "not on torch 2.x's weights-only allowlist: %s" % ", ".join(own)))
        else:
            for g in extra + badops:
                inherent.setdefault(g, []).append(os.path.basename(ck))
            ok += 1
    print("allowlist: %d ckpt-written files checked, %d ok, %d with globals/opcodes outside "
          "torch 2.x's weights-only allowlist" % (len(pairs), ok, len(bad)))
    for g, fl in inherent.items():
        print("  note: %s appears in %d files, but torch 1.13 writes it too for the same object "
              "(e.g. %s)" % (g, len(fl), ", ".join(fl[:3])))
    for f, why in bad[:20]:
        print("  FAIL %s: %s" % (f, why))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    # a new seed every run (printed, so a failure can be replayed with CKPT_INTEROP_SEED=N)
    default_seed = os.environ.get("CKPT_INTEROP_SEED") or str(int.from_bytes(os.urandom(4), "little"))
    ap.add_argument("--seed", type=int, default=int(default_seed))
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--gen", type=int, default=200)
    ap.add_argument("--allowlist", action="store_true")
    args = ap.parse_args()
    if args.allowlist:
        return allowlist(args)
    if not os.access(args.tool, os.X_OK):
        print("run_interop: interop_tool not found at %s (build the project first)" % args.tool)
        return 1
    print("seed %d (replay with CKPT_INTEROP_SEED=%d)" % (args.seed, args.seed), flush=True)
    return differential(args)


if __name__ == "__main__":
    sys.exit(main())
