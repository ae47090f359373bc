#!/usr/bin/env python3
"""Write the hostile safetensors corpus (tests/hostile/safetensors/*.safetensors) and
its MANIFEST.tsv: file, the ckpt status the reader must return, a phrase of the rule
the error must name, the tensor key the error must name ("-": none).

Each file breaks one rule of huggingface/safetensors' reader (safetensors/src/tensor.rs,
SafeTensors::read_metadata, Metadata::validate) or one ckpt adds (duplicate keys,
control bytes).  Run from anywhere: python3 gen.py (the files are committed)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
rows = []


def raw(name, header: bytes, data: bytes, code, needle, key="-", hlen=None):
    n = len(header) if hlen is None else hlen
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(struct.pack("<Q", n) + header + data)
    rows.append((name, code, needle, key))


def ent(dtype, shape, b, e):
    return {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}


def js(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


F = "E_FORMAT"
raw("st_overlap.safetensors", js({"a": ent("F32", [2], 0, 8), "b": ent("F32", [2], 4, 12)}),
    bytes(12), F, "overlap", "b")
raw("st_hole.safetensors", js({"a": ent("F32", [1], 0, 4), "b": ent("F32", [1], 8, 12)}),
    bytes(12), F, "gap", "b")
raw("st_trailing_bytes.safetensors", js({"a": ent("F32", [2], 0, 8)}), bytes(12), F,
    "entirely indexed")
raw("st_truncated_data.safetensors", js({"a": ent("F32", [4], 0, 16)}), bytes(10), F,
    "file ends", "a")
raw("st_header_len_past_end.safetensors", js({"a": ent("U8", [1], 0, 1)}), b"\0", F,
    "runs past the end", hlen=4096)
raw("st_header_len_over_limit.safetensors", b'{"a":1}', b"", F, "MAX_HEADER_SIZE",
    hlen=100000001)
raw("st_header_len_huge.safetensors", b'{}', b"", F, "MAX_HEADER_SIZE", hlen=2 ** 64 - 1)
raw("st_json_bomb.safetensors", b'{"__metadata__":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b"", F, "nesting")
raw("st_duplicate_key.safetensors",
    b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
    b'"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', bytes(2), F, "duplicate key", "w")
raw("st_duplicate_metadata_key.safetensors", b'{"__metadata__":{"k":"a","k":"b"}}', b"", F,
    "duplicate key in __metadata__", "k")
raw("st_duplicate_field.safetensors",
    b'{"w":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}', bytes(1), F,
    "twice", "w")
raw("st_non_utf8.safetensors", b'{"w\xff":' + js(ent("U8", [1], 0, 1)) + b"}", bytes(1), F,
    "not valid UTF-8")
raw("st_surrogate.safetensors", b'{"w\xed\xa0\x80":' + js(ent("U8", [1], 0, 1)) + b"}",
    bytes(1), F, "not valid UTF-8")
raw("st_control_byte.safetensors", b'{"w":\x01' + js(ent("U8", [1], 0, 1)) + b"}", bytes(1), F,
    "control byte")
raw("st_nul_in_name.safetensors", b'{"w\\u0000x":' + js(ent("U8", [1], 0, 1)) + b"}", bytes(1), F,
    "NUL")
raw("st_bad_dtype.safetensors", js({"w": ent("F128", [1], 0, 16)}), bytes(16), F,
    "unknown dtype", "w")
raw("st_shape_overflow.safetensors", js({"w": ent("F64", [2 ** 32, 2 ** 32, 16], 0, 0)}), b"", F,
    "overflows", "w")
raw("st_negative_shape.safetensors", js({"w": ent("F32", [-1], 0, 0)}), b"", F, "negative", "w")
raw("st_float_shape.safetensors", js({"w": ent("F32", [2.5], 0, 10)}), bytes(10), F,
    "not a plain integer")
raw("st_float_integral_shape.safetensors", js({"w": ent("F32", [2.0], 0, 8)}), bytes(8), F,
    "not a plain integer")
raw("st_exponent_offset.safetensors", b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}}',
    bytes(1), F, "not a plain integer")
raw("st_leading_zero.safetensors", b'{"w":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}}',
    bytes(1), F, "not a plain integer")
raw("st_metadata_non_string.safetensors", js({"__metadata__": {"epoch": 3}}), b"", F,
    "not a string", "epoch")
raw("st_metadata_not_map.safetensors", js({"__metadata__": ["a"]}), b"", F, "not a map",
    "__metadata__")
raw("st_offsets_reversed.safetensors", js({"w": ent("U8", [0], 4, 0)}), b"", F, "end before",
    "w")
raw("st_size_mismatch.safetensors", js({"w": ent("F32", [2], 0, 4)}), bytes(4), F,
    "TensorInvalidInfo", "w")
raw("st_missing_offsets.safetensors", js({"w": {"dtype": "U8", "shape": [1]}}), bytes(1), F,
    "without data_offsets", "w")
raw("st_garbage_after_json.safetensors", b'{"w":' + js(ent("U8", [1], 0, 1)) + b"}  x",
    bytes(1), F, "bytes after the JSON")
raw("st_not_json.safetensors", b'{"w":' + js(ent("U8", [1], 0, 1)), bytes(1), F,
    "not a JSON object")
raw("st_f4_misaligned.safetensors", js({"w": ent("F4", [3], 0, 2)}), bytes(2), F,
    "MisalignedSlice", "w")
raw("st_f4_unsupported.safetensors", js({"w": ent("F4", [4], 0, 2)}), bytes(2), "E_UNSUPPORTED",
    "no ckpt dtype", "w")

with open(os.path.join(HERE, "MANIFEST.tsv"), "w") as f:
    f.write("file\tload\trule\tkey\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
