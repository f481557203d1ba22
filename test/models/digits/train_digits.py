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
import random

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

OUT = os.path.dirname(os.path.abspath(__file__))
SEED = 0
EPOCHS = 100
BATCH = 64

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- data
def load_data():
    d = load_digits()
    x = (d.images.astype(np.float32) / 8.0 - 1.0)[:, None, :, :]  # [-1, 1]
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        x, y, test_size=500, stratify=y, random_state=SEED, shuffle=True)
    assert xtr.shape[0] == 1297 and xte.shape[0] == 500
    return xtr, ytr, xte, yte


# --------------------------------------------------------------------------- sign / STE
class SignSTE(torch.autograd.Function):
    """forward: torch.sign (exports as ONNX Sign); backward: straight-through,
    gradient passed where |x| <= 1."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)

    @staticmethod
    def symbolic(g, x):
        return g.op("Sign", x)


class SignAct(nn.Module):
    def forward(self, x):
        return SignSTE.apply(x)


class BinaryLinear(nn.Linear):
    """Linear with weight Sign(latent) in the forward pass (STE)."""

    def forward(self, x):
        return F.linear(x, SignSTE.apply(self.weight), self.bias)


class BinaryConv2d(nn.Conv2d):
    """Conv2d with weight Sign(latent) in the forward pass (STE)."""

    def forward(self, x):
        return self._conv_forward(x, SignSTE.apply(self.weight), self.bias)


BINARY_TYPES = (BinaryLinear, BinaryConv2d)


def sign01(w):
    """sign with sign(0) = +1 (the chip's convention)."""
    return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))


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


class Net(nn.Module):
    def __init__(self, features, classifier):
        super().__init__()
        self.features = features
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(self.features(x))


def clip_latent(model):
    """Clip latent binary weights to [-1, 1] and keep them away from exactly 0
    (so the in-graph Sign never produces 0)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, BINARY_TYPES):
                w = m.weight
                w.clamp_(-1.0, 1.0)
                w[w == 0] = 1e-6


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
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    gen = torch.Generator().manual_seed(SEED)
    clip_latent(model)
    for _ in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), BATCH):
            idx = perm[i:i + BATCH]
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            clip_latent(model)
        sched.step()
    model.eval()
    return model


def bake(model):
    """Replace each binary layer by a plain layer holding its +-1 weights
    (sign(0) -> +1)."""
    for parent in model.modules():
        for name, m in list(parent.named_children()):
            if isinstance(m, BinaryLinear):
                new = nn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
            elif isinstance(m, BinaryConv2d):
                new = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size,
                                stride=m.stride, padding=m.padding, bias=m.bias is not None)
            else:
                continue
            with torch.no_grad():
                new.weight.copy_(sign01(m.weight))
                if m.bias is not None:
                    new.bias.copy_(m.bias)
            setattr(parent, name, new)
    model.eval()
    return model


def export(model, path, constant_folding):
    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, 1, 8, 8), path,
        opset_version=13,
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=constant_folding,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


# --------------------------------------------------------------------------- numpy reference
# A small independent executor for the ops these graphs use, so the exported file
# itself (not just the PyTorch model) is scored.
def _conv(x, w, b, pads, strides, dil, group):
    assert group == 1 and all(d == 1 for d in dil) and all(s == 1 for s in strides)
    t, l, bo, r = pads[0], pads[1], pads[2], pads[3]
    x = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    y = np.zeros((n, o, oh, ow), np.float64)
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nchw,oc->nohw", x[:, :, i:i + oh, j:j + ow], w[:, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def run_onnx(model, x, sign_zeros=None):
    """Run the graph on x with numpy (float64). If sign_zeros is a dict, it gets,
    per activation Sign node, how many of its inputs were exactly 0."""
    env = {i.name: numpy_helper.to_array(i).astype(np.float64)
           if numpy_helper.to_array(i).dtype.kind == "f" else numpy_helper.to_array(i)
           for i in model.graph.initializer}
    env_init = set(env)
    env[model.graph.input[0].name] = x.astype(np.float64)
    for nd in model.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in nd.attribute}
        ins = [env[i] if i else None for i in nd.input]
        op = nd.op_type
        if op == "Conv":
            k = ins[1].shape[2:]
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                      a.get("pads", [0] * 4), a.get("strides", [1, 1]),
                      a.get("dilations", [1, 1]), a.get("group", 1))
        elif op == "BatchNormalization":
            xx, s, bb, mu, var = ins
            shp = (1, -1) + (1,) * (xx.ndim - 2)
            y = (xx - mu.reshape(shp)) / np.sqrt(var.reshape(shp) + a.get("epsilon", 1e-5)) \
                * s.reshape(shp) + bb.reshape(shp)
        elif op == "Clip":
            y = np.clip(ins[0], ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf,
                        ins[2] if len(ins) > 2 and ins[2] is not None else np.inf)
        elif op == "Sign":
            y = np.sign(ins[0])
            if sign_zeros is not None and nd.input[0] not in env_init:
                sign_zeros[nd.name] = int((ins[0] == 0).sum())
        elif op == "MaxPool":
            assert a["kernel_shape"] == [2, 2] and a.get("strides") == [2, 2]
            xx = ins[0]
            n, c, h, w = xx.shape
            xx = xx[:, :, :h // 2 * 2, :w // 2 * 2]
            y = xx.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
        elif op == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Gemm":
            A = ins[0].T if a.get("transA", 0) else ins[0]
            B = ins[1].T if a.get("transB", 0) else ins[1]
            y = a.get("alpha", 1.0) * A @ B
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "Transpose":
            y = np.transpose(ins[0], a.get("perm"))
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"])
            y = y.astype(np.float64) if y.dtype.kind == "f" else y
        else:
            raise NotImplementedError(op)
        env[nd.output[0]] = y
    return env[model.graph.output[0].name]


# --------------------------------------------------------------------------- graph report
def describe(model):
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    producers = {o: n for n in g.node for o in n.output}
    ops = sorted({n.op_type for n in g.node})
    binary = []
    for n in g.node:
        if n.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        w = n.input[1]
        if w in inits and set(np.unique(inits[w]).tolist()) <= {-1.0, 1.0}:
            binary.append(f"{n.name} (+-1 initializer {w}, shape {list(inits[w].shape)})")
            continue
        p = producers.get(w)
        chain = []
        while p is not None and p.op_type in ("Transpose", "Sign"):
            chain.append(p.op_type)
            src = p.input[0]
            if p.op_type == "Sign" and src in inits:
                lw = inits[src]
                assert not (lw == 0).any(), f"latent weight {src} has exact zeros"
                binary.append(f"{n.name} (Sign({src}){''.join(' -> ' + c for c in chain[:-1][::-1])},"
                              f" Sign node {p.name}, shape {list(lw.shape)})")
                break
            p = producers.get(src)
    return ops, binary


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
        zeros = {}
        logits = run_onnx(m, xte, zeros)
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
