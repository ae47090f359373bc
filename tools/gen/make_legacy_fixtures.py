"""Write tests/fixtures/legacy/*: pre-zip torch files, built from the spec
(docs: ../shared/spec/pytorch-formats.md sections 3.1-3.3) with Python's
pickle and tarfile, with fixed storage keys so the output is deterministic.

    /usr/bin/python3 tools/gen/make_legacy_fixtures.py [OUTDIR]

torch.save can no longer write storage views (view_metadata), the tar
format, Python-2 byte strings or a big-endian sys_info; these files carry
them.  torch 1.13 loads every one of them (the interop tier checks that
ckpt's result equals torch's, tests/interop/legacy_differential.py).

Files:
  stream_views.pt       legacy stream, storages with old (view_key, offset, size) views
  stream_bytestrings.pt protocol 2 with SHORT_BINSTRING/BINSTRING strings (Python 2 era)
  stream_bigendian.pt   sys_info little_endian=False (data little-endian, as torch writes)
  stream_proto1.pt      protocol 1 (text LONG magic), stream_proto4.pt / _proto5.pt (FRAME)
  stream_module.pt      a whole nn.Linear: ('module', cls, file, source) persistent id
  tar_basic.pt          tar: storages (with a view), tensors, pickle; a shared tensor
  tar_module.pt         tar: a container class persistent id (cls, file, source)
"""

import collections
import io
import os
import pickle
import pickletools
import struct
import sys
import tarfile

import torch

MAGIC = 0x1950A86A20F9469CFC6C
# a plain dict, as torch's _legacy_save writes it
SYS_INFO = {"protocol_version": 1001, "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 4}}


class St:
    """A storage in a hand-written legacy stream: pickled as its persistent id."""

    def __init__(self, cls, key, data, view=None):
        self.cls, self.key, self.data, self.view = cls, key, data, view

    @property
    def numel(self):
        return len(self.data) // torch._utils._element_size(self.cls.dtype)


class T:
    """A tensor: _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())."""

    def __init__(self, st, off, size, stride):
        self.st, self.off, self.size, self.stride = st, off, tuple(size), tuple(stride)

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.st, self.off, self.size, self.stride, False, collections.OrderedDict()))


class StreamPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, torch.storage.TypedStorage):  # a real tensor's storage
            st = self.real[obj.data_ptr()]
            return ("storage", st.cls, st.key, "cpu", st.numel, None)
        if isinstance(obj, St):
            return ("storage", obj.cls, obj.key, "cpu", obj.numel, obj.view)
        if isinstance(obj, type) and obj in self.modules:
            self.modules.discard(obj)  # first time only, as torch does
            return ("module", obj, None, None)
        return None


def dumps(obj, proto, pickler=pickle.Pickler, modules=(), real=None):
    b = io.BytesIO()
    p = pickler(b, protocol=proto)
    if pickler is not pickle.Pickler:
        p.modules = set(modules)
        p.real = real or {}
    p.dump(obj)
    return b.getvalue()


def stream(obj, roots, proto=2, sys_info=SYS_INFO, modules=(), rewrite=None, real=None):
    """A legacy stream; `roots` are the St objects in key-list order; `real` maps the
    data_ptr of a real tensor's storage to its St."""
    obj_pickle = dumps(obj, proto, StreamPickler, modules, real)
    if rewrite:
        obj_pickle = rewrite(obj_pickle)
    out = [dumps(MAGIC, proto), dumps(1001, proto), dumps(sys_info, proto), obj_pickle,
           dumps(sorted(r.key for r in roots), proto)]
    for r in sorted(roots, key=lambda r: r.key):
        out.append(struct.pack("<q", r.numel) + r.data)
    return b"".join(out)


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def i64(*v):
    return struct.pack("<%dq" % len(v), *v)


def to_binstrings(data):
    """Re-encode every BINUNICODE/SHORT_BINUNICODE as SHORT_BINSTRING/BINSTRING (Python 2)."""
    out = []
    ops = list(pickletools.genops(data))
    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(data)
        if op.name in ("BINUNICODE", "SHORT_BINUNICODE"):
            b = arg.encode("utf-8")
            out.append(b"U" + bytes([len(b)]) + b if len(b) < 256
                       else b"T" + struct.pack("<i", len(b)) + b)
        else:
            out.append(data[pos:end])
    return b"".join(out)


def stream_views():
    root = St(torch.FloatStorage, "root", f32(0, 1, 2, 3, 4, 5))
    other = St(torch.LongStorage, "other", i64(7, -8, 9))
    v1 = St(torch.FloatStorage, "root", root.data, ("v1", 2, 3))
    v2 = St(torch.FloatStorage, "root", root.data, ("v2", 0, 2))
    obj = collections.OrderedDict([
        ("whole", T(root, 0, (2, 3), (3, 1))),
        ("v1", T(v1, 0, (3,), (1,))),
        ("v1_tail", T(v1, 1, (2,), (1,))),
        ("v2", T(v2, 0, (2,), (1,))),
        ("other", T(other, 1, (2,), (1,))),
    ])
    return stream(obj, [root, other])


def state_dict_obj():
    a = St(torch.FloatStorage, "0", f32(1.5, -2.25, 3.0, 0.125))
    b = St(torch.LongStorage, "1", i64(1, 2, 3))
    obj = collections.OrderedDict([("weight", T(a, 0, (2, 2), (2, 1))),
                                   ("index", T(b, 0, (3,), (1,))),
                                   ("name", "caf\u00e9 " + "x" * 300), ("n", 3)])
    return obj, [a, b]


def tar_member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


class Key:
    def __init__(self, k):
        self.k = k


class TarPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Key):
            return str(obj.k)
        if isinstance(obj, type) and obj in self.modules:
            self.modules.discard(obj)
            return (obj, None, None)
        return None


def tar_file(storages, views, tensors, obj, modules=()):
    """storages: [(key, cls, data)], views: [(target, root, off, numel)],
    tensors: [(key, storage_key, size, stride, offset)]."""
    st = [dumps(len(storages), 2)]
    for key, cls, data in storages:
        st.append(dumps((key, "cpu", cls), 2))
        st.append(struct.pack("<q", len(data) // torch._utils._element_size(cls.dtype)) + data)
    st.append(dumps(views, 2))
    te = [dumps(len(tensors), 2)]
    for key, skey, size, stride, off in tensors:
        te.append(dumps((key, skey, torch.FloatTensor), 2))
        te.append(struct.pack("<i", len(size)) + b"\0\0\0\0" +
                  struct.pack("<%dq" % len(size), *size) +
                  struct.pack("<%dq" % len(stride), *stride) + struct.pack("<q", off))
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar_member(tar, "sys_info", dumps(dict(SYS_INFO), 2))
        tar_member(tar, "storages", b"".join(st))
        tar_member(tar, "tensors", b"".join(te))
        tar_member(tar, "pickle", dumps(obj, 2, TarPickler, modules))
    return b.getvalue()


def tar_basic():
    storages = [(101, torch.FloatStorage, f32(1, 2, 3, 4, 5, 6)),
                (102, torch.LongStorage, i64(-1, 0, 1 << 40))]
    views = [(103, 101, 2, 3)]
    tensors = [(201, 101, (2, 3), (3, 1), 0), (202, 103, (3,), (1,), 0),
               (203, 102, (2,), (1,), 1), (204, 101, (3,), (2,), 1)]
    shared = Key(201)
    obj = {"a": shared, "view": Key(202), "long_tail": Key(203), "strided": Key(204),
           "again": shared, "meta": ["x", 1, 2.5]}
    return tar_file(storages, views, tensors, obj)


def tar_module():
    storages = [(101, torch.FloatStorage, f32(1, 2))]
    tensors = [(201, 101, (2,), (1,), 0)]
    obj = {"cls": collections.OrderedDict, "t": Key(201)}
    return tar_file(storages, [], tensors, obj, modules=(collections.OrderedDict,))


def stream_module():
    """torch.save(nn.Linear(2, 2)) as torch writes it, with fixed storage keys."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(2, 2)
    real = {}
    for key, p in (("w", lin.weight), ("b", lin.bias)):
        real[p.data_ptr()] = St(torch.FloatStorage, key, p.detach().numpy().tobytes())
    return stream(lin, list(real.values()), modules=(torch.nn.Linear,), real=real)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "legacy")
    os.makedirs(out, exist_ok=True)
    files = {"stream_views.pt": stream_views()}
    obj, roots = state_dict_obj()
    files["stream_bytestrings.pt"] = stream(obj, roots, rewrite=to_binstrings)
    si = dict(SYS_INFO)
    si["little_endian"] = False
    obj, roots = state_dict_obj()
    files["stream_bigendian.pt"] = stream(obj, roots, sys_info=si)
    for proto in (1, 4, 5):
        obj, roots = state_dict_obj()
        files["stream_proto%d.pt" % proto] = stream(obj, roots, proto=proto)
    files["stream_module.pt"] = stream_module()
    files["tar_basic.pt"] = tar_basic()
    files["tar_module.pt"] = tar_module()
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%-24s %6d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
