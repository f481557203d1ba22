#!/usr/bin/python3
"""The paper's Table I EEG network written in PyTorch (nn.AvgPool2d((30, 1),
stride=(15, 1)), which exports as a Pad of nothing before the AveragePool),
random weights with a fixed seed, exported at opset 13 with a dynamic batch
axis; also saves 32 random sample inputs for --calibration and 2 inputs.

Usage: eeg_pytorch.py --out DIR   (writes eeg.onnx, calibration.npy, x.npy)
"""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn


class Eeg(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 40, (30, 1), padding=(15, 0)),
            nn.BatchNorm2d(40), nn.ReLU(),
            nn.Conv2d(40, 40, (1, 64), bias=False),
            nn.BatchNorm2d(40), nn.ReLU(),
            nn.AvgPool2d((30, 1), stride=(15, 1)))
        self.classifier = nn.Sequential(
            nn.Linear(2520, 80), nn.BatchNorm1d(80), nn.ReLU(),
            nn.Linear(80, 2))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = Eeg().eval()
    x = torch.randn(2, 1, 960, 64)
    torch.onnx.export(net, x, os.path.join(args.out, "eeg.onnx"),
                      opset_version=13, input_names=["x"],
                      output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    rng = np.random.default_rng(0)
    np.save(os.path.join(args.out, "calibration.npy"),
            rng.standard_normal((32, 1, 960, 64)).astype(np.float32))
    np.save(os.path.join(args.out, "x.npy"), x.numpy())


if __name__ == "__main__":
    main()
