"""Live differential tier for the legacy (pre-zip) formats: ckpt against torch 1.13.

    /usr/bin/python3 tests/interop/legacy_differential.py --tool BUILD/interop_tool \\
        --workdir DIR [--seed N] [--count N] [--fixtures DIR] [--real DIR]
                                                  (CTest interop_legacy_differential)

Steps (canonical text of tests/interop/canon.py on both sides):
  a. torch.save(obj, f, _use_new_zipfile_serialization=False) for every object of
     gen_objects.generate(seed, count), and a slice of them again with pickle
     protocols 1, 3, 4 and 5
  b. `interop_tool canon`: ckpt's canon of each file == canon of torch.load(file)
  c. `interop_tool resave --layout legacy`: torch.load of ckpt's legacy file gives the
     same canon (bytes cannot match: torch's storage keys are C pointers)
  d. the committed fixtures (tests/fixtures/legacy: views, byte strings, big-endian
     sys_info, protocols, tar) and the real legacy files: ckpt canon == torch canon;
     whole-module files must be refused as CKPT_E_UNSAFE in weights-only mode
Exit status 0 only when every comparison passed; 77 (CTest SKIP_RETURN_CODE) when
they passed but the --real folder is absent (a SKIPPED line names it).
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77  # CTest SKIP_RETURN_CODE (tests/tiers.cmake)
sys.path.insert(0, HERE)

try:
    import torch
except ImportError as e:
    print("legacy_differential: cannot import torch (%s)." % e)
    print("Install it with:  apt-get install -y python3-torch python3-numpy")
    sys.exit(1)

import canon  # noqa: E402

warnings.simplefilter("ignore")  # SourceChangeWarning and friends
MAX_DETAIL = 8
MODULE_FIXTURES = ("stream_module.pt", "tar_module.pt")


def text_diff(a, b, ctx=160):
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    lo = max(0, i - ctx)
    return ("first difference at char %d (lengths %d vs %d)\n"
            "      expected: ...%s\n      got:      ...%s" % (
                i, len(a), len(b), a[lo:i + ctx], b[lo:i + ctx]))


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        print("command failed (rc=%d): %s ...\n%s" % (p.returncode, " ".join(cmd[:4]),
                                                      p.stderr[-4000:]))
    return p.returncode


class Report:
    def __init__(self):
        self.counts = {}
        self.fails = {}

    def ok(self, step):
        self.counts.setdefault(step, [0, 0])[0] += 1

    def fail(self, step, name, detail):
        self.counts.setdefault(step, [0, 0])[1] += 1
        self.fails.setdefault(step, []).append((name, detail))

    def print(self):
        bad = 0
        print("\n=== legacy interop results ===")
        for step, (ok, ko) in self.counts.items():
            print("%-46s %5d ok  %5d FAILED" % (step, ok, ko))
            bad += ko
        for step, lst in self.fails.items():
            print("\n--- %s: %d failure(s); first %d:" % (step, len(lst),
                                                        min(len(lst), MAX_DETAIL)))
            for name, detail in lst[:MAX_DETAIL]:
                print("* %s\n%s" % (name, detail))
        return bad


def read(path):
    with open(path) as f:
        return f.read().rstrip("\n")


def compare_canon(rep, step, tool, outdir, files, want):
    """ckpt canon of each file vs want[file] (a canon text, or 'UNSAFE')."""
    os.makedirs(outdir, exist_ok=True)
    if run([tool, "canon", outdir] + files) != 0:
        rep.fail(step, "interop_tool canon", "tool failed")
    for f in files:
        cpath = os.path.join(outdir, os.path.basename(f) + ".canon")
        if not os.path.exists(cpath):
            rep.fail(step, os.path.basename(f), "no .canon written")
            continue
        got = read(cpath)
        w = want[f]
        if w == "UNSAFE":
            good = got.startswith("ERROR CKPT_E_UNSAFE")
        else:
            good = got == w
        if good:
            rep.ok(step)
        else:
            rep.fail(step, os.path.basename(f),
                     got[:600] if got.startswith("ERROR") or w == "UNSAFE" else text_diff(w, got))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    default_seed = os.environ.get("CKPT_INTEROP_SEED") or str(int.from_bytes(os.urandom(4),
                                                                             "little"))
    ap.add_argument("--seed", type=int, default=int(default_seed))
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--fixtures", default=os.path.join(HERE, "..", "fixtures", "legacy"))
    ap.add_argument("--real", default=os.path.join(HERE, "..", "..", "..", "shared", "fixtures",
                                                   "real", "torch_legacy"))
    args = ap.parse_args()
    if not os.access(args.tool, os.X_OK):
        print("legacy_differential: interop_tool not found at %s" % args.tool)
        return 1
    print("seed %d (replay with CKPT_INTEROP_SEED=%d)" % (args.seed, args.seed), flush=True)
    import gen_objects

    rep = Report()
    wd = args.workdir
    if os.path.isdir(wd):
        shutil.rmtree(wd)
    dirs = {k: os.path.join(wd, k) for k in ("torch", "canon", "resaved", "fix_canon")}
    for d in dirs.values():
        os.makedirs(d)

    # a. torch writes legacy files
    t0 = time.time()
    files, want = [], {}
    objs = gen_objects.generate(args.seed, args.count)
    for i, (name, obj) in enumerate(objs):
        path = os.path.join(dirs["torch"], name + ".pt")
        torch.save(obj, path, _use_new_zipfile_serialization=False)
        files.append(path)
        if i % 10 == 0:
            for proto in (1, 3, 4, 5):
                p2 = os.path.join(dirs["torch"], "%s.p%d.pt" % (name, proto))
                torch.save(obj, p2, _use_new_zipfile_serialization=False, pickle_protocol=proto)
                files.append(p2)
    for f in files:
        want[f] = canon.canon(torch.load(f, weights_only=False))
    print("a. torch.save legacy: %d files (%.1fs)" % (len(files), time.time() - t0), flush=True)

    # b. ckpt loads torch's legacy files
    compare_canon(rep, "b. ckpt load == torch load (legacy)", args.tool, dirs["canon"], files, want)

    # c. ckpt writes legacy, torch loads it
    if run([args.tool, "resave", "--layout", "legacy", dirs["resaved"]] + files) != 0:
        rep.fail("c. torch load of ckpt legacy save", "interop_tool resave", "tool failed")
    for f in files:
        r = os.path.join(dirs["resaved"], os.path.basename(f))
        step = "c. torch load of ckpt legacy save"
        if not os.path.exists(r):
            rep.fail(step, os.path.basename(f), "not resaved")
            continue
        with open(r, "rb") as fh:
            if fh.read(2) == b"PK":
                rep.fail(step, os.path.basename(f), "ckpt wrote a zip, not a legacy stream")
                continue
        try:
            got = canon.canon(torch.load(r, weights_only=False))
        except Exception as e:  # noqa: BLE001 - any torch failure is a finding
            rep.fail(step, os.path.basename(f), "torch.load failed: %s: %s" % (
                type(e).__name__, e))
            continue
        if got == want[f]:
            rep.ok(step)
        else:
            rep.fail(step, os.path.basename(f), text_diff(want[f], got))

    # d. committed fixtures and real files
    fx = []
    skipped = None
    for d in (args.fixtures, args.real):
        if d == args.real and not os.path.isdir(d):
            # the real-world corpus lives outside the repository (a clean clone lacks it)
            skipped = "folder %s is absent (the real-world corpus beside the checkout)" % d
            continue
        if not os.path.isdir(d):
            rep.fail("d. fixtures", d, "folder missing")
            continue
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            fx.append(p)
            if n in MODULE_FIXTURES:
                want[p] = "UNSAFE"
            else:
                want[p] = canon.canon(torch.load(p, weights_only=False))
    compare_canon(rep, "d. fixtures: ckpt load == torch load", args.tool, dirs["fix_canon"], fx,
                  want)
    if rep.print():
        return 1
    if skipped:
        print("SKIPPED: interop_legacy_differential: steps a-d passed without the real files: "
              + skipped)
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
