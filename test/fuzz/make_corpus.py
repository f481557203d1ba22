#!/usr/bin/env python3
"""Generates the fuzz targets' seed corpora in test/fuzz/corpus/ (issue 13).

  /usr/bin/python3 test/fuzz/make_corpus.py --tools build/bin

program/: payloads (the serialized hafnia.Program after the 24-byte header;
ProgramFuzzer wraps them in a valid header) of small models compiled by
hafnia-compile: binary and real dense and convolutional layers, padding,
pooling, rank-0 tensors, and the bundled digits classifier.
tensor/: .npy files of every dtype the reader takes and some it refuses,
and ONNX TensorProto files.
onnx/: the project's small ONNX models: the import tests' models
(test/Import/, in ONNX text format as written there and as binary
ModelProto), the models above as ModelProto, some at older opsets for the
version converter; and onnx.dict, libFuzzer's dictionary of the operators
the importer handles, their attributes and ONNX text keywords.
The output is deterministic: rerun after a change to program.proto or the
emitter (program/) or to the import tests (onnx/) and commit the result.
"""
import glob
import re
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnx.defs
import onnx.parser
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def model(nodes, inputs, outputs, initializers, opset=17):
    graph = helper.make_graph(nodes, "fuzz", inputs, outputs, initializers)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def signs(rng, *shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array, np.float32), name)


def models():
    rng = np.random.default_rng(13)
    vi = helper.make_tensor_value_info
    F = TensorProto.FLOAT
    # Dense: Gemm, BatchNorm-free sign, binary Gemm, Gemm.
    yield "mlp", model(
        [helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
         helper.make_node("Sign", ["h"], ["s"]),
         helper.make_node("Gemm", ["s", "w2", "b2"], ["g"], transB=1),
         helper.make_node("Sign", ["g"], ["t"]),
         helper.make_node("Gemm", ["t", "w3"], ["y"], transB=1)],
        [vi("x", F, [1, 12])], [vi("y", F, [1, 3])],
        [init("w1", rng.normal(size=(40, 12))), init("b1", rng.normal(size=40)),
         init("w2", signs(rng, 20, 40)), init("b2", np.zeros(20)),
         init("w3", signs(rng, 3, 20))]), ["--array=8x16", "--arrays=64"]
    # Convolutions: padded conv, batch norm, (relu,) max pool, flatten,
    # sign, dense, softmax. A relu before a sign cannot be binarized.
    def conv(relu):
        nodes = [
            helper.make_node("Conv", ["x", "k"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"],
                             ["n"])]
        if relu:
            nodes.append(helper.make_node("Relu", ["n"], ["r"]))
        nodes += [
            helper.make_node("MaxPool", ["r" if relu else "n"], ["p"],
                             kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("Flatten", ["p"], ["f"]),
            helper.make_node("Sign", ["f"], ["s"]),
            helper.make_node("Gemm", ["s", "w"], ["z"], transB=1),
            helper.make_node("Softmax", ["z"], ["y"])]
        return model(
            nodes, [vi("x", F, [1, 2, 6, 6])], [vi("y", F, [1, 4])],
            [init("k", rng.normal(size=(3, 2, 3, 3))),
             init("g", rng.random(3) + 0.5), init("b", rng.normal(size=3)),
             init("m", rng.normal(size=3) * 0.1),
             init("v", rng.random(3) + 0.5), init("w", signs(rng, 4, 27))])
    yield "conv-none", conv(True), ["--binarize=none", "--array=8x8",
                                    "--arrays=32"]
    yield "conv-classifier", conv(False), ["--array=8x8", "--arrays=32"]
    yield "conv-all", conv(False), ["--binarize=all", "--array=8x8",
                                    "--arrays=32", "--binarize-first-layer"]
    # Rank 0 and elementwise operations.
    yield "scalar", model(
        [helper.make_node("Mul", ["x", "two"], ["y"]),
         helper.make_node("Add", ["v", "x"], ["z"]),
         helper.make_node("ReduceSum", ["v"], ["s"], keepdims=0),
         helper.make_node("Transpose", ["v"], ["u"], perm=[1, 0]),
         helper.make_node("Concat", ["v", "v"], ["c"], axis=0)],
        [vi("x", F, []), vi("v", F, [2, 3])],
        [vi("y", F, []), vi("z", F, [2, 3]), vi("s", F, []),
         vi("u", F, [3, 2]), vi("c", F, [4, 3])],
        [init("two", np.float32(2.0))]), ["--binarize=none"]


def text_models():
    """The import tests' models: (name, ONNX text without the lit lines)."""
    for path in sorted(glob.glob(os.path.join(ROOT, "test/Import/*.onnxtxt")) +
                       glob.glob(os.path.join(ROOT,
                                              "test/Import/errors/*.onnxtxt"))):
        lines = [line for line in open(path).read().splitlines()
                 if not line.startswith("#")]
        name = os.path.splitext(os.path.basename(path))[0]
        if "/errors/" in path:
            name = "error-" + name
        yield name, "\n".join(lines).strip() + "\n"


def write_onnx(out):
    files = {}
    for name, text in text_models():
        files["txt-" + name + ".onnxtxt"] = text.encode()
        try:
            m = onnx.parser.parse_model(text)
        except Exception:  # noqa: BLE001 (error tests that do not parse)
            continue
        files["bin-" + name + ".onnx"] = m.SerializeToString()
    for name, m, _ in models():
        files[name + ".onnx"] = m.SerializeToString()
        # Older opsets, for the version converter and its adapters.
        for opset in [9, 11, 13]:
            older = onnx.ModelProto()
            older.CopyFrom(m)
            older.opset_import[0].version = opset
            files["%s-opset%d.onnx" % (name, opset)] = \
                older.SerializeToString()
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def write_dictionary(path):
    """libFuzzer's -dict for the onnx target."""
    source = open(os.path.join(
        ROOT, "compiler/lib/Import/OnnxImporter.cpp")).read()
    ops = set(re.findall(r'\{"(\w+)", &Importer::', source))
    folding = open(os.path.join(
        ROOT, "compiler/lib/OnnxLoader/ConstantFolding.cpp")).read()
    for block in re.findall(r"static const std::set<std::string> ops = "
                            r"\{(.*?)\};", folding, re.S):
        ops |= set(re.findall(r'"(\w+)"', block))
    words = set(ops)
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain == "" and schema.name in ops:
            words |= set(schema.attributes)
    words |= {"float", "double", "int64", "int32", "int8", "uint8", "bool",
              "string", "float16", "ir_version", "opset_import",
              "producer_name", "domain", "SAME_UPPER", "SAME_LOWER",
              "VALID", "NOTSET", "nearest", "linear", "cubic", "constant",
              "reflect", "edge", "asymmetric", "half_pixel", "floor",
              "qonnx.custom_op.general", "ai.onnx", "<", ">", "=>", "[",
              "]", "{", "}", "-1", "0", "2147483648", "9223372036854775807",
              "nan", "inf", "1e38"}
    with open(path, "w") as f:
        f.write("# Generated by make_corpus.py: operators the importer "
                "handles, their attributes,\n# ONNX text keywords.\n")
        for word in sorted(words):
            f.write('"%s"\n' % word.replace("\\", "\\\\")
                    .replace('"', '\\"'))


def write_programs(tools, out):
    work = tempfile.mkdtemp()
    try:
        jobs = list(models())
        jobs.append(("digits", os.path.join(
            ROOT, "test/models/digits/digits_binarized_classifier.onnx"), []))
        for name, m, flags in jobs:
            path = m
            if not isinstance(m, str):
                path = os.path.join(work, name + ".onnx")
                onnx.save(m, path)
            hfp = os.path.join(work, name + ".hfp")
            run = subprocess.run([os.path.join(tools, "hafnia-compile"), path,
                                  "-o", hfp] + flags, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            if run.returncode:
                sys.exit("make_corpus.py: %s: %s" % (name, run.stderr))
            with open(hfp, "rb") as f:
                payload = f.read()[24:]
            with open(os.path.join(out, name), "wb") as f:
                f.write(payload)
    finally:
        shutil.rmtree(work)


def npy_bytes(array, **kwargs):
    import io
    f = io.BytesIO()
    np.lib.format.write_array(f, array, **kwargs)
    return f.getvalue()


def write_tensors(out):
    rng = np.random.default_rng(7)
    files = {}
    for shape in [(), (0,), (3,), (2, 3), (1, 2, 2, 2), (1, 0, 4)]:
        name = "f4-" + ("x".join(map(str, shape)) or "scalar")
        files[name + ".npy"] = npy_bytes(
            rng.normal(size=shape).astype(np.float32))
    for dtype in ["<f2", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2",
                  "<u4", "<u8", "|b1", ">f4", "<c8", "<U3"]:
        a = (rng.integers(0, 5, size=(2, 2)) if dtype != "<U3"
             else np.array([["a", "b"], ["c", "d"]]))
        files["dtype-" + dtype.strip("<>|") +
              ("-big" if dtype[0] == ">" else "") + ".npy"] = npy_bytes(
                  a.astype(dtype))
    files["fortran.npy"] = npy_bytes(np.asfortranarray(
        rng.normal(size=(2, 3)).astype(np.float32)))
    files["version2.npy"] = npy_bytes(np.ones((2,), np.float32),
                                      version=(2, 0))
    files["labels.npy"] = npy_bytes(np.arange(5, dtype=np.int64))
    files["nan.npy"] = npy_bytes(np.array([np.nan, np.inf, -0.0], np.float32))
    for dtype, kind in [(np.float32, "float"), (np.float64, "double"),
                        (np.int64, "int64"), (np.int32, "int32")]:
        t = numpy_helper.from_array(np.arange(6).reshape(2, 3).astype(dtype))
        files["tensor-%s-raw.pb" % kind] = t.SerializeToString()
    t = helper.make_tensor("t", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    files["tensor-float-data.pb"] = t.SerializeToString()
    t = helper.make_tensor("t", TensorProto.INT64, [3], [1, 2, 3])
    files["tensor-int64-data.pb"] = t.SerializeToString()
    t = helper.make_tensor("t", TensorProto.FLOAT, [], [5.0])
    files["tensor-scalar.pb"] = t.SerializeToString()
    for name, data in sorted(files.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default=os.path.join(ROOT, "build/bin"),
                        help="the directory holding hafnia-compile")
    parser.add_argument("--out", default=os.path.join(HERE, "corpus"))
    parser.add_argument("--targets", default="onnx,program,tensor",
                        help="the corpora to write (program/ needs --tools)")
    args = parser.parse_args()
    targets = args.targets.split(",")
    for target in targets:
        path = os.path.join(args.out, target)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
    if "onnx" in targets:
        write_onnx(os.path.join(args.out, "onnx"))
        write_dictionary(os.path.join(HERE, "onnx.dict"))
    if "program" in targets:
        write_programs(args.tools, os.path.join(args.out, "program"))
    if "tensor" in targets:
        write_tensors(os.path.join(args.out, "tensor"))
    for target in targets:
        path = os.path.join(args.out, target)
        total = sum(os.path.getsize(os.path.join(path, f))
                    for f in os.listdir(path))
        print("%s: %d files, %d bytes" % (target, len(os.listdir(path)), total))


if __name__ == "__main__":
    sys.exit(main())
