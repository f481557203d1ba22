#!/usr/bin/env python3
"""A QDQ model as onnxruntime's and PyTorch's quantization tools write its
weights: an int8 initializer with per-channel scales behind a
DequantizeLinear, and a float weight through a QuantizeLinear/
DequantizeLinear pair (uint8, zero point 3); plus a variant that also
quantizes an activation at run time. Random values, fixed seed.

Also qdq_conv.onnx: only the int8 per-channel weight, so that a chip with
int8 weights storing the model's own values computes exactly what the model
does.

Usage: generate_qdq.py OUTDIR
(writes qdq.onnx, qdq_activation.onnx, qdq_conv.onnx, qdq_x.npy)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build_conv():
    r = np.random.RandomState(0)
    inits = [
        numpy_helper.from_array(r.randint(-127, 128, (4, 3, 3, 3)).astype(np.int8), "wq"),
        numpy_helper.from_array((r.rand(4) * 0.02 + 0.01).astype(np.float32), "ws"),
    ]
    nodes = [helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"], axis=0),
             helper.make_node("Conv", ["x", "w"], ["y"], name="conv")]
    graph = helper.make_graph(
        nodes, "qdq_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 4, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build(quantize_activation):
    r = np.random.RandomState(0)
    inits = [
        numpy_helper.from_array(r.randint(-127, 128, (4, 3, 3, 3)).astype(np.int8), "wq"),
        numpy_helper.from_array((r.rand(4) * 0.02 + 0.01).astype(np.float32), "ws"),
        numpy_helper.from_array(np.zeros(4, np.int8), "wz"),
        numpy_helper.from_array(r.randn(5, 64).astype(np.float32), "w2f"),
        numpy_helper.from_array(np.array(0.01, np.float32), "s2"),
        numpy_helper.from_array(np.array(3, np.uint8), "z2"),
    ]
    nodes = [helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], axis=0),
             helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu")]
    features = "r"
    if quantize_activation:
        nodes += [helper.make_node("QuantizeLinear", ["r", "s2", "z2"], ["rq"], name="act_quant"),
                  helper.make_node("DequantizeLinear", ["rq", "s2", "z2"], ["rd"], name="act_dequant")]
        features = "rd"
    nodes += [helper.make_node("Flatten", [features], ["f"], name="flatten"),
              helper.make_node("QuantizeLinear", ["w2f", "s2", "z2"], ["w2q"]),
              helper.make_node("DequantizeLinear", ["w2q", "s2", "z2"], ["w2"]),
              helper.make_node("Gemm", ["f", "w2"], ["y"], transB=1, name="fc")]
    graph = helper.make_graph(
        nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    onnx.save(build(False), os.path.join(out, "qdq.onnx"))
    onnx.save(build(True), os.path.join(out, "qdq_activation.onnx"))
    onnx.save(build_conv(), os.path.join(out, "qdq_conv.onnx"))
    x = np.random.RandomState(1).randn(4, 3, 6, 6).astype(np.float32)
    np.save(os.path.join(out, "qdq_x.npy"), x)


if __name__ == "__main__":
    main()
