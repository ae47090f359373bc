"""Write the committed torch-made fixtures (tier 2) with real PyTorch 1.13.

    /usr/bin/python3 tools/gen/make_fixtures.py [OUTDIR]     (default tests/fixtures/torch)

For each fixture <name>.pt it also writes <name>.listing.json: torch's own
tensor listing (tests/interop/torch_list.py: key path, dtype, shape, stride,
storage_offset, nbytes, device), which `ckpt ls --json` must reproduce
(CTest fixtures_committed_listing).  Deterministic: fixed seeds, no clock.
"""

import collections
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import torch_list  # noqa: E402

DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.complex64,
          torch.complex128, torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8,
          torch.bool]


def values(dtype, n, g):
    if dtype == torch.bool:
        return torch.randint(0, 2, (n,), generator=g).bool()
    if dtype.is_floating_point or dtype.is_complex:
        return torch.randn(n, generator=g, dtype=torch.float64).to(dtype) if not dtype.is_complex \
            else torch.randn(n, generator=g, dtype=dtype)
    lo, hi = (0, 256) if dtype == torch.uint8 else (-100, 100)
    return torch.randint(lo, hi, (n,), generator=g, dtype=dtype)


def fixtures():
    g = torch.Generator().manual_seed(1313)
    torch.manual_seed(1313)
    out = []

    seq = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    seq(torch.randn(5, 4, generator=g))  # update running stats
    out.append(("seq_bn_state_dict", seq.state_dict(), {}))

    opt = torch.optim.Adam(seq.parameters(), lr=1e-3)
    seq(torch.randn(6, 4, generator=g)).pow(2).sum().backward()
    opt.step()
    out.append(("checkpoint", {
        "epoch": 7, "step": 1234, "loss": 0.03125, "best_acc": 0.9375,
        "model": seq.state_dict(), "optimizer": opt.state_dict(),
        "rng": {"seed": 1313, "note": "train"},
    }, {}))

    base = torch.arange(24, dtype=torch.float32).view(4, 6)
    out.append(("views_shared", collections.OrderedDict([
        ("base", base), ("t", base.t()), ("step", base[::2, 1::3]),
        ("narrow", base.narrow(1, 2, 3)), ("offset", base.view(-1)[5:]),
        ("expand", base[1, :1].expand(3, 4)), ("same", base),
        ("nested", {"list": [base[1], base[:, 0]], "tuple": (base[2:],)}),
    ]), {}))

    for dt in DTYPES:
        name = str(dt)[6:]
        t = values(dt, 12, g)
        out.append(("dtype_" + name, {"x": t.view(3, 4), "xt": t.view(3, 4).t()}, {}))

    out.append(("scalar_0dim", torch.tensor(2.5, dtype=torch.float64), {}))
    out.append(("empty", {"empty": torch.empty(0, 3), "empty_i64": torch.zeros(2, 0, dtype=torch.int64)}, {}))
    out.append(("proto4", {"w": torch.arange(6, dtype=torch.int32).view(2, 3),
                           "b": torch.ones(3, dtype=torch.float16)}, {"pickle_protocol": 4}))
    return out


def main(argv):
    outdir = argv[1] if len(argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "torch")
    os.makedirs(outdir, exist_ok=True)
    for name, obj, kw in fixtures():
        path = os.path.join(outdir, name + ".pt")
        torch.save(obj, path, **kw)
        listing = torch_list.listing(path)
        with open(os.path.join(outdir, name + ".listing.json"), "w") as f:
            json.dump(listing, f, indent=1)
            f.write("\n")
        print("%-28s %6d bytes, %d tensors" % (name, os.path.getsize(path), len(listing)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
