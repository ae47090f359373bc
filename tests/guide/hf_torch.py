#!/usr/bin/env python3
"""tests/guide/hf_torch.py make|check DIR - the torch side of the
examples/guide/hf_publish.c test.  `make`: torch saves a training checkpoint
{'epoch', 'model', 'optimizer'} of a small CNN with BatchNorm (float32 weights,
int64 num_batches_tracked, a float16 head) to DIR/ckpt.pt.  `check`: the folders the
C program wrote hold torch's state dict exactly:
  DIR/out/safetensors - read with Python's json + numpy (no ckpt code): the index's
      weight_map names every key once, total_size is the sum of the shards' bytes,
      shard names model-0000i-of-0000N.safetensors, each header's dtype/shape/offsets,
      tensor bytes equal to torch's, no shard over the limit unless it holds one tensor;
  DIR/out/bin - every pytorch_model-*.bin shard loads in torch.load(weights_only=True)
      and the union equals the state dict, bit for bit, in torch's key order."""
import json
import os
import re
import sys

import numpy as np
import torch
from torch import nn

MAX_SHARD = 1024  # bytes: several shards for this model (the guide_test.sh argument)
ST_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def model_state():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 40), nn.ReLU(),
                          nn.Linear(40, 10))
    model[7].half()
    model.train()
    with torch.no_grad():
        model[1](model[0](torch.randn(4, 3, 9, 9)))  # BatchNorm statistics move
    return model


def main():
    mode, d = sys.argv[1], sys.argv[2]
    model = model_state()
    sd = model.state_dict()
    if mode == "make":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        torch.save({"epoch": 3, "model": sd, "optimizer": opt.state_dict()},
                   os.path.join(d, "ckpt.pt"))
        print("hf_torch: ckpt.pt with", len(sd), "tensors")
        return
    st = os.path.join(d, "out", "safetensors")
    index = json.load(open(os.path.join(st, "model.safetensors.index.json")))
    wmap = index["weight_map"]
    assert sorted(wmap) == sorted(sd), (sorted(wmap), sorted(sd))
    shards = sorted(set(wmap.values()))
    n = len(shards)
    assert n >= 3, f"only {n} shard(s) at max_shard_size {MAX_SHARD}"
    assert shards == [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)], shards
    total = 0
    for name in shards:
        raw = open(os.path.join(st, name), "rb").read()
        hlen = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8:8 + hlen])
        assert header.pop("__metadata__") == {"format": "pt"}
        body = raw[8 + hlen:]
        nbytes = 0
        for key, ent in header.items():
            assert wmap[key] == name, (key, wmap[key], name)
            lo, hi = ent["data_offsets"]
            arr = np.frombuffer(body[lo:hi], dtype=ST_DTYPES[ent["dtype"]]).reshape(ent["shape"])
            want = sd[key].numpy()
            assert arr.dtype == want.dtype and arr.shape == want.shape, key
            assert arr.tobytes() == want.tobytes(), f"{name}: {key}: bytes differ"
            nbytes += hi - lo
        assert len(header) == 1 or nbytes <= MAX_SHARD, (name, nbytes)
        total += nbytes
    assert index["metadata"]["total_size"] == total, (index["metadata"], total)
    print(f"hf_torch: {len(wmap)} tensors in {n} safetensors shards read by json + numpy: equal")

    b = os.path.join(d, "out", "bin")
    bindex = json.load(open(os.path.join(b, "pytorch_model.bin.index.json")))
    got = {}
    for name in sorted(set(bindex["weight_map"].values())):
        assert re.fullmatch(r"pytorch_model-\d{5}-of-\d{5}\.bin", name), name
        part = torch.load(os.path.join(b, name), weights_only=True)
        assert not set(part) & set(got), name
        got.update(part)
    assert list(k for k in sd if k in got) == list(sd) and len(got) == len(sd)
    for k, v in sd.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
        assert got[k].numpy().tobytes() == v.numpy().tobytes(), f"bin: {k}: bytes differ"
    print(f"hf_torch: {len(got)} tensors in the .bin shards loaded by torch.load(weights_only=True): equal")


if __name__ == "__main__":
    main()
