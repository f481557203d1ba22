#!/usr/bin/python3
"""Writes a small binarized CNN with zero-padded binary convolutions, and inputs.

Usage: make_padded_bnn.py --rank 1|2 MODEL.onnx INPUTS.npy [--samples 200]

A real first convolution (it stays real in --binarize=all), then binary
convolutions with +1/-1 weights, odd channel counts, zero padding (symmetric
and asymmetric), strides, each followed by BatchNormalization and Sign, then
two binary dense layers (Gemm with +1/-1 weights). Random weights and batch
norms from a fixed seed; inputs are normal samples.
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", type=int, choices=(1, 2), required=True)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("model")
    parser.add_argument("inputs")
    args = parser.parse_args()
    rng = np.random.default_rng(20260 + args.rank)
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def binary(shape):
        return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)

    def batch_norm(x, channels, name):
        scale = rng.uniform(0.5, 2.0, channels) * rng.choice([-1, 1], channels)
        nodes.append(helper.make_node(
            "BatchNormalization",
            [x, const(name + "_s", scale),
             const(name + "_b", rng.normal(0, 1, channels)),
             const(name + "_m", rng.normal(0, 2, channels)),
             const(name + "_v", rng.uniform(0.5, 4.0, channels))],
            [name], name=name, epsilon=1e-5))
        return name

    def sign(x, name):
        nodes.append(helper.make_node("Sign", [x], [name], name=name))
        return name

    def conv(x, weight, name, **attrs):
        nodes.append(helper.make_node("Conv", [x, const(name + "_w", weight)],
                                      [name], name=name, **attrs))
        return name

    if args.rank == 2:
        shape = [3, 11, 9]
        k = [3, 3]
        x = conv("input", rng.normal(0, 0.5, [7, 3, 3, 3]), "conv0",
                 pads=[1, 1, 1, 1])
        x = sign(batch_norm(x, 7, "bn0"), "sign0")
        x = conv(x, binary([5, 7, 3, 3]), "conv1", pads=[1, 1, 1, 1],
                 strides=[2, 2])
        x = sign(batch_norm(x, 5, "bn1"), "sign1")
        # Asymmetric padding, a 3x2 kernel, a stride on one axis.
        x = conv(x, binary([9, 5, 3, 2]), "conv2", pads=[0, 1, 2, 0],
                 strides=[1, 2])
        x = sign(batch_norm(x, 9, "bn2"), "sign2")
        features = 9 * 6 * 3
    else:
        shape = [3, 40]
        x = conv("input", rng.normal(0, 0.5, [7, 3, 5]), "conv0", pads=[2, 2])
        x = sign(batch_norm(x, 7, "bn0"), "sign0")
        x = conv(x, binary([5, 7, 5]), "conv1", pads=[2, 2], strides=[2])
        x = sign(batch_norm(x, 5, "bn1"), "sign1")
        x = conv(x, binary([9, 5, 3]), "conv2", pads=[0, 2], strides=[3])
        x = sign(batch_norm(x, 9, "bn2"), "sign2")
        features = 9 * 7
    nodes.append(helper.make_node("Flatten", [x], ["flat"], name="flatten"))
    nodes.append(helper.make_node(
        "Gemm", ["flat", const("fc1_w", binary([13, features]))], ["fc1"],
        name="fc1", transB=1))
    x = sign(batch_norm("fc1", 13, "bn3"), "sign3")
    nodes.append(helper.make_node(
        "Gemm", [x, const("fc2_w", binary([4, 13])),
                 const("fc2_b", rng.normal(0, 1, 4))], ["logits"],
        name="fc2", transB=1))
    graph = helper.make_graph(
        nodes, f"padded_bnn_{args.rank}d",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N"] + shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 4])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, args.model)
    np.save(args.inputs,
            rng.normal(0, 1, [args.samples] + shape).astype(np.float32))


if __name__ == "__main__":
    main()
