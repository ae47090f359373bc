#!/usr/bin/env python3
"""numpy is the oracle for ckpt's .npy / .npz reader and writer (issue 13 item 3).

numpy writes arrays of every dtype ckpt maps (both byte orders, C and Fortran
order, 0-d and empty) with np.save / np.savez / np.savez_compressed; ckpt must
read identical bits (tests/interop/numpy_tool.c dump), write .npy files
byte-identical to np.save of the same array, and .npz archives numpy loads
with identical arrays.  Object, structured, string, datetime and long-double
arrays must be refused with the dtype (and the .npz member) named.
"""
import argparse
import os
import random
import subprocess
import sys
import zipfile

import numpy as np

DTYPES = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]
CKPT_NAMES = {"?": "bool", "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
              "u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64",
              "f2": "float16", "f4": "float32", "f8": "float64",
              "c8": "complex64", "c16": "complex128"}
SHAPES = [(), (0,), (5,), (2, 3), (3, 0, 2), (2, 3, 4), (1, 7), (1,) * 5]

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def make(rng, code, order, shape):
    dt = np.dtype(code).newbyteorder(order) if code not in ("?", "i1", "u1") else np.dtype(code)
    n = int(np.prod(shape)) if shape else 1
    if code == "?":
        a = (rng.integers(0, 2, size=n) == 1)
    else:
        # random bit patterns: NaNs, infinities, subnormals, every bit of every byte
        raw = rng.integers(0, 256, size=n * dt.itemsize, dtype=np.uint8).tobytes()
        a = np.frombuffer(raw, dtype=dt).copy()
    return a.astype(dt).reshape(shape)


def native_bytes(a):
    return np.ascontiguousarray(a.astype(a.dtype.newbyteorder("="))).tobytes()


def parse_dump(text):
    out = []
    for line in text.splitlines():
        key, dt, shape, hexs = line.split("\t")
        shp = tuple(int(x) for x in shape.split(",")) if shape else ()
        out.append((key, dt, shp, bytes.fromhex(hexs)))
    return out


def run(tool, *args):
    return subprocess.run([tool, *args], capture_output=True, text=True)


def cli_checks(ckpt, w, arrays):
    """ckpt ls lists an .npz's arrays; convert npz -> .pt (torch.load agrees) -> npz."""
    import torch  # Debian's torch 1.13, the project's other oracle

    # torch 1.13 has no uint16/32/64; Fortran-order arrays become strided tensors
    keep = {k: v for k, v in arrays.items() if v.dtype.kind != "u" or v.dtype.itemsize == 1}
    src = w("cli.npz")
    np.savez(src, **keep)
    r = subprocess.run([ckpt, "ls", src], capture_output=True, text=True)
    check(r.returncode == 0, "ckpt ls: %s" % r.stderr)
    rows = [l.split() for l in r.stdout.splitlines() if not l.startswith("#")]
    check([row[0] for row in rows] == list(keep), "ckpt ls: names differ")
    for row in rows:
        ref = keep.get(row[0])
        if ref is not None:
            check(int(row[-1]) == ref.nbytes, "ckpt ls %s: bytes %s" % (row[0], row[-1]))
    pt, back = w("cli.pt"), w("cli_back.npz")
    r = subprocess.run([ckpt, "convert", src, pt], capture_output=True, text=True)
    check(r.returncode == 0, "ckpt convert npz -> pt: %s" % r.stderr)
    if r.returncode == 0:
        d = torch.load(pt)
        check(list(d) == list(keep), "torch.load: keys differ")
        for k, ref in keep.items():
            got = d[k].numpy()
            check(got.shape == ref.shape and got.tobytes() == native_bytes(ref),
                  "torch.load %s differs" % k)
    r = subprocess.run([ckpt, "convert", pt, back], capture_output=True, text=True)
    check(r.returncode == 0, "ckpt convert pt -> npz: %s" % r.stderr)
    if r.returncode == 0:
        with np.load(back) as z:
            for k, ref in keep.items():
                check(z[k].tobytes() == native_bytes(ref), "pt -> npz: %s differs" % k)
    print("cli: ls, convert npz -> pt -> npz over %d arrays" % len(keep))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--ckpt", default=None, help="the ckpt CLI: also check ls and convert")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(2**31)
    print("numpy", np.__version__, "seed", seed, "(rerun with --seed %d)" % seed)
    rng = np.random.default_rng(seed)
    os.makedirs(a.workdir, exist_ok=True)
    w = lambda name: os.path.join(a.workdir, name)

    arrays = {}
    n = 0
    for code in DTYPES:
        for order in ("<", ">"):
            if code in ("?", "i1", "u1") and order == ">":
                continue
            for shape in SHAPES:
                for fortran in (False, True):
                    if fortran and len(shape) < 2:
                        continue
                    arr = make(rng, code, order, shape)
                    if fortran:
                        arr = np.asfortranarray(arr)
                    n += 1
                    name = "a%03d_%s%s_%s%s" % (n, code, "be" if order == ">" else "le",
                                                "x".join(map(str, shape)) or "scalar",
                                                "_F" if fortran else "")
                    arrays[name] = arr
                    path = w(name + ".npy")
                    np.save(path, arr)
                    r = run(a.tool, "dump", path)
                    check(r.returncode == 0, "%s: dump failed: %s" % (name, r.stderr))
                    if r.returncode:
                        continue
                    [(key, dt, shp, data)] = parse_dump(r.stdout)
                    check(dt == CKPT_NAMES[code], "%s: dtype %s" % (name, dt))
                    check(shp == arr.shape, "%s: shape %s" % (name, shp))
                    check(data == native_bytes(arr), "%s: bits differ" % name)
                    # ckpt's .npy is np.save's, byte for byte (of the native-order array,
                    # which is what ckpt holds after swapping big-endian data)
                    out = w(name + ".ckpt.npy")
                    r = run(a.tool, "roundtrip", path, out)
                    check(r.returncode == 0, "%s: save failed: %s" % (name, r.stderr))
                    if r.returncode:
                        continue
                    ref = w(name + ".ref.npy")
                    np.save(ref, arr.astype(arr.dtype.newbyteorder("=")))
                    with open(out, "rb") as f1, open(ref, "rb") as f2:
                        check(f1.read() == f2.read(), "%s: .npy bytes differ from np.save" % name)
    print("npy cases:", n)

    # header lengths at every padding boundary, including the one where numpy pads a
    # full 64 bytes ((10 + len + 1) % 64 == 0): empty arrays with long shapes
    from numpy.lib import format as npformat

    def pads_64(arr):
        d = npformat.header_data_from_array_1_0(arr)
        text = "{" + "".join("'%s': %s, " % (k, repr(v)) for k, v in sorted(d.items())) + "}"
        if d["shape"]:
            text += " " * (21 - len(repr(d["shape"][-1 if d["fortran_order"] else 0])))
        return (10 + len(text) + 1) % 64 == 0

    full_pad = 0
    for code in ("<f4", "|b1", "<c16", "<i8", "<f2"):
        for nd in range(1, 9):
            for d in range(0, 15, 2):
                for e in range(0, 4):
                    shape = (0, 10 ** d) + (10 ** e,) * (nd - 1)
                    try:
                        arr = np.empty(shape, dtype=code)
                    except (ValueError, MemoryError):
                        continue
                    full_pad += pads_64(arr)
                    ref = w("pad.ref.npy")
                    np.save(ref, arr)
                    r = run(a.tool, "roundtrip", ref, w("pad.ckpt.npy"))
                    check(r.returncode == 0, "%s %s: %s" % (code, shape, r.stderr))
                    if r.returncode == 0:
                        with open(ref, "rb") as f1, open(w("pad.ckpt.npy"), "rb") as f2:
                            check(f1.read() == f2.read(),
                                  "%s %s: header differs from np.save" % (code, shape))
    check(full_pad > 0, "no case reached numpy's full 64-byte padding")

    # format versions 2.0 and 3.0 (numpy writes them for huge or non-latin1 headers)
    for version in ((2, 0), (3, 0)):
        for name in list(arrays)[::17]:
            arr = arrays[name]
            path = w("v%d_%s.npy" % (version[0], name))
            with open(path, "wb") as f:
                npformat.write_array(f, arr, version=version)
            r = run(a.tool, "dump", path)
            check(r.returncode == 0, "%s v%s: %s" % (name, version, r.stderr))
            if r.returncode == 0:
                [(_, dt, shp, data)] = parse_dump(r.stdout)
                check(shp == arr.shape and data == native_bytes(arr),
                      "%s format %s: bits differ" % (name, version))
    print("header padding cases: %d with a full 64-byte pad" % full_pad)

    # .npz, stored and deflated, every array above in one archive
    for saver in (np.savez, np.savez_compressed):
        path = w("all_%s.npz" % saver.__name__)
        saver(path, **arrays)
        r = run(a.tool, "dump", path)
        check(r.returncode == 0, "%s: dump failed: %s" % (path, r.stderr))
        if r.returncode == 0:
            got = parse_dump(r.stdout)
            check([g[0] for g in got] == list(arrays), "%s: keys or order differ" % path)
            for key, dt, shp, data in got:
                ref = arrays.get(key)
                check(ref is not None and shp == ref.shape and data == native_bytes(ref),
                      "%s: %s differs" % (path, key))
        out = w("all_%s.ckpt.npz" % saver.__name__)
        r = run(a.tool, "roundtrip", path, out)
        check(r.returncode == 0, "%s: save failed: %s" % (path, r.stderr))
        if r.returncode == 0:
            with zipfile.ZipFile(out) as z:
                check(z.testzip() is None, "%s: CRC error" % out)
                check(all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()),
                      "%s: members not stored" % out)
                for k, ref in arrays.items():
                    mem = z.read(k + ".npy")
                    refp = w("m.npy")
                    np.save(refp, ref.astype(ref.dtype.newbyteorder("=")))
                    with open(refp, "rb") as f:
                        check(mem == f.read(), "%s: member %s differs from np.save" % (out, k))
            with np.load(out) as z:
                check(list(z.keys()) == list(arrays), "%s: numpy sees other keys" % out)
                for k, ref in arrays.items():
                    got = z[k]
                    check(got.dtype == ref.dtype.newbyteorder("=") and got.shape == ref.shape
                          and got.tobytes() == ref.astype(got.dtype).tobytes(),
                          "%s: numpy reads %s differently" % (out, k))

    # views that are not contiguous: numpy's own np.save of the same view
    for mode, ref in (("noncontig", np.arange(24, dtype=np.int32).reshape(4, 6)[:, ::2]),
                      ("transposed", np.arange(6, dtype=np.float64).reshape(2, 3).T)):
        out, refp = w(mode + ".ckpt.npy"), w(mode + ".ref.npy")
        r = run(a.tool, mode, out)
        check(r.returncode == 0, "%s: %s" % (mode, r.stderr))
        np.save(refp, ref)
        if r.returncode == 0:
            with open(out, "rb") as f1, open(refp, "rb") as f2:
                check(f1.read() == f2.read(), "%s: bytes differ from np.save" % mode)

    # refusals: never unpickled, dtype (and member) named
    bad = {
        "object": np.array([1, "x", None], dtype=object),
        "structured": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]),
        "unicode": np.array(["ab", "c"]),
        "bytes": np.array([b"ab", b"c"]),
        "datetime": np.array(["2020-01-01"], dtype="M8[D]"),
        "longdouble": np.zeros(2, dtype=np.longdouble),
    }
    for name, arr in bad.items():
        path = w("bad_%s.npy" % name)
        np.save(path, arr, allow_pickle=True)
        r = run(a.tool, "dump", path)
        check(r.returncode == 1, "%s: not refused (rc %d)" % (name, r.returncode))
        check(path in r.stderr and ("[CKPT_E_UNSUPPORTED]" in r.stderr),
              "%s: error does not name the file / code: %s" % (name, r.stderr.strip()))
        if arr.dtype.fields is None and not arr.dtype.hasobject:
            check(arr.dtype.str in r.stderr, "%s: dtype %s not named: %s"
                  % (name, arr.dtype.str, r.stderr.strip()))
        print("refused", name, "->", r.stderr.strip())
    path = w("bad_member.npz")
    np.savez(path, good=np.zeros(2), evil=bad["object"])
    r = run(a.tool, "dump", path)
    check(r.returncode == 1 and "evil.npy" in r.stderr and "evil" in r.stderr,
          "npz object member not refused by name: %s" % r.stderr.strip())
    print("refused npz member ->", r.stderr.strip())

    if a.ckpt:
        cli_checks(a.ckpt, w, arrays)

    if failures:
        print("%d failure(s); seed %d" % (failures, seed))
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
