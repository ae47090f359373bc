"""Compare `ckpt ls --json FILE` with torch's listing (torch_list.py) for every
zip-format torch file in a folder (CTest fixtures_real_listing), or with
--legacy for every non-zip (legacy stream or tar) file (CTest
fixtures_real_legacy_listing).

    /usr/bin/python3 tests/interop/real_listing.py --ckpt BUILD/ckpt --dir DIR [--legacy]

Both listings are compared as parsed JSON, order included.  A file torch cannot
read, or any difference is a failure; a missing folder exits 77 (CTest
SKIP_RETURN_CODE) with a SKIPPED line naming it.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77  # CTest SKIP_RETURN_CODE (tests/tiers.cmake)
sys.path.insert(0, HERE)

try:
    import torch  # noqa: F401
except ImportError as e:
    print("real_listing: cannot import torch (%s)." % e)
    print("Install it with:  apt-get install -y python3-torch python3-numpy")
    sys.exit(1)

import torch_list  # noqa: E402


def first_diff(want, got):
    if not isinstance(got, list):
        return "ckpt output is not a JSON array"
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else None
        g = got[i] if i < len(got) else None
        if w != g:
            return "entry %d differs (torch %d entries, ckpt %d):\n  torch: %s\n  ckpt:  %s" % (
                i, len(want), len(got), json.dumps(w), json.dumps(g))
    return "equal"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--legacy", action="store_true",
                    help="check the non-zip files (legacy stream, tar) instead of the zips")
    args = ap.parse_args()
    if not os.path.isdir(args.dir):
        # the real-world corpus lives outside the repository: CTest reports this as skipped
        print("SKIPPED: %s: folder %s is absent (the real-world corpus "
              "../shared/fixtures/real beside the checkout)" % (
                  "fixtures_real_legacy_listing" if args.legacy else "fixtures_real_listing",
                  args.dir))
        return SKIP
    if not os.access(args.ckpt, os.X_OK):
        print("real_listing: ckpt CLI not found at %s" % args.ckpt)
        return 1
    files = sorted(os.listdir(args.dir))
    ok, bad, skipped = 0, [], []
    for f in files:
        path = os.path.join(args.dir, f)
        with open(path, "rb") as fh:
            if (fh.read(4) == b"PK\x03\x04") == args.legacy:
                skipped.append(f)
                continue
        try:
            want = torch_list.listing(path)
        except Exception as e:  # noqa: BLE001
            bad.append((f, "torch could not list it: %s: %s" % (type(e).__name__, e)))
            continue
        p = subprocess.run([args.ckpt, "ls", "--json", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            bad.append((f, "ckpt ls --json exit %d: %s" % (p.returncode, p.stderr.strip()[:500])))
            continue
        try:
            got = json.loads(p.stdout)
        except ValueError as e:
            bad.append((f, "ckpt output is not JSON (%s): %s" % (e, p.stdout[:300])))
            continue
        if got == want:
            ok += 1
        else:
            bad.append((f, first_diff(want, got)))
    print("real_listing: %d files, %d equal, %d different, %d %s (%s)" % (
        len(files), ok, len(bad), len(skipped), "zip" if args.legacy else "not zip",
        ", ".join(skipped)))
    for f, why in bad:
        print("FAIL %s\n  %s" % (f, why))
    return 1 if bad or ok == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
