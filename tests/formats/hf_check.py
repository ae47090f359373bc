#!/usr/bin/env python3
"""hf_check.py HF_TOOL OUTDIR - torch 1.13 as the oracle for src/store/hf.c.

1. ckpt writes .bin shards (hf_tool save): the file names, the index text
   (byte for byte) and every shard's keys in order must be what transformers'
   save_pretrained writes, computed here by split() below; every shard must
   torch.load to the source tensors, tied tensors still sharing a storage.
2. torch writes .bin shards + index the transformers way (torch.save of each
   shard dict of .contiguous() tensors, json.dumps(indent=2, sort_keys=True))
   and ckpt loads the folder and the index path (hf_tool load -> one torch.save
   file) equal to the state dict.
3. When ckpt has safetensors (hf_tool has-st): ckpt writes safetensors shards
   (checked with a json+numpy reader: names, split, {"format": "pt"}, values,
   aliasing refused unless duplicated), and ckpt loads safetensors shards
   written here by hand from the format's published layout.

split() is re-implemented from huggingface_hub
src/huggingface_hub/serialization/_base.py split_state_dict_into_shards_factory
(hub >= 0.24, unchanged through 1.29.0.dev0, commit ee0a4510) with _torch.py's
get_torch_storage_id = (device, storage data_ptr, storage nbytes) and
get_torch_storage_size = storage nbytes; find_disjoint() from transformers
src/transformers/modeling_utils.py _find_disjoint (commit 040ba146), the
clone step save_pretrained applies before a safetensors save.
Exit 77 when torch is absent.
"""
import collections
import json
import os
import shutil
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover
    print("SKIPPED: hf_torch_check: %s" % e)
    sys.exit(77)

TOOL, OUT = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def storage_id(t):
    if t.device.type == "meta":
        return None
    s = t.storage()
    return (t.device, s.data_ptr(), s.nbytes())


def storage_size(t):
    return t.storage().nbytes()


def split(sd, max_shard_size, pattern):
    """huggingface_hub split_state_dict_into_shards_factory."""
    storage_id_to_tensors = {}
    shard_list = []
    current_shard = {}
    current_size = 0
    total_size = 0
    for key, tensor in sd.items():
        sid = storage_id(tensor)
        if sid is not None:
            if sid in storage_id_to_tensors:
                storage_id_to_tensors[sid].append(key)
                continue
            storage_id_to_tensors[sid] = [key]
        size = storage_size(tensor)
        if size > max_shard_size:
            total_size += size
            shard_list.append({key: tensor})
            continue
        if current_size + size > max_shard_size:
            shard_list.append(current_shard)
            current_shard = {}
            current_size = 0
        current_shard[key] = tensor
        current_size += size
        total_size += size
    if current_shard:
        shard_list.append(current_shard)
    for sid, keys in storage_id_to_tensors.items():
        for shard in shard_list:
            if keys[0] in shard:
                for key in keys:
                    shard[key] = sd[key]
                break
    n = len(shard_list)
    if n == 1:
        name = pattern.format(suffix="")
        return {"total_size": total_size}, {name: list(shard_list[0].keys())}
    files = collections.OrderedDict()
    for i, shard in enumerate(shard_list):
        files[pattern.format(suffix="-%05d-of-%05d" % (i + 1, n))] = list(shard.keys())
    return {"total_size": total_size}, files


def end_ptr(t):
    if t.nelement():
        return t.view(-1)[-1].data_ptr() + t.element_size() if t.is_contiguous() else (
            t.data_ptr() + (sum((s - 1) * st for s, st in zip(t.shape, t.stride())) + 1)
            * t.element_size())
    return t.data_ptr()


def find_disjoint(groups, sd):
    """transformers _find_disjoint: (shared sets, disjoint names)."""
    filtered = []
    for shared in groups:
        if len(shared) < 2:
            filtered.append(set(shared))
            continue
        areas = sorted((sd[n].data_ptr(), end_ptr(sd[n]), n) for n in shared)
        _, last_stop, last_name = areas[0]
        filtered.append({last_name})
        for start, stop, name in areas[1:]:
            if start >= last_stop:
                filtered.append({name})
            else:
                filtered[-1].add(name)
            last_stop = stop
    disjoint, shared = [], []
    for s in filtered:
        if len(s) == 1:
            disjoint.append(s.pop())
        else:
            shared.append(s)
    return shared, disjoint


def st_prepare(sd, dup=False):
    """save_pretrained's alias handling before safetensors (no tied-weight keys)."""
    sd = collections.OrderedDict(sd)
    ptrs = collections.defaultdict(list)
    for name, t in sd.items():
        ptrs[storage_id(t)].append(name)
    shared_ptrs = {p: names for p, names in ptrs.items() if len(names) > 1}
    shared, disjoint = find_disjoint(shared_ptrs.values(), sd)
    for name in disjoint:
        sd[name] = sd[name].clone()
    # ckpt only: identical/overlapping aliases cloned on request (transformers errors)
    real_shared = [s for s in shared if any(sd[n].nelement() for n in s)]
    if real_shared and not dup:
        return None, real_shared
    for s in shared:
        for name in s:
            sd[name] = sd[name].clone()
    return sd, []


def index_text(meta, files):
    wm = {k: f for f, keys in files.items() for k in keys}
    return json.dumps({"metadata": meta, "weight_map": wm}, indent=2, sort_keys=True) + "\n"


class Opaque:
    pass


def run(*args, ok=True):
    p = subprocess.run([TOOL] + list(args), capture_output=True, text=True)
    if ok and p.returncode != 0:
        print(p.stderr)
    return p


def same(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def state_dict():
    g = torch.Generator().manual_seed(13)
    sd = collections.OrderedDict()
    sd["emb.weight"] = torch.randn(50, 8, generator=g)  # 1600 bytes
    for i in range(4):
        sd["layers.%d.w" % i] = torch.randn(10, 10, generator=g).to(torch.bfloat16)  # 200
        sd["layers.%d.b" % i] = torch.randn(10, generator=g).half()  # 20
    sd["big"] = torch.randn(1000, generator=g, dtype=torch.float64)  # 8000 > max
    sd["steps"] = torch.arange(7)
    sd["mask"] = torch.rand(9, generator=g) > 0.5
    sd["empty1"] = torch.zeros(0)
    sd["transposed"] = torch.randn(6, 4, generator=g).t()
    sd["empty2"] = torch.zeros(0, 3, dtype=torch.int32)
    base = torch.arange(30, dtype=torch.int16)
    sd["halves.a"] = base[:10]  # disjoint views of one storage
    sd["halves.b"] = base[10:]
    sd["u8"] = torch.arange(5, dtype=torch.uint8)
    # json.dumps escaping (ensure_ascii: \u00fc, a surrogate pair, quotes, DEL) and
    # sort_keys order by code point
    sd["\u00fcnicode.\"q\"\\\x7f\U0001F600\t"] = torch.ones(2)
    sd["Zeta"] = torch.ones(1, dtype=torch.float64)
    return sd


def tied(sd):
    sd = collections.OrderedDict(sd)
    sd["lm_head.weight"] = sd["emb.weight"]
    sd["emb.row"] = sd["emb.weight"][3]
    return sd


MAX = 1000


def check_bin_shards(d, sd, tag):
    meta, files = split(sd, MAX, "pytorch_model{suffix}.bin")
    want = sorted(list(files) + (["pytorch_model.bin.index.json"] if len(files) > 1 else []))
    check(sorted(os.listdir(d)) == want, "%s: files %s != %s" % (tag, sorted(os.listdir(d)), want))
    if len(files) > 1:
        with open(os.path.join(d, "pytorch_model.bin.index.json")) as f:
            got = f.read()
        check(got == index_text(meta, files), "%s: index text differs:\n%s" % (tag, got))
    for fname, keys in files.items():
        p = os.path.join(d, fname)
        if not os.path.exists(p):
            continue
        shard = torch.load(p)
        check(type(shard) is dict, "%s: %s is a %s" % (tag, fname, type(shard)))
        check(list(shard.keys()) == keys, "%s: %s keys %s != %s" % (tag, fname, list(shard), keys))
        for k in keys:
            check(k in shard and same(shard[k], sd[k].contiguous()), "%s: %s value" % (tag, k))
        for k1 in keys:
            for k2 in keys:
                if k1 < k2 and storage_id(sd[k1]) == storage_id(sd[k2]) and sd[k1].nelement():
                    check(shard[k1].storage().data_ptr() == shard[k2].storage().data_ptr(),
                          "%s: %s and %s no longer share" % (tag, k1, k2))
    return files


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    sd = tied(state_dict())
    src = os.path.join(OUT, "in.pt")
    torch.save(sd, src)
    sd = torch.load(src)  # storage sharing as ckpt will see it

    # 1. ckpt writes .bin shards
    d = os.path.join(OUT, "ckpt_bin")
    p = run("save", src, d, str(MAX), "bin")
    check(p.returncode == 0, "ckpt bin save: %s" % p.stderr)
    files = check_bin_shards(d, sd, "ckpt-bin")
    check(len(files) >= 4, "the bin case spans several shards (%d)" % len(files))
    # the same folder again with bigger shards: stale ones removed
    p = run("save", src, d, str(10 ** 9), "bin")
    check(p.returncode == 0, "ckpt bin resave: %s" % p.stderr)
    check(sorted(os.listdir(d)) == ["pytorch_model.bin"], "resave: %s" % os.listdir(d))
    check(all(same(v, sd[k].contiguous()) for k, v in
              torch.load(os.path.join(d, "pytorch_model.bin")).items()), "unsharded values")

    # 2. torch writes .bin shards + index; ckpt loads them
    d = os.path.join(OUT, "torch_bin")
    os.makedirs(d)
    meta, files = split(sd, MAX, "pytorch_model{suffix}.bin")
    for fname, keys in files.items():
        torch.save({k: sd[k].contiguous() for k in keys}, os.path.join(d, fname))
    with open(os.path.join(d, "pytorch_model.bin.index.json"), "w") as f:
        f.write(index_text(meta, files))
    for path in (d, os.path.join(d, "pytorch_model.bin.index.json")):
        out = os.path.join(OUT, "loaded.pt")
        p = run("load", path, out)
        check(p.returncode == 0, "ckpt load of torch shards: %s" % p.stderr)
        if p.returncode == 0:
            got = torch.load(out)
            order = [k for fname in sorted(files) for k in files[fname]]
            check(list(got.keys()) == order, "load order %s != %s" % (list(got), order))
            check(all(same(got[k], sd[k]) for k in sd), "loaded values differ")
            check(got["lm_head.weight"].storage().data_ptr() ==
                  got["emb.weight"].storage().data_ptr(), "tied weights no longer share")
    r = run("report", d)
    check("sharded=1" in r.stdout and "ok=1" in r.stdout and
          "total=%d" % meta["total_size"] in r.stdout, "report: %s" % r.stdout)

    # a .bin shard is read weights-only: a pickled object of an unknown class is refused
    d = os.path.join(OUT, "torch_bin_unsafe")
    os.makedirs(d)
    torch.save({"w": torch.ones(2), "obj": Opaque()}, os.path.join(d, "pytorch_model.bin"))
    p = run("load", d, os.path.join(OUT, "unsafe.pt"), ok=False)
    check(p.returncode == 1 and "CKPT_E_UNSAFE" in p.stderr and "pytorch_model.bin" in p.stderr,
          "weights-only shard: rc %d %s" % (p.returncode, p.stderr))

    # 3. safetensors
    if run("has-st", ok=False).returncode != 0:
        print("note: safetensors not in this build; its part is not run")
    else:
        check_safetensors(sd, src)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("hf_torch_check: ok")
    return 0


ST_DT = {"F64": (np.float64, torch.float64), "F32": (np.float32, torch.float32),
         "F16": (np.float16, torch.float16), "BF16": (np.int16, torch.bfloat16),
         "I64": (np.int64, torch.int64), "I32": (np.int32, torch.int32),
         "I16": (np.int16, torch.int16), "I8": (np.int8, torch.int8),
         "U8": (np.uint8, torch.uint8), "BOOL": (np.bool_, torch.bool)}
TORCH_ST = {v[1]: k for k, v in ST_DT.items()}


def st_read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = collections.OrderedDict()
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        npdt, tdt = ST_DT[v["dtype"]]
        a = np.frombuffer(body[b:e], dtype=npdt).reshape(v["shape"])
        t = torch.from_numpy(a.copy())
        out[k] = t.view(tdt) if tdt == torch.bfloat16 else t
    return header.get("__metadata__"), out


def st_write(path, tensors):
    """safetensors layout (huggingface/safetensors): sorted by dtype size desc, then name."""
    names = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for k in names:
        t = tensors[k].contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[k] = {"dtype": TORCH_ST[t.dtype], "shape": list(t.shape),
                     "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def check_safetensors(sd_tied, src):
    # aliasing with overlap: refused without dup
    d = os.path.join(OUT, "ckpt_st_refused")
    p = run("save", src, d, str(MAX), "st", ok=False)
    check(p.returncode == 1 and "share memory" in p.stderr and not os.path.exists(d),
          "aliased safetensors save: rc %d %s" % (p.returncode, p.stderr))
    for dup in (False, True):
        sd = state_dict() if not dup else sd_tied
        s = os.path.join(OUT, "in_st.pt")
        torch.save(sd, s)
        sd = torch.load(s)
        prepared, bad = st_prepare(sd, dup)
        check(not bad, "st_prepare: %s" % bad)
        meta, files = split(prepared, MAX, "model{suffix}.safetensors")
        d = os.path.join(OUT, "ckpt_st_%d" % dup)
        p = run("save", s, d, str(MAX), "st", *(["dup"] if dup else []))
        check(p.returncode == 0, "ckpt st save: %s" % p.stderr)
        want = sorted(list(files) + (["model.safetensors.index.json"] if len(files) > 1 else []))
        check(sorted(os.listdir(d)) == want, "st files %s != %s" % (sorted(os.listdir(d)), want))
        if len(files) > 1 and os.path.exists(os.path.join(d, "model.safetensors.index.json")):
            with open(os.path.join(d, "model.safetensors.index.json")) as f:
                check(f.read() == index_text(meta, files), "st index text differs")
        for fname, keys in files.items():
            if not os.path.exists(os.path.join(d, fname)):
                continue
            md, got = st_read(os.path.join(d, fname))
            check(md == {"format": "pt"}, "st metadata %s" % md)
            check(sorted(got) == sorted(keys), "st %s keys" % fname)
            check(all(same(got[k], sd[k].contiguous()) for k in keys if k in got),
                  "st %s values" % fname)
    # safetensors shards written here, loaded by ckpt
    sd = state_dict()
    prepared, _ = st_prepare(sd)
    meta, files = split(prepared, MAX, "model{suffix}.safetensors")
    d = os.path.join(OUT, "py_st")
    os.makedirs(d)
    for fname, keys in files.items():
        st_write(os.path.join(d, fname), {k: prepared[k] for k in keys})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        f.write(index_text(meta, files))
    out = os.path.join(OUT, "loaded_st.pt")
    p = run("load", d, out)
    check(p.returncode == 0, "ckpt load of safetensors shards: %s" % p.stderr)
    if p.returncode == 0:
        got = torch.load(out)
        check(sorted(got) == sorted(sd) and all(same(got[k], sd[k].contiguous()) for k in sd),
              "safetensors shards loaded differ")


if __name__ == "__main__":
    sys.exit(main())
