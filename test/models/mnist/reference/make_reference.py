#!/usr/bin/env python3
"""onnxruntime reference logits for the MNIST test models, with ONNX's Sign rule and
with the chip's (sign(0) = +1), and the checks reported in README.md.

Run:  /usr/bin/python3 make_reference.py     (from anywhere; needs node and
      onnxruntime-node, see README.md)

For each model M in ../mnist_{float,binarized_classifier,all_binarized}.onnx:
- M.ort.npy:       ../../digits/reference/run_onnxruntime.js on M.onnx, the whole
                   test set ../mnist_test_x.npy as one batch;
- M.chip.ort.npy:  the same on the chip-rule model made by ../../chip_rule_onnx.py
                   (every activation Sign(x) -> Where(x >= 0, 1, -1)), written to a
                   temporary directory and deleted (pass --keep=DIR to keep it);
and it prints: accuracy of both, samples whose logits/argmax differ between them,
exact zeros (and smallest |value|, values below 1e-4) at every Sign input as
onnxruntime computes it (each Sign input exposed as the only output of a copy of
the model) and whether their signs agree with the float64 executor, the same for
latent weights, how far the batch-norm thresholds of integer-valued layers are from
any integer, max |difference| and argmax agreement
against the numpy float64 executor of ../../bnn_training.py, the smallest
top-1/top-2 logit gap, and whether one-sample runs (every 50th sample) equal
the batch run.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.dirname(HERE)
MODELS = os.path.dirname(MNIST)
sys.path.insert(0, MODELS)
from bnn_training import run_onnx  # noqa: E402
from chip_rule_onnx import activation_signs, chip_rule, expose  # noqa: E402

RUNNER = os.path.join(MODELS, "digits", "reference", "run_onnxruntime.js")
NAMES = ("mnist_float", "mnist_binarized_classifier", "mnist_all_binarized")
SINGLE_EVERY = 50


def ort(model_path, x_path, out_path):
    subprocess.run(["node", RUNNER, model_path, x_path, out_path], check=True,
                   stderr=subprocess.DEVNULL)
    return np.load(out_path)


def integer_thresholds(model):
    """For each BatchNormalization that feeds a Sign and whose input is an integer
    (a bias-free Conv/MatMul with +-1 weights of +-1 activations, possibly through
    MaxPool): (name, smallest distance of a channel's threshold mean - beta *
    sqrt(var + eps) / gamma to an integer, channels with gamma < 0, MaxPool between
    the layer and the batch norm). A distance far above float32 rounding means that
    Sign(BN(k)) is the same in float32, in float64 and as an integer comparison, for
    every input, and that BN(k) is never exactly 0."""
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def through(name, ops):
        n = producer.get(name)
        while n is not None and n.op_type in ops:
            n = producer.get(n.input[0])
        return n

    def binary_weight(name):
        if name in inits:
            return set(np.unique(inits[name]).tolist()) <= {-1.0, 1.0}
        n = through(name, ("Transpose",))
        return n is not None and n.op_type == "Sign" and n.input[0] in inits

    out = []
    for n in g.node:
        if n.op_type != "BatchNormalization" or not any(
                c.op_type == "Sign" for c in consumers.get(n.output[0], [])):
            continue
        layer = through(n.input[0], ("MaxPool",))
        if layer is None or layer.op_type not in ("Conv", "MatMul") or len(layer.input) > 2:
            continue
        src = through(layer.input[0], ("MaxPool", "Flatten"))
        if not binary_weight(layer.input[1]) or src is None or src.op_type != "Sign":
            continue
        eps = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (inits[i].astype(np.float64) for i in n.input[1:])
        thr = mean - beta * np.sqrt(var + eps) / gamma
        out.append((n.name, float(np.abs(thr - np.round(thr)).min()), int((gamma < 0).sum()),
                    producer[n.input[0]].op_type == "MaxPool"))
    return out


def main(argv):
    keep = next((a[len("--keep="):] for a in argv[1:] if a.startswith("--keep=")), None)
    x_path = os.path.join(MNIST, "mnist_test_x.npy")
    x = np.load(x_path)
    y = np.load(os.path.join(MNIST, "mnist_test_y.npy"))
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = keep or tmp
        for name in NAMES:
            path = os.path.join(MNIST, name + ".onnx")
            model = onnx.load(path)
            logits = ort(path, x_path, os.path.join(HERE, name + ".ort.npy"))
            chip_path = os.path.join(out_dir, name + ".chip.onnx")
            onnx.save(chip_rule(model), chip_path)
            chip = ort(chip_path, x_path, os.path.join(HERE, name + ".chip.ort.npy"))

            acc, acc_chip = (logits.argmax(1) == y).mean(), (chip.argmax(1) == y).mean()
            differ = int((logits != chip).any(axis=1).sum())
            differ_argmax = int((logits.argmax(1) != chip.argmax(1)).sum())
            ref = run_onnx(model, x)
            top2 = np.sort(logits, axis=1)[:, -2:]
            print(f"== {name}  ({os.path.getsize(path)} bytes)")
            print(f"   accuracy onnxruntime {acc:.4f} ({int(acc * len(y))}/{len(y)}), "
                  f"chip rule {acc_chip:.4f}")
            print(f"   samples whose logits differ ONNX rule vs chip rule: {differ} "
                  f"(argmax differs: {differ_argmax})")
            print(f"   vs numpy float64 executor: max |diff| {np.abs(logits - ref).max():.2e}, "
                  f"argmax agrees on {int((logits.argmax(1) == ref.argmax(1)).sum())}/{len(y)}")
            print(f"   smallest top-1/top-2 logit gap {(top2[:, 1] - top2[:, 0]).min():.3g}, "
                  f"logit range [{logits.min():.3g}, {logits.max():.3g}]")

            single = list(range(0, len(x), SINGLE_EVERY))
            worst = 0.0
            for i in single:
                xi = os.path.join(tmp, "one.npy")
                np.save(xi, x[i:i + 1])
                worst = max(worst, float(np.abs(ort(path, xi, os.path.join(tmp, "o.npy"))[0]
                                             - logits[i]).max()))
            print(f"   one-sample runs of {len(single)} samples vs batch: max |diff| {worst:.3g}")

            for sign in activation_signs(model):
                t = sign.input[0]
                sub = os.path.join(tmp, "expose.onnx")
                part = expose(model, t)
                onnx.save(part, sub)
                v = ort(sub, x_path, os.path.join(tmp, "e.npy"))
                disagree = int((np.sign(v) != np.sign(run_onnx(part, x))).sum())
                a = np.abs(v)
                print(f"   Sign input {t}: exact zeros {int((a == 0).sum())} of {a.size}, "
                      f"smallest |v| {a.min():.2g}, |v| < 1e-4: {int((a < 1e-4).sum())}, "
                      f"sign differs from float64 executor: {disagree}")
            for bn, margin, negative, pooled in integer_thresholds(model):
                print(f"   {bn}: input integer-valued; threshold at least {margin:.3g} from "
                      f"any integer; negative scale in {negative} channel(s)"
                      + (" (a MaxPool precedes the batch norm)" if pooled else ""))
            inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
            for n in model.graph.node:
                if n.op_type == "Sign" and n.input[0] in inits:
                    w = np.abs(inits[n.input[0]])
                    print(f"   latent weight {n.input[0]}: exact zeros {int((w == 0).sum())} "
                          f"of {w.size}, smallest |w| {w.min():.2g}, "
                          f"|w| < 1e-4: {int((w < 1e-4).sum())}")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
