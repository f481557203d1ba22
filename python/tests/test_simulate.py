"""Programs from Python: reports, runs, simulations with each BER source and
sweeps equal what hafnia-inspect and hafnia-sim write, byte for byte, for any
thread count; bad options fail with the engine's one-line messages."""

import json
import threading

import numpy as np
import pytest

import hafnia
from conftest import tool


@pytest.fixture(scope="module")
def program(digits_hfp):
    return hafnia.load(digits_hfp)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, digits_data):
    """The data as the CLI reads it: .npy files."""
    x, y = digits_data
    folder = tmp_path_factory.mktemp("data")
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return folder / "x.npy", folder / "y.npy"


def test_program_holds_its_report(program, digits_hfp, tmp_path):
    report = program.report
    assert report["model"] == "digits_binarized_classifier.onnx"
    assert report["chip"]["cell"] == "CELL_2T2R"
    assert report["summary"]["arrays_used"] > 0
    assert 0 < report["area"]["used"]["total_mm2"] < report["area"]["chip"][
        "total_mm2"]
    assert isinstance(report["summary"]["total_params"], int)
    assert program.report_text == tool("hafnia-inspect", digits_hfp).stdout
    assert program.disassemble() == tool(
        "hafnia-inspect", digits_hfp, "--disassemble").stdout
    assert program.inputs == ["input"] and len(program.outputs) == 1
    program.save(tmp_path / "copy.hfp")
    assert (tmp_path / "copy.hfp").read_bytes() == digits_hfp.read_bytes()
    assert program.to_bytes() == digits_hfp.read_bytes()


def test_run_equals_the_cli(program, digits_hfp, inputs, digits_data,
                            tmp_path):
    x, _ = digits_data
    y = program.run(x)
    tool("hafnia-sim", digits_hfp, "--input", inputs[0],
         "--output", tmp_path / "y.npy")
    np.testing.assert_array_equal(y, np.load(tmp_path / "y.npy"))
    assert y.dtype == np.float32 and y.shape == (200, 10)
    # The array owns the simulator's buffer: no copy on the way out.
    assert not y.flags["OWNDATA"]
    # One input may be given by name, too.
    np.testing.assert_array_equal(program.run({"input": x}, threads=2), y)


BER_TABLE = "cycles,1T1R,2T2R\n0,0.001,0.00001\n100000,0.05,0.002\n"


@pytest.mark.parametrize("options", [
    {},
    {"ber": 0.02},
    {"cycles": 1e6},
    {"cycles": 3e5, "cell": "1T1R"},
    {"ber_table": "table", "cycles": 1e4, "cell": "1T1R"},
])
def test_simulate_equals_the_cli(program, digits_hfp, inputs, digits_data,
                                 tmp_path, options):
    x, labels = digits_data
    options = dict(options)
    if options.get("ber_table"):
        (tmp_path / "ber.csv").write_text(BER_TABLE)
        options["ber_table"] = tmp_path / "ber.csv"
    result = program.simulate(x, labels=labels, trials=4, seed=3, **options)
    flags = ["--%s=%s" % (k.replace("_", "-"), v) for k, v in options.items()]
    cli = tool("hafnia-sim", digits_hfp, "--input", inputs[0], "--labels",
               inputs[1], "--trials=4", "--seed=3", *flags,
               "--report", tmp_path / "cli.json",
               "--output", tmp_path / "out.npy")
    assert result.json() == (tmp_path / "cli.json").read_text()
    assert result.text == cli.stdout
    np.testing.assert_array_equal(result.output, np.load(tmp_path / "out.npy"))
    assert 0.5 < result.accuracy <= 1
    total = result.cost["total"]
    assert total["energy_pj"] == pytest.approx(
        sum(layer["energy_pj"] for layer in result.cost["layers"]))
    assert total["array_energy_pj"] > 0 and total["latency_ns"] > 0
    if options:
        assert len(result.agreement) == 4 and len(result.accuracy_trials) == 4
        assert result.ber["expected"] > 0
        assert sum(a["observed"] for a in result.array_flips) == sum(
            l["observed"] for l in result.layer_flips)
    else:
        assert result.agreement == [] and result.report["trials"] == 0


def test_sweeps_equal_the_cli(program, digits_hfp, inputs, digits_data,
                              tmp_path):
    x, labels = digits_data
    sweep = program.sweep(x, labels=labels, cycles=[1e2, 1e5, 1e7], trials=3)
    cli = tool("hafnia-sim", digits_hfp, "--input", inputs[0], "--labels",
               inputs[1], "--trials=3", "--sweep-cycles=1e2,1e5,1e7",
               "--report", tmp_path / "sweep.json",
               "--sweep-svg", tmp_path / "sweep.svg")
    assert sweep.json() == (tmp_path / "sweep.json").read_text()
    assert sweep.svg() == (tmp_path / "sweep.svg").read_text()
    assert sweep.text == cli.stdout
    assert [p["cell"] for p in sweep.points] == ["CELL_1T1R"] * 3 + [
        "CELL_2T2R"] * 3
    by_ber = program.sweep(x, labels=labels, ber=[0, 0.1], trials=2)
    assert by_ber.points[0]["accuracy"]["mean"] == pytest.approx(
        by_ber.report["ideal_accuracy"])
    assert by_ber.points[1]["ber"]["observed"] > 0.05


def test_results_do_not_depend_on_the_thread_count(program, digits_data):
    x, labels = digits_data
    one = program.simulate(x, labels=labels, ber=0.05, trials=5, threads=1)
    three = program.simulate(x, labels=labels, ber=0.05, trials=5, threads=3)
    assert one.json() == three.json()
    np.testing.assert_array_equal(one.output, three.output)


def test_the_gil_is_released_while_simulating(program, digits_data):
    x, _ = digits_data
    worker = threading.Thread(
        target=program.simulate, args=(np.tile(x, (10, 1, 1, 1)),),
        kwargs={"ber": 0.01, "trials": 60})
    seen_running = 0
    worker.start()
    while worker.is_alive():
        seen_running += 1
        worker.join(0.001)
    # Python code ran while the simulator did.
    assert seen_running > 10, seen_running


def test_bad_options_are_one_line(program, digits_data):
    x, labels = digits_data
    with pytest.raises(ValueError, match=r"^ber must be a probability in "
                       r"\[0, 1\], got '1\.5'$"):
        program.simulate(x, ber=1.5)
    with pytest.raises(ValueError, match="^ber sets the bit-error rate "
                       "itself: give it without cycles and ber_table$"):
        program.simulate(x, ber=0.1, cycles=10)
    with pytest.raises(ValueError, match="^cell must be '2T2R' or '1T1R'"):
        program.simulate(x, cell="3T3R", cycles=10)
    with pytest.raises(ValueError, match="^trials must be at least 1$"):
        program.simulate(x, ber=0.1, trials=0)
    with pytest.raises(ValueError, match="^labels holds 3 labels for 200 "
                       "samples$"):
        program.simulate(x, labels=labels[:3])
    with pytest.raises(ValueError, match="whole numbers"):
        program.simulate(x, labels=labels + 0.5)
    with pytest.raises(ValueError, match=r"input 'input' has shape \[200,64\]"):
        program.run(x.reshape(200, 64))
    with pytest.raises(ValueError, match="^sweep cycles or ber, not both$"):
        program.sweep(x, cycles=[1], ber=[0.1])
    bad = x.copy()
    bad[4, 0, 2, 3] = np.inf
    with pytest.raises(ValueError, match=r"holds \+inf \(sample 4, element "
                       r"19\); give finite numbers, or allow_nonfinite_inputs"):
        program.run(bad)
    assert program.run(bad, allow_nonfinite_inputs=True).shape == (200, 10)
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        program.simulate(x, cycles=1, ber_table="missing.csv")


def test_load_refuses_what_is_not_a_program(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.hfp"):
        hafnia.load(tmp_path / "absent.hfp")
    (tmp_path / "junk.hfp").write_bytes(b"not a program")
    with pytest.raises(ValueError, match="junk.hfp: not a Hafnia program"):
        hafnia.load(tmp_path / "junk.hfp")


def test_sensitivity_equals_the_cli(program, digits_hfp, inputs, digits_data,
                                    tmp_path):
    x, labels = digits_data
    sensitivity = program.sensitivity(x, labels=labels, ber=0.1, trials=3,
                                      array_layers=1)
    cli = tool("hafnia-sim", digits_hfp, "--input", inputs[0], "--labels",
               inputs[1], "--trials=3", "--ber=0.1", "--sensitivity",
               "--sensitivity-arrays=1", "--report",
               tmp_path / "sensitivity.json")
    assert sensitivity.json() == (tmp_path / "sensitivity.json").read_text()
    assert sensitivity.text == cli.stdout
    assert sorted(sensitivity.ranking) == sorted(
        layer["layer"] for layer in sensitivity.layers)
    assert {a["layer"] for a in sensitivity.arrays} == {
        sensitivity.ranking[0]}
    two = program.sensitivity(x, labels=labels, ber=0.1, trials=3,
                              array_layers=1, threads=2)
    assert two.json() == sensitivity.json()
    clean = program.sensitivity(x, labels=labels, ber=0, trials=2)
    assert all(layer["agreement_drop"] == 0 for layer in clean.layers)
    with pytest.raises(ValueError, match="give cycles or ber"):
        program.sensitivity(x, labels=labels)
