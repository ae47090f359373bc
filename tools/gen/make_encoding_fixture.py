#!/usr/bin/python3
"""A Python-2-style checkpoint (byte strings via SHORT_BINSTRING) and what torch 1.13
returns for it under encoding='latin1', 'bytes' and the default utf-8.

Writes tests/fixtures/encoding/py2.pt and py2.expected (one line per encoding:
`<encoding> <repr of the loaded object>` or `<encoding> error <ExceptionType>`)."""
import os
import sys
import zipfile

import torch

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "tests", "fixtures", "encoding")
os.makedirs(out, exist_ok=True)
pk = b"\x80\x02}q\x00(U\x04nameq\x01U\x04caf\xe9q\x02U\x01kq\x03K\x07u."
path = os.path.join(out, "py2.pt")
with zipfile.ZipFile(path, "w") as z:
    z.writestr(zipfile.ZipInfo("py2/data.pkl", (1980, 1, 1, 0, 0, 0)), pk)
    z.writestr(zipfile.ZipInfo("py2/version", (1980, 1, 1, 0, 0, 0)), b"3\n")
lines = []
for enc in ("utf-8", "latin1", "bytes"):
    try:
        obj = torch.load(path, encoding=enc)
        items = ",".join("%s=%s" % (k.hex() if isinstance(k, bytes) else k.encode().hex(),
                                    v.hex() if isinstance(v, bytes) else
                                    (v.encode().hex() if isinstance(v, str) else str(v)))
                         for k, v in obj.items())
        kinds = "bytes" if isinstance(next(iter(obj)), bytes) else "str"
        lines.append("%s %s %s" % (enc, kinds, items))
    except Exception as e:  # noqa: BLE001 - the reference behaviour is the exception type
        lines.append("%s error %s" % (enc, type(e).__name__))
with open(os.path.join(out, "py2.expected"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
