#!/usr/bin/python3
"""Generate the ONNX test models of Penkovsky et al., DATE 2020.

The paper ("In-Memory Resistive RAM Implementation of Binarized Neural
Networks for Medical Applications") evaluates three networks, with real
weights and with a binarized classifier.  This script rebuilds them with
random (but deterministic) weights, using the node patterns that
``torch.onnx.export(..., training=TrainingMode.PRESERVE, opset_version=13)``
produces for an eval-mode PyTorch model (opset 13, IR version 7):

``eeg.onnx``
    Table I: EEG motor-imagery network.  Input [N,1,960,64]; temporal
    Conv 40 (30x1, pad 15, bias), spatial Conv 40 (1x64), each followed by
    BatchNormalization and Relu; AveragePool 30x1 stride 15; Flatten (2520);
    Gemm 80 -> BatchNormalization -> Relu; Gemm 2 -> Softmax.
``ecg.onnx``
    Table II: ECG electrode-inversion network, as 1-D convolutions.  Input
    [N,12,750]; five bias-free Conv1d 32 (kernels 13, 11, 9, 7, 5), each
    followed by BatchNormalization and Clip(-1, 1) (hardtanh, as in the
    paper), the first two by MaxPool 2; Flatten (5152); Gemm 75 ->
    BatchNormalization -> Clip(-1, 1);
    Gemm 2 -> Softmax.
``ecg_binarized.onnx``
    Table II with the classifier binarized (section III-C), as a
    straight-through-estimator model exports: Sign on the flattened
    features; bias-free MatMul with a pre-transposed +1/-1 weight [5152,75]
    -> BatchNormalization -> Sign; Gemm 2 with a +1/-1 weight -> Softmax.
    Its feature extractor is identical to the one of ``ecg.onnx``.
``mobilenet_v1.onnx``
    Table IV / section IV: MobileNet V1 224 (alpha 1.0).  Input
    [N,3,224,224]; 3x3 stride-2 Conv 32 and 13 depthwise-separable blocks,
    every Conv bias-free and followed by BatchNormalization and Relu;
    GlobalAveragePool -> Flatten -> Gemm 1000 -> Softmax.
``mobilenet_v1_binarized_classifier.onnx``
    Section IV: the same feature extractor (identical weights) followed by
    the paper's two-layer binarized classifier: BatchNormalization -> Sign
    -> MatMul +1/-1
    [1024,2816] -> BatchNormalization -> Sign -> MatMul +1/-1 [2816,1000]
    -> BatchNormalization -> Softmax.

Every model has one input ``input`` and one output ``output`` whose batch
dimension is the symbolic dimension ``N``.  Node names follow PyTorch's
module scopes (``/features/conv1/Conv``) and initializer names its
parameter names (``features.conv1.weight``, ``features.bn1.running_mean``).
Parameter counts are those of PyTorch's ``model.parameters()`` (weights,
biases, BatchNormalization scale and shift; not the running statistics);
the classifier is the dense part after the last Flatten.

Usage: generate_paper_models.py --out DIR [--only NAME[,NAME...]]
"""

import argparse
import copy
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 7
BATCH = "N"
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9  # ONNX convention: 1 - PyTorch's momentum of 0.1.

# MobileNet V1 depthwise-separable blocks: (pointwise output channels,
# depthwise stride), from Table 1 of Howard et al., 2017.
MOBILENET_BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)
# Hidden width of the binarized MobileNet classifier (section IV).
MOBILENET_BINARY_HIDDEN = 2816


class GraphBuilder:
    """Accumulates the nodes and initializers of one PyTorch-like graph.

    Layer methods take the name of their input tensor and the PyTorch
    module path of the layer (``features.conv1``) and return the name of
    their output tensor.
    """

    def __init__(self, name, seed):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.initializers = []
        self.trainable = {}  # initializer name -> element count
        self.binary = {}  # +1/-1 initializer name -> element count

    # -- low-level helpers ----------------------------------------------------

    def _initializer(self, name, array, trainable=True, binary=False):
        array = np.ascontiguousarray(array, dtype=np.float32)
        self.initializers.append(numpy_helper.from_array(array, name))
        if trainable:
            self.trainable[name] = array.size
        if binary:
            self.binary[name] = array.size
        return name

    def _node(self, op_type, module, inputs, output=None, **attributes):
        """Add a node named like PyTorch: ``/features/conv1/Conv``."""
        name = "/" + module.replace(".", "/") + "/" + op_type
        output = output or name + "_output_0"
        self.nodes.append(helper.make_node(
            op_type, inputs, [output], name=name, **attributes))
        return output

    def _normal(self, shape, std):
        return self.rng.standard_normal(shape, dtype=np.float32) * std

    def _uniform(self, shape, bound):
        return self.rng.uniform(-bound, bound, shape).astype(np.float32)

    def _signs(self, shape):
        return np.where(self.rng.random(shape) < 0.5, -1.0, 1.0)

    # -- layers ---------------------------------------------------------------

    def conv(self, x, module, in_channels, out_channels, kernel, stride=1,
             pad=0, group=1, bias=False):
        """nn.Conv1d/nn.Conv2d with Kaiming-normal weights.

        ``kernel`` is a tuple with one entry per spatial axis; ``pad`` is
        either one padding for every side or the ONNX ``pads`` tuple.
        """
        rank = len(kernel)
        fan_in = in_channels // group * int(np.prod(kernel))
        weight = self._normal((out_channels, in_channels // group) + kernel,
                              np.sqrt(2.0 / fan_in))
        inputs = [x, self._initializer(module + ".weight", weight)]
        if bias:
            inputs.append(self._initializer(
                module + ".bias",
                self._uniform(out_channels, 1.0 / np.sqrt(fan_in))))
        pads = list(pad) if isinstance(pad, tuple) else [pad] * 2 * rank
        strides = [stride] * rank
        return self._node("Conv", module, inputs, dilations=[1] * rank,
                          group=group, kernel_shape=list(kernel), pads=pads,
                          strides=strides)

    def batch_norm(self, x, module, channels, input_std=1.0):
        """Eval-mode nn.BatchNorm1d/2d with random, valid statistics.

        ``input_std`` is the expected scale of the input, used for the
        running statistics.  Scale and variance are drawn near one so that
        activations keep their magnitude through MobileNet's 27 layers.
        About one scale in ten is negative.
        """
        scale = (self.rng.uniform(0.8, 1.2, channels)
                 * np.where(self.rng.random(channels) < 0.1, -1.0, 1.0))
        shift = self._normal(channels, 0.1)
        mean = self._normal(channels, 0.1 * input_std)
        var = self.rng.uniform(0.8, 1.25, channels) * input_std ** 2
        inputs = [
            x,
            self._initializer(module + ".weight", scale),
            self._initializer(module + ".bias", shift),
            self._initializer(module + ".running_mean", mean, False),
            self._initializer(module + ".running_var", var, False),
        ]
        return self._node("BatchNormalization", module, inputs,
                          epsilon=BN_EPSILON, momentum=BN_MOMENTUM)

    def relu(self, x, module):
        return self._node("Relu", module, [x])

    def sign(self, x, module):
        return self._node("Sign", module, [x])

    def hardtanh(self, x, module):
        """nn.Hardtanh(-1, 1): opset-13 Clip with min/max as inputs."""
        low = self._initializer(module + ".min_val", np.array(-1.0), False)
        high = self._initializer(module + ".max_val", np.array(1.0), False)
        return self._node("Clip", module, [x, low, high])

    def _pool(self, op_type, x, module, kernel, stride):
        return self._node(op_type, module, [x], ceil_mode=0,
                          kernel_shape=list(kernel),
                          pads=[0] * 2 * len(kernel), strides=list(stride))

    def max_pool(self, x, module, kernel, stride):
        return self._pool("MaxPool", x, module, kernel, stride)

    def avg_pool(self, x, module, kernel, stride):
        return self._pool("AveragePool", x, module, kernel, stride)

    def global_avg_pool(self, x, module):
        return self._node("GlobalAveragePool", module, [x])

    def flatten(self, x, module):
        return self._node("Flatten", module, [x], axis=1)

    def linear(self, x, module, in_features, out_features, binary=False):
        """nn.Linear with bias: Gemm with the [out, in] weight, transB=1."""
        if binary:
            weight = self._signs((out_features, in_features))
        else:
            weight = self._normal((out_features, in_features),
                                  np.sqrt(2.0 / in_features))
        bias = self._uniform(out_features, 1.0 / np.sqrt(in_features))
        inputs = [
            x,
            self._initializer(module + ".weight", weight, binary=binary),
            self._initializer(module + ".bias", bias),
        ]
        return self._node("Gemm", module, inputs, alpha=1.0, beta=1.0,
                          transB=1)

    def binary_linear_no_bias(self, x, module, in_features, out_features):
        """Bias-free nn.Linear with +1/-1 weights: MatMul by weight.T."""
        weight_t = self._signs((in_features, out_features))
        inputs = [x, self._initializer(module + ".weight_t", weight_t,
                                       binary=True)]
        return self._node("MatMul", module, inputs)

    def softmax(self, x, module):
        return self._node("Softmax", module, [x], output="output", axis=1)

    # -- result ---------------------------------------------------------------

    def model(self, input_shape, num_classes):
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                           [BATCH] + list(input_shape))],
            [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                           [BATCH, num_classes])],
            initializer=self.initializers)
        model = helper.make_model(
            graph, producer_name="hafnia-generate_paper_models",
            opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        return model


def eeg_features(b):
    """Table I feature extractor: [N,1,960,64] -> [N,2520]."""
    x = b.conv("input", "features.conv1", 1, 40, (30, 1), pad=(15, 0, 15, 0),
               bias=True)
    x = b.relu(b.batch_norm(x, "features.bn1", 40), "features.relu1")
    x = b.conv(x, "features.conv2", 40, 40, (1, 64))
    x = b.relu(b.batch_norm(x, "features.bn2", 40), "features.relu2")
    x = b.avg_pool(x, "features.pool", (30, 1), (15, 1))
    return b.flatten(x, "flatten")


def build_eeg(b):
    x = eeg_features(b)
    x = b.linear(x, "classifier.fc1", 2520, 80)
    x = b.relu(b.batch_norm(x, "classifier.bn1", 80), "classifier.relu1")
    x = b.linear(x, "classifier.fc2", 80, 2)
    return b.softmax(x, "softmax")


def ecg_features(b):
    """Table II feature extractor: [N,12,750] -> [N,5152]."""
    x = "input"
    in_channels = 12
    for i, kernel in enumerate((13, 11, 9, 7, 5), start=1):
        x = b.conv(x, f"features.conv{i}", in_channels, 32, (kernel,))
        x = b.batch_norm(x, f"features.bn{i}", 32)
        # The paper's ECG network uses hardtanh, so that a binarized
        # classifier's Sign sees features of both signs.
        x = b.hardtanh(x, f"features.act{i}")
        if i <= 2:
            x = b.max_pool(x, f"features.pool{i}", (2,), (2,))
        in_channels = 32
    return b.flatten(x, "flatten")


def build_ecg(b):
    x = ecg_features(b)
    x = b.linear(x, "classifier.fc1", 5152, 75)
    x = b.hardtanh(b.batch_norm(x, "classifier.bn1", 75), "classifier.act1")
    x = b.linear(x, "classifier.fc2", 75, 2)
    return b.softmax(x, "softmax")


def build_ecg_binarized(b):
    x = b.sign(ecg_features(b), "classifier.act0")
    x = b.binary_linear_no_bias(x, "classifier.fc1", 5152, 75)
    x = b.batch_norm(x, "classifier.bn1", 75, input_std=np.sqrt(5152))
    x = b.sign(x, "classifier.act1")
    x = b.linear(x, "classifier.fc2", 75, 2, binary=True)
    return b.softmax(x, "softmax")


def mobilenet_features(b):
    """MobileNet V1 224 feature extractor: [N,3,224,224] -> [N,1024]."""
    x = b.conv("input", "features.conv0", 3, 32, (3, 3), stride=2, pad=1)
    x = b.relu(b.batch_norm(x, "features.bn0", 32), "features.relu0")
    channels = 32
    for i, (out_channels, stride) in enumerate(MOBILENET_BLOCKS, start=1):
        block = f"features.block{i}"
        x = b.conv(x, block + ".dw_conv", channels, channels, (3, 3),
                   stride=stride, pad=1, group=channels)
        x = b.batch_norm(x, block + ".dw_bn", channels)
        x = b.relu(x, block + ".dw_relu")
        x = b.conv(x, block + ".pw_conv", channels, out_channels, (1, 1))
        x = b.batch_norm(x, block + ".pw_bn", out_channels)
        x = b.relu(x, block + ".pw_relu")
        channels = out_channels
    x = b.global_avg_pool(x, "features.pool")
    return b.flatten(x, "flatten")


def build_mobilenet(b):
    x = b.linear(mobilenet_features(b), "classifier.fc", 1024, 1000)
    return b.softmax(x, "softmax")


def build_mobilenet_binarized(b):
    hidden = MOBILENET_BINARY_HIDDEN
    # Normalize the (non-negative) pooled ReLU features before Sign, or it
    # would only ever see values >= 0.
    x = b.batch_norm(mobilenet_features(b), "classifier.bn0", 1024)
    x = b.sign(x, "classifier.act0")
    x = b.binary_linear_no_bias(x, "classifier.fc1", 1024, hidden)
    x = b.batch_norm(x, "classifier.bn1", hidden, input_std=np.sqrt(1024))
    x = b.sign(x, "classifier.act1")
    x = b.binary_linear_no_bias(x, "classifier.fc2", hidden, 1000)
    x = b.batch_norm(x, "classifier.bn2", 1000, input_std=np.sqrt(hidden))
    return b.softmax(x, "softmax")


# name -> (builder, input shape without batch, classes, seed).  Models that
# share a seed share the weights of their (identically built) features.
MODELS = {
    "eeg": (build_eeg, (1, 960, 64), 2, 1),
    "ecg": (build_ecg, (12, 750), 2, 2),
    "ecg_binarized": (build_ecg_binarized, (12, 750), 2, 2),
    "mobilenet_v1": (build_mobilenet, (3, 224, 224), 1000, 3),
    "mobilenet_v1_binarized_classifier":
        (build_mobilenet_binarized, (3, 224, 224), 1000, 3),
}


def build(name):
    """Return the ModelProto and its GraphBuilder for model ``name``."""
    build_graph, input_shape, num_classes, seed = MODELS[name]
    builder = GraphBuilder(name, seed)
    build_graph(builder)
    return builder.model(input_shape, num_classes), builder


def verify(model, num_classes):
    """Check the model and that every tensor gets a fully known shape.

    Shapes are inferred from a copy whose output shape is left open, so the
    declared [N, classes] cannot satisfy the final comparison by itself.
    """
    onnx.checker.check_model(model)
    probe = copy.deepcopy(model)
    probe.graph.output[0].type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(probe, strict_mode=True)
    for value in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = value.type.tensor_type.shape.dim
        if not value.type.tensor_type.HasField("shape") or any(
                not d.HasField("dim_value") and d.dim_param != BATCH
                for d in dims):
            raise ValueError(f"{value.name}: shape not fully inferred")
        if dims[0].dim_param != BATCH:
            raise ValueError(f"{value.name}: batch dimension is not {BATCH}")
    out_dims = inferred.graph.output[0].type.tensor_type.shape.dim
    out_shape = [d.dim_param or d.dim_value for d in out_dims]
    if out_shape != [BATCH, num_classes]:
        raise ValueError(f"output shape {out_shape}, expected "
                         f"[{BATCH}, {num_classes}]")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--only", help="comma-separated model names, from: "
                        + ", ".join(MODELS))
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error("unknown model(s): " + ", ".join(unknown))

    os.makedirs(args.out, exist_ok=True)
    for name in names:
        model, builder = build(name)
        verify(model, MODELS[name][2])
        path = os.path.join(args.out, name + ".onnx")
        onnx.save(model, path)
        total = sum(builder.trainable.values())
        classifier = sum(size for param, size in builder.trainable.items()
                         if param.startswith("classifier."))
        binary = sum(builder.binary.values())
        print(f"{name + '.onnx':40s} {os.path.getsize(path) / 2**20:6.2f} MiB"
              f"  params {total:>9,} ({total / 1e6:.2f} M)"
              f"  classifier {classifier:>9,} ({classifier / 1e6:.2f} M)"
              f"  binary {binary:>9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
