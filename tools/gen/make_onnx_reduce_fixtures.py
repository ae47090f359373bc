#!/usr/bin/python3
"""Writes tests/fixtures/onnx_reduce/<case>/: model.onnx (one node), input_K.pb
and output_K.pb, for the forms of the reduce family the ONNX 1.12 backend test
data does not cover (opset 18/21 forms, element types other than float32,
empty reductions, general Einsum, batched Det, ...).  Expected outputs come
from numpy 1.24 and torch 1.13 (Debian), never from ckpt.

Run from the repository root: /usr/bin/python3 tools/gen/make_onnx_reduce_fixtures.py
"""
import os
import shutil

import numpy as np
import torch
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join("tests", "fixtures", "onnx_reduce")
rng = np.random.default_rng(11)

NP2ONNX = {
    np.dtype("float32"): TensorProto.FLOAT,
    np.dtype("float64"): TensorProto.DOUBLE,
    np.dtype("float16"): TensorProto.FLOAT16,
    np.dtype("int32"): TensorProto.INT32,
    np.dtype("int64"): TensorProto.INT64,
    np.dtype("int8"): TensorProto.INT8,
    np.dtype("uint8"): TensorProto.UINT8,
}


def case(name, op, inputs, outputs, opset=13, **attrs):
    """inputs / outputs: lists of (name, array); an input named '' is omitted."""
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    ins = [n for n, _ in inputs]
    node = helper.make_node(op, ins, [n for n, _ in outputs], **attrs)
    gi = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], a.shape) for n, a in inputs if n]
    go = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], a.shape) for n, a in outputs]
    g = helper.make_graph([node], name, gi, go)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="make_onnx_reduce_fixtures")
    m.ir_version = 8
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    k = 0
    for n, a in inputs:
        if not n:
            continue
        with open(os.path.join(d, "input_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(a), n).SerializeToString())
        k += 1
    for k, (n, a) in enumerate(outputs):
        with open(os.path.join(d, "output_%d.pb" % k), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(a), n).SerializeToString())


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    # --- Reduce*, opset 18: axes as an input
    x = f32(2, 3, 4)
    case("reduce_mean_18_axes_input", "ReduceMean",
         [("x", x), ("axes", np.array([1], np.int64))],
         [("y", x.mean(axis=1))], opset=18, keepdims=0)
    case("reduce_max_18_two_axes", "ReduceMax",
         [("x", x), ("axes", np.array([0, -1], np.int64))],
         [("y", x.max(axis=(0, 2), keepdims=True))], opset=18)
    case("reduce_l2_18_no_axes", "ReduceL2", [("x", x)],
         [("y", np.sqrt((x.astype(np.float64) ** 2).sum(keepdims=True)).astype(np.float32))],
         opset=18)
    # empty set: reducing an axis of size 0
    e = np.zeros((2, 0, 3), np.float32)
    for op, ref in [("ReduceSum", e.sum(axis=1, keepdims=True)),
                    ("ReduceProd", e.prod(axis=1, keepdims=True)),
                    ("ReduceSumSquare", (e * e).sum(axis=1, keepdims=True)),
                    ("ReduceL1", np.abs(e).sum(axis=1, keepdims=True)),
                    ("ReduceLogSum", np.log(e.sum(axis=1, keepdims=True))),
                    ("ReduceMax", np.maximum.reduce(e, axis=1, keepdims=True,
                                                     initial=-np.inf)),
                    ("ReduceMin", np.minimum.reduce(e, axis=1, keepdims=True,
                                                     initial=np.inf))]:
        case("reduce_empty_set_" + op[6:].lower(), op,
             [("x", e), ("axes", np.array([1], np.int64))], [("y", ref.astype(np.float32))],
             opset=18)
    # noop_with_empty_axes with no axes: each element reduced alone (as ONNX Runtime 1.30)
    xo = f32(2, 3)
    with np.errstate(invalid="ignore"):
        for op, ref in [("ReduceSumSquare", xo * xo), ("ReduceL1", np.abs(xo)),
                        ("ReduceLogSum", np.log(xo))]:
            case("reduce_noop_" + op[6:].lower(), op,
                 [("x", xo), ("axes", np.zeros(0, np.int64))], [("y", ref.astype(np.float32))],
                 opset=18, noop_with_empty_axes=1)
    # integer and half types
    xi = rng.integers(-50, 50, (3, 4, 5)).astype(np.int32)
    case("reduce_sum_int32", "ReduceSum", [("x", xi), ("axes", np.array([2], np.int64))],
         [("y", xi.sum(axis=2, keepdims=True).astype(np.int32))])
    xl = rng.integers(-(2 ** 40), 2 ** 40, (4, 6)).astype(np.int64)
    case("reduce_max_int64", "ReduceMax", [("x", xl)],
         [("y", xl.max(axis=0))], axes=[0], keepdims=0)
    xs = rng.integers(1, 4, (3, 5)).astype(np.int64)
    case("reduce_prod_int64", "ReduceProd", [("x", xs)],
         [("y", xs.prod(axis=1, keepdims=True))], axes=[1])
    x8 = rng.integers(0, 255, (4, 3)).astype(np.uint8)
    case("reduce_min_uint8", "ReduceMin", [("x", x8)], [("y", x8.min(axis=1, keepdims=True))],
         axes=[1])
    xh = f32(4, 5, 6).astype(np.float16)
    case("reduce_mean_f16_middle", "ReduceMean", [("x", xh)],
         [("y", xh.astype(np.float64).mean(axis=1, keepdims=True).astype(np.float16))],
         axes=[1])
    xd = rng.standard_normal((3, 4, 5)) * 300.0
    t = torch.from_numpy(xd)
    case("reduce_logsumexp_f64_large", "ReduceLogSumExp", [("x", xd)],
         [("y", torch.logsumexp(t, dim=(0, 2), keepdim=False).numpy())], axes=[0, 2],
         keepdims=0)
    xn = f32(3, 4)
    xn[1, 2] = np.nan
    case("reduce_max_nan", "ReduceMax", [("x", xn)], [("y", np.max(xn, axis=1, keepdims=True))],
         axes=[1])

    # --- ArgMax / ArgMin
    xa = rng.integers(0, 3, (3, 4, 5)).astype(np.int32)
    am = xa.shape[1] - 1 - np.argmax(np.flip(xa, axis=1), axis=1)
    case("argmax_int32_last_index", "ArgMax", [("x", xa)], [("y", am.astype(np.int64))],
         axis=1, keepdims=0, select_last_index=1)
    xd2 = rng.standard_normal((4, 3))
    case("argmin_f64_axis0", "ArgMin", [("x", xd2)],
         [("y", np.argmin(xd2, axis=0)[None, :].astype(np.int64))], axis=0)

    # --- softmax family
    xs3 = rng.standard_normal((2, 3, 4))
    case("softmax_f64_axis1", "Softmax", [("x", xs3)],
         [("y", torch.softmax(torch.from_numpy(xs3), 1).numpy())], axis=1)
    xh2 = f32(3, 7).astype(np.float16)
    case("logsoftmax_f16", "LogSoftmax", [("x", xh2)],
         [("y", torch.log_softmax(torch.from_numpy(xh2.astype(np.float32)), -1)
                .numpy().astype(np.float16))])
    x4 = f32(2, 3, 4, 5)
    case("softmax_11_coerce_axis2", "Softmax", [("x", x4)],
         [("y", torch.softmax(torch.from_numpy(x4).reshape(6, 20), 1).reshape(2, 3, 4, 5)
               .numpy())], opset=11, axis=2)
    h = np.zeros((6, 20), np.float32)
    h[np.arange(6), x4.reshape(6, 20).argmax(1)] = 1
    case("hardmax_11_coerce_axis2", "Hardmax", [("x", x4)], [("y", h.reshape(2, 3, 4, 5))],
         opset=11, axis=2)

    # --- normalisations
    xl3 = rng.standard_normal((2, 3, 4))
    w, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    y = torch.layer_norm(torch.from_numpy(xl3), (3, 4), torch.from_numpy(w), torch.from_numpy(b),
                         1e-5).numpy()
    case("layernorm_f64_axis1", "LayerNormalization",
         [("x", xl3), ("scale", w), ("bias", b)], [("y", y)], opset=17, axis=1,
         stash_type=11)
    xb = f32(4, 3, 2, 2)
    sc, bi = f32(3), f32(3)
    rm, rv = f32(3), np.abs(f32(3)) + 0.5
    mean = xb.astype(np.float64).mean(axis=(0, 2, 3))
    var = xb.astype(np.float64).var(axis=(0, 2, 3))
    yb = torch.batch_norm(torch.from_numpy(xb), torch.from_numpy(sc), torch.from_numpy(bi), None,
                          None, True, 0.0, 1e-5, False).numpy()
    mom = 0.9
    case("batchnorm_14_training", "BatchNormalization",
         [("x", xb), ("scale", sc), ("b", bi), ("mean", rm), ("var", rv)],
         [("y", yb), ("running_mean", (rm * mom + mean * (1 - mom)).astype(np.float32)),
          ("running_var", (rv * mom + var * (1 - mom)).astype(np.float32))],
         opset=14, training_mode=1, momentum=mom)
    xbd = rng.standard_normal((2, 3, 5))
    scd, bid, rmd, rvd = (rng.standard_normal(3), rng.standard_normal(3),
                          rng.standard_normal(3), np.abs(rng.standard_normal(3)) + 0.5)
    ybd = torch.batch_norm(*[torch.from_numpy(a) for a in (xbd, scd, bid, rmd, rvd)], False,
                           0.0, 1e-3, False).numpy()
    case("batchnorm_9_f64_eval", "BatchNormalization",
         [("x", xbd), ("scale", scd), ("b", bid), ("mean", rmd), ("var", rvd)], [("y", ybd)],
         opset=9, epsilon=1e-3)
    xg = f32(2, 6, 3, 3)
    gw, gb = f32(3), f32(3)
    yg = torch.group_norm(torch.from_numpy(xg), 3, torch.from_numpy(np.repeat(gw, 2)),
                          torch.from_numpy(np.repeat(gb, 2)), 1e-5).numpy()
    case("groupnorm_18_per_group", "GroupNormalization",
         [("x", xg), ("scale", gw), ("bias", gb)], [("y", yg)], opset=18, num_groups=3)
    cw, cb = f32(6), f32(6)
    yg2 = torch.group_norm(torch.from_numpy(xg), 2, torch.from_numpy(cw), torch.from_numpy(cb),
                           1e-4).numpy()
    case("groupnorm_21_per_channel", "GroupNormalization",
         [("x", xg), ("scale", cw), ("bias", cb)], [("y", yg2)], opset=21, num_groups=2,
         epsilon=1e-4)
    xin = rng.standard_normal((2, 3, 7))
    iw, ib = rng.standard_normal(3), rng.standard_normal(3)
    yin = torch.instance_norm(torch.from_numpy(xin), torch.from_numpy(iw), torch.from_numpy(ib),
                              None, None, True, 0.0, 1e-5, False).numpy()
    case("instancenorm_f64", "InstanceNormalization",
         [("x", xin), ("scale", iw), ("b", ib)], [("y", yin)])
    xp = f32(3, 4)
    case("lpnorm_p1_axis0", "LpNormalization", [("x", xp)],
         [("y", (xp / np.abs(xp).sum(axis=0, keepdims=True)).astype(np.float32))], opset=1,
         axis=0, p=1)
    case("lpnorm_p2_default", "LpNormalization", [("x", xp)],
         [("y", (xp / np.sqrt((xp * xp).sum(axis=-1, keepdims=True))).astype(np.float32))],
         opset=1)
    xm = rng.standard_normal((2, 3, 4, 5))
    mu = xm.mean(axis=(2, 3), keepdims=True)
    sd = np.sqrt((xm ** 2).mean(axis=(2, 3), keepdims=True) - mu ** 2)
    case("mvn_f64_axes23", "MeanVarianceNormalization", [("x", xm)],
         [("y", (xm - mu) / (sd + 1e-9))], axes=[2, 3])
    xlrn = f32(2, 5, 3, 3)
    case("lrn_size3", "LRN", [("x", xlrn)],
         [("y", torch.nn.functional.local_response_norm(torch.from_numpy(xlrn), 3, 2e-4, 0.6,
                                                        1.5).numpy())],
         size=3, alpha=2e-4, beta=0.6, bias=1.5)

    # --- losses
    xs_ = rng.standard_normal((4, 5, 3))
    tg = rng.integers(0, 5, (4, 3)).astype(np.int64)
    tg[0, 1] = 2
    wt = rng.random(5) + 0.1
    lp = torch.log_softmax(torch.from_numpy(xs_), 1)
    loss = torch.nn.functional.nll_loss(lp, torch.from_numpy(tg), torch.from_numpy(wt),
                                        ignore_index=2, reduction="mean")
    case("sce_f64_weight_ii_log_prob", "SoftmaxCrossEntropyLoss",
         [("x", xs_), ("t", tg), ("w", wt)], [("loss", loss.numpy()), ("log_prob", lp.numpy())],
         ignore_index=2)
    tg32 = tg.astype(np.int32)
    loss2 = torch.nn.functional.nll_loss(lp, torch.from_numpy(tg), reduction="none")
    case("nll_f64_int32_target_none", "NegativeLogLikelihoodLoss",
         [("x", lp.numpy()), ("t", tg32)], [("loss", loss2.numpy())], reduction="none")
    xh3 = f32(3, 4).astype(np.float16)
    t3 = np.array([0, 3, 1], np.int64)
    loss3 = torch.nn.functional.cross_entropy(torch.from_numpy(xh3.astype(np.float32)),
                                              torch.from_numpy(t3), reduction="sum")
    case("sce_f16_sum", "SoftmaxCrossEntropyLoss", [("x", xh3), ("t", t3)],
         [("loss", loss3.numpy().astype(np.float16))], reduction="sum")

    # --- Einsum (numpy's einsum is the reference)
    def ein(name, eq, *ops, dtype=np.float32):
        arrs = [np.asarray(o, dtype) for o in ops]
        case("einsum_" + name, "Einsum", [("x%d" % i, a) for i, a in enumerate(arrs)],
             [("y", np.asarray(np.einsum(eq, *arrs), dtype))], opset=12, equation=eq)
    ein("matmul_f32", "ij,jk->ik", f32(3, 4), f32(4, 5))
    ein("implicit_batch", "bij,bjk", f32(2, 3, 4), f32(2, 4, 5))
    ein("diagonal", "ii->i", f32(4, 4))
    ein("trace", "ii", f32(4, 4))
    ein("repeated_three", "iij->ij", f32(3, 3, 2))
    ein("ellipsis_broadcast", "...ij,...jk->...ik", f32(1, 3, 4), f32(2, 1, 4, 5))
    ein("three_operands", "abc,cd,de->abe", f32(2, 3, 4), f32(4, 5), f32(5, 6))
    ein("outer", "i,j->ij", f32(3), f32(4))
    ein("dot", "i,i", f32(7), f32(7))
    ein("sum_private", "ijk,jl->l", f32(2, 3, 4), f32(3, 5))
    ein("transpose_ellipsis", "i...->...i", f32(3, 2, 4))
    ein("int32", "ij,jk->ik", rng.integers(-5, 5, (3, 4)), rng.integers(-5, 5, (4, 2)),
        dtype=np.int32)
    ein("uppercase_mixed", "Ab,bC->AC", f32(2, 3), f32(3, 4))

    # --- Det
    xd3 = f32(3, 4, 4)
    case("det_batched", "Det", [("x", xd3)], [("y", np.linalg.det(xd3).astype(np.float32))],
         opset=11)
    sg = np.array([[1, 2, 3], [2, 4, 6], [0, 1, 1]], np.float64)
    case("det_singular_f64", "Det", [("x", sg)], [("y", np.asarray(np.linalg.det(sg)))],
         opset=11)

    # --- BatchNormalization opset 7, spatial=0: statistics per (C, H, W) element
    xs0 = f32(2, 3, 2, 2)
    ps = [f32(3, 2, 2) for _ in range(4)]
    ps[3] = np.abs(ps[3]) + 0.5
    y0 = torch.batch_norm(torch.from_numpy(xs0).reshape(2, 12),
                          *[torch.from_numpy(q.reshape(12)) for q in (ps[0], ps[1])],
                          torch.from_numpy(ps[2].reshape(12)), torch.from_numpy(ps[3].reshape(12)),
                          False, 0.0, 1e-5, False).reshape(2, 3, 2, 2).numpy()
    case("batchnorm_7_spatial0", "BatchNormalization",
         [("x", xs0), ("scale", ps[0]), ("b", ps[1]), ("mean", ps[2]), ("var", ps[3])],
         [("y", y0)], opset=7, spatial=0)

    # --- ArgMax / ArgMin float32 with NaN (numpy: the first NaN is the extreme)
    xan = f32(4, 6)
    xan[1, 2] = np.nan
    xan[1, 4] = np.nan
    xan[3, 0] = np.nan
    case("argmax_f32_nan", "ArgMax", [("x", xan)],
         [("y", np.argmax(xan, axis=1).astype(np.int64))], axis=1, keepdims=0)
    case("argmin_f32_nan_axis0", "ArgMin", [("x", xan)],
         [("y", np.argmin(xan, axis=0)[None, :].astype(np.int64))], axis=0)
    # --- Einsum operands laid out transposed (passed to gemm as such, not permuted)
    ein("attention_scores", "bqd,bkd->bqk", f32(2, 3, 4), f32(2, 5, 4))
    ein("a_transposed", "bdq,bdk->bqk", f32(2, 4, 3), f32(2, 4, 5))
    ein("both_transposed_f64", "dq,kd->qk", f32(4, 3), f32(5, 4), dtype=np.float64)
    ein("heads_attention", "bhqd,bhkd->bhqk", f32(2, 3, 4, 5), f32(2, 3, 6, 5))

    # --- malformed: a Softmax node with no input (refused, naming the node)
    d = os.path.join(OUT, "malformed_softmax_no_input")
    os.makedirs(d)
    node = helper.make_node("Softmax", [], ["y"], name="sm")
    g = helper.make_graph([node], "g", [],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())


if __name__ == "__main__":
    main()
