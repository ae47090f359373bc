#!/usr/bin/python3
"""tests/formats/gguf_check.py - ckpt's GGUF reader/writer against a second,
independent implementation written here with struct + numpy.

There is no ggml or gguf Python package on Debian 12, so the oracle is this
file: a GGUF writer/parser written from the format description (ggml
gguf.cpp / gguf-py), the block sizes of gguf-py's GGML_QUANT_SIZES
(constants.py), and numpy implementations of ggml's dequantize_row_* and
quantize_row_q8_0_ref / quantize_row_q4_0_ref written from the block structs
of ggml-common.h.  It is a cross-check between two implementations by the same
hand, not ggml itself: say so when reporting.

Checks:
  1. a Python-written GGUF v3 file (every value type, nested arrays, every ggml
     type) loads with the same metadata, types, shapes; plain tensors equal,
     quantized tensors give their raw blocks (uint8 [..., row_bytes]) in copy,
     mmap and lazy modes;
  2. with dequantize, Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K
     equal the numpy dequantization bit for bit;
  3. ckpt load -> save of the Python-written file is byte-identical (also a
     v2 file read, written back as v3 with only the version changed);
  4. ckpt-quantized Q8_0 / Q4_0 blocks equal numpy's reference quantizers bit
     for bit, and the dequantized error is within the block bound;
  5. the ckpt-written file parses with this file's parser: metadata and
     tensor infos as ckpt was told;
  6. hostile files are refused with the offset and key in the message.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

# gguf-py constants.py GGML_QUANT_SIZES: type id -> (name, block size, type size)
QUANT = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 2 + 16), 3: ("Q4_1", 32, 2 + 2 + 16),
    6: ("Q5_0", 32, 2 + 4 + 16), 7: ("Q5_1", 32, 2 + 2 + 4 + 16), 8: ("Q8_0", 32, 2 + 32),
    # Q8_1: gguf-py still says 4 + 4 + 32; ggml's block_q8_1 is two halves + 32
    # (ggml-common.h static_assert), and ggml's reader uses sizeof(block_q8_1)
    9: ("Q8_1", 32, 2 + 2 + 32), 10: ("Q2_K", 256, 2 + 2 + 256 // 16 + 256 // 4),
    11: ("Q3_K", 256, 2 + 256 // 4 + 256 // 8 + 12), 12: ("Q4_K", 256, 2 + 2 + 256 // 2 + 12),
    13: ("Q5_K", 256, 2 + 2 + 256 // 2 + 256 // 8 + 12),
    14: ("Q6_K", 256, 2 + 256 // 2 + 256 // 4 + 256 // 16),
    15: ("Q8_K", 256, 4 + 256 + 256 // 8), 16: ("IQ2_XXS", 256, 2 + 256 // 4),
    17: ("IQ2_XS", 256, 2 + 256 // 4 + 256 // 32), 18: ("IQ3_XXS", 256, 2 + 256 // 4 + 256 // 8),
    19: ("IQ1_S", 256, 2 + 256 // 8 + 256 // 16), 20: ("IQ4_NL", 32, 2 + 16),
    21: ("IQ3_S", 256, 2 + 256 // 4 + 256 // 8 + 256 // 32 + 4),
    22: ("IQ2_S", 256, 2 + 256 // 4 + 256 // 16), 23: ("IQ4_XS", 256, 2 + 2 + 256 // 2 + 256 // 64),
    24: ("I8", 1, 1), 25: ("I16", 1, 2), 26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 256 // 8 + 256 // 16 + 256 // 32), 30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 2 + 4 * 13), 35: ("TQ2_0", 256, 2 + 64), 39: ("MXFP4", 32, 1 + 16),
    # newer than gguf-py's table here: ggml-common.h static_asserts
    40: ("NVFP4", 64, 4 + 32), 41: ("Q1_0", 128, 2 + 16), 42: ("Q2_0", 64, 2 + 16),
}
PLAIN = {0: np.float32, 1: np.float16, 24: np.int8, 25: np.int16, 26: np.int32, 27: np.int64,
         28: np.float64}
VT = {"uint8": 0, "int8": 1, "uint16": 2, "int16": 3, "uint32": 4, "int32": 5, "float32": 6,
      "bool": 7, "string": 8, "array": 9, "uint64": 10, "int64": 11, "float64": 12}
SCAL = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
        11: "<q", 12: "<d"}

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


# ------------------------------------------------------------ GGUF writer

def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gval(ty, v):
    """ty: 'uint8'.. or ('array', inner_ty)"""
    if isinstance(ty, tuple):
        inner = ty[1]
        tid = VT["array"] if isinstance(inner, tuple) else VT[inner]
        out = struct.pack("<IQ", tid, len(v))
        for x in v:
            out += gval(inner, x)
        return out
    if ty == "string":
        return gstr(v)
    return struct.pack(SCAL[VT[ty]], v)


def tyname(ty):
    return "array[%s]" % tyname(ty[1]) if isinstance(ty, tuple) else ty


def write_gguf(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, ty, value)]; tensors: [(name, ggml type, ne list, raw bytes)].
    Lays the file out as ggml's gguf_write_out does."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, ty, v in kvs:
        tid = VT["array"] if isinstance(ty, tuple) else VT[ty]
        out += gstr(k) + struct.pack("<I", tid) + gval(ty, v)
    off = 0
    for name, t, ne, raw in tensors:
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<q", n) for n in ne)
        out += struct.pack("<IQ", t, off)
        off += (len(raw) + alignment - 1) // alignment * alignment
    out += b"\0" * (-len(out) % alignment)
    for name, t, ne, raw in tensors:
        out += raw + b"\0" * (-len(raw) % alignment)
    return out


# ------------------------------------------------------------ GGUF parser

def parse_gguf(b):
    pos = [4]

    def rd(fmt):
        v = struct.unpack_from(fmt, b, pos[0])
        pos[0] += struct.calcsize(fmt)
        return v[0]

    def rs():
        n = rd("<Q")
        s = b[pos[0]:pos[0] + n].decode()
        pos[0] += n
        return s

    def rv(t):
        if t == 8:
            return rs(), "string"
        if t == 9:
            it, n = rd("<I"), rd("<Q")
            items = [rv(it) for _ in range(n)]
            inner = items[0][1] if items else [k for k, v in VT.items() if v == it][0]
            return [x[0] for x in items], "array[%s]" % inner
        return rd(SCAL[t]), [k for k, v in VT.items() if v == t][0]

    assert b[:4] == b"GGUF"
    version, nt, nkv = rd("<I"), rd("<Q"), rd("<Q")
    kv, kvt = {}, {}
    for _ in range(nkv):
        k = rs()
        kv[k], kvt[k] = rv(rd("<I"))
    align = kv.get("general.alignment", 32)
    infos = []
    for _ in range(nt):
        name = rs()
        nd = rd("<I")
        ne = [rd("<q") for _ in range(nd)]
        infos.append({"name": name, "ne": ne, "type": rd("<I"), "offset": rd("<Q")})
    data = (pos[0] + align - 1) // align * align
    for i in infos:
        _, blk, bb = QUANT[i["type"]]
        n = int(np.prod(i["ne"])) if i["ne"] else 1
        i["raw"] = b[data + i["offset"]:data + i["offset"] + n // blk * bb]
    return version, kv, kvt, infos


# --------------------------------------------------------- numpy dequant

def f16(raw, off):
    """fp16 field at byte `off` of every block (raw: [nblocks, bytes]) as float32."""
    return raw[:, off:off + 2].copy().view(np.float16).astype(np.float32)[:, 0]


def deq(t, raw_bytes, n):
    _, blk, bb = QUANT[t]
    raw = np.frombuffer(raw_bytes, np.uint8).reshape(-1, bb)
    nb = raw.shape[0]
    y = np.zeros((nb, blk), np.float32)
    F = np.float32
    if t in (2, 3, 6, 7):  # Q4_0 Q4_1 Q5_0 Q5_1: d [, m] [, qh u32] qs[16]
        d = f16(raw, 0)[:, None]
        m = f16(raw, 2)[:, None] if t in (3, 7) else None
        qs_at = {2: 2, 3: 4, 6: 6, 7: 8}[t]
        qs = raw[:, qs_at:qs_at + 16].astype(np.int32)
        lo, hi = qs & 0xF, qs >> 4
        if t in (6, 7):
            qh_at = 2 if t == 6 else 4
            qh = raw[:, qh_at:qh_at + 4].copy().view("<u4").astype(np.int64)
            j = np.arange(16)
            lo = lo | (((qh >> j) << 4) & 0x10)
            hi = hi | ((qh >> (j + 12)) & 0x10)
        q = np.concatenate([lo, hi], axis=1)
        if t == 2:
            q = q - 8
        if t == 6:
            q = q - 16
        y = q.astype(F) * d
        if m is not None:
            y = y + m
    elif t == 8:  # Q8_0: d, qs int8[32]
        y = raw[:, 2:].view(np.int8).astype(F) * f16(raw, 0)[:, None]
    elif t == 15:  # Q8_K: float d, qs int8[256], bsums
        d = raw[:, 0:4].copy().view("<f4")[:, 0]
        y = raw[:, 4:260].view(np.int8).astype(F) * d[:, None]
    elif t == 10:  # Q2_K: scales[16], qs[64], d, dmin
        sc, qs = raw[:, :16].astype(np.int32), raw[:, 16:80].astype(np.int32)
        d, dm = f16(raw, 80)[:, None], f16(raw, 82)[:, None]
        cols = []
        for half in range(2):  # 128 elements each, 32 qs bytes
            q = qs[:, 32 * half:32 * half + 32]
            for j in range(4):
                for part in range(2):
                    s = sc[:, 8 * half + 2 * j + part][:, None]
                    dl, ml = d * (s & 0xF).astype(F), dm * (s >> 4).astype(F)
                    v = (q[:, 16 * part:16 * part + 16] >> (2 * j)) & 3
                    cols.append(dl * v.astype(F) - ml)
        y = np.concatenate(cols, axis=1)
    elif t == 11:  # Q3_K: hmask[32], qs[64], scales[12], d
        hm, qs, p = raw[:, :32].astype(np.int32), raw[:, 32:96].astype(np.int32), raw[:, 96:108].astype(np.int32)
        d = f16(raw, 108)[:, None]
        scales = []
        for i in range(16):  # 6-bit: low nibble of p[i%8] (i<8 low, else high), 2 bits of p[8+i%4]
            lo = (p[:, i] & 0xF) if i < 8 else (p[:, i - 8] >> 4)
            hi = (p[:, 8 + i % 4] >> (2 * (i // 4))) & 3
            scales.append((lo | (hi << 4)) - 32)
        cols, is_ = [], 0
        for half in range(2):
            q = qs[:, 32 * half:32 * half + 32]
            for j in range(4):
                bit = 1 << (4 * half + j)
                for part in range(2):
                    sl = slice(16 * part, 16 * part + 16)
                    v = ((q[:, sl] >> (2 * j)) & 3) - np.where(hm[:, sl] & bit, 0, 4)
                    cols.append((d * scales[is_][:, None].astype(F)) * v.astype(F))
                    is_ += 1
        y = np.concatenate(cols, axis=1)
    elif t in (12, 13):  # Q4_K / Q5_K: d, dmin, scales[12], [qh[32]], qs[128]
        d, dm = f16(raw, 0)[:, None], f16(raw, 2)[:, None]
        p = raw[:, 4:16].astype(np.int32)
        qh = raw[:, 16:48].astype(np.int32) if t == 13 else None
        qs = raw[:, 48:] if t == 13 else raw[:, 16:]
        qs = qs.astype(np.int32)

        def sm(j):
            if j < 4:
                return p[:, j] & 63, p[:, j + 4] & 63
            return (p[:, j + 4] & 0xF) | ((p[:, j - 4] >> 6) << 4), (p[:, j + 4] >> 4) | ((p[:, j] >> 6) << 4)
        cols = []
        for g in range(4):
            q = qs[:, 32 * g:32 * g + 32]
            for part in range(2):
                s, m = sm(2 * g + part)
                v = (q & 0xF) if part == 0 else (q >> 4)
                if qh is not None:
                    v = v + np.where(qh & (1 << (2 * g + part)), 16, 0)
                cols.append((d * s[:, None].astype(F)) * v.astype(F) - dm * m[:, None].astype(F))
        y = np.concatenate(cols, axis=1)
    elif t == 14:  # Q6_K: ql[128], qh[64], scales int8[16], d
        ql, qh = raw[:, :128].astype(np.int32), raw[:, 128:192].astype(np.int32)
        sc = raw[:, 192:208].view(np.int8).astype(F)
        d = f16(raw, 208)[:, None]
        y = np.zeros((nb, 256), F)
        for h in range(2):
            L, H, S = ql[:, 64 * h:64 * h + 64], qh[:, 32 * h:32 * h + 32], sc[:, 8 * h:8 * h + 8]
            for l in range(32):
                is_ = l // 16
                qv = [(L[:, l] & 0xF) | (((H[:, l] >> 0) & 3) << 4),
                      (L[:, l + 32] & 0xF) | (((H[:, l] >> 2) & 3) << 4),
                      (L[:, l] >> 4) | (((H[:, l] >> 4) & 3) << 4),
                      (L[:, l + 32] >> 4) | (((H[:, l] >> 6) & 3) << 4)]
                for k in range(4):
                    y[:, 128 * h + l + 32 * k] = (d[:, 0] * S[:, is_ + 2 * k]) * (qv[k] - 32).astype(F)
    else:
        raise ValueError(t)
    return np.asarray(y, np.float32).reshape(-1)[:n]


# ------------------------------------------------------------ numpy quant

def q8_0(x):
    x = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (x * idv[:, None]).astype(np.float32).astype(np.float64)
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)  # roundf: half away from 0
    out = np.zeros((x.shape[0], 34), np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def q4_0(x):
    x = x.astype(np.float32).reshape(-1, 32)
    idx = np.argmax(np.abs(x), axis=1)  # first index of the largest magnitude
    mx = x[np.arange(x.shape[0]), idx]
    d = (mx / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = ((x * idv[:, None]).astype(np.float32) + np.float32(8.5)).astype(np.float32)
    q = np.minimum(15, np.trunc(v).astype(np.int32)).astype(np.uint8)
    out = np.zeros((x.shape[0], 18), np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


# ----------------------------------------------------------------- tests

def run(tool, *args):
    return subprocess.run([tool] + list(args), capture_output=True, text=True)


def random_blocks(rng, t, nblocks):
    """Random block bytes whose fp16/fp32 scale fields are finite numbers."""
    _, blk, bb = QUANT[t]
    raw = rng.integers(0, 256, size=(nblocks, bb), dtype=np.uint8)
    halves = {2: [0], 3: [0, 2], 6: [0], 7: [0, 2], 8: [0], 10: [80, 82], 11: [108],
              12: [0, 2], 13: [0, 2], 14: [208], 20: [0], 16: [0], 17: [0], 18: [0], 19: [0],
              21: [0], 22: [0], 23: [0], 34: [52], 35: [64], 9: [0, 2]}.get(t, [])
    for off in halves:
        raw[:, off:off + 2] = (rng.standard_normal(nblocks) * 0.05).astype(np.float16).view(np.uint8).reshape(-1, 2)
    if t == 15:
        raw[:, 0:4] = (rng.standard_normal(nblocks) * 0.05).astype(np.float32).view(np.uint8).reshape(-1, 4)
    return raw.tobytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    W = lambda n: os.path.join(a.workdir, n)
    rng = np.random.default_rng(13)

    # 1. every value type and every ggml type
    kvs = [("general.architecture", "string", "llama"),
           ("general.alignment", "uint32", 64),
           ("a.u8", "uint8", 250), ("a.i8", "int8", -7), ("a.u16", "uint16", 65535),
           ("a.i16", "int16", -32768), ("a.u32", "uint32", 4294967295), ("a.i32", "int32", -5),
           ("a.f32", "float32", 1.5), ("a.bool", "bool", True), ("a.u64", "uint64", 2**63 + 5),
           ("a.i64", "int64", -(2**62)), ("a.f64", "float64", 0.1),
           ("a.str", "string", "h\u00e9llo \"q\""),
           ("a.tokens", ("array", "string"), ["<s>", "", "\u4e2d"]),
           ("a.scores", ("array", "float32"), [0.5, -2.0]),
           ("a.empty", ("array", "int64"), []),
           ("a.nested", ("array", ("array", "int32")), [[1, 2], [], [3]])]
    tensors, expect = [], {}
    for t, (name, blk, bb) in sorted(QUANT.items()):
        ne = [blk * 2, 3] if blk > 1 else [5, 2, 3]
        n = int(np.prod(ne))
        if t in PLAIN:
            arr = (rng.standard_normal(n) * 10).astype(PLAIN[t])
            raw = arr.tobytes()
        elif t == 30:
            raw = rng.integers(0, 2**16, n, dtype=np.uint16).tobytes()
        else:
            raw = random_blocks(rng, t, n // blk)
        tname = "t.%s" % name.lower()
        tensors.append((tname, t, ne, raw))
        expect[tname] = (t, ne, raw)
    tensors.append(("scalar", 0, [], struct.pack("<f", 3.25)))
    expect["scalar"] = (0, [], struct.pack("<f", 3.25))
    src = write_gguf(kvs, tensors, alignment=64)
    open(W("all.gguf"), "wb").write(src)

    for mode in ("copy", "mmap", "lazy"):
        p = run(a.tool, "dump", W("all.gguf"), W("all_%s.npz" % mode), mode)
        check(p.returncode == 0, "dump %s: %s" % (mode, p.stderr))
        if p.returncode:
            continue
        j = json.loads(p.stdout)
        check(j["version"] == 3, "version")
        for k, ty, v in kvs:
            got = j["kv"].get(k)
            want = v
            if ty == "uint64" and v >= 2**63:
                want = v - 2**64  # int64 bits, as documented
            if ty == "float32":
                want = float(np.float32(v))
            check(got == want, "kv %s: %r != %r" % (k, got, want))
            check(j["kv_types"].get(k) == tyname(ty) if ty[1:] != (("array", "int32"),) else True,
                  "kv_types %s: %r" % (k, j["kv_types"].get(k)))
        check(j["kv_types"]["a.nested"] == "array[array[int32]]", "nested type spelling")
        names = [x["name"] for x in j["tensors"]]
        check(names == [x[0] for x in tensors], "tensor order")
        z = np.load(W("all_%s.npz" % mode))
        for x in j["tensors"]:
            t, ne, raw = expect[x["name"]]
            check(x["type"] == QUANT[t][0], "type name %s" % x["name"])
            shape = list(reversed(ne))
            if t in PLAIN:
                check(x["shape"] == shape, "shape %s %r" % (x["name"], x["shape"]))
                check(z[x["name"]].tobytes() == raw, "data %s" % x["name"])
            elif t == 30:
                check(x["dtype"] == "bfloat16" and x["shape"] == shape, "bf16 %s" % x["name"])
            else:
                _, blk, bb = QUANT[t]
                rshape = shape[:-1] + [ne[0] // blk * bb]
                check(x["shape"] == rshape and x["dtype"] == "uint8",
                      "raw %s %r %s" % (x["name"], x["shape"], x["dtype"]))
                check(z[x["name"]].tobytes() == raw, "raw data %s" % x["name"])

    # 2. dequantization, bit for bit (bf16 has no numpy dtype: left out of the npz)
    deq_types = [2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 15]
    dt = [x for x in tensors if x[1] in deq_types]
    open(W("deq.gguf"), "wb").write(write_gguf(kvs[:1], dt))
    for mode in ("copy", "lazy"):
        p = run(a.tool, "dump", W("deq.gguf"), W("deq.npz"), "deq", mode)
        check(p.returncode == 0, "dump deq: %s" % p.stderr)
        if p.returncode:
            continue
        z = np.load(W("deq.npz"))
        for name, t, ne, raw in dt:
            want = deq(t, raw, int(np.prod(ne))).reshape(list(reversed(ne)))
            got = z[name]
            ok = got.dtype == np.float32 and got.shape == want.shape and \
                got.tobytes() == want.tobytes()
            if not ok and got.shape == want.shape:
                bad = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
                print("  %s: %d differ, first at %d: %r vs %r" % (name, bad.size, bad[0],
                      got.reshape(-1)[bad[0]], want.reshape(-1)[bad[0]]))
            check(ok, "dequantized %s (%s) equals numpy, mode %s" % (name, QUANT[t][0], mode))

    # 3. byte-identical round trips
    p = run(a.tool, "roundtrip", W("all.gguf"), W("all_rt.gguf"))
    check(p.returncode == 0, "roundtrip: %s" % p.stderr)
    check(p.returncode == 0 and open(W("all_rt.gguf"), "rb").read() == src,
          "load->save of a well-formed file is byte-identical")
    v2 = write_gguf(kvs, tensors, version=2, alignment=64)
    open(W("v2.gguf"), "wb").write(v2)
    p = run(a.tool, "roundtrip", W("v2.gguf"), W("v2_rt.gguf"))
    check(p.returncode == 0 and open(W("v2_rt.gguf"), "rb").read() == src,
          "a v2 file is read and written back as the same v3 file")

    # 4./5. ckpt writes and quantizes
    x = (rng.standard_normal((4, 96)) * 3).astype(np.float32)
    x[0, :32] = 0.0  # an all-zero block
    x[1, 5] = 40.0   # an outlier
    y = rng.standard_normal((2, 64)).astype(np.float16)
    w = rng.integers(-1000, 1000, (3, 5, 2), dtype=np.int32)
    np.savez(W("src.npz"), q8=x, q4=x, h=y, i=w, f=x)
    p = run(a.tool, "fromnpz", W("src.npz"), W("w.gguf"), "q8=Q8_0", "q4=Q4_0", "h=F32")
    check(p.returncode == 0, "fromnpz: %s" % p.stderr)
    if p.returncode == 0:
        b = open(W("w.gguf"), "rb").read()
        version, kv, kvt, infos = parse_gguf(b)
        check(version == 3, "written version")
        check(kv["test.u8"] == 200 and kvt["test.u8"] == "uint8", "u8 kv")
        check(kv["test.i32"] == -2000000000 and kvt["test.i32"] == "int32", "inferred int32")
        check(kvt["test.i64"] == "int64" and kvt["test.f32"] == "float32" and
              kvt["test.f64"] == "float64" and kvt["test.bool"] == "bool", "inferred types")
        check(kv["tokenizer.ggml.tokens"] == ["<s>", "</s>", "hello"] and
              kvt["tokenizer.ggml.tokens"] == "array[string]", "string array")
        check(kv["test.nested"] == [[1, 2], [3]] and kvt["test.nested"] == "array[array[int32]]",
              "nested array")
        check(kv["test.empty"] == [] and kvt["test.empty"] == "array[uint16]", "empty typed array")
        check("general.alignment" not in kv, "default alignment not written when metadata given")
        by = {i["name"]: i for i in infos}
        check(by["q8"]["type"] == 8 and by["q8"]["ne"] == [96, 4], "q8 info")
        check(by["q8"]["raw"] == q8_0(x), "Q8_0 blocks equal quantize_row_q8_0_ref (numpy)")
        check(by["q4"]["type"] == 2 and by["q4"]["raw"] == q4_0(x),
              "Q4_0 blocks equal quantize_row_q4_0_ref (numpy)")
        check(by["h"]["type"] == 0 and by["h"]["raw"] == y.astype(np.float32).tobytes(),
              "F16 tensor written as F32")
        check(by["i"]["type"] == 26 and by["i"]["ne"] == [2, 5, 3] and by["i"]["raw"] == w.tobytes(),
              "int32 tensor")
        check(by["f"]["type"] == 0 and by["f"]["raw"] == x.tobytes(), "f32 tensor")
        offs = [i["offset"] for i in infos]
        check(all(o % 32 == 0 for o in offs) and offs == sorted(offs), "offsets aligned, in order")
        for name, fn, t in (("q8", q8_0, 8), ("q4", q4_0, 2)):
            d = deq(t, by[name]["raw"], x.size).reshape(x.shape)
            blocks = x.reshape(-1, 32)
            amax = np.abs(blocks).max(axis=1)
            d16 = np.frombuffer(by[name]["raw"], np.uint8).reshape(-1, 34 if t == 8 else 18)
            d16 = np.abs(f16(d16, 0))
            exact = amax / (127 if t == 8 else 8)
            bound = (0.5 if t == 8 else 1.0) * d16 + (128 if t == 8 else 16) * np.abs(d16 - exact) + 1e-6
            errs = np.abs(d.reshape(-1, 32) - blocks).max(axis=1)
            check(bool(np.all(errs <= bound)), "%s error within the block bound (max %g)" %
                  (name, float(errs.max())))
            if t == 8:
                print("Q8_0 max abs error %.4g, max relative to block amax %.4g" %
                      (errs.max(), (errs / np.maximum(amax, 1e-30)).max()))
            else:
                print("Q4_0 max abs error %.4g, max relative to block amax %.4g" %
                      (errs.max(), (errs / np.maximum(amax, 1e-30)).max()))
        # exact re-quantization: dequantize (ckpt) then quantize (ckpt) gives the same blocks
        p = run(a.tool, "dump", W("w.gguf"), W("w_deq.npz"), "deq")
        p2 = run(a.tool, "fromnpz", W("w_deq.npz"), W("w_req.gguf"), "q8=Q8_0", "q4=Q4_0") \
            if p.returncode == 0 else p
        check(p2.returncode == 0, "requantize: %s" % p2.stderr)
        if p2.returncode == 0:
            by2 = {i["name"]: i for i in parse_gguf(open(W("w_req.gguf"), "rb").read())[3]}
            check(by2["q8"]["raw"] == by["q8"]["raw"], "Q8_0: quantize(dequantize(q)) == q")
            check(by2["q4"]["raw"] == by["q4"]["raw"], "Q4_0: quantize(dequantize(q)) == q")
        # the ckpt-written file reloads and writes back identically
        p = run(a.tool, "roundtrip", W("w.gguf"), W("w_rt.gguf"))
        check(p.returncode == 0 and open(W("w_rt.gguf"), "rb").read() == b,
              "ckpt-written file: load->save byte-identical")
        p = run(a.tool, "fromnpz", W("src.npz"), W("w128.gguf"), "align=128")
        if p.returncode == 0:
            _, kv2, kvt2, infos2 = parse_gguf(open(W("w128.gguf"), "rb").read())
            check(kv2.get("general.alignment") == 128 and kvt2["general.alignment"] == "uint32" and
                  all(i["offset"] % 128 == 0 for i in infos2), "alignment 128 written")
        else:
            check(False, "fromnpz align=128: %s" % p.stderr)

    # 6. hostile files: refused, naming the offset and the key
    base_kv = [("general.architecture", "string", "llama")]
    t1 = [("w", 0, [4], b"\0" * 16)]
    good = write_gguf(base_kv, t1)
    cases = {}
    cases["v1"] = (good[:4] + struct.pack("<I", 1) + good[8:], "version 1")
    cases["bigendian"] = (good[:4] + struct.pack(">I", 3) + good[8:], "big-endian")
    cases["n_tensors_lie"] = (good[:8] + struct.pack("<Q", 2**62) + good[16:], "tensor count")
    cases["n_kv_lie"] = (good[:16] + struct.pack("<Q", 2**40) + good[24:], "key/value count")
    at = 24 + 8 + len("general.architecture") + 4
    cases["huge_string"] = (good[:at] + struct.pack("<Q", 2**63) + good[at + 8:], "general.architecture")
    arr = write_gguf([("a.x", ("array", "uint32"), [1, 2])], t1)
    at = 24 + 8 + 3 + 4 + 4
    cases["huge_array"] = (arr[:at] + struct.pack("<Q", 2**61) + arr[at + 8:], "a.x")
    cases["bad_alignment"] = (write_gguf([("general.alignment", "uint32", 48)], t1), "power of 2")
    cases["alignment_type"] = (write_gguf([("general.alignment", "uint64", 32)], t1), "uint32")
    cases["unknown_vtype"] = (b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k.x") +
                              struct.pack("<I", 13) + b"\0" * 16, "k.x")
    cases["unknown_ggml"] = (write_gguf(base_kv, [("w", 4, [32], b"\0" * 18)]), "'w'")
    cases["ndims5"] = (write_gguf(base_kv, [("w", 0, [1, 1, 1, 1, 4], b"\0" * 16)]), "4 (GGML_MAX_DIMS)")
    cases["ne_overflow"] = (write_gguf(base_kv, [("w", 0, [2**40, 2**40], b"")]), "overflow")
    cases["block_rows"] = (write_gguf(base_kv, [("w", 8, [33], b"\0" * 34)]), "block size")
    two = write_gguf(base_kv, [("a", 0, [8], b"\0" * 32), ("b", 0, [8], b"\0" * 32)])
    # make b's offset 0: overlaps a
    i = two.index(b"\x01\x00\x00\x00\x00\x00\x00\x00b") + 9
    i = i + 4 + 8 + 4
    cases["overlap"] = (two[:i] + struct.pack("<Q", 0) + two[i + 8:], "overlaps")
    cases["misaligned"] = (two[:i] + struct.pack("<Q", 8) + two[i + 8:], "multiple of the alignment")
    cases["past_end"] = (two[:i] + struct.pack("<Q", 2**40) + two[i + 8:], "passes the end")
    cases["truncated"] = (good[:-20], "passes the end")
    cases["dup_key"] = (write_gguf(base_kv + base_kv, t1), "duplicate key")
    cases["dup_tensor"] = (write_gguf(base_kv, t1 + t1), "duplicate tensor")
    for name, (blob, needle) in cases.items():
        f = W("hostile_%s.gguf" % name)
        open(f, "wb").write(blob)
        p = run(a.tool, "err", f)
        msg = p.stdout.strip()
        check(p.returncode == 0, "hostile %s refused (%s)" % (name, msg))
        check(needle in msg and ("offset" in msg or "byte " in msg), "hostile %s message names %r and an offset: %s" %
              (name, needle, msg))
    print("hostile: %d cases" % len(cases))
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    print("gguf_check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
