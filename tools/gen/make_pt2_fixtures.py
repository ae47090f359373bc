#!/usr/bin/python3
"""Build torch.export (.pt2) archives from the spec, with torch 1.13's eager
outputs as the reference (tests/fixtures/jit/pt2/).

torch 1.13 has no torch.export, so the archives are written here from the
format's definition in pytorch/pytorch:
  - torch/_export/serde/schema.py (schema version 8.x; schema.yaml): the JSON
    of ExportedProgram / GraphModule / Graph / Node / NamedArgument /
    Argument / InputSpec / OutputSpec / TensorMeta, and PayloadConfig /
    PayloadMeta for the PT2 archive's weights;
  - torch/_export/serde/serialize.py: _dataclass_to_dict (a union is an
    object with one member named by its field; enums are ints, EnumEncoder),
    GraphModuleSerializer.serialize_inputs (schema arguments given
    positionally are POSITIONAL (1), given by keyword KEYWORD (2), defaulted
    ones left out), serialize_outputs ("[NOTE: Multiple outputs]": a
    multi-result op lists one output per result, named after its getitem
    user or "<node>_unused_<i>"), serialize_operator
    ("torch.ops.aten.conv2d.default");
  - torch 2.1's schema.py (GraphSignature as name lists/dicts, an int
    schema_version; layout "v21");
  - torch/export/__init__.py save() of torch 2.1-2.7: a plain zip with
    serialized_exported_program.json, serialized_state_dict.pt,
    serialized_constants.pt, serialized_example_inputs.pt and `version`
    (layout "v1" below);
  - torch/export/pt2_archive/_package.py package_pt2 and
    torch/csrc/export/pt2_archive_constants.h (torch 2.8+): a
    PyTorchFileWriter archive with archive_format = "pt2",
    archive_version = "0", models/model.json,
    data/weights/model_weights_config.json + data/weights/weight_<i> (raw
    storage bytes, _save_raw_tensors), data/constants/model_constants_config.json
    + data/constants/tensor_<i>, data/sample_inputs/model.pt (layout "pt2").

The graphs use the ATen ops torch.export emits for these modules
(aten.conv2d.default, aten._native_batch_norm_legit_no_training.default,
aten.relu.default, aten.max_pool2d.default, aten.view.default,
aten.linear.default, aten.t.default + aten.addmm.default, aten.add.Tensor,
aten.mul.Tensor).  Each graph is also run here op by op with torch 1.13's
ATen kernels and must equal the eager module's output, so the graph is what
the module computes.  Run: /usr/bin/python3 tools/gen/make_pt2_fixtures.py
"""
import io
import json
import os
import shutil
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "jit", "pt2")

# schema.py ScalarType
ST = {torch.float32: 7, torch.float64: 8, torch.int64: 5, torch.int32: 4, torch.uint8: 1,
      torch.bool: 12, torch.float16: 6}

# arguments of ops torch 1.13 lacks (aten/src/ATen/native/native_functions.yaml, torch >= 2.0)
EXTRA_SCHEMAS = {
    "_native_batch_norm_legit_no_training.default": [
        ("input", False), ("weight", False), ("bias", False), ("running_mean", False),
        ("running_var", False), ("momentum", False), ("eps", False)],
}


def schema_args(op):
    if op in EXTRA_SCHEMAS:
        return EXTRA_SCHEMAS[op]
    name, overload = op.split(".")
    s = getattr(getattr(torch.ops.aten, name), overload)._schema
    return [(a.name, a.kwarg_only) for a in s.arguments]


def run_op(op, args, kwargs):
    if op == "_native_batch_norm_legit_no_training.default":
        x, w, b, rm, rv, mom, eps = args
        return torch.ops.aten.native_batch_norm(x, w, b, rm, rv, False, mom, eps)
    name, overload = op.split(".")
    return getattr(getattr(torch.ops.aten, name), overload)(*args, **kwargs)


class T:
    """A graph value (by name) in an argument list."""

    def __init__(self, name):
        self.name = name


class Sym:
    """A named SymInt (the output of aten.sym_size.int or a _operator node)."""

    def __init__(self, name):
        self.name = name


class Dt:
    """A dtype argument (Argument.as_scalar_type)."""

    def __init__(self, dtype):
        self.dtype = dtype


def sym_int(v):
    return {"as_int": int(v)}


def tensor_meta(t):
    return {"dtype": ST[t.dtype], "sizes": [sym_int(s) for s in t.shape],
            "requires_grad": bool(t.requires_grad), "device": {"type": "cpu", "index": None},
            "strides": [sym_int(s) for s in t.stride()], "storage_offset": sym_int(0),
            "layout": 7}


def ser_arg(a):
    if isinstance(a, Sym):
        return {"as_sym_int": {"as_name": a.name}}
    if isinstance(a, Dt):
        return {"as_scalar_type": ST[a.dtype]}
    if isinstance(a, T):
        return {"as_tensor": {"name": a.name}}
    if a is None:
        return {"as_none": True}
    if isinstance(a, bool):
        return {"as_bool": a}
    if isinstance(a, int):
        return {"as_int": a}
    if isinstance(a, float):
        return {"as_float": a}
    if isinstance(a, (list, tuple)):
        if all(isinstance(x, T) for x in a) and a:
            return {"as_tensors": [{"name": x.name} for x in a]}
        if any(isinstance(x, Sym) for x in a):
            return {"as_sym_ints": [{"as_name": x.name} if isinstance(x, Sym) else {"as_int": x}
                                    for x in a]}
        if all(isinstance(x, bool) for x in a):
            return {"as_bools": list(a)}
        if all(isinstance(x, int) for x in a):
            return {"as_ints": list(a)}
        if all(isinstance(x, float) for x in a):
            return {"as_floats": list(a)}
    raise TypeError(a)


class Graph:
    def __init__(self):
        self.vals = {}        # name -> torch tensor (the reference run)
        self.inputs = []      # graph inputs (Argument)
        self.specs = []       # input specs
        self.nodes = []
        self.user_inputs = []
        self.op_count = {}

    def placeholder(self, name, value, spec):
        self.vals[name] = value
        self.inputs.append({"as_tensor": {"name": name}})
        self.specs.append(spec)
        return T(name)

    def param(self, name, fqn, value):
        return self.placeholder(name, value, {"parameter": {"arg": {"name": name},
                                                            "parameter_name": fqn}})

    def buffer(self, name, fqn, value, persistent=True):
        return self.placeholder(name, value, {"buffer": {"arg": {"name": name},
                                                         "buffer_name": fqn,
                                                         "persistent": persistent}})

    def const(self, name, fqn, value):
        return self.placeholder(name, value, {"tensor_constant": {
            "arg": {"name": name}, "tensor_constant_name": fqn}})

    def user(self, name, value):
        self.user_inputs.append(name)
        return self.placeholder(name, value, {"user_input": {"arg": {"as_tensor": {"name": name}}}})

    def call(self, op, args, kwargs=None, outs=None):
        """serialize.py handle_call_function + serialize_inputs/serialize_outputs."""
        kwargs = kwargs or {}
        sargs = schema_args(op)
        named = []
        for i, (an, kwonly) in enumerate(sargs):
            if an in kwargs:
                named.append({"name": an, "arg": ser_arg(kwargs[an]), "kind": 2})
            elif not kwonly and i < len(args):
                named.append({"name": an, "arg": ser_arg(args[i]), "kind": 1})
        real = lambda a: self.vals[a.name] if isinstance(a, (T, Sym)) else (
            a.dtype if isinstance(a, Dt) else [real(x) for x in a] if isinstance(a, list) else a)
        res = run_op(op, [real(a) for a in args], {k: real(v) for k, v in kwargs.items()})
        name = outs if isinstance(outs, str) else outs[0]
        if isinstance(res, torch.Tensor):
            self.vals[name] = res
            outputs = [{"as_tensor": {"name": name}}]
            ret = T(name)
        else:
            outputs = []
            ret = []
            # the FX node's own name: the op's name, then op_1, op_2... (serialize.py
            # _output_node_name_at_index names an unused result "<node>_unused_<i>")
            base = op.split(".")[0]
            k = self.op_count.get(base, 0)
            self.op_count[base] = k + 1
            node_name = base if k == 0 else "%s_%d" % (base, k)
            for i, r in enumerate(res):
                nm = outs[i] if i < len(outs) else "%s_unused_%d" % (node_name, i)
                self.vals[nm] = r
                outputs.append({"as_tensor": {"name": nm}})
                ret.append(T(nm))
        self.nodes.append({"target": "torch.ops.aten." + op, "inputs": named, "outputs": outputs,
                           "metadata": {}, "is_hop_single_tensor_return": None})
        return ret

    def sym_size(self, x, dim, name):
        """aten.sym_size.int(self, dim) -> SymInt (an output named as_sym_int)."""
        self.vals[name] = int(self.vals[x.name].shape[dim])
        self.nodes.append({"target": "torch.ops.aten.sym_size.int",
                           "inputs": [{"name": "self", "arg": ser_arg(x), "kind": 1},
                                      {"name": "dim", "arg": ser_arg(dim), "kind": 1}],
                           "outputs": [{"as_sym_int": {"as_name": name}}], "metadata": {},
                           "is_hop_single_tensor_return": None})
        return Sym(name)

    def sym_op(self, pyop, a, b, name):
        """serialize.py serialize_sym_op_inputs: _operator.<op>(a, b), names from
        inspect.signature."""
        import operator
        va = self.vals[a.name] if isinstance(a, Sym) else a
        vb = self.vals[b.name] if isinstance(b, Sym) else b
        self.vals[name] = getattr(operator, pyop)(va, vb)
        self.nodes.append({"target": "_operator." + pyop,
                           "inputs": [{"name": "a", "arg": ser_arg(a), "kind": 1},
                                      {"name": "b", "arg": ser_arg(b), "kind": 1}],
                           "outputs": [{"as_sym_int": {"as_name": name}}], "metadata": {},
                           "is_hop_single_tensor_return": None})
        return Sym(name)

    def program(self, outputs, torch_version):
        tensor_values = {}
        for n, v in self.vals.items():
            if isinstance(v, torch.Tensor):
                tensor_values[n] = tensor_meta(v.detach())
        graph = {
            "inputs": self.inputs,
            "outputs": [{"as_tensor": {"name": o.name}} for o in outputs],
            "nodes": self.nodes,
            "tensor_values": tensor_values,
            "sym_int_values": {n: {"as_int": v} for n, v in self.vals.items()
                               if isinstance(v, int)},
            "sym_bool_values": {}, "is_single_tensor_return": False,
            "custom_obj_values": {}, "sym_float_values": {},
        }
        in_spec = json.dumps([1, {"type": "builtins.tuple", "context": "null", "children_spec": [
            {"type": "builtins.tuple", "context": "null", "children_spec": [
                {"type": None, "context": None, "children_spec": []}] * len(self.user_inputs)},
            {"type": "builtins.dict", "context": "[]", "children_spec": []}]}])
        out_spec = json.dumps([1, {"type": None, "context": None, "children_spec": []}])
        sig = {
            "input_specs": self.specs,
            "output_specs": [{"user_output": {"arg": {"as_tensor": {"name": o.name}}}}
                             for o in outputs],
        }
        return {
            "graph_module": {
                "graph": graph, "signature": sig,
                "module_call_graph": [{"fqn": "", "signature": {
                    "inputs": [{"as_tensor": {"name": u}} for u in self.user_inputs],
                    "outputs": [{"as_tensor": {"name": o.name}} for o in outputs],
                    "in_spec": in_spec, "out_spec": out_spec,
                    "forward_arg_names": self.user_inputs}}],
                "metadata": {}, "treespec_namedtuple_fields": {}},
            "opset_version": {"aten": 10},
            "range_constraints": {},
            "schema_version": {"major": 8, "minor": 6},
            "verifiers": [],
            # the torch that would have written it, marked as built from the spec here
            "torch_version": torch_version + "+ckpt.spec",
        }


def tsave(obj):
    b = io.BytesIO()
    torch.save(obj, b)
    return b.getvalue()


def write_v1(path, ep, state_dict, constants, example):
    """torch/export/__init__.py save(), torch 2.1-2.7."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("serialized_exported_program.json", json.dumps(ep).encode())
        z.writestr("serialized_state_dict.pt", tsave(state_dict))
        z.writestr("serialized_constants.pt", tsave(constants))
        z.writestr("serialized_example_inputs.pt", tsave(example))
        z.writestr("version", "8.6")


def write_v21(path, ep, state_dict, constants, g):
    """torch 2.1 (schema.py of torch 2.1: GraphSignature with inputs_to_parameters /
    inputs_to_buffers / user_inputs / user_outputs / buffers_to_mutate, an int
    schema_version, NamedArgument without `kind`, tensor_values of TensorValue{meta});
    torch 2.1's save named the torch.save bytes serialized_state_dict.json."""
    ep = json.loads(json.dumps(ep))
    gm = ep["graph_module"]
    specs = gm["signature"]["input_specs"]
    sig = {"inputs_to_parameters": {}, "inputs_to_buffers": {}, "user_inputs": [],
           "user_outputs": [o["user_output"]["arg"]["as_tensor"]["name"]
                            for o in gm["signature"]["output_specs"]],
           "buffers_to_mutate": {}, "backward_signature": None}
    for sp in specs:
        (k, v), = sp.items()
        if k == "parameter":
            sig["inputs_to_parameters"][v["arg"]["name"]] = v["parameter_name"]
        elif k == "buffer":
            sig["inputs_to_buffers"][v["arg"]["name"]] = v["buffer_name"]
        elif k == "user_input":
            sig["user_inputs"].append(v["arg"]["as_tensor"]["name"])
        else:
            raise ValueError(k)
    gm["signature"] = sig
    gm["call_spec"] = {"in_spec": "", "out_spec": ""}
    gm.pop("module_call_graph")
    gm.pop("treespec_namedtuple_fields")
    graph = gm["graph"]
    graph["tensor_values"] = {k: {"meta": v} for k, v in graph["tensor_values"].items()}
    for k in ("custom_obj_values", "sym_float_values", "is_single_tensor_return"):
        graph.pop(k)
    for n in graph["nodes"]:
        n.pop("is_hop_single_tensor_return")
        for a in n["inputs"]:
            a.pop("kind")
    ep["schema_version"] = 1
    ep["equality_constraints"] = []
    ep.pop("verifiers")
    ep.pop("torch_version")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("serialized_exported_program.json", json.dumps(ep).encode())
        z.writestr("serialized_state_dict.json", tsave(state_dict))
        z.writestr("version", "1")


def payload(items, prefix, records, raw=None):
    """pt2_archive/_package.py _save_raw_tensors: one record per storage."""
    cfg = {}
    for i, (fqn, t) in enumerate(items):
        meta = tensor_meta(t.detach())
        data = t.detach().contiguous().numpy().tobytes()
        if raw and fqn in raw:  # store the complete storage and the view's strides
            storage, strides = raw[fqn][:2]
            data = storage.detach().contiguous().numpy().tobytes()
            meta["strides"] = [sym_int(s) for s in strides]
            if len(raw[fqn]) > 2:  # a hostile variant: sizes the record cannot back
                meta["sizes"] = [sym_int(s) for s in raw[fqn][2]]
        name = "%s%d" % (prefix, i)
        records.append((name, data))
        cfg[fqn] = {"path_name": name, "is_param": isinstance(t, nn.Parameter),
                    "use_pickle": False, "tensor_meta": meta}
    return {"config": cfg}


def write_pt2(path, ep, state_dict, constants, example, raw=None, json_override=None):
    """pt2_archive/_package.py package_pt2 through PyTorchFileWriter."""
    w = torch._C.PyTorchFileWriter(path)

    def rec(name, data):
        if isinstance(data, str):
            data = data.encode()
        w.write_record(name, data, len(data))

    wrec, crec = [], []
    wcfg = payload(list(state_dict.items()), "weight_", wrec, raw)
    ccfg = payload(list(constants.items()), "tensor_", crec)
    for n, d in wrec:
        rec("data/weights/" + n, d)
    rec("data/weights/model_weights_config.json", json.dumps(wcfg))
    for n, d in crec:
        rec("data/constants/" + n, d)
    rec("data/constants/model_constants_config.json", json.dumps(ccfg))
    rec("models/model.json", json_override if json_override is not None else json.dumps(ep))
    rec("data/sample_inputs/model.pt", tsave(example))
    rec("archive_format", "pt2")
    rec("archive_version", "0")
    w.write_end_of_file()


# ------------------------------------------------------------------ models

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def graph_mlp(m, x):
    """torch 2.1 export (ATen IR): linear decomposed to t + addmm."""
    g = Graph()
    w1 = g.param("p_fc1_weight", "fc1.weight", m.fc1.weight)
    b1 = g.param("p_fc1_bias", "fc1.bias", m.fc1.bias)
    w2 = g.param("p_fc2_weight", "fc2.weight", m.fc2.weight)
    b2 = g.param("p_fc2_bias", "fc2.bias", m.fc2.bias)
    xi = g.user("x", x)
    t = g.call("t.default", [w1], outs="t")
    h = g.call("addmm.default", [b1, xi, t], outs="addmm")
    r = g.call("relu.default", [h], outs="relu")
    t2 = g.call("t.default", [w2], outs="t_1")
    o = g.call("addmm.default", [b2, r, t2], outs="addmm_1")
    return g, [o]


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(x, 1))


def bn_node(g, prefix, bn, x, out):
    w = g.param("p_%s_weight" % prefix, "%s.weight" % prefix, bn.weight)
    b = g.param("p_%s_bias" % prefix, "%s.bias" % prefix, bn.bias)
    return (w, b)


def graph_cnn(m, x):
    g = Graph()
    cw = g.param("p_conv_weight", "conv.weight", m.conv.weight)
    cb = g.param("p_conv_bias", "conv.bias", m.conv.bias)
    bw = g.param("p_bn_weight", "bn.weight", m.bn.weight)
    bb = g.param("p_bn_bias", "bn.bias", m.bn.bias)
    fw = g.param("p_fc_weight", "fc.weight", m.fc.weight)
    fb = g.param("p_fc_bias", "fc.bias", m.fc.bias)
    rm = g.buffer("b_bn_running_mean", "bn.running_mean", m.bn.running_mean)
    rv = g.buffer("b_bn_running_var", "bn.running_var", m.bn.running_var)
    g.buffer("b_bn_num_batches_tracked", "bn.num_batches_tracked", m.bn.num_batches_tracked)
    xi = g.user("x", x)
    c = g.call("conv2d.default", [xi, cw, cb, [1, 1], [1, 1]], outs="conv2d")
    bnr = g.call("_native_batch_norm_legit_no_training.default", [c, bw, bb, rm, rv, 0.1, 1e-05],
                 outs=["getitem"])
    r = g.call("relu.default", [bnr[0]], outs="relu")
    p = g.call("max_pool2d.default", [r, [2, 2], [2, 2]], outs="max_pool2d")
    v = g.call("view.default", [p, [x.shape[0], 128]], outs="view")
    o = g.call("linear.default", [v, fw, fb], outs="linear")
    return g, [o]


class ResBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4)
        self.scale = torch.linspace(0.5, 2.0, 4).reshape(1, 4, 1, 1)  # a plain tensor: a constant

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + x) * self.scale, y


def graph_res(m, x):
    g = Graph()
    c1 = g.param("p_conv1_weight", "conv1.weight", m.conv1.weight)
    w1 = g.param("p_bn1_weight", "bn1.weight", m.bn1.weight)
    b1 = g.param("p_bn1_bias", "bn1.bias", m.bn1.bias)
    c2 = g.param("p_conv2_weight", "conv2.weight", m.conv2.weight)
    w2 = g.param("p_bn2_weight", "bn2.weight", m.bn2.weight)
    b2 = g.param("p_bn2_bias", "bn2.bias", m.bn2.bias)
    rm1 = g.buffer("b_bn1_running_mean", "bn1.running_mean", m.bn1.running_mean)
    rv1 = g.buffer("b_bn1_running_var", "bn1.running_var", m.bn1.running_var)
    g.buffer("b_bn1_num_batches_tracked", "bn1.num_batches_tracked", m.bn1.num_batches_tracked)
    rm2 = g.buffer("b_bn2_running_mean", "bn2.running_mean", m.bn2.running_mean)
    rv2 = g.buffer("b_bn2_running_var", "bn2.running_var", m.bn2.running_var)
    g.buffer("b_bn2_num_batches_tracked", "bn2.num_batches_tracked", m.bn2.num_batches_tracked)
    sc = g.const("c_scale", "scale", m.scale)
    xi = g.user("x", x)
    a = g.call("conv2d.default", [xi, c1, None, [1, 1], [1, 1]], outs="conv2d")
    a = g.call("_native_batch_norm_legit_no_training.default", [a, w1, b1, rm1, rv1, 0.1, 1e-05],
               outs=["getitem"])[0]
    a = g.call("relu.default", [a], outs="relu")
    a = g.call("conv2d.default", [a, c2, None], {"padding": [1, 1]}, outs="conv2d_1")
    y = g.call("_native_batch_norm_legit_no_training.default", [a, w2, b2, rm2, rv2, 0.1, 1e-05],
               outs=["getitem_3"])[0]
    s = g.call("add.Tensor", [y, xi], outs="add")
    r = g.call("relu.default", [s], outs="relu_1")
    o = g.call("mul.Tensor", [r, sc], outs="mul")
    return g, [o, y]


class Misc(nn.Module):
    """LayerNorm, Dropout (eval), GELU, dtype round trip, a view by the batch size."""

    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(6)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        y = torch.nn.functional.gelu(self.drop(self.ln(x))).double().float()
        return y.view(x.shape[0], x.shape[1] * 6) * 2


def graph_misc(m, x):
    """torch 2.x ATen IR: native_layer_norm / native_dropout with getitem folded,
    _to_copy for .double()/.float(), sym_size.int + _operator.mul for the shape."""
    g = Graph()
    w = g.param("p_ln_weight", "ln.weight", m.ln.weight)
    b = g.param("p_ln_bias", "ln.bias", m.ln.bias)
    xi = g.user("x", x)
    a = g.call("native_layer_norm.default", [xi, [6], w, b, 1e-05], outs=["getitem"])[0]
    a = g.call("native_dropout.default", [a, 0.1, False], outs=["getitem_3"])[0]
    a = g.call("gelu.default", [a], outs="gelu")
    a = g.call("_to_copy.default", [a], {"dtype": Dt(torch.float64)}, outs="_to_copy")
    a = g.call("_to_copy.default", [a], {"dtype": Dt(torch.float32)}, outs="_to_copy_1")
    n0 = g.sym_size(xi, 0, "sym_size_int")
    n1 = g.sym_size(xi, 1, "sym_size_int_1")
    k = g.sym_op("mul", n1, 6, "mul")
    a = g.call("view.default", [a, [n0, k]], outs="view")
    o = g.call("mul.Tensor", [a, 2], outs="mul_1")
    return g, [o]


def randomize_bn(bn, gen):
    with torch.no_grad():
        bn.weight.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
        bn.bias.copy_(torch.randn(bn.num_features, generator=gen) * 0.1)
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=gen) * 0.1)
        bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) + 0.5)
        bn.num_batches_tracked.fill_(7)


def listing(m, consts):
    rows = []
    for n, p in m.named_parameters():
        rows.append("param %s %s" % (n, ",".join(str(s) for s in p.shape)))
    for n, b in m.named_buffers():
        rows.append("buffer %s %s" % (n, ",".join(str(s) for s in b.shape)))
    for n, c in consts.items():
        rows.append("attr %s %s" % (n, ",".join(str(s) for s in c.shape)))
    return rows


def emit(name, layout, m, x, builder, consts, torch_version, raw=None):
    m.eval()
    with torch.no_grad():
        ref = m(x)
    ref = list(ref) if isinstance(ref, tuple) else [ref]
    g, outs = builder(m, x)
    ep = g.program(outs, torch_version)
    # the graph, run op by op with torch's ATen kernels, is the module
    for o, r in zip(outs, ref):
        d = (g.vals[o.name] - r).abs().max().item()
        assert d <= 1e-6, (name, o.name, d)
    sd = m.state_dict()
    path = os.path.join(OUT, name + ".pt2")
    if layout == "v1":
        write_v1(path, ep, sd, consts, ((x,), {}))
    elif layout == "v21":
        write_v21(path, ep, sd, consts, g)
    else:
        write_pt2(path, ep, dict(sd), consts, ((x,), {}), raw)
    np.save(os.path.join(OUT, name + ".input_0.npy"), x.numpy())
    for i, r in enumerate(ref):
        np.save(os.path.join(OUT, "%s.output_%d.npy" % (name, i)), r.detach().numpy())
    with open(os.path.join(OUT, name + ".expect.txt"), "w") as f:
        f.write("layout %s\nforward %s\noutputs %d\n" % (layout, " ".join(g.user_inputs), len(ref)))
        f.write("\n".join(listing(m, consts)) + "\n")
    return ep, sd


# ------------------------------------------------------------------ hostile variants

def hostile(base_ep, sd, consts, x):
    """Archives whose JSON breaks the schema; tests/jit/pt2/hostile.txt lists
    the expected outcome (load or run error code and a word of the message)."""
    d = os.path.join(OUT, "hostile")
    os.makedirs(d, exist_ok=True)
    cases = []

    def case(name, mutate, phase, code, word):
        ep = json.loads(json.dumps(base_ep))
        mutate(ep)
        write_v1(os.path.join(d, name + ".pt2"), ep, sd, consts, ((x,), {}))
        cases.append("%s %s %s %s" % (name, phase, code, word))

    gm = lambda ep: ep["graph_module"]
    nodes = lambda ep: gm(ep)["graph"]["nodes"]
    case("missing_nodes", lambda ep: gm(ep)["graph"].pop("nodes"), "load", "CKPT_E_FORMAT", "nodes")
    case("missing_signature", lambda ep: gm(ep).pop("signature"), "load", "CKPT_E_FORMAT",
         "signature")
    case("target_not_string", lambda ep: nodes(ep)[0].__setitem__("target", 5), "load",
         "CKPT_E_FORMAT", "target")
    case("unknown_target",
         lambda ep: nodes(ep)[0].__setitem__("target", "torch.ops.aten.not_an_op.default"), "run",
         "CKPT_E_UNSUPPORTED", "not_an_op")
    case("python_target", lambda ep: nodes(ep)[0].__setitem__("target", "os.system"), "run",
         "CKPT_E_UNSUPPORTED", "os.system")
    case("dangling_input",
         lambda ep: nodes(ep)[1]["inputs"][0].__setitem__("arg", {"as_tensor": {"name": "nowhere"}}),
         "load", "CKPT_E_FORMAT", "nowhere")
    # node 0 reads node 2's output: a cycle in file order
    case("cycle",
         lambda ep: nodes(ep)[0]["inputs"][0].__setitem__("arg", {"as_tensor": {"name": "relu"}}),
         "load", "CKPT_E_FORMAT", "relu")
    case("defined_twice",
         lambda ep: nodes(ep)[1]["outputs"][0].__setitem__("as_tensor", {"name": "t"}), "load",
         "CKPT_E_FORMAT", "twice")
    case("union_two_members",
         lambda ep: nodes(ep)[1]["inputs"][0]["arg"].__setitem__("as_none", True), "load",
         "CKPT_E_FORMAT", "union")
    case("int_not_number",
         lambda ep: nodes(ep)[0]["inputs"][0].__setitem__("arg", {"as_int": "7"}), "load",
         "CKPT_E_FORMAT", "number")
    case("too_many_args",
         lambda ep: nodes(ep)[0].__setitem__("inputs", nodes(ep)[0]["inputs"] * 1100), "load",
         "CKPT_E_LIMIT", "1024")
    # inputs parsed, outputs not a list: the half-built node is freed (UBSan regression)
    case("outputs_not_list", lambda ep: nodes(ep)[1].__setitem__("outputs", 5), "load",
         "CKPT_E_FORMAT", "outputs")
    case("spec_count", lambda ep: gm(ep)["signature"]["input_specs"].pop(), "load",
         "CKPT_E_FORMAT", "input_specs")
    case("missing_weight",
         lambda ep: gm(ep)["signature"]["input_specs"][0]["parameter"].__setitem__(
             "parameter_name", "fc9.weight"), "load", "CKPT_E_FORMAT", "fc9.weight")
    case("schema_major", lambda ep: ep["schema_version"].__setitem__("major", 99), "load",
         "CKPT_E_UNSUPPORTED", "schema")
    case("wrong_output_count",
         lambda ep: nodes(ep)[1]["outputs"].append({"as_tensor": {"name": "extra"}}), "run",
         "CKPT_E_FORMAT", "outputs")
    case("custom_obj_input",
         lambda ep: gm(ep)["signature"]["input_specs"].__setitem__(0, {"custom_obj": {
             "arg": {"name": "p_fc1_weight", "class_fqn": "__torch__.torch.classes.x.Y"},
             "custom_obj_name": "obj"}}), "load", "CKPT_E_UNSUPPORTED", "custom")
    # a weight record whose TensorMeta reaches past its bytes (PT2 layout)
    ep = json.loads(json.dumps(base_ep))
    p = os.path.join(d, "weight_out_of_bounds.pt2")
    write_pt2(p, ep, dict(sd), consts, ((x,), {}),
              raw={"fc1.weight": (sd["fc1.weight"].reshape(-1)[:16], (8, 1))})
    cases.append("weight_out_of_bounds load CKPT_E_FORMAT element")
    p = os.path.join(d, "huge_sizes.pt2")
    write_pt2(p, ep, dict(sd), consts, ((x,), {}),
              raw={"fc1.weight": (sd["fc1.weight"], (1 << 40, 1), (1 << 40, 1 << 40))})
    cases.append("huge_sizes load CKPT_E_LIMIT elements")
    p = os.path.join(d, "not_json.pt2")
    write_pt2(p, ep, dict(sd), consts, ((x,), {}), json_override="{\"graph_module\": [")
    cases.append("not_json load CKPT_E_FORMAT JSON")
    with open(os.path.join(d, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    gen = torch.Generator().manual_seed(12)
    torch.manual_seed(12)

    m = MLP()
    x = torch.randn(3, 8, generator=gen)
    ep, sd = emit("mlp", "v1", m, x, graph_mlp, {}, "2.1.0")
    hostile(ep, sd, {}, x)
    emit("mlp_pt2", "pt2", m, x, graph_mlp, {}, "2.8.0")
    emit("mlp_v21", "v21", m, x, graph_mlp, {}, "2.1.0")

    m = CNN()
    randomize_bn(m.bn, gen)
    x = torch.randn(2, 3, 8, 8, generator=gen)
    # fc.weight stored as the complete storage of its transpose, viewed with strides (1, 10)
    wt = m.fc.weight.detach().t().contiguous()
    emit("cnn", "pt2", m, x, graph_cnn, {}, "2.8.0", raw={"fc.weight": (wt, (1, 10))})
    emit("cnn_v1", "v1", m, x, graph_cnn, {}, "2.5.0")
    emit("cnn_v21", "v21", m, x, graph_cnn, {}, "2.1.0")

    m = Misc()
    with torch.no_grad():
        m.ln.weight.copy_(torch.rand(6, generator=gen) + 0.5)
        m.ln.bias.copy_(torch.randn(6, generator=gen) * 0.1)
    x = torch.randn(2, 3, 6, generator=gen)
    emit("misc", "pt2", m, x, graph_misc, {}, "2.8.0")

    m = ResBlock()
    randomize_bn(m.bn1, gen)
    randomize_bn(m.bn2, gen)
    x = torch.randn(2, 4, 6, 6, generator=gen)
    emit("resblock", "pt2", m, x, graph_res, {"scale": m.scale}, "2.8.0")
    emit("resblock_v1", "v1", m, x, graph_res, {"scale": m.scale}, "2.5.0")
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print("wrote", OUT, total, "bytes")


if __name__ == "__main__":
    sys.exit(main())
