"""List, as torch's own archive reader sees them, the tensors of a TorchScript
archive (lite or not): those of data.pkl (storages in data/<key>) and those of
the constants table constants.pkl (storages in constants/<key>, keys prefixed
"constants."), in ckpt_obj_walk_tensors order (pre-order; an object is entered
through its BUILD state without a key of its own).

    /usr/bin/python3 tests/interop/lite_listing.py FILE     # JSON array on stdout
    /usr/bin/python3 tests/interop/lite_listing.py --check CKPT FILE
        compare with `ckpt ls --json FILE` (key, dtype, shape); exit 1 on a difference
    /usr/bin/python3 tests/interop/lite_listing.py --check-dir CKPT DIR
        --check for every file of DIR; exit 77 (CTest: skipped) when DIR is absent
    /usr/bin/python3 tests/interop/lite_listing.py --expect CKPT FILE LISTING
        compare `ckpt ls --json FILE` with a committed listing (no torch needed)

Records are read with torch._C.PyTorchFileReader (torch's zip reader); tensors
are rebuilt by torch._utils; TorchScript classes (__torch__.*) become inert
stand-ins that keep their state, so nothing from the file runs.
"""
import io
import json
import os
import pickle
import subprocess
import sys

torch = None  # imported when a listing is made, so --expect runs without torch


class Obj:  # noqa: E302
    """Stand-in for a TorchScript class: keeps the BUILD state."""

    def __init__(self, *a, **k):
        self._state = None

    def __setstate__(self, state):
        self._state = state


def _unpickler(reader, data, dirname, prefix):
    class U(pickle.Unpickler):
        def find_class(self, module, name):
            if module.startswith("__torch__"):
                return type(name, (Obj,), {})
            if module.split(".")[0] in ("torch", "collections") or (
                    module == "builtins" and name in ("set", "dict", "list", "tuple")):
                return super().find_class(module, name)
            return type(name, (Obj,), {})

        def persistent_load(self, pid):
            _, cls, key, _loc, numel = pid[:5]
            dtype = cls(0).dtype
            raw = reader.get_record(prefix + dirname + key)
            st = torch.UntypedStorage.from_buffer(raw, dtype=torch.uint8) if len(raw) else \
                torch.UntypedStorage(0)
            return torch.storage.TypedStorage(wrap_storage=st, dtype=dtype)

    return U(io.BytesIO(data))


def _walk(o, path, out):
    def join(k):
        return k if not path else path + "." + k
    if isinstance(o, torch.Tensor):
        out.append({"key": path, "dtype": str(o.dtype)[6:], "shape": list(o.shape)})
    elif isinstance(o, dict):
        for k, v in o.items():
            _walk(v, join(k if isinstance(k, str) else repr(k) if not isinstance(k, int)
                          else str(k)), out)
    elif isinstance(o, (list, tuple)) and not isinstance(o, torch.Size):
        for i, v in enumerate(o):
            _walk(v, join(str(i)), out)
    elif isinstance(o, Obj):
        _walk(o._state, path, out)


def listing(path):
    global torch
    import torch as _torch
    torch = _torch
    reader = torch._C.PyTorchFileReader(path)
    records = reader.get_all_records()
    out = []
    for pkl, dirname, key in (("data.pkl", "data/", ""), ("constants.pkl", "constants/",
                                                          "constants")):
        if pkl not in records:
            continue
        obj = _unpickler(reader, reader.get_record(pkl), dirname, "").load()
        _walk(obj, key, out)
    return out


def dumps(lst):
    return json.dumps(lst, indent=1) + "\n"


def ckpt_ls(ckpt, path):
    r = subprocess.run([ckpt, "ls", "--json", "--raw", path], stdout=subprocess.PIPE)
    if r.returncode != 0:
        return None
    # "path" is the raw walker path where ckpt renamed a packed quantized parameter
    return [{"key": g.get("path", g["key"]), "dtype": g["dtype"], "shape": g["shape"]}
            for g in json.loads(r.stdout)]


def main(argv):
    if len(argv) == 4 and argv[1] == "--check-dir":
        if not os.path.isdir(argv[3]):
            print("SKIPPED: fixtures_real_torchscript_lite_listing: %s is absent "
                  "(the real-file corpus lives in ../shared)" % argv[3])
            return 77
        bad = 0
        for f in sorted(os.listdir(argv[3])):
            bad += main([argv[0], "--check", argv[2], os.path.join(argv[3], f)]) != 0
        return 1 if bad else 0
    if len(argv) == 5 and argv[1] == "--expect":
        want = json.load(open(argv[4]))
        got = ckpt_ls(argv[2], argv[3])
        if want != got:
            print("%s: ckpt ls differs from %s:\n  want %s\n  got  %s" % (argv[3], argv[4], want,
                                                                          got))
            return 1
        print("%s: %d tensors, as listed by torch" % (os.path.basename(argv[3]), len(want)))
        return 0
    if len(argv) == 4 and argv[1] == "--check":
        want = listing(argv[3])
        got = ckpt_ls(argv[2], argv[3])
        if want != got:
            got = got or []
            print("%s: torch lists %d tensors, ckpt %d" % (argv[3], len(want), len(got)))
            for i in range(max(len(want), len(got))):
                w = want[i] if i < len(want) else None
                g = got[i] if i < len(got) else None
                if w != g:
                    print("  first difference at %d:\n    torch: %s\n    ckpt:  %s" % (i, w, g))
                    break
            return 1
        print("%s: %d tensors, same as torch" % (os.path.basename(argv[3]), len(want)))
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(dumps(listing(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
