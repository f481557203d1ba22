#!/usr/bin/python3
"""Exports small PyTorch networks in the patterns people export (F.pad,
AvgPool2d with padding, LayerNorm, GELU, LeakyReLU, slicing and indexing,
x.view(x.size(0), -1) with a dynamic batch axis, ...) at opsets 13 and 17,
compiles each with hafnia-compile --binarize=none, simulates a batch of 2
with hafnia-sim and compares with PyTorch's own outputs and with
onnxruntime's on the exported file (npm onnxruntime-node, through
--node-script run_onnxruntime.js): |hafnia - ref| <= 1e-4 * |ref| + 1e-5
everywhere, for both references.

Usage: pytorch_ops.py --out DIR --node-script run_onnxruntime.js
(hafnia-compile and hafnia-sim on PATH)
Random weights, fixed seeds; nothing is downloaded.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F


class View(nn.Module):
    ops = {"Shape", "Gather", "Concat", "Reshape"}

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        x = self.conv(x)
        return self.fc(x.view(x.size(0), -1))


class PadConstant(nn.Module):
    ops = {"Pad"}

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(F.pad(x, (1, 2, 0, 1), value=0.5))


class PadReflect(nn.Module):
    ops = {"Pad"}

    def forward(self, x):
        return F.pad(x, (2, 2, 1, 1), mode="reflect") * 2.0


class PadEdge(nn.Module):
    ops = {"Pad"}

    def forward(self, x):
        return F.pad(x, (1, 0, 2, 3), mode="replicate") - 1.0


class PadZeroConv(nn.Module):
    ops = {"Pad", "Conv"}

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(F.pad(x, (1, 1, 2, 0)))


class AvgPoolIncludePad(nn.Module):
    ops = {"Pad", "AveragePool"}

    def forward(self, x):
        return nn.functional.avg_pool2d(x, 3, stride=2, padding=1,
                                        count_include_pad=True)


class AvgPoolExcludePad(nn.Module):
    ops = {"AveragePool"}

    def forward(self, x):
        return nn.functional.avg_pool2d(x, 3, stride=2, padding=1,
                                        count_include_pad=False)


class EegPool(nn.Module):
    """The paper's Table I pooling: AvgPool2d((30, 1), stride=(15, 1)),
    which exports as a Pad of nothing and an AveragePool."""
    ops = {"Pad", "AveragePool"}

    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d((30, 1), stride=(15, 1))

    def forward(self, x):
        return self.pool(x)


class LayerNorm(nn.Module):
    # Opset 13 has no LayerNormalization: PyTorch decomposes it.
    ops = {13: {"ReduceMean", "Pow", "Sqrt", "Div"},
           17: {"LayerNormalization"}}
    shape = (8, 16)

    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(16)
        with torch.no_grad():
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        return self.norm(x)


class Gelu(nn.Module):
    ops = {"Erf"}
    shape = (8, 16)

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        return F.gelu(self.fc(x))


class LeakyRelu(nn.Module):
    ops = {"LeakyRelu"}

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return F.leaky_relu(self.conv(x), 0.1)


class SliceGather(nn.Module):
    ops = {"Slice", "Gather"}
    shape = (8, 16)

    def forward(self, x):
        a = x[:, 1:7:2, 3:]
        b = x[:, [5, 0, 2]]
        c, d = torch.split(x, [3, 5], dim=1)
        return torch.cat([a.flatten(1), b.flatten(1), (c.sum(1) * d.mean(1))],
                         dim=1)


class Misc(nn.Module):
    """Activations and arithmetic of models in the wild."""
    ops = {"ReduceMean", "Pow", "Sqrt", "Exp", "Max", "LogSoftmax"}
    shape = (8, 16)

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=-1, keepdim=True)
        normed = (x - mean) / torch.sqrt(var + 1e-5)
        y = torch.max(F.hardswish(normed), F.elu(normed)) + F.softplus(x)
        return F.log_softmax(y + torch.exp(-x.abs()), dim=-1)


class UpsampleNearest(nn.Module):
    ops = {"Resize"}

    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        return self.up(x) + F.interpolate(x, size=(12, 20), mode="nearest")[
            :, :, :8, :8].mean(dim=(2, 3), keepdim=True)


class UpsampleBilinear(nn.Module):
    ops = {"Resize"}

    def forward(self, x):
        a = F.interpolate(x, scale_factor=2, mode="bilinear",
                          align_corners=False)
        b = F.interpolate(x, size=(16, 16), mode="bilinear",
                          align_corners=True)
        c = F.interpolate(x, size=(16, 16), mode="bicubic",
                          align_corners=False)
        return a + b * 0.5 - c


class ConvTranspose(nn.Module):
    ops = {"ConvTranspose"}

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1,
                                     output_padding=1)
        self.grouped = nn.ConvTranspose2d(4, 6, 3, stride=(1, 2), groups=2,
                                          dilation=2, bias=False)

    def forward(self, x):
        return self.grouped(self.up(x))


class ConvTranspose1d(nn.Module):
    ops = {"ConvTranspose"}
    shape = (3, 10)

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose1d(3, 5, 4, stride=3, padding=2,
                                     output_padding=1, dilation=2)

    def forward(self, x):
        return self.up(x)


class ArgMax(nn.Module):
    ops = {"ArgMax"}

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.argmax(self.conv(x), dim=1, keepdim=True)


NETS = [View, PadConstant, PadReflect, PadEdge, PadZeroConv,
        AvgPoolIncludePad, AvgPoolExcludePad, EegPool, LayerNorm, Gelu,
        LeakyRelu, SliceGather, Misc, UpsampleNearest, UpsampleBilinear,
        ConvTranspose, ConvTranspose1d, ArgMax]


def shape_of(net):
    if net is EegPool:
        return (2, 40, 961, 1)
    return (2,) + getattr(net, "shape", (3, 8, 8))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--node-script", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    failures = 0
    for index, net_class in enumerate(NETS):
        torch.manual_seed(index)
        net = net_class().eval()
        x = torch.randn(*shape_of(net_class))
        with torch.no_grad():
            expected = net(x).numpy()
        x_path = os.path.join(args.out, f"{net_class.__name__}_x.npy")
        np.save(x_path, x.numpy())
        for opset in (13, 17):
            name = f"{net_class.__name__}_{opset}"
            model = os.path.join(args.out, name + ".onnx")
            torch.onnx.export(net, x, model, opset_version=opset,
                              input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
            exported = {node.op_type for node in onnx.load(model).graph.node}
            wanted = net_class.ops
            if isinstance(wanted, dict):
                wanted = wanted[opset]
            missing = wanted - exported
            if missing:
                print(f"{name}: the export has no {sorted(missing)}: "
                      "this test no longer tests what it should")
                failures += 1
                continue
            program = os.path.join(args.out, name + ".hfp")
            output = os.path.join(args.out, name + "_y.npy")
            reference = os.path.join(args.out, name + "_ort.npy")
            for command in (
                    ["hafnia-compile", model, "--binarize=none", "-o",
                     program],
                    ["hafnia-sim", program, "--input", x_path,
                     "--output", output],
                    ["node", args.node_script, model, x_path, reference]):
                run = subprocess.run(command, capture_output=True, text=True)
                if run.returncode != 0:
                    print(f"{name}: {command[0]} failed: "
                          f"{run.stderr.strip()}")
                    failures += 1
                    break
            else:
                actual = np.load(output)
                results, ok = [], True
                for source, wanted in (("torch", expected),
                                       ("onnxruntime", np.load(reference))):
                    if actual.shape != wanted.shape:
                        results.append(f"shape {actual.shape}, {source} "
                                       f"gives {wanted.shape}")
                        ok = False
                        continue
                    error = np.abs(actual - wanted)
                    bad = error > 1e-4 * np.abs(wanted) + 1e-5
                    ok &= not bad.any()
                    relative = float((error / np.maximum(np.abs(wanted),
                                                         1e-5)).max())
                    results.append(f"{source}: {int(bad.sum())} of "
                                   f"{bad.size} differ, largest relative "
                                   f"error {relative:.1e}")
                print(f"{name}: {'ok' if ok else 'MISMATCH'} "
                      f"({'; '.join(results)})")
                failures += not ok
    if failures:
        sys.exit(f"{failures} failure(s)")


if __name__ == "__main__":
    main()
