#!/usr/bin/env python3
"""Generates the catalogue of bad inputs of issue 13 (item 8).

  make_malformed.py --program GOOD.hfp --proto-dir runtime/proto OUT

writes malformed programs, tensors and BER tables into OUT, derived from
GOOD.hfp (a program hafnia-compile wrote) by code, never by hand, and
OUT/cases.json: for each case a name, the command line (hafnia-compile,
hafnia-sim or hafnia-inspect, with GOOD.hfp for {good}) and a part of the
one error line it must print, or null for a command that must succeed (an
input that once crashed a tool and is valid); and commands to run first
(`setup`, e.g. compiling the program a case runs). The models and compiler
command lines are in malformed_models.py. check_malformed.py runs them.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import zlib

import numpy as np

from malformed_models import add_model_cases

MAGIC = b"\x89HFP\r\n\x1a\n"


def header(payload, version=1, size=None, crc=None):
    return (MAGIC + struct.pack("<I", version) +
            struct.pack("<Q", len(payload) if size is None else size) +
            struct.pack("<I", zlib.crc32(payload) if crc is None else crc) +
            payload)


def npy(array_header, data=b"", magic=b"\x93NUMPY", version=b"\x01\x00"):
    text = array_header.encode("latin1")
    pad = 64 - (len(magic) + 2 + 2 + len(text) + 1) % 64
    text += b" " * (pad % 64) + b"\n"
    return magic + version + struct.pack("<H", len(text)) + text + data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--program", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("out")
    args = parser.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    # program_pb2 from the one contract, generated here.
    # program.proto imports "proto/chip.proto": the root is runtime/.
    root = os.path.dirname(os.path.abspath(args.proto_dir))
    subprocess.run(["protoc", "-I", root, "--python_out", out] +
                   ["proto/%s.proto" % n for n in
                    ["chip", "report", "program", "onnx_tensor"]], check=True)
    sys.path.insert(0, out)
    from proto import program_pb2  # noqa: E402

    with open(args.program, "rb") as f:
        good_bytes = f.read()
    good = program_pb2.Program()
    good.ParseFromString(good_bytes[24:])
    cases = []

    def case(name, command, expect, setup=()):
        cases.append({"name": name, "command": command, "expect": expect,
                      "setup": list(setup)})

    def write(name, data):
        path = os.path.join(out, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def inspect(name, data, expect):
        case(name, ["hafnia-inspect", write(name + ".hfp", data)], expect)

    def program(name, edit, expect):
        p = program_pb2.Program()
        p.CopyFrom(good)
        edit(p)
        inspect(name, header(p.SerializeToString()), expect)

    def first(p, op):
        for i, instruction in enumerate(p.instructions):
            if instruction.WhichOneof("op") == op:
                return i, instruction
        raise SystemExit("the good program has no %s instruction" % op)

    payload = good_bytes[24:]
    # --- The file and its header.
    inspect("empty", b"", "not a Hafnia program")
    inspect("text", b"this is not a program, just some text\n",
            "not a Hafnia program")
    inspect("wrong-magic", b"\x89HFQ" + good_bytes[4:], "not a Hafnia program")
    inspect("version-2", header(payload, version=2),
            "program format version 2, this runtime reads version 1")
    inspect("truncated", good_bytes[:-10], "the file is truncated")
    inspect("trailing-bytes", good_bytes + b"\0", "has trailing bytes")
    inspect("size-2^64", header(payload, size=2**64 - 1),
            "the header announces 18446744073709551615 bytes")
    inspect("crc-mismatch", header(payload, crc=zlib.crc32(payload) ^ 1),
            "CRC-32 does not match")
    inspect("payload-garbage", header(b"\xff" * 64), "does not parse")
    bad_name = program_pb2.Program()
    bad_name.CopyFrom(good)
    bad_name.model = "model"
    raw = bad_name.SerializeToString().replace(b"model", b"m\xffdel", 1)
    inspect("name-not-utf8", header(raw), "a name that is not UTF-8")
    case("dev-zero", ["hafnia-inspect", "/dev/zero"],
         "/dev/zero: is not a regular file")
    case("directory", ["hafnia-inspect", out], "is a directory")
    case("missing", ["hafnia-inspect", os.path.join(out, "absent.hfp")],
         "no such file")
    os.mkfifo(os.path.join(out, "fifo.hfp"))
    case("fifo", ["hafnia-inspect", os.path.join(out, "fifo.hfp")],
         "is not a regular file")
    case("sim-dev-zero", ["hafnia-sim", "/dev/zero"], "not a regular file")

    # --- The chip.
    def chip(field, value):
        def edit(p):
            target = p.chip
            parts = field.split(".")
            for part in parts[:-1]:
                target = getattr(target, part)
            setattr(target, parts[-1], value)
        return edit
    program("format-version-0", lambda p: setattr(p, "format_version", 0),
            "program format version 0")
    program("arrays-4294967295", chip("arrays", 4294967295),
            "field 'arrays' is 4294967295, above the limit of 1048576")
    program("arrays-3000000000", chip("arrays", 3000000000),
            "field 'arrays' is 3000000000")
    program("arrays-0", chip("arrays", 0), "field 'arrays' is missing or zero")
    program("rows-100000", chip("array.rows", 100000),
            "field 'array.rows' is 100000, above the limit of 4096")
    program("columns-0", chip("array.columns", 0),
            "field 'array.columns' is missing or zero")
    program("cells-over-limit",
            lambda p: (chip("arrays", 1 << 20)(p),
                       chip("array.rows", 4096)(p),
                       chip("array.columns", 4096)(p)),
            "cells, above the limit of 17179869184")
    program("cell-7", chip("cell", 7), "field 'cell' is 7")
    program("cell-unset", chip("cell", 0), "field 'cell' is missing")
    program("precision-unset", chip("real_precision", 0),
            "field 'real_precision' is missing")
    program("digital-memory-0", chip("digital_memory_bytes", 0),
            "field 'digital_memory_bytes' is missing")
    program("digital-memory-2^63", chip("digital_memory_bytes", 2**63),
            "field 'digital_memory_bytes' is 9223372036854775808")
    program("log-sigma-0", chip("device.log_sigma", 0.0),
            "field 'device.log_sigma' is missing or zero")
    program("log-window-inf", chip("device.log_window", float("inf")),
            "field 'device.log_window' is inf: give a finite value")
    program("log-window-nan", chip("device.log_window", float("nan")),
            "field 'device.log_window' is nan: give a finite value")
    program("window-loss-1", chip("device.window_loss_per_decade", 1.0),
            "'device.window_loss_per_decade' must lie in [0, 1)")

    # --- Buffers and memory.
    def buffer_shape(shape, type_=None, index=None):
        def edit(p):
            b = p.buffers[index] if index is not None else p.buffers.add()
            del b.shape[:]
            b.shape.extend(shape)
            b.type = program_pb2.F32 if type_ is None else type_
        return edit
    program("negative-dimension", buffer_shape([1, -3]),
            "has shape [1,-3]: dimensions must be >= 0")
    program("dimension-2^40-beside-0", buffer_shape([0, 2**40, 2**40]),
            "has shape [0,1099511627776,1099511627776]")
    program("buffer-2^32-elements", buffer_shape([2**16, 2**16]),
            "has shape [65536,65536]: dimensions must be >= 0 with at most "
            "2147483648 elements")
    # 370 bytes of program asking for 8 GiB: one buffer at the bound.
    program("buffer-8GiB", buffer_shape([2**16, 2**15]),
            "the program needs 8.00 GiB of simulator memory")
    program("buffers-5GiB-in-all",
            lambda p: [buffer_shape([2**28])(p) for _ in range(5)],
            "above the limit of 4 GiB")
    program("buffer-no-type", buffer_shape([2], type_=0),
            "has no element type")
    # --- Instructions.
    def instruction(edit_instruction, op=None, index=0):
        def edit(p):
            target = first(p, op)[1] if op else p.instructions[index]
            edit_instruction(p, target)
        return edit
    program("input-out-of-range",
            instruction(lambda p, i: i.inputs.__setitem__(0, 99999), index=1),
            "reads buffer 99999 of")
    program("output-out-of-range",
            instruction(lambda p, i: setattr(i, "output", 99999), index=1),
            "writes buffer 99999 of")
    program("no-operation",
            instruction(lambda p, i: i.ClearField(i.WhichOneof("op")),
                        index=1),
            "has no operation")
    def swap_first_two(p):
        a, b = program_pb2.Instruction(), program_pb2.Instruction()
        a.CopyFrom(p.instructions[0])
        b.CopyFrom(p.instructions[1])
        p.instructions[0].CopyFrom(b)
        p.instructions[1].CopyFrom(a)
    program("read-before-write", swap_first_two, "before anything writes it")
    program("written-twice",
            instruction(lambda p, i: setattr(
                i, "output", p.instructions[0].output), index=1),
            "already written")
    program("conv-kernel-2^62",
            instruction(lambda p, i: i.conv.window.kernel.__setitem__(
                0, 2**62), op="conv"),
            "has a window that does not match its weight")
    program("conv-stride-2^62",
            instruction(lambda p, i: (i.conv.window.ClearField("strides"),
                                      i.conv.window.strides.extend(
                                          [2**62] * len(i.conv.window.kernel))),
                        op="conv"),
            "has a window attribute of 4611686018427387904")
    program("conv-group-2^62",
            instruction(lambda p, i: setattr(i.conv, "group", 2**62),
                        op="conv"),
            "has a group count that does not divide its channels")
    program("threshold-fan-in-2^63",
            instruction(lambda p, i: setattr(i.threshold, "fan_in",
                                             2**63 - 1), op="threshold"),
            "has thresholds that do not match its channels")
    program("activation-kind-99",
            instruction(lambda p, i: setattr(i.activation, "kind", 99),
                        op="activation"),
            "has no activation kind this runtime knows")
    program("xnor-read-unprogrammed",
            instruction(lambda p, i: setattr(i.xnor_read, "array", 7777),
                        op="xnor_read"),
            "reads array 7777, which the program does not program")
    # --- Arrays and constants.
    program("image-beyond-chip",
            lambda p: setattr(p.arrays[0], "array", p.chip.arrays + 5),
            "but the chip has")
    program("array-programmed-twice",
            lambda p: setattr(p.arrays[1], "array", p.arrays[0].array),
            "is programmed twice")
    program("image-short",
            lambda p: setattr(p.arrays[0], "bits", p.arrays[0].bits[:-1]),
            "does not match the")
    program("constant-short",
            lambda p: setattr(p.constants[0], "data",
                              p.constants[0].data[:-4]),
            "bytes, its buffer needs")
    # --- Bindings and tiled layers.
    program("no-outputs", lambda p: p.ClearField("outputs"),
            "the program has no outputs")
    program("output-not-computed",
            lambda p: setattr(p.outputs[0], "buffer", len(p.buffers) + 3),
            "is not a real or index tensor the program computes")
    program("input-twice",
            lambda p: p.inputs.add().CopyFrom(p.inputs[0]),
            "already written")
    program("tiled-collect-out-of-range",
            lambda p: setattr(p.tiled_layers[0], "collect", 10**6),
            "is not a collect instruction")
    program("tiled-wrong-correction",
            lambda p: setattr(p.tiled_layers[0], "correction",
                              p.tiled_layers[0].correction - 1),
            "padded columns")

    # --- Tensors for hafnia-sim --input and --labels.
    good_input = program_pb2.Program()
    good_input.CopyFrom(good)
    shape = list(good.buffers[good.inputs[0].buffer].shape)
    count = int(np.prod(shape))
    data = np.zeros(count, np.float32).tobytes()
    shape_text = "(%s)" % "".join("%d," % d for d in shape)

    def sim_input(name, data_bytes, expect, suffix=".npy"):
        case(name, ["hafnia-sim", "{good}", "--input",
                    write(name + suffix, data_bytes)], expect)

    def f4(shape_tuple="", order="False", descr="<f4"):
        return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
            descr, order, shape_tuple)
    sim_input("npy-empty", b"", "not a NumPy .npy file")
    sim_input("npy-bad-magic", b"\x93NUMPZ" + b"\0" * 100,
              "not a NumPy .npy file")
    sim_input("npy-version-9", npy(f4(shape_text), data, version=b"\x09\x00"),
              "version 9")
    sim_input("npy-header-beyond-file",
              b"\x93NUMPY\x01\x00" + struct.pack("<H", 60000) + b"{",
              "header")
    sim_input("npy-header-not-dict", npy("[1, 2, 3]", data), "dict")
    sim_input("npy-no-shape",
              npy("{'descr': '<f4', 'fortran_order': False, }", data),
              "shape")
    sim_input("npy-negative-dim", npy(f4("(-1, 3)")), "shape")
    sim_input("npy-huge-shape", npy(f4("(4611686018427387904, 4)")),
              "shape")
    sim_input("npy-fortran", npy(f4(shape_text, order="True"), data),
              "Fortran")
    sim_input("npy-big-endian", npy(f4(shape_text, descr=">f4"), data),
              "big-endian")
    sim_input("npy-complex", npy(f4(shape_text, descr="<c8"), data * 2),
              "<c8")
    sim_input("npy-unicode", npy(f4("(2,)", descr="<U3"), b"\0" * 24),
              "<U3")
    sim_input("npy-truncated-data", npy(f4(shape_text), data[:-4]),
              "bytes")
    sim_input("npy-wrong-shape", npy(f4("(1, 7)"), b"\0" * 28),
              "has shape [1,7], the program expects")
    sim_input("npy-header-syntax", npy("{'descr': '<f4', 'shape': (1,"),
              "header")
    sim_input("pb-garbage", b"\xff\xff\xff\xff", "not an ONNX TensorProto",
              suffix=".pb")
    # TensorProto fields by hand: dims (1), data_type (2), raw_data (9),
    # external data location (14 = data_location EXTERNAL).
    def varint(v):
        b = b""
        while True:
            byte = v & 0x7F
            v >>= 7
            if v:
                b += bytes([byte | 0x80])
            else:
                return b + bytes([byte])
    dims = b"".join(b"\x08" + varint(d) for d in shape)
    sim_input("pb-string-type", dims + b"\x10\x08", "STRING", suffix=".pb")
    sim_input("pb-size-mismatch",
              dims + b"\x10\x01" + b"\x4a" + varint(4) + b"\0" * 4,
              "bytes", suffix=".pb")
    sim_input("pb-external-data", dims + b"\x10\x01" + b"\x70\x01",
              "external", suffix=".pb")
    sim_input("unknown-extension", b"1 2 3", "expected .npy (NumPy) or .pb",
              suffix=".txt")
    good_x = write("x.npy", npy(f4(shape_text), data))
    batch = shape[0] if shape else 1

    def labels(name, array_header, payload, expect):
        case(name, ["hafnia-sim", "{good}", "--input", good_x, "--labels",
                    write(name + ".npy", npy(array_header, payload))], expect)
    labels("labels-2d", "{'descr': '<i8', 'fortran_order': False, "
           "'shape': (1, %d), }" % batch,
           np.zeros(batch, np.int64).tobytes(), "labels must be a 1-D array")
    labels("labels-fractional", "{'descr': '<f4', 'fortran_order': False, "
           "'shape': (%d,), }" % batch,
           np.full(batch, 0.5, np.float32).tobytes(), "whole numbers")
    labels("labels-out-of-range", "{'descr': '<i8', 'fortran_order': False, "
           "'shape': (%d,), }" % batch,
           np.full(batch, 1000, np.int64).tobytes(), "label 1000 of sample 0 is not one of the program's 10 classes")
    labels("labels-negative", "{'descr': '<i8', 'fortran_order': False, "
           "'shape': (%d,), }" % batch,
           np.full(batch, -1, np.int64).tobytes(), "label -1 of sample 0 is not one of")
    labels("labels-count", "{'descr': '<i8', 'fortran_order': False, "
           "'shape': (%d,), }" % (batch + 3),
           np.zeros(batch + 3, np.int64).tobytes(), "labels")

    # --- Command lines.
    def sim(name, flags, expect):
        case(name, ["hafnia-sim", "{good}", "--input", good_x] + flags, expect)
    case("sim-no-program", ["hafnia-sim"], "hafnia-sim model.hfp")
    case("sim-two-programs", ["hafnia-sim", "{good}", "{good}"],
         "hafnia-sim model.hfp")
    sim("sim-unknown-flag", ["--bogus=1"], "bogus")
    sim("sim-flag-not-a-number", ["--trials=many"], "trials")
    sim("sim-trials-0", ["--ber=0.01", "--trials=0"], "--trials")
    sim("sim-threads-0", ["--threads=0"], "--threads")
    sim("sim-cell-3T3R", ["--cell=3T3R", "--ber=0.01"], "3T3R")
    sim("sim-ber-2", ["--ber=2"], "--ber")
    sim("sim-ber-negative", ["--ber=-0.1"], "--ber")
    sim("sim-ber-text", ["--ber=often"], "--ber")
    sim("sim-cycles-negative", ["--cycles=-5"], "--cycles")
    sim("sim-ber-and-cycles", ["--ber=0.01", "--cycles=100"], "--ber")
    sim("sim-ber-table-missing",
        ["--ber-table=" + os.path.join(out, "absent.csv"), "--cycles=10"],
        "absent.csv")
    sim("sim-ber-table-dev-zero", ["--ber-table=/dev/zero", "--cycles=10"],
        "not a regular file")
    sim("sim-ber-table-bad",
        ["--ber-table=" + write("bad.csv", b"cycles,ber\n1,x\n"),
         "--cycles=10"], "bad.csv")
    sim("sim-two-inputs-for-one", ["--input", good_x + "," + good_x],
        "input")
    sim("sim-output-missing-directory",
        ["--output=" + os.path.join(out, "no-such-dir", "y.npy")],
        "does not exist")
    sim("sim-report-is-directory", ["--report=" + out], "cannot write")
    sim("sim-sweep-text", ["--sweep-ber=a,b"], "--sweep-ber")
    case("inspect-no-program", ["hafnia-inspect"], "hafnia-inspect model.hfp")
    case("inspect-format-xml", ["hafnia-inspect", "{good}", "--format=xml"],
         "--format must be text, json or svg, got 'xml'")
    case("inspect-two-programs", ["hafnia-inspect", "{good}", "{good}"],
         "give exactly one program")

    # --- Non-finite numbers, once silently accepted.
    nan_x = np.zeros(count, np.float32)
    nan_x[count // 2] = np.nan
    inf_x = np.zeros(count, np.float32)
    inf_x[-1] = -np.inf
    sim_input("npy-input-nan", npy(f4(shape_text), nan_x.tobytes()),
              "input 'input' holds NaN (sample 0, element %d)" % (count // 2))
    sim_input("npy-input-inf", npy(f4(shape_text), inf_x.tobytes()),
              "input 'input' holds -inf (sample 0, element %d)" % (count - 1))
    case("npy-input-nan-allowed",
         ["hafnia-sim", "{good}", "--allow-nonfinite-inputs", "--input",
          os.path.join(out, "npy-input-nan.npy")], None)
    sim("sim-ber-nan", ["--ber=nan"], "--ber")
    sim("sim-ber-inf", ["--ber=inf"], "--ber")
    sim("sim-cycles-nan", ["--cycles=nan"], "--cycles")
    sim("sim-cycles-inf", ["--cycles=inf"], "--cycles")
    sim("sim-sweep-ber-nan", ["--sweep-ber=0.01,nan"], "--sweep-ber")
    sim("sim-sweep-cycles-inf", ["--sweep-cycles=10,inf"], "--sweep-cycles")
    sim("sim-sweep-cycles-nan", ["--sweep-cycles=nan"], "--sweep-cycles")
    sim("sim-ber-table-nan",
        ["--ber-table=" + write("nan.csv", b"cycles,ber\n1,0.01\n10,nan\n"),
         "--cycles=5"], "nan.csv")
    sim("sim-ber-table-inf-cycles",
        ["--ber-table=" + write("inf.csv", b"cycles,ber\n1,0.01\ninf,0.1\n"),
         "--cycles=5"], "inf.csv")
    labels("labels-nan", "{'descr': '<f4', 'fortran_order': False, "
           "'shape': (%d,), }" % batch,
           np.full(batch, np.nan, np.float32).tobytes(), "labels")
    # A report claiming 2^31 arrays once aborted the SVG writer (signed
    # overflow, NaN cast to int): the report is drawn, capped.
    def huge_report(p):
        p.report.chip.arrays = 2**31
        p.report.summary.arrays_used = 2**31
        p.report.summary.arrays_available = 2**32 - 1
        p.report.summary.array_fill = float("nan")
        p.report.layers[0].arrays = 2**32 - 1
        p.report.layers[0].fill = float("inf")
        t = p.report.layers[0].tiles.add()
        t.array = 2**32 - 1
        t.rows_used = 2**32 - 1
        t.columns_used = 2**32 - 1
    p = program_pb2.Program()
    p.CopyFrom(good)
    huge_report(p)
    huge = write("report-2^31-arrays.hfp", header(p.SerializeToString()))
    for format_ in ("svg", "text", "json"):
        case("inspect-report-2^31-arrays-" + format_,
             ["hafnia-inspect", huge, "--format=" + format_], None)

    add_model_cases(case, write, out)

    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print("%d cases" % len(cases))


if __name__ == "__main__":
    main()
