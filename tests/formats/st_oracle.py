#!/usr/bin/env python3
"""An independent safetensors reader (Python's json + numpy) is the oracle for
ckpt's safetensors reader and writer (issue 13 item 1).  No Python safetensors
package exists on Debian 12, so this script parses the format itself from its
published layout: u64 little-endian header length N, N bytes of UTF-8 JSON,
then the data area addressed by each entry's data_offsets.

Checks (tests/formats/st_tool.c is the C side):
  real      every file in ../shared/fixtures/real/safetensors: ckpt's tensors
            (copy, mmap, lazy) equal numpy's values bit for bit (bf16 and the
            float8 kinds compared as raw bits), metadata equal;
  resave    ckpt re-serializes each real file's tensors + metadata; files the
            safetensors library (>= 0.3, after PR #148 "Enforcing tensor
            alignment", 2023-02-21) or its ports wrote come back byte-identical;
            the samples of huggingface/safetensors (samples/, added 2022-11-17
            by an older version that neither padded the header nor ordered by
            dtype) come back with exactly those two #148 changes and nothing else;
  escape    names and metadata needing JSON escapes come back byte-identical;
  torch     a state dict saved by torch 1.13 (torch.save) -> ckpt load ->
            ckpt_safetensors_save: the json+numpy reader gives torch's values;
            non-contiguous tensors are written contiguous; tied weights are
            refused naming both keys, unless duplicate_shared.
Exit 0 when every check passes, 77 when a needed folder is absent (skipped)."""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

# numpy views of each safetensors dtype; raw unsigned ints where numpy has no type
NP = {"BOOL": "?", "U8": "u1", "I8": "i1", "U16": "<u2", "I16": "<i2", "U32": "<u4",
      "I32": "<i4", "U64": "<u8", "I64": "<i8", "F16": "<f2", "F32": "<f4", "F64": "<f8",
      "C64": "<c8", "BF16": "<u2", "F8_E4M3": "u1", "F8_E5M2": "u1", "F8_E8M0": "u1",
      "F8_E4M3FNUZ": "u1", "F8_E5M2FNUZ": "u1"}
CKPT_NAME = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "U16": "uint16", "I16": "int16",
             "U32": "uint32", "I32": "int32", "U64": "uint64", "I64": "int64",
             "F16": "float16", "F32": "float32", "F64": "float64", "C64": "complex64",
             "BF16": "bfloat16", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
             "F8_E8M0": "float8_e8m0fnu", "F8_E4M3FNUZ": "float8_e4m3fnuz",
             "F8_E5M2FNUZ": "float8_e5m2fnuz"}
# the Dtype enum of safetensors/src/tensor.rs, in declaration order (the writer sorts
# by it, descending, then by name)
RANK = ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
        "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
        "C64", "F64", "I64", "U64"]

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)
    return cond


def no_dups(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def read_st(path):
    """(metadata or None, [(name, dtype, shape, numpy array)] in data-offset order, hl)"""
    b = open(path, "rb").read()
    (n,) = struct.unpack("<Q", b[:8])
    hdr = json.loads(b[8:8 + n].decode("utf-8"), object_pairs_hook=no_dups)
    meta = hdr.pop("__metadata__", None)
    start = 8 + n
    ents = sorted(hdr.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    out, at = [], 0
    for name, e in ents:
        s, t = e["data_offsets"]
        assert s == at, (path, name)
        arr = np.frombuffer(b[start + s:start + t], dtype=np.dtype(NP[e["dtype"]]))
        arr = arr.reshape(e["shape"])
        out.append((name, e["dtype"], list(e["shape"]), arr))
        at = t
    assert start + at == len(b), path
    return meta, out, n


def ckpt_dump(tool, path, mode):
    r = subprocess.run([tool, "dump", path, mode], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    meta, ts = {}, []
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "meta":
            meta[bytes.fromhex(f[1]).decode()] = bytes.fromhex(f[2]).decode()
        else:
            shape = [int(x) for x in f[2].split(",")] if f[2] else []
            ts.append((bytes.fromhex(f[0]).decode(), f[1], shape, bytes.fromhex(f[3])))
    return (meta, ts), ""


def compare(tool, path, label):
    meta, ents, _ = read_st(path)
    for mode in ("copy", "mmap", "lazy"):
        got, why = ckpt_dump(tool, path, mode)
        if not check(got is not None, f"{label} ({mode}): ckpt refused: {why}"):
            continue
        gmeta, gts = got
        check(gmeta == (meta or {}), f"{label} ({mode}): metadata {gmeta} != {meta}")
        check(len(gts) == len(ents), f"{label} ({mode}): {len(gts)} tensors, numpy {len(ents)}")
        for (name, dt, shape, arr), (gn, gdt, gshape, graw) in zip(ents, gts):
            ok = (name == gn and CKPT_NAME[dt] == gdt and shape == gshape and
                  np.ascontiguousarray(arr).tobytes() == graw)
            check(ok, f"{label} ({mode}): tensor {name} differs ({gn} {gdt} {gshape})")
    return meta, ents


def library_layout(meta, ents):
    """The header the safetensors library >= #148 writes for these tensors: entries by
    Dtype descending then name, offsets from 0, compact JSON, spaces to a multiple of 8."""
    order = sorted(ents, key=lambda e: (-RANK.index(e[1]), e[0].encode()))
    hdr, at, data = {}, 0, b""
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dt, shape, arr in order:
        raw = np.ascontiguousarray(arr).tobytes()
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [at, at + len(raw)]}
        at += len(raw)
        data += raw
    h = json.dumps(hdr, separators=(",", ":"), ensure_ascii=False).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def real_checks(tool, real, work):
    files = sorted(f for f in os.listdir(real) if f.endswith(".safetensors"))
    check(len(files) >= 9, f"{len(files)} real files")
    identical, relaid = [], []
    for f in files:
        path = os.path.join(real, f)
        meta, ents = compare(tool, path, f)
        out = os.path.join(work, "resave_" + f)
        r = subprocess.run([tool, "resave", path, out], capture_output=True, text=True)
        if not check(r.returncode == 0, f"{f}: resave failed: {r.stderr}"):
            continue
        orig, mine = open(path, "rb").read(), open(out, "rb").read()
        if orig == mine:
            identical.append(f)
            continue
        # only files from before safetensors #148 may differ, and only by its two changes
        (n,) = struct.unpack("<Q", orig[:8])
        pre148 = n % 8 != 0 and f.startswith("huggingface__safetensors__samples__")
        if check(pre148, f"{f}: re-serialized bytes differ from the original"):
            check(mine == library_layout(meta, ents),
                  f"{f}: differs by more than #148's padding and dtype ordering")
            relaid.append(f)
    print(f"real: {len(files)} files read as numpy reads them; re-serialized byte-identical: "
          f"{len(identical)} ({', '.join(identical)}); written before safetensors #148 and "
          f"re-laid out as the library does since: {len(relaid)} ({', '.join(relaid)})")
    check(len(identical) >= 3, "byte-identical re-serializations")


def torch_checks(tool, work):
    import torch
    torch.manual_seed(0)
    sd = {
        "f32": torch.randn(3, 4),
        "f64": torch.randn(5, dtype=torch.float64),
        "f16": torch.randn(2, 3).half(),
        "bf16": torch.randn(7).bfloat16(),
        "i64": torch.arange(-3, 9, dtype=torch.int64).reshape(3, 4),
        "i32": torch.arange(6, dtype=torch.int32),
        "i16": torch.arange(-2, 2, dtype=torch.int16),
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
        "b": torch.tensor([True, False, True]),
        "c64": torch.randn(3, dtype=torch.complex64),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "transposed": torch.arange(12, dtype=torch.float32).reshape(3, 4).t(),
        "strided": torch.arange(20, dtype=torch.int64)[::3],
    }
    pt = os.path.join(work, "sd.pt")
    torch.save(sd, pt)
    out = os.path.join(work, "sd.safetensors")
    r = subprocess.run([tool, "torch2st", pt, out], capture_output=True, text=True)
    if not check(r.returncode == 0, f"torch -> safetensors failed: {r.stderr}"):
        return
    meta, ents, n = read_st(out)
    check(meta is None, "no metadata written when none given")
    check(n % 8 == 0, "header padded to a multiple of 8")
    got = {name: (dt, shape, arr) for name, dt, shape, arr in ents}
    check(set(got) == set(sd), f"keys {sorted(got)}")
    order = [name for name, _, _, _ in ents]
    want_order = sorted(order, key=lambda k: (-RANK.index(got[k][0]), k.encode()))
    check(order == want_order, f"file order {order} is not the library's {want_order}")
    for k, t in sd.items():
        dt, shape, arr = got[k]
        check(shape == list(t.shape), f"{k}: shape {shape}")
        if t.dtype == torch.bfloat16:
            ref = t.contiguous().view(torch.int16).numpy().view("<u2")
        else:
            ref = t.contiguous().numpy()
        check(np.ascontiguousarray(arr).tobytes() == np.ascontiguousarray(ref).tobytes(),
              f"{k}: values differ from torch's")
    # tied weights: refused naming both keys; written twice with duplicate_shared
    w = torch.randn(4, 3)
    tied = {"embed.weight": w, "lm_head.weight": w, "bias": torch.zeros(3)}
    torch.save(tied, pt)
    r = subprocess.run([tool, "torch2st", pt, out + ".tied"], capture_output=True, text=True)
    check(r.returncode == 1 and "share memory" in r.stderr and "'embed.weight'" in r.stderr
          and "'lm_head.weight'" in r.stderr, f"tied weights not refused by name: {r.stderr}")
    check(not os.path.exists(out + ".tied"), "refused save left a file")
    r = subprocess.run([tool, "torch2st", pt, out + ".dup", "dup"], capture_output=True, text=True)
    if check(r.returncode == 0, f"duplicate_shared save failed: {r.stderr}"):
        _, ents, _ = read_st(out + ".dup")
        d = {name: arr for name, _, _, arr in ents}
        check(np.array_equal(d["embed.weight"], w.numpy()) and
              np.array_equal(d["lm_head.weight"], w.numpy()), "duplicated tensors' values")
    print(f"torch: {len(sd)} tensors of torch.save -> ckpt -> safetensors read back by numpy")


def escape_checks(tool, work):
    """Names and metadata with quotes, backslashes, control characters, DEL and non-ASCII:
    laid out as the library lays them out (Python's json.dumps with ensure_ascii=False
    escapes exactly as serde_json does: \\" \\\\ \\b \\t \\n \\f \\r, \\u00xx for the
    other C0 controls, everything else verbatim), ckpt reads them and writes the same bytes."""
    names = ["plain", 'q"uote', "back\\slash", "ctl\x01\x1f\x7f", "tab\tnl\n", "\u00e9t\u00e9",
             "\U0001f600", "sl/ash"]
    ents = [(n, "F32", [2], np.arange(2, dtype="<f4") + i) for i, n in enumerate(names)]
    ents.append(("bytes\x08\x0c\r", "U8", [3], np.arange(3, dtype="u1")))
    meta = {"format": "pt", "k\x1eey": "v\u2028\x1b", "\u00fc": "\\\""}
    path = os.path.join(work, "escape.safetensors")
    with open(path, "wb") as f:
        f.write(library_layout(meta, ents))
    out = path + ".out"
    compare(tool, path, "escape")
    r = subprocess.run([tool, "resave", path, out], capture_output=True, text=True)
    if check(r.returncode == 0, f"escape: resave failed: {r.stderr}"):
        check(open(out, "rb").read() == open(path, "rb").read(),
              "escape: ckpt's header text differs from serde_json's escaping")
    print(f"escape: {len(ents)} names and {len(meta)} metadata entries written byte-identical")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--real", required=True)
    ap.add_argument("--what", default="real,torch")
    a = ap.parse_args()
    what = a.what.split(",")
    with tempfile.TemporaryDirectory() as work:
        if "real" in what:
            if not os.path.isdir(a.real):
                print(f"SKIPPED: safetensors_real_numpy_oracle: folder {a.real} is absent "
                      "(the real-file corpus lives in ../shared)")
                if what == ["real"]:
                    return 77
            else:
                real_checks(a.tool, a.real, work)
        if "torch" in what:
            torch_checks(a.tool, work)
        if "escape" in what:
            escape_checks(a.tool, work)
    print("FAILURES:", failures) if failures else print("all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
