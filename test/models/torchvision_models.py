#!/usr/bin/python3
"""Exports torchvision models with random weights at opsets 13 and 17,
compiles each with hafnia-compile --binarize=none on configs/large.textproto,
simulates a batch of 2 inputs with hafnia-sim and compares with onnxruntime
(npm onnxruntime-node, through test/models/digits/reference/run_onnxruntime.js)
on the same ONNX file.

Metric: the largest absolute difference divided by the largest absolute
reference output, max|hafnia - ort| / max|ort|, must be <= 1e-4 (an
elementwise ratio is meaningless for outputs near zero).

Usage: torchvision_models.py --out DIR --node-script run_onnxruntime.js
       [--models resnet18,...] [--size 64]
hafnia-compile, hafnia-sim and node on PATH. Random weights (weights=None),
fixed seeds; nothing is downloaded. Inputs are 64 x 64 (every model here
accepts it; 224 x 224 takes the simulator minutes per model on 2 cores).
"""
import argparse
import os
import sys

import numpy as np
from against_onnxruntime import compare
import torch
import torchvision

MODELS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small",
          "shufflenet_v2_x0_5", "squeezenet1_0", "efficientnet_b0"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--node-script", required=True)
    parser.add_argument("--chip", required=True)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--opsets", default="13,17")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    failures = 0
    for index, name in enumerate(args.models.split(",")):
        torch.manual_seed(index)
        net = getattr(torchvision.models, name)(weights=None).eval()
        x = torch.randn(2, 3, args.size, args.size)
        x_path = os.path.join(args.out, f"{name}_x.npy")
        np.save(x_path, x.numpy())
        for opset in (int(o) for o in args.opsets.split(",")):
            tag = f"{name}_{opset}"
            model = os.path.join(args.out, tag + ".onnx")
            with torch.no_grad():
                torch.onnx.export(net, x, model, opset_version=opset,
                                  input_names=["x"], output_names=["y"],
                                  dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
            failures += not compare(tag, model, x_path, args.out, args.chip,
                                    args.node_script, args.tolerance)
    if failures:
        sys.exit(f"{failures} failure(s)")


if __name__ == "__main__":
    main()
