#!/usr/bin/env python3
"""tests/cli/formats_cli_test.py CKPT WORK SECTION - `ckpt convert` between every pair of
checkpoint formats, and ls/show/diff/verify/scan/stats/extract on each (issue 13, item 7).

The reference is torch 1.13 (/usr/bin/python3): the state dicts are made by torch, and
every conversion chain ends in a torch zip file that torch.load reads back and compares
with the original bit for bit (tensors compared as raw bytes, so NaN payloads and -0.0
count).  Sections:
  matrix  every ordered pair A -> B of zip, legacy, safetensors, gguf, npz, hf, hf-bin, dcp,
          then B -> zip; and A -> zip -> A gives A's bytes back for the file formats
  tools   ls, show, stats, diff (across formats), verify, scan, extract on every format
  errors  what a format cannot hold is an error naming the key (--drop leaves it out);
          dtypes a format lacks; GGUF quantized blocks; unknown output format
"""
import itertools
import os
import shutil
import subprocess
import sys

import torch

CKPT, WORK, SECTION = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(WORK, exist_ok=True)
fails = []
checks = 0

FORMATS = {  # format -> output name (a folder for hf, hf-bin and dcp)
    "zip": "x.pt",
    "legacy": "x_legacy.pt",
    "safetensors": "x.safetensors",
    "gguf": "x.gguf",
    "npz": "x.npz",
    "hf": "x_hf",
    "hf-bin": "x_hfbin",
    "dcp": "x_dcp",
}


def run(*args, want=0):
    global checks
    checks += 1
    p = subprocess.run([CKPT, *args], capture_output=True, text=True)
    if p.returncode != want:
        fails.append(f"ckpt {' '.join(args)}: exit {p.returncode}, expected {want}\n"
                     f"  stdout: {p.stdout[-800:]}\n  stderr: {p.stderr[-800:]}")
    return p


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        fails.append(what)


def same_bits(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.numel() == 0:
        return True
    return a.reshape(-1).contiguous().view(torch.uint8).equal(
        b.reshape(-1).contiguous().view(torch.uint8))


def compare(got, want, what):
    check(list(got.keys()) == list(want.keys()) or set(got.keys()) == set(want.keys()),
          f"{what}: keys {sorted(got.keys())} != {sorted(want.keys())}")
    for k, v in want.items():
        if k in got:
            check(same_bits(got[k], v), f"{what}: {k} differs ({got[k].dtype} "
                  f"{tuple(got[k].shape)} vs {v.dtype} {tuple(v.shape)})")


def path(name):
    return os.path.join(WORK, name)


def clean(p):
    if os.path.isdir(p):
        shutil.rmtree(p)
    elif os.path.exists(p):
        os.remove(p)


g = torch.Generator().manual_seed(13)
# dtypes every format holds (npz has no bfloat16, GGUF no bool/uint8)
base = {
    "embed.weight": torch.randn(10, 8, generator=g),
    "layers.0.weight": torch.randn(8, 8, generator=g).half(),
    "layers.0.bias": torch.randn(8, generator=g).double(),
    "layers.1.weight": torch.tensor([[1.5, float("nan"), -0.0, float("inf")]]),
    "norm.num_batches": torch.tensor(7, dtype=torch.int64),
    "idx32": torch.arange(-6, 6, dtype=torch.int32).reshape(3, 4),
    "idx16": torch.arange(5, dtype=torch.int16),
    "idx8": torch.tensor([-128, 0, 127], dtype=torch.int8),
    "empty": torch.zeros(0, 3),
}
BASE = path("base.pt")
torch.save(base, BASE)


def to_zip_and_load(src, tag):
    out = path(f"back_{tag}.pt")
    clean(out)
    run("convert", src, out, "--to", "zip")
    return torch.load(out) if os.path.exists(out) else {}


def make_all():
    for f, name in FORMATS.items():
        clean(path(name))
        run("convert", BASE, path(name), "--to", f)


if SECTION == "matrix":
    make_all()
    for a, b in itertools.product(FORMATS, FORMATS):
        if a == b:
            continue
        out = path(f"m_{a}_to_{b}" + ("" if b in ("hf", "hf-bin", "dcp") else
                                       os.path.splitext(FORMATS[b])[1]))
        clean(out)
        run("convert", path(FORMATS[a]), out, "--to", b)
        if os.path.exists(out):
            compare(to_zip_and_load(out, f"{a}_{b}"), base, f"{a} -> {b} -> zip")
        clean(out)
    # A -> zip -> A: the same bytes for the file formats (and the same shard files)
    for f in ("safetensors", "gguf", "npz", "legacy"):
        z = path(f"rt_{f}.pt")
        back = path("rt_" + FORMATS[f])
        clean(z), clean(back)
        run("convert", path(FORMATS[f]), z, "--to", "zip")
        run("convert", z, back, "--to", f)
        if os.path.exists(back):
            check(open(back, "rb").read() == open(path(FORMATS[f]), "rb").read(),
                  f"{f} -> zip -> {f}: the bytes differ")
    for f in ("hf", "hf-bin"):
        z = path(f"rt_{f}.pt")
        back = path(f"rt_{f}_dir")
        clean(z), clean(back)
        run("convert", path(FORMATS[f]), z, "--to", "zip")
        run("convert", z, back, "--to", f)
        if os.path.isdir(back):
            want = sorted(os.listdir(path(FORMATS[f])))
            check(sorted(os.listdir(back)) == want, f"{f} round trip: files differ")
            for n in want:
                if n.endswith(".json") or n.endswith(".safetensors"):
                    check(open(os.path.join(back, n), "rb").read() ==
                          open(os.path.join(path(FORMATS[f]), n), "rb").read(),
                          f"{f} round trip: {n} differs")
    # sharding: a small --max-shard-size gives several shards, read back as one
    for f in ("hf", "hf-bin"):
        d = path(f"sharded_{f}")
        clean(d)
        run("convert", BASE, d, "--to", f, "--max-shard-size", "200")
        if os.path.isdir(d):
            shards = [n for n in os.listdir(d) if "-of-" in n]
            check(len(shards) >= 3, f"--max-shard-size 200 gave {len(shards)} {f} shards")
            compare(to_zip_and_load(d, f"sharded_{f}"), base, f"{f} sharded -> zip")
            idx = [n for n in os.listdir(d) if n.endswith(".index.json")]
            if idx:
                compare(to_zip_and_load(os.path.join(d, idx[0]), f"idx_{f}"), base,
                        f"{f} index.json -> zip")
    # dtypes beyond the common set, where the format has them
    extra = {"bf": torch.randn(4, 4, generator=g).bfloat16(), "b": torch.tensor([True, False]),
             "u8": torch.arange(250, 256, dtype=torch.uint8)}
    EXTRA = path("extra.pt")
    torch.save(extra, EXTRA)
    holds = {"safetensors": extra, "dcp": extra, "hf": extra, "hf-bin": extra,
             "legacy": extra, "gguf": {"bf": extra["bf"]},
             "npz": {"b": extra["b"], "u8": extra["u8"]}}
    for f, sd in holds.items():
        src = path(f"extra_sub_{f}.pt")
        torch.save(sd, src)
        out = path("extra_" + FORMATS[f])
        clean(out)
        run("convert", src, out, "--to", f)
        if os.path.exists(out):
            compare(to_zip_and_load(out, f"extra_{f}"), sd, f"{f} extra dtypes")

elif SECTION == "tools":
    make_all()
    keys = list(base.keys())
    for f, name in FORMATS.items():
        p = path(name)
        r = run("ls", p)
        for k in keys:
            check(k in r.stdout, f"ls {f}: {k} not listed")
        run("ls", p, "--json")
        run("show", p)
        r = run("stats", p, want=1)  # exit 1: the NaN and Inf of layers.1.weight
        check("layers.1.weight" in r.stdout, f"stats {f}: no row for layers.1.weight")
        r = run("verify", p)
        check(": ok" in r.stdout or "verdict: ok" in r.stdout, f"verify {f}: not ok: {r.stdout}")
        run("scan", p)
        run("diff", p, BASE)  # across formats: the same tensors
        ex = path(f"ex_{f}.pt")
        clean(ex)
        run("extract", p, "embed.weight", ex)
        if os.path.exists(ex):
            t = torch.load(ex)
            check(same_bits(t, base["embed.weight"]), f"extract {f}: wrong tensor")
    # diff sees a changed value across formats
    changed = dict(base)
    changed["embed.weight"] = base["embed.weight"].clone()
    changed["embed.weight"][3, 3] += 1
    torch.save(changed, path("changed.pt"))
    run("convert", path("changed.pt"), path("changed.safetensors"))
    run("diff", path("changed.safetensors"), path(FORMATS["gguf"]), want=1)
    # verify finds damage inside a shard folder
    d = path("broken_hf")
    clean(d)
    run("convert", BASE, d, "--to", "hf", "--max-shard-size", "300")
    shards = sorted(n for n in os.listdir(d) if n.endswith(".safetensors"))
    if shards:
        with open(os.path.join(d, shards[-1]), "r+b") as fh:
            fh.truncate(os.path.getsize(os.path.join(d, shards[-1])) - 1)
        r = run("verify", d, want=2)
        check(shards[-1] in r.stdout + r.stderr, "verify of a truncated shard does not name it")

elif SECTION == "errors":
    ck = {"epoch": 3, "model": {"w": torch.ones(2, 2)}, "optimizer": {"lr": 0.1,
          "state": {0: {"exp_avg": torch.zeros(2, 2)}}}}
    CK = path("train.pt")
    torch.save(ck, CK)
    for f in ("safetensors", "gguf", "npz", "hf", "hf-bin"):
        out = path("ck_" + FORMATS[f])
        clean(out)
        r = run("convert", CK, out, "--to", f, want=2)
        check("epoch" in r.stderr, f"{f}: the non-tensor key is not named: {r.stderr}")
        check(not os.path.exists(out), f"{f}: a failed convert left {out}")
        r = run("convert", CK, out, "--to", f, "--drop")
        if os.path.exists(out):
            got = to_zip_and_load(out, f"drop_{f}")
            compare(got, {"model.w": ck["model"]["w"],
                          "optimizer.state.0.exp_avg": ck["optimizer"]["state"][0]["exp_avg"]},
                    f"{f} --drop")
    # DCP holds the whole training checkpoint (non-tensor values as bytes items)
    d = path("ck_dcp")
    clean(d)
    run("convert", CK, d, "--to", "dcp")
    # a dtype the format lacks is named with its key
    torch.save({"flag": torch.tensor([True])}, path("bool.pt"))
    r = run("convert", path("bool.pt"), path("bool.gguf"), want=2)
    check("flag" in r.stderr, f"gguf bool: key not named: {r.stderr}")
    torch.save({"h": torch.ones(2).bfloat16()}, path("bf.pt"))
    r = run("convert", path("bf.pt"), path("bf.npz"), want=2)
    check("bfloat16" in r.stderr or "h" in r.stderr, f"npz bfloat16: {r.stderr}")
    r = run("convert", BASE, path("noext.out"), want=2)
    check("--to" in r.stderr, "no format named: the error does not ask for --to")
    # GGUF quantized blocks: only GGUF holds them; --dequantize reads them as float32 (the
    # blocks written by tests/formats/gguf_check.py's numpy quantizer, an independent writer)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "formats"))
    import numpy as np
    import gguf_check as gc
    x = np.random.default_rng(5).standard_normal(64 * 2).astype(np.float32)
    blocks = gc.q8_0(x)
    with open(path("q.gguf"), "wb") as fh:
        fh.write(gc.write_gguf([("general.name", "string", "q")],
                               [("w", 8, [64, 2], blocks), ("b", 0, [2], x[:2].tobytes())]))
    r = run("convert", path("q.gguf"), path("q.safetensors"), want=2)
    check("w" in r.stderr and "Q8_0" in r.stderr, f"gguf Q8_0 to safetensors: {r.stderr}")
    run("convert", path("q.gguf"), path("q.safetensors"), "--dequantize")
    if os.path.exists(path("q.safetensors")):
        got = to_zip_and_load(path("q.safetensors"), "deq")
        want = torch.from_numpy(gc.deq(8, blocks, 128).reshape(2, 64).copy())
        check(same_bits(got.get("w", torch.zeros(0)), want), "--dequantize: Q8_0 values differ")
    run("convert", path("q.gguf"), path("q2.gguf"))
    if os.path.exists(path("q2.gguf")):
        check(open(path("q2.gguf"), "rb").read() == open(path("q.gguf"), "rb").read(),
              "gguf -> gguf: the quantized file's bytes differ")
    run("convert", path("q.gguf"), path("q3.gguf"), "--dequantize")
    # tied weights: refused by safetensors unless --duplicate-shared
    w = torch.randn(3, 3)
    torch.save({"a": w, "b": w}, path("tied.pt"))
    r = run("convert", path("tied.pt"), path("tied.safetensors"), want=2)
    check("a" in r.stderr and "b" in r.stderr, f"shared tensors not named: {r.stderr}")
    run("convert", path("tied.pt"), path("tied.safetensors"), "--duplicate-shared")
    if os.path.exists(path("tied.safetensors")):
        compare(to_zip_and_load(path("tied.safetensors"), "tied"), {"a": w, "b": w}, "tied")
else:
    sys.exit(f"unknown section {SECTION}")

for f in fails:
    print("FAIL:", f, file=sys.stderr)
print(f"{SECTION}: {checks} checks, {len(fails)} failed")
sys.exit(1 if fails else 0)
