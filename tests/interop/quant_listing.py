"""Check that `ckpt ls` names packed quantized parameters as the eager state_dict
does (tests/fixtures/torchscript/make_quantized.py made the files and the
expected names with torch 1.13):

    python3 tests/interop/quant_listing.py CKPT FIXTURE_DIR

For q_scripted.pt, q_traced.pt and q_full.pt: every tensor ckpt lists must carry a
name of q_expected.json with the same dtype and shape (a full-module pickle's
_modules/_buffers/_parameters path parts dropped), every quantized layer's
weight and bias must be there, and a renamed entry must keep its raw walker
path in the --json "path" field.  Scales and zero points that these files keep
as Python numbers, not tensors, are not required.
"""
import json
import os
import subprocess
import sys


def main(argv):
    ckpt, fix = argv[1], argv[2]
    want = {e["key"]: e for e in json.load(open(os.path.join(fix, "q_expected.json")))}
    layers = {k for k in want if k.endswith(".weight") or k.endswith(".bias")}
    bad = 0
    for f in ("q_scripted.pt", "q_traced.pt", "q_full.pt"):
        r = subprocess.run([ckpt, "ls", "--json", "--raw", os.path.join(fix, f)],
                           stdout=subprocess.PIPE)
        if r.returncode != 0:
            print("%s: ckpt ls exit %d" % (f, r.returncode))
            bad += 1
            continue
        got = json.loads(r.stdout)
        names = set()
        for g in got:
            key = ".".join(p for p in g["key"].split(".")
                           if p not in ("_modules", "_buffers", "_parameters"))
            names.add(key)
            w = want.get(key)
            if not w or w["dtype"] != g["dtype"] or w["shape"] != g["shape"]:
                print("%s: ckpt lists %s %s %s; torch.ao's state_dict has %s" % (
                    f, g["key"], g["dtype"], g["shape"], w))
                bad += 1
            if key in layers and ("path" not in g or g["path"] == g["key"]):
                print("%s: %s lacks its raw path" % (f, g["key"]))
                bad += 1
        missing = sorted(layers - names)
        if missing:
            print("%s: missing %s" % (f, missing))
            bad += 1
        else:
            print("%s: %d tensors named as torch.ao's state_dict" % (f, len(got)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
