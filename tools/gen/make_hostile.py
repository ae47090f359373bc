#!/usr/bin/python3
"""Generate the hostile-input corpus in tests/hostile/.

Every file is built here from raw pickle opcodes and zip structures (no
file is downloaded).  MANIFEST.tsv lists, per file:

  name, load (status ckpt_load must return in weights-only mode),
  full (status in data-only full mode), scan (verdict of ckpt scan),
  torch (what Debian's torch 1.13 does with torch.load(weights_only=True),
  measured by this script when torch is importable; informative only),
  what (the attack or defect)

Status names are ckpt_status names (OK, E_FORMAT, E_UNSAFE, ...); they are
ckpt's contract for these inputs (docs/ERRORS.md), not outputs copied from
a reference.  Nothing here is ever unpickled by Python: torch's check runs in
a child process per file with a timeout, and only with weights_only=True.

Usage: /usr/bin/python3 tools/gen/make_hostile.py [OUTDIR]
"""
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "tests", "hostile")

cases = []  # (name, bytes, load, full, scan, what)


# ------------------------------------------------------------------ pickles

def P(*parts):
    out = b""
    for p in parts:
        out += p if isinstance(p, bytes) else p.encode("latin1")
    return out


def uni(s):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b)) + b


def glob(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def binint(i):
    if 0 <= i < 256:
        return b"K" + bytes([i])
    if 0 <= i < 65536:
        return b"M" + struct.pack("<H", i)
    if -2**31 <= i < 2**31:
        return b"J" + struct.pack("<i", i)
    n = (i.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + i.to_bytes(n, "little", signed=True)


PROTO2 = b"\x80\x02"


def int_tuple(vals):
    if not vals:
        return b")"
    body = b"".join(binint(v) for v in vals)
    if len(vals) <= 3:
        return body + bytes([0x84 + len(vals)])
    return b"(" + body + b"t"


def storage_pid(cls="FloatStorage", key="0", numel=4, loc="cpu"):
    return (b"(" + uni("storage") + glob("torch", cls) + uni(key) + uni(loc) + binint(numel)
            + b"tQ")


def tensor(offset=0, size=(4,), stride=(1,), cls="FloatStorage", key="0", numel=4):
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + storage_pid(cls, key, numel)
            + binint(offset) + int_tuple(size) + int_tuple(stride) + b"\x89"
            + glob("collections", "OrderedDict") + b")R" + b"tR")


def wrap_dict(value, key="w"):
    return PROTO2 + b"}" + uni(key) + value + b"s."


# -------------------------------------------------------------------- zips

def torch_zip(pkl, records=None, prefix="archive", version=b"3\n", extra=None, order=None):
    """A zip laid out like torch.save's (stored members, one folder)."""
    records = dict(records or {})
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_STORED) as z:
        names = [("data.pkl", pkl)] + sorted(records.items())
        if version is not None:
            names.append(("version", version))
        for extra_name, data in (extra or []):
            names.append((extra_name, data))
        for name, data in names:
            zi = zipfile.ZipInfo(prefix + "/" + name if prefix else name, (1980, 1, 1, 0, 0, 0))
            z.writestr(zi, data)
    return bio.getvalue()


FLOATS = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)


def add(name, data, load, full, scan, what):
    cases.append((name, data, load, full, scan, what))


def data_pkl_case(name, pkl, load, full, scan, what, records=None):
    add(name, torch_zip(pkl, records if records is not None else {"data/0": FLOATS}),
        load, full, scan, what)


# ------------------------------------------------------- code execution

data_pkl_case("reduce_os_system", PROTO2 + glob("os", "system") + uni("echo pwned") + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "os.system via REDUCE")
data_pkl_case("reduce_posix_system",
              PROTO2 + glob("posix", "system") + uni("id") + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "posix.system via REDUCE")
data_pkl_case("reduce_subprocess",
              PROTO2 + glob("subprocess", "check_output") + b"(" + uni("id") + b"]tR.",
              "E_UNSAFE", "OK", "unsafe", "subprocess.check_output via REDUCE")
data_pkl_case("builtins_eval",
              PROTO2 + glob("__builtin__", "eval") + uni("__import__('os').system('id')")
              + b"\x85R.", "E_UNSAFE", "OK", "unsafe", "builtins.eval of a string")
data_pkl_case("builtins_exec",
              PROTO2 + glob("builtins", "exec") + uni("import os") + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "builtins.exec of a string")
data_pkl_case("getattr_chain",
              PROTO2 + glob("builtins", "getattr") + glob("builtins", "__import__") + uni("os")
              + b"\x85R" + uni("system") + b"\x86R" + uni("id") + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "getattr(__import__('os'), 'system')('id')")
# STACK_GLOBAL whose strings come from the memo: a string search for "os system" finds nothing
data_pkl_case("stack_global_memo",
              b"\x80\x04" + uni("no") + b"\x94" + uni("sys") + b"\x94" + b"0" + b"0"
              + b"\x8c\x02os\x94" + b"\x8c\x06system\x94" + b"0" + b"0"
              + b"h\x02h\x03\x93" + uni("id") + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "STACK_GLOBAL built from memoized strings")
data_pkl_case("inst_opcode", b"(" + uni("id") + b"ios\nsystem\n.",
              "E_UNSAFE", "OK", "unsafe", "INST os system")
data_pkl_case("obj_opcode", PROTO2 + b"(" + glob("os", "system") + uni("id") + b"o.",
              "E_UNSAFE", "OK", "unsafe", "OBJ os.system")
data_pkl_case("newobj_ex_unknown",
              b"\x80\x04" + glob("evil", "Payload") + b")}\x92.",
              "E_UNSAFE", "OK", "unsafe", "NEWOBJ_EX of an unknown class")
for op, code in ((b"\x82", b"\x01"), (b"\x83", b"\x01\x02"), (b"\x84", b"\x01\x02\x03\x04")):
    n = {b"\x82": 1, b"\x83": 2, b"\x84": 4}[op]
    data_pkl_case("ext%d" % n, PROTO2 + op + code + uni("id") + b"\x85R.",
                  "E_UNSAFE", "E_UNSAFE", "unsafe",
                  "EXT%d: a global from the copyreg extension registry" % n)
# BUILD with a state on an allowlisted class: torch 1.13 calls Tensor.set_(*state)
data_pkl_case("build_on_tensor",
              PROTO2 + tensor() + b"(" + uni("x") + b"tb.",
              "E_UNSAFE", "OK", "unsafe", "BUILD (__setstate__) on an allowlisted torch.Tensor")
data_pkl_case("setitem_on_tensor",
              PROTO2 + tensor() + binint(0) + binint(7) + b"s.",
              "E_UNSAFE", "E_UNSAFE", "unsafe",
              "SETITEM on a tensor (CVE-2026-24747 write primitive)")
data_pkl_case("append_on_dict", PROTO2 + b"}" + binint(1) + b"a.",
              "E_UNSAFE", "E_UNSAFE", "unreadable", "APPEND on a dict")
inner = PROTO2 + glob("os", "system") + uni("id") + b"\x85R."
data_pkl_case("load_from_bytes",
              PROTO2 + glob("torch.storage", "_load_from_bytes")
              + b"C" + bytes([len(inner)]) + inner + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "nested torch.load of a byte string")
data_pkl_case("nested_pickle_in_bytes",
              PROTO2 + b"}" + uni("blob") + b"C" + bytes([len(inner)]) + inner + b"s.",
              "OK", "OK", "unsafe",
              "a pickle that calls os.system hidden in a bytes value (data until unpickled)")
data_pkl_case("pip_main", PROTO2 + glob("pip", "main") + b"(]tR.",
              "E_UNSAFE", "OK", "unsafe", "pip.main (installs packages)")
data_pkl_case("numpy_runstring",
              PROTO2 + glob("numpy.testing._private.utils", "runstring") + uni("id")
              + b"}\x86R.", "E_UNSAFE", "OK", "unsafe", "numpy's runstring (exec)")
data_pkl_case("torch_load_nested",
              PROTO2 + glob("torch", "load") + uni("/tmp/x.pt") + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "nested torch.load")
data_pkl_case("prefix_lookalike",
              PROTO2 + glob("torch.nn.parameter", "ParameterX") + b")R.",
              "E_UNSAFE", "OK", "unsafe",
              "a name that shares a prefix with an allowlisted one (exact pairs only)")
data_pkl_case("persid_not_storage", PROTO2 + uni("evil") + b"Q.",
              "E_UNSAFE", "E_UNSAFE", "unsafe", "persistent id that is not a storage")

# ------------------------------------------------------------ sizes / bounds

data_pkl_case("numel_larger_than_record", wrap_dict(tensor(size=(1000,), numel=1000)),
              "E_FORMAT", "E_FORMAT", "clean",
              "storage numel larger than its record (CVE-2026-24747 over-read)")
data_pkl_case("missing_record", wrap_dict(tensor(key="5")),
              "E_FORMAT", "E_FORMAT", "clean", "data.pkl names a record the archive lacks")
data_pkl_case("view_past_storage", wrap_dict(tensor(offset=2, size=(4,))),
              "E_SHAPE", "E_SHAPE", "clean", "a view that needs more than its storage holds")
data_pkl_case("negative_shape", wrap_dict(tensor(size=(-4,))),
              "E_FORMAT", "E_FORMAT", "clean", "negative size")
data_pkl_case("overflowing_shape", wrap_dict(tensor(size=(2**62, 2**62), stride=(1, 1))),
              "E_FORMAT", "E_FORMAT", "clean", "shape whose product overflows int64")
data_pkl_case("negative_stride", wrap_dict(tensor(size=(4,), stride=(-1,))),
              "E_FORMAT", "E_FORMAT", "clean", "negative stride")
data_pkl_case("overflowing_stride", wrap_dict(tensor(size=(4,), stride=(2**62,))),
              "E_FORMAT", "E_FORMAT", "clean", "stride whose extent overflows")
data_pkl_case("negative_offset", wrap_dict(tensor(offset=-1)),
              "E_FORMAT", "E_FORMAT", "clean", "negative storage offset")
data_pkl_case("huge_offset", wrap_dict(tensor(offset=2**40)),
              "E_SHAPE", "E_SHAPE", "clean", "storage offset far past the storage")
data_pkl_case("huge_numel", wrap_dict(tensor(size=(2**40,), numel=2**40)),
              "E_FORMAT", "E_FORMAT", "clean", "a storage of 2^40 elements in a 1 KiB file")
data_pkl_case("too_many_dims", wrap_dict(tensor(size=(1,) * 100, stride=(1,) * 100)),
              "E_LIMIT", "E_LIMIT", "clean", "a tensor with 100 dimensions")
data_pkl_case("numel_overflow_bytes",
              wrap_dict(tensor(size=(4,), numel=2**62, cls="DoubleStorage")),
              "E_FORMAT", "E_FORMAT", "clean", "numel x element size overflows")

# --------------------------------------------------------------- VM abuse

data_pkl_case("marks_100k_deep", PROTO2 + b"(" * 100000 + b"N.",
              "E_LIMIT", "E_LIMIT", "unreadable", "100,000 nested MARKs")
# lists nested 100,000 deep through the memo: the VM stays flat, walkers stop at 1000
deep = PROTO2 + b"]q\x00"
for _ in range(100000):
    deep += b"]h\x00aq\x00"
deep += b"."
data_pkl_case("lists_100k_deep", deep, "OK", "OK", "clean",
              "lists nested 100,000 deep (consumers stop at depth 1000)")
data_pkl_case("memo_index_missing", PROTO2 + b"h\xc8.",
              "E_FORMAT", "E_FORMAT", "unreadable", "BINGET of a memo index never stored")
data_pkl_case("memo_index_huge", PROTO2 + b"N" + b"r\xff\xff\xff\xff" + b"j\xfe\xff\xff\xff.",
              "E_FORMAT", "E_FORMAT", "unreadable", "LONG_BINPUT/GET at 4 billion")
laughs = PROTO2 + b"]q\x00" + b"h\x00h\x00\x86q\x00" * 64 + b"."
data_pkl_case("memo_billion_laughs", laughs, "OK", "OK", "clean",
              "2^64 references from a 300-byte pickle (shared nodes stay small)")
data_pkl_case("bigint_value", PROTO2 + b"\x8a\x09" + b"\x01" * 9 + b".",
              "E_UNSUPPORTED", "E_UNSUPPORTED", "clean", "an integer beyond 64 bits")
data_pkl_case("unknown_opcode", PROTO2 + b"\xff.", "E_FORMAT", "E_FORMAT", "unreadable",
              "opcode 0xff")
data_pkl_case("protocol_9", b"\x80\x09N.", "E_UNSUPPORTED", "E_UNSUPPORTED", "unreadable",
              "PROTO 9")
data_pkl_case("no_stop", PROTO2 + b"N", "E_FORMAT", "E_FORMAT", "unreadable",
              "pickle without STOP")
data_pkl_case("stack_underflow", PROTO2 + b"R.", "E_FORMAT", "E_FORMAT", "unreadable",
              "REDUCE on an empty stack")
data_pkl_case("string_past_end", PROTO2 + b"X\xff\xff\xff\x7fabc",
              "E_FORMAT", "E_FORMAT", "unreadable", "a 2 GiB string in a 20-byte pickle")
data_pkl_case("garbage_after_stop", PROTO2 + b"N." + b"\xde\xad\xbe\xef",
              "OK", "OK", "unreadable", "bytes after STOP (torch ignores them; scan does not)")

# ---------------------------------------------------------------- archive

add("torchscript_shaped",
    torch_zip(wrap_dict(tensor()), {"data/0": FLOATS},
              extra=[("constants.pkl", b"\x80\x02)."), ("code/__torch__.py", b"def f(): pass\n")]),
    "E_UNSAFE", "OK", "unsafe",
    "a TorchScript archive handed to a weights-only load (CVE-2025-32434: refuse, never run)")
add("version_99", torch_zip(wrap_dict(tensor()), {"data/0": FLOATS}, version=b"99\n"),
    "E_UNSUPPORTED", "E_UNSUPPORTED", "clean", "a format version newer than ckpt knows")
add("no_version", torch_zip(wrap_dict(tensor()), {"data/0": FLOATS}, version=None),
    "E_FORMAT", "E_FORMAT", "clean", "no version record")
add("no_subdirectory", torch_zip(wrap_dict(tensor()), {"data/0": FLOATS}, prefix=""),
    "E_FORMAT", "E_FORMAT", "clean", "members not under one folder (torch refuses; no code)")
add("no_data_pkl", torch_zip(b"", {"data/0": FLOATS})
    .replace(b"archive/data.pkl", b"archive/data.pkX"),
    "E_FORMAT", "E_FORMAT", "clean", "no data.pkl record")


def raw_zip(entries, cd_patch=None, local_patch=None, prepend=b""):
    """Build a stored zip by hand so that its structures can lie."""
    out = bytearray(prepend)
    cd = bytearray()
    for name, data in entries:
        off = len(out)
        crc = zlib.crc32(data) & 0xFFFFFFFF
        nb = name.encode()
        lh = struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, 0, 0, 0, 0, crc, len(data), len(data),
                         len(nb), 0) + nb
        out += lh + data
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, 0, 0, 0, 0, crc, len(data),
                          len(data), len(nb), 0, 0, 0, 0, 0, off) + nb
    if cd_patch:
        cd = cd_patch(cd)
    cd_off = len(out)
    out += cd
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd),
                       cd_off, 0)
    return bytes(out)


good = [("archive/data.pkl", wrap_dict(tensor())), ("archive/data/0", FLOATS),
        ("archive/version", b"3\n")]
add("zip_dotdot_name", raw_zip(good + [("archive/../../etc/passwd", b"x")]),
    "E_FORMAT", "E_FORMAT", "unreadable", "a member named with ../")
add("zip_duplicate_names", raw_zip(good + [("archive/data/0", FLOATS)]),
    "E_FORMAT", "E_FORMAT", "unreadable", "the same member twice")


def lie_size(cd):
    # first entry's sizes claim 1 GiB
    cd = bytearray(cd)
    struct.pack_into("<II", cd, 20, 1 << 30, 1 << 30)
    return cd


def lie_offset(cd):
    cd = bytearray(cd)
    struct.pack_into("<I", cd, 42, 0x7FFFFFF0)
    return cd


def overlap(cd):
    # second entry's local header offset points into the first entry's data
    cd = bytearray(cd)
    first_len = 46 + struct.unpack_from("<H", cd, 28)[0]
    struct.pack_into("<I", cd, first_len + 42, 40)
    return cd


add("zip_cd_lies_size", raw_zip(good, cd_patch=lie_size), "E_FORMAT", "E_FORMAT", "unreadable",
    "central directory claims a 1 GiB member")
add("zip_cd_lies_offset", raw_zip(good, cd_patch=lie_offset), "E_FORMAT", "E_FORMAT",
    "unreadable", "central directory points past the file")
add("zip_overlapping_entries", raw_zip(good, cd_patch=overlap), "E_FORMAT", "E_FORMAT",
    "unreadable", "two members share bytes")
add("zip_data_before_first_header", raw_zip(good, prepend=b"MZ" + b"\0" * 62),
    "E_FORMAT", "E_FORMAT", "unreadable",
    "bytes before the first local header (torch does not see PK at 0)")

# deflate bomb: 1 GiB of zeros as a deflated storage record (~1 MB file)
comp = zlib.compressobj(9, zlib.DEFLATED, -15)
chunk = b"\0" * (1 << 20)
bomb = b"".join(comp.compress(chunk) for _ in range(1024)) + comp.flush()
bio = io.BytesIO()
with zipfile.ZipFile(bio, "w") as z:
    z.writestr(zipfile.ZipInfo("archive/data.pkl", (1980, 1, 1, 0, 0, 0)),
               wrap_dict(tensor(size=(1 << 28,), numel=1 << 28)))
    zi = zipfile.ZipInfo("archive/data/0", (1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(zi, b"")  # placeholder replaced below
    z.writestr(zipfile.ZipInfo("archive/version", (1980, 1, 1, 0, 0, 0)), b"3\n")
raw = bio.getvalue()
# rebuild with the real bomb payload by hand (zipfile would inflate 1 GiB in memory)
entries = [("archive/data.pkl", wrap_dict(tensor(size=(1 << 28,), numel=1 << 28)), 0, None),
           ("archive/data/0", bomb, 8, 1 << 30), ("archive/version", b"3\n", 0, None)]
out = bytearray()
cd = bytearray()
crc_zero = 0
c = 0
for _ in range(1024):
    c = zlib.crc32(chunk, c)
crc_zero = c & 0xFFFFFFFF
for name, data, method, usize in entries:
    off = len(out)
    crc = crc_zero if usize else zlib.crc32(data) & 0xFFFFFFFF
    size = usize if usize else len(data)
    nb = name.encode()
    out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data), size,
                       len(nb), 0) + nb + data
    cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc, len(data),
                      size, len(nb), 0, 0, 0, 0, 0, off) + nb
cd_off = len(out)
out += cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 3, 3, len(cd), cd_off, 0)
add("deflate_bomb", bytes(out), "E_LIMIT", "E_LIMIT", "unreadable",
    "a 1 MB file whose storage inflates to 1 GiB")

# ----------------------------------------------------------------- legacy

MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e"
add("legacy_malicious_magic", PROTO2 + glob("os", "system") + uni("id") + b"\x85R." + b"rest",
    "E_UNSAFE", "E_FORMAT", "unsafe",
    "a legacy-looking file whose first pickle calls os.system")
add("legacy_malicious_sys_info",
    MAGIC + b"\x80\x02M\xe9\x03." + PROTO2 + glob("os", "system") + uni("id") + b"\x85R.",
    "E_UNSAFE", "E_FORMAT", "unsafe",
    "a legacy file whose sys_info pickle calls os.system (and that ends there)")
add("polyglot_pickle_then_zip",
    PROTO2 + glob("builtins", "eval") + uni("1") + b"\x85R." + torch_zip(wrap_dict(tensor()),
                                                                      {"data/0": FLOATS}),
    "E_UNSAFE", "E_FORMAT", "unsafe",
    "a pickle at byte 0 with a torch zip appended (torch takes the legacy path)")

# -------------------------------------------------------------------- npy

hdr = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
hdr = hdr + " " * (63 - (10 + len(hdr)) % 64) + "\n"
npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + inner
add("npy_object_array", npy, "E_UNSUPPORTED", "E_UNSUPPORTED", "unsafe",
    ".npy object array whose pickle calls os.system")
bio = io.BytesIO()
with zipfile.ZipFile(bio, "w") as z:
    z.writestr("arr_0.npy", npy)
add("npz_object_array", bio.getvalue(), "E_FORMAT", "E_FORMAT", "unsafe",
    ".npz whose member is a malicious object array")

# ------------------------------------------- containers (issue 9, item 4)
# Archives on which two readers could resolve different bytes: built by
# tests/interop/container_cases.py (the container differential's generator).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "tests", "interop"))
import container_cases  # noqa: E402

CONTAINER = {
    "zip_appended_archive": ("E_UNSAFE", "OK", "unsafe"),
    "zip_eocd_comment_past_end": ("E_FORMAT", "E_FORMAT", "unreadable"),
    "zip_eocd_sig_in_tail": ("E_FORMAT", "E_FORMAT", "unreadable"),
    "zip_two_end_records": ("E_UNSAFE", "OK", "unsafe"),
    "zip_case_only": ("E_UNSAFE", "OK", "unsafe"),
    "zip_case_duplicate": ("E_FORMAT", "E_FORMAT", "unreadable"),
    "zip_local_name_differs": ("E_UNSAFE", "OK", "unsafe"),
    "zip_dir_attribute": ("E_FORMAT", "E_FORMAT", "unreadable"),
    "zip_outside_prefix": ("E_FORMAT", "E_FORMAT", "unsafe"),
    "zip64_locator_elsewhere": ("E_FORMAT", "E_FORMAT", "unreadable"),
    "tar_v7_no_magic": ("E_UNSAFE", "OK", "unsafe"),
    "tar_gnu_longname": ("E_UNSAFE", "OK", "unsafe"),
    "tar_pax_path": ("E_UNSAFE", "OK", "unsafe"),
    "tar_pax_global_path": ("E_UNSAFE", "OK", "unsafe"),
    "tar_signed_checksum": ("E_UNSAFE", "OK", "unsafe"),
    "tar_truncated_padding": ("E_FORMAT", "E_FORMAT", "unreadable"),
    "tar_symlink_pickle": ("E_UNSUPPORTED", "E_UNSUPPORTED", "unsafe"),
}
for _name, _data, _what in container_cases.cases():
    if _name in CONTAINER:
        add(_name, _data, *CONTAINER[_name], _what)

# ------------------------------------------- scan verdicts (issue 9, item 4)
# Each "ex" value below is ckpt's own answer, checked by hostile_test.c; the
# torch column is Debian torch 1.13's, probed when the manifest is written.

SYSTEM = glob("os", "system") + uni("id") + b"\x85R"
# dangerous wins: Python runs os.system before it reaches the garbage
add("scan_system_then_garbage", PROTO2 + SYSTEM + b"0" + b"\xff\xfe garbage",
    "E_UNSAFE", "E_FORMAT", "unsafe", "a raw pickle that calls os.system, then holds garbage")
# BUILD on the class object itself: rewrites attributes of imported code
data_pkl_case("scan_build_on_class",
              PROTO2 + glob("collections", "OrderedDict") + b"}" + uni("fromkeys") + b"Nsb0"
              + b"}.", "E_UNSAFE", "E_UNSAFE", "unsafe",
              "BUILD on collections.OrderedDict (the class, from GLOBAL)")
# writes into a tensor that is then popped, or kept only in the memo
data_pkl_case("scan_setitem_tensor_popped",
              PROTO2 + tensor() + uni("k") + uni("v") + b"s0" + b"}.", "E_UNSAFE", "E_UNSAFE",
              "unsafe", "SETITEM into a tensor that is then popped (root is an empty dict)")
data_pkl_case("scan_setitem_tensor_memo",
              PROTO2 + tensor() + b"q\x00" + uni("k") + uni("v") + b"s0" + b"}.", "E_UNSAFE",
              "E_UNSAFE", "unsafe", "SETITEM into a tensor kept only in the memo")
# one rule set: what the weights-only loader refuses is never clean
data_pkl_case("scan_build_plain_dict", PROTO2 + b"}" + b"}" + uni("a") + binint(1) + b"sb.",
              "E_UNSAFE", "E_UNSAFE", "unsafe", "BUILD on a plain dict")
data_pkl_case("scan_build_counter",
              PROTO2 + glob("collections", "Counter") + b")R" + b"}" + uni("a") + binint(1)
              + b"sb.", "E_UNSAFE", "E_UNSAFE", "unsafe", "BUILD on a Counter")
data_pkl_case("scan_obj_allowlisted", PROTO2 + b"(" + glob("collections", "OrderedDict") + b"o.",
              "E_UNSAFE", "OK", "unsafe", "OBJ of an allowlisted class")
data_pkl_case("scan_bytes_with_arg", PROTO2 + glob("builtins", "bytes") + binint(5) + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "bytes(5): an argument bytes() must not get")
data_pkl_case("scan_reduce_storage_class",
              PROTO2 + glob("torch", "FloatStorage") + b")R.", "E_UNSAFE", "OK", "unsafe",
              "REDUCE of a storage class")
data_pkl_case("scan_reduce_parameter",
              PROTO2 + glob("torch.nn.parameter", "Parameter") + tensor() + b"\x85R.",
              "E_UNSAFE", "OK", "unsafe", "REDUCE of nn.Parameter")
# no shortcut: byte 8 is '{' in a pickle; a safetensors header of 128 bytes starts 0x80
add("scan_pickle_brace_at_8", PROTO2 + b"X\x02\x00\x00\x00a{0" + SYSTEM + b".",
    "E_UNSAFE", "E_FORMAT", "unsafe", "a pickle with '{' at byte 8 that calls os.system")


def safetensors(pad_to=None, cut=0):
    hdr = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    if pad_to:
        hdr += b" " * (pad_to - len(hdr))
    data = struct.pack("<Q", len(hdr)) + hdr + FLOATS
    return data[:len(data) - cut] if cut else data


add("scan_safetensors_128", safetensors(pad_to=128), "E_UNSUPPORTED", "E_UNSUPPORTED", "clean",
    "a valid safetensors file whose 128-byte header makes byte 0 0x80")
add("scan_safetensors_truncated", safetensors(cut=5), "E_UNSUPPORTED", "E_UNSUPPORTED",
    "unreadable",
    "a safetensors file cut 5 bytes short of its last tensor")


def npy_with(descr):
    h = "{'descr': %s, 'fortran_order': False, 'shape': (1,), }" % descr
    h = h + " " * (63 - (10 + len(h)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + inner


for tag, descr in [("O", "'O'"), ("lt", "'<O'"), ("eq", "'=O'"), ("word", "'object'"),
                   ("struct", "[('a', '<i4'), ('b', '|O')]")]:
    add("npy_object_" + tag, npy_with(descr), "E_UNSUPPORTED", "E_UNSUPPORTED", "unsafe",
        ".npy object array spelled %s whose pickle calls os.system" % descr)

# bounded cost: many calls of one global (11 KB), and a deflated member of empty lists
calls = PROTO2 + glob("os", "system") + b"q\x00" + b"(" + b"h\x00)R" * 2700 + b"l."
add("scan_many_calls", calls, "E_UNSAFE", "E_FORMAT", "unsafe",
    "11 KB raw pickle: one global called 2700 times (linear scan)")
add("scan_many_globals", PROTO2 + b"(" + (glob("os", "system") + b")R") * 800 + b"l.",
    "E_UNSAFE", "E_FORMAT", "unsafe", "10 KB raw pickle: 800 GLOBAL+REDUCE of one global")
lists = PROTO2 + b"(" + b"]" * (8 << 20) + b"l."
bio = io.BytesIO()
with zipfile.ZipFile(bio, "w") as z:
    z.writestr(zipfile.ZipInfo("archive/version", (1980, 1, 1, 0, 0, 0)), b"3\n")
    zi = zipfile.ZipInfo("archive/data.pkl", (1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(zi, lists, compresslevel=9)
add("scan_lists_bomb", bio.getvalue(), "E_LIMIT", "E_LIMIT", "unreadable",
    "an 8 KB file whose deflated data.pkl is 8 Mi empty lists (memory bound)")

# ------------------------------------------------------------------ write


def torch_verdict(path):
    """What torch 1.13 says with weights_only=True, in a child process."""
    code = ("import torch,sys\n"
            "try:\n torch.load(sys.argv[1], weights_only=True); print('loads')\n"
            "except Exception as e: print('refuses: ' + type(e).__name__)\n")
    try:
        r = subprocess.run(["/usr/bin/python3", "-c", code, path], capture_output=True,
                           timeout=60, text=True)
        out = (r.stdout.strip().splitlines() or ["crash (exit %d)" % r.returncode])[-1]
        return out if r.returncode == 0 else "crash (exit %d)" % r.returncode
    except subprocess.TimeoutExpired:
        return "timeout"
    except OSError:
        return "n/a"


def main():
    os.makedirs(OUT, exist_ok=True)
    probe = "--no-torch" not in sys.argv
    rows = []
    for name, data, load, full, scan, what in cases:
        ext = (".npy" if name.startswith("npy") else ".npz" if name.startswith("npz")
               else ".safetensors" if "safetensors" in name else ".pt")
        path = os.path.join(OUT, name + ext)
        with open(path, "wb") as f:
            f.write(data)
        tv = torch_verdict(path) if probe else "n/a"
        rows.append("\t".join([name + ext, load, full, scan, tv, what]))
    with open(os.path.join(OUT, "MANIFEST.tsv"), "w") as f:
        f.write("file\tload\tfull\tscan\ttorch_1.13_weights_only\twhat\n")
        f.write("\n".join(rows) + "\n")
    print("%d hostile files in %s" % (len(rows), OUT))


if __name__ == "__main__":
    main()
