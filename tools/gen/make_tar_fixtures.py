#!/usr/bin/python3
"""Write tests/fixtures/tar: the tar cases of tests/interop/container_cases.py and
what Python's tarfile (the reference torch.load uses) makes of each, so that
tests/unit/torch/tar_test.c checks ckpt's tar walker without Python.

  nti.tsv       numeric field (hex)  ->  tarfile.nti(): an int, or "invalid"
  EXPECTED.tsv  case  kind  storages  tensors  pickle
                kind: "tar" (tarfile lists it), "stream" (TarError: torch reads a
                pickle stream), "other" (tarfile raises something else);
                members: LEN:CRC32 of the bytes tarfile reads, "nodata", or "-"

Usage: /usr/bin/python3 tools/gen/make_tar_fixtures.py [OUTDIR]
"""
import os
import sys
import tarfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "interop"))
import container_cases  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "tests", "fixtures",
                                                         "tar")
NAMES = ("storages", "tensors", "pickle")


def digest(b):
    return "%d:%d" % (len(b), zlib.crc32(b) & 0xFFFFFFFF)


def listing(path):
    try:
        with tarfile.open(path, mode="r:", format=tarfile.PAX_FORMAT) as t:
            t.getmembers()
            row = []
            for n in NAMES:
                try:
                    m = t.getmember(n)
                except KeyError:
                    row.append("-")
                    continue
                if m.isreg() or m.type not in tarfile.SUPPORTED_TYPES:
                    row.append(digest(t.extractfile(m).read()))
                else:
                    row.append("nodata")
            return ["tar"] + row
    except tarfile.TarError:
        return ["stream", "-", "-", "-"]
    except Exception:  # noqa: BLE001
        return ["other", "-", "-", "-"]


def nti_fields():
    out = []
    for s in [b"0000644\0", b"  644 \0\0", b"0o644\0\0\0", b"0O6_4_4\0", b"+644\0\0\0\0",
              b"-644\0\0\0\0", b"6__44\0\0\0", b"_644\0\0\0\0", b"644_\0\0\0\0", b"0o_644\0\0",
              b"0o\0\0\0\0\0\0", b"+\0\0\0\0\0\0\0", b"\x1c644\x1f\0\0\0", b"64 4\0\0\0\0",
              b"648\0\0\0\0\0", b"\0garbage", b"        ", b"\t\n\x0b\x0c\r 7\0",
              b"64\xe94\0\0\0\0", b"\x80\0\0\0\0\0\x01\x00", b"\xff\xff\xff\xff\xff\xff\xff\xff",
              b"\x80\x7f\xff\xff\xff\xff\xff\xff", b"7777777\0", b"0x644\0\0\0", b"- 644\0\0\0",
              b"0o0o7\0\0\0", b"00000000"]:
        out.append(s)
    out.append(b"77777777777\0")
    out.append(b"\x80" + b"\x01" * 11)
    out.append(b"0000000000\xc3\x00")
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    rows = []
    for name, data, _ in container_cases.tar_cases():
        p = os.path.join(OUT, name + ".tar")
        with open(p, "wb") as f:
            f.write(data)
        rows.append("\t".join([name + ".tar"] + listing(p)))
    with open(os.path.join(OUT, "EXPECTED.tsv"), "w") as f:
        f.write("file\tkind\tstorages\ttensors\tpickle\n" + "\n".join(rows) + "\n")
    nrows = []
    for s in nti_fields():
        try:
            v = str(tarfile.nti(s))
        except tarfile.InvalidHeaderError:
            v = "invalid"
        nrows.append("%s\t%s" % (s.hex(), v))
    with open(os.path.join(OUT, "nti.tsv"), "w") as f:
        f.write("field_hex\tnti\n" + "\n".join(nrows) + "\n")
    print("%d tar cases, %d nti fields in %s" % (len(rows), len(nrows), OUT))


if __name__ == "__main__":
    main()
