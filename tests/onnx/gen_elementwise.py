#!/usr/bin/python3
"""Generate tests/fixtures/onnx/elementwise: element-wise ONNX cases that
libonnx-testdata 1.12 does not cover (general broadcasting, integer and
half element types, opset 18/20 ops, string Where/Equal/Cast, legacy
attributes), in the test data's own layout (model.onnx +
test_data_set_0/{input,output}_K.pb) so build/tests/onnx_conformance runs
them.  Expected outputs are computed here with numpy.

Run from the repository root:  /usr/bin/python3 tests/onnx/gen_elementwise.py
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join("tests", "fixtures", "onnx", "elementwise")
# malformed nodes each kernel must refuse with an error naming the node
# (tests/unit/onnx/elementwise_test.c runs them on inputs of ones)
BAD = os.path.join("tests", "fixtures", "onnx", "elementwise_bad")
rng = np.random.RandomState(11)
BF16 = "bf16"  # marker dtype: float32 values rounded to bfloat16


def np_to_elem(a):
    if isinstance(a, tuple) and a[0] == BF16:
        return TensorProto.BFLOAT16
    return helper.np_dtype_to_tensor_dtype(a.dtype) if hasattr(helper, "np_dtype_to_tensor_dtype") \
        else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype]


def bf16_bits(f32):
    """float32 array -> bfloat16 bits, round to nearest even (NaN kept quiet)"""
    u = np.asarray(f32, np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return r


def bf16(f32):
    """values exactly representable in bfloat16, as ('bf16', float32 array)"""
    bits = bf16_bits(f32)
    return (BF16, (bits.astype(np.uint32) << 16).view(np.float32).reshape(np.shape(f32)))


def to_tensor(a, name):
    if isinstance(a, tuple) and a[0] == BF16:
        v = a[1]
        t = helper.make_tensor(name, TensorProto.BFLOAT16, v.shape,
                               bf16_bits(v).tobytes(), raw=True)
        return t
    if a.dtype == object:
        t = helper.make_tensor(name, TensorProto.STRING, a.shape,
                               [s.encode() for s in a.ravel()])
        return t
    return numpy_helper.from_array(a, name)


def shape_of(a):
    return list((a[1] if isinstance(a, tuple) else a).shape)


def case(name, op, inputs, outputs, attrs=None, opset=17, in_names=None, out_names=None):
    """inputs/outputs: lists of numpy arrays (or bf16(...)); an input None is omitted ('')"""
    d = os.path.join(OUT, "test_" + name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    in_names = in_names or ["x%d" % i if a is not None else "" for i, a in enumerate(inputs)]
    out_names = out_names or ["y%d" % i for i in range(len(outputs))]
    node = helper.make_node(op, in_names, out_names, **(attrs or {}))
    gin = [helper.make_tensor_value_info(n, np_to_elem(a), shape_of(a))
           for n, a in zip(in_names, inputs) if a is not None]
    gout = [helper.make_tensor_value_info(n, np_to_elem(a), shape_of(a))
            for n, a in zip(out_names, outputs)]
    g = helper.make_graph([node], name, gin, gout)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="ckpt gen_elementwise.py")
    m.ir_version = 8
    onnx.save(m, os.path.join(d, "model.onnx"))
    k = 0
    for n, a in zip(in_names, inputs):
        if a is None:
            continue
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), "wb") as f:
            f.write(to_tensor(a, n).SerializeToString())
        k += 1
    for i, (n, a) in enumerate(zip(out_names, outputs)):
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % i), "wb") as f:
            f.write(to_tensor(a, n).SerializeToString())


def rnd(*shape, dtype=np.float32, lo=-3, hi=3):
    if np.issubdtype(dtype, np.integer):
        return rng.randint(lo, hi, size=shape).astype(dtype)
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def bad_models():
    """one node named 'bad' per model; graph inputs x (float [3]) and i (int32 [4])"""
    if os.path.isdir(BAD):
        shutil.rmtree(BAD)
    os.makedirs(BAD)
    cases = [
        ("add_one_input", "Add", ["x"], {}),
        ("relu_no_input", "Relu", [], {}),
        ("where_two_inputs", "Where", ["x", "x"], {}),
        ("max_no_input", "Max", [], {}),
        ("quantize_no_scale", "QuantizeLinear", ["x"], {}),
        ("pow_one_input", "Pow", ["x"], {}),
        ("add_mixed_types", "Add", ["x", "i"], {}),
        ("add_no_broadcast", "Add", ["x", "i4f"], {}),
        ("clip_vector_min", "Clip", ["x", "x"], {}),
        ("cast_no_to", "Cast", ["x"], {}),
        ("cast_to_complex", "Cast", ["x"], {"to": TensorProto.COMPLEX64}),
        ("bitshift_direction", "BitShift", ["i", "i"], {"direction": "UP"}),
        ("gelu_approximate", "Gelu", ["x"], {"approximate": "fast"}),
        ("sqrt_int32", "Sqrt", ["i"], {}),
        ("where_int_condition", "Where", ["i", "x", "x"], {}),
        ("dequantize_axis_size", "DequantizeLinear", ["i", "x"], {"axis": 0}),
    ]
    for name, op, ins, attrs in cases:
        pre = [helper.make_node("Cast", ["i"], ["i4f"], to=TensorProto.FLOAT)]
        node = helper.make_node(op, ins, ["y"], name="bad", **attrs)
        g = helper.make_graph(pre + [node], name,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3]),
                               helper.make_tensor_value_info("i", TensorProto.INT32, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 20)],
                              producer_name="ckpt gen_elementwise.py")
        m.ir_version = 8
        onnx.save(m, os.path.join(BAD, name + ".onnx"))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    # ---- broadcasting shapes through the general path
    for nm, sa, sb in [("mid", (2, 3, 4, 5), (3, 1, 5)), ("outer", (4, 1), (1, 5)),
                       ("both", (2, 1, 4), (3, 1)), ("scalar_left", (), (3, 4)),
                       ("inner1", (3, 4, 1), (3, 4, 6)), ("rank0", (), ()),
                       ("empty", (0, 3), (1, 3))]:
        a, b = rnd(*sa), rnd(*sb)
        case("add_bcast_" + nm, "Add", [a, b], [a + b])
        case("mul_bcast_" + nm, "Mul", [b, a], [b * a])
    a, b = rnd(2, 3, 4, dtype=np.float64), rnd(3, 1, dtype=np.float64)
    case("sub_f64_bcast", "Sub", [a, b], [a - b])
    case("div_f64_bcast", "Div", [a, b + 5], [a / (b + 5)])

    # ---- integer arithmetic (C truncating division)
    for dt in (np.int8, np.int16, np.int32, np.int64, np.uint16, np.uint32, np.uint64):
        lo = 0 if np.issubdtype(dt, np.unsignedinteger) else -50
        a, b = rnd(3, 4, dtype=dt, lo=lo, hi=50), rnd(4, dtype=dt, lo=1, hi=9)
        nm = np.dtype(dt).name
        case("add_" + nm, "Add", [a, b], [(a + b).astype(dt)])
        case("sub_" + nm, "Sub", [a, b], [(a - b).astype(dt)])
        case("mul_" + nm, "Mul", [a, b], [(a * b).astype(dt)])
        q = np.fix(a.astype(np.float64) / b.astype(np.float64)).astype(dt)
        case("div_" + nm, "Div", [a, b], [q])
    a = np.array([100, -100, 127, -128], np.int8)
    b = np.array([100, 100, 1, -1], np.int8)
    case("add_int8_wrap", "Add", [a, b], [(a.astype(np.int16) + b).astype(np.int8)])

    # ---- float16 / bfloat16 through float32
    a, b = rnd(2, 3, 4).astype(np.float16), rnd(3, 1).astype(np.float16)
    case("add_f16_bcast", "Add", [a, b], [(a.astype(np.float32) + b).astype(np.float16)])
    case("less_f16_bcast", "Less", [a, b], [a < b])
    x = rnd(3, 5)
    bx = bf16(x)
    case("relu_bf16", "Relu", [bx], [bf16(np.maximum(bx[1], 0))])
    case("sigmoid_f16", "Sigmoid", [x.astype(np.float16)],
         [(1 / (1 + np.exp(-x.astype(np.float16).astype(np.float32)))).astype(np.float16)])
    xb, yb = bf16(rnd(4)), bf16(rnd(4))
    case("mul_bf16", "Mul", [xb, yb], [bf16(xb[1] * yb[1])])
    xn = np.array([1.0, np.nan, np.inf, -2.0], np.float16)
    case("isnan_f16", "IsNaN", [xn], [np.isnan(xn)], opset=13)
    case("clip_f16", "Clip", [x.astype(np.float16), np.array(-1, np.float16),
                              np.array(0.5, np.float16)],
         [np.clip(x.astype(np.float16), -1, 0.5)], opset=13)

    # ---- comparisons and logic
    a, b = rnd(3, 1, dtype=np.int64, lo=-3, hi=3), rnd(4, dtype=np.int64, lo=-3, hi=3)
    case("greater_int64_bcast", "Greater", [a, b], [a > b])
    case("lessorequal_int32", "LessOrEqual", [a.astype(np.int32), b.astype(np.int32)], [a <= b])
    case("equal_bool", "Equal", [a > 0, b > 0], [(a > 0) == (b > 0)], opset=13)
    s1 = np.array(["a", "bc", "", "d"], dtype=object)
    s2 = np.array(["a", "b", "", "e"], dtype=object)
    case("equal_string", "Equal", [s1, s2], [s1 == s2], opset=19)
    for op, fn in [("BitwiseAnd", np.bitwise_and), ("BitwiseOr", np.bitwise_or),
                   ("BitwiseXor", np.bitwise_xor)]:
        a, b = rnd(3, 4, dtype=np.int32, lo=-100, hi=100), rnd(4, dtype=np.int32, lo=-100, hi=100)
        case(op.lower() + "_int32", op, [a, b], [fn(a, b)], opset=18)
        a, b = rnd(5, dtype=np.uint8, lo=0, hi=255), rnd(5, dtype=np.uint8, lo=0, hi=255)
        case(op.lower() + "_uint8", op, [a, b], [fn(a, b)], opset=18)
    a = rnd(6, dtype=np.int16, lo=-300, hi=300)
    case("bitwisenot_int16", "BitwiseNot", [a], [np.invert(a)], opset=18)
    a = rnd(6, dtype=np.uint64, lo=0, hi=1000)
    case("bitwisenot_uint64", "BitwiseNot", [a], [np.invert(a)], opset=18)

    # ---- unary integer ops
    a = rnd(7, dtype=np.int32, lo=-9, hi=9)
    case("abs_int32", "Abs", [a], [np.abs(a)])
    case("neg_int8", "Neg", [a.astype(np.int8)], [-a.astype(np.int8)])
    case("sign_int64", "Sign", [a.astype(np.int64)], [np.sign(a).astype(np.int64)])
    case("relu_int32", "Relu", [a], [np.maximum(a, 0)], opset=14)
    case("shrink_int32", "Shrink", [a], [np.where(a < -2, a + 1, np.where(a > 2, a - 1, 0))
                                         .astype(np.int32)],
         attrs={"lambd": 2.0, "bias": 1.0}, opset=9)
    case("prelu_int32", "PRelu", [a.reshape(7, 1), np.array([2, 3], np.int32)],
         [np.where(a.reshape(7, 1) < 0, a.reshape(7, 1) * np.array([2, 3], np.int32),
                   a.reshape(7, 1))], opset=16)

    # ---- float64 activations and numerically sensitive inputs
    x = np.array([-100, -20, -1, -0.5, 0, 0.5, 1, 20, 100], np.float64)
    case("sigmoid_f64", "Sigmoid", [x], [1 / (1 + np.exp(-x))])
    case("softplus_f32_large", "Softplus", [x.astype(np.float32)],
         [np.logaddexp(0, x).astype(np.float32)])
    case("elu_f64", "Elu", [x], [np.where(x < 0, 0.7 * (np.exp(x) - 1), x)],
         attrs={"alpha": 0.7})
    case("tanh_f64", "Tanh", [x], [np.tanh(x)])
    xs = rnd(4, 5)
    erf = np.vectorize(__import__("math").erf)
    case("gelu_none", "Gelu", [xs], [(0.5 * xs * (1 + erf(xs / np.sqrt(2)))).astype(np.float32)],
         opset=20)
    case("gelu_tanh", "Gelu", [xs],
         [(0.5 * xs * (1 + np.tanh(np.sqrt(2 / np.pi) * (xs + 0.044715 * xs ** 3))))
          .astype(np.float32)], attrs={"approximate": "tanh"}, opset=20)
    case("gelu_f64", "Gelu", [xs.astype(np.float64)],
         [0.5 * xs.astype(np.float64) * (1 + erf(xs.astype(np.float64) / np.sqrt(2)))],
         opset=20)
    xe = np.concatenate([np.linspace(-5, 5, 1001), [1e-30, -1e-10, 1e-5, 3e-4, np.inf, -np.inf,
                                                      np.nan]]).astype(np.float32)
    case("erf_f32_range", "Erf", [xe], [erf(xe.astype(np.float64)).astype(np.float32)])
    case("mish", "Mish", [xs], [(xs * np.tanh(np.logaddexp(0, xs))).astype(np.float32)],
         opset=18)
    case("mish_f64", "Mish", [x], [x * np.tanh(np.logaddexp(0, x))], opset=18)

    # ---- legacy broadcast attributes (opset < 7)
    a, b = rnd(2, 3, 4, 5), rnd(3, 4)
    case("add_legacy_axis", "Add", [a, b], [a + b.reshape(3, 4, 1)],
         attrs={"broadcast": 1, "axis": 1}, opset=6)
    b5 = rnd(5)
    case("mul_legacy_suffix", "Mul", [a, b5], [a * b5], attrs={"broadcast": 1}, opset=6)

    # ---- Pow
    a = rnd(3, 4)
    case("pow_square", "Pow", [a, np.array(2, np.float32)], [a * a], opset=15)
    ap = np.abs(a) + 0.1
    for e in (3.0, 0.5, -1.0, 1.0, 1.7):
        case("pow_scalar_%s" % str(e).replace(".", "p").replace("-", "m"), "Pow",
             [ap, np.array(e, np.float32)], [np.power(ap, np.float32(e)).astype(np.float32)],
             opset=15)
    a = np.array([3, -2, 7], np.int64)
    e = np.array([30, 3, 2], np.int64)
    case("pow_int64_big", "Pow", [a, e], [a ** e], opset=15)
    a = rnd(5).astype(np.float16)
    e = np.array([2, 3, 1, 0, 2], np.float16)
    case("pow_f16", "Pow", [a, e], [np.power(a.astype(np.float32), e.astype(np.float32))
                                    .astype(np.float16)], opset=15)
    a = np.array([1.5, 2.0, 4.0], np.float64)
    case("pow_f64_int32", "Pow", [a, np.array([2, -1, 3], np.int32)],
         [a ** np.array([2, -1, 3], np.float64)], opset=15)

    # ---- Mod
    a, b = rnd(6, dtype=np.int32, lo=-20, hi=20), np.array([3, -3, 7, -7, 5, 2], np.int32)
    case("mod_int32_bcast_python", "Mod", [a.reshape(6, 1), b],
         [np.mod(a.reshape(6, 1), b)], opset=13)
    case("mod_int32_fmod", "Mod", [a, b], [np.fmod(a, b)], attrs={"fmod": 1}, opset=13)
    a = rnd(6, dtype=np.float64)
    case("mod_f64_fmod", "Mod", [a, np.array(0.7)], [np.fmod(a, 0.7)], attrs={"fmod": 1},
         opset=13)

    # ---- variadic with broadcasting across all inputs
    a, b, c = rnd(3, 1), rnd(1, 4), rnd(4)
    case("max_bcast3", "Max", [a, b, c], [np.maximum(np.maximum(a, b), c)], opset=13)
    case("min_bcast3", "Min", [c, b, a], [np.minimum(np.minimum(c, b), a)], opset=13)
    case("sum_bcast3", "Sum", [a, b, c], [a + b + c], opset=13)
    case("mean_bcast3", "Mean", [a, b, c], [((a + b + c) / 3).astype(np.float32)], opset=13)
    case("sum_one_bcast", "Sum", [a], [a], opset=13)
    h = [rnd(2, 3).astype(np.float16) for _ in range(3)]
    case("mean_f16", "Mean", h, [(sum(v.astype(np.float32) for v in h) / 3).astype(np.float16)],
         opset=13)
    ai, bi = rnd(2, 3, dtype=np.int64, lo=-9, hi=9), rnd(3, dtype=np.int64, lo=-9, hi=9)
    case("max_int64_bcast", "Max", [ai, bi], [np.maximum(ai, bi)], opset=13)
    xn = np.array([1.0, np.nan, 3.0], np.float32)
    case("max_nan", "Max", [xn, np.array([2.0, 0.0, np.nan], np.float32)],
         [np.maximum(xn, np.array([2.0, 0.0, np.nan], np.float32))], opset=13)

    # ---- Where
    cnd = rnd(3, 1, dtype=np.int32, lo=0, hi=2).astype(bool)
    x, y = rnd(1, 4), rnd(4)
    case("where_bcast", "Where", [cnd, x, y], [np.where(cnd, x, y)], opset=16)
    xs = np.array(["ab", "cd", "ef", "gh"], dtype=object)
    ys = np.array(["Z"], dtype=object)
    case("where_string", "Where", [cnd, xs, ys], [np.where(cnd, xs, ys).astype(object)], opset=16)
    xi, yi = rnd(3, 4, dtype=np.uint16, lo=0, hi=900), rnd(4, dtype=np.uint16, lo=0, hi=900)
    mask = rng.randint(0, 2, size=(1, 1, 5, 5)).astype(bool)
    sc = rnd(2, 3, 5, 5)
    case("where_masked_fill", "Where", [mask, sc, np.array(-np.inf, np.float32)],
         [np.where(mask, sc, np.float32(-np.inf))], opset=16)
    case("where_x_scalar", "Where", [mask, np.array(0.5, np.float32), sc],
         [np.where(mask, np.float32(0.5), sc)], opset=16)
    case("where_uint16", "Where", [cnd, xi, yi], [np.where(cnd, xi, yi)], opset=16)

    # ---- Clip forms
    x = rnd(3, 4)
    case("clip_opset6", "Clip", [x], [np.clip(x, -0.5, 1.0)], attrs={"min": -0.5, "max": 1.0},
         opset=6)
    case("clip_max_only", "Clip", [x, None, np.array(0.25, np.float32)],
         [np.minimum(x, 0.25)], opset=13)
    xu = rnd(3, 4, dtype=np.uint8, lo=0, hi=255)
    case("clip_uint8", "Clip", [xu, np.array(20, np.uint8), np.array(200, np.uint8)],
         [np.clip(xu, 20, 200)], opset=13)
    xl = rnd(5, dtype=np.int64, lo=-1000, hi=1000)
    case("clip_int64_min", "Clip", [xl, np.array(-10, np.int64)], [np.maximum(xl, -10)],
         opset=13)

    # ---- Cast pairs
    f = np.array([-2.7, -0.5, 0.0, 0.5, 1.9, 100.25, 3e4], np.float32)
    case("cast_float_to_int32", "Cast", [f], [f.astype(np.int32)], attrs={"to": 6}, opset=13)
    case("cast_float_to_int64", "Cast", [f], [f.astype(np.int64)], attrs={"to": 7}, opset=13)
    case("cast_float_to_bool", "Cast", [f], [f.astype(bool)], attrs={"to": 9}, opset=13)
    fw = np.array([300.0, -1.0, 255.9, 3.5, -200.0, 70000.5], np.float32)
    with np.errstate(invalid="ignore"):
        for to, dt in ((2, np.uint8), (3, np.int8), (5, np.int16), (4, np.uint16)):
            case("cast_float_to_%s_wrap" % np.dtype(dt).name, "Cast", [fw], [fw.astype(dt)],
                 attrs={"to": to}, opset=13)
    case("cast_bool_to_float", "Cast", [f > 0], [(f > 0).astype(np.float32)], attrs={"to": 1},
         opset=13)
    i = np.array([-5, 0, 7, 123456789], np.int64)
    case("cast_int64_to_float", "Cast", [i], [i.astype(np.float32)], attrs={"to": 1}, opset=13)
    case("cast_int64_to_int32", "Cast", [i], [i.astype(np.int32)], attrs={"to": 6}, opset=13)
    case("cast_int64_to_uint8", "Cast", [i], [i.astype(np.uint8)], attrs={"to": 2}, opset=13)
    case("cast_int64_to_string", "Cast", [i], [np.array([str(v) for v in i], dtype=object)],
         attrs={"to": 8}, opset=13)
    si = np.array(["-5", "0", "7", "123456789012"], dtype=object)
    case("cast_string_to_int64", "Cast", [si], [np.array([int(v) for v in si], np.int64)],
         attrs={"to": 7}, opset=13)
    d = np.array([1e-5, 0.1, 123456.789, 65504.0, 7e4, -3.25], np.float64)
    case("cast_double_to_float16", "Cast", [d], [d.astype(np.float16)], attrs={"to": 10},
         opset=13)
    h = np.array([-2.5, 0.0, 1.5, 1000.0], np.float16)
    case("cast_float16_to_int32", "Cast", [h], [h.astype(np.int32)], attrs={"to": 6}, opset=13)
    u = np.array([0, 1, 2 ** 63, 2 ** 64 - 1], np.uint64)
    case("cast_uint64_to_double", "Cast", [u], [u.astype(np.float64)], attrs={"to": 11},
         opset=13)
    fs = np.array([1.0, -0.0, 1e-5, 123456.0, 1.5e16, 0.0001, np.nan, -np.inf], np.float32)
    case("cast_float_to_string_forms", "Cast", [fs],
         [np.array([str(v) for v in fs], dtype=object)], attrs={"to": 8}, opset=13)
    dd = np.array([0.1, 1.0 / 3, 2.5e-7, 1e22], np.float64)
    case("cast_double_to_string", "Cast", [dd],
         [np.array([str(v) for v in dd], dtype=object)], attrs={"to": 8}, opset=13)
    case("castlike_int32_to_double", "CastLike", [i.astype(np.int32), np.array([0.0])],
         [i.astype(np.int32).astype(np.float64)], opset=15)

    # ---- quantisation
    x = rnd(2, 3, 4, lo=-10, hi=10)
    sc = np.array([0.05, 0.1, 0.2], np.float32)
    zp = np.array([-3, 0, 5], np.int8)
    q = np.clip(np.rint(x / sc.reshape(1, 3, 1)) + zp.reshape(1, 3, 1), -128, 127).astype(np.int8)
    case("quantizelinear_axis_int8", "QuantizeLinear", [x, sc, zp], [q], opset=13)
    deq = ((q.astype(np.int32) - zp.reshape(1, 3, 1)) * sc.reshape(1, 3, 1)).astype(np.float32)
    case("dequantizelinear_axis_int8", "DequantizeLinear", [q, sc, zp], [deq], opset=13)
    xi = rnd(6, dtype=np.int32, lo=-1000, hi=1000)
    case("dequantizelinear_int32", "DequantizeLinear", [xi, np.array(0.5, np.float32)],
         [(xi * np.float32(0.5)).astype(np.float32)], opset=13)
    x = rnd(8, lo=0, hi=3)
    case("quantizelinear_no_zp", "QuantizeLinear", [x, np.array(0.02, np.float32)],
         [np.clip(np.rint(x / np.float32(0.02)), 0, 255).astype(np.uint8)], opset=13)

    bad_models()
    n = len([e for e in os.listdir(OUT) if e.startswith("test_")])
    print("%d cases in %s" % (n, OUT))


if __name__ == "__main__":
    sys.exit(main())
