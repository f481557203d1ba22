"""The models and hafnia-compile command lines of the catalogue (issue 13).

make_malformed.py calls add_model_cases: each case is a model written here
by code (onnx.helper) and the hafnia-compile command line it is given, with
a part of the one error line it must print, or a command that must succeed
(a valid model that once crashed or was silently wrong). The issue's list of
crashing and silently accepted inputs is covered case by case; the name of
each case says which.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
vi = helper.make_tensor_value_info


def init(name, array, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(array, dtype), name)


def make(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "malformed", inputs, outputs,
                              list(initializers))
    m = helper.make_model(graph,
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset >= 15 else 7
    return m


def gemm(weight=None, bias=None, x_shape=(1, 4), name="fc"):
    w = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    if weight is not None:
        w = weight
    b = np.zeros(3, np.float32) if bias is None else bias
    return make([helper.make_node("Gemm", ["x", "w", "b"], ["y"], name=name,
                                  transB=1)],
                [vi("x", F, list(x_shape))], [vi("y", F, [x_shape[0], 3])],
                [init("w", w), init("b", b)])


def conv(op="Conv", inputs=("x", "k"), output_shape=None, **attributes):
    nodes = [helper.make_node(op, list(inputs), ["y"], name="layer",
                              **attributes)]
    inits = [init("k", np.ones((2, 1, 3, 3)))] if "k" in inputs else []
    return make(nodes, [vi("x", F, [1, 1, 8, 8])],
                [vi("y", F, output_shape or [])], inits)


def batch_norm(scale=1.0, bias=0.0, mean=0.0, var=1.0):
    """A batch norm over 3 channels whose parameters' channel 1 are these."""
    arrays = [np.full(3, 1.0, np.float32), np.zeros(3, np.float32),
              np.zeros(3, np.float32), np.ones(3, np.float32)]
    for i, value in enumerate((scale, bias, mean, var)):
        arrays[i][1] = value
    return make([helper.make_node("BatchNormalization",
                                  ["x", "s", "b", "m", "v"], ["y"],
                                  name="bn")],
                [vi("x", F, [1, 3, 4])], [vi("y", F, [1, 3, 4])],
                [init(n, a) for n, a in zip("sbmv", arrays)])


def add_model_cases(case, write, out):
    """Adds the model cases through case(name, command, expect, setup=...)
    and write(name, bytes) of make_malformed.py."""
    def model_file(name, m):
        return write(name + ".onnx", m.SerializeToString())

    def compile_case(name, m, expect, flags=(), setup=()):
        path = m if isinstance(m, str) else model_file(name, m)
        case(name, ["hafnia-compile", path, "-o",
                    os.path.join(out, name + ".hfp")] + list(flags),
             expect, setup=list(setup))

    # --- Crashes inside ONNX before Hafnia's checks ran (now the guards).
    # A graph output nothing produces: segfault in the version converter
    # (opset < 17), a confusing error at 17.
    for opset in (9, 13, 17):
        compile_case(
            "model-output-unproduced-opset%d" % opset,
            make([helper.make_node("Relu", ["x"], ["y"])],
                 [vi("x", F, [1, 4])], [vi("y", F, [1, 4]),
                                        vi("z", F, [1, 4])], opset=opset),
            "graph output 'z' is produced by no node, initializer or graph "
            "input")
    # Zero strides divide by zero in convPoolShapeInference (SIGFPE), zero
    # kernels and dilations size its buffers; negative window pads.
    window_cases = [
        ("conv-stride-0", "Conv", dict(strides=[1, 0]), "'strides' holds 0"),
        ("conv-stride-negative", "Conv", dict(strides=[-1, 1]),
         "'strides' holds -1"),
        ("conv-dilation-0", "Conv", dict(dilations=[0, 1]),
         "'dilations' holds 0"),
        ("conv-kernel-shape-0", "Conv", dict(kernel_shape=[0, 3]),
         "'kernel_shape' holds 0"),
        ("conv-pads-negative", "Conv", dict(pads=[0, -1, 0, 0]),
         "'pads' holds -1; pads must be >= 0"),
        ("maxpool-stride-0", "MaxPool",
         dict(kernel_shape=[2, 2], strides=[0, 2]), "'strides' holds 0"),
        ("maxpool-kernel-0", "MaxPool", dict(kernel_shape=[0, 2]),
         "'kernel_shape' holds 0"),
        ("averagepool-stride-0", "AveragePool",
         dict(kernel_shape=[2, 2], strides=[2, 0]), "'strides' holds 0"),
        ("convtranspose-stride-0", "ConvTranspose", dict(strides=[0, 1]),
         "'strides' holds 0"),
        # Beyond the runtime's limits: the compiler wrote a program its own
        # runtime refused (the ONNX fuzz target's findings a7ca8a94 and
        # e22f7e8d). A transposed convolution's steps multiply sizes.
        ("convtranspose-stride-2^34", "ConvTranspose",
         dict(strides=[2**34 + 2, 2]),
         "'strides' holds 17179869186, beyond the limit of 1048576"),
        ("convtranspose-stride-2^21", "ConvTranspose", dict(strides=[2**21, 1]),
         "'strides' holds 2097152, beyond the limit of 1048576"),
        ("convtranspose-dilation-2^21", "ConvTranspose",
         dict(dilations=[1, 2**21]),
         "'dilations' holds 2097152, beyond the limit of 1048576"),
        ("conv-pads-2^34", "Conv", dict(pads=[2**34, 0, 0, 0]),
         "'pads' holds 17179869184, beyond the limit of 2147483648"),
    ]
    for name, op, attributes, expect in window_cases:
        inputs = ("x", "k") if "Conv" in op else ("x",)
        compile_case("model-" + name, conv(op, inputs, None, **attributes),
                     "node 'layer' (%s): attribute %s" % (op, expect))

    # A weight of another rank than the input: ONNX 1.12's shape inference
    # reads past its vectors (found by the ONNX fuzz target), also when the
    # weight's shape is only known by inference (behind an Identity).
    for name, op, weight_shape, via in (
            ("conv-weight-rank-5", "Conv", [2, 1, 3, 3, 3], False),
            ("conv-weight-rank-3", "Conv", [2, 1, 3], False),
            ("conv-weight-rank-5-inferred", "Conv", [2, 1, 3, 3, 3], True),
            ("convtranspose-weight-rank-2", "ConvTranspose", [1, 2], False),
            ("convtranspose-weight-rank-5", "ConvTranspose", [1, 2, 3, 3, 3],
             False)):
        nodes = [helper.make_node(op, ["x", "w2" if via else "w"], ["y"],
                                  name="layer", auto_pad="SAME_LOWER")]
        if via:
            nodes.insert(0, helper.make_node("Identity", ["w"], ["w2"]))
        compile_case(
            "model-" + name,
            make(nodes, [vi("x", F, [1, 1, 8, 8])], [vi("y", F, [])],
                 [init("w", np.ones(weight_shape))]),
            "the weight has rank %d, the input 4" % len(weight_shape))

    # --- Programs from valid models that hafnia-sim crashed on; now they
    # run (rank 0, no inputs), or the compiler refuses them (empty inputs).
    scalar = make([helper.make_node("Mul", ["x", "two"], ["y"])],
                  [vi("x", F, [])], [vi("y", F, [])],
                  [init("two", np.float32(2.0))])
    scalar_hfp = os.path.join(out, "scalar.hfp")
    scalar_x = write("scalar-x.npy", npy_bytes(np.float32(1.5)))
    case("model-scalar-input-output-runs",
         ["hafnia-sim", scalar_hfp, "--input", scalar_x], None,
         setup=[["hafnia-compile", model_file("scalar", scalar),
                 "--binarize=none", "-o", scalar_hfp]])
    # Labels against a scalar output: no classes to score, an error (it
    # once reported accuracy 1.0).
    scalar_y = write("scalar-y.npy", npy_bytes(np.array([0], np.int64)))
    case("model-scalar-output-with-labels",
         ["hafnia-sim", scalar_hfp, "--input", scalar_x, "--labels",
          scalar_y],
         "first output 'y' is a scalar, not scores over classes",
         setup=[["hafnia-compile", model_file("scalar", scalar),
                 "--binarize=none", "-o", scalar_hfp]])
    constant = make([helper.make_node("Constant", [], ["y"],
                                      value=init("c", [1.0, 2.0]))],
                    [], [vi("y", F, [2])])
    constant_hfp = os.path.join(out, "no-inputs.hfp")
    case("model-no-inputs-runs", ["hafnia-sim", constant_hfp], None,
         setup=[["hafnia-compile", model_file("no-inputs", constant),
                 "--binarize=none", "-o", constant_hfp]])
    for shape, index in (([1, 0], 1), ([0, 4], 0), ([1, 0, 4], 1)):
        text = "x".join(map(str, shape))
        compile_case(
            "model-input-%s" % text,
            make([helper.make_node("Relu", ["x"], ["y"])],
                 [vi("x", F, shape)], [vi("y", F, shape)]),
            "input 'x' has shape [%s], empty (dimension %d is 0)" %
            (",".join(map(str, shape)), index), flags=["--binarize=none"])
    # A zero-size initializer into a batch norm, behind an empty slice:
    # the empty part computes nothing, the rest runs.
    empty_bn = make(
        [helper.make_node("Slice", ["x", "start", "end", "axis"], ["e"]),
         helper.make_node("BatchNormalization", ["e", "s", "b", "m", "v"],
                          ["n"]),
         helper.make_node("Concat", ["x", "n"], ["y"], axis=1)],
        [vi("x", F, [1, 3, 4])], [vi("y", F, [1, 3, 4])],
        [init("start", [3], np.int64), init("end", [3], np.int64),
         init("axis", [1], np.int64)] +
        [init(n, np.zeros(0)) for n in "sbmv"])
    empty_hfp = os.path.join(out, "empty-bn.hfp")
    bn_x = write("bn-x.npy", npy_bytes(np.ones((1, 3, 4), np.float32)))
    case("model-zero-size-batchnorm-runs",
         ["hafnia-sim", empty_hfp, "--input", bn_x], None,
         setup=[["hafnia-compile", model_file("empty-bn", empty_bn),
                 "--binarize=none", "-o", empty_hfp]])

    # --- Chips the compiler was given that took the machine.
    digits = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "..", "models", "digits",
                          "digits_float.onnx")
    mlp = gemm()
    compile_case("compile-arrays-3000000000", mlp,
                 "field 'arrays' is 3000000000, above the limit of 1048576",
                 flags=["--arrays=3000000000"])
    compile_case("compile-arrays-1e8", mlp,
                 "field 'arrays' is 100000000, above the limit of 1048576",
                 flags=["--arrays=100000000"])
    compile_case("compile-array-100000x100000", mlp,
                 "field 'array.rows' is 100000, above the limit of 4096",
                 flags=["--array=100000x100000"])
    compile_case("compile-array-0x32", mlp, "--array must be ROWSxCOLUMNS",
                 flags=["--array=0x32"])
    compile_case("compile-dev-zero", "/dev/zero",
                 "/dev/zero: is not a regular file")
    compile_case("compile-directory", out, "is a directory")
    compile_case("compile-fifo", os.path.join(out, "fifo.hfp"),
                 "is not a regular file")
    compile_case("compile-missing", os.path.join(out, "absent.onnx"),
                 "no such file")
    compile_case("compile-empty-file", write("empty.onnx", b""),
                 "not an ONNX model")

    # --- Non-finite parameters, once compiled with exit 0.
    w = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    for name, value, index in (("nan", np.nan, 6), ("inf", np.inf, 0),
                               ("minus-inf", -np.inf, 11)):
        bad = w.copy()
        bad.flat[index] = value
        compile_case("model-weight-%s" % name, gemm(weight=bad),
                     "initializer 'w' holds %s at index %d" %
                     ({"nan": "NaN", "inf": "+inf",
                       "minus-inf": "-inf"}[name], index))
    compile_case("model-bias-nan", gemm(bias=np.array([0, np.nan, 0],
                                                       np.float32)),
                 "initializer 'b' holds NaN at index 1")
    for field, letter in (("scale", "s"), ("bias", "b"), ("mean", "m"),
                          ("var", "v")):
        compile_case("model-batchnorm-%s-nan" % field,
                     batch_norm(**{field: np.nan}),
                     "initializer '%s' holds NaN at index 1" % letter)
    compile_case("model-batchnorm-var-inf", batch_norm(var=np.inf),
                 "initializer 'v' holds +inf at index 1")
    compile_case("model-conv-weight-nan",
                 make([helper.make_node("Conv", ["x", "k"], ["y"])],
                      [vi("x", F, [1, 1, 8, 8])],
                      [vi("y", F, [1, 2, 6, 6])],
                      [init("k", np.full((2, 1, 3, 3), np.nan))]),
                 "initializer 'k' holds NaN at index 0")
    # A Constant node is stored like an initializer.
    compile_case("model-constant-node-inf",
                 make([helper.make_node("Constant", [], ["c"],
                                        value=init("c", [1.0, np.inf])),
                       helper.make_node("Mul", ["x", "c"], ["y"])],
                      [vi("x", F, [1, 2])], [vi("y", F, [1, 2])]),
                 "holds +inf at index 1", flags=["--binarize=none"])
    # Constants computed at import from finite ones: 0/0 and sqrt(-1).
    compile_case("model-folded-nan",
                 make([helper.make_node("Div", ["zero", "zero"], ["c"]),
                       helper.make_node("Mul", ["x", "c"], ["y"])],
                      [vi("x", F, [1, 2])], [vi("y", F, [1, 2])],
                      [init("zero", [0.0, 0.0])]),
                 "NaN", flags=["--binarize=none"])
    compile_case("model-folded-sqrt-negative",
                 make([helper.make_node("Sqrt", ["minus"], ["c"]),
                       helper.make_node("Add", ["x", "c"], ["y"])],
                      [vi("x", F, [1, 2])], [vi("y", F, [1, 2])],
                      [init("minus", [-1.0, 4.0])]),
                 "NaN", flags=["--binarize=none"])
    # An infinite Clip bound is no bound: it compiles.
    clip = make([helper.make_node("Clip", ["x", "low", "high"], ["y"])],
                [vi("x", F, [1, 2])], [vi("y", F, [1, 2])],
                [init("low", np.float32(0.0)),
                 init("high", np.float32(np.inf))])
    compile_case("model-clip-inf-bound-compiles", clip, None,
                 flags=["--binarize=none"])

    # --- Batches and sizes the compiler once turned into programs its
    # runtime refused, or silently into a batch of 1.
    for batch in ("0", "-1", "2147483648", "many"):
        compile_case("compile-batch-%s" % batch, digits,
                     "input 'input' has more than 2147483648 elements"
                     if batch == "2147483648" else "batch",
                     flags=["--batch=" + batch])
    compile_case("compile-input-shape-0", gemm(x_shape=("N", 4)),
                 "--input-shape='x:0x4' is not NAME:DIMS with positive "
                 "dimensions", flags=["--input-shape=x:0x4"])
    compile_case("model-input-dim-2^40",
                 make([helper.make_node("Relu", ["x"], ["y"])],
                      [vi("x", F, [1, 1 << 40])], [vi("y", F, [1, 1 << 40])]),
                 "input 'x' has more than 2147483648 elements")
    compile_case("model-input-dims-2^40-product-overflow",
                 make([helper.make_node("Relu", ["x"], ["y"])],
                      [vi("x", F, [1 << 40, 1 << 40])],
                      [vi("y", F, [1 << 40, 1 << 40])]),
                 "input 'x' has more than 2147483648 elements")
    compile_case("model-initializer-dim-2^40",
                 make([helper.make_node("Add", ["x", "w"], ["y"])],
                      [vi("x", F, [1, 2])], [vi("y", F, [1, 2])],
                      [tensor_header("w", [1 << 40, 2])]),
                 "initializer 'w' has more than 2147483648 elements")
    compile_case("model-initializer-dim-negative",
                 make([helper.make_node("Add", ["x", "w"], ["y"])],
                      [vi("x", F, [1, 2])], [vi("y", F, [1, 2])],
                      [tensor_header("w", [-2])]),
                 "initializer 'w' has a negative dimension")
    compile_case("model-no-graph-outputs",
                 make([helper.make_node("Relu", ["x"], ["y"])],
                      [vi("x", F, [1, 4])], []),
                 "the model declares no graph outputs")
    # Names that are not UTF-8 are escaped: the program reads back and runs.
    names = gemm(name="fc\xe9")
    names.graph.input[0].name = "x\xe9"
    names.graph.node[0].input[0] = "x\xe9"
    data = names.SerializeToString().replace("\xe9".encode(), b"\xff\xe9")
    names_hfp = os.path.join(out, "names.hfp")
    case("model-names-not-utf8-runs",
         ["hafnia-sim", names_hfp, "--input",
          write("names-x.npy", npy_bytes(np.ones((1, 4), np.float32)))],
         None, setup=[["hafnia-compile", write("names.onnx", data), "-o",
                       names_hfp]])

    # --- Other malformed models: one line each.
    compile_case("model-not-onnx", write("text.onnx", b"hello\n"),
                 "not an ONNX model")
    compile_case("model-truncated",
                 write("truncated.onnx", gemm().SerializeToString()[:150]),
                 "not an ONNX model")
    compile_case("model-text-syntax-error",
                 write("syntax.onnxtxt",
                       b'<ir_version: 8, opset_import: ["" : 17]>\n'
                       b"g (float[1] x) => (float[1] y) { y = Relu (x }\n"),
                 "not a valid ONNX text model")
    # Numbers the text parser cannot convert escaped from std::stol.
    for name, number in (("inf", b"-inf"),
                         ("overflow", b"99999999999999999999999")):
        compile_case("model-text-number-" + name,
                     write("number-%s.onnxtxt" % name,
                           b'<ir_version: 8, opset_import: ["" : 17]>\n'
                           b"g (float[1,2] x) => (float[1,2] y) { c = "
                           b"Constant <value_floats = [1.0, " + number +
                           b"]> () y = Add (x, c) }\n"),
                     "not a valid ONNX text model: a number does not parse")
    compile_case("model-opset-99", make([helper.make_node("Relu", ["x"],
                                                          ["y"])],
                                        [vi("x", F, [1, 4])],
                                        [vi("y", F, [1, 4])], opset=99),
                 "the model uses opset 99")
    compile_case("model-unknown-op",
                 make([helper.make_node("Frobnicate", ["x"], ["y"],
                                        domain="com.example")],
                      [vi("x", F, [1, 4])], [vi("y", F, [1, 4])]),
                 "com.example.Frobnicate")
    compile_case("model-input-no-shape",
                 make([helper.make_node("Relu", ["x"], ["y"])],
                      [vi("x", F, None)], [vi("y", F, [1, 4])]),
                 "the model fails the ONNX checker")
    compile_case("model-input-symbolic-dim-1",
                 make([helper.make_node("Relu", ["x"], ["y"])],
                      [vi("x", F, [1, "T"])], [vi("y", F, [1, "T"])]),
                 "input 'x' has an unknown dimension 1 ('T')")
    compile_case("model-dangling-input",
                 make([helper.make_node("Add", ["x", "ghost"], ["y"])],
                      [vi("x", F, [1, 4])], [vi("y", F, [1, 4])]),
                 "ghost")
    # Shapes ONNX's inference lets through, which the bnn verifier refuses.
    compile_case("model-gemm-shape-mismatch",
                 gemm(weight=np.ones((3, 5), np.float32)),
                 "node 'fc': 'bnn.dense' op contracts 4 lhs columns with 5")


def tensor_header(name, dims):
    """A FLOAT TensorProto of these dimensions and no data (onnx.helper
    checks the data against the dimensions)."""
    t = onnx.TensorProto()
    t.name = name
    t.data_type = F
    t.dims.extend(dims)
    t.raw_data = b"\0" * 8  # the checker wants data, not the right amount
    return t


def npy_bytes(array):
    import io
    f = io.BytesIO()
    np.save(f, np.asarray(array))
    return f.getvalue()
