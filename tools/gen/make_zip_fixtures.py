#!/usr/bin/env python3
"""Make the zip-layer fixtures in tests/fixtures/zip/ with Python's zipfile module.

    /usr/bin/python3 tools/gen/make_zip_fixtures.py [OUTDIR]

deflated.zip: a torch-like archive re-zipped by zipfile under another prefix
("weird_prefix/"), mostly deflated, with one stored record, one empty record
and one record whose local header carries a zip64 field (force_zip64), so the
reader must take data offsets from the local headers.  deflated.txt is the
listing this script printed: one line per member, in central-directory order,
"name method size crc32" (crc as 8 hex digits).  The record contents are
deterministic, so the test can also rebuild them (see zip_read_test.c).
"""
import struct
import sys
import zipfile
import zlib
from pathlib import Path

PREFIX = "weird_prefix"


def contents():
    floats = struct.pack("<6f", 0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    # 100000 compressible bytes: byte i = (i * 7 + i // 1000) % 251
    big = bytes((i * 7 + i // 1000) % 251 for i in range(100000))
    return [
        ("data.pkl", bytes(range(256)) * 2, zipfile.ZIP_DEFLATED, False),
        ("data/0", floats, zipfile.ZIP_DEFLATED, False),
        ("data/1", big, zipfile.ZIP_DEFLATED, False),
        ("data/2", b"", zipfile.ZIP_DEFLATED, False),
        ("data/3", b"stored bytes, not deflated\n", zipfile.ZIP_STORED, False),
        ("data/4", b"x" * 1000, zipfile.ZIP_DEFLATED, True),
        ("version", b"3\n", zipfile.ZIP_DEFLATED, False),
    ]


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/zip")
    out.mkdir(parents=True, exist_ok=True)
    path = out / "deflated.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, method, z64 in contents():
            info = zipfile.ZipInfo(f"{PREFIX}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=z64) as f:
                f.write(data)
    lines = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            assert zlib.crc32(data) == info.CRC
            lines.append(f"{info.filename} {info.compress_type} {info.file_size} {info.CRC:08x}")
    (out / "deflated.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
