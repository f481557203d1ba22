#!/usr/bin/env python3
"""Train three variants of one small conv BNN-style architecture on sklearn digits
and export them to ONNX (opset 13, BatchNormalization preserved) for Hafnia's tests.

Run:  /usr/bin/python3 train_digits.py     (writes into this script's directory)

Architecture (all variants):
  input [N,1,8,8] -> conv1(1,16,3,pad 1) -> bn1 -> act -> conv2(16,32,3,pad 0) -> bn2
  -> act -> MaxPool2d(2) -> Flatten(288) -> fc1(288,64) -> bn1(64) -> act -> fc2(64,10)

Variants:
  digits_float.onnx                 real weights, act = Hardtanh(-1,1)
  digits_binarized_classifier.onnx  real conv part; classifier binarized (Sign on
                                    activations, +-1 weights baked as initializers)
  digits_all_binarized.onnx         conv1 real; conv2, fc1, fc2 binary with
                                    Sign(latent weight) kept in the graph
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

# Shared with the other training scripts in test/models.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bnn_training import (  # noqa: E402
    BinaryConv2d, BinaryLinear, Net, SignAct, bake, describe, export_onnx, run_onnx, seed_all,
    train_model)

OUT = os.path.dirname(os.path.abspath(__file__))
SEED = 0
EPOCHS = 100
BATCH = 64

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


# --------------------------------------------------------------------------- data
def load_data():
    d = load_digits()
    x = (d.images.astype(np.float32) / 8.0 - 1.0)[:, None, :, :]  # [-1, 1]
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=500, stratify=y, random_state=SEED, shuffle=True)
    assert xtr.shape[0] == 1297 and xte.shape[0] == 500
    return xtr, ytr, xte, yte


# --------------------------------------------------------------------------- models
def hardtanh():
    return nn.Hardtanh(-1.0, 1.0)


def build(variant):
    feats = nn.Sequential()
    cls = nn.Sequential()
    feats.add_module("conv1", nn.Conv2d(1, 16, 3, padding=1))
    feats.add_module("bn1", nn.BatchNorm2d(16))
    feats.add_module("act1", hardtanh())
    if variant == "all_binarized":
        feats.add_module("sign1", SignAct())          # input of binary conv2
        feats.add_module("conv2", BinaryConv2d(16, 32, 3, padding=0, bias=False))
        feats.add_module("bn2", nn.BatchNorm2d(32))
        feats.add_module("sign2", SignAct())
    else:
        feats.add_module("conv2", nn.Conv2d(16, 32, 3, padding=0))
        feats.add_module("bn2", nn.BatchNorm2d(32))
        feats.add_module("act2", hardtanh())
    feats.add_module("pool", nn.MaxPool2d(2))
    feats.add_module("flatten", nn.Flatten())

    if variant == "float":
        cls.add_module("fc1", nn.Linear(288, 64))
        cls.add_module("bn1", nn.BatchNorm1d(64))
        cls.add_module("act1", hardtanh())
        cls.add_module("fc2", nn.Linear(64, 10))
    else:
        if variant == "binarized_classifier":
            cls.add_module("sign0", SignAct())        # binarize flattened features
        cls.add_module("fc1", BinaryLinear(288, 64, bias=False))
        cls.add_module("bn1", nn.BatchNorm1d(64))
        cls.add_module("sign1", SignAct())
        cls.add_module("fc2", BinaryLinear(64, 10, bias=True))
    return Net(feats, cls)


# --------------------------------------------------------------------------- train
def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(torch.from_numpy(x)).argmax(1).numpy() == y).mean()


def train(variant, xtr, ytr):
    seed_all(SEED)
    model = build(variant)
    binary = variant != "float"
    lr = 1e-2 if binary else 3e-3
    return train_model(model, xtr, ytr, SEED, EPOCHS, BATCH, lr)


def export(model, path, constant_folding):
    return export_onnx(model, path, (1, 8, 8), constant_folding)


def main():
    seed_all(SEED)
    xtr, ytr, xte, yte = load_data()
    np.save(os.path.join(OUT, "digits_test_x.npy"), xte.astype(np.float32))
    np.save(os.path.join(OUT, "digits_test_y.npy"), yte.astype(np.int64))

    for variant in ("float", "binarized_classifier", "all_binarized"):
        model = train(variant, xtr, ytr)
        acc_train = accuracy(model, xtr, ytr)
        acc = accuracy(model, xte, yte)
        if variant == "binarized_classifier":
            baked = bake(model)
            acc_baked = accuracy(baked, xte, yte)
            assert acc_baked == acc, (acc_baked, acc)
            model, folding = baked, True
        else:
            folding = variant == "float"
        path = os.path.join(OUT, f"digits_{variant}.onnx")
        m = export(model, path, folding)
        stats = {}
        logits = run_onnx(m, xte, stats)
        zeros = {name: z for name, (z, _, _) in stats.items()}
        acc_onnx = (logits.argmax(1) == yte).mean()
        with torch.no_grad():
            ref = model(torch.from_numpy(xte)).numpy()
        diff = np.abs(logits - ref).max()
        ops, binary = describe(m)
        print(f"== {os.path.basename(path)}  ({os.path.getsize(path)} bytes, onnx.checker OK)")
        print(f"   train acc (PyTorch) {acc_train:.4f}")
        print(f"   test acc  (PyTorch) {acc:.4f}")
        print(f"   test acc  (numpy run of the ONNX file) {acc_onnx:.4f}, max |logit diff| {diff:.2e}")
        print(f"   exact zeros entering activation Sign nodes (test set): {zeros if zeros else 'n/a'}")
        print(f"   ops: {ops}")
        print(f"   binary layers: {binary if binary else 'none'}")


if __name__ == "__main__":
    main()
