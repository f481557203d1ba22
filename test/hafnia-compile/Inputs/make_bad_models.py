#!/usr/bin/env python3
"""Writes malformed or hostile ONNX models for bad-models.test.

Usage: make_bad_models.py KIND OUT.onnx

  nan-weight      a Gemm whose weight initializer holds a NaN
  inf-bn-var      a batch norm whose running variance holds +inf
  non-utf8-names  node, tensor and input names that are not valid UTF-8
  huge-expand     an Expand to 2^20 x 2^20 elements (no declared shape shows it)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def gemm_model(weight, names=("x", "w", "y", "fc")):
    x, w, y, node = names
    graph = helper.make_graph(
        [helper.make_node("Gemm", [x, w], [y], name=node, transB=1)], "bad",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(weight.astype(np.float32), w)])
    return graph


def main(kind, out):
    weight = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    if kind == "nan-weight":
        weight[1, 2] = np.nan
        graph = gemm_model(weight)
    elif kind == "inf-bn-var":
        ones = np.ones(3, np.float32)
        var = ones.copy()
        var[2] = np.inf
        graph = helper.make_graph(
            [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"],
                              ["y"], name="bn")], "bad",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
            [numpy_helper.from_array(a, n) for a, n in
             ((ones, "s"), (0 * ones, "b"), (0 * ones, "m"), (var, "v"))])
    elif kind == "non-utf8-names":
        # ONNX's proto2 keeps names as bytes: "\xe9" (UTF-8 c3 a9) becomes
        # the two bytes ff e9, which are not UTF-8, at the same length.
        graph = gemm_model(weight, ("x\xe9", "w\xe9", "y\xe9", "fc\xe9"))
        model = helper.make_model(graph, opset_imports=[
            helper.make_opsetid("", 17)])
        data = model.SerializeToString().replace(
            "\xe9".encode("utf-8"), b"\xff\xe9")
        open(out, "wb").write(data)
        return
    elif kind == "huge-expand":
        shape = numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64),
                                        "shape")
        graph = helper.make_graph(
            [helper.make_node("Expand", ["x", "shape"], ["y"], name="grow")],
            "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                  [1, 1])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                           ["rows", "columns"])],
            [shape])
    else:
        sys.exit("unknown kind " + kind)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
