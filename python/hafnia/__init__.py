"""Hafnia from Python: compile ONNX models for 2T2R RRAM chips and simulate them.

    import hafnia
    program = hafnia.compile("model.onnx", binarize="classifier")
    print(program.report_text)
    y = program.run(x)
    result = program.simulate(x, labels=y_true, cycles=1e6, trials=20)
    sweep = program.sweep(x, labels=y_true, ber=[1e-4, 1e-3, 1e-2])
    sensitivity = program.sensitivity(x, labels=y_true, ber=1e-2, trials=20)

The same engine as hafnia-compile and hafnia-sim: for the same options and
seed the reports are the ones the tools write, whatever the thread count.
See docs/python.md.
"""

import json
import os
import tempfile
import warnings

import numpy as np

from . import _hafnia

__all__ = ["CompileError", "CompileWarning", "Program", "Sensitivity",
           "Simulation", "Sweep",
           "compile", "load"]

CompileError = _hafnia.CompileError


class CompileWarning(UserWarning):
    """A warning of the compiler (as hafnia-compile prints it)."""


def _inputs(program, x):
    """The inputs of `program` from one array, a sequence or a name dict."""
    names = program._program.input_names
    if isinstance(x, dict):
        missing = [n for n in names if n not in x]
        extra = [n for n in x if n not in names]
        if missing or extra:
            raise ValueError(
                "the program's inputs are %s, got %s" % (names, list(x)))
        return [x[n] for n in names]
    if isinstance(x, (list, tuple)):
        return list(x)
    return [] if x is None else [x]


def _labels(labels):
    """Class labels as int64, refusing floats that are not whole numbers."""
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError("labels must be whole numbers (class indices)")
    elif labels.dtype.kind not in "iub":
        raise ValueError("labels must be integers, got dtype %s" % labels.dtype)
    return labels.astype(np.int64)


def _values(values):
    """A sweep's values as a list of floats (one number is a list of one)."""
    if values is None:
        return []
    return [float(v) for v in np.atleast_1d(np.asarray(values, dtype=float))]


class _Results:
    """A report of the engine: `report` (a dict), `text` as hafnia-sim
    prints it, `json()` as it writes it."""

    def __init__(self, results):
        self._results = results
        self.report = results.report()

    @property
    def text(self):
        return self._results.text()

    def json(self):
        return self._results.json()


class Simulation(_Results):
    """What a simulation found (report.proto's SimulationReport).

    output: the first output (of trial 0 when there are errors); outputs: all.
    accuracy: error-free accuracy (None without labels); accuracy_trials and
    agreement: per trial; ber, layer_flips, array_flips, stats: as in the
    report, which `report` holds whole (a dict) and `text` prints. cost:
    energy and latency per inference by layer and in total, and the energy
    of programming the arrays (docs/cost-model.md). ecc: with a code, the
    report's ecc (devices per bit, raw_ber before decoding, uncorrectable
    words, the decoders' cost; ber is then after decoding), else None.
    """

    def __init__(self, simulation):
        super().__init__(simulation)
        self.outputs = tuple(simulation.outputs)
        report = self.report
        self.output = self.outputs[0]
        self.accuracy = report.get("accuracy")
        self.agreement = report["agreement_with_ideal"]["trials"]
        self.accuracy_trials = report["accuracy_trials"]["trials"]
        self.ber = report["ber"]
        self.layer_flips = report["layer_flips"]
        self.array_flips = report["array_flips"]
        self.stats = report["stats"]
        self.cost = report["cost"]
        self.ecc = report["ecc"] if report["ecc"]["code"] else None

    def __repr__(self):
        return "<hafnia.Simulation of %d samples, %d trials>" % (
            self.report["samples"], self.report["trials"])


class Sweep(_Results):
    """A sweep's results (report.proto's SweepReport): `points` (dicts of cell,
    cycles, ber, agreement_with_ideal, accuracy), `report`, `text`, `svg()`."""

    def __init__(self, sweep):
        super().__init__(sweep)
        self.points = self.report["points"]

    def svg(self):
        return self._results.svg()

    def __repr__(self):
        return "<hafnia.Sweep over %s, %d points>" % (
            self.report["parameter"], len(self.points))


class Sensitivity(_Results):
    """Which layers and arrays need the best cells (report.proto's
    SensitivityReport): `layers` (in program order) and `arrays` (of the
    most sensitive layers), dicts with agreement_drop and accuracy_drop;
    `ranking`, the layers most sensitive first; `all_arrays`, the errors in
    every array at once. `json()` is what hafnia-sim --sensitivity --report
    writes and hafnia-compile --sensitivity-report reads."""

    def __init__(self, sensitivity):
        super().__init__(sensitivity)
        self.layers = self.report["layers"]
        self.arrays = self.report["arrays"]
        self.ranking = self.report["ranking"]
        self.all_arrays = self.report["all_arrays"]

    def __repr__(self):
        return "<hafnia.Sensitivity of %d layers, %d arrays>" % (
            len(self.layers), len(self.arrays))


class Program:
    """A compiled program: the chip's arrays, constants and instructions.
    `diagnostics` holds the compiler's remarks and warnings as hafnia-compile
    prints them, `warnings` the warnings among them (both empty when
    loaded)."""

    def __init__(self, program, diagnostics=()):
        self._program = program
        self.diagnostics = list(diagnostics)
        self.warnings = [d for d in self.diagnostics if ": warning: " in d]

    @property
    def report(self):
        """The memory-mapping report as a dict (report.proto's fields)."""
        return self._program.report()

    @property
    def report_text(self):
        return self._program.report_text()

    def report_svg(self):
        return self._program.report_svg()

    @property
    def inputs(self):
        return self._program.input_names

    @property
    def outputs(self):
        return self._program.output_names

    def save(self, path):
        """Writes the program (.hfp) atomically."""
        self._program.save(os.fspath(path))

    def to_bytes(self):
        return self._program.to_bytes()

    def disassemble(self):
        return self._program.disassemble()

    def run(self, x, threads=1, allow_nonfinite_inputs=False):
        """Runs `x` (samples along the first axis; a list or dict for several
        inputs) on the error-free chip: the output array, or a tuple of them
        for several outputs."""
        outputs = self.simulate(
            x, threads=threads,
            allow_nonfinite_inputs=allow_nonfinite_inputs).outputs
        return outputs[0] if len(outputs) == 1 else outputs

    def simulate(self, x, labels=None, cell=None, cycles=None, ber=None,
                 ber_table=None, trials=10, seed=1, threads=1,
                 allow_nonfinite_inputs=False, ecc=None):
        """Runs `x` on the error-free chip and, with `cycles` (the device
        model's, or `ber_table`'s, bit-error rate after that many programming
        cycles) or `ber`, on `trials` freshly programmed chips with errors.
        `cell` is "2T2R" or "1T1R" (default: the chip's). With `ecc` (a code
        as hafnia-sim --ecc names it, e.g. "secded-72-64", and cell "1T1R")
        the weights are stored as code words in 1T1R devices and decoded
        before the logic. Inputs holding NaN or infinities are refused unless
        `allow_nonfinite_inputs`."""
        return Simulation(self._program.simulate(
            _inputs(self, x), _labels(labels), cell,
            None if cycles is None else float(cycles),
            None if ber is None else float(ber),
            None if ber_table is None else os.fspath(ber_table),
            int(trials), int(seed), int(threads),
            bool(allow_nonfinite_inputs), ecc))

    def sweep(self, x, labels=None, cycles=None, ber=None, cell=None,
              ber_table=None, trials=10, seed=1, threads=1,
              allow_nonfinite_inputs=False, cells=None, equal_devices=False):
        """Trials at each cycle count (1T1R and 2T2R side by side, or the
        settings `cells` such as ["2T2R", "1T1R", "1T1R+hamming-7-4"], with
        `equal_devices` refusing those that take more devices than 2T2R) or
        at each bit-error rate (at `cell`)."""
        if isinstance(cells, str):
            cells = [cells]
        return Sweep(self._program.sweep(
            _inputs(self, x), _labels(labels), _values(cycles), _values(ber),
            cell, None if ber_table is None else os.fspath(ber_table),
            int(trials), int(seed), int(threads),
            bool(allow_nonfinite_inputs), list(cells or []),
            bool(equal_devices)))

    def sensitivity(self, x, labels=None, cell=None, cycles=None, ber=None,
                    ber_table=None, trials=10, seed=1, threads=1,
                    allow_nonfinite_inputs=False, array_layers=2):
        """The errors of `cycles` or `ber` (as in simulate) injected into one
        layer at a time, every other array error-free, then into one array at
        a time of the `array_layers` most sensitive layers: the drops in
        agreement with the error-free chip and in accuracy (with labels),
        as hafnia-sim --sensitivity --sensitivity-arrays=N reports them."""
        return Sensitivity(self._program.sensitivity(
            _inputs(self, x), _labels(labels), cell,
            None if cycles is None else float(cycles),
            None if ber is None else float(ber),
            None if ber_table is None else os.fspath(ber_table),
            int(trials), int(seed), int(threads),
            bool(allow_nonfinite_inputs), int(array_layers)))

    def __repr__(self):
        return "<hafnia.Program %s>" % self._program.name


def load(path):
    """Reads and validates a program file (.hfp)."""
    return Program(_hafnia.load(os.fspath(path)))


def _merge(base, overrides):
    """Overrides fields of a chip configuration, nested dicts field by field
    (the compiler refuses fields that chip.proto does not have)."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _model_bytes(model):
    """An ONNX model's bytes, its name in reports and in messages."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        with open(path, "rb") as f:
            return f.read(), os.path.basename(path), path
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "model.onnx", "model.onnx"
    if hasattr(model, "SerializeToString"):  # onnx.ModelProto
        name = getattr(getattr(model, "graph", None), "name", "") or "model"
        return model.SerializeToString(), name + ".onnx", name + ".onnx"
    raise TypeError("model must be a path, bytes or an onnx.ModelProto, got %s"
                    % type(model).__name__)


def compile(model, binarize="classifier", chip="default", calibration=None,
            binarize_first_layer=False, batch=1, input_shapes=None,
            array_placement="error-aware", sensitivity_report=None):
    """Compiles an ONNX model (a path, bytes or an onnx.ModelProto) for a chip.

    binarize: "none", "classifier" (the paper's strategy) or "all".
    chip: a preset of configs/ ("default", "paper-testchip", "large"), a
      .textproto file, or a dict of fields overriding the default preset,
      e.g. {"arrays": 64, "array": {"rows": 64, "columns": 64}}.
    calibration: sample inputs (an array, samples along the first axis) from
      which to choose the binarized layers' input thresholds.
    input_shapes: {"input": (1, 3, 48, 192)} fixes symbolic dimensions.
    array_placement, sensitivity_report: on a chip whose arrays differ in
      quality (array_ber_multiplier, bad_arrays), "error-aware" places the
      most sensitive layers on the best arrays, ranked by sensitivity_report
      (a Program.sensitivity result or the path of its JSON; default: fewest
      inputs per neuron first), and "in-order" takes arrays 0, 1, ...
      (hafnia-compile --array-placement, --sensitivity-report).
    Raises CompileError with hafnia-compile's message; warns CompileWarning.
    """
    if not _hafnia.has_compiler:
        raise RuntimeError("this build of hafnia has no compiler "
                           "(configured with HAFNIA_BUILD_COMPILER=OFF)")
    data, name, path = _model_bytes(model)
    if isinstance(chip, dict):
        config = json.loads(_hafnia.chip_json("default"))
        _merge(config, chip)
    else:
        config = json.loads(_hafnia.chip_json(os.fspath(chip)))
    shapes = ["%s:%s" % (input, "x".join(str(int(d)) for d in shape))
              for input, shape in (input_shapes or {}).items()]
    with tempfile.TemporaryDirectory() as folder:
        report = sensitivity_report
        if isinstance(report, Sensitivity):
            report = os.path.join(folder, "sensitivity.json")
            with open(report, "w") as file:
                file.write(sensitivity_report.json())
        program, messages = _hafnia.compile(
            data, name, path, binarize, bool(binarize_first_layer),
            json.dumps(config), calibration, int(batch), shapes,
            str(array_placement), "" if report is None else os.fspath(report))
    # Remarks (what the compiler found, e.g. the classifier) are kept;
    # warnings are also raised as CompileWarning.
    for message in messages:
        if ": warning: " in message:
            warnings.warn(message, CompileWarning, stacklevel=2)
    return Program(program, messages)
