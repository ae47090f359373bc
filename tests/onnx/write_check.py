"""The ONNX writer (ckpt_onnx_save) checked by python3-onnx (issue 11, item 1 of
the export helper): every model of Debian's libonnx-testdata is read by ckpt
and written again (onnx_tool resave); python3-onnx, an independent reader,
must find the same graph (nodes with their inputs, outputs, domains and
attribute values, initializers as arrays, inputs/outputs with their types,
opsets, subgraphs recursively), and when the original passes
onnx.checker.check_model(full_check=True) the written file must too.

    python3 write_check.py build/tests/onnx_tool
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_check_util as U  # noqa: E402

try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
except ImportError as e:  # pragma: no cover
    U.need(False, "python3-onnx missing: %s" % e)

DATA = "/usr/share/libonnx-testdata/data"


def attr_val(a):
    v = helper.get_attribute_value(a)
    if a.type == onnx.AttributeProto.TENSOR:
        return ("T", numpy_helper.to_array(v).tolist(), v.data_type)
    if a.type == onnx.AttributeProto.TENSORS:
        return [("T", numpy_helper.to_array(t).tolist(), t.data_type) for t in v]
    if a.type == onnx.AttributeProto.GRAPH:
        return graph_sig(v)
    if a.type == onnx.AttributeProto.GRAPHS:
        return [graph_sig(g) for g in v]
    if a.type == onnx.AttributeProto.TYPE_PROTO:
        return v.SerializeToString()
    if a.type == onnx.AttributeProto.FLOAT:
        return np.float32(v).tobytes()
    if a.type == onnx.AttributeProto.FLOATS:
        return np.asarray(v, dtype=np.float32).tobytes()
    return v


def type_sig(vi):
    return vi.type.SerializeToString() if vi.HasField("type") else b""


def graph_sig(g):
    nodes = [(n.op_type, n.domain if n.domain != "ai.onnx" else "", list(n.input),
              list(n.output), sorted((a.name, a.type, repr(attr_val(a))) for a in n.attribute))
             for n in g.node]
    inits = sorted((t.name, t.data_type, list(t.dims), numpy_helper.to_array(t).tobytes())
                   for t in g.initializer)
    ins = sorted((v.name, type_sig(v)) for v in g.input)
    outs = [(v.name, type_sig(v)) for v in g.output]
    return (nodes, inits, ins, outs)


def main():
    tool = sys.argv[1]
    U.need(os.path.isdir(DATA), "libonnx-testdata not installed")
    bad, n_ok, n_checked = [], 0, 0
    with tempfile.TemporaryDirectory() as d:
        for sub in ("node", "pytorch-converted", "pytorch-operator", "simple"):
            root = os.path.join(DATA, sub)
            for case in sorted(os.listdir(root)):
                src = os.path.join(root, case, "model.onnx")
                if not os.path.isfile(src):
                    continue
                dst = os.path.join(d, "m.onnx")
                r = subprocess.run([tool, "resave", src, dst], capture_output=True, text=True)
                if r.returncode != 0:
                    bad.append("%s/%s: resave: %s" % (sub, case, r.stderr.strip()))
                    continue
                a, b = onnx.load(src), onnx.load(dst)
                if graph_sig(a.graph) != graph_sig(b.graph):
                    bad.append("%s/%s: graphs differ" % (sub, case))
                    continue
                oa = sorted((o.domain if o.domain != "ai.onnx" else "", o.version)
                            for o in a.opset_import)
                ob = sorted((o.domain if o.domain != "ai.onnx" else "", o.version)
                            for o in b.opset_import)
                if oa != ob or a.ir_version != b.ir_version:
                    bad.append("%s/%s: opsets/ir_version differ" % (sub, case))
                    continue
                try:
                    onnx.checker.check_model(a, full_check=True)
                    orig_ok = True
                except Exception:  # noqa: BLE001
                    orig_ok = False
                if orig_ok:
                    n_checked += 1
                    try:
                        onnx.checker.check_model(b, full_check=True)
                    except Exception as e:  # noqa: BLE001
                        bad.append("%s/%s: checker: %s" % (sub, case, str(e)[:200]))
                        continue
                n_ok += 1
    print("%d models written back equal; %d of them also passed the checker as originals "
          "and as written" % (n_ok, n_checked))
    for x in bad:
        print("FAIL " + x)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
