#!/usr/bin/python3
"""Write tests/fixtures/onnx/control/: models that call model-local functions
(ModelProto.functions) and control-flow forms the ONNX test data lacks (Scan-8
with sequence_lens, Scan-9 axes and directions, Loop bodies passing a carried
value straight through, zero-trip loops), each in the libonnx-testdata layout
(model.onnx, test_data_set_0/input_k.pb, output_k.pb) so tests/onnx/conformance.c
runs them; and tests/fixtures/onnx/control_bad/: models the reader must refuse.

Expected outputs come from numpy / Python's str methods applied to the same
inputs, never from ckpt.  Run: /usr/bin/python3 tools/gen/make_onnx_function_fixtures.py
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "onnx")
OUT = os.path.join(ROOT, "control")
BAD = os.path.join(ROOT, "control_bad")
OPSET = [helper.make_opsetid("", 16), helper.make_opsetid("custom", 1)]


def varint(n):
    b = bytearray()
    while True:
        c = n & 0x7F
        n >>= 7
        if n:
            b.append(c | 0x80)
        else:
            b.append(c)
            return bytes(b)


def field(num, payload):
    """A length-delimited protobuf field."""
    return varint((num << 3) | 2) + varint(len(payload)) + payload


def model_bytes(graph, functions, defaults=None, opset=None):
    """ModelProto bytes; defaults maps a function index to AttributeProtos
    appended as FunctionProto.attribute_proto (field 11, newer than the
    onnx.proto of python3-onnx 1.12)."""
    m = helper.make_model(graph, opset_imports=opset or OPSET, producer_name="ckpt-test")
    m.ir_version = 8
    body = m.SerializeToString()
    for i, f in enumerate(functions):
        fb = f.SerializeToString()
        for a in (defaults or {}).get(i, []):
            fb += field(11, a.SerializeToString())
        body += field(25, fb)  # ModelProto.functions
    return body


def write_case(name, graph, functions, inputs, outputs, defaults=None, opset=None):
    d = os.path.join(OUT, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(model_bytes(graph, functions, defaults, opset))
    onnx.load(os.path.join(d, "model.onnx"))  # parses
    for k, (n, a) in enumerate(inputs):
        t = numpy_helper.from_array(a, n)
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "wb") as f:
            f.write(t.SerializeToString())
    for k, (n, a) in enumerate(outputs):
        t = numpy_helper.from_array(a, n)
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "wb") as f:
            f.write(t.SerializeToString())


def vi(name, dt, shape):
    return helper.make_tensor_value_info(name, dt, shape)


def fn_add_relu():
    return helper.make_function(
        "custom", "AddRelu", ["a", "b"], ["y"],
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
        [helper.make_opsetid("", 16)])


def relu(x):
    return np.maximum(x, 0).astype(np.float32)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    shutil.rmtree(BAD, ignore_errors=True)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal((3, 4)).astype(np.float32)

    # 1. one call
    g = helper.make_graph([helper.make_node("AddRelu", ["x", "y"], ["z"], domain="custom")],
                          "g", [vi("x", TensorProto.FLOAT, [3, 4]), vi("y", TensorProto.FLOAT, [3, 4])],
                          [vi("z", TensorProto.FLOAT, [3, 4])])
    write_case("test_fn_basic", g, [fn_add_relu()], [("x", x), ("y", y)], [("z", relu(x + y))])

    # 2. a function calling another twice, called twice: internal names repeat
    outer = helper.make_function(
        "custom", "Twice", ["a", "b"], ["o"],
        [helper.make_node("AddRelu", ["a", "b"], ["t"], domain="custom"),
         helper.make_node("AddRelu", ["t", "a"], ["o"], domain="custom")],
        [helper.make_opsetid("", 16), helper.make_opsetid("custom", 1)])
    g = helper.make_graph([helper.make_node("Twice", ["x", "y"], ["t"], domain="custom"),
                           helper.make_node("Twice", ["t", "x"], ["z"], domain="custom")],
                          "g", [vi("x", TensorProto.FLOAT, [3, 4]), vi("y", TensorProto.FLOAT, [3, 4])],
                          [vi("z", TensorProto.FLOAT, [3, 4])])
    t1 = relu(relu(x + y) + x)
    t2 = relu(relu(t1 + x) + t1)
    write_case("test_fn_nested", g, [outer, fn_add_relu()], [("x", x), ("y", y)], [("z", t2)])

    # 3. an attribute referring to the caller's (ref_attr_name)
    norm = helper.make_function("custom", "Norm", ["s"], ["o"], [], [helper.make_opsetid("", 16)],
                                attributes=["mode"])
    sn = helper.make_node("StringNormalizer", ["s"], ["o"])
    a = onnx.AttributeProto()
    a.name = "case_change_action"
    a.ref_attr_name = "mode"
    a.type = onnx.AttributeProto.STRING
    sn.attribute.append(a)
    norm.node.append(sn)
    words = np.array(["Monday", "tuesday", "WEDNESDAY"], dtype=object)
    g = helper.make_graph([helper.make_node("Norm", ["w"], ["u"], domain="custom", mode="UPPER")],
                          "g", [vi("w", TensorProto.STRING, [3])], [vi("u", TensorProto.STRING, [3])])
    write_case("test_fn_attr_ref", g, [norm], [("w", words)],
               [("u", np.array([s.upper() for s in words], dtype=object))])

    # 4. the same attribute left to the function's default (attribute_proto)
    dflt = helper.make_attribute("mode", "LOWER")
    g = helper.make_graph([helper.make_node("Norm", ["w"], ["u"], domain="custom")],
                          "g", [vi("w", TensorProto.STRING, [3])], [vi("u", TensorProto.STRING, [3])])
    write_case("test_fn_attr_default", g, [norm], [("w", words)],
               [("u", np.array([s.lower() for s in words], dtype=object))], defaults={0: [dflt]})

    # 5. a function whose body has an If reading the body's values from its
    #    branches, called from inside an If branch of the main graph
    then_g = helper.make_graph([helper.make_node("Identity", ["s"], ["r"])], "then", [],
                               [vi("r", TensorProto.FLOAT, [3, 4])])
    else_g = helper.make_graph([helper.make_node("Relu", ["s"], ["r2"])], "else", [],
                               [vi("r2", TensorProto.FLOAT, [3, 4])])
    pick = helper.make_function(
        "custom", "Pick", ["c", "a", "b"], ["o"],
        [helper.make_node("Add", ["a", "b"], ["s"]),
         helper.make_node("If", ["c"], ["o"], then_branch=then_g, else_branch=else_g)],
        [helper.make_opsetid("", 16)])
    br = helper.make_graph([helper.make_node("Pick", ["c", "x", "y"], ["p"], domain="custom")],
                           "br", [], [vi("p", TensorProto.FLOAT, [3, 4])])
    br2 = helper.make_graph([helper.make_node("Identity", ["x"], ["q"])], "br2", [],
                            [vi("q", TensorProto.FLOAT, [3, 4])])
    g = helper.make_graph([helper.make_node("If", ["c"], ["z"], then_branch=br, else_branch=br2)],
                          "g", [vi("c", TensorProto.BOOL, []), vi("x", TensorProto.FLOAT, [3, 4]),
                                vi("y", TensorProto.FLOAT, [3, 4])],
                          [vi("z", TensorProto.FLOAT, [3, 4])])
    write_case("test_fn_subgraph", g, [pick], [("c", np.array(True)), ("x", x), ("y", y)],
               [("z", x + y)])

    # 6. a call that leaves an output unnamed and an input omitted
    two = helper.make_function(
        "custom", "TwoOut", ["a", "b"], ["o1", "o2"],
        [helper.make_node("Relu", ["a"], ["o1"]), helper.make_node("Identity", ["a"], ["o2"])],
        [helper.make_opsetid("", 16)])
    g = helper.make_graph([helper.make_node("TwoOut", ["x"], ["", "z"], domain="custom")],
                          "g", [vi("x", TensorProto.FLOAT, [3, 4])],
                          [vi("z", TensorProto.FLOAT, [3, 4])])
    write_case("test_fn_partial_io", g, [two], [("x", x)], [("z", x)])

    control_cases(rng)

    # 7. a function importing a domain the model does not (preview.training)
    step = helper.make_function(
        "custom", "Step", ["r", "t", "x", "g", "h"], ["x2", "h2"],
        [helper.make_node("Adagrad", ["r", "t", "x", "g", "h"], ["x2", "h2"],
                          domain="ai.onnx.preview.training", epsilon=1e-5)],
        [helper.make_opsetid("ai.onnx.preview.training", 1)])
    g = helper.make_graph([helper.make_node("Step", ["r", "t", "x", "g", "h"], ["x2", "h2"],
                                            domain="custom")],
                          "g", [vi("r", TensorProto.FLOAT, []), vi("t", TensorProto.INT64, []),
                                vi("x", TensorProto.FLOAT, [3, 4]), vi("g", TensorProto.FLOAT, [3, 4]),
                                vi("h", TensorProto.FLOAT, [3, 4])],
                          [vi("x2", TensorProto.FLOAT, [3, 4]), vi("h2", TensorProto.FLOAT, [3, 4])])
    r, t, h = np.array(0.1, np.float32), np.array(3, np.int64), np.abs(y).astype(np.float32)
    h2 = h + x * x  # Adagrad (onnx spec): decay 0, norm 0 -> G_reg = G
    x2 = (y - (r / (1 + t * 0.0)) * x / (np.sqrt(h2) + 1e-5)).astype(np.float32)
    write_case("test_fn_foreign_domain", g, [step],
               [("r", r), ("t", t), ("x", y), ("g", x), ("h", h)], [("x2", x2), ("h2", h2)])

    # refused: a function that calls itself (the C unit test loads it)
    os.makedirs(BAD, exist_ok=True)
    rec = helper.make_function("custom", "Rec", ["a"], ["o"],
                               [helper.make_node("Rec", ["a"], ["o"], domain="custom")],
                               [helper.make_opsetid("custom", 1)])
    g = helper.make_graph([helper.make_node("Rec", ["x"], ["z"], domain="custom")], "g",
                          [vi("x", TensorProto.FLOAT, [1])], [vi("z", TensorProto.FLOAT, [1])])
    with open(os.path.join(BAD, "recursive.onnx"), "wb") as f:
        f.write(model_bytes(g, [rec]))
    # refused: two functions calling each other, each twice (exponential expansion)
    fa = helper.make_function("custom", "A", ["a"], ["o"],
                              [helper.make_node("B", ["a"], ["t"], domain="custom"),
                               helper.make_node("B", ["t"], ["o"], domain="custom")],
                              [helper.make_opsetid("custom", 1)])
    fb = helper.make_function("custom", "B", ["a"], ["o"],
                              [helper.make_node("A", ["a"], ["t"], domain="custom"),
                               helper.make_node("A", ["t"], ["o"], domain="custom")],
                              [helper.make_opsetid("custom", 1)])
    g = helper.make_graph([helper.make_node("A", ["x"], ["z"], domain="custom")], "g",
                          [vi("x", TensorProto.FLOAT, [1])], [vi("z", TensorProto.FLOAT, [1])])
    with open(os.path.join(BAD, "mutual.onnx"), "wb") as f:
        f.write(model_bytes(g, [fa, fb]))
    # refused: 24 functions, each calling the next twice (2^24 nodes once inlined)
    fns = []
    for i in range(24):
        nodes = [helper.make_node("Relu", ["a"], ["o"])] if i == 23 else [
            helper.make_node("F%d" % (i + 1), ["a"], ["t"], domain="custom"),
            helper.make_node("F%d" % (i + 1), ["t"], ["o"], domain="custom")]
        fns.append(helper.make_function("custom", "F%d" % i, ["a"], ["o"], nodes,
                                        [helper.make_opsetid("", 16),
                                         helper.make_opsetid("custom", 1)]))
    g = helper.make_graph([helper.make_node("F0", ["x"], ["z"], domain="custom")], "g",
                          [vi("x", TensorProto.FLOAT, [1])], [vi("z", TensorProto.FLOAT, [1])])
    with open(os.path.join(BAD, "bomb.onnx"), "wb") as f:
        f.write(model_bytes(g, fns))
    # refused: a function body whose If branches nest 20 deep
    inner = helper.make_graph([helper.make_node("Identity", ["a"], ["r0"])], "b0", [],
                              [vi("r0", TensorProto.FLOAT, [1])])
    leaf = helper.make_graph([helper.make_node("Identity", ["a"], ["q"])], "leaf", [],
                             [vi("q", TensorProto.FLOAT, [1])])
    for i in range(1, 20):
        inner = helper.make_graph(
            [helper.make_node("If", ["c"], ["r%d" % i], then_branch=inner, else_branch=leaf)],
            "b%d" % i, [], [vi("r%d" % i, TensorProto.FLOAT, [1])])
    deep = helper.make_function("custom", "Deep", ["c", "a"], ["o"],
                                [helper.make_node("If", ["c"], ["o"], then_branch=inner,
                                                  else_branch=leaf)],
                                [helper.make_opsetid("", 16)])
    g = helper.make_graph([helper.make_node("Deep", ["c", "x"], ["z"], domain="custom")], "g",
                          [vi("c", TensorProto.BOOL, []), vi("x", TensorProto.FLOAT, [1])],
                          [vi("z", TensorProto.FLOAT, [1])])
    with open(os.path.join(BAD, "deep.onnx"), "wb") as f:
        f.write(model_bytes(g, [deep]))
    return 0


def scan8_ref(state, xs, lens, reverse):
    """Scan-8 semantics: per batch entry, state += x_t over its first lens[b]
    steps (reversed when asked); the scan output is the running state, zero
    past the entry's length."""
    batch, maxlen = xs.shape[0], xs.shape[1]
    fin = state.copy()
    scan = np.zeros((batch, maxlen) + xs.shape[2:], dtype=np.float32)
    for b in range(batch):
        s = state[b].copy()
        for t in range(lens[b]):
            idx = lens[b] - 1 - t if reverse else t
            s = s + xs[b, idx]
            scan[b, t] = s
        fin[b] = s
    return fin, scan


def gradient_case(rng):
    """preview.training Gradient over broadcasting Mul/Sub/Div/Add, Tanh,
    Sigmoid, 2-D MatMul, Relu; expected from torch 1.13's autograd."""
    import torch
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = (np.abs(rng.standard_normal((3,))) + 0.5).astype(np.float32)
    w = rng.standard_normal((3, 2)).astype(np.float32)
    nodes = [helper.make_node("Mul", ["a", "b"], ["c"]),
             helper.make_node("Sub", ["c", "a"], ["d"]),
             helper.make_node("Div", ["d", "b"], ["e"]),
             helper.make_node("Tanh", ["e"], ["f"]),
             helper.make_node("Add", ["f", "a"], ["f2"]),
             helper.make_node("Sigmoid", ["f2"], ["f3"]),
             helper.make_node("MatMul", ["f3", "w"], ["h"]),
             helper.make_node("Relu", ["h"], ["y"]),
             helper.make_node("Gradient", ["a", "b", "w"], ["ga", "gb", "gw"],
                              domain="ai.onnx.preview.training", xs=["a", "b", "w"], y="y")]
    g = helper.make_graph(nodes, "g", [vi("a", TensorProto.FLOAT, [2, 3]),
                                       vi("b", TensorProto.FLOAT, [3]),
                                       vi("w", TensorProto.FLOAT, [3, 2])],
                          [vi("y", TensorProto.FLOAT, [2, 2]), vi("ga", TensorProto.FLOAT, [2, 3]),
                           vi("gb", TensorProto.FLOAT, [3]), vi("gw", TensorProto.FLOAT, [3, 2])])
    ta, tb, tw = (torch.tensor(v, requires_grad=True) for v in (a, b, w))
    ty = torch.relu(torch.sigmoid(torch.tanh((ta * tb - ta) / tb) + ta) @ tw)
    ty.backward(torch.ones_like(ty))
    out = [("y", ty.detach().numpy()), ("ga", ta.grad.numpy()), ("gb", tb.grad.numpy()),
           ("gw", tw.grad.numpy())]
    write_case("test_gradient_chain", g, [], [("a", a), ("b", b), ("w", w)], out,
               opset=[helper.make_opsetid("", 13),
                      helper.make_opsetid("ai.onnx.preview.training", 1)])


def sequence_case(rng):
    """SplitToSequence (scalar split with a short last piece; keepdims=0),
    SequenceErase/Insert/At at negative and inner positions,
    ConcatFromSequence with and without new_axis, SequenceLength, an empty
    Optional; expected from numpy."""
    x = rng.standard_normal((5, 3)).astype(np.float32)
    inits = [numpy_helper.from_array(np.array(2, dtype=np.int64), "two"),
             numpy_helper.from_array(np.array(-2, dtype=np.int64), "m2"),
             numpy_helper.from_array(np.array(1, dtype=np.int64), "one"),
             numpy_helper.from_array(np.array(-1, dtype=np.int64), "m1")]
    opt_type = helper.make_tensor_type_proto(TensorProto.FLOAT, [])
    nodes = [helper.make_node("SplitToSequence", ["x", "two"], ["s"], axis=0),
             helper.make_node("SplitToSequence", ["x"], ["t"], axis=-1, keepdims=0),
             helper.make_node("SequenceErase", ["s", "m2"], ["s2"]),
             helper.make_node("SequenceInsert", ["s2", "x", "one"], ["s3"]),
             helper.make_node("ConcatFromSequence", ["s3"], ["c"], axis=0),
             helper.make_node("ConcatFromSequence", ["t"], ["n"], axis=1, new_axis=1),
             helper.make_node("SequenceAt", ["t", "m1"], ["at"]),
             helper.make_node("SequenceLength", ["s3"], ["len"]),
             helper.make_node("Optional", [], ["opt"], type=opt_type),
             helper.make_node("OptionalHasElement", ["opt"], ["has"])]
    g = helper.make_graph(nodes, "g", [vi("x", TensorProto.FLOAT, [5, 3])],
                          [vi("c", TensorProto.FLOAT, [8, 3]), vi("n", TensorProto.FLOAT, [5, 3]),
                           vi("at", TensorProto.FLOAT, [5]), vi("len", TensorProto.INT64, []),
                           vi("has", TensorProto.BOOL, [])], initializer=inits)
    pieces = [x[0:2], x[2:4], x[4:5]]
    del pieces[-2]
    pieces.insert(1, x)
    out = [("c", np.concatenate(pieces, axis=0)), ("n", np.stack([x[:, i] for i in range(3)], 1)),
           ("at", x[:, 2].copy()), ("len", np.array(len(pieces), dtype=np.int64)),
           ("has", np.array(False))]
    write_case("test_sequence_ops_mix", g, [], [("x", x)], out,
               opset=[helper.make_opsetid("", 16)])


def strnorm_unicode_cases():
    """StringNormalizer on non-ASCII UTF-8 (Latin-1, Greek, Cyrillic, Latin
    Extended): case change and case-blind stopwords; expected from Python's
    str.upper/lower (one-to-one on these letters)."""
    words = ["Ärger", "éCOLE", "Москва", "Ελλάδα", "ŁÓDŹ", "mÖnday", "MÖNDAY", "ﬁne"]
    for w in words[:-1]:
        assert all(len(ch.upper()) == 1 and len(ch.lower()) == 1 for ch in w)
    words = words[:-1]
    for mode, fn in (("UPPER", str.upper), ("LOWER", str.lower)):
        g = helper.make_graph(
            [helper.make_node("StringNormalizer", ["x"], ["y"], case_change_action=mode,
                              stopwords=["möNDAY"])],
            "g", [vi("x", TensorProto.STRING, [len(words)])],
            [vi("y", TensorProto.STRING, [len(words) - 2])])
        kept = [fn(w) for w in words if w.lower() != "mönday"]
        write_case("test_strnorm_unicode_%s" % mode.lower(), g, [],
                   [("x", np.array(words, dtype=object))], [("y", np.array(kept, dtype=object))],
                   opset=[helper.make_opsetid("", 10)])


def control_cases(rng):
    strnorm_unicode_cases()
    sequence_case(rng)
    gradient_case(rng)
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "x_t"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["y_t"])],
        "body", [vi("s_in", TensorProto.FLOAT, [2]), vi("x_t", TensorProto.FLOAT, [2])],
        [vi("s_out", TensorProto.FLOAT, [2]), vi("y_t", TensorProto.FLOAT, [2])])
    state = rng.standard_normal((2, 2)).astype(np.float32)
    xs = rng.standard_normal((2, 4, 2)).astype(np.float32)
    lens = np.array([4, 2], dtype=np.int64)
    for reverse in (0, 1):
        g = helper.make_graph(
            [helper.make_node("Scan", ["lens", "s0", "xs"], ["s", "ys"], body=body,
                              num_scan_inputs=1, directions=[reverse])],
            "g", [vi("lens", TensorProto.INT64, [2]), vi("s0", TensorProto.FLOAT, [2, 2]),
                  vi("xs", TensorProto.FLOAT, [2, 4, 2])],
            [vi("s", TensorProto.FLOAT, [2, 2]), vi("ys", TensorProto.FLOAT, [2, 4, 2])])
        fin, scan = scan8_ref(state, xs, lens, reverse)
        write_case("test_scan8_seqlens%s" % ("_reverse" if reverse else ""), g, [],
                   [("lens", lens), ("s0", state), ("xs", xs)], [("s", fin), ("ys", scan)],
                   opset=[helper.make_opsetid("", 8)])

    # Scan-9: scan along axis 1 backwards, outputs stacked on axis 1 backwards
    s0 = rng.standard_normal((2,)).astype(np.float32)
    x9 = rng.standard_normal((2, 5)).astype(np.float32)  # steps on axis 1
    g = helper.make_graph(
        [helper.make_node("Scan", ["s0", "x"], ["s", "ys"], body=body, num_scan_inputs=1,
                          scan_input_axes=[1], scan_input_directions=[1],
                          scan_output_axes=[1], scan_output_directions=[1])],
        "g", [vi("s0", TensorProto.FLOAT, [2]), vi("x", TensorProto.FLOAT, [2, 5])],
        [vi("s", TensorProto.FLOAT, [2]), vi("ys", TensorProto.FLOAT, [2, 5])])
    s = s0.copy()
    outs = []
    for t in range(5):
        s = s + x9[:, 4 - t]
        outs.append(s.copy())
    ys = np.stack(outs[::-1], axis=1)  # output direction reversed: step t lands at 4 - t
    write_case("test_scan9_axes_directions", g, [], [("s0", s0), ("x", x9)],
               [("s", s), ("ys", ys)], opset=[helper.make_opsetid("", 11)])

    # Loop with a trip count only: v passes straight through (the body output is
    # the body input), w += v, the scan output collects w
    lbody = helper.make_graph(
        [helper.make_node("Add", ["w_in", "v_in"], ["w_out"]),
         helper.make_node("Identity", ["w_out"], ["w_scan"])],
        "lbody", [vi("i", TensorProto.INT64, []), vi("c_in", TensorProto.BOOL, []),
                  vi("v_in", TensorProto.FLOAT, [3]), vi("w_in", TensorProto.FLOAT, [3])],
        [vi("c_in", TensorProto.BOOL, []), vi("v_in", TensorProto.FLOAT, [3]),
         vi("w_out", TensorProto.FLOAT, [3]), vi("w_scan", TensorProto.FLOAT, [3])])
    v = rng.standard_normal((3,)).astype(np.float32)
    w = rng.standard_normal((3,)).astype(np.float32)
    for trips in (3, 0):
        g = helper.make_graph(
            [helper.make_node("Loop", ["M", "", "v", "w"], ["v_f", "w_f", "scan"], body=lbody)],
            "g", [vi("M", TensorProto.INT64, []), vi("v", TensorProto.FLOAT, [3]),
                  vi("w", TensorProto.FLOAT, [3])],
            [vi("v_f", TensorProto.FLOAT, [3]), vi("w_f", TensorProto.FLOAT, [3]),
             vi("scan", TensorProto.FLOAT, [trips, 3])])
        acc, rows = w.copy(), []
        for _ in range(trips):
            acc = acc + v
            rows.append(acc.copy())
        scan = np.stack(rows) if rows else np.zeros((0, 3), dtype=np.float32)
        write_case("test_loop_passthrough_%d" % trips, g, [],
                   [("M", np.array(trips, dtype=np.int64)), ("v", v), ("w", w)],
                   [("v_f", v), ("w_f", acc), ("scan", scan)], opset=[helper.make_opsetid("", 13)])


if __name__ == "__main__":
    sys.exit(main())
