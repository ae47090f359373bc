#!/usr/bin/python3
"""Expected gradients for tests/unit/nn/backward_test.c, made by torch 1.13 autograd.

    /usr/bin/python3 tools/gen/make_backward_fixtures.py tests/fixtures/nn_backward/backward.pt \
        tests/fixtures/nn_backward/backward_attn.pt > tests/fixtures/nn_backward/backward.listing

The second file (optional) holds the cases of backward_attn.c (ConvTranspose2d, GroupNorm,
Softmax, LogSoftmax, MultiheadAttention, TransformerEncoderLayer), made after the first
with their own seed so the first file stays as it was; their listing goes next to it
(backward_attn.listing).

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



# ------------------------------------------------------------ backward_attn.c cases


def make_attn():
    """the cases of backward_attn.c, in their own dict (own seed)"""
    torch.manual_seed(8765)
    cs = collections.OrderedDict()

    def add(name, fn, named):
        """fn(**named) with every tensor of named a leaf; grads under "d" + key"""
        leaves = {k: v.clone().requires_grad_(True) for k, v in named.items()}
        y = fn(**leaves)
        dout = r(*y.shape)
        (y * dout).sum().backward()
        d = dict(named)
        d.update(output=y.detach(), dout=dout)
        for k, v in leaves.items():
            d["d" + k] = v.grad
        cs[name] = d
        return d

    def convt(name, b, c, h, w, oc, kh, kw, stride=(1, 1), padding=(0, 0), outpad=(0, 0),
              dilation=(1, 1), groups=1, bias=True):
        named = dict(input=r(b, c, h, w), weight=r(c, oc // groups, kh, kw))
        if bias:
            named["bias"] = r(oc)
        d = add("convt2d_" + name,
                lambda input, weight, bias=None: F.conv_transpose2d(
                    input, weight, bias, stride, padding, outpad, groups, dilation), named)
        d["opts"] = [stride[0], stride[1], padding[0], padding[1], outpad[0], outpad[1],
                     dilation[0], dilation[1], groups]

    convt("default", 2, 3, 4, 5, 4, 3, 3)
    convt("stride_pad_outpad", 2, 3, 4, 4, 2, 3, 3, stride=(2, 2), padding=(1, 1),
          outpad=(1, 1))
    convt("dilation_groups", 1, 4, 5, 4, 6, 2, 3, dilation=(2, 1), groups=2)
    convt("all", 2, 4, 3, 4, 2, 3, 2, stride=(2, 3), padding=(1, 2), outpad=(1, 2),
          dilation=(2, 2), groups=2)
    convt("nobias_depthwise", 1, 3, 5, 5, 3, 3, 3, stride=(2, 1), padding=(1, 1), groups=3,
          bias=False)

    def gn(name, shape, g, affine=True, eps=1e-5):
        c = shape[1]
        named = dict(input=r(*shape) * 2 + 1)
        if affine:
            named.update(weight=r(c), bias=r(c))
        d = add("groupnorm_" + name,
                lambda input, weight=None, bias=None: F.group_norm(input, g, weight, bias, eps),
                named)
        d.update(opts=[g], fopts=[eps])

    gn("2d", (2, 6, 4, 5), 3)
    gn("1d_noaffine", (3, 4, 7), 2, affine=False, eps=1e-3)
    gn("one_group", (2, 4, 3, 3), 1)
    gn("per_channel", (2, 4, 6), 4)

    for fname, f in [("softmax", F.softmax), ("logsoftmax", F.log_softmax)]:
        for dim in (0, 1, 2):
            d = add("%s_dim%d" % (fname, dim), lambda input, dim_=dim, f_=f: f_(input, dim_),
                    dict(input=r(3, 5, 4) * 2))
            d["opts"] = [dim]

    def mha_params(m):
        with torch.no_grad():
            for prm in m.parameters():
                prm.copy_(r(*prm.shape) * 0.5)
        return {k: v.detach().clone() for k, v in m.state_dict().items()}

    def mha(name, e, h, qshape, kshape, batch_first, self_attn, bias=True):
        m = torch.nn.MultiheadAttention(e, h, bias=bias, batch_first=batch_first)
        prm = mha_params(m)

        def fn(query, key=None, value=None, **w):
            sd = {"in_proj_weight": w["in_proj_weight"], "out_proj.weight": w["out_proj_weight"]}
            if bias:
                sd.update({"in_proj_bias": w["in_proj_bias"], "out_proj.bias": w["out_proj_bias"]})
            key = query if key is None else key
            value = query if value is None else value
            return torch.func.functional_call(m, sd, (query, key, value),
                                              dict(need_weights=False))[0] \
                if hasattr(torch, "func") else \
                torch.nn.utils.stateless.functional_call(m, sd, (query, key, value),
                                                         dict(need_weights=False))[0]

        named = dict(query=r(*qshape))
        if not self_attn:
            named.update(key=r(*kshape), value=r(*kshape))
        for k, v in prm.items():
            named[k.replace(".", "_")] = v
        d = add("mha_" + name, fn, named)
        d["opts"] = [h, 1 if batch_first else 0, 1 if self_attn else 0, 1 if bias else 0]

    mha("self_seq", 8, 2, (5, 3, 8), None, False, True)
    mha("self_batch_first", 8, 2, (3, 5, 8), None, True, True)
    mha("cross_seq", 8, 4, (4, 2, 8), (6, 2, 8), False, False)
    mha("cross_batch_first", 8, 1, (2, 4, 8), (2, 6, 8), True, False)
    mha("cross_unbatched", 6, 3, (4, 6), (3, 6), False, False)
    mha("self_nobias", 8, 2, (2, 4, 8), None, True, True, bias=False)

    # TransformerEncoderLayer: the module itself (eval: no dropout) and, for the training
    # path, the same layer written out with explicit dropout keep masks.
    def enc_ref(x, w, nh, act, batch_first, norm_first, masks, p):
        e = x.shape[-1]
        xb = x if batch_first else x.transpose(0, 1)  # (B,T,E)
        keep = (lambda t, mk: t * mk / (1.0 - p)) if masks else (lambda t, mk: t)
        mk = masks or {}

        def sa(t):
            b_, t_ = t.shape[0], t.shape[1]
            qkv = F.linear(t, w["self_attn.in_proj_weight"], w["self_attn.in_proj_bias"])
            q, k, v = [z.reshape(b_, t_, nh, e // nh).transpose(1, 2) for z in qkv.chunk(3, -1)]
            a = torch.softmax(q @ k.transpose(-1, -2) / (e // nh) ** 0.5, -1)
            a = keep(a, mk.get("attn"))
            o = (a @ v).transpose(1, 2).reshape(b_, t_, e)
            return F.linear(o, w["self_attn.out_proj.weight"], w["self_attn.out_proj.bias"])

        def lay(t):  # (B,T,...) -> the input layout, for the row masks
            return t if batch_first else t.transpose(0, 1)

        def unlay(t):
            return t if batch_first else t.transpose(0, 1)

        def ffb(t):
            hh = F.linear(t, w["linear1.weight"], w["linear1.bias"])
            hh = F.relu(hh) if act == "relu" else F.gelu(hh)
            hh = unlay(keep(lay(hh), mk.get("drop")))
            f = F.linear(hh, w["linear2.weight"], w["linear2.bias"])
            return unlay(keep(lay(f), mk.get("drop2")))

        def ln(t, i):
            return F.layer_norm(t, (e,), w["norm%d.weight" % i], w["norm%d.bias" % i], 1e-5)

        if norm_first:
            y = xb + unlay(keep(lay(sa(ln(xb, 1))), mk.get("drop1")))
            y = y + ffb(ln(y, 2))
        else:
            y = ln(xb + unlay(keep(lay(sa(xb)), mk.get("drop1"))), 1)
            y = ln(y + ffb(y), 2)
        return lay(y)

    def enc(name, shape, act, batch_first, norm_first, p=0.0):
        e, nh, ffd = shape[-1], 2, 16
        m = torch.nn.TransformerEncoderLayer(e, nh, ffd, 0.0, act, 1e-5, batch_first,
                                             norm_first)
        with torch.no_grad():
            for prm in m.parameters():
                prm.copy_(r(*prm.shape) * 0.5)
        m.eval()
        sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
        x = r(*shape)
        b_, t_ = (shape[0], shape[1]) if batch_first else (shape[1], shape[0])
        masks = None
        if p > 0:
            masks = dict(attn=torch.rand(b_, nh, t_, t_) >= p, drop1=torch.rand(*shape) >= p,
                         drop=torch.rand(*shape[:-1], ffd) >= p, drop2=torch.rand(*shape) >= p)
        keys = list(sd)
        # the reference agrees with the module on the no-dropout path
        with torch.no_grad():
            ref = enc_ref(x, sd, nh, act, batch_first, norm_first, None, 0.0)
            assert torch.allclose(ref, m(x), atol=1e-5), name

        def fn(input, **w):
            ws = {k: w[k.replace(".", "_")] for k in keys}
            if masks is None:
                return torch.nn.utils.stateless.functional_call(m, ws, (input,))
            return enc_ref(input, ws, nh, act, batch_first, norm_first, masks, p)

        named = dict(input=x)
        for k in keys:
            named[k.replace(".", "_")] = sd[k]
        d = add("encoder_" + name, fn, named)
        d["opts"] = [nh, ffd, 1 if act == "relu" else 0, 1 if batch_first else 0,
                     1 if norm_first else 0]
        d["fopts"] = [1e-5, p]
        if masks:
            for k, v in masks.items():
                d["mask_" + k] = v.to(torch.uint8)

    enc("post_relu_seq", (4, 2, 8), "relu", False, False)
    enc("post_gelu_batch_first", (2, 5, 8), "gelu", True, False)
    enc("pre_relu_batch_first", (3, 4, 8), "relu", True, True)
    enc("pre_gelu_seq", (5, 2, 8), "gelu", False, True)
    enc("post_relu_train", (4, 2, 8), "relu", False, False, p=0.25)
    enc("pre_gelu_train_batch_first", (2, 4, 8), "gelu", True, True, p=0.3)
    return cs


def save(cs, path, out):
    for cname, d in cs.items():
        for k in list(d):
            if d[k] is None:
                del d[k]
        for k, v in d.items():
            if isinstance(v, torch.Tensor):
                print("%s %s %s %.6f" % (cname, k, tuple(v.shape), v.double().sum().item()),
                      file=out)
            else:
                print("%s %s %s" % (cname, k, v), file=out)
    torch.save(cs, path)


save(cases, sys.argv[1], sys.stdout)
if len(sys.argv) > 2:
    with open(sys.argv[2].rsplit(".", 1)[0] + ".listing", "w") as f:
        save(make_attn(), sys.argv[2], f)
