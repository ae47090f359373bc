#!/usr/bin/python3
"""Write tests/fixtures/jit/aten/: op cases for ckpt's op library (src/jit/aten_*.c).

Each case calls one ATen operator through torch.ops.aten (Debian torch 1.13),
which binds positional and keyword arguments and picks the overload exactly as
TorchScript does, and records the arguments and torch's result.

Files:
  cases.txt   one case per line:  NAME OP NARGS ARG... NKW (KWNAME VAL)... RESULT
  tensors.bin the tensors' bytes (little-endian, row-major), indexed by cases.txt
Value tokens: T<k> tensor k (a `tensor` line gives dtype, shape, offset),
I<int> F<float.hex> B0/B1 N (None) S<str> L<n> (list of the next n values)
U<n> (tuple of the next n values), Q<scale>,<zero_point>,<ScalarType> followed by
the integer tensor (a per-tensor quantized tensor), P followed by the state
(a packed-parameters object: what its __getstate__ gives).

Run: /usr/bin/python3 tools/gen/make_jit_aten.py  (writes into the repository)
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
aten = torch.ops.aten
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "jit", "aten")

tensors = []  # (dtype code, shape, bytes)
blob = bytearray()
DT = {torch.float32: "f32", torch.float64: "f64", torch.int64: "i64", torch.int32: "i32",
      torch.uint8: "u8", torch.int8: "i8", torch.bool: "bool", torch.int16: "i16"}


def tok(v):
    if isinstance(v, torch.Tensor) and v.is_quantized:
        st = {torch.quint8: 13, torch.qint8: 12, torch.qint32: 14}[v.dtype]
        return ["Q%s,%d,%d" % (float(v.q_scale()).hex(), v.q_zero_point(), st)] + \
            tok(v.int_repr())
    if isinstance(v, torch._C.ScriptObject):
        return ["P"] + tok(v.__getstate__())
    if isinstance(v, torch.Tensor):
        t = v.detach().contiguous()
        b = t.numpy().tobytes()
        k = len(tensors)
        tensors.append((DT[t.dtype], list(t.shape), len(blob), len(b)))
        blob.extend(b)
        return ["T%d" % k]
    if isinstance(v, bool):
        return ["B1" if v else "B0"]
    if isinstance(v, int):
        return ["I%d" % v]
    if isinstance(v, float):
        return ["F" + float(v).hex()]
    if v is None:
        return ["N"]
    if isinstance(v, str):
        assert " " not in v
        return ["S" + v]
    if isinstance(v, torch.dtype):
        return ["I%d" % {torch.float32: 6, torch.float64: 7, torch.int64: 4, torch.int32: 3,
                         torch.bool: 11, torch.uint8: 0, torch.quint8: 13,
                         torch.qint8: 12}[v]]
    if isinstance(v, (list, tuple)):
        out = [("L%d" if isinstance(v, list) else "U%d") % len(v)]
        for e in v:
            out += tok(e)
        return out
    raise TypeError(type(v))


lines = []


def case(name, op, *args, fn=None, **kw):
    """Record op(*args, **kw); `fn` computes torch's result when the op is not
    in torch 1.13 (scaled_dot_product_attention)."""
    cargs = [a.clone() if isinstance(a, torch.Tensor) and not a.is_quantized else a
             for a in args]
    arg_toks = []
    for a in args:
        arg_toks += tok(a)
    kw_toks = []
    for k, v in kw.items():
        kw_toks += [k] + tok(v)
    if fn is not None:
        res = fn(*cargs, **kw)
    else:
        res = getattr(aten, op)(*cargs, **kw)
        if op.endswith("_") and not op.startswith("_") and "::" not in op:
            res = cargs[0]
    lines.append(" ".join([name, op, str(len(args))] + arg_toks + [str(len(kw))] + kw_toks +
                          tok(res)))


def r(*s, lo=-2.0, hi=2.0):
    return torch.rand(*s) * (hi - lo) + lo


def ri(*s, lo=-5, hi=6):
    return torch.randint(lo, hi, s)


# ---------------------------------------------------------------- elementwise
x, y = r(2, 3), r(2, 3)
xi = ri(2, 3)
case("add_tt", "add", x, y)
case("add_alpha", "add", x, r(3), alpha=2.5)
case("add_scalar", "add", x, 1.5)
case("add_int_float_scalar", "add", xi, 0.5)
case("add_int_int", "add", xi, ri(2, 3))
case("add_bcast_0d", "add", xi, torch.tensor(1.5))
case("sub_alpha", "sub", x, y, alpha=2)
case("sub_scalar", "sub", xi, 3)
case("rsub", "rsub", x, 1.0)
case("mul_tt", "mul", x, y)
case("mul_scalar", "mul", xi, 3)
case("div_tt", "div", x, y + 3.0)
case("div_int", "div", xi, torch.tensor([2, 3, -4]))
case("div_trunc", "div", x * 4, y + 3.0, rounding_mode="trunc")
case("div_floor", "div", x * 4, y + 3.0, rounding_mode="floor")
case("div_floor_int", "div", xi, torch.tensor([2, -3, 4]), rounding_mode="floor")
case("div_trunc_int", "div", xi, torch.tensor([2, -3, 4]), rounding_mode="trunc")
case("floor_divide", "floor_divide", xi, 2)
case("remainder", "remainder", x * 3, 1.5)
case("remainder_int", "remainder", xi, 3)
case("pow_scalar", "pow", x, 2)
case("pow_tt", "pow", r(2, 3, lo=0.5, hi=2), y)
case("neg", "neg", x)
case("exp", "exp", x)
case("log", "log", r(2, 3, lo=0.1, hi=3))
case("sqrt", "sqrt", r(2, 3, lo=0.1, hi=3))
case("rsqrt", "rsqrt", r(2, 3, lo=0.1, hi=3))
case("abs", "abs", x)
case("sigmoid", "sigmoid", x)
case("tanh", "tanh", x)
case("exp_int", "exp", xi)
case("floor", "floor", x * 3)
case("round", "round", x * 3)
case("relu", "relu", x)
case("relu6", "relu6", x * 5)
case("hardtanh", "hardtanh", x, -0.5, 0.5)
case("hardswish", "hardswish", x * 3)
case("hardsigmoid", "hardsigmoid", x * 3)
case("gelu", "gelu", x)
case("gelu_tanh", "gelu", x, approximate="tanh")
case("silu", "silu", x)
case("leaky_relu", "leaky_relu", x, 0.2)
case("elu", "elu", x)
case("softplus", "softplus", x * 10, 2, 5)
case("clamp", "clamp", x, -0.5, 0.5)
case("clamp_min", "clamp", x, min=0.1)
case("clamp_int", "clamp", xi, 0, 3)
case("eq_tt", "eq", xi, ri(2, 3))
case("ne_scalar", "ne", xi, 1)
case("lt", "lt", x, y)
case("le_scalar", "le", x, 0.0)
case("gt", "gt", x, y)
case("ge_int_float", "ge", xi, 0.5)
case("where", "where", x > 0, x, y)
case("where_scalar", "where", x > 0, x, 0.0)
case("masked_fill", "masked_fill", x, x > 0.5, -1.0)
case("logical_not", "logical_not", x > 0)
case("and_bool", "__and__", x > 0, y > 0)
case("softmax", "softmax", r(2, 3, 4), 1)
case("softmax_neg", "softmax", r(2, 3, 4), -1)
case("log_softmax", "log_softmax", r(2, 5), 1)
case("mean", "mean", x)
case("mean_dim", "mean", r(2, 3, 4), [1, 2], True)
case("sum", "sum", x)
case("sum_dim", "sum", r(2, 3, 4), [0], False)
case("sum_int", "sum", xi)
case("max_all", "max", x)
case("max_dim", "max", r(3, 4), 1)
case("min_dim_keep", "min", r(3, 4), 0, True)
case("max_other", "max", x, y)
case("argmax", "argmax", r(3, 4), 1)
case("argmax_all", "argmax", r(3, 4))
case("amax", "amax", r(3, 4), [1])
case("var", "var", r(3, 4), [1])
case("std", "std", r(3, 4))
case("cumsum", "cumsum", r(3, 4), 1)

# ---------------------------------------------------------------- nn layers
w, b = r(5, 4), r(5)
case("linear", "linear", r(3, 4), w, b)
case("linear_3d", "linear", r(2, 3, 4), w, b)
case("linear_nobias", "linear", r(3, 4), w)
case("addmm", "addmm", r(5), r(3, 4), r(4, 5), beta=0.5, alpha=2.0)
case("matmul_3d2d", "matmul", r(2, 3, 4), r(4, 5))
case("matmul_1d", "matmul", r(4), r(4, 5))
case("mm", "mm", r(3, 4), r(4, 2))
case("bmm", "bmm", r(2, 3, 4), r(2, 4, 2))
case("baddbmm", "baddbmm", r(2, 3, 2), r(2, 3, 4), r(2, 4, 2), beta=0.5, alpha=1.5)
case("t", "t", r(3, 4))
case("conv2d", "conv2d", r(1, 3, 7, 7), r(4, 3, 3, 3), r(4), [2, 2], [1, 1], [1, 1], 1)
case("conv2d_groups", "conv2d", r(1, 4, 6, 6), r(4, 2, 3, 3), r(4), 1, 1, 2, 2)
case("conv2d_depthwise", "conv2d", r(2, 4, 5, 5), r(4, 1, 3, 3), None, 1, 1, 1, 4)
case("conv2d_same", "conv2d", r(1, 2, 6, 6), r(3, 2, 4, 4), r(3), 1, "same", 1, 1)
case("conv2d_nobatch", "conv2d", r(2, 5, 5), r(3, 2, 3, 3))
case("conv1d", "conv1d", r(2, 3, 9), r(4, 3, 3), r(4), 2, 1, 2, 1)
case("_convolution", "_convolution", r(1, 3, 6, 6), r(4, 3, 3, 3), r(4), [1, 1], [1, 1],
     [1, 1], False, [0, 0], 1, False, False, True, True)
case("_convolution_t", "_convolution", r(1, 4, 5, 5), r(4, 2, 3, 3), r(2), [2, 2], [1, 1],
     [1, 1], True, [1, 1], 1, False, False, True, True)
case("conv_transpose2d", "conv_transpose2d", r(1, 4, 5, 5), r(4, 3, 3, 3), r(3), 2, 1, 1)
case("batch_norm_eval", "batch_norm", r(2, 3, 4, 4), r(3), r(3), r(3), r(3, lo=0.5, hi=2.0),
     False, 0.1, 1e-5, False)
case("batch_norm_train", "batch_norm", r(4, 3, 2, 2), r(3), r(3), None, None, True, 0.1, 1e-5,
     False)
case("batch_norm_1d", "batch_norm", r(4, 3), None, None, r(3), r(3, lo=0.5, hi=2.0), False,
     0.1, 1e-5, False)
case("layer_norm", "layer_norm", r(2, 3, 4), [4], r(4), r(4), 1e-5)
case("layer_norm_2", "layer_norm", r(2, 3, 4), [3, 4])
case("group_norm", "group_norm", r(2, 4, 3, 3), 2, r(4), r(4), 1e-5)
case("instance_norm", "instance_norm", r(2, 3, 4, 4), r(3), r(3), None, None, True, 0.1, 1e-5,
     False)
case("max_pool2d", "max_pool2d", r(1, 2, 7, 7), [3, 3], [2, 2], [1, 1])
case("max_pool2d_ceil", "max_pool2d", r(1, 2, 6, 6), [3, 3], [2, 2], [0, 0], [1, 1], True)
case("max_pool1d", "max_pool1d", r(2, 3, 8), [2])
case("avg_pool2d", "avg_pool2d", r(1, 2, 6, 6), [2, 2])
case("avg_pool2d_pad", "avg_pool2d", r(1, 2, 6, 6), [3, 3], [2, 2], [1, 1], False, False)
case("adaptive_avg_1", "adaptive_avg_pool2d", r(2, 3, 5, 5), [1, 1])
case("adaptive_avg_uniform", "adaptive_avg_pool2d", r(1, 2, 6, 4), [3, 2])
case("adaptive_avg_odd", "adaptive_avg_pool2d", r(1, 2, 5, 7), [3, 4])
case("adaptive_max", "adaptive_max_pool2d", r(1, 2, 6, 6), [2, 3])
case("dropout", "dropout", x, 0.5, False)
case("embedding", "embedding", r(10, 3), torch.tensor([[1, 2], [9, 0]]))
case("upsample_nearest", "upsample_nearest2d", r(1, 2, 3, 4), [6, 8])
case("upsample_nearest_vec", "upsample_nearest2d", r(1, 2, 3, 4), None, [2.0, 3.0])
case("upsample_bilinear", "upsample_bilinear2d", r(1, 2, 3, 4), [5, 7], False)
case("upsample_bilinear_ac", "upsample_bilinear2d", r(1, 2, 3, 4), [5, 7], True)
case("upsample_bilinear_vec", "upsample_bilinear2d", r(1, 2, 3, 4), None, False, [2.0, 2.0])
case("constant_pad_nd", "constant_pad_nd", r(1, 2, 3, 3), [1, 2, 0, 1], 0.5)
case("pad_reflect", "reflection_pad2d", r(1, 2, 4, 4), [1, 1, 2, 0])


def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if is_causal:
        m = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        s = s.masked_fill(~m, float("-inf"))
    if attn_mask is not None:
        s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool \
            else s + attn_mask
    return torch.softmax(s, -1) @ v


case("sdpa", "scaled_dot_product_attention", r(2, 3, 4), r(2, 5, 4), r(2, 5, 2), fn=sdpa)
case("sdpa_causal", "scaled_dot_product_attention", r(2, 4, 4), r(2, 4, 4), r(2, 4, 3),
     is_causal=True, fn=sdpa)

# ---------------------------------------------------------------- shapes
z = r(2, 3, 4)
case("view", "view", z, [4, -1])
case("reshape", "reshape", z, [-1])
case("flatten", "flatten", z, 1)
case("permute", "permute", z, [2, 0, 1])
case("transpose", "transpose", z, 0, 2)
case("contiguous", "contiguous", z)
case("unsqueeze", "unsqueeze", z, -1)
case("squeeze", "squeeze", r(1, 3, 1))
case("squeeze_dim", "squeeze", r(1, 3, 1), 0)
case("size", "size", z)
case("size_dim", "size", z, -1)
case("dim", "dim", z)
case("numel", "numel", z)
case("cat", "cat", [r(2, 3), r(1, 3)])
case("cat_dim", "cat", [r(2, 3), r(2, 1)], 1)
case("stack", "stack", [r(2, 3), r(2, 3)], 1)
case("chunk", "chunk", r(5, 2), 2)
case("split", "split", r(5, 2), 2)
case("split_sizes", "split_with_sizes", r(2, 5), [1, 4], 1)
case("unbind", "unbind", r(3, 2), 1)
case("select", "select", z, 1, -1)
case("select0", "select", z, 0, 1)
case("slice", "slice", z, 2, 1, 4, 2)
case("slice_neg", "slice", z, 1, -2)
case("narrow", "narrow", z, 2, 1, 2)
case("index_int", "index", z, [None, torch.tensor([2, 0])])
case("index_mask", "index", r(3, 4), [r(3, 4) > 0])
case("index_two", "index", z, [torch.tensor([1, 0]), torch.tensor([2, 1])])
case("index_select", "index_select", z, 2, torch.tensor([3, 0]))
case("gather", "gather", r(3, 4), 1, torch.tensor([[0, 1], [3, 3], [2, 0]]))
case("expand", "expand", r(3, 1), [2, 3, 4])
case("expand_neg", "expand", r(3, 1), [-1, 5])
case("repeat", "repeat", r(2, 3), [2, 1, 2])
case("to_dtype", "to", x, torch.float64)
case("to_int", "to", x * 3, torch.int64)
case("type_as", "type_as", xi, x)
case("zeros", "zeros", [2, 3])
case("ones_int", "ones", [2], dtype=torch.int64)
case("full", "full", [2, 2], 1.5)
case("full_int", "full", [3], 7)
case("zeros_like", "zeros_like", xi)
case("ones_like", "ones_like", x)
case("arange", "arange", 5)
case("arange_step", "arange", 1, 10, 3)
case("arange_float", "arange", 0.0, 1.0, 0.25)
case("flip", "flip", z, [0, 2])
case("tril", "tril", r(3, 3))
case("triu_k", "triu", r(3, 4), 1)
case("topk", "topk", torch.tensor([[1.0, 5.0, 3.0, 2.0], [4.0, 0.0, 9.0, 7.0]]), 2)
case("einsum", "einsum", "ij,jk->ik", [r(2, 3), r(3, 2)])

# ---------------------------------------------------------------- in place
case("add_", "add_", r(2, 3), r(3))
case("mul_scalar_", "mul_", r(2, 3), 2.0)
case("relu_", "relu_", r(2, 3))
case("hardtanh_", "hardtanh_", r(2, 3), 0.0, 6.0)
case("clamp_", "clamp_", r(2, 3), -0.1, 0.1)
case("copy_", "copy_", r(2, 3), r(3))
case("fill_", "fill_", r(2, 3), 2.5)
case("masked_fill_", "masked_fill_", x.clone(), x > 0, 0.0)

# ---------------------------------------------------------------- scalars
case("add_int", "add", 2, 3, fn=lambda a, b: a + b)
case("mul_float", "mul", 2.5, 4, fn=lambda a, b: a * b)
case("floordiv", "floordiv", -7, 2)
case("eq_int", "eq", 3, 3)
case("lt_float", "lt", 2.5, 1)
case("len", "len", [1, 2, 3])
case("getitem", "__getitem__", [4, 5, 6], -1, fn=lambda l, i: l[i])

# ---------------------------------------------------------------- recurrent, attention
with torch.no_grad():
    m = torch.nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True)
    xs = r(2, 5, 4)
    case("lstm_2l_bi_bf", "lstm", xs, [r(4, 2, 3), r(4, 2, 3)], list(m._flat_weights), True, 2,
         0.0, False, True, True)
    m = torch.nn.LSTM(4, 5, num_layers=2, proj_size=3, bidirectional=True, batch_first=True)
    case("lstm_proj", "lstm", r(2, 4, 4), [r(4, 2, 3), r(4, 2, 5)], list(m._flat_weights), True,
         2, 0.0, False, True, True)
    m = torch.nn.LSTM(4, 3, bias=False)
    case("lstm_nobias", "lstm", r(5, 2, 4), [r(1, 2, 3), r(1, 2, 3)], list(m._flat_weights),
         False, 1, 0.0, False, False, False)
    m = torch.nn.GRU(4, 3, num_layers=2)
    case("gru_2l", "gru", r(5, 2, 4), r(2, 2, 3), list(m._flat_weights), True, 2, 0.0, False,
         False, False)
    m = torch.nn.GRU(4, 3, bidirectional=True, batch_first=True)
    case("gru_bi_bf", "gru", r(2, 5, 4), r(2, 2, 3), list(m._flat_weights), True, 1, 0.0, False,
         True, True)
    m = torch.nn.RNN(4, 3)
    case("rnn_tanh", "rnn_tanh", r(5, 2, 4), r(1, 2, 3), list(m._flat_weights), True, 1, 0.0,
         False, False, False)
    m = torch.nn.RNN(4, 3, nonlinearity="relu", bidirectional=True)
    case("rnn_relu_bi", "rnn_relu", r(5, 2, 4), r(2, 2, 3), list(m._flat_weights), True, 1, 0.0,
         False, True, False)
    m = torch.nn.LSTMCell(4, 3)
    case("lstm_cell", "lstm_cell", r(2, 4), [r(2, 3), r(2, 3)], m.weight_ih, m.weight_hh,
         m.bias_ih, m.bias_hh)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    q = r(2, 5, 8)
    case("native_mha", "_native_multi_head_attention", q, q, q, 8, 2, mha.in_proj_weight,
         mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias)
    kpm = torch.tensor([[False] * 4 + [True], [False] * 5])
    case("native_mha_kpm", "_native_multi_head_attention", q, q, q, 8, 2, mha.in_proj_weight,
         mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias, kpm, True, True, 1)
    for nf, act in ((False, "relu"), (True, "gelu")):
        L = torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0, act, batch_first=True,
                                             norm_first=nf).eval()
        a = L.self_attn
        case("encoder_layer_fwd_%s" % act, "_transformer_encoder_layer_fwd", r(2, 5, 8), 8, 2,
             a.in_proj_weight, a.in_proj_bias, a.out_proj.weight, a.out_proj.bias,
             act == "gelu", nf, 1e-5, L.norm1.weight, L.norm1.bias, L.norm2.weight, L.norm2.bias,
             L.linear1.weight, L.linear1.bias, L.linear2.weight, L.linear2.bias)

# ---------------------------------------------------------------- quantized, torchvision-free extras
torch.backends.quantized.engine = "qnnpack"
qx = torch.quantize_per_tensor(r(1, 3, 5, 5), 0.05, 128, torch.quint8)
qy = torch.quantize_per_tensor(r(1, 3, 5, 5), 0.04, 120, torch.quint8)
case("quantize", "quantize_per_tensor", r(2, 3), 0.05, 128, torch.quint8)
case("dequantize", "dequantize", qx)
case("q_add", "quantized::add", qx, qy, 0.1, 128, fn=torch.ops.quantized.add)
case("q_add_relu", "quantized::add_relu", qx, qy, 0.1, 128, fn=torch.ops.quantized.add_relu)
qw = torch.quantize_per_tensor(r(4, 3, 3, 3), 0.02, 0, torch.qint8)
cp = torch.ops.quantized.conv2d_prepack(qw, r(4), [1, 1], [1, 1], [1, 1], 1)
case("q_conv2d", "quantized::conv2d", qx, cp, 0.1, 128, fn=torch.ops.quantized.conv2d)
case("q_conv2d_relu", "quantized::conv2d_relu", qx, cp, 0.1, 128,
     fn=torch.ops.quantized.conv2d_relu)
lw = torch.quantize_per_tensor(r(5, 4), 0.02, 0, torch.qint8)
lp = torch.ops.quantized.linear_prepack(lw, r(5))
qlx = torch.quantize_per_tensor(r(3, 4), 0.05, 128, torch.quint8)
case("q_linear", "quantized::linear", qlx, lp, 0.1, 128, fn=torch.ops.quantized.linear)
case("q_linear_dynamic", "quantized::linear_dynamic", r(3, 4), lp,
     fn=torch.ops.quantized.linear_dynamic)
case("meshgrid", "meshgrid", [r(3), r(2)])
case("cast_long", "_cast_Long", x * 3)


def conv_clamp(x, ctx):
    w, b, st, pd, dl, g, lo, hi = ctx.__getstate__()[0]
    return F.conv2d(x, w, b, st, pd, dl, g).clamp(lo, hi)


def linear_clamp(x, ctx):
    w, b, lo, hi = ctx.__getstate__()[0]
    y = F.linear(x, w, b)
    return y if lo is None and hi is None else y.clamp(lo, hi)


cc = torch.ops.prepacked.conv2d_clamp_prepack(r(4, 3, 3, 3), r(4), [1, 1], [1, 1], [1, 1], 1,
                                              0.0, 1.0)
case("conv2d_clamp_run", "prepacked::conv2d_clamp_run", r(1, 3, 5, 5), cc, fn=conv_clamp)
lc = torch.ops.prepacked.linear_clamp_prepack(r(5, 3), r(5), None, 1.0)
case("linear_clamp_run", "prepacked::linear_clamp_run", r(2, 3), lc, fn=linear_clamp)

# ---------------------------------------------------------------- export-graph forms, extras
case("native_layer_norm", "native_layer_norm", r(2, 3, 4), [4], r(4), r(4), 1e-5)
bnx, bnm, bnv, bnw, bnb = r(2, 3, 4, 4), r(3), r(3, lo=0.5, hi=2.0), r(3), r(3)
case("bn_legit_no_training", "_native_batch_norm_legit_no_training", bnx, bnw, bnb, bnm, bnv,
     0.1, 1e-5, fn=lambda x, w, b, m, v, mo, e: (F.batch_norm(x, m, v, w, b, False, mo, e),
                                                 torch.zeros(0), torch.zeros(0)))
case("to_copy", "_to_copy", x, dtype=torch.float64)
case("unsafe_view", "_unsafe_view", z, [6, 4])
case("tile", "tile", r(2, 3), [2])
case("isnan", "isnan", torch.tensor([1.0, float("nan"), float("inf")]))
case("isfinite", "isfinite", torch.tensor([1.0, float("nan"), float("-inf")]))
case("dot", "dot", r(4), r(4))
case("mv", "mv", r(3, 4), r(4))
case("outer", "outer", r(3), r(2))
case("scatter_src", "scatter", torch.zeros(3, 5), 1, torch.tensor([[0, 1], [2, 3], [4, 0]]),
     r(3, 2))
case("scatter_value", "scatter", torch.zeros(3, 5), 0, torch.tensor([[0, 1, 2, 0, 1]]), 1.5)
case("scatter_add", "scatter_add", torch.ones(3, 4), 1, torch.tensor([[0, 0], [1, 3], [2, 2]]),
     r(3, 2))
case("pixel_shuffle", "pixel_shuffle", r(1, 8, 2, 3), 2)
case("pixel_unshuffle", "pixel_unshuffle", r(1, 2, 4, 6), 2)
case("range_length", "__range_length", 2, 11, 3, fn=lambda a, b, c: len(range(a, b, c)))

# ---------------------------------------------------------------- edge forms of the layer ops
case("avg_pool2d_ceil", "avg_pool2d", r(1, 2, 7, 7), [3, 3], [2, 2], [1, 1], True, True)
case("avg_pool2d_ceil_nopad", "avg_pool2d", r(1, 2, 6, 6), [3, 3], [2, 2], [0, 0], True, False)
case("avg_pool2d_incl_pad", "avg_pool2d", r(1, 2, 5, 5), [3, 3], [1, 1], [1, 1])
case("max_pool2d_dilation", "max_pool2d", r(1, 2, 9, 9), [3, 3], [1, 1], [1, 1], [2, 2])
case("upsample_nearest_1_5", "upsample_nearest2d", r(1, 2, 4, 4), None, [1.5, 1.5])
case("upsample_bilinear_down", "upsample_bilinear2d", r(1, 2, 6, 8), [3, 3], False)
case("adaptive_avg_1d", "adaptive_avg_pool1d", r(2, 3, 7), [3])
case("pad_circular", "pad", r(1, 2, 4, 4), [1, 2, 2, 1], "circular", fn=lambda x, p, m:
     F.pad(x, p, mode=m))
case("pad_replicate", "pad", r(1, 2, 4, 4), [1, 2, 2, 1], "replicate", fn=lambda x, p, m:
     F.pad(x, p, mode=m))
case("conv_transpose_outpad", "conv_transpose2d", r(1, 2, 4, 4), r(2, 3, 3, 3), r(3), 2, 1, 1,
     1, 1)
case("conv_transpose_groups", "conv_transpose2d", r(1, 4, 3, 3), r(4, 1, 3, 3), None, 1, 0, 0,
     2, 1)
case("group_norm_nowb", "group_norm", r(2, 6, 2, 2), 3)

case("equal", "equal", x, x.clone())
case("equal_not", "equal", x, y)
case("list_repeat", "mul", [1, 2], 3, fn=lambda l, n: l * n)
case("is_scripting", "is_scripting", fn=lambda: True)

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "cases.txt"), "w") as f:
    f.write("# written by tools/gen/make_jit_aten.py (torch %s); see its docstring\n"
            % torch.__version__.split("a")[0])
    for k, (dt, shape, off, n) in enumerate(tensors):
        f.write("tensor %d %s %d %s %d %d\n" % (k, dt, len(shape), " ".join(map(str, shape)),
                                                off, n))
    for ln in lines:
        f.write("case " + ln + "\n")
with open(os.path.join(OUT, "tensors.bin"), "wb") as f:
    f.write(blob)
print("%d cases, %d tensors, %d bytes" % (len(lines), len(tensors), len(blob)))
