#!/usr/bin/python3
"""Writes a small model of one real-valued operator, and inputs for it.

Usage: make_emit_onnx_ops.py KIND MODEL.onnx INPUTS.npy [--samples 64]

KIND is one of: conv-transpose-2d, conv-transpose-1d, resize-nearest,
resize-linear, resize-cubic, arg-max, arg-min, hardmax. Each model has one
input and one output and exercises the operator's attributes (strides,
pads, dilations, output padding and groups; the resize modes with scales
and with sizes; axes, keepdims and select_last_index). Weights come from a
fixed seed. The arg-max, arg-min and hardmax inputs are small integers, so
that lines have ties, with some NaNs, so that the NaN rule is checked.
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind")
    parser.add_argument("model")
    parser.add_argument("inputs")
    parser.add_argument("--samples", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    inits = []

    def const(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def normal(shape):
        return rng.standard_normal(shape).astype(np.float32)

    kind = args.kind
    out_type = TensorProto.FLOAT
    if kind == "conv-transpose-2d":
        shape = [1, 3, 5, 6]
        nodes = [helper.make_node(
            "ConvTranspose", ["x", const("w", normal([3, 4, 3, 2])),
                              const("b", normal([4]))], ["y"],
            strides=[2, 3], pads=[1, 0, 2, 1], dilations=[1, 2],
            output_padding=[1, 2])]
    elif kind == "conv-transpose-1d":
        shape = [1, 4, 9]
        nodes = [helper.make_node(
            "ConvTranspose", ["x", const("w", normal([4, 3, 4]))], ["y"],
            strides=[2], pads=[2, 1], group=2)]
    elif kind == "resize-nearest":
        shape = [1, 2, 4, 5]
        nodes = [
            helper.make_node(
                "Resize", ["x", "", const("s1", [1, 1, 2, 1.5])], ["t"],
                mode="nearest", coordinate_transformation_mode="asymmetric",
                nearest_mode="floor"),
            helper.make_node(
                "Resize", ["t", "", "", const("z2", [1, 2, 11, 5], np.int64)],
                ["y"], mode="nearest",
                coordinate_transformation_mode="half_pixel",
                nearest_mode="round_prefer_ceil"),
        ]
    elif kind == "resize-linear":
        shape = [1, 2, 4, 5]
        nodes = [
            helper.make_node(
                "Resize", ["x", "", const("s1", [1, 1, 2, 0.6])], ["t"],
                mode="linear", coordinate_transformation_mode="half_pixel"),
            helper.make_node(
                "Resize", ["t", "", "", const("z2", [1, 2, 7, 9], np.int64)],
                ["y"], mode="linear",
                coordinate_transformation_mode="align_corners"),
        ]
    elif kind == "resize-cubic":
        shape = [1, 2, 4, 5]
        nodes = [
            helper.make_node(
                "Resize", ["x", "", const("s1", [1, 1, 2, 1.5])], ["t"],
                mode="cubic", coordinate_transformation_mode="pytorch_half_pixel",
                cubic_coeff_a=-0.5),
            helper.make_node(
                "Resize", ["t", "", "", const("z2", [1, 2, 5, 11], np.int64)],
                ["y"], mode="cubic", exclude_outside=1,
                coordinate_transformation_mode="asymmetric"),
        ]
    elif kind in ("arg-max", "arg-min"):
        shape = [1, 5, 6]
        out_type = TensorProto.INT64
        if kind == "arg-max":
            nodes = [helper.make_node("ArgMax", ["x"], ["y"], axis=1,
                                      keepdims=1, select_last_index=1)]
        else:
            nodes = [helper.make_node("ArgMin", ["x"], ["y"], axis=-1,
                                      keepdims=0)]
    elif kind == "hardmax":
        shape = [1, 5, 6]
        nodes = [helper.make_node("Hardmax", ["x"], ["y"], axis=1)]
    else:
        parser.error(f"unknown kind {kind}")

    graph = helper.make_graph(
        nodes, kind, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                    ["N"] + shape[1:])],
        [onnx.ValueInfoProto(name="y")], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    # The output's type and shape, as ONNX infers them.
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    assert model.graph.output[0].type.tensor_type.elem_type == out_type
    onnx.checker.check_model(model)
    onnx.save(model, args.model)

    x_shape = [args.samples] + shape[1:]
    if kind in ("arg-max", "arg-min", "hardmax"):
        x = rng.integers(-2, 3, x_shape).astype(np.float32)
        x[rng.random(x_shape) < 0.05] = np.nan
    else:
        x = normal(x_shape)
    np.save(args.inputs, x)


if __name__ == "__main__":
    main()
