#!/usr/bin/python3
"""Generate the hostile ONNX corpus in tests/hostile/onnx/.

Models are built with python3-onnx's helpers (onnx.helper, onnx.numpy_helper) and
then spoiled the way an attacker would: external-data locations that escape the
model's folder (the path-traversal class of onnx's CVE-2022-25882), offsets and
lengths past the data file, raw_data that disagrees with dims, dims whose product
overflows, cycles, undefined inputs, subgraphs nested past ckpt's limit, protobuf
messages nested deep enough to overflow a recursive parser's stack, repeated-field
allocation bombs, unknown ops and custom domains.  The few files the helpers cannot
express (the deep nesting, the bombs) are written as raw protobuf wire bytes.

MANIFEST.tsv lists, per file:
  file, load (ckpt_status of ckpt_onnx_load: OK, E_UNSAFE, E_FORMAT, ...),
  session (status of ckpt_onnx_session_new when the load succeeds, else -; * when it
  depends on which kernels exist),
  scan (verdict of ckpt scan: clean, unsafe, unreadable),
  names (a string the error message must contain: the node, initializer or
  offending thing; - for none), what (the attack)
The statuses are ckpt's contract for these inputs, not outputs of a reference.

Usage: /usr/bin/python3 tools/gen/make_hostile_onnx.py [OUTDIR]
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "hostile", "onnx")

cases = []  # (file, load, session, scan, names, what)


def model(nodes, inputs, outputs, inits=(), opsets=(("", 13),), name="g"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets],
                          producer_name="make_hostile_onnx")
    m.ir_version = 8
    return m


def vi(name, shape, et=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, et, shape)


def save(fname, m, load, session, scan, names, what):
    data = m if isinstance(m, bytes) else m.SerializeToString()
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(data)
    cases.append((fname, load, session, scan, names, what))


def external(name, dims, location, offset=None, length=None):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key = k
            e.value = str(v)
    return t


def raw_tensor(name, dt, dims, floats=()):
    """A TensorProto set field by field (make_tensor refuses inconsistent ones)."""
    t = TensorProto()
    t.name = name
    t.data_type = dt
    t.dims.extend(dims)
    t.float_data.extend(floats)
    return t


def add_model(init):
    """y = x + W with W the given initializer (shape [4])."""
    return model([helper.make_node("Add", ["x", init.name], ["y"], name="add_w")],
                 [vi("x", [4])], [vi("y", [4])], [init])


# ------------------------------------------------------------------ protobuf wire bytes

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, payload):
    return varint((field << 3) | 2) + varint(len(payload)) + payload


def deep_if_bytes(levels):
    """ModelProto whose graph nests If.then_branch graphs `levels` deep, written
    outside-in in linear time (every nested message is the last field of its parent)."""
    # per level, inside-out: GraphProto{node=1: NodeProto{op_type=4 'If',
    # attribute=5: AttributeProto{name=1, type=20: GRAPH(5), g=6: <inner graph>}}}
    sizes = [0]  # size of the graph at each level, innermost first
    heads = []
    for _ in range(levels):
        g_in = sizes[-1]
        attr_head = ld(1, b"then_branch") + varint((20 << 3) | 0) + varint(5) + \
            varint((6 << 3) | 2) + varint(g_in)
        attr_len = len(attr_head) + g_in
        node_head = ld(4, b"If") + varint((5 << 3) | 2) + varint(attr_len)
        node_len = len(node_head) + attr_len
        graph_head = varint((1 << 3) | 2) + varint(node_len)
        sizes.append(len(graph_head) + node_len)
        heads.append(graph_head + node_head + attr_head)
    body = b"".join(reversed(heads))
    return (varint(1 << 3) + varint(8) + varint((7 << 3) | 2) + varint(sizes[-1]) + body +
            ld(8, varint(2 << 3) + varint(17)))


def main():
    os.makedirs(OUT, exist_ok=True)
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32), "W")

    # -------------------------------------------------------------- external data
    with open(os.path.join(OUT, "ext_data.bin"), "wb") as f:
        f.write(np.arange(8, dtype=np.float32).tobytes())  # 32 bytes
    save("ext_dotdot.onnx", add_model(external("W", [4], "../MANIFEST.tsv")),
         "E_UNSAFE", "-", "unsafe", "W", "external data location with '..' (CVE-2022-25882 class)")
    save("ext_dotdot_inner.onnx", add_model(external("W", [4], "sub/../../MANIFEST.tsv")),
         "E_UNSAFE", "-", "unsafe", "W", "'..' in the middle of the location")
    save("ext_absolute.onnx", add_model(external("W", [4], "/etc/passwd")),
         "E_UNSAFE", "-", "unsafe", "W", "absolute external data location")
    link = os.path.join(OUT, "ext_link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("../MANIFEST.tsv", link)  # a file that exists outside the folder
    save("ext_symlink.onnx", add_model(external("W", [4], "ext_link.bin")),
         "E_UNSAFE", "-", "unsafe", "W", "external data through a symlink out of the folder")
    save("ext_offset_past.onnx", add_model(external("W", [4], "ext_data.bin", offset=1000)),
         "E_FORMAT", "-", "clean", "W", "external data offset past the end of the file")
    save("ext_length_past.onnx",
         add_model(external("W", [4], "ext_data.bin", offset=24, length=16)),
         "E_FORMAT", "-", "clean", "W", "external data [offset, offset+length) past the end")
    save("ext_offset_huge.onnx",
         add_model(external("W", [4], "ext_data.bin", offset=2**64 - 8, length=16)),
         "E_FORMAT", "-", "clean", "W", "offset + length wraps around 2^64")
    save("ext_length_lies.onnx",
         add_model(external("W", [4], "ext_data.bin", offset=0, length=32)),
         "E_FORMAT", "-", "clean", "W", "external length disagrees with dims")
    save("ext_missing.onnx", add_model(external("W", [4], "no_such_file.bin")),
         "E_IO", "-", "clean", "W", "external data file that does not exist")
    save("ext_folder.onnx", add_model(external("W", [4], ".")),
         "E_UNSAFE", "-", "unsafe", "W", "external data location naming the folder itself")

    # -------------------------------------------------------------- tensors
    t = numpy_helper.from_array(np.zeros(4, dtype=np.float32), "W")
    t.raw_data = b"\0" * 12
    save("raw_size_mismatch.onnx", add_model(t),
         "E_FORMAT", "-", "clean", "W", "raw_data of 12 bytes for 4 float32")
    t = raw_tensor("W", TensorProto.FLOAT, [2**40, 2**40])
    save("dims_overflow.onnx", add_model(t),
         "E_LIMIT", "-", "clean", "W", "dims whose product overflows int64")
    t = raw_tensor("W", TensorProto.FLOAT, [2**31, 2**31, 8])
    save("dims_overflow_bytes.onnx", add_model(t),
         "E_LIMIT", "-", "clean", "W", "element count fits int64, byte count does not")
    t = raw_tensor("W", TensorProto.FLOAT, [4], [1.0, 2.0])
    save("typed_count_mismatch.onnx", add_model(t),
         "E_FORMAT", "-", "clean", "W", "float_data holds 2 values for 4 elements")
    t = raw_tensor("W", TensorProto.FLOAT, [-4])
    save("negative_dim.onnx", add_model(t),
         "E_FORMAT", "-", "clean", "W", "a negative dim")
    t = raw_tensor("W", TensorProto.FLOAT, [1] * 17, [1.0])
    save("too_many_dims.onnx", add_model(t),
         "E_LIMIT", "-", "clean", "W", "17 dims")
    t = raw_tensor("W", 99, [4])
    save("unknown_dtype.onnx", add_model(t),
         "E_UNSUPPORTED", "-", "clean", "W", "data_type 99")
    m = add_model(w)
    m.graph.initializer.append(numpy_helper.from_array(np.ones(4, dtype=np.float32), "W"))
    save("duplicate_initializer.onnx", m,
         "E_FORMAT", "-", "clean", "W", "two initializers of the same name")

    # -------------------------------------------------------------- graph structure
    m = model([helper.make_node("Add", ["x", "b"], ["a"], name="node_a"),
               helper.make_node("Relu", ["a"], ["b"], name="node_b"),
               helper.make_node("Relu", ["a"], ["y"], name="node_c")],
              [vi("x", [4])], [vi("y", [4])])
    save("cycle.onnx", m, "E_FORMAT", "-", "clean", "cycle", "two nodes feeding each other")
    m = model([helper.make_node("Add", ["x", "a"], ["a"], name="self_loop")],
              [vi("x", [4])], [vi("a", [4])])
    save("self_cycle.onnx", m, "E_FORMAT", "-", "clean", "self_loop", "a node reading its output")
    m = model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="reads_nothing")],
              [vi("x", [4])], [vi("y", [4])])
    save("undefined_input.onnx", m, "E_FORMAT", "-", "clean", "nowhere", "an input no one defines")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")],
              [vi("x", [4])], [vi("y", [4]), vi("ghost", [4])])
    save("undefined_output.onnx", m, "E_FORMAT", "-", "clean", "ghost",
         "a graph output no one defines")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r1"),
               helper.make_node("Relu", ["x"], ["y"], name="r2")],
              [vi("x", [4])], [vi("y", [4])])
    save("output_twice.onnx", m, "E_FORMAT", "-", "clean", "r2", "two nodes define one name")

    # subgraphs nested past OX_MAX_SUBGRAPH_DEPTH (16)
    def nest(levels):
        inner = helper.make_graph([helper.make_node("Identity", ["c"], ["o0"], name="leaf")],
                                  "level0", [], [vi("o0", [1])])
        for i in range(1, levels + 1):
            flat = helper.make_graph([helper.make_node("Identity", ["c"], ["e%d" % i])],
                                     "else%d" % i, [], [vi("e%d" % i, [1])])
            node = helper.make_node("If", ["c"], ["o%d" % i], name="if_%d" % i,
                                    then_branch=inner, else_branch=flat)
            inner = helper.make_graph([node], "level%d" % i, [], [vi("o%d" % i, [1])])
        top = helper.make_graph(list(inner.node), "top", [vi("c", [1], TensorProto.BOOL)],
                                [vi("o%d" % levels, [1])])
        m = helper.make_model(top, opset_imports=[helper.make_opsetid("", 13)])
        m.ir_version = 8
        return m
    save("subgraph_depth_16.onnx", nest(16), "OK", "*", "clean", "-",
         "If subgraphs nested 16 deep (the limit: accepted)")
    save("subgraph_depth_20.onnx", nest(20), "E_LIMIT", "-", "clean", "deeper than 16",
         "If subgraphs nested 20 deep")
    save("protobuf_deep.onnx", deep_if_bytes(30000), "E_LIMIT", "-", "unreadable",
         "nested deeper", "90 000 nested messages: a recursive protobuf parser's stack overflow")

    # -------------------------------------------------------------- allocation bombs
    g = b"".join([b"\x0a\x00"] * 600000)  # 600 000 empty NodeProto entries, 2 bytes each
    save("bomb_empty_nodes.onnx",
         varint(1 << 3) + varint(8) + ld(7, g) + ld(8, varint(2 << 3) + varint(13)),
         "E_LIMIT", "-", "unreadable", "limit", "600 000 empty NodeProtos (each a ~150-byte struct)")
    dims = b"\x01" * 300000  # packed dims: 300 000 entries of 1
    tensor = ld(1, dims) + varint(2 << 3) + varint(1) + ld(8, b"W")
    graph = ld(5, tensor) + ld(11, ld(1, b"x")) + ld(12, ld(1, b"W"))
    save("bomb_packed_dims.onnx",
         varint(1 << 3) + varint(8) + ld(7, graph) + ld(8, varint(2 << 3) + varint(13)),
         "E_LIMIT", "-", "clean", "W", "one tensor with 300 000 packed dims")
    attr = ld(1, b"perm") + varint((20 << 3) | 0) + varint(7) + ld(8, b"\x00" * 400000)
    node = ld(1, b"x") + ld(2, b"y") + ld(3, b"t") + ld(4, b"Transpose") + ld(5, attr)
    graph = ld(1, node) + ld(11, ld(1, b"x")) + ld(12, ld(1, b"y"))
    save("bomb_packed_ints.onnx",
         varint(1 << 3) + varint(8) + ld(7, graph) + ld(8, varint(2 << 3) + varint(13)),
         "OK", "*", "clean", "-",
         "an INTS attribute of 400 000 packed values (8x in memory; within the limit)")
    claim = varint((1 << 3) | 2) + varint(1 << 40)  # a field that claims 1 TiB
    save("length_past_end.onnx", varint(1 << 3) + varint(8) + varint((7 << 3) | 2) +
         varint(len(claim)) + claim, "E_FORMAT", "-", "unreadable", "not a valid",
         "a nested field whose length runs past the message")

    # -------------------------------------------------------------- ops and domains
    m = model([helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery")],
              [vi("x", [4])], [vi("y", [4])])
    save("unknown_op.onnx", m, "OK", "E_UNSUPPORTED", "clean", "mystery",
         "an op no opset defines (error at session creation, naming the node)")
    m = model([helper.make_node("Exfiltrate", ["x"], ["y"], name="evil_node",
                                domain="com.evil")],
              [vi("x", [4])], [vi("y", [4])], opsets=(("", 13), ("com.evil", 1)))
    save("custom_domain.onnx", m, "OK", "E_UNSUPPORTED", "unsafe", "evil_node",
         "a custom-domain op (scan names it)")
    fn = helper.make_function("com.local", "Double", ["a"], ["b"],
                              [helper.make_node("Add", ["a", "a"], ["b"])],
                              [helper.make_opsetid("", 13)])
    m = model([helper.make_node("Double", ["x"], ["y"], name="call_local", domain="com.local")],
              [vi("x", [4])], [vi("y", [4])], opsets=(("", 13), ("com.local", 1)))
    m.functions.append(fn)
    save("local_function.onnx", m, "OK", "*", "clean", "-",
         "a model-local function in a custom domain: not a custom op (its body is scanned)")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="orphan_domain",
                                domain="com.not.imported")],
              [vi("x", [4])], [vi("y", [4])])
    save("domain_not_imported.onnx", m, "E_FORMAT", "-", "unsafe", "orphan_domain",
         "a node whose domain the model does not import")
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], [vi("x", [4])],
              [vi("y", [4])])
    m.ir_version = 2
    save("ir_version_2.onnx", m, "E_UNSUPPORTED", "-", "clean", "ir_version",
         "ir_version 2 (ckpt reads 3 and later)")

    with open(os.path.join(OUT, "MANIFEST.tsv"), "w") as f:
        f.write("file\tload\tsession\tscan\tnames\twhat\n")
        for c in cases:
            f.write("\t".join(c) + "\n")
    print("%d hostile ONNX files in %s" % (len(cases), OUT))


if __name__ == "__main__":
    main()
