"""Deterministic random objects for the live differential tier.

generate(seed) returns a list of (name, object) pairs: at least 500 random
objects plus fixed coverage objects (one per dtype, module state_dicts, ...)
and one dict with 100,000 keys.  Everything torch 1.13 can torch.save and
ckpt is meant to load in weights-only mode.

Deliberate choices (see canon.py and tests/interop/README.md):
  - no plain strings equal to 'storage', 'cpu', 'cuda' or 'latin1': torch's
    pickler shares those objects with its own constants (spec 2.3);
  - no ints outside int64 (ckpt rejects them by design);
  - sets hold only small ints (their iteration order is then insertion order
    in CPython, so a re-save is deterministic);
  - fresh (unshared) 1-character and empty strings/bytes are made on purpose:
    CPython's unpickler returns singletons for those, which torch.save then
    memoizes, and ckpt has to reproduce that.
"""

import collections
import random
import struct

import torch
import torch.nn as nn

SAVABLE = [torch.float64, torch.float32, torch.float16, torch.bfloat16,
           torch.complex64, torch.complex128, torch.int64, torch.int32,
           torch.int16, torch.int8, torch.uint8, torch.bool]
DTYPE_VALUES = SAVABLE + [torch.complex32, torch.qint8, torch.quint8, torch.qint32,
                          torch.quint4x2, torch.quint2x4]
FORBIDDEN_STR = {"storage", "cpu", "cuda", "latin1"}
SPECIAL_INTS = [0, 1, -1, 127, 128, -128, -129, 255, 256, -256, 65535, 65536,
                2**31 - 1, -2**31, 2**31, -2**31 - 1, 2**40, 2**63 - 1, -2**63,
                2**63 - 2, -2**63 + 1, 2**62, -2**62]


def bits_to_float(u):
    return struct.unpack("<d", struct.pack("<Q", u))[0]


def fresh(s):
    """A new str object equal to s (not the interned literal)."""
    return ("\x01" + s)[1:]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.g = torch.Generator().manual_seed(seed)
        self.tensors = []     # pool for "the same tensor twice"
        self.bases = []       # pool of base tensors for shared storages
        self.shared = []      # pool of containers for shared references

    # ---------------------------------------------------------- scalars
    def rfloat(self):
        r = self.r
        k = r.randrange(14)
        if k == 0:
            return 0.0
        if k == 1:
            return -0.0
        if k == 2:
            return float("inf")
        if k == 3:
            return float("-inf")
        if k == 4:
            return float("nan")
        if k == 5:  # NaN with a payload
            return bits_to_float(0x7FF8000000000000 | r.getrandbits(51))
        if k == 6:  # negative NaN with a payload
            return bits_to_float(0xFFF8000000000000 | r.getrandbits(51))
        if k == 7:
            return 5e-324
        if k == 8:
            return 1.7976931348623157e308
        if k == 9:
            return r.uniform(-1e6, 1e6)
        u = r.getrandbits(64)
        if (u >> 52) & 0x7FF == 0x7FF:
            u |= 1 << 51  # quiet
        return bits_to_float(u)

    def rint(self):
        r = self.r
        if r.random() < 0.5:
            return r.choice(SPECIAL_INTS)
        if r.random() < 0.5:
            return r.randrange(1000)
        return r.randrange(-2**63, 2**63)

    def rstr(self):
        r = self.r
        if r.random() < 0.3:
            # short strings, often as fresh objects (singleton effects on load)
            s = r.choice(["", "a", "é", "ÿ", "x", "中", "😀", "version", "weight", "0"])
            return fresh(s) if r.random() < 0.5 else s
        while True:
            n = r.randrange(8)
            s = "".join(r.choice("abcxyz_.09 éß中😀\x00\x7f\u00a0\uffff") for _ in range(n))
            if s not in FORBIDDEN_STR:
                return s

    def rbytes(self):
        r = self.r
        k = r.randrange(4)
        if k == 0:
            n = 0
        elif k == 1:
            n = 1
        else:
            n = r.randrange(20)
        return bytes(r.choice([r.randrange(256), 97, 0xE9]) for _ in range(n))

    def scalar(self):
        r = self.r
        k = r.randrange(17)
        if k == 0:
            return None
        if k == 1:
            return r.random() < 0.5
        if k in (2, 3):
            return self.rint()
        if k in (4, 5):
            return self.rfloat()
        if k == 6:
            return complex(self.rfloat(), self.rfloat())
        if k in (7, 8):
            return self.rstr()
        if k == 9:
            return self.rbytes()
        if k == 10:
            return bytearray(self.rbytes())
        if k == 11:
            return torch.Size([r.randrange(300) for _ in range(r.randrange(5))])
        if k == 12:
            return r.choice(DTYPE_VALUES)
        if k == 13:
            return r.choice([torch.device("cpu"), torch.device("cuda", 1), torch.device("cuda"),
                             torch.device("meta")])
        if k == 14:
            return {x for x in range(8) if r.random() < 0.4}
        if k == 15:
            return collections.Counter({self.rstr(): r.randrange(-2, 7) for _ in range(r.randrange(4))})
        return r.randrange(300)

    def rkey(self, depth=0):
        r = self.r
        k = r.randrange(100)
        if k < 55:
            return self.rstr()
        if k < 75:
            return r.randrange(20) if r.random() < 0.7 else self.rint()
        if k < 80:
            return r.random() < 0.5
        if k < 83:
            return None
        if k < 88:
            return r.randrange(40) / 4.0 - 5.0
        return tuple(self.rkey(depth + 1) if depth < 1 and r.random() < 0.5 else r.randrange(10)
                     for _ in range(r.randrange(1, 4)))

    # ---------------------------------------------------------- tensors
    def values(self, dtype, n):
        g = self.g
        if dtype.is_floating_point:
            t = torch.randn(n, generator=g, dtype=torch.float64)
            if n and self.r.random() < 0.5:
                specials = torch.tensor([float("nan"), -0.0, float("inf"), float("-inf"), 0.0,
                                         bits_to_float(0x7FF80000DEADBEEF)], dtype=torch.float64)
                idx = torch.randint(0, n, (min(n, 4),), generator=g)
                t[idx] = specials[torch.randint(0, 6, (idx.numel(),), generator=g)]
            return t.to(dtype)
        if dtype.is_complex:
            re = self.values(torch.float64, n)
            im = self.values(torch.float64, n)
            return torch.complex(re, im).to(dtype)
        if dtype == torch.bool:
            return torch.randint(0, 2, (n,), generator=g).bool()
        if dtype == torch.uint8:
            return torch.randint(0, 256, (n,), generator=g, dtype=torch.uint8)
        info = torch.iinfo(dtype)
        t = torch.randint(info.min, info.max, (n,), generator=g, dtype=dtype)
        if n and self.r.random() < 0.3:
            t[0] = info.min
            t[-1] = info.max
        return t

    def base(self, dtype, n):
        t = self.values(dtype, n)
        self.bases.append(t)
        return t

    def view_of(self, b):
        """A random view of the 1-D base tensor b (shares its storage)."""
        r = self.r
        n = b.numel()
        k = r.randrange(9)
        if n == 0 or k == 0:
            return b[r.randrange(n + 1):] if n else b
        if k == 1:  # storage offset
            return b[r.randrange(n):]
        if k == 2:  # slicing with a step
            return b[r.randrange(n)::r.randrange(1, 4)]
        if k == 3 and n >= 4:  # 2-D transpose
            rows = r.randrange(1, n // 2 + 1)
            cols = n // rows
            return b[:rows * cols].view(rows, cols).t()
        if k == 4 and n >= 2:  # narrow
            m = b[:n - n % 2].view(2, -1)
            return m.narrow(1, r.randrange(m.shape[1]), 1)
        if k == 5:  # expand (stride 0)
            return b[r.randrange(n):][:1].expand(r.randrange(0, 5), r.randrange(1, 4))
        if k == 6:  # as_strided, possibly stride 0
            size = [r.randrange(0, 4) for _ in range(r.randrange(0, 4))]
            stride = [r.choice([0, 1, 2, 3]) for _ in size]
            span = 1 + sum((s - 1) * st for s, st in zip(size, stride)) if all(size) else 0
            if span > n:
                return b[:0]
            off = r.randrange(n - span + 1) if span else r.randrange(n + 1)
            return b.as_strided(size, stride, off)
        if k == 7 and n >= 6:  # 3-D permuted with a step
            m = b[: (n // 6) * 6].view(-1, 2, 3)
            return m.permute(2, 0, 1)[:, ::2]
        return b[0]  # 0-dim view

    def tensor(self):
        r = self.r
        if self.tensors and r.random() < 0.08:
            return r.choice(self.tensors)
        if self.bases and r.random() < 0.3:
            t = self.view_of(r.choice(self.bases))
        else:
            dtype = r.choice(SAVABLE)
            kind = r.randrange(6)
            if kind == 0:  # 0-dim
                t = self.values(dtype, 1)[0].clone()
            elif kind == 1:  # zero-size
                shape = [r.randrange(0, 3) for _ in range(r.randrange(1, 4))]
                shape[r.randrange(len(shape))] = 0
                t = torch.zeros(shape, dtype=dtype)
            elif kind == 2:
                t = self.view_of(self.base(dtype, r.randrange(0, 40)))
            else:
                shape = [r.randrange(1, 5) for _ in range(r.randrange(0, 4))]
                n = 1
                for s in shape:
                    n *= s
                t = self.values(dtype, n).view(shape)
        fl = t.dtype.is_floating_point or t.dtype.is_complex
        k = r.randrange(10)
        if k < 2:
            t = nn.Parameter(t.detach(), requires_grad=fl and r.random() < 0.7)
        elif k < 4 and fl:
            t = t.detach().requires_grad_(True)
        self.tensors.append(t)
        return t

    def shared_group(self):
        """Several tensors sharing one storage, plus the same tensor twice."""
        b = self.base(self.r.choice(SAVABLE), self.r.randrange(1, 30))
        views = [self.view_of(b) for _ in range(self.r.randrange(2, 6))]
        d = {"base": b}
        for i, v in enumerate(views):
            d["v%d" % i] = v
        d["again"] = views[0]
        return d

    # ---------------------------------------------------------- containers
    def value(self, depth=0):
        r = self.r
        if self.shared and r.random() < 0.05:
            return r.choice(self.shared)
        k = r.randrange(100)
        if depth >= 4 or k < 35:
            return self.scalar()
        if k < 55:
            return self.tensor()
        if k < 65:
            o = [self.value(depth + 1) for _ in range(r.randrange(6))]
        elif k < 75:
            o = tuple(self.value(depth + 1) for _ in range(r.randrange(6)))
        elif k < 85:
            o = {}
            for _ in range(r.randrange(8)):
                o[self.rkey()] = self.value(depth + 1)
        elif k < 92:
            o = collections.OrderedDict()
            for _ in range(r.randrange(6)):
                o[self.rstr()] = self.tensor() if r.random() < 0.7 else self.value(depth + 1)
            if r.random() < 0.5:
                md = collections.OrderedDict()
                md[""] = {"version": 1}
                if r.random() < 0.5:
                    md["fc"] = {"version": r.randrange(1, 4)}
                o._metadata = md
        elif k < 96:
            o = self.shared_group()
        else:
            o = self.module_sd()
        if r.random() < 0.15 and (type(o) is not tuple or o):
            self.shared.append(o)
        return o

    def module_sd(self):
        r = self.r
        torch.manual_seed(r.randrange(2**31))
        k = r.randrange(6)
        if k == 0:
            m = nn.Linear(r.randrange(1, 5), r.randrange(1, 5), bias=r.random() < 0.7)
        elif k == 1:
            m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                              nn.Linear(2, 2))
        elif k == 2:
            m = nn.Sequential(nn.Embedding(5, 3), nn.LayerNorm(3))
        elif k == 3:
            m = nn.LSTM(3, 2, num_layers=1)
        elif k == 4:
            m = nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), nn.Linear(2, 1))
        else:
            m = nn.GRU(2, 2)
        if r.random() < 0.3:
            m = m.to(r.choice([torch.float64, torch.float16, torch.bfloat16]))
        return m.state_dict(keep_vars=r.random() < 0.2)


def big_dict(seed):
    """One dict with 100,000 keys: scalars and small tensors."""
    g = torch.Generator().manual_seed(seed)
    pool = [torch.randn(64, generator=g) for _ in range(8)]
    d = {}
    for i in range(100000):
        m = i % 10
        if m == 0:
            d["layer.%d.weight" % i] = torch.randn(2, generator=g) if i % 50 == 0 else pool[i % 8][i % 60:i % 60 + 3]
        elif m == 1:
            d["k%d" % i] = i * 7 - 300000
        elif m == 2:
            d["f%d" % i] = i / 7.0
        elif m == 3:
            d[i] = "v%d" % i
        else:
            d["n%d" % i] = i
    return d


def coverage(seed):
    """Fixed objects that cover every listed feature at least once."""
    out = []
    gen = Gen(seed ^ 0x5EED)
    for dt in SAVABLE:
        n = 7
        t = gen.values(dt, n * 2)
        out.append(("dtype_" + str(dt)[6:], {
            "contig": t[:n].clone(), "scalar": t[3].clone(), "empty": torch.empty(0, 3, dtype=dt),
            "strided": t[1::2], "view2d": t.view(2, n).t(),
        }))
    base = torch.arange(24.0).view(4, 6)
    out.append(("views", {
        "base": base, "t": base.t(), "step": base[::2, 1::3], "narrow": base.narrow(1, 2, 3),
        "expand": base[0, :1].expand(5, 3), "as_strided0": base.as_strided((3, 4), (0, 1), 5),
        "offset": base.view(-1)[7:], "same": base, "list": [base, base.t()],
    }))
    p = nn.Parameter(torch.randn(3, 2, generator=gen.g))
    q = nn.Parameter(torch.randn(2, generator=gen.g), requires_grad=False)
    out.append(("params", {"p": p, "q": q, "p_again": p, "rg": torch.ones(2).requires_grad_(),
                           "ints": nn.Parameter(torch.arange(3), requires_grad=False)}))
    out.append(("keys", {1: "one", (1, "a"): 2, None: 3, False: 4, -7: 5,
                         (2, (3, 4)): 6, 2.5: 7, "x": {0: {1: {2: []}}}}))
    out.append(("floats", [0.0, -0.0, float("inf"), float("-inf"), float("nan"),
                           bits_to_float(0x7FF800000000BEEF), bits_to_float(0xFFF0000000000001 | 1 << 51),
                           5e-324, 1e308, complex(-0.0, float("nan"))]))
    out.append(("ints", SPECIAL_INTS))
    out.append(("strings", ["", fresh(""), "a", fresh("a"), "é", fresh("é"), "中", fresh("中"),
                            "😀", "\x00", "\uffff", "version", fresh("version"), "a" * 300]))
    out.append(("bytes", [b"", bytes(0), b"a", bytes([97]), b"\xe9", "é", b"\x00\xff" * 40,
                          bytearray(), bytearray(b"xyz"), bytearray(b"a")]))
    out.append(("misc", {"size": torch.Size([2, 3]), "size0": torch.Size([]),
                         "dtypes": list(DTYPE_VALUES), "cpu": torch.device("cpu"),
                         "cuda1": torch.device("cuda", 1), "set": {1, 2, 3}, "eset": set(),
                         "counter": collections.Counter({"a": 2, "b": 0}),
                         "complex": 1 + 2j, "none": None, "t": (), "nested": ((), [()], {})}))
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    out.append(("state_dict", m.state_dict()))
    out.append(("module_sd_nested", {"model": m.state_dict(), "ema": m.state_dict(),
                                     "lstm": nn.LSTM(2, 3).state_dict()}))
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    m(torch.randn(5, 3)).sum().backward()
    opt.step()
    out.append(("checkpoint", {"epoch": 3, "model": m.state_dict(), "optimizer": opt.state_dict(),
                               "loss": 0.125, "best": float("nan")}))
    sd = collections.OrderedDict(a=torch.zeros(1))
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    out.append(("odict_metadata", sd))
    out.append(("shared_lists", (lambda l: {"a": l, "b": l, "c": [l, (l,)]})([1, 2])))
    # pickler batch boundaries (1000 items): exact dict/list vs OrderedDict paths differ
    for n in (999, 1000, 1001, 2000):
        out.append(("batch_dict_%d" % n, {"k%d" % i: i for i in range(n)}))
        out.append(("batch_odict_%d" % n, collections.OrderedDict(("k%d" % i, i) for i in range(n))))
        out.append(("batch_list_%d" % n, list(range(n))))
    out.append(("batch_counter_1000", collections.Counter({"c%d" % i: i for i in range(1000)})))
    out.append(("scalar_root", torch.tensor(3.5)))
    out.append(("empty_root", torch.empty(0)))
    out.append(("none_root", None))
    return out


def generate(seed, count=500):
    objs = coverage(seed)
    gen = Gen(seed)
    for i in range(count):
        k = i % 5
        if k == 0:
            o = collections.OrderedDict()
            for _ in range(gen.r.randrange(12)):
                o[gen.rstr()] = gen.tensor()
        elif k == 1:
            o = {}
            for _ in range(gen.r.randrange(12)):
                o[gen.rkey()] = gen.value(1)
        else:
            o = gen.value(0)
        objs.append(("o_%04d" % i, o))
    objs.append(("big_100k", big_dict(seed)))
    return objs
