#!/usr/bin/python3
"""Compare `ckpt scan` with a plain string search over the hostile corpus.

The string search is what a naive scanner does: look for dangerous module/name
text ("os\\nsystem", "posix", "subprocess", "eval", "exec", ...) in the raw bytes,
and in the bytes of every zip member (stored or deflated).  Prints one row per
file and the totals.  Usage: compare_string_scan.py CKPT_BINARY [DIR]"""
import json
import os
import subprocess
import sys
import zipfile

NEEDLES = [b"os\nsystem", b"posix\nsystem", b"nt\nsystem", b"subprocess", b"builtins\neval",
           b"__builtin__\neval", b"builtins\nexec", b"getattr", b"__import__", b"runpy",
           b"pip\nmain", b"runstring", b"torch\nload", b"_load_from_bytes", b"eval", b"exec",
           b"system"]


def string_hit(path):
    data = open(path, "rb").read()
    blobs = [data]
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                try:
                    blobs.append(z.read(info))
                except Exception:  # noqa: BLE001 - a broken member is just not searched
                    pass
    except Exception:  # noqa: BLE001 - not a zip
        pass
    return any(n in b for b in blobs for n in NEEDLES)


def main():
    ckpt = sys.argv[1]
    d = sys.argv[2] if len(sys.argv) > 2 else "tests/hostile"
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(d, "MANIFEST.tsv"))][1:]
    both = only_ckpt = only_str = neither = 0
    for r in rows:
        f = os.path.join(d, r[0])
        out = subprocess.run([ckpt, "scan", "--json", f], capture_output=True, text=True)
        rep = json.loads(out.stdout)[0]
        flagged = rep["verdict"] != "clean"
        s = string_hit(f)
        if flagged and s:
            both += 1
        elif flagged:
            only_ckpt += 1
        elif s:
            only_str += 1
        else:
            neither += 1
        print("%-36s ckpt=%-10s strings=%s" % (r[0], rep["verdict"], "hit" if s else "-"))
    print("\n%d files: flagged by both %d, only by ckpt scan %d, only by the string search %d, "
          "by neither %d" % (len(rows), both, only_ckpt, only_str, neither))


if __name__ == "__main__":
    main()
