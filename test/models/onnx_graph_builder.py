"""A small ONNX graph builder shared by the generators of random test BNNs
(padded/generate_padded_bnns.py, qonnx/generate_qonnx_bnns.py): fresh names,
float32 initializers, one-output nodes, random batch norms and the checked
model.

The generators import it with this directory on sys.path.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class GraphBuilder:
    def __init__(self, rng, init_prefix, mean_scale):
        """`init_prefix` names the float initializers; `mean_scale` scales the
        random running means of batch norms."""
        self.rng, self.init_prefix, self.mean_scale = rng, init_prefix, mean_scale
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def init(self, array):
        name = self.name(self.init_prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def batch_norm(self, x, channels):
        r = self.rng
        params = [r.randn(channels), r.randn(channels), r.randn(channels) * self.mean_scale,
                  r.rand(channels) + 0.5]
        return self.node("BatchNormalization", [x] + [self.init(p) for p in params])

    def model(self, name, y, shape, outputs, opsets):
        """The checked IR-8 model of the graph: input x of N x `shape`, output
        `y` of N x `outputs`."""
        graph = helper.make_graph(
            self.nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + shape)],
            [helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N", outputs])], self.inits)
        model = helper.make_model(graph, opset_imports=opsets)
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model
