#!/usr/bin/env python3
"""Prints the ONNX backend tests (Debian's libonnx-testdata) that Hafnia aims
to compile: every graph input and output a float32 tensor of rank <= 4, and
no training, loss, sequence, optional, string or random-number operator.

    /usr/bin/python3 test/Import/onnx_suite_eligible.py > /tmp/eligible.txt
    HAFNIA_ONNX_SUITE_MEASURE=/tmp/eligible.txt \\
        build/test/Unit/hafnia-onnx-suite-run-test --gtest_filter=*Measure

prints how many of them compile, simulate and match their expected outputs.
"""
import os
import sys

import onnx

ROOT = sys.argv[1] if len(sys.argv) > 1 else "/usr/include/onnx/backend/test/data"
SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]
EXCLUDED_OPS = {
    # training
    "Adagrad", "Adam", "Momentum", "Gradient",
    # losses
    "SoftmaxCrossEntropyLoss", "NegativeLogLikelihoodLoss",
    # sequences
    "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceErase",
    "SequenceInsert", "SequenceLength", "SequenceMap", "SplitToSequence",
    "ConcatFromSequence",
    # optionals
    "Optional", "OptionalHasElement", "OptionalGetElement",
    # strings
    "StringNormalizer", "RegexFullMatch", "StringConcat", "StringSplit",
    # random numbers
    "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
    "Multinomial", "Bernoulli",
}


def op_types(graph):
    for node in graph.node:
        yield node.op_type
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from op_types(attr.g)
            for subgraph in attr.graphs:
                yield from op_types(subgraph)


def eligible(name, model):
    graph = model.graph
    # Training-mode tests of inference operators (Dropout, BatchNormalization).
    if "training" in name or "_loss" in name or "sce" in name:
        return False
    if set(op_types(graph)) & EXCLUDED_OPS:
        return False
    initializers = {tensor.name for tensor in graph.initializer}
    for value in list(graph.input) + list(graph.output):
        if value.name in initializers:
            continue
        if not value.type.HasField("tensor_type"):
            return False
        tensor = value.type.tensor_type
        if tensor.elem_type != onnx.TensorProto.FLOAT:
            return False
        if tensor.HasField("shape") and len(tensor.shape.dim) > 4:
            return False
    return True


def main():
    count = 0
    for suite in SUITES:
        for test in sorted(os.listdir(os.path.join(ROOT, suite))):
            path = os.path.join(ROOT, suite, test, "model.onnx")
            if os.path.exists(path) and eligible(test, onnx.load(path)):
                print(f"{suite}/{test}")
                count += 1
    print(f"{count} eligible tests", file=sys.stderr)


if __name__ == "__main__":
    main()
