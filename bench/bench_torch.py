#!/usr/bin/python3
"""bench/bench_torch.py - the torch side of `make bench`.

Same operations as bench_ckpt.c, one per invocation, one JSON line each.
torch runs on one thread (torch.set_num_threads(1)); every timed operation is
preceded by one untimed warm-up run.

    gen DIR                     write big.pt (16 x 64 MiB float32), mid.pt
                                (1 x 64 MiB) and small.pt (100,000 small tensors)
                                with torch.save, unless they exist already
    load FILE N wo|full [TAG]   torch.load(FILE, weights_only=True|False); TAG
                                labels a variant run (same code, other environment)
    save FILE OUT N             torch.load(FILE) once, then torch.save(obj, OUT);
                                OUT is removed and os.sync() called before each
                                run, outside the timed region (torch.save itself
                                never fsyncs)
    rss FILE wo|full            peak RSS of torch.load in this (fresh) process
    crc FILE                    CRC-32 of all tensor bytes in dict order
"""
import collections
import json
import os
import resource
import statistics
import sys
import time
import zlib

import torch

torch.set_num_threads(1)

BIG_TENSORS = 16
BIG_ELEMS = 64 * 1024 * 1024 // 4  # 64 MiB of float32
SMALL_TENSORS = 100_000


def emit(op, file, runs, **extra):
    rec = {"side": "torch", "op": op, "file": file, "n": len(runs),
           "median_s": statistics.median(runs), "min_s": min(runs), "max_s": max(runs),
           "runs": runs}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


def small_numel(i):
    return 4 + (i * 7919) % 61  # 4..64 elements, same rule as bench_ckpt make-small


GEN_VERSION = "2"  # bump when the inputs change; older inputs are then remade


def gen(d):
    os.makedirs(d, exist_ok=True)
    stamp = os.path.join(d, "stamp")
    if not os.path.exists(stamp) or open(stamp).read().strip() != GEN_VERSION:
        for name in ("big.pt", "mid.pt", "small.pt", "stamp"):
            if os.path.exists(os.path.join(d, name)):
                os.unlink(os.path.join(d, name))
    tmp = os.path.join(d, "tmp")  # written here, then renamed: no half-written inputs
    os.makedirs(tmp, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    made = {}
    big = os.path.join(d, "big.pt")
    if not os.path.exists(big):
        sd = collections.OrderedDict()
        for i in range(BIG_TENSORS):
            sd["layers.%d.weight" % i] = torch.rand(BIG_ELEMS, generator=g).reshape(4096, -1)
        t0 = time.perf_counter()
        torch.save(sd, os.path.join(tmp, "big.pt"))
        os.replace(os.path.join(tmp, "big.pt"), big)
        made["big"] = time.perf_counter() - t0
        del sd
    mid = os.path.join(d, "mid.pt")
    if not os.path.exists(mid):
        sd = collections.OrderedDict()
        sd["layers.0.weight"] = torch.rand(BIG_ELEMS, generator=g).reshape(4096, -1)
        torch.save(sd, os.path.join(tmp, "mid.pt"))
        os.replace(os.path.join(tmp, "mid.pt"), mid)
        made["mid"] = 0.0
        del sd
    small = os.path.join(d, "small.pt")
    if not os.path.exists(small):
        sd = collections.OrderedDict()
        for i in range(SMALL_TENSORS):
            sd["layer.%d.weight" % i] = torch.rand(small_numel(i), generator=g)
        t0 = time.perf_counter()
        torch.save(sd, os.path.join(tmp, "small.pt"))
        os.replace(os.path.join(tmp, "small.pt"), small)
        made["small"] = time.perf_counter() - t0
        del sd
    with open(stamp, "w") as fh:
        fh.write(GEN_VERSION + "\n")
    print(json.dumps({"side": "torch", "op": "gen", "dir": d, "made": made}), flush=True)


def tensors_of(obj):
    for v in obj.values():
        if isinstance(v, torch.Tensor):
            yield v


def load(f, n, kind, tag=None):
    wo = kind == "wo"
    runs = []
    count = nbytes = 0
    for i in range(-1, n):
        t0 = time.perf_counter()
        obj = torch.load(f, weights_only=wo)
        t1 = time.perf_counter()
        if i < 0:
            for t in tensors_of(obj):
                count += 1
                nbytes += t.numel() * t.element_size()
        else:
            runs.append(t1 - t0)
        del obj
    emit("load-" + kind + ("-" + tag if tag else ""), f, runs, tensors=count,
         tensor_bytes=nbytes)


def save(f, out, n):
    obj = torch.load(f, weights_only=True)
    runs = []
    for i in range(-1, n):
        if os.path.exists(out):
            os.unlink(out)
        os.sync()
        t0 = time.perf_counter()
        torch.save(obj, out)
        t1 = time.perf_counter()
        if i >= 0:
            runs.append(t1 - t0)
    os.sync()
    emit("save", f, runs, out=out, out_bytes=os.path.getsize(out))


def rss(f, kind):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    obj = torch.load(f, weights_only=kind == "wo")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    nbytes = sum(t.numel() * t.element_size() for t in tensors_of(obj))
    print(json.dumps({"side": "torch", "op": "rss-" + kind, "file": f,
                      "maxrss_before_kib": before, "maxrss_kib": after,
                      "tensor_bytes": nbytes}), flush=True)


def crc(f):
    obj = torch.load(f, weights_only=True)
    c = 0
    count = nbytes = 0
    for t in tensors_of(obj):
        b = t.contiguous().numpy().tobytes()
        c = zlib.crc32(b, c)
        count += 1
        nbytes += len(b)
    print(json.dumps({"side": "torch", "op": "crc", "file": f, "crc": c, "tensors": count,
                      "tensor_bytes": nbytes}), flush=True)


def main(a):
    if len(a) == 2 and a[0] == "gen":
        gen(a[1])
    elif len(a) in (4, 5) and a[0] == "load" and a[3] in ("wo", "full"):
        load(a[1], int(a[2]), a[3], a[4] if len(a) == 5 else None)
    elif len(a) == 4 and a[0] == "save":
        save(a[1], a[2], int(a[3]))
    elif len(a) == 3 and a[0] == "rss" and a[2] in ("wo", "full"):
        rss(a[1], a[2])
    elif len(a) == 2 and a[0] == "crc":
        crc(a[1])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
