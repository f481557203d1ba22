#!/usr/bin/env python3
"""Empty (zero-size) and rank-0 tensors end to end (issue 13, item 5).

  zero_size.py WORK_DIR

Inputs of a zero-size shape are refused by the compiler (malformed-inputs
catalogue); inside a model, empty tensors (a Slice that takes nothing,
zero-size initializers, a contraction over zero columns) and scalars are
supported: each model here is compiled with every --binarize mode, run by
hafnia-sim on a fixed input and compared with NumPy's result of the same ONNX
semantics (ReduceSum of nothing is 0, ReduceMax -inf, ReduceMean NaN, a
dense layer over no inputs gives its bias). Prints a line per failure and
"N runs, K failed".
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
vi = helper.make_tensor_value_info


def init(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype), name)


# Slice(x, [2], [2], axes=[1]): nothing of axis 1.
EMPTY = [init("s0", [2], np.int64), init("s1", [2], np.int64),
         init("ax", [1], np.int64)]


def empty(output="e"):
    return helper.make_node("Slice", ["x", "s0", "s1", "ax"], [output])


def cases():
    """(name, nodes, input shape, output shape, initializers, reference)."""
    yield ("empty-output", [empty("y")], [1, 4], [1, 0], EMPTY,
           lambda x: x[:, 2:2])
    yield ("concat-empty", [empty(), helper.make_node(
        "Concat", ["e", "x", "e"], ["y"], axis=1)], [1, 4], [1, 4], EMPTY,
        lambda x: x)
    yield ("reducesum-empty", [empty(), helper.make_node(
        "ReduceSum", ["e", "axes"], ["y"], keepdims=1)], [1, 4], [1, 1],
        EMPTY + [init("axes", [1], np.int64)],
        lambda x: np.zeros((1, 1), np.float32))
    yield ("reducemax-empty", [empty(), helper.make_node(
        "ReduceMax", ["e"], ["y"], axes=[1], keepdims=1)], [1, 4], [1, 1],
        EMPTY, lambda x: np.full((1, 1), -np.inf, np.float32))
    yield ("reducemean-empty", [empty(), helper.make_node(
        "ReduceMean", ["e"], ["y"], axes=[1], keepdims=1)], [1, 4], [1, 1],
        EMPTY, lambda x: np.full((1, 1), np.nan, np.float32))
    yield ("matmul-k0", [empty(), helper.make_node(
        "MatMul", ["e", "w"], ["y"])], [1, 4], [1, 3],
        EMPTY + [init("w", np.zeros((0, 3)))],
        lambda x: np.zeros((1, 3), np.float32))
    yield ("gemm-k0-bias", [empty(), helper.make_node(
        "Gemm", ["e", "w", "b"], ["y"])], [1, 4], [1, 3],
        EMPTY + [init("w", np.zeros((0, 3))), init("b", [1, 2, 3])],
        lambda x: np.array([[1, 2, 3]], np.float32))
    yield ("sign-gemm-k0", [empty(), helper.make_node("Sign", ["e"], ["s"]),
                            helper.make_node("Gemm", ["s", "w"], ["y"],
                                             transB=1)],
           [1, 4], [1, 3], EMPTY + [init("w", np.ones((3, 0)))],
           lambda x: np.zeros((1, 3), np.float32))
    yield ("conv-no-channels", [empty(), helper.make_node(
        "Conv", ["e", "w", "b"], ["y"])], [1, 2, 5, 5], [1, 3, 3, 3],
        EMPTY + [init("w", np.zeros((3, 0, 3, 3))), init("b", [1, 2, 3])],
        lambda x: np.broadcast_to(np.array([1, 2, 3], np.float32)
                                  .reshape(1, 3, 1, 1), (1, 3, 3, 3)))
    yield ("batchnorm-empty", [empty(), helper.make_node(
        "BatchNormalization", ["e", "g", "b", "m", "v"], ["n"]),
        helper.make_node("Concat", ["x", "n"], ["y"], axis=1)],
        [1, 2, 4], [1, 2, 4],
        EMPTY + [init(n, np.zeros(0)) for n in "gbmv"], lambda x: x)
    yield ("maxpool-empty", [empty(), helper.make_node(
        "MaxPool", ["e"], ["y"], kernel_shape=[2, 2])], [1, 2, 4, 4],
        [1, 0, 3, 3], EMPTY, lambda x: np.zeros((1, 0, 3, 3), np.float32))
    yield ("softmax-empty", [empty(), helper.make_node(
        "Softmax", ["e"], ["y"])], [1, 4], [1, 0], EMPTY,
        lambda x: x[:, 2:2])
    yield ("flatten-empty", [empty(), helper.make_node(
        "Flatten", ["e"], ["y"])], [1, 4, 2], [1, 0], EMPTY,
        lambda x: np.zeros((1, 0), np.float32))
    yield ("transpose-empty", [empty(), helper.make_node(
        "Transpose", ["e"], ["y"], perm=[1, 0])], [1, 4], [0, 1], EMPTY,
        lambda x: np.zeros((0, 1), np.float32))
    yield ("scalar-sign", [helper.make_node("Sign", ["x"], ["s"]),
                           helper.make_node("Mul", ["s", "two"], ["y"])],
           [], [], [init("two", np.float32(2))],
           lambda x: (2 * np.sign(x)).astype(np.float32))
    yield ("scalar-reduce", [helper.make_node(
        "ReduceSum", ["x"], ["y"], keepdims=0)], [2, 3], [], [],
        lambda x: np.float32(x.sum()))


def run(command):
    return subprocess.run(command, capture_output=True, text=True)


def main():
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    runs = failed = 0
    for name, nodes, shape, out_shape, inits, reference in cases():
        graph = helper.make_graph(nodes, name, [vi("x", F, shape)],
                                  [vi("y", F, out_shape)], inits)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        path = os.path.join(work, name + ".onnx")
        onnx.save(model, path)
        x = (np.arange(int(np.prod(shape))) - 1.5).astype(np.float32)
        x = x.reshape(shape)
        x_path = os.path.join(work, name + "-x.npy")
        np.save(x_path, x)
        expected = np.asarray(reference(x), np.float32)
        for mode in ("none", "classifier", "all"):
            runs += 1
            hfp = os.path.join(work, "%s-%s.hfp" % (name, mode))
            y_path = os.path.join(work, "%s-%s-y.npy" % (name, mode))
            problem = None
            done = run(["hafnia-compile", path, "--binarize=" + mode, "-o",
                        hfp])
            if done.returncode:
                problem = "compile: " + done.stderr.strip()
            else:
                done = run(["hafnia-sim", hfp, "--input", x_path, "--output",
                            y_path])
                if done.returncode:
                    problem = "sim: " + done.stderr.strip()
            if not problem:
                y = np.load(y_path)
                if y.shape != expected.shape or not np.array_equal(
                        y, expected, equal_nan=True):
                    problem = "got %s %s, expected %s %s" % (
                        y.shape, y.ravel()[:6], expected.shape,
                        expected.ravel()[:6])
            if problem:
                failed += 1
                print("FAIL %s --binarize=%s: %s" % (name, mode,
                                                    problem[:300]))
    print("%d runs, %d failed" % (runs, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
