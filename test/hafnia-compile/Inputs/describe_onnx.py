#!/usr/bin/python3
"""Checks an ONNX model with ONNX's checker (full check: strict shape
inference) and prints its structure for FileCheck: opsets, graph inputs and
outputs with shapes, the operator types in order of first use with counts,
and the initializers that were int8 on the chip."""
import collections
import sys

import onnx


def dims(value):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param
            for d in value.type.tensor_type.shape.dim]


model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
print("ir_version", model.ir_version)
for opset in model.opset_import:
    print(f"opset '{opset.domain}' {opset.version}")
for value in model.graph.input:
    print("input", value.name, dims(value))
for value in model.graph.output:
    print("output", value.name, dims(value))
counts = collections.Counter(node.op_type for node in model.graph.node)
order = list(dict.fromkeys(node.op_type for node in model.graph.node))
print("ops", " ".join(f"{op}:{counts[op]}" for op in order))
print("domains", sorted({node.domain for node in model.graph.node}))
print("int8 initializers",
      sum("int8" in t.doc_string for t in model.graph.initializer))
