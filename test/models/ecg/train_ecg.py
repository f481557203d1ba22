#!/usr/bin/env python3
"""Train three variants of the paper's ECG network (Penkovsky et al., DATE 2020,
Table II, adapted to one lead) on a miniature electrode-inversion task built from
real ECG data, and export them to ONNX (opset 13, BatchNormalization preserved)
for Hafnia's tests.

Run:  /usr/bin/python3 train_ecg.py     (writes into this script's directory)

Data: scipy.misc.electrocardiogram() = 5 minutes of MIT-BIH record 208 (one lead,
360 Hz, mV). Resampled to 250 Hz (resample_poly 25/36); 3 s windows (750 samples).
Task: label 1 = inverted lead (x -> -x), label 0 = normal. Every window is used
twice, once per polarity, so both sets are exactly balanced.
Split by time: training windows lie entirely in [0 s, 225 s) (first 75%), test
windows start at >= 228 s (a 3 s = one-window gap), so no test sample overlaps any
training sample.
Normalisation of each window: subtract the window's own median, divide by one
constant, the std of the resampled training part of the recording. Both steps are
odd-symmetric (median(-w) = -median(w)), so they cannot leak the label.

Architecture (all variants):
  input [N,1,750] -> conv1(1,32,k13) -> bn1 -> act -> pool1(2) -> conv2(32,32,k11)
  -> bn2 -> act -> pool2(2) -> conv3(k9) -> bn3 -> act -> conv4(k7) -> bn4 -> act
  -> conv5(k5) -> bn5 -> act -> Flatten(32*161 = 5152) -> fc1(5152,75) -> bn1(75)
  -> act -> fc2(75,2) -> logits.  No padding anywhere.

Variants:
  ecg_float.onnx                 real weights, act = Hardtanh(-1,1)
  ecg_binarized_classifier.onnx  real conv part (Hardtanh); classifier binarized
                                 (Sign on activations, +-1 weights baked as
                                 initializers, fc1 bias-free)
  ecg_all_binarized.onnx         conv1 real; conv2..conv5, fc1, fc2 binary with
                                 Sign(latent weight) kept in the graph; every
                                 activation is Sign (the paper replaces hardtanh by
                                 sign in the binarized setting); binary convs and
                                 fc1 bias-free (each is followed by BN)
"""
import os
import sys
import time
import warnings

import numpy as np
import scipy.signal
import torch
import torch.nn as nn

# Shared with the other training scripts in test/models.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bnn_training import (  # noqa: E402
    BinaryConv1d, BinaryLinear, Net, SignAct, bake, describe, export_onnx, run_onnx, seed_all,
    train_model)

OUT = os.path.dirname(os.path.abspath(__file__))
SEED = 0
EPOCHS = 30
BATCH = 64

FS_IN, FS = 360, 250          # scipy's record, target rate (paper: 250 Hz)
WIN = 750                     # 3 s at 250 Hz (paper: 3 s trials at 250 Hz)
TRAIN_END = 225 * FS          # first 75% of the 300 s recording
TEST_START = TRAIN_END + WIN  # one-window gap
STRIDE_TRAIN = FS // 2        # 0.5 s
STRIDE_TEST = FS // 2         # 0.5 s

# One thread on purpose: on the shared 2-core machine this was made on, a training
# step took 0.14 s with 1 thread and 1.0 s with 2 (OpenMP threads contending with
# other load); one thread also makes the results independent of the core count.
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# --------------------------------------------------------------------------- data
def load_signal():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from scipy.misc import electrocardiogram   # offline; scipy.datasets downloads
        ecg = electrocardiogram()
    assert ecg.shape == (300 * FS_IN,)
    sig = scipy.signal.resample_poly(ecg, 25, 36)  # 360 Hz -> 250 Hz
    assert sig.shape == (300 * FS,)
    return sig


def windows(sig, start, stop, stride, scale):
    """All windows [s, s+WIN) with start <= s and s+WIN <= stop; each normalised
    as (w - median(w)) / scale."""
    starts = np.arange(start, stop - WIN + 1, stride)
    w = np.stack([sig[s:s + WIN] for s in starts])
    w = (w - np.median(w, axis=1, keepdims=True)) / scale
    return w, starts


def both_polarities(w):
    """Each window twice: normal (label 0) then inverted (label 1), interleaved."""
    x = np.stack([w, -w], axis=1).reshape(-1, 1, WIN).astype(np.float32)
    y = np.tile(np.array([0, 1], np.int64), len(w))
    return x, y


def load_data():
    sig = load_signal()
    scale = float(np.std(sig[:TRAIN_END]))      # train part only
    wtr, str_ = windows(sig, 0, TRAIN_END, STRIDE_TRAIN, scale)
    wte, ste = windows(sig, TEST_START, len(sig), STRIDE_TEST, scale)
    assert str_[-1] + WIN <= TRAIN_END and ste[0] >= str_[-1] + 2 * WIN
    xtr, ytr = both_polarities(wtr)
    xte, yte = both_polarities(wte)
    info = dict(scale=scale, n_train_win=len(wtr), n_test_win=len(wte),
                train_span=(0.0, (str_[-1] + WIN) / FS),
                test_span=(ste[0] / FS, (ste[-1] + WIN) / FS))
    return xtr, ytr, xte, yte, info


# --------------------------------------------------------------------------- models
CONVS = [  # (name index, in, out, kernel, maxpool after)
    (1, 1, 32, 13, True),
    (2, 32, 32, 11, True),
    (3, 32, 32, 9, False),
    (4, 32, 32, 7, False),
    (5, 32, 32, 5, False),
]
FLAT = 32 * 161
HIDDEN = 75


def hardtanh():
    return nn.Hardtanh(-1.0, 1.0)


def build(variant):
    feats = nn.Sequential()
    cls = nn.Sequential()
    allbin = variant == "all_binarized"
    for i, cin, cout, k, pool in CONVS:
        if allbin and i > 1:   # input is already +-1 (Sign, then maybe MaxPool)
            feats.add_module(f"conv{i}", BinaryConv1d(cin, cout, k, padding=0, bias=False))
        else:
            feats.add_module(f"conv{i}", nn.Conv1d(cin, cout, k, padding=0))
        feats.add_module(f"bn{i}", nn.BatchNorm1d(cout))
        feats.add_module(f"sign{i}" if allbin else f"act{i}",
                         SignAct() if allbin else hardtanh())
        if pool:
            feats.add_module(f"pool{i}", nn.MaxPool1d(2))
    feats.add_module("flatten", nn.Flatten())

    if variant == "float":
        cls.add_module("fc1", nn.Linear(FLAT, HIDDEN))
        cls.add_module("bn1", nn.BatchNorm1d(HIDDEN))
        cls.add_module("act1", hardtanh())
        cls.add_module("fc2", nn.Linear(HIDDEN, 2))
    else:
        if variant == "binarized_classifier":
            cls.add_module("sign0", SignAct())        # binarize flattened features
        cls.add_module("fc1", BinaryLinear(FLAT, HIDDEN, bias=False))
        cls.add_module("bn1", nn.BatchNorm1d(HIDDEN))
        cls.add_module("sign1", SignAct())
        cls.add_module("fc2", BinaryLinear(HIDDEN, 2, bias=True))
    return Net(feats, cls)


# --------------------------------------------------------------------------- train
def predict(model, x):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(torch.from_numpy(x[i:i + 256]))
                          for i in range(0, len(x), 256)]).numpy()


def accuracy(model, x, y):
    return (predict(model, x).argmax(1) == y).mean()


def train(variant, xtr, ytr):
    seed_all(SEED)
    model = build(variant)
    binary = variant != "float"
    lr = 1e-2 if binary else 1e-3
    return train_model(model, xtr, ytr, SEED, EPOCHS, BATCH, lr)


def export(model, path, constant_folding):
    return export_onnx(model, path, (1, WIN), constant_folding)


def main():
    t_start = time.time()
    seed_all(SEED)
    xtr, ytr, xte, yte, info = load_data()
    print(f"data: scale (train std) {info['scale']:.4f} mV; "
          f"train {info['n_train_win']} windows in [{info['train_span'][0]:.2f} s, "
          f"{info['train_span'][1]:.2f} s] -> {len(xtr)} samples; "
          f"test {info['n_test_win']} windows in [{info['test_span'][0]:.2f} s, "
          f"{info['test_span'][1]:.2f} s] -> {len(xte)} samples "
          f"(label 1: {int(yte.sum())})")
    np.save(os.path.join(OUT, "ecg_test_x.npy"), xte.astype(np.float32))
    np.save(os.path.join(OUT, "ecg_test_y.npy"), yte.astype(np.int64))

    for variant in ("float", "binarized_classifier", "all_binarized"):
        t0 = time.time()
        model = train(variant, xtr, ytr)
        t_train = time.time() - t0
        acc_train = accuracy(model, xtr, ytr)
        acc = accuracy(model, xte, yte)
        if variant == "binarized_classifier":
            baked = bake(model)
            acc_baked = accuracy(baked, xte, yte)
            assert acc_baked == acc, (acc_baked, acc)
            model, folding = baked, True
        else:
            folding = variant == "float"
        path = os.path.join(OUT, f"ecg_{variant}.onnx")
        m = export(model, path, folding)
        size = os.path.getsize(path)
        assert size < 2_000_000, size
        stats = {}
        logits = run_onnx(m, xte, stats)
        acc_onnx = (logits.argmax(1) == yte).mean()
        ref = predict(model, xte)
        diff = np.abs(logits - ref).max()
        ops, binary = describe(m)
        print(f"== {os.path.basename(path)}  ({size} bytes, onnx.checker OK, "
              f"trained in {t_train:.0f} s)")
        print(f"   train acc (PyTorch) {acc_train:.4f}")
        print(f"   test acc  (PyTorch) {acc:.4f}")
        print(f"   test acc  (numpy run of the ONNX file) {acc_onnx:.4f}, max |logit diff| {diff:.2e}")
        print("   activation Sign nodes on the test set (exact zeros, smallest |input|): "
              + (", ".join(f"{k}: {z}, {mn:.1e}" for k, (z, mn, _) in stats.items())
                 if stats else "n/a"))
        print(f"   ops: {ops}")
        print(f"   binary layers: {binary if binary else 'none'}")
    print(f"total time {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
