"""What the model-training scripts in this directory share: seeding, the sign
function with a straight-through estimator, binary layers and their baking into
plain layers, the training epoch, the features-then-classifier network, an independent numpy
executor for the exported ONNX graphs, and a description of a graph's binary
layers.

The training scripts import it with this directory on sys.path.
"""

import itertools
import random

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


class BinaryConv1d(nn.Conv1d):
    """Conv1d with weight Sign(latent) in the forward pass (STE)."""

    def forward(self, x):
        return self._conv_forward(x, SignSTE.apply(self.weight), self.bias)


class BinaryConv2d(nn.Conv2d):
    """Conv2d with weight Sign(latent) in the forward pass (STE)."""

    def forward(self, x):
        return self._conv_forward(x, SignSTE.apply(self.weight), self.bias)


BINARY_TYPES = (BinaryLinear, BinaryConv1d, BinaryConv2d)


def sign01(w):
    """sign with sign(0) = +1 (the chip's convention)."""
    return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))


def clip_latent(model):
    """Clip latent binary weights to [-1, 1] and keep them away from exactly 0
    (so a Sign kept in the graph never produces 0)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, BINARY_TYPES):
                w = m.weight
                w.clamp_(-1.0, 1.0)
                w[w == 0] = 1e-6


def bake(model):
    """Replace each binary layer by the plain layer holding its +-1 weights
    (sign(0) -> +1), so the export has them as initializers."""
    plain = {BinaryLinear: nn.Linear, BinaryConv1d: nn.Conv1d, BinaryConv2d: nn.Conv2d}
    for parent in model.modules():
        for name, m in list(parent.named_children()):
            if type(m) not in plain:
                continue
            if isinstance(m, BinaryLinear):
                new = nn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
            else:
                new = plain[type(m)](m.in_channels, m.out_channels, m.kernel_size,
                                     stride=m.stride, padding=m.padding,
                                     bias=m.bias is not None)
            with torch.no_grad():
                new.weight.copy_(sign01(m.weight))
                if m.bias is not None:
                    new.bias.copy_(m.bias)
            setattr(parent, name, new)
    model.eval()
    return model


def train_epoch(model, optimizer, x, y, order, batch):
    """One epoch of cross-entropy training over the samples in `order`, in
    mini-batches, clipping the latent binary weights after every step."""
    model.train()
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        if len(idx) < 2:  # BatchNorm needs two samples in training mode
            continue
        loss = F.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        clip_latent(model)


class Net(nn.Module):
    """features then classifier: the module names give the ONNX node names
    (/features/..., /classifier/...) that the classifier detection sees."""

    def __init__(self, features, classifier):
        super().__init__()
        self.features = features
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------- numpy reference
# A small independent executor for the ops these graphs use, so the exported file
# itself (not just the PyTorch model) is scored.
def _conv(x, w, b, pads, strides, dil, group):
    """N-d convolution (1-d and 2-d used), stride 1, no dilation or groups."""
    assert group == 1 and all(d == 1 for d in dil) and all(s == 1 for s in strides)
    rank = w.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + rank]) for i in range(rank)])
    out = [size - k + 1 for size, k in zip(x.shape[2:], w.shape[2:])]
    spatial = "xyz"[:rank]
    y = np.zeros((x.shape[0], w.shape[0], *out), np.float64)
    for offset in itertools.product(*(range(k) for k in w.shape[2:])):
        window = (slice(None), slice(None)) + tuple(
            slice(o, o + size) for o, size in zip(offset, out))
        y += np.einsum(f"nc{spatial},oc->no{spatial}", x[window],
                       w[(slice(None), slice(None)) + offset])
    if b is not None:
        y += b.reshape((1, -1) + (1,) * rank)
    return y


def _max_pool(x, kernel):
    """Max pooling with stride = kernel, no padding, floor mode."""
    n, c = x.shape[:2]
    out = [size // k for size, k in zip(x.shape[2:], kernel)]
    x = x[(slice(None), slice(None)) + tuple(slice(o * k) for o, k in zip(out, kernel))]
    split = [d for o, k in zip(out, kernel) for d in (o, k)]
    return x.reshape(n, c, *split).max(axis=tuple(range(3, 3 + 2 * len(kernel), 2)))


def _average_pool_2d(x, kernel, strides, pads):
    assert not any(pads)
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = strides
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y = np.zeros((n, c, oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].mean(axis=(2, 3))
    return y


def _float64(array):
    return array.astype(np.float64) if array.dtype.kind == "f" else array


def run_onnx(model, x, sign_stats=None):
    """Run the graph on x with numpy (float64). If sign_stats is a dict, it gets,
    per activation Sign node, (inputs exactly 0, smallest |input|, inputs with
    |input| < 1e-4): how close the activations come to the sign threshold."""
    env = {i.name: _float64(numpy_helper.to_array(i)) for i in model.graph.initializer}
    initializers = set(env)
    env[model.graph.input[0].name] = x.astype(np.float64)
    for nd in model.graph.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in nd.attribute}
        ins = [env[i] if i else None for i in nd.input]
        op = nd.op_type
        rank = ins[0].ndim - 2 if ins and ins[0] is not None else 0
        if op == "Conv":
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None,
                      a.get("pads", [0] * 2 * rank), a.get("strides", [1] * rank),
                      a.get("dilations", [1] * rank), a.get("group", 1))
        elif op == "BatchNormalization":
            xx, s, bb, mu, var = ins
            shp = (1, -1) + (1,) * (xx.ndim - 2)
            y = (xx - mu.reshape(shp)) / np.sqrt(var.reshape(shp) + a.get("epsilon", 1e-5)) \
                * s.reshape(shp) + bb.reshape(shp)
        elif op == "Clip":
            y = np.clip(ins[0], ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf,
                        ins[2] if len(ins) > 2 and ins[2] is not None else np.inf)
        elif op == "Relu":
            y = np.maximum(ins[0], 0.0)
        elif op == "Sign":
            y = np.sign(ins[0])
            if sign_stats is not None and nd.input[0] not in initializers:
                v = np.abs(ins[0])
                sign_stats[nd.name] = (int((v == 0).sum()), float(v.min()),
                                       int((v < 1e-4).sum()))
        elif op == "MaxPool":
            assert a.get("strides") == a["kernel_shape"], nd.name
            assert not any(a.get("pads", [0])) and not a.get("ceil_mode", 0), nd.name
            y = _max_pool(ins[0], a["kernel_shape"])
        elif op == "AveragePool":
            assert a.get("ceil_mode", 0) == 0
            y = _average_pool_2d(ins[0], a["kernel_shape"], a.get("strides", [1, 1]),
                                 a.get("pads", [0] * 4))
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
            y = _float64(numpy_helper.to_array(a["value"]))
        else:
            raise NotImplementedError(f"{op} (node {nd.name})")
        env[nd.output[0]] = y
    return env[model.graph.output[0].name]


# --------------------------------------------------------------------------- graph report
def describe(model):
    """(sorted op types, one line per binary layer saying where its +-1 weights
    come from: a +-1 initializer, or Sign of a latent-weight initializer)."""
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


# --------------------------------------------------------------------------- train, export
def train_model(model, xtr, ytr, seed, epochs, batch, lr):
    """Adam at `lr` with a cosine schedule over `epochs` mini-batch epochs in a
    seeded order, latent binary weights clipped first; the model in eval mode."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    gen = torch.Generator().manual_seed(seed)
    clip_latent(model)
    for _ in range(epochs):
        train_epoch(model, opt, xt, yt, torch.randperm(len(xt), generator=gen), batch)
        sched.step()
    model.eval()
    return model


def export_onnx(model, path, sample_shape, constant_folding):
    """The model as the examples ship it: opset 13, batch norms kept
    (TrainingMode.PRESERVE in eval mode), input `input` and output `logits`
    with a symbolic batch `N`, checked by onnx.checker."""
    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, *sample_shape), path,
        opset_version=13,
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=constant_folding,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m
