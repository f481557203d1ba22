#!/usr/bin/env python3
"""Rewrite an ONNX model to the chip's sign rule: every Sign on an activation,
Sign(x) with Sign(0) = 0, becomes Where(GreaterOrEqual(x, 0), 1, -1), so that
sign(0) = +1 as on the chip. Sign nodes on constants (Sign(latent weight
initializer)) are kept: they are weights, not activations.

The replacement nodes write the Sign's output tensor, so the rest of the graph is
unchanged; the model keeps its opset (GreaterOrEqual needs >= 12). Any ONNX runtime
then computes what the chip computes at the signs.

Usage:  /usr/bin/python3 chip_rule_onnx.py IN.onnx OUT.onnx
As a module: chip_rule(model), activation_signs(model), expose(model, tensor).
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

ZERO, ONE, MINUS_ONE = "chip_rule/zero", "chip_rule/one", "chip_rule/minus_one"


def constant_tensors(model):
    """Names of tensors that do not depend on a graph input: initializers and the
    outputs of nodes whose inputs are all constant (Constant nodes included)."""
    g = model.graph
    const = {i.name for i in g.initializer}
    for n in g.node:  # nodes are topologically sorted
        if all(not i or i in const for i in n.input):
            const.update(n.output)
    return const


def activation_signs(model):
    """Sign nodes whose input depends on the graph input, in graph order."""
    const = constant_tensors(model)
    return [n for n in model.graph.node if n.op_type == "Sign" and n.input[0] not in const]


def chip_rule(model):
    """A copy of `model` with every activation Sign replaced by the chip's rule."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    assert opset >= 12, f"GreaterOrEqual needs opset >= 12, model has {opset}"
    replace = {n.name for n in activation_signs(m)}
    taken = {i.name for i in g.initializer}
    assert not {ZERO, ONE, MINUS_ONE} & taken
    nodes = []
    for n in g.node:
        if n.op_type != "Sign" or n.name not in replace:
            nodes.append(n)
            continue
        cond = n.output[0] + "/chip_rule_ge"
        nodes.append(helper.make_node("GreaterOrEqual", [n.input[0], ZERO], [cond],
                                      name=n.name + "/chip_rule_ge"))
        nodes.append(helper.make_node("Where", [cond, ONE, MINUS_ONE], [n.output[0]],
                                      name=n.name + "/chip_rule_where"))
    del g.node[:]
    g.node.extend(nodes)
    if replace:
        for name, value in ((ZERO, 0.0), (ONE, 1.0), (MINUS_ONE, -1.0)):
            g.initializer.append(numpy_helper.from_array(np.array(value, np.float32), name))
    onnx.checker.check_model(m)
    return m


def expose(model, tensor):
    """A copy of `model` whose only output is `tensor` (e.g. a Sign's input), keeping
    only the nodes and initializers that it depends on."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    inferred = shape_inference.infer_shapes(model).graph.value_info
    info = [v for v in inferred if v.name == tensor]
    assert info, f"no inferred type for {tensor}"
    needed, keep = {tensor}, []
    for n in reversed(g.node):
        if needed & set(n.output):
            keep.append(n)
            needed.update(i for i in n.input if i)
    inits = [i for i in g.initializer if i.name in needed]
    del g.node[:], g.initializer[:], g.output[:], g.value_info[:]
    g.node.extend(reversed(keep))
    g.initializer.extend(inits)
    g.output.append(info[0])
    onnx.checker.check_model(m)
    return m


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: chip_rule_onnx.py IN.onnx OUT.onnx")
    model = onnx.load(argv[1])
    signs = activation_signs(model)
    onnx.save(chip_rule(model), argv[2])
    print(f"{argv[1]} -> {argv[2]}: {len(signs)} activation Sign node(s) replaced"
          + "".join(f"\n  {n.name} (input {n.input[0]})" for n in signs))


if __name__ == "__main__":
    main(sys.argv)
