"""Write the element-conversion fixtures for tests/unit/core/convert_test.c with real
PyTorch 1.13 (its own `.to(dtype)` on CPU is the reference).

    /usr/bin/python3 tools/gen/make_convert_fixtures.py [OUTDIR]   (default tests/fixtures/convert)

One file per (source, destination) pair among float16, bfloat16, float32 and float64,
named <src>_to_<dst>.bin: N source elements (little-endian, raw bits), then the N
elements torch's `src.to(dst)` gives for them.  N = size / (src size + dst size).
The inputs cover ±0, ±inf, quiet NaNs with payloads and both signs, normal values,
the smallest and largest normals, subnormals of the source and of the destination,
exact ties (round half to even, both parities), values just above and below ties,
overflow to inf and underflow to zero, plus fixed-seed random bit patterns.
Deterministic: fixed seed, no clock.
"""

import os
import struct
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
          "float64": torch.float64}
BITS = {"float16": (torch.int16, 16), "bfloat16": (torch.int16, 16), "float32": (torch.int32, 32),
        "float64": (torch.int64, 64)}


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def patterns(name):
    """Bit patterns (unsigned ints) of interesting source values of dtype `name`."""
    pats = set()
    if name in ("float16", "bfloat16"):
        # every 16-bit pattern: the conversion is exhaustive for 16-bit sources
        return list(range(0x10000))
    if name == "float32":
        base = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000,
                0x7FC00001, 0x7FFFFFFF, 0xFFFFFFFF, 0x7FA00000, 0x00000001, 0x807FFFFF,
                0x00800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x3F800000, 0xBF800000]
        pats.update(base)
        # bfloat16 ties and neighbours: low 16 bits around 0x8000, both parities of bit 16
        for hi in (0x3F80, 0x3F81, 0x4049, 0xC049, 0x7F7F, 0x0001, 0x0080, 0x8080, 0x7F80 - 1):
            for lo in (0x0000, 0x7FFF, 0x8000, 0x8001, 0xFFFF):
                pats.add((hi << 16) | lo)
        # float16 ties: 13 dropped bits = 0x1000, parities, around normal/subnormal range
        for e in (0x33, 0x38, 0x66, 0x70, 0x71, 0x7E, 0x8E, 0x8F):
            for m_hi in (0x000, 0x001, 0x3FE, 0x3FF):
                for lo in (0x0000, 0x0FFF, 0x1000, 0x1001, 0x1FFF):
                    for s in (0, 1):
                        pats.add((s << 31) | (e << 23) | (m_hi << 13) | lo)
        # float16 overflow boundary: 65504 (max), 65519.99 (rounds to max), 65520 (inf)
        for x in (65504.0, 65519.0, 65520.0, 65536.0, 1e10, -65520.0, 5.96e-8, 2.98e-8, 2.99e-8,
                  6.1e-5, 6.103515625e-05, 3e38, 1e-45, 0.1, 1.0 / 3.0, -2.5, 1e-8):
            pats.add(f32_bits(x))
    else:  # float64
        def d(x):
            return struct.unpack("<Q", struct.pack("<d", x))[0]
        base = [0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
                0xFFF8000000000000, 0x7FF8000000000001, 0x7FFFFFFFFFFFFFFF, 1, 0x000FFFFFFFFFFFFF,
                0x0010000000000000, 0x7FEFFFFFFFFFFFFF]
        pats.update(base)
        # float32 ties (29 dropped bits) and double-rounding traps for float16/bfloat16
        for e in (0x3FF, 0x400, 0x380, 0x36A, 0x3F0, 0x40E, 0x47E, 0x47F, 0x3E7):
            for m in (0, 1, 1 << 28, (1 << 28) | 1, (1 << 29) - 1, 1 << 29, (1 << 29) | (1 << 28),
                      (1 << 41), (1 << 41) | 1, (1 << 41) | (1 << 28), (1 << 41) - 1,
                      (1 << 44) | (1 << 28), (1 << 44) | 1, (1 << 44) - (1 << 29),
                      (1 << 36) | (1 << 35), (1 << 45) | (1 << 44) | 1):
                for s in (0, 1):
                    pats.add((s << 63) | (e << 52) | (m & ((1 << 52) - 1)))
        for x in (65504.0, 65519.99, 65520.0, 3.5e38, 3.4028235677973366e38, 1e300, -1e300,
                  1e-300, 1e-46, 1.401298464324817e-45, 0.1, 1.0 / 3.0, 2.0 ** -24, 2.0 ** -25,
                  2.0 ** -25 + 2.0 ** -60, 3.0 * 2.0 ** -26):
            pats.add(d(x))
    g = torch.Generator().manual_seed(20240613)
    bits = 32 if name == "float32" else 64
    for _ in range(4000):
        hi = int(torch.randint(0, 1 << 31, (1,), generator=g)) * 2 + \
            int(torch.randint(0, 2, (1,), generator=g))
        if bits == 64:
            lo = int(torch.randint(0, 1 << 31, (1,), generator=g)) * 2 + \
                int(torch.randint(0, 2, (1,), generator=g))
            pats.add((hi << 32) | lo)
        else:
            pats.add(hi)
    return sorted(pats)


def as_tensor(name, pats):
    idt, bits = BITS[name]
    signed = [p - (1 << bits) if p >= (1 << (bits - 1)) else p for p in pats]
    return torch.tensor(signed, dtype=idt).view(DTYPES[name])


def main(argv):
    outdir = argv[1] if len(argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "convert")
    os.makedirs(outdir, exist_ok=True)
    for src in DTYPES:
        x = as_tensor(src, patterns(src))
        for dst in DTYPES:
            if src == dst:
                continue
            y = x.to(DTYPES[dst])
            path = os.path.join(outdir, "%s_to_%s.bin" % (src, dst))
            with open(path, "wb") as f:
                f.write(x.contiguous().numpy().tobytes() if src != "bfloat16"
                        else x.view(torch.int16).numpy().tobytes())
                f.write(y.contiguous().numpy().tobytes() if dst != "bfloat16"
                        else y.view(torch.int16).numpy().tobytes())
            print(path, x.numel())


if __name__ == "__main__":
    main(sys.argv)
