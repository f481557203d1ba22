"""hafnia.compile: the program hafnia-compile writes, byte for byte, from a
path, bytes or an onnx.ModelProto; chip presets, files and overrides; errors
with the CLI's message."""

import numpy as np
import onnx
import pytest

import hafnia
from conftest import DIGITS, SOURCE, tool

MODEL = DIGITS / "digits_binarized_classifier.onnx"


def test_compile_writes_what_the_cli_writes(tmp_path):
    program = hafnia.compile(MODEL)
    cli = tool("hafnia-compile", MODEL, "-o", tmp_path / "cli.hfp")
    assert program.to_bytes() == (tmp_path / "cli.hfp").read_bytes()
    assert program.report_text == cli.stdout
    assert program.warnings == []
    assert program.diagnostics == [
        line for line in cli.stderr.splitlines() if ": remark: " in line]
    report = program.report
    assert report["binarize"] == "classifier"
    assert [l["name"] for l in report["layers"] if l["op"] == "dense" and
            l["binary"]] == ["/classifier/fc1/MatMul", "/classifier/fc2/Gemm"]


@pytest.mark.parametrize("binarize", ["none", "classifier", "all"])
def test_each_mode_equals_the_cli(tmp_path, binarize):
    model = DIGITS / "digits_all_binarized.onnx"
    program = hafnia.compile(model, binarize=binarize, chip="large")
    tool("hafnia-compile", model, "--binarize=" + binarize, "--chip=large",
         "-o", tmp_path / "cli.hfp")
    assert program.to_bytes() == (tmp_path / "cli.hfp").read_bytes()


def test_models_as_bytes_and_protos():
    from_path = hafnia.compile(MODEL)
    from_bytes = hafnia.compile(MODEL.read_bytes())
    from_proto = hafnia.compile(onnx.load(str(MODEL)))
    assert from_bytes.report["model"] == "model.onnx"
    x = np.load(DIGITS / "digits_test_x.npy")[:50]
    np.testing.assert_array_equal(from_bytes.run(x), from_path.run(x))
    np.testing.assert_array_equal(from_proto.run(x), from_path.run(x))
    with pytest.raises(TypeError, match="path, bytes or an onnx.ModelProto"):
        hafnia.compile(42)
    with pytest.raises(FileNotFoundError):
        hafnia.compile(DIGITS / "absent.onnx")


def test_chips_from_presets_files_and_overrides(tmp_path):
    program = hafnia.compile(
        MODEL, chip={"arrays": 100, "array": {"rows": 64, "columns": 64}})
    chip = program.report["chip"]
    assert (chip["array_rows"], chip["array_cols"], chip["arrays"]) == (
        64, 64, 100)
    preset = SOURCE / "configs" / "large.textproto"
    assert hafnia.compile(MODEL, chip=preset).to_bytes() == hafnia.compile(
        MODEL, chip="large").to_bytes()
    with pytest.raises(ValueError, match="chip: .*arays"):
        hafnia.compile(MODEL, chip={"arays": 4})
    with pytest.raises(ValueError, match="^chip: .*rows"):
        hafnia.compile(MODEL, chip={"array": {"rows": 0}})


def test_errors_carry_the_cli_message(tmp_path):
    # Two arrays cannot hold the classifier.
    cli = tool("hafnia-compile", MODEL, "--arrays=2", "-o",
               tmp_path / "x.hfp", check=False)
    assert cli.returncode == 1 and not (tmp_path / "x.hfp").exists()
    with pytest.raises(hafnia.CompileError) as error:
        hafnia.compile(MODEL, chip={"arrays": 2})
    assert str(error.value) in cli.stderr
    assert "\n" not in str(error.value).strip()
    with pytest.raises(hafnia.CompileError, match="not an ONNX model"):
        hafnia.compile(b"not a model")


def test_calibration_and_warnings():
    x = np.load(DIGITS / "digits_test_x.npy")
    y = np.load(DIGITS / "digits_test_y.npy")
    with pytest.warns(hafnia.CompileWarning,
                      match="real-valued weights binarized after training"):
        plain = hafnia.compile(DIGITS / "digits_float.onnx")
    cli = tool("hafnia-compile", DIGITS / "digits_float.onnx", "--emit=asm")
    assert plain.warnings == [
        line for line in cli.stderr.splitlines() if ": warning: " in line]
    assert len(plain.warnings) == 2
    with pytest.warns(hafnia.CompileWarning):
        calibrated = hafnia.compile(DIGITS / "digits_float.onnx",
                                    calibration=x[:250])
    accuracy = [np.mean(p.run(x[250:]).argmax(1) == y[250:])
                for p in (plain, calibrated)]
    # Calibrated thresholds keep more of the float model's accuracy.
    assert accuracy[1] > accuracy[0] + 0.05


def test_error_aware_placement_equals_the_cli(tmp_path):
    x = np.load(DIGITS / "digits_test_x.npy")[:100]
    labels = np.load(DIGITS / "digits_test_y.npy")[:100]
    uniform = hafnia.compile(MODEL, chip={"arrays": 32})
    sensitivity = uniform.sensitivity(x, labels=labels, ber=0.05, trials=2)
    aware = hafnia.compile(MODEL, chip="heterogeneous",
                           sensitivity_report=sensitivity)
    (tmp_path / "sensitivity.json").write_text(sensitivity.json())
    tool("hafnia-compile", MODEL, "--chip=heterogeneous",
         "--sensitivity-report", tmp_path / "sensitivity.json",
         "-o", tmp_path / "aware.hfp")
    assert aware.to_bytes() == (tmp_path / "aware.hfp").read_bytes()
    used = {tile["array"] for layer in aware.report["layers"]
            for tile in layer["tiles"]}
    assert not used & {24, 30, 31}
    naive = hafnia.compile(MODEL, chip="heterogeneous",
                           array_placement="in-order")
    assert {tile["array"] for layer in naive.report["layers"]
            for tile in layer["tiles"]} == set(range(len(used)))
    with pytest.raises(hafnia.CompileError, match="sensitivity-report"):
        hafnia.compile(MODEL, chip="heterogeneous",
                       sensitivity_report=tmp_path / "missing.json")
