#!/usr/bin/python3
"""Generate ONNX test cases for the shape / indexing / data-movement kernels
(src/onnx/ops_shape.c, shape_*.c) that libonnx-testdata 1.12 does not cover:
string tensors, int32 indices, opset 18+ forms (Split num_outputs, Pad axes
and wrap, Scatter max/min), the tiled Transpose paths, clamped and negative
Slice steps, TopK ties...

Each case is written in the backend-test layout the conformance runner reads
(tests/onnx/conformance.c):

    tests/fixtures/onnx/shape/test_<name>/model.onnx
    tests/fixtures/onnx/shape/test_<name>/test_data_set_0/{input,output}_K.pb

Expected outputs are computed here with numpy (the reference), never typed
by hand.  Run from the repository root:

    /usr/bin/python3 tests/onnx/gen_shape_cases.py
"""
import os
import shutil

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "onnx", "shape")
rng = np.random.default_rng(20261204)

I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


def elem_type(a):
    if a.dtype == object:
        return TensorProto.STRING
    return helper.np_dtype_to_tensor_dtype(a.dtype) if hasattr(
        helper, "np_dtype_to_tensor_dtype") else __import__("onnx").mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype]


def vinfo(name, a):
    return helper.make_tensor_value_info(name, elem_type(a), list(a.shape))


def tensor_pb(a, name):
    if a.dtype == object:
        t = helper.make_tensor(name, TensorProto.STRING, list(a.shape),
                               [s.encode() for s in a.flatten()])
        return t
    return numpy_helper.from_array(a, name)


def case(name, nodes, inputs, outputs, opset):
    """inputs / outputs: lists of (name, numpy array)."""
    d = os.path.join(ROOT, "test_" + name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    g = helper.make_graph(nodes, name, [vinfo(n, a) for n, a in inputs],
                          [vinfo(n, a) for n, a in outputs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="gen_shape_cases.py")
    m.ir_version = 8
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    for k, (n, a) in enumerate(inputs):
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "wb") as f:
            f.write(tensor_pb(a, n).SerializeToString())
    for k, (n, a) in enumerate(outputs):
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), "wb") as f:
            f.write(tensor_pb(a, n).SerializeToString())


def strings(shape):
    words = ["alpha", "", "beta", "gamma", "delta", "x", "epsilon", "zeta", "eta", "theta"]
    n = int(np.prod(shape))
    return np.array([words[i % len(words)] + str(i) for i in range(n)], dtype=object).reshape(shape)


def randf(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)

    # ---- Transpose: tiled 2-D, batched 3-D, attention 4-D, odd sizes and types
    for nm, shape, perm, dt in [
        ("transpose_2d_tiled_f32", (45, 71), None, np.float32),
        ("transpose_3d_021_f32", (3, 40, 37), (0, 2, 1), np.float32),
        ("transpose_3d_102_f64", (6, 7, 9), (1, 0, 2), np.float64),
        ("transpose_4d_0213_f32", (2, 9, 4, 16), (0, 2, 1, 3), np.float32),
        ("transpose_4d_0132_u8", (2, 3, 40, 37), (0, 1, 3, 2), np.uint8),
        ("transpose_5d_f16", (2, 3, 4, 5, 6), (4, 2, 0, 3, 1), np.float16),
        ("transpose_3d_201_i64", (20, 3, 34), (2, 0, 1), np.int64),
    ]:
        x = (rng.standard_normal(shape) * 50).astype(dt)
        attrs = {} if perm is None else {"perm": list(perm)}
        case(nm, [node("Transpose", ["x"], ["y"], **attrs)], [("x", x)],
             [("y", np.ascontiguousarray(np.transpose(x, perm)))], 13)
    s = strings((2, 3, 4))
    case("transpose_string", [node("Transpose", ["x"], ["y"], perm=[2, 0, 1])], [("x", s)],
         [("y", np.transpose(s, (2, 0, 1)).copy())], 13)

    # ---- Concat / Split
    a, b = strings((2, 1)), strings((2, 3))
    case("concat_string", [node("Concat", ["a", "b"], ["y"], axis=1)], [("a", a), ("b", b)],
         [("y", np.concatenate([a, b], axis=1))], 13)
    x = np.arange(10, dtype=np.float32)
    case("split_18_num_outputs_uneven",
         [node("Split", ["x"], ["y0", "y1", "y2"], axis=0, num_outputs=3)], [("x", x)],
         [("y0", x[0:4]), ("y1", x[4:8]), ("y2", x[8:10])], 18)
    x = randf(10, 3)
    sp = np.array([2, 3, 5], dtype=np.int64)
    case("split_13_input_2d", [node("Split", ["x", "s"], ["y0", "y1", "y2"], axis=0)],
         [("x", x), ("s", sp)], [("y0", x[0:2]), ("y1", x[2:5]), ("y2", x[5:10])], 13)
    s = strings((4, 2))
    case("split_string", [node("Split", ["x"], ["y0", "y1"], axis=0)], [("x", s)],
         [("y0", s[0:2]), ("y1", s[2:4])], 13)

    # ---- Slice: extreme / clamped bounds, negative steps, int32 indices, strings
    x = randf(5, 6, 7)
    case("slice_extreme_bounds_neg_step",
         [node("Slice", ["x", "s", "e", "a", "st"], ["y"])],
         [("x", x), ("s", np.array([I64_MAX, 1], np.int64)),
          ("e", np.array([I64_MIN, 100], np.int64)), ("a", np.array([0, -1], np.int64)),
          ("st", np.array([-2, 3], np.int64))],
         [("y", x[I64_MAX:I64_MIN:-2, :, 1:100:3].copy())], 13)
    case("slice_int32_indices",
         [node("Slice", ["x", "s", "e", "a", "st"], ["y"])],
         [("x", x), ("s", np.array([-1, 4], np.int32)), ("e", np.array([-6, -100], np.int32)),
          ("a", np.array([2, 1], np.int32)), ("st", np.array([-1, -2], np.int32))],
         [("y", x[:, 4:-100:-2, -1:-6:-1].copy())], 13)
    case("slice_empty_result",
         [node("Slice", ["x", "s", "e"], ["y"])],
         [("x", x), ("s", np.array([3], np.int64)), ("e", np.array([1], np.int64))],
         [("y", x[3:1].copy())], 13)
    case("slice_1_attrs", [node("Slice", ["x"], ["y"], starts=[1, -3], ends=[4, 1000],
                                axes=[1, 2])],
         [("x", x)], [("y", x[:, 1:4, -3:1000].copy())], 9)
    s = strings((5, 4))
    case("slice_string", [node("Slice", ["x", "s", "e", "a", "st"], ["y"])],
         [("x", s), ("s", np.array([4], np.int64)), ("e", np.array([0], np.int64)),
          ("a", np.array([0], np.int64)), ("st", np.array([-2], np.int64))],
         [("y", s[4:0:-2].copy())], 13)

    # ---- Gather family with int32 indices and strings
    x = randf(4, 5, 6)
    idx = np.array([[-1, 0], [2, -4]], np.int32)
    case("gather_int32_negative_axis1", [node("Gather", ["x", "i"], ["y"], axis=1)],
         [("x", x), ("i", idx)], [("y", np.take(x, idx, axis=1))], 13)
    s = strings((5, 3))
    idx = np.array([4, -5, 2], np.int64)
    case("gather_string", [node("Gather", ["x", "i"], ["y"], axis=0)],
         [("x", s), ("i", idx)], [("y", np.take(s, idx, axis=0))], 13)
    idx = rng.integers(-6, 6, size=(4, 5, 3)).astype(np.int64)
    case("gather_elements_3d_axis2", [node("GatherElements", ["x", "i"], ["y"], axis=2)],
         [("x", x), ("i", idx)], [("y", np.take_along_axis(x, np.where(idx < 0, idx + 6, idx), 2))],
         13)
    data = randf(2, 3, 4, 5)
    ind = np.array([[[1, 2], [0, 3]], [[2, 0], [1, 1]]], np.int64)  # (2, 2, 2), batch_dims 1
    want = np.stack([np.stack([data[b][tuple(ind[b, t])] for t in range(2)]) for b in range(2)])
    case("gathernd_batch1_slices", [node("GatherND", ["x", "i"], ["y"], batch_dims=1)],
         [("x", data), ("i", ind)], [("y", want)], 13)
    s = strings((3, 2))
    ind = np.array([[2, 1], [0, 0]], np.int64)
    case("gathernd_string", [node("GatherND", ["x", "i"], ["y"])], [("x", s), ("i", ind)],
         [("y", np.array([s[2, 1], s[0, 0]], dtype=object))], 13)

    # ---- Scatter family: opset 18 max/min, duplicate adds on integers, strings
    for red in ["max", "min", "add", "mul"]:
        data = rng.integers(-9, 9, size=(4, 4)).astype(np.int64)
        ind = np.array([[1, 0, 3], [1, 1, 2]], np.int64)
        upd = rng.integers(-9, 9, size=(2, 3)).astype(np.int64)
        want = data.copy()
        f = {"max": np.maximum, "min": np.minimum, "add": np.add, "mul": np.multiply}[red]
        for i in range(2):
            for j in range(3):
                want[i, ind[i, j]] = f(want[i, ind[i, j]], upd[i, j])
        case("scatter_elements_18_%s_axis1" % red,
             [node("ScatterElements", ["x", "i", "u"], ["y"], axis=1, reduction=red)],
             [("x", data), ("i", ind), ("u", upd)], [("y", want)], 18)
        data = randf(4, 3, 2)
        ind = np.array([[1], [3], [1]], np.int64)
        upd = randf(3, 3, 2)
        want = data.copy()
        for t in range(3):
            want[ind[t, 0]] = f(want[ind[t, 0]], upd[t])
        case("scatternd_18_%s" % red,
             [node("ScatterND", ["x", "i", "u"], ["y"], reduction=red)],
             [("x", data), ("i", ind), ("u", upd)], [("y", want)], 18)
    s = strings((3, 3))
    ind = np.array([[2, 0], [0, 1]], np.int64)
    upd = np.array(["new0", "new1"], dtype=object)
    want = s.copy()
    want[2, 0], want[0, 1] = "new0", "new1"
    case("scatternd_string", [node("ScatterND", ["x", "i", "u"], ["y"])],
         [("x", s), ("i", ind), ("u", upd)], [("y", want)], 13)
    data = randf(3, 4)
    ind = np.array([[-1, 0], [2, -4]], np.int32)
    upd = randf(2, 2)
    want = data.copy()
    for i in range(2):
        for j in range(2):
            want[i, ind[i, j] % 4] = upd[i, j]
    case("scatter_elements_int32_negative",
         [node("ScatterElements", ["x", "i", "u"], ["y"], axis=1)],
         [("x", data), ("i", ind), ("u", upd)], [("y", want)], 13)

    # ---- Pad: wrap, axes input, negative pads, edge on ints, string constant
    x = randf(3, 4)
    case("pad_19_wrap", [node("Pad", ["x", "p"], ["y"], mode="wrap")],
         [("x", x), ("p", np.array([1, 2, 2, 3], np.int64))],
         [("y", np.pad(x, ((1, 2), (2, 3)), mode="wrap"))], 19)
    x3 = randf(2, 3, 4)
    case("pad_18_axes_constant", [node("Pad", ["x", "p", "c", "a"], ["y"], mode="constant")],
         [("x", x3), ("p", np.array([1, 0, 2, 1], np.int64)), ("c", np.array(7.5, np.float32)),
          ("a", np.array([-1, 0], np.int64))],
         [("y", np.pad(x3, ((0, 1), (0, 0), (1, 2)), constant_values=7.5))], 18)
    case("pad_negative_crop", [node("Pad", ["x", "p"], ["y"])],
         [("x", x3), ("p", np.array([0, -1, 1, -1, 1, -2], np.int64))],
         [("y", np.pad(x3, ((0, 0), (0, 1), (1, 0)))[:-1, 1:, :-2].copy())], 13)
    case("pad_reflect_wide", [node("Pad", ["x", "p"], ["y"], mode="reflect")],
         [("x", x), ("p", np.array([2, 3, 2, 3], np.int64))],
         [("y", np.pad(x, ((2, 2), (3, 3)), mode="reflect"))], 13)
    xi = rng.integers(-100, 100, size=(2, 3, 2)).astype(np.int32)
    case("pad_edge_int32", [node("Pad", ["x", "p"], ["y"], mode="edge")],
         [("x", xi), ("p", np.array([1, 0, 2, 0, 3, 1], np.int64))],
         [("y", np.pad(xi, ((1, 0), (0, 3), (2, 1)), mode="edge"))], 13)
    s = strings((2, 2))
    case("pad_string_constant", [node("Pad", ["x", "p", "c"], ["y"])],
         [("x", s), ("p", np.array([0, 1, 1, 0], np.int64)), ("c", np.array("pad", dtype=object))],
         [("y", np.pad(s, ((0, 1), (1, 0)), constant_values="pad"))], 13)
    case("pad_2_attrs_edge", [node("Pad", ["x"], ["y"], mode="edge", pads=[0, 1, 2, 1])],
         [("x", x)], [("y", np.pad(x, ((0, 2), (1, 1)), mode="edge"))], 2)

    # ---- Expand / Tile
    x = randf(3, 1)
    case("expand_shape_of_lower_rank", [node("Expand", ["x", "s"], ["y"])],
         [("x", x), ("s", np.array([2, 1, 6], np.int64))],
         [("y", np.broadcast_to(x, (2, 3, 6)).copy())], 13)
    s = strings((1, 3))
    case("expand_string", [node("Expand", ["x", "s"], ["y"])],
         [("x", s), ("s", np.array([2, 1], np.int64))],
         [("y", np.broadcast_to(s, (2, 3)).copy())], 13)
    xu = rng.integers(0, 255, size=(2, 3, 4)).astype(np.uint8)
    case("tile_uint8_3d", [node("Tile", ["x", "r"], ["y"])],
         [("x", xu), ("r", np.array([2, 1, 3], np.int64))], [("y", np.tile(xu, (2, 1, 3)))], 13)

    case("tile_1_tiles_axis", [node("Tile", ["x", "t", "a"], ["y"])],
         [("x", xu), ("t", np.array(3, np.int64)), ("a", np.array(1, np.int64))],
         [("y", np.tile(xu, (1, 3, 1)))], 1)

    # ---- TopK ties (lower index first), smallest, int types
    xt = np.array([[3, 1, 3, 2, 3, 1], [0, 0, 5, 5, 1, 0]], np.int32)
    for largest in (1, 0):
        order = np.argsort(-xt if largest else xt, axis=1, kind="stable")[:, :4]
        case("topk_ties_int32_largest%d" % largest,
             [node("TopK", ["x", "k"], ["v", "i"], axis=1, largest=largest)],
             [("x", xt), ("k", np.array([4], np.int64))],
             [("v", np.take_along_axis(xt, order, 1)), ("i", order.astype(np.int64))], 11)
    xf = np.round(randf(5, 3, 4) * 2).astype(np.float32)
    order = np.argsort(-xf, axis=0, kind="stable")[:3]
    case("topk_axis0_float_ties", [node("TopK", ["x", "k"], ["v", "i"], axis=0)],
         [("x", xf), ("k", np.array([3], np.int64))],
         [("v", np.take_along_axis(xf, order, 0)), ("i", order.astype(np.int64))], 11)

    # ---- CumSum with an int32 axis, exclusive + reverse
    xi = rng.integers(-50, 50, size=(2, 5, 3)).astype(np.int64)
    rev = np.flip(xi, 1)
    want = np.flip(np.cumsum(rev, 1) - rev, 1)
    case("cumsum_exclusive_reverse_int64",
         [node("CumSum", ["x", "a"], ["y"], exclusive=1, reverse=1)],
         [("x", xi), ("a", np.array(1, np.int32))], [("y", want)], 14)
    xd = randf(4, 6, dtype=np.float64)
    case("cumsum_double_negative_axis", [node("CumSum", ["x", "a"], ["y"])],
         [("x", xd), ("a", np.array(-1, np.int64))], [("y", np.cumsum(xd, -1))], 14)

    # ---- Unique on strings (sorted) and unsorted with all outputs
    s = np.array(["b", "a", "c", "a", "b", "b"], dtype=object)
    u, first, inv, cnt = np.unique(s, return_index=True, return_inverse=True, return_counts=True)
    case("unique_string_sorted", [node("Unique", ["x"], ["y", "i", "inv", "c"])], [("x", s)],
         [("y", u), ("i", first.astype(np.int64)), ("inv", inv.reshape(-1).astype(np.int64)),
          ("c", cnt.astype(np.int64))], 11)
    xf = np.array([2.0, -1.0, 2.0, 0.5, -1.0, 7.0, 0.5], np.float32)
    u, first, inv, cnt = np.unique(xf, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(first)  # unsorted: by first occurrence
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    case("unique_unsorted_all_outputs", [node("Unique", ["x"], ["y", "i", "inv", "c"], sorted=0)],
         [("x", xf)],
         [("y", u[order]), ("i", first[order].astype(np.int64)),
          ("inv", remap[inv.reshape(-1)].astype(np.int64)), ("c", cnt[order].astype(np.int64))],
         11)

    # ---- Constant forms
    case("constant_value_floats", [node("Constant", [], ["y"], value_floats=[1.5, -2.0, 3.25])],
         [], [("y", np.array([1.5, -2.0, 3.25], np.float32))], 13)
    case("constant_value_ints", [node("Constant", [], ["y"], value_ints=[1, -2, 1 << 40])], [],
         [("y", np.array([1, -2, 1 << 40], np.int64))], 13)
    case("constant_value_int", [node("Constant", [], ["y"], value_int=-7)], [],
         [("y", np.array(-7, np.int64))], 13)
    case("constant_value_float", [node("Constant", [], ["y"], value_float=0.25)], [],
         [("y", np.array(0.25, np.float32))], 13)
    case("constant_value_strings", [node("Constant", [], ["y"], value_strings=["ab", "", "c"])],
         [], [("y", np.array(["ab", "", "c"], dtype=object))], 13)
    case("constant_value_string", [node("Constant", [], ["y"], value_string="hello")], [],
         [("y", np.array("hello", dtype=object))], 13)

    # ---- views and small ops
    x = randf(1, 3, 1, 2)
    case("squeeze_13_no_axes", [node("Squeeze", ["x"], ["y"])], [("x", x)],
         [("y", np.squeeze(x))], 13)
    # an empty axes input squeezes every dim of 1, as ONNX Runtime does
    case("squeeze_13_empty_axes_input", [node("Squeeze", ["x", "a"], ["y"])],
         [("x", x), ("a", np.zeros((0,), np.int64))], [("y", np.squeeze(x))], 13)
    case("squeeze_11_attr_axes", [node("Squeeze", ["x"], ["y"], axes=[-2])], [("x", x)],
         [("y", np.squeeze(x, -2))], 11)
    case("unsqueeze_11_attr_negative", [node("Unsqueeze", ["x"], ["y"], axes=[-1, 0])],
         [("x", x)], [("y", x.reshape(1, 1, 3, 1, 2, 1))], 11)
    s = strings((2, 3))
    case("identity_string", [node("Identity", ["x"], ["y"])], [("x", s)], [("y", s)], 13)
    case("reshape_string", [node("Reshape", ["x", "s"], ["y"])],
         [("x", s), ("s", np.array([3, -1], np.int64))], [("y", s.reshape(3, -1))], 13)
    xz = np.zeros((0, 3), np.float32)
    case("reshape_allowzero_empty", [node("Reshape", ["x", "s"], ["y"], allowzero=1)],
         [("x", xz), ("s", np.array([3, 0], np.int64))], [("y", xz.reshape(3, 0))], 14)
    case("flatten_string_axis0", [node("Flatten", ["x"], ["y"], axis=0)], [("x", s)],
         [("y", s.reshape(1, -1))], 13)
    case("range_int64_negative", [node("Range", ["a", "b", "d"], ["y"])],
         [("a", np.array(10, np.int64)), ("b", np.array(-7, np.int64)),
          ("d", np.array(-3, np.int64))], [("y", np.arange(10, -7, -3, dtype=np.int64))], 11)
    case("range_double", [node("Range", ["a", "b", "d"], ["y"])],
         [("a", np.array(0.5, np.float64)), ("b", np.array(3.0, np.float64)),
          ("d", np.array(0.75, np.float64))], [("y", np.arange(0.5, 3.0, 0.75))], 11)
    # Range is defined by a Loop that adds delta in the element type (ORT does the same)
    want, v = [], np.float32(0.1)
    for _ in range(999):
        want.append(v)
        v = np.float32(v + np.float32(0.1))
    case("range_float_accumulates", [node("Range", ["a", "b", "d"], ["y"])],
         [("a", np.array(0.1, np.float32)), ("b", np.array(99.95, np.float32)),
          ("d", np.array(0.1, np.float32))], [("y", np.array(want, np.float32))], 11)
    xn = np.array([[0.0, -0.0, 3.0], [1.0, 0.0, -2.0]], np.float32)
    case("nonzero_negative_zero", [node("NonZero", ["x"], ["y"])], [("x", xn)],
         [("y", np.array(np.nonzero(xn), np.int64))], 13)
    xt = rng.integers(-9, 9, size=(2, 4, 5)).astype(np.int64)
    case("trilu_lower_batched_k", [node("Trilu", ["x", "k"], ["y"], upper=0)],
         [("x", xt), ("k", np.array(-1, np.int64))], [("y", np.tril(xt, -1))], 14)
    case("trilu_upper_k_past_end", [node("Trilu", ["x", "k"], ["y"])],
         [("x", xt), ("k", np.array(7, np.int64))], [("y", np.triu(xt, 7))], 14)
    xh = randf(1, 8, 2, 3).astype(np.float16)
    b = 2
    t = xh.reshape(1, 2, b, b, 2, 3).transpose(0, 1, 4, 2, 5, 3).reshape(1, 2, 4, 6)
    case("depthtospace_crd_f16", [node("DepthToSpace", ["x"], ["y"], blocksize=2, mode="CRD")],
         [("x", xh)], [("y", t)], 13)
    xs = randf(2, 2, 4, 6)
    t = xs.reshape(2, 2, 2, b, 3, b).transpose(0, 3, 5, 1, 2, 4).reshape(2, 8, 2, 3)
    case("spacetodepth_batch2", [node("SpaceToDepth", ["x"], ["y"], blocksize=2)],
         [("x", xs)], [("y", t)], 13)
    xi = rng.integers(0, 3, size=(2, 4)).astype(np.int64)
    vals = np.array([-1.5, 2.5], np.float32)
    want = np.where(np.arange(5).reshape(5, 1, 1) == xi[None], vals[1], vals[0]).astype(np.float32)
    case("onehot_axis0_int32_depth", [node("OneHot", ["i", "d", "v"], ["y"], axis=0)],
         [("i", xi), ("d", np.array(5, np.int32)), ("v", vals)], [("y", want)], 11)
    xc = randf(3, 4)
    cond = np.array([True, False, True, True, False], bool)
    case("compress_flat_no_axis", [node("Compress", ["x", "c"], ["y"])],
         [("x", xc), ("c", cond)], [("y", np.compress(cond, xc))], 11)
    xe = np.zeros((3, 5), np.int32)
    case("eyelike_k_neg_int32", [node("EyeLike", ["x"], ["y"], k=-1)], [("x", xe)],
         [("y", np.eye(3, 5, k=-1, dtype=np.int32))], 9)
    xs = randf(2, 3, 5)
    case("shape_start_end_15", [node("Shape", ["x"], ["y"], start=-2, end=10)], [("x", xs)],
         [("y", np.array(xs.shape[-2:], np.int64))], 15)
    lens = np.array([3, 1, 0], np.int64)
    xr = randf(4, 3, 2)
    want = xr.copy()
    for bb in range(3):
        want[: lens[bb], bb] = xr[: lens[bb], bb][::-1]
    case("reversesequence_time0_zero_len",
         [node("ReverseSequence", ["x", "l"], ["y"], time_axis=0, batch_axis=1)],
         [("x", xr), ("l", lens)], [("y", want)], 10)
    xb = np.array([[1, 2], [3, 4]], np.float32)
    case("constantofshape_int32_value",
         [node("ConstantOfShape", ["s"], ["y"],
               value=numpy_helper.from_array(np.array([-3], np.int32)))],
         [("s", np.array([2, 3], np.int64))], [("y", np.full((2, 3), -3, np.int32))], 9)
    case("constantofshape_scalar", [node("ConstantOfShape", ["s"], ["y"])],
         [("s", np.zeros((0,), np.int64))], [("y", np.array(0.0, np.float32))], 9)
    del xb
    bad_models()


def bad_models():
    """Models each kernel must refuse with an error naming the node (read by
    tests/unit/onnx/shape_test.c); written without test data."""
    bad = os.path.join(ROOT, "..", "shape_bad")
    if os.path.isdir(bad):
        shutil.rmtree(bad)
    os.makedirs(bad)

    def model(name, nodes, inputs, opset=13):
        g = helper.make_graph(nodes, name,
                              [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        with open(os.path.join(bad, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())

    F, L = TensorProto.FLOAT, TensorProto.INT64
    model("omitted_output", [node("Transpose", ["x"], [""], name="t0"),
                             node("Identity", ["x"], ["y"])], [("x", F, [2, 3])])
    model("gather_index", [node("Gather", ["x", "i"], ["y"], name="g0")],
          [("x", F, [5, 2]), ("i", L, [1])])
    model("reshape_two_infer", [node("Reshape", ["x", "s"], ["y"], name="r0")],
          [("x", F, [6]), ("s", L, [2])])
    model("range_overflow", [node("Range", ["a", "b", "d"], ["y"], name="rg")],
          [("a", L, []), ("b", L, []), ("d", L, [])])
    model("pad_huge", [node("Pad", ["x", "p"], ["y"], name="p0")],
          [("x", F, [2]), ("p", L, [2])])
    model("tile_overflow", [node("Tile", ["x", "r"], ["y"], name="t1")],
          [("x", F, [2, 3]), ("r", L, [2])])


if __name__ == "__main__":
    main()
