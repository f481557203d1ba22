#!/usr/bin/env python3
"""Binarized networks in QONNX form, as Brevitas and FINN export them:
BipolarQuant (domain qonnx.custom_op.general; Y = scale * (X >= 0 ? 1 : -1))
on the weights, with one scale per output channel, and on the activations,
with scale 1. Built with onnx.helper from QONNX's published operator
definition, random weights.

Writes NAME.onnx (QONNX) and NAME.ref.onnx, the same network in standard
ONNX (BipolarQuant written as GreaterOrEqual, Where and Mul) for onnxruntime,
and NAME.x.npy, random inputs.

Usage: generate_qonnx_bnns.py OUTDIR [--samples N]
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from onnx_graph_builder import GraphBuilder  # noqa: E402

QONNX = "qonnx.custom_op.general"


class Graph(GraphBuilder):
    def __init__(self, rng, reference):
        super().__init__(rng, init_prefix="c", mean_scale=2)
        self.reference = reference

    def node(self, op, inputs, domain="", **attrs):
        # Every node names its domain, the standard one as "".
        return super().node(op, inputs, domain=domain, **attrs)

    def bipolar(self, x, scale):
        s = self.init(scale)
        if not self.reference:
            return self.node("BipolarQuant", [x, s], domain=QONNX)
        condition = self.node("GreaterOrEqual", [x, self.init(0.0)])
        signs = self.node("Where", [condition, self.init(1.0), self.init(-1.0)])
        return self.node("Mul", [signs, s])


def mlp(g):
    # FINN's TFC pattern: a real first layer, then binary ones.
    x = g.node("MatMul", ["x", g.init(g.rng.randn(12, 16))])
    x = g.bipolar(g.batch_norm(x, 16), 1.0)
    w = g.bipolar(g.init(g.rng.randn(16, 8)), g.rng.rand(1, 8) + 0.5)
    x = g.bipolar(g.batch_norm(g.node("MatMul", [x, w]), 8), 1.0)
    w = g.bipolar(g.init(g.rng.randn(8, 3)), g.rng.rand(1, 3) + 0.5)
    return g.node("MatMul", [x, w]), [12], 3


def cnn(g):
    x = g.node("Conv", ["x", g.init(g.rng.randn(6, 2, 3, 3))])
    x = g.bipolar(g.batch_norm(x, 6), 1.0)
    w = g.bipolar(g.init(g.rng.randn(5, 6, 3, 3)), g.rng.rand(5, 1, 1, 1) + 0.5)
    x = g.bipolar(g.batch_norm(g.node("Conv", [x, w]), 5), 1.0)
    x = g.node("Flatten", [x])
    w = g.bipolar(g.init(g.rng.randn(4, 5 * 4 * 4)), g.rng.rand(4, 1) + 0.5)
    return g.node("Gemm", [x, w], transB=1), [2, 8, 8], 4


MODELS = {"qonnx_mlp": mlp, "qonnx_cnn": cnn}


def build(name, seed, reference):
    g = Graph(np.random.RandomState(seed), reference)
    y, shape, outputs = MODELS[name](g)
    opsets = [helper.make_opsetid("", 13)]
    if not reference:
        opsets.append(helper.make_opsetid(QONNX, 1))
    return g.model(name, y, shape, outputs, opsets), shape


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i, name in enumerate(MODELS):
        for reference in (False, True):
            model, shape = build(name, i, reference)
            onnx.save(model, os.path.join(args.out, name + (".ref.onnx" if reference else ".onnx")))
        x = np.random.RandomState(i).randn(args.samples, *shape).astype(np.float32)
        np.save(os.path.join(args.out, name + ".x.npy"), x)
        print(name, "x".join(map(str, shape)))


if __name__ == "__main__":
    main()
