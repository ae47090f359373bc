#!/usr/bin/env python3
"""tools/gen/make_onnx_fixtures.py - small ONNX models for the session tests
(tests/unit/onnx/session_test.c), built with python3-onnx's helpers, and the
expected outputs computed by numpy.  Writes tests/fixtures/onnx/."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "onnx")


def save(model, name):
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(OUT, name))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(11)
    w = rng.uniform(-1, 1, (6, 5)).astype(np.float32)
    b = rng.uniform(-1, 1, (5,)).astype(np.float32)
    # y = relu(x @ w + b), x: (batch, 6) with a dynamic batch
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"], name="mm"),
         helper.make_node("Add", ["xw", "b"], ["xwb"], name="add"),
         helper.make_node("Relu", ["xwb"], ["y"], name="relu")],
        "mlp_dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                           producer_name="ckpt-fixtures"), "mlp_dyn.onnx")
    for batch in (4, 8):
        x = rng.uniform(-1, 1, (batch, 6)).astype(np.float32)
        y = np.maximum(x @ w + b, 0).astype(np.float32)
        x.tofile(os.path.join(OUT, "mlp_dyn_x%d.f32" % batch))
        y.tofile(os.path.join(OUT, "mlp_dyn_y%d.f32" % batch))
    # a node of a custom domain ckpt has no kernel for
    g = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["y"], name="mystery", domain="com.example")],
        "custom", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("com.example", 3)])
    onnx.save(m, os.path.join(OUT, "custom_op.onnx"))


if __name__ == "__main__":
    main()
