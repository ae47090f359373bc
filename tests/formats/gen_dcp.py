#!/usr/bin/python3
"""tests/formats/gen_dcp.py - torch.distributed.checkpoint (DCP) fixtures and
reader, built with Debian's torch 1.13 FOLLOWING torch 2.5's source (torch 1.13's
own DCP does not import on Python 3.11, so it cannot be the oracle).

Every step cites the torch 2.5 file and function it follows
(torch/distributed/checkpoint/...).  The dataclasses are look-alikes
registered under torch's module names in THIS process only (fake modules in
sys.modules), so pickle writes and reads the same class paths as torch 2.x.

  gen_dcp.py make OUT        write fixture folders OUT/<case>/ and OUT/<case>.expect.pt
                             (and the hostile ones)
  gen_dcp.py check DIR EXP   read the DCP folder DIR as FileSystemReader.read_data
                             does and compare with torch.load(EXP) (flattened)
  gen_dcp.py hostile OUT     write hostile folders OUT/hostile_*/
"""
import copyreg
import dataclasses
import enum
import io
import os
import pathlib
import pickle
import sys
import types
import uuid
from dataclasses import dataclass, field
from typing import Any, List, Optional

try:
    import torch
except ImportError:  # no Debian python3-torch: the tests that need it are skipped
    print("SKIPPED: gen_dcp.py needs torch (python3-torch)")
    sys.exit(77)

MD = "torch.distributed.checkpoint.metadata"
FS = "torch.distributed.checkpoint.filesystem"


def _fake_module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m


_md = _fake_module(MD)
_fs = _fake_module(FS)


def _register(mod, cls):
    cls.__module__ = mod.__name__
    cls.__qualname__ = cls.__name__
    setattr(mod, cls.__name__, cls)
    return cls


# torch 2.x's torch/serialization.py: copyreg.pickle(torch.layout,
# lambda obj: (_get_layout, (str(obj),))) (torch 1.13 cannot pickle a layout)
def _get_layout(name):
    for v in torch.__dict__.values():
        if isinstance(v, torch.layout) and str(v) == name:
            return v
    raise KeyError(name)


_get_layout.__module__ = "torch.serialization"
_get_layout.__qualname__ = "_get_layout"
torch.serialization._get_layout = _get_layout
copyreg.pickle(torch.layout, lambda obj: (torch.serialization._get_layout, (str(obj),)))


# --- metadata.py (torch 2.5) -------------------------------------------------
@dataclass
class ChunkStorageMetadata:
    offsets: torch.Size
    sizes: torch.Size


class _MEM_FORMAT_ENCODING(enum.Enum):
    TORCH_CONTIGUOUS_FORMAT = 0
    TORCH_CHANNELS_LAST = 1
    TORCH_PRESERVE_FORMAT = 2


@dataclass
class TensorProperties:
    dtype: torch.dtype = field(default_factory=torch.get_default_dtype)
    layout: torch.layout = field(default=torch.strided)
    requires_grad: bool = False
    memory_format: torch.memory_format = field(default=torch.contiguous_format)
    pin_memory: bool = False

    # metadata.py TensorProperties.__getstate__: memory_format is not picklable
    def __getstate__(self):
        enc = {torch.contiguous_format: _MEM_FORMAT_ENCODING.TORCH_CONTIGUOUS_FORMAT,
               torch.channels_last: _MEM_FORMAT_ENCODING.TORCH_CHANNELS_LAST,
               torch.preserve_format: _MEM_FORMAT_ENCODING.TORCH_PRESERVE_FORMAT}[
                   self.memory_format]
        return (self.dtype, self.layout, self.requires_grad, enc, self.pin_memory)

    def __setstate__(self, state):
        self.dtype, self.layout, self.requires_grad, enc, self.pin_memory = state
        self.memory_format = {
            _MEM_FORMAT_ENCODING.TORCH_CONTIGUOUS_FORMAT: torch.contiguous_format,
            _MEM_FORMAT_ENCODING.TORCH_CHANNELS_LAST: torch.channels_last,
            _MEM_FORMAT_ENCODING.TORCH_PRESERVE_FORMAT: torch.preserve_format}[enc]

    # metadata.py TensorProperties.create_from_tensor
    @staticmethod
    def create_from_tensor(t):
        return TensorProperties(dtype=t.dtype, layout=t.layout, requires_grad=t.requires_grad,
                                memory_format=torch.contiguous_format, pin_memory=False)


@dataclass
class TensorStorageMetadata:
    properties: TensorProperties
    size: torch.Size
    chunks: List[ChunkStorageMetadata]


@dataclass
class BytesStorageMetadata:
    pass


@dataclass
class StorageMeta:
    checkpoint_id: Any = None
    save_id: Optional[str] = None
    load_id: Optional[str] = None
    modules: List[str] = field(default_factory=list)


@dataclass
class Metadata:
    state_dict_metadata: dict
    planner_data: Any = None
    storage_data: Any = None
    storage_meta: Optional[StorageMeta] = None


@dataclass(frozen=True)
class MetadataIndex:
    fqn: str
    offset: Optional[torch.Size] = None
    index: Optional[int] = field(hash=False, compare=False, default=None)

    # metadata.py MetadataIndex.__init__: sets fqn, index, then offset
    def __init__(self, fqn, offset=None, index=None):
        object.__setattr__(self, "fqn", fqn)
        object.__setattr__(self, "index", index)
        if offset is not None:
            object.__setattr__(self, "offset", torch.Size(offset))


for _c in (ChunkStorageMetadata, _MEM_FORMAT_ENCODING, TensorProperties, TensorStorageMetadata,
           BytesStorageMetadata, StorageMeta, Metadata, MetadataIndex):
    _register(_md, _c)


# --- filesystem.py (torch 2.5) -------------------------------------------------
@dataclass
class _StorageInfo:
    relative_path: str
    offset: int
    length: int


_register(_fs, _StorageInfo)


# --- _traverse.py / _nested_dict.py: flatten_state_dict -------------------------
def _is_terminal(value):
    # _traverse.traverse_state_dict._is_terminal
    if isinstance(value, dict):
        return False
    if not isinstance(value, list):
        return True
    for entry in value:
        if isinstance(entry, (dict, list)) and not _is_terminal(entry):
            return False
        if isinstance(entry, torch.Tensor):
            return False
    return True


def flatten_state_dict(sd):
    """_nested_dict.flatten_state_dict: fqn = ".".join(map(str, path))."""
    flat, mappings = {}, {}

    def visit(path, value):
        fqn = ".".join(map(str, path))
        assert fqn not in flat, fqn
        flat[fqn] = value
        mappings[fqn] = path

    def walk(path, value):  # _traverse.traverse_state_dict._traverse_obj
        if isinstance(value, dict):
            for k, v in value.items():
                walk(path + (str(k),), v)
        elif _is_terminal(value):
            visit(path, value)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(path + (i,), v)

    for k, v in sd.items():
        walk((str(k),), v)
    return flat, mappings


# --- writing: a "rank" saves its chunks ------------------------------------------
class WriteItem:
    def __init__(self, fqn, obj, global_size=None, offsets=None):
        self.fqn, self.obj = fqn, obj
        self.is_bytes = not isinstance(obj, torch.Tensor)
        if not self.is_bytes:
            self.global_size = torch.Size(global_size if global_size is not None else obj.shape)
            self.offsets = torch.Size(offsets if offsets is not None else [0] * obj.dim())


def write_rank(folder, rank, items):
    """filesystem.py _FileSystemWriter.write_data + _write_files_from_queue:
    one file "__<rank>_0.distcp" (prepare_global_plan's _StoragePrefix
    f"__{i}_" + file_count 0 + DEFAULT_SUFFIX), bytes items first, then tensors;
    _write_item: offset = stream.tell(); BYTE_IO writes the torch.save bytes,
    tensors are torch.save(tensor, stream); length = tell() - offset."""
    name = f"__{rank}_0.distcp"
    results = []
    with open(os.path.join(folder, name), "wb") as f:
        for it in [i for i in items if i.is_bytes] + [i for i in items if not i.is_bytes]:
            off = f.tell()
            if it.is_bytes:
                # default_planner.DefaultSavePlanner.transform_object: torch.save into BytesIO
                b = io.BytesIO()
                torch.save(it.obj, b)
                f.write(b.getbuffer())
            else:
                # _SerialCpuLoader.values: detach, clone when the storage is larger
                t = it.obj.detach()
                if t.storage().size() != t.numel():
                    t = t.clone()
                torch.save(t, f)
            results.append((it, _StorageInfo(name, off, f.tell() - off)))
        f.flush()
        os.fsync(f.fileno())
    return results


def write_metadata(folder, rank_items, rank_results, mappings):
    """default_planner.create_default_global_save_plan: md in plan order, chunks
    appended, index hints rewritten to the chunk's position; DefaultSavePlanner
    .create_global_plan: planner_data = merged flatten mappings; filesystem.py
    _FileSystemWriter.finish: storage_data = {write_item.index: _StorageInfo},
    storage_meta = StorageMeta(checkpoint_id=path, save_id=uuid), pickle.dump."""
    md = {}
    hints = {}
    for items in rank_items:
        for it in items:
            if it.is_bytes:
                assert it.fqn not in md
                md[it.fqn] = BytesStorageMetadata()
                continue
            # planner_helpers._create_write_item_for_tensor: TensorProperties.create_from_tensor
            tmd = md.setdefault(it.fqn, TensorStorageMetadata(
                properties=TensorProperties.create_from_tensor(it.obj),
                size=it.global_size, chunks=[]))
            hints[id(it)] = len(tmd.chunks)
            tmd.chunks.append(ChunkStorageMetadata(offsets=it.offsets,
                                                   sizes=torch.Size(it.obj.shape)))
    storage = {}
    for results in rank_results:
        for it, info in results:
            if it.is_bytes:
                key = MetadataIndex(it.fqn)  # _create_write_item_for_bytesio
            else:
                key = MetadataIndex(it.fqn, it.offsets, hints[id(it)])
            storage[key] = info
    meta = Metadata(state_dict_metadata=md, planner_data=mappings, storage_data=storage,
                    storage_meta=StorageMeta(checkpoint_id=pathlib.Path(os.path.basename(folder)),
                                             save_id=str(uuid.uuid4())))
    tmp = os.path.join(folder, ".metadata.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(meta, f)  # default protocol (4 on Python 3.8-3.13)
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(folder, ".metadata"))


def save_case(out, name, sd, shards):
    """sd: the full nested state dict (the expectation); shards: per rank a list
    of (fqn, chunk tensor or value, global_size, offsets)."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    flat, mappings = flatten_state_dict(sd)
    rank_items = [[WriteItem(*s) for s in rank] for rank in shards]
    rank_results = [write_rank(folder, r, items) for r, items in enumerate(rank_items)]
    write_metadata(folder, rank_items, rank_results, mappings)
    torch.save(flat, os.path.join(out, name + ".expect.pt"), _use_new_zipfile_serialization=True)


def make(out):
    torch.manual_seed(13)
    os.makedirs(out, exist_ok=True)
    # one rank: nested dicts, a list of tensors, several dtypes, a 0-d tensor, bytes items
    sd = {
        "model": {"layer": {"weight": torch.randn(4, 6), "bias": torch.arange(5)}},
        "half": torch.randn(3, 2).half(),
        "bf": torch.randn(7).bfloat16(),
        "flags": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        # transposed: its storage is its numel, so _SerialCpuLoader saves it strided
        "tr": torch.randn(3, 4).t(),
        "lst": [torch.ones(2), torch.zeros(1, dtype=torch.int32)],
        "step": 7,
        "cfg": {"lr": 0.5, "name": "adam"},
    }
    flat, _ = flatten_state_dict(sd)
    save_case(out, "single", sd, [[(k, v) for k, v in flat.items()]])

    # 2 ranks, rows: emb (9, 3) rows 0-4 on rank 0 and 5-8 on rank 1; bias
    # replicated but written once (dedup_save_plans keeps one copy); epoch bytes
    emb = torch.randn(9, 3)
    bias = torch.randn(3)
    sd = {"emb": emb, "bias": bias, "epoch": 3}
    save_case(out, "rows2", sd, [
        [("emb", emb[0:5], emb.shape, (0, 0)), ("bias", bias), ("epoch", 3)],
        [("emb", emb[5:9], emb.shape, (5, 0))],
    ])

    # 4 ranks, 2-D blocks: mat (6, 8) float64 in 2x2 blocks of uneven size;
    # vec (10,) int64 split 3/3/3/1
    mat = torch.randn(6, 8, dtype=torch.float64)
    vec = torch.arange(10) * 7 - 20
    blocks = [(0, 0, 4, 3), (0, 3, 4, 5), (4, 0, 2, 3), (4, 3, 2, 5)]
    shards = []
    for r, (r0, c0, nr, nc) in enumerate(blocks):
        shards.append([("mat", mat[r0:r0 + nr, c0:c0 + nc], mat.shape, (r0, c0)),
                       ("vec", vec[3 * r:min(10, 3 * r + 3)], vec.shape, (3 * r,))])
    save_case(out, "block4", {"mat": mat, "vec": vec}, shards)


# --- reading ---------------------------------------------------------------------
def read_folder(folder):
    """filesystem.py FileSystemReader.read_metadata (pickle.load) + read_data
    (items located by storage_data offset/length; tensors torch.load'ed from the
    slice, weights_only=True; bytes torch.load'ed) + narrow/copy per chunk."""
    with open(os.path.join(folder, ".metadata"), "rb") as f:
        meta = pickle.load(f)
    assert type(meta) is Metadata, type(meta)
    assert isinstance(meta.storage_meta, StorageMeta)
    out = {}
    for fqn, md in meta.state_dict_metadata.items():
        if isinstance(md, BytesStorageMetadata):
            continue
        assert type(md) is TensorStorageMetadata and type(md.properties) is TensorProperties
        assert type(md.size) is torch.Size
        assert md.properties.memory_format == torch.contiguous_format
        assert md.properties.layout == torch.strided
        out[fqn] = torch.full(md.size, 0, dtype=md.properties.dtype)
        if md.properties.requires_grad:
            out[fqn].requires_grad_(True)
        assert meta.planner_data[fqn][-1] is not None
    seen = set()
    for idx, info in meta.storage_data.items():
        assert type(idx) is MetadataIndex and type(info) is _StorageInfo
        with open(os.path.join(folder, info.relative_path), "rb") as f:
            f.seek(info.offset)
            data = f.read(info.length)
        assert len(data) == info.length
        md = meta.state_dict_metadata[idx.fqn]
        if isinstance(md, BytesStorageMetadata):
            out[idx.fqn] = torch.load(io.BytesIO(data), weights_only=False)
            continue
        t = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        chunk = md.chunks[idx.index]  # the rewritten index hint must point at its chunk
        assert chunk.offsets == idx.offset, (chunk, idx)
        assert tuple(t.shape) == tuple(chunk.sizes) and t.dtype == md.properties.dtype
        view = out[idx.fqn].detach()
        for d, (o, s) in enumerate(zip(chunk.offsets, chunk.sizes)):
            view = view.narrow(d, o, s)
        view.copy_(t)
        seen.add((idx.fqn, tuple(chunk.offsets)))
    for fqn, md in meta.state_dict_metadata.items():
        if isinstance(md, TensorStorageMetadata):
            for c in md.chunks:
                assert (fqn, tuple(c.offsets)) in seen, (fqn, c)
    return out, meta


def same(a, b):
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and a.requires_grad == b.requires_grad and torch.equal(a.detach(), b.detach()))
    if isinstance(a, dict):
        return (isinstance(b, dict) and list(a) == list(b)
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def check(folder, expect):
    got, meta = read_folder(folder)
    exp, _ = flatten_state_dict(torch.load(expect))
    if set(got) != set(exp):
        print("keys differ:", sorted(got), sorted(exp))
        return 1
    bad = [k for k in exp if not same(exp[k], got[k])]
    if bad:
        for k in bad:
            print("differs:", k, exp[k], got[k])
        return 1
    if list(meta.state_dict_metadata) != list(exp):
        print("state_dict_metadata order", list(meta.state_dict_metadata), "!=", list(exp))
        return 1
    # ckpt writes what CPython's protocol-2 pickler writes for the same objects
    with open(os.path.join(folder, ".metadata"), "rb") as f:
        raw = f.read()
    again = pickle.dumps(meta, protocol=2)
    if again != raw:
        at = next((i for i, (x, y) in enumerate(zip(raw, again)) if x != y),
                  min(len(raw), len(again)))
        print(f".metadata differs from CPython's protocol-2 pickle at byte {at} "
              f"({len(raw)} vs {len(again)} bytes):\n  ckpt    {raw[max(0, at - 40):at + 40]!r}"
              f"\n  CPython {again[max(0, at - 40):at + 40]!r}")
        return 1
    print(f"ok: {len(exp)} entries equal; .metadata byte-identical to CPython's pickle")
    return 0


def hostile(out):
    """Hostile .metadata files: an unlisted global that would run a command, a
    _StorageInfo whose range lies beyond its file, a chunk outside the tensor."""
    os.makedirs(out, exist_ok=True)
    marker = os.path.join(out, "PWNED")
    d = os.path.join(out, "hostile_global")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, ".metadata"), "wb") as f:
        # protocol 0 GLOBAL os.system('touch PWNED') REDUCE
        f.write(b"cos\nsystem\n(V" + ("touch " + marker).encode() + b"\ntR.")
    # getattr is allowed only to name an _MEM_FORMAT_ENCODING member
    d = os.path.join(out, "hostile_getattr")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, ".metadata"), "wb") as f:
        f.write(b"\x80\x02cbuiltins\ngetattr\nc" + MD.encode() + b"\nMetadata\n"
                b"X\x08\x00\x00\x00__init__\x86R.")
    # a valid folder, then with lies about offsets
    sd = {"w": torch.arange(12, dtype=torch.float32).reshape(3, 4)}
    save_case(out, "hostile_base", sd, [[("w", sd["w"])]])
    base = os.path.join(out, "hostile_base")
    with open(os.path.join(base, ".metadata"), "rb") as f:
        meta = pickle.load(f)
    size = os.path.getsize(os.path.join(base, "__0_0.distcp"))
    for name, change in [
        ("hostile_length", lambda i: _StorageInfo(i.relative_path, i.offset, size + 1)),
        ("hostile_offset", lambda i: _StorageInfo(i.relative_path, size + 100, 10)),
        ("hostile_path", lambda i: _StorageInfo("../" + i.relative_path, i.offset, i.length)),
    ]:
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(base, "__0_0.distcp"), "rb") as f:
            data = f.read()
        with open(os.path.join(d, "__0_0.distcp"), "wb") as f:
            f.write(data)
        m = dataclasses.replace(meta, storage_data={k: change(v)
                                                    for k, v in meta.storage_data.items()})
        with open(os.path.join(d, ".metadata"), "wb") as f:
            pickle.dump(m, f)
    # torch >= 2.7's _StorageInfo.transform_descriptors (compressed items): unsupported
    d = os.path.join(out, "hostile_transform")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "__0_0.distcp"), "wb") as f:
        f.write(data)
    infos = {}
    for k, v in meta.storage_data.items():
        v = _StorageInfo(v.relative_path, v.offset, v.length)
        v.transform_descriptors = ["zstd"]
        infos[k] = v
    with open(os.path.join(d, ".metadata"), "wb") as f:
        pickle.dump(dataclasses.replace(meta, storage_data=infos), f)
    d = os.path.join(out, "hostile_chunk")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "__0_0.distcp"), "wb") as f:
        f.write(data)
    md = meta.state_dict_metadata["w"]
    bigger = dataclasses.replace(md, chunks=[ChunkStorageMetadata(torch.Size([0, 0]),
                                                                  torch.Size([4, 4]))])
    m = dataclasses.replace(meta, state_dict_metadata={"w": bigger})
    with open(os.path.join(d, ".metadata"), "wb") as f:
        pickle.dump(m, f)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "make":
        make(sys.argv[2])
        hostile(sys.argv[2])
    elif cmd == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    elif cmd == "hostile":
        hostile(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
