#!/usr/bin/env python3
"""Random binarized CNNs with padded binary convolutions, for bit-exact
tests of Hafnia's padding corrections against onnxruntime.

Each model is written twice: NAME.onnx as an exporter writes it (ONNX Sign,
Sign(0) = 0) and NAME.chip.onnx with every Sign replaced by the chip's rule
(x >= 0 -> +1, else -1), the reference that `hafnia-sim` must equal bit for
bit. Weights of the binary layers are +1/-1 initializers; the first layer is
real (it stays real in --binarize=all); batch norms have random statistics.
Also writes NAME.x.npy: random inputs.

Usage: generate_padded_bnns.py OUTDIR [--samples N] [--seed S]
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from onnx_graph_builder import GraphBuilder  # noqa: E402


class Graph(GraphBuilder):
    def __init__(self, rng, chip_rule):
        super().__init__(rng, init_prefix="w", mean_scale=3)
        self.chip_rule = chip_rule

    def signs(self, shape):
        return np.where(self.rng.rand(*shape) < 0.5, -1.0, 1.0)

    def conv(self, x, weight, **attrs):
        return self.node("Conv", [x, self.init(weight)], **attrs)

    def sign(self, x):
        if not self.chip_rule:
            return self.node("Sign", [x])
        zero = self.init(np.zeros(()))
        one, minus = self.init(np.ones(())), self.init(-np.ones(()))
        return self.node("Where", [self.node("GreaterOrEqual", [x, zero]), one, minus])

    def pad(self, x, pads, value):
        return self.node("Pad", [x, self.init_int(pads), self.init(np.array(value))],
                         mode="constant")

    def init_int(self, values):
        name = self.name("p")
        self.inits.append(numpy_helper.from_array(np.array(values, np.int64), name))
        return name


def model_2d(g):
    x = g.conv("x", g.rng.randn(5, 3, 3, 3), pads=[1, 1, 1, 1])
    x = g.sign(g.batch_norm(x, 5))
    x = g.conv(x, g.signs((7, 5, 3, 3)), pads=[1, 1, 1, 1])
    x = g.sign(g.batch_norm(x, 7))
    # Asymmetric pads and a stride; no batch norm: the sign of the popcount.
    x = g.conv(x, g.signs((7, 7, 3, 3)), pads=[1, 0, 2, 1], strides=[2, 2])
    x = g.sign(x)
    x = g.node("Flatten", [x])
    return g.node("Gemm", [x, g.init(g.signs((4, 7 * 4 * 3)))], transB=1), [3, 6, 6], 4


def model_1d(g):
    x = g.conv("x", g.rng.randn(4, 2, 5), pads=[2, 2])
    x = g.sign(g.batch_norm(x, 4))
    x = g.conv(x, g.signs((5, 4, 3)), pads=[1, 1])
    x = g.sign(g.batch_norm(x, 5))
    # Stride, dilation and a kernel wider than the padding.
    x = g.conv(x, g.signs((3, 5, 5)), pads=[2, 3], strides=[3], dilations=[2])
    x = g.sign(g.batch_norm(x, 3))
    x = g.node("Flatten", [x])
    return g.node("Gemm", [x, g.init(g.signs((2, 3 * 6)))], transB=1), [2, 20], 2


def model_grouped(g):
    x = g.conv("x", g.rng.randn(6, 1, 3, 3), pads=[0, 0, 0, 0])
    x = g.sign(g.batch_norm(x, 6))
    # Groups of 2 channels, padding on one side only, and a depthwise one.
    x = g.conv(x, g.signs((9, 2, 3, 2)), pads=[1, 0, 1, 1], group=3)
    x = g.sign(g.batch_norm(x, 9))
    x = g.conv(x, g.signs((9, 1, 3, 3)), pads=[1, 1, 1, 1], group=9)
    x = g.sign(g.batch_norm(x, 9))
    x = g.node("Flatten", [x])
    return g.node("Gemm", [x, g.init(g.signs((3, 9 * 5 * 4)))], transB=1), [1, 7, 6], 3


def model_pm1_pad(g):
    # Larq's pad_values=1 (and -1): a constant +1/-1 Pad before an unpadded
    # binary convolution needs no correction.
    x = g.conv("x", g.rng.randn(4, 2, 3, 3), pads=[1, 1, 1, 1])
    x = g.sign(g.batch_norm(x, 4))
    x = g.pad(x, [0, 0, 1, 1, 0, 0, 1, 1], 1.0)
    x = g.conv(x, g.signs((6, 4, 3, 3)))
    x = g.sign(g.batch_norm(x, 6))
    x = g.pad(x, [0, 0, 1, 0, 0, 0, 0, 1], -1.0)
    x = g.conv(x, g.signs((5, 6, 2, 2)), strides=[2, 2])
    x = g.sign(g.batch_norm(x, 5))
    x = g.node("Flatten", [x])
    return g.node("Gemm", [x, g.init(g.signs((2, 5 * 3 * 3)))], transB=1), [2, 5, 5], 2


MODELS = {"padded2d": model_2d, "padded1d": model_1d, "grouped": model_grouped,
          "pm1pad": model_pm1_pad}


def build(name, seed, chip_rule):
    g = Graph(np.random.RandomState(seed), chip_rule)
    y, shape, outputs = MODELS[name](g)
    return g.model(name, y, shape, outputs, [helper.make_opsetid("", 17)]), shape


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i, name in enumerate(MODELS):
        seed = args.seed * 100 + i
        for chip_rule in (False, True):
            model, shape = build(name, seed, chip_rule)
            suffix = ".chip.onnx" if chip_rule else ".onnx"
            onnx.save(model, os.path.join(args.out, name + suffix))
        x = np.random.RandomState(seed).randn(args.samples, *shape).astype(np.float32)
        np.save(os.path.join(args.out, name + ".x.npy"), x)
        print(name, "x".join(map(str, shape)))


if __name__ == "__main__":
    main()
