"""1T1R + ECC from Python: a simulation with a code and a sweep over cell
settings equal what hafnia-sim writes, byte for byte; the report says what
the code stored and what its decoder found; bad settings fail with the
engine's one-line messages."""

import numpy as np
import pytest

import hafnia
from conftest import tool


@pytest.fixture(scope="module")
def program(digits_hfp):
    return hafnia.load(digits_hfp)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, digits_data):
    x, y = digits_data
    folder = tmp_path_factory.mktemp("data")
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return folder / "x.npy", folder / "y.npy"


def test_simulate_with_a_code_equals_the_cli(program, digits_hfp, inputs,
                                             digits_data, tmp_path):
    x, labels = digits_data
    result = program.simulate(x, labels=labels, cell="1T1R", ber=0.02,
                              trials=4, ecc="secded-13-8")
    cli = tool("hafnia-sim", digits_hfp, "--input", inputs[0], "--labels",
               inputs[1], "--cell=1T1R", "--ber=0.02", "--trials=4",
               "--ecc=secded-13-8", "--report", tmp_path / "ecc.json")
    assert result.json() == (tmp_path / "ecc.json").read_text()
    assert result.text == cli.stdout
    assert "the XNOR is not done in the sense amplifier" in result.text
    ecc = result.ecc
    assert ecc["code"] == "secded-13-8" and ecc["detects_double_errors"]
    assert 1.625 <= ecc["devices_per_bit"] < 1.7
    # The devices flip at the BER; the decoded cells far less often.
    assert ecc["raw_ber"]["observed"] == pytest.approx(0.02, rel=0.2)
    assert result.ber["observed"] < ecc["raw_ber"]["observed"] / 3
    assert int(ecc["uncorrectable_words"]) > 0
    assert ecc["cost"]["decoder_energy_pj"] > 0
    assert program.simulate(x, ber=0.02, trials=2).ecc is None


def test_sweep_over_cell_settings_equals_the_cli(program, digits_hfp, inputs,
                                                 digits_data, tmp_path):
    x, labels = digits_data
    cells = ["2T2R", "1T1R", "1T1R+hamming-7-4", "1T1R+secded-72-64"]
    sweep = program.sweep(x, labels=labels, cycles=[1, 1e6], trials=3,
                          cells=cells, equal_devices=True, threads=2)
    cli = tool("hafnia-sim", digits_hfp, "--input", inputs[0], "--labels",
               inputs[1], "--trials=3", "--sweep-cycles=1,1e6",
               "--sweep-cells=" + ",".join(cells), "--equal-devices",
               "--report", tmp_path / "sweep.json",
               "--sweep-svg", tmp_path / "sweep.svg")
    assert sweep.json() == (tmp_path / "sweep.json").read_text()
    assert sweep.svg() == (tmp_path / "sweep.svg").read_text()
    assert sweep.text == cli.stdout
    assert [p["setting"] for p in sweep.points] == [
        c for c in cells for _ in range(2)]
    assert [p["devices_per_bit"] for p in sweep.points[:4]] == [2, 2, 1, 1]
    # Points without a code hold an empty one, as every unset message.
    assert sweep.points[4]["ecc"]["code"] == "hamming-7-4"
    assert sweep.points[0]["ecc"]["code"] == ""
    assert int(sweep.report["device_budget"]) == 2 * int(
        sweep.points[2]["devices"])


def test_bad_settings_are_one_line(program, digits_data):
    x, _ = digits_data
    with pytest.raises(ValueError, match="^ecc: unknown code 'bch'; known "
                       "codes: hamming-7-4, secded-13-8, secded-22-16, "
                       "secded-39-32, secded-72-64$"):
        program.simulate(x, cell="1T1R", ber=0.01, ecc="bch")
    with pytest.raises(ValueError, match="^ecc stores code words in 1T1R "
                       "devices, the cells here are 2T2R: give cell=1T1R$"):
        program.simulate(x, ber=0.01, ecc="hamming-7-4")
    with pytest.raises(ValueError, match="^cells: unknown setting '3T3R'"):
        program.sweep(x, cycles=[1], cells=["3T3R"])
    with pytest.raises(ValueError, match="^equal_devices compares the "
                       "settings of cells: give them$"):
        program.sweep(x, cycles=[1], equal_devices=True)
