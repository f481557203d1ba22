// hafnia._hafnia: the C++ half of the Python package. A thin binding over
// the compile library (hafnia/Driver/Compile.h, when the compiler is built)
// and the runtime's engine (hafnia/runtime/Trials.h); hafnia/__init__.py
// gives it its Python shape.
// The GIL is released while compiling and simulating.

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/ErrorReport.h"
#include "hafnia/runtime/MappingReport.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"
#include "hafnia/runtime/TensorIO.h"
#include "hafnia/runtime/Trials.h"
#include "pybind11/numpy.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"

#ifdef HAFNIA_PYTHON_COMPILER
#include "hafnia/Driver/Compile.h"
#endif

namespace py = pybind11;
using google::protobuf::FieldDescriptor;

namespace hafnia {
namespace {

// A failed compilation: hafnia.CompileError, with the CLI's message.
struct CompileFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Raises the Python exception that fits `status`: a missing file is
// FileNotFoundError, a bad argument or input ValueError, anything else
// RuntimeError. The message is the one the tools print.
[[noreturn]] void Raise(const absl::Status &status) {
  std::string message(status.message());
  if (absl::IsNotFound(status)) {
    PyErr_SetString(PyExc_FileNotFoundError, message.c_str());
    throw py::error_already_set();
  }
  if (absl::IsInvalidArgument(status) || absl::IsOutOfRange(status))
    throw py::value_error(message);
  throw std::runtime_error(message);
}

template <typename T> T Check(absl::StatusOr<T> value) {
  if (!value.ok())
    Raise(value.status());
  return *std::move(value);
}

// One field's value as Python: numbers as int or float, enums by name,
// messages as dicts.
py::object FieldValue(const google::protobuf::Message &message,
                      const FieldDescriptor *field, int index);

// A report as a dict with every field, as ReportToJson prints it, but with
// 64-bit integers as Python ints (JSON writes them as strings).
py::dict ToDict(const google::protobuf::Message &message) {
  py::dict dict;
  const google::protobuf::Descriptor *descriptor = message.GetDescriptor();
  const google::protobuf::Reflection *reflection = message.GetReflection();
  for (int f = 0; f < descriptor->field_count(); ++f) {
    const FieldDescriptor *field = descriptor->field(f);
    // Unset optional fields (proto3 `optional`) are left out, as in JSON.
    if (field->has_presence() && !field->is_repeated() &&
        field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE &&
        !reflection->HasField(message, field))
      continue;
    if (field->is_repeated()) {
      py::list values;
      for (int i = 0; i < reflection->FieldSize(message, field); ++i)
        values.append(FieldValue(message, field, i));
      dict[field->name().c_str()] = values;
    } else {
      dict[field->name().c_str()] = FieldValue(message, field, -1);
    }
  }
  return dict;
}

py::object FieldValue(const google::protobuf::Message &message,
                      const FieldDescriptor *field, int index) {
  const google::protobuf::Reflection *r = message.GetReflection();
  bool repeated = index >= 0;
  switch (field->cpp_type()) {
  case FieldDescriptor::CPPTYPE_INT32:
    return py::int_(repeated ? r->GetRepeatedInt32(message, field, index)
                             : r->GetInt32(message, field));
  case FieldDescriptor::CPPTYPE_INT64:
    return py::int_(repeated ? r->GetRepeatedInt64(message, field, index)
                             : r->GetInt64(message, field));
  case FieldDescriptor::CPPTYPE_UINT32:
    return py::int_(repeated ? r->GetRepeatedUInt32(message, field, index)
                             : r->GetUInt32(message, field));
  case FieldDescriptor::CPPTYPE_UINT64:
    return py::int_(repeated ? r->GetRepeatedUInt64(message, field, index)
                             : r->GetUInt64(message, field));
  case FieldDescriptor::CPPTYPE_DOUBLE:
    return py::float_(repeated ? r->GetRepeatedDouble(message, field, index)
                               : r->GetDouble(message, field));
  case FieldDescriptor::CPPTYPE_FLOAT:
    return py::float_(repeated ? r->GetRepeatedFloat(message, field, index)
                               : r->GetFloat(message, field));
  case FieldDescriptor::CPPTYPE_BOOL:
    return py::bool_(repeated ? r->GetRepeatedBool(message, field, index)
                              : r->GetBool(message, field));
  case FieldDescriptor::CPPTYPE_ENUM:
    return py::str((repeated ? r->GetRepeatedEnum(message, field, index)
                             : r->GetEnum(message, field))
                       ->name());
  case FieldDescriptor::CPPTYPE_STRING:
    return py::str(repeated ? r->GetRepeatedString(message, field, index)
                            : r->GetString(message, field));
  case FieldDescriptor::CPPTYPE_MESSAGE:
    return ToDict(repeated ? r->GetRepeatedMessage(message, field, index)
                           : r->GetMessage(message, field));
  }
  return py::none();
}

// A NumPy array as a Tensor: float32 in C order (converted if it is not).
Tensor FromArray(const py::handle &object) {
  auto array =
      py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(
          object);
  if (!array)
    throw py::value_error("an input is not convertible to a float32 array");
  Tensor tensor;
  tensor.shape.assign(array.shape(), array.shape() + array.ndim());
  tensor.data.assign(array.data(), array.data() + array.size());
  return tensor;
}

// A Tensor as a NumPy array that owns the tensor's data (no copy): float32,
// or int64 for indices.
py::array ToArray(Tensor tensor) {
  std::vector<py::ssize_t> shape(tensor.shape.begin(), tensor.shape.end());
  if (tensor.int64) {
    py::array_t<int64_t> indices(shape);
    std::copy(tensor.data.begin(), tensor.data.end(), indices.mutable_data());
    return std::move(indices);
  }
  auto *data = new std::vector<float>(std::move(tensor.data));
  py::capsule owner(data, [](void *pointer) {
    delete static_cast<std::vector<float> *>(pointer);
  });
  return py::array_t<float>(shape, data->data(), owner);
}

py::list ToArrays(std::vector<Tensor> tensors) {
  py::list arrays;
  for (Tensor &tensor : tensors)
    arrays.append(ToArray(std::move(tensor)));
  return arrays;
}

Dataset ToDataset(const py::list &inputs, std::optional<py::handle> labels) {
  Dataset data;
  for (const py::handle &input : inputs)
    data.inputs.push_back(FromArray(input));
  if (labels) {
    auto array =
        py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(
            *labels);
    if (!array || array.ndim() != 1)
      throw py::value_error("labels must be a 1-D array of class indices");
    data.labels.emplace(array.data(), array.data() + array.size());
  }
  return data;
}

std::optional<CellType> ToCell(const std::optional<std::string> &name) {
  if (!name)
    return std::nullopt;
  std::optional<CellType> cell = ParseCellType(*name);
  if (!cell)
    throw py::value_error("cell must be '2T2R' or '1T1R', got '" + *name + "'");
  return cell;
}

// The options every run takes, spelled as keyword arguments in errors.
void SetRunOptions(RunOptions &options, int trials, uint64_t seed, int threads,
                   const std::optional<std::string> &ber_table,
                   bool allow_nonfinite_inputs,
                   const std::string &program_name) {
  options.allow_nonfinite_inputs = allow_nonfinite_inputs;
  options.trials = trials;
  options.seed = seed;
  options.threads = threads;
  options.program_name = program_name;
  options.names = OptionNames::kKeywords;
  if (ber_table)
    options.ber_table = Check(BerTable::Load(*ber_table));
}

// A program with its simulator (which validated it on creation).
class PyProgram {
public:
  explicit PyProgram(Program program, std::string name)
      : simulator_(Check(Simulator::Create(std::move(program)))),
        name_(std::move(name)) {}

  const Program &program() const { return simulator_->program(); }
  const Simulator &simulator() const { return *simulator_; }
  const std::string &name() const { return name_; }

private:
  std::unique_ptr<Simulator> simulator_;
  // The file or model it came from, as reports name it.
  std::string name_;
};

struct PySimulation {
  SimulationReport report;
  py::list outputs;
};

std::vector<std::string>
Names(const google::protobuf::RepeatedPtrField<TensorBinding> &bindings) {
  std::vector<std::string> names;
  for (const TensorBinding &binding : bindings)
    names.push_back(binding.name());
  return names;
}

py::bytes SerializedProgram(const PyProgram &program) {
  return py::bytes(SerializeProgram(program.program()));
}

// A chip configuration from JSON (chip.proto's field names), validated.
ChipConfig ChipFromJson(const std::string &json) {
  ChipConfig chip;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &chip);
  if (!parsed.ok())
    throw py::value_error("chip: " + std::string(parsed.message().data(),
                                                 parsed.message().size()));
  if (absl::Status valid = ValidateChipConfig(chip); !valid.ok())
    throw py::value_error("chip: " + std::string(valid.message()));
  return chip;
}

#ifdef HAFNIA_PYTHON_COMPILER
// Compiles ONNX bytes into a program, with the warnings hafnia-compile
// prints; failures raise CompileError with its message.
std::pair<PyProgram, std::vector<std::string>> CompileModel(
    const py::bytes &model, const std::string &name, const std::string &path,
    const std::string &binarize, bool binarize_first_layer,
    const std::string &chip_json, std::optional<py::handle> calibration,
    int64_t batch, std::vector<std::string> input_shapes,
    const std::string &array_placement, const std::string &sensitivity_report) {
  CompileOptions options;
  options.array_placement = array_placement;
  options.sensitivity_report = sensitivity_report;
  options.binarize = binarize;
  options.binarize_first_layer = binarize_first_layer;
  options.chip = ChipFromJson(chip_json);
  if (calibration) {
    options.calibration = FromArray(*calibration);
    options.calibration_name = "calibration";
  }
  options.batch = batch;
  options.input_shapes = std::move(input_shapes);
  options.model_name = name;
  options.model_path = path;
  std::string bytes(model);
  absl::StatusOr<CompiledModel> compiled;
  {
    py::gil_scoped_release release;
    compiled = CompileOnnxModel(bytes, options);
  }
  if (!compiled.ok())
    throw CompileFailure(std::string(compiled.status().message()));
  return {PyProgram(std::move(compiled->program), name),
          std::move(compiled->warnings)};
}
#endif

} // namespace
} // namespace hafnia

PYBIND11_MODULE(_hafnia, m) {
  using namespace hafnia;
  m.doc() = "The C++ half of the hafnia package; use hafnia itself.";
  py::register_exception<CompileFailure>(m, "CompileError", PyExc_ValueError);

  py::class_<PyProgram>(m, "Program")
      .def_property_readonly("name", &PyProgram::name)
      .def_property_readonly(
          "input_names",
          [](const PyProgram &p) { return Names(p.program().inputs()); })
      .def_property_readonly(
          "output_names",
          [](const PyProgram &p) { return Names(p.program().outputs()); })
      .def("report",
           [](const PyProgram &p) { return ToDict(p.program().report()); })
      .def("report_text",
           [](const PyProgram &p) {
             return FormatMappingReport(p.program().report());
           })
      .def("report_svg",
           [](const PyProgram &p) {
             return MappingReportToSvg(p.program().report());
           })
      .def("disassemble",
           [](const PyProgram &p) { return Disassemble(p.program()); })
      .def("to_bytes", &SerializedProgram)
      .def("save",
           [](const PyProgram &p, const std::string &path) {
             absl::Status status = WriteProgram(path, p.program());
             if (!status.ok())
               Raise(status);
           })
      .def(
          "simulate",
          [](const PyProgram &p, const py::list &inputs,
             std::optional<py::handle> labels, std::optional<std::string> cell,
             std::optional<double> cycles, std::optional<double> ber,
             std::optional<std::string> ber_table, int trials, uint64_t seed,
             int threads, bool allow_nonfinite_inputs,
             std::optional<std::string> ecc) {
            Dataset data = ToDataset(inputs, labels);
            TrialOptions options;
            if (ecc)
              options.ecc = Check(ParseEccOption(*ecc, OptionNames::kKeywords));
            SetRunOptions(options, trials, seed, threads, ber_table,
                          allow_nonfinite_inputs, p.name());
            options.cell = ToCell(cell).value_or(CELL_TYPE_UNSPECIFIED);
            options.cycles = cycles;
            options.ber = ber;
            absl::StatusOr<Simulation> simulation;
            {
              py::gil_scoped_release release;
              simulation = Simulate(p.simulator(), data, options);
            }
            Simulation result = Check(std::move(simulation));
            PySimulation py_result{std::move(result.report),
                                   ToArrays(std::move(result.outputs))};
            return py_result;
          },
          py::arg("inputs"), py::arg("labels"), py::arg("cell"),
          py::arg("cycles"), py::arg("ber"), py::arg("ber_table"),
          py::arg("trials"), py::arg("seed"), py::arg("threads"),
          py::arg("allow_nonfinite_inputs"), py::arg("ecc"))
      .def(
          "sweep",
          [](const PyProgram &p, const py::list &inputs,
             std::optional<py::handle> labels, std::vector<double> cycles,
             std::vector<double> ber, std::optional<std::string> cell,
             std::optional<std::string> ber_table, int trials, uint64_t seed,
             int threads, bool allow_nonfinite_inputs,
             std::vector<std::string> cells, bool equal_devices) {
            Dataset data = ToDataset(inputs, labels);
            SweepOptions options;
            for (const std::string &setting : cells)
              options.cells.push_back(
                  Check(ParseCellSetting(setting, OptionNames::kKeywords)));
            options.equal_devices = equal_devices;
            SetRunOptions(options, trials, seed, threads, ber_table,
                          allow_nonfinite_inputs, p.name());
            options.cell = ToCell(cell).value_or(CELL_TYPE_UNSPECIFIED);
            options.cycles = std::move(cycles);
            options.ber = std::move(ber);
            absl::StatusOr<SweepReport> report;
            {
              py::gil_scoped_release release;
              report = Sweep(p.simulator(), data, options);
            }
            return Check(std::move(report));
          },
          py::arg("inputs"), py::arg("labels"), py::arg("cycles"),
          py::arg("ber"), py::arg("cell"), py::arg("ber_table"),
          py::arg("trials"), py::arg("seed"), py::arg("threads"),
          py::arg("allow_nonfinite_inputs"), py::arg("cells"),
          py::arg("equal_devices"))
      .def(
          "sensitivity",
          [](const PyProgram &p, const py::list &inputs,
             std::optional<py::handle> labels, std::optional<std::string> cell,
             std::optional<double> cycles, std::optional<double> ber,
             std::optional<std::string> ber_table, int trials, uint64_t seed,
             int threads, bool allow_nonfinite_inputs, int array_layers) {
            Dataset data = ToDataset(inputs, labels);
            SensitivityOptions options;
            SetRunOptions(options, trials, seed, threads, ber_table,
                          allow_nonfinite_inputs, p.name());
            options.cell = ToCell(cell).value_or(CELL_TYPE_UNSPECIFIED);
            options.cycles = cycles;
            options.ber = ber;
            options.array_layers = array_layers;
            absl::StatusOr<SensitivityReport> report;
            {
              py::gil_scoped_release release;
              report = Sensitivity(p.simulator(), data, options);
            }
            return Check(std::move(report));
          },
          py::arg("inputs"), py::arg("labels"), py::arg("cell"),
          py::arg("cycles"), py::arg("ber"), py::arg("ber_table"),
          py::arg("trials"), py::arg("seed"), py::arg("threads"),
          py::arg("allow_nonfinite_inputs"), py::arg("array_layers"));

  py::class_<PySimulation>(m, "Simulation")
      .def_readonly("outputs", &PySimulation::outputs)
      .def("report", [](const PySimulation &s) { return ToDict(s.report); })
      .def("text",
           [](const PySimulation &s) {
             return FormatSimulationReport(s.report);
           })
      .def("json",
           [](const PySimulation &s) { return Check(ReportToJson(s.report)); });

  py::class_<SweepReport>(m, "SweepReport")
      .def("report", [](const SweepReport &s) { return ToDict(s); })
      .def("text", [](const SweepReport &s) { return FormatSweep(s); })
      .def("svg", [](const SweepReport &s) { return SweepToSvg(s); })
      .def("json", [](const SweepReport &s) { return Check(ReportToJson(s)); });

  py::class_<SensitivityReport>(m, "SensitivityReport")
      .def("report", [](const SensitivityReport &s) { return ToDict(s); })
      .def("text",
           [](const SensitivityReport &s) { return FormatSensitivity(s); })
      .def("json",
           [](const SensitivityReport &s) { return Check(ReportToJson(s)); });

  m.def(
      "load",
      [](const std::string &path) {
        return PyProgram(Check(ReadProgram(path)), path);
      },
      py::arg("path"));
  m.def(
      "from_bytes",
      [](const py::bytes &bytes, const std::string &source) {
        return PyProgram(Check(ParseProgram(std::string(bytes), source)),
                         source);
      },
      py::arg("bytes"), py::arg("source"));
  // A chip configuration (a preset or a .textproto file) as JSON, so that
  // Python can override fields of a preset and hand it back to compile.
  m.def("chip_json", [](const std::string &name_or_path) {
    ChipConfig chip = Check(LoadChipConfig(name_or_path));
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    (void)google::protobuf::util::MessageToJsonString(chip, &json, options);
    return json;
  });
#ifdef HAFNIA_PYTHON_COMPILER
  m.attr("has_compiler") = true;
  m.def("compile", &CompileModel, py::arg("model"), py::arg("name"),
        py::arg("path"), py::arg("binarize"), py::arg("binarize_first_layer"),
        py::arg("chip_json"), py::arg("calibration"), py::arg("batch"),
        py::arg("input_shapes"), py::arg("array_placement"),
        py::arg("sensitivity_report"));
#else
  m.attr("has_compiler") = false;
#endif
}
