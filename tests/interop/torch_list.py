"""Print, as torch sees it, the tensor listing of a torch.save file.

    /usr/bin/python3 tests/interop/torch_list.py FILE

Output: a JSON array, one object per tensor, in the order and with the key
paths of ckpt_obj_walk_tensors (include/ckpt/core.h): pre-order, dict insertion
order, list/tuple order; key path = container keys joined with '.', where a
str key is used as is, an int key or index in decimal, True/False/None as
Python spells them, a float as repr, a tuple as repr.  An object that is not
a container is entered through its __dict__ (its BUILD state), attribute names
being the keys.  Fields: key, dtype (torch name without "torch."), shape,
stride, storage_offset, nbytes (numel x element size), device (the storage's
saved location tag: the file is loaded onto the CPU, but a storage saved from
"cuda:0" is reported as "cuda:0", as torch on a GPU host would).

Files are loaded as torch.load(weights_only=False) does, but through an unpickler whose
find_class resolves only torch, collections and a few harmless builtins; any
other global (a user's __main__ class, anything from os, ...) becomes an inert
stub class, so nothing from the file is executed.
"""

import collections
import io
import json
import pickle
import sys
import types

import torch

_SAFE_MODULE_PREFIXES = ("torch", "collections", "numpy")
_SAFE_BUILTINS = {"set", "frozenset", "bytearray", "bytes", "complex", "slice", "object",
                  "list", "dict", "tuple", "int", "float", "str", "bool", "range"}


class Stub:
    """Stand-in for a class that must not be imported; records state only."""
    __slots__ = ("__dict__", "_stub_args", "_stub_items")

    def __init__(self, *args, **kwargs):
        object.__setattr__(self, "_stub_args", args)

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def append(self, x):
        self._items().append(x)

    def extend(self, xs):
        self._items().extend(xs)

    def __setitem__(self, k, v):
        self._items().append((k, v))

    def _items(self):
        try:
            return object.__getattribute__(self, "_stub_items")
        except AttributeError:
            items = []
            object.__setattr__(self, "_stub_items", items)
            return items


_stubs = {}


def _stub_class(module, name):
    key = (module, name)
    if key not in _stubs:
        _stubs[key] = type(name.split(".")[-1], (Stub,), {"__module__": "stub." + module,
                                                          "__slots__": ()})
    return _stubs[key]


class InertUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module in ("builtins", "__builtin__"):
            if name in _SAFE_BUILTINS:
                return super().find_class(module, name)
            return _stub_class(module, name)
        if module in ("_codecs",) and name == "encode":
            return super().find_class(module, name)
        if module in ("copyreg", "copy_reg") and name == "_reconstructor":
            return super().find_class(module, name)
        if module.split(".")[0] in _SAFE_MODULE_PREFIXES:
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                return _stub_class(module, name)
        return _stub_class(module, name)


inert_pickle = types.ModuleType("inert_pickle")
inert_pickle.Unpickler = InertUnpickler
inert_pickle.load = lambda f, **kw: InertUnpickler(f, **kw).load()
inert_pickle.__name__ = "inert_pickle"


def _dtname(dt):
    s = str(dt)
    return s[6:] if s.startswith("torch.") else s


def key_text(k):
    if isinstance(k, str):
        return k
    if k is None or isinstance(k, bool):
        return repr(k)
    if isinstance(k, int):
        return str(k)
    return repr(k)


def _join(path, k):
    return k if not path else path + "." + k


def walk(obj, locations):
    out = []
    seen_depth = [0]

    def rec(o, path):
        seen_depth[0] += 1
        if seen_depth[0] > 1000:
            raise RecursionError("nesting deeper than 1000")
        try:
            if isinstance(o, torch.Tensor):
                out.append(entry(path, o, locations))
            elif isinstance(o, dict):
                for k, v in o.items():
                    rec(v, _join(path, key_text(k)))
            elif isinstance(o, (list, tuple)) and not isinstance(o, torch.Size):
                for i, v in enumerate(o):
                    rec(v, _join(path, str(i)))
            elif isinstance(o, (set, frozenset)):
                for i, v in enumerate(o):
                    rec(v, _join(path, str(i)))
            elif isinstance(o, (str, bytes, bytearray, int, float, complex, type(None),
                                torch.dtype, torch.device, torch.Size)):
                pass
            else:
                d = getattr(o, "__dict__", None)
                if isinstance(d, dict):
                    for k, v in d.items():
                        rec(v, _join(path, key_text(k)))
        finally:
            seen_depth[0] -= 1

    rec(obj, "")
    return out


def entry(path, t, locations):
    device = str(t.device)
    if t.device.type == "cpu":
        try:
            device = locations.get(t.storage()._storage._cdata, device)
        except (RuntimeError, NotImplementedError, AttributeError):
            pass
    return {
        "key": path,
        "dtype": _dtname(t.dtype),
        "shape": [int(x) for x in t.shape],
        "stride": [int(x) for x in t.stride()],
        "storage_offset": int(t.storage_offset()),
        "nbytes": int(t.numel() * t.element_size()),
        "device": device,
    }


def load(path):
    """torch.load onto the CPU; returns (object, {storage cdata: location tag})."""
    locations = {}
    keep = []

    def map_location(storage, location):
        keep.append(storage)
        locations[storage._cdata] = location
        return storage

    # torch.load (Debian 1.13) replaces pickle_module by pickle whenever
    # weights_only is False, so call its loaders directly.
    ser = torch.serialization
    with ser._open_file_like(path, "rb") as f:
        if ser._is_zipfile(f):
            with ser._open_zipfile_reader(f) as zf:
                obj = ser._load(zf, map_location, inert_pickle, encoding="utf-8")
        else:
            obj = ser._legacy_load(f, map_location, inert_pickle, encoding="utf-8")
    return obj, locations, keep


def listing(path):
    obj, locations, keep = load(path)
    return walk(obj, locations)


def main(argv):
    if len(argv) != 2:
        print("usage: torch_list.py FILE", file=sys.stderr)
        return 2
    json.dump(listing(argv[1]), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
