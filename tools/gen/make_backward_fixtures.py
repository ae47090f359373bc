#!/usr/bin/python3
"""Expected gradients for tests/unit/nn/backward_test.c, made by torch 1.13 autograd.

    /usr/bin/python3 tools/gen/make_backward_fixtures.py tests/fixtures/nn_backward/backward.pt \
        > tests/fixtures/nn_backward/backward.listing

Writes one torch.save file: a dict {case name: {tensors, "opts" (ints), "fopts" (floats)}}.
Each layer case holds the forward inputs and parameters, a random upstream gradient
"dout", and the gradients autograd gives for sum(output * dout): "din", "dw", "db"
(float32, one thread).  Loss cases hold the loss and its gradients for loss * dloss.
Prints the listing (case, tensor, shape, sum) the committed file was made with.
"""
import collections
import sys

import torch
import torch.nn.functional as F

torch.manual_seed(4321)
torch.set_num_threads(1)
cases = collections.OrderedDict()


def r(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def grads(fn, tensors):
    """output, and autograd's gradients of sum(fn(*tensors) * dout) for every tensor"""
    leaves = [t.clone().requires_grad_(True) if t is not None else None for t in tensors]
    y = fn(*leaves)
    dout = r(*y.shape)
    (y * dout).sum().backward()
    return y.detach(), dout, [t.grad if t is not None else None for t in leaves]


def layer(name, fn, x, w=None, b=None, **extra):
    """a case for fn(x, w, b)"""
    y, dout, (dx, dw, db) = grads(fn, [x, w, b])
    d = dict(input=x, output=y, dout=dout, din=dx, **extra)
    if w is not None:
        d["weight"], d["dw"] = w, dw
    if b is not None:
        d["bias"], d["db"] = b, db
    cases[name] = d


def unary(name, fn, x, **extra):
    """a case for fn(x)"""
    layer(name, lambda x_, w_, b_: fn(x_), x, **extra)


layer("linear_bias", lambda x, w, b: F.linear(x, w, b), r(5, 7), r(4, 7), r(4))
layer("linear_nobias", lambda x, w, b: F.linear(x, w), r(3, 6), r(5, 6))


def conv2d(name, b, c, h, w, oc, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
           groups=1, bias=True):
    x, wt = r(b, c, h, w), r(oc, c // groups, kh, kw)
    bs = r(oc) if bias else None
    layer("conv2d_" + name, lambda x_, w_, b_: F.conv2d(x_, w_, b_, stride, padding, dilation,
                                                        groups), x, wt, bs,
          opts=[stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups])


conv2d("default", 2, 3, 7, 6, 4, 3, 3)
conv2d("stride_pad", 2, 3, 9, 8, 4, 3, 3, stride=(2, 2), padding=(1, 1))
conv2d("stride_asym", 1, 2, 9, 8, 3, 3, 2, stride=(2, 1), padding=(0, 1))
conv2d("dilation", 1, 3, 9, 9, 2, 3, 3, dilation=(2, 3))
conv2d("groups", 2, 4, 6, 6, 6, 3, 3, groups=2)
conv2d("depthwise", 1, 4, 6, 5, 8, 3, 3, padding=(1, 1), groups=4)
conv2d("nobias", 2, 3, 6, 6, 4, 2, 2, bias=False)
conv2d("all", 2, 6, 11, 10, 4, 3, 2, stride=(2, 3), padding=(2, 1), dilation=(2, 2), groups=2)


def batchnorm(name, shape, training, affine=True, eps=1e-5):
    c = shape[1]
    rm, rv = r(c) * 0.5, torch.rand(c) + 0.5
    w, b = (r(c), r(c)) if affine else (None, None)
    layer("batchnorm_" + name,
          lambda x_, w_, b_: F.batch_norm(x_, rm.clone(), rv.clone(), w_, b_, training, 0.1, eps),
          r(*shape) * 2 + 1, w, b, running_mean=rm, running_var=rv,
          opts=[1 if training else 0], fopts=[eps])


batchnorm("1d_train", (6, 4), True)
batchnorm("1d_seq_train", (3, 4, 5), True)
batchnorm("2d_train", (2, 3, 4, 5), True)
batchnorm("2d_train_noaffine", (2, 3, 4, 5), True, affine=False, eps=1e-3)
batchnorm("2d_eval", (2, 3, 4, 5), False)
batchnorm("1d_eval", (6, 4), False)

layer("layernorm", lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5), r(3, 4, 8) * 3 + 2,
      r(8), r(8), fopts=[1e-5])
layer("layernorm_noaffine", lambda x, w, b: F.layer_norm(x, (3, 4), None, None, 1e-6),
      r(5, 3, 4), fopts=[1e-6])

for name, fn in [("relu", F.relu), ("gelu", F.gelu),
                 ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")), ("silu", F.silu),
                 ("tanh", torch.tanh), ("sigmoid", torch.sigmoid)]:
    unary(name, fn, r(4, 33) * 3)

unary("flatten", lambda x: torch.flatten(x, 1), r(2, 3, 4, 5))
unary("maxpool2d", lambda x: F.max_pool2d(x, 3, 2, 1), r(2, 3, 9, 8), opts=[3, 2, 1])
unary("maxpool2d_k2", lambda x: F.max_pool2d(x, 2, 2, 0), r(1, 2, 6, 7), opts=[2, 2, 0])
unary("avgpool2d", lambda x: F.avg_pool2d(x, 3, 2, 1), r(2, 3, 9, 8), opts=[3, 2, 1])
unary("avgpool2d_k2", lambda x: F.avg_pool2d(x, 2, 1, 1), r(1, 2, 5, 6), opts=[2, 1, 1])
unary("adaptive_avgpool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), r(2, 3, 7, 5),
      opts=[3, 2])
unary("adaptive_avgpool2d_up", lambda x: F.adaptive_avg_pool2d(x, (5, 4)), r(1, 2, 3, 3),
      opts=[5, 4])

# Dropout: torch's own backward for a given mask (native_dropout_backward)
p = 0.3
x, mask, dout = r(4, 25), torch.rand(4, 25) >= p, r(4, 25)
cases["dropout"] = dict(input=x, mask=mask.to(torch.uint8), dout=dout, fopts=[p],
                        din=torch.ops.aten.native_dropout_backward(dout, mask, 1.0 / (1.0 - p)))

for name, pad in [("embedding", -1), ("embedding_padding", 2)]:
    table, idx = r(6, 5), torch.tensor([[1, 2, 5], [2, 2, 0], [4, 1, 2]])
    y, dout, (dt,) = grads(lambda t: F.embedding(idx, t, None if pad < 0 else pad), [table])
    cases[name] = dict(weight=table, idx=idx, output=y, dout=dout, dw=dt, opts=[pad])


def ce(name, n, c, target, smoothing=0.0, ignore_index=-100, dloss=0.7):
    x = (r(n, c) * 2).requires_grad_(True)
    t = torch.tensor(target, dtype=torch.int64)
    loss = F.cross_entropy(x, t, ignore_index=ignore_index, label_smoothing=smoothing)
    (loss * dloss).backward()
    cases["ce_" + name] = dict(input=x.detach(), target=t, loss=loss.detach().reshape(1),
                               din=x.grad, opts=[ignore_index], fopts=[smoothing, dloss])


ce("plain", 6, 5, [0, 4, 2, 2, 1, 3])
ce("smoothing", 6, 5, [0, 4, 2, 2, 1, 3], smoothing=0.1)
ce("ignore", 6, 5, [0, -100, 2, -100, 1, 3])
ce("smoothing_ignore", 7, 4, [0, -100, 2, 3, -100, 1, 3], smoothing=0.25)
ce("ignore_class", 5, 6, [3, 1, 3, 0, 5], smoothing=0.2, ignore_index=3, dloss=1.0)
ce("smoothing_full", 3, 7, [6, 0, 2], smoothing=1.0)

x, y = r(3, 4, 2).requires_grad_(True), r(3, 4, 2).requires_grad_(True)
loss = F.mse_loss(x, y)
(loss * 1.3).backward()
cases["mse"] = dict(input=x.detach(), target=y.detach(), loss=loss.detach().reshape(1),
                    din=x.grad, dtarget=y.grad, fopts=[1.3])

# MaxPool routing on ties (the first maximum wins) and NaN (the last NaN wins)
nan = float("nan")
unary("maxpool2d_ties", lambda x: F.max_pool2d(x, 2, 2, 0),
      torch.tensor([[[[2., 2., 1., nan], [2., 1., nan, 0.], [0., 3., 5., 5.], [3., 0., 5., 5.]]]]),
      opts=[2, 2, 0])

# Conv1d is Conv2d with H = KH = 1
layer("conv1d_all", lambda x_, w_, b_: F.conv1d(x_, w_, b_, 2, 1, 2, 2), r(2, 4, 17), r(6, 2, 3),
      r(6), opts=[2, 1, 2, 2])

for cname, d in cases.items():
    for k in list(d):
        if d[k] is None:
            del d[k]
    for k, v in d.items():
        if isinstance(v, torch.Tensor):
            print("%s %s %s %.6f" % (cname, k, tuple(v.shape), v.double().sum().item()))
        else:
            print("%s %s %s" % (cname, k, v))
torch.save(cases, sys.argv[1])
