#!/usr/bin/env python3
"""`ckpt scan` against numpy's own .npy header reader (issue 9, item 4).

For many spellings of the header dict's 'descr' (and header variants), numpy
(np.lib.format, the code np.load runs) is the oracle for whether the array
holds Python objects; the data after the header is a pickle that calls
os.system.  Every header numpy reads as an object array must scan unsafe
(exit 1); no header may scan clean unless numpy reads it as a plain array.

Usage: npy_scan_oracle.py --ckpt PATH/TO/ckpt --workdir DIR
"""
import argparse
import io
import os
import struct
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("numpy missing: apt-get install python3-numpy")
    sys.exit(1)

PAYLOAD = (b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.")

DESCRS = [
    "'|O'", "'O'", "'<O'", "'>O'", "'=O'", "'object'", "'O8'", "'|O8'", "\"|O\"",
    "[('a', '<i4'), ('b', '|O')]", "[('a', 'O')]", "[('a', '<f4', (2,)), ('b', 'O', (2,))]",
    "[(('title', 'a'), '|O')]", "'i4,O'", "[('a', [('b', 'O')])]",
    "'<f4'", "'|u1'", "'<i8'", "'|b1'", "'<c16'", "'|S5'", "'<U3'", "'|V8'", "'<M8[s]'",
    "[('a', '<i4'), ('b', '<f8')]", "'float32'", "'?'",
    "'|Q'", "'object_'", "'O4'", "'<o'", "'U'", "'V'", "('O', (2,))", "('<i4', (2,))",
]


def header(descr, major=1, extra=""):
    h = "{'descr': %s, 'fortran_order': False, 'shape': (1,), %s}" % (descr, extra)
    pre = 10 if major == 1 else 12
    h = h + " " * (63 - (pre + len(h)) % 64) + "\n"
    hb = h.encode("latin1")
    if major == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hb)) + hb
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<I", len(hb)) + hb


def numpy_says(data):
    """'object', 'plain' or 'refuses' - what np.load's header reader decides."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = np.lib.format._read_array_header(f, version)
    except Exception:
        return "refuses"
    return "object" if dtype.hasobject else "plain"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    cases = []
    for d in DESCRS:
        for major in (1, 2, 3):
            cases.append((d, major, ""))
    cases.append(("'|O'", 1, "'extra': 1, "))
    bad = 0
    counts = {}
    for i, (d, major, extra) in enumerate(cases):
        data = header(d, major, extra) + PAYLOAD
        want = numpy_says(data)
        path = os.path.join(a.workdir, "case%03d.npy" % i)
        with open(path, "wb") as f:
            f.write(data)
        rc = subprocess.run([a.ckpt, "scan", path], capture_output=True).returncode
        got = {0: "clean", 1: "unsafe", 2: "unreadable"}.get(rc, "rc%d" % rc)
        ok = (want == "object" and got == "unsafe") or \
             (want == "plain" and got in ("clean", "unreadable")) or \
             (want == "refuses" and got != "clean")
        counts[(want, got)] = counts.get((want, got), 0) + 1
        if not ok:
            print("descr %s v%d %s: numpy %s, ckpt scan %s" % (d, major, extra, want, got))
            bad += 1
    print("%d headers; numpy/ckpt: %s" % (len(cases), sorted(counts.items())))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
