"""tests/mpi/mpi_check.py - the torch side of the MPI tests (torch 1.13 as oracle).

  gen OUT.pt SEED [OUT2.pt SEED2 ...]
                           a state dict of every shape case the sharding rules meet
  check IN.pt PREFIX M rows|whole [GATHERED.pt]
                           PREFIX.<r>.npz, r < M, written by `ckpt-mpi load` with M
                           ranks, hold exactly the shares torch.chunk / round-robin
                           give of IN.pt's tensors, bit for bit; GATHERED.pt (written
                           by `ckpt-mpi load --gather`) loads in torch as the same
                           tensors under DCP's flattened names
"""
import sys

import numpy as np
import torch


def gen(path, seed):
    g = torch.Generator().manual_seed(seed)
    sd = {
        "a.weight": torch.randn(37, 5, generator=g),               # rows not divisible by 2, 4
        "a.bias": torch.randn(37, generator=g, dtype=torch.float64),
        "emb": torch.randint(-1000, 1000, (10, 3), generator=g),   # int64
        "small": torch.randn(3, 4, generator=g).half(),            # fewer rows than ranks
        "scalar": torch.tensor(3.5 + seed),                        # 0-dim: replicated
        "mask": torch.rand(6, 2, generator=g) > 0.5,               # bool
        "u8": torch.arange(24, dtype=torch.uint8).reshape(4, 6),
        "i32": torch.randint(-5, 5, (9, 2, 3), generator=g, dtype=torch.int32),
        "t": torch.randn(5, 8, generator=g).t(),                   # non-contiguous view
        "empty": torch.zeros(0, 3),
        "nested": {"x": torch.randn(4, 4, generator=g)},           # flattened to nested.x
    }
    torch.save(sd, path)


def flat(d, prefix=""):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        elif isinstance(v, torch.Tensor):
            out[prefix + k] = v
    return out


def same(name, got, want):
    want = want.contiguous().numpy()
    if got.dtype != want.dtype or got.shape != want.shape or got.tobytes() != want.tobytes():
        sys.exit(f"FAIL {name}: got {got.dtype}{got.shape} want {want.dtype}{want.shape}")


def check(path, prefix, m, how):
    sd = flat(torch.load(path))
    shards = [dict(np.load(f"{prefix}.{r}.npz")) for r in range(m)]
    if how == "rows":
        for r in range(m):
            if set(shards[r]) != set(sd):
                sys.exit(f"FAIL rank {r}: keys {sorted(shards[r])} != {sorted(sd)}")
            for k, t in sd.items():
                if t.dim() == 0:
                    want = t
                else:
                    parts = torch.chunk(t, m)
                    want = parts[r] if r < len(parts) else t[0:0]
                same(f"{k} rank {r}/{m}", shards[r][k], want)
    else:
        seen = {}
        for r in range(m):
            for k, a in shards[r].items():
                if k in seen:
                    sys.exit(f"FAIL {k} on ranks {seen[k]} and {r}")
                seen[k] = r
                same(f"{k} rank {r}/{m}", a, sd[k])
        if set(seen) != set(sd):
            sys.exit(f"FAIL whole: missing {sorted(set(sd) - set(seen))}")
        counts = sorted(len(s) for s in shards)
        if counts[-1] - counts[0] > 1:
            sys.exit(f"FAIL whole: unbalanced {counts}")
    print(f"ok: {len(sd)} tensors, {m} ranks, {how}")


def check_gathered(path, gathered):
    sd = flat(torch.load(path))
    got = torch.load(gathered)
    if list(got) != list(sd) and set(got) != set(sd):
        sys.exit(f"FAIL gathered keys {sorted(got)} != {sorted(sd)}")
    for k, t in sd.items():
        same(f"gathered {k}", got[k].numpy(), t)
    print(f"ok: gathered {len(sd)} tensors")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        for i in range(2, len(sys.argv), 2):
            gen(sys.argv[i], int(sys.argv[i + 1]))
    else:
        check(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        if len(sys.argv) > 6:
            check_gathered(sys.argv[2], sys.argv[6])
