"""Container differential: which bytes torch 1.13 takes as data.pkl, a record, or
the tar members storages / tensors / pickle, against what ckpt's readers take.

    /usr/bin/python3 tests/interop/container_differential.py --tool BUILD/container_tool \\
        --workdir DIR [--keep] PATH...       (CTest interop_container_differential)

Inputs: every file under each PATH (the fuzz corpora, tests/hostile) and the
archives tests/interop/container_cases.py generates into DIR.

The reference side follows torch.load's own path: a file whose first four bytes
are PK\\x03\\x04 goes to torch._C.PyTorchFileReader (miniz) - opened, records
listed (get_all_records, which torch.load calls), then get_record of every
listed record and of data.pkl, version, byteorder, constants.pkl; any other
file goes to Python's tarfile (mode 'r:', getmembers, then storages, tensors,
pickle by getmember/extractfile), and on a TarError torch reads a pickle
stream from byte 0.  The torch side runs in a child process (a hostile input
may crash or exhaust it; such an input is counted, not compared).

A file fails the test when ckpt resolves different bytes for a name than the
reference, resolves a name the reference does not have, misses one it has
(without refusing), or reads a tar where torch reads a pickle stream (or the
reverse).  ckpt refusing the container or a member is always allowed.
Exit status 0 only when nothing failed.
"""
import argparse
import json
import os
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

ZIP_NAMES = ["data.pkl", "version", ".data/version", "byteorder", "constants.pkl"]
TAR_NAMES = ["storages", "tensors", "pickle"]


def digest(b):
    return "%d:%d" % (len(b), zlib.crc32(b) & 0xFFFFFFFF)


# ------------------------------------------------------------ reference side

def ref_zip(path, torch):
    try:
        r = torch._C.PyTorchFileReader(path)
    except Exception as e:  # noqa: BLE001 - any refusal
        return {"kind": "zip", "ok": False, "error": str(e)[:200]}
    try:
        recs = list(r.get_all_records())
    except Exception as e:  # noqa: BLE001
        return {"kind": "zip", "ok": False, "error": "listing: " + str(e)[:200]}
    out = {}
    for n in sorted(set(recs) | set(ZIP_NAMES)):
        if "\t" in n or "\n" in n:
            continue
        try:
            out[n] = digest(bytes(r.get_record(n)))
        except Exception as e:  # noqa: BLE001
            out[n] = None if "not found" in str(e) else "error"
    return {"kind": "zip", "ok": True, "records": out}


def ref_tar(path):
    import tarfile
    try:
        with tarfile.open(path, mode="r:", format=tarfile.PAX_FORMAT) as t:
            t.getmembers()
            out = {}
            for n in TAR_NAMES:
                try:
                    m = t.getmember(n)
                except KeyError:
                    continue
                if m.isreg() or m.type not in tarfile.SUPPORTED_TYPES:
                    out[n] = digest(t.extractfile(m).read())
                else:
                    out[n] = "nodata"
            return {"kind": "tar", "ok": True, "members": out}
    except tarfile.TarError as e:
        return {"kind": "stream", "ok": True, "error": str(e)[:200]}
    except Exception as e:  # noqa: BLE001 - torch.load fails with it
        return {"kind": "tar", "ok": False, "error": "%s: %s" % (type(e).__name__, str(e)[:200])}


def worker():
    import resource
    import signal
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
    import torch  # noqa: F401

    def alarm(*_):
        raise TimeoutError("timeout")
    signal.signal(signal.SIGALRM, alarm)
    for line in sys.stdin:
        path = line.rstrip("\n")
        signal.alarm(20)
        try:
            with open(path, "rb") as f:
                head = f.read(4)
            res = ref_zip(path, torch) if head == b"PK\x03\x04" else ref_tar(path)
        except Exception as e:  # noqa: BLE001
            res = {"kind": "?", "ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        signal.alarm(0)
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


def reference(paths):
    """Run the worker over `paths`, restarting it past any input that kills it."""
    out = {}
    todo = list(paths)
    while todo:
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        got, _ = p.communicate("\n".join(todo) + "\n")
        lines = got.splitlines()
        for path, line in zip(todo, lines):
            out[path] = json.loads(line)
        done = len(lines)
        if done < len(todo):
            out[todo[done]] = {"kind": "?", "ok": False, "error": "torch crashed (exit %d)" %
                               p.returncode}
            done += 1
        todo = todo[done:]
    return out


# ------------------------------------------------------------------ compare

def compare(path, ref, ck):
    """'' when they agree, else the disagreement."""
    if ref["kind"] == "zip":
        if not ref["ok"]:
            return ""  # torch refuses: nothing it reads
        if not ck.get("ok"):
            return ""  # ckpt refuses
        for n, d in ref["records"].items():
            c = ck["lookups"].get(n)
            if d == "error" or c == "error":
                continue  # one side cannot read that record
            if d != c:
                return "record %r: torch %s, ckpt %s" % (n, d, c)
        return ""
    if ref["kind"] == "stream":
        if ck["probe"] == "not" or ck["walk"] in ("read_error", "error"):
            return ""
        return "torch abandons the tar (%s) but ckpt reads it as a tar" % ref["error"]
    if ref["kind"] == "tar":
        if not ref["ok"]:
            return ""
        if ck["probe"] == "not" or ck["walk"] == "read_error":
            return "torch reads a tar but ckpt %s" % (
                "does not take it for one" if ck["probe"] == "not" else
                "abandons it: " + ck["error"])
        if ck["walk"] == "error":
            return ""  # ckpt refuses this tar
        for n in TAR_NAMES:
            d, c = ref["members"].get(n), ck["members"].get(n)
            if c in ("dup", "nodata"):
                continue  # ckpt refuses that member
            if d != c:
                return "member %r: torch %s, ckpt %s" % (n, d, c)
        return ""
    return ""


def main():
    if "--worker" in sys.argv:
        return worker()
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("paths", nargs="*")
    a = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError as e:
        print("container_differential: cannot import torch (%s)." % e)
        print("Install it with:  apt-get install -y python3-torch")
        return 1
    import container_cases
    gen = os.path.join(a.workdir, "generated")
    os.makedirs(gen, exist_ok=True)
    files = []
    for name, data, _ in container_cases.cases():
        p = os.path.join(gen, name + ".pt")
        with open(p, "wb") as f:
            f.write(data)
        files.append(p)
    for root in a.paths:
        for dp, _, fns in os.walk(root):
            for fn in sorted(fns):
                if fn.endswith((".tsv", ".md", ".txt", ".json")):
                    continue
                files.append(os.path.join(dp, fn))
    files = sorted(set(files))
    ref = reference(files)
    reqs = []
    for p in files:
        r = ref[p]
        if r["kind"] == "zip" and r["ok"]:
            names = [n for n in r["records"]]
        else:
            names = list(ZIP_NAMES)
        reqs.append(("zip\t%s\t%s" % (p, "\t".join(names))) if r["kind"] == "zip"
                    else "tar\t%s" % p)
    proc = subprocess.run([a.tool], input="\n".join(reqs) + "\n", capture_output=True,
                          text=True, check=False)
    answers = proc.stdout.splitlines()
    if proc.returncode != 0 or len(answers) != len(files):
        print("container_tool failed (exit %d, %d of %d answers)\n%s" % (
            proc.returncode, len(answers), len(files), proc.stderr[-2000:]))
        return 1
    counts = {}
    bad = []
    for p, line in zip(files, answers):
        ck = json.loads(line)
        r = ref[p]
        why = compare(p, r, ck)
        key = "%s/%s" % (r["kind"], "ok" if r["ok"] else "refused")
        if r["kind"] == "zip":
            key += "/ckpt-%s" % ("reads" if ck.get("ok") else "refuses")
        if r["kind"] == "tar" and r["ok"]:
            key += "/ckpt-%s" % ck["walk"]
        counts[key] = counts.get(key, 0) + 1
        if why:
            bad.append((p, why))
    print("container differential: %d files" % len(files))
    for k in sorted(counts):
        print("  %-40s %6d" % (k, counts[k]))
    gen_ok = sum(1 for p in files if p.startswith(gen))
    print("  (%d generated tricky archives)" % gen_ok)
    for p, why in bad[:40]:
        print("DISAGREE %s: %s" % (os.path.relpath(p), why))
    print("%d disagreements" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
