// libFuzzer target (a) of issue 13: an ONNX model (binary ModelProto or ONNX
// text format, as hafnia-compile reads them) through the real import path:
// the loader (parsing, the model guards, ONNX's checker, version converter
// and shape inference, constant folding), the import into the bnn dialect,
// classifier detection, calibration, binarization, threshold folding, the
// mapping onto the arrays, the emitter and the runtime's validation of the
// program it emits; then, for small programs, the ONNX export of the program
// (checked by ONNX) and a simulation, which must accept what the compiler
// wrote.
//
// The compile options (binarization mode, first layer, int8 weights,
// calibration samples) are derived from a hash of the input, so an input
// always compiles the same way. Models with a tensor above
// kMaxFuzzedElements are loaded (the guards and ONNX's passes run) but not
// compiled: the fuzzer looks for crashes, not for large constant folds.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ProgramInputs.h"
#include "google/protobuf/stubs/logging.h"
#include "hafnia/Driver/Compile.h"
#include "hafnia/Import/ConstantFolding.h"
#include "hafnia/Import/OnnxImporter.h"
#include "hafnia/Import/OnnxModelLoader.h"
#include "hafnia/Target/OnnxExport.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"

namespace {

constexpr int64_t kMaxFuzzedElements = int64_t{1} << 16;
constexpr uint64_t kMaxSimulatedBytes = uint64_t{1} << 20;
constexpr int64_t kMaxSimulatedElements = int64_t{1} << 14;

// A small chip, so that the budget, tiling and several arrays per layer are
// exercised by small models.
constexpr const char *kChip = R"(
  name: "fuzz"
  array { rows: 16 columns: 16 }
  arrays: 256
  cell: CELL_2T2R
  digital_memory_bytes: 4194304
  real_precision: REAL_FLOAT32
  device { log_window: 2.3 log_sigma: 0.354 }
)";

const hafnia::ChipConfig &chip(bool int8) {
  static const std::array<hafnia::ChipConfig, 2> configs = [] {
    absl::StatusOr<hafnia::ChipConfig> parsed =
        hafnia::ParseChipConfig(kChip, "fuzz chip");
    if (!parsed.ok())
      __builtin_trap();
    std::array<hafnia::ChipConfig, 2> both{*parsed, *parsed};
    both[1].set_real_precision(hafnia::REAL_INT8);
    return both;
  }();
  return configs[int8];
}

int64_t elementsOf(const onnx::TypeProto &type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape())
    return 0;
  int64_t elements = 1;
  for (const auto &dim : type.tensor_type().shape().dim())
    if (!dim.has_dim_value() || dim.dim_value() < 0 ||
        __builtin_mul_overflow(elements, dim.dim_value(), &elements))
      return INT64_MAX;
  return elements;
}

// Whether every tensor of the loaded model is small enough to compile.
bool small(const onnx::ModelProto &model) {
  const onnx::GraphProto &graph = model.graph();
  for (const auto *values :
       {&graph.input(), &graph.output(), &graph.value_info()})
    for (const onnx::ValueInfoProto &value : *values)
      if (elementsOf(value.type()) > kMaxFuzzedElements)
        return false;
  for (const onnx::TensorProto &tensor : graph.initializer()) {
    int64_t elements = 1;
    for (int64_t dim : tensor.dims())
      if (dim < 0 || __builtin_mul_overflow(elements, dim, &elements))
        return false;
    if (elements > kMaxFuzzedElements)
      return false;
  }
  return true;
}

void simulate(const hafnia::Program &program) {
  auto simulator = hafnia::Simulator::Create(program);
  if (!simulator.ok())
    __builtin_trap(); // The compiler validated it: Create must accept it.
  std::vector<hafnia::Tensor> inputs = hafnia::ProgramInputs(program);
  hafnia::SimulationStats stats;
  if (!(*simulator)->Run(inputs, &stats).ok())
    __builtin_trap(); // Inputs of the program's own shapes must run.
  std::mt19937_64 random(1);
  auto errors = (*simulator)->ProgramWithErrors(0.1, random);
  auto prefix = (*simulator)->RunPrefix(inputs);
  if (!prefix.ok() ||
      !(*simulator)->RunSuffix(**prefix, errors.get(), &stats).ok())
    __builtin_trap();
}

// HAFNIA_FUZZ_VERBOSE=1 says how far each input got (to check a corpus).
void say(const char *stage, const std::string &detail = "") {
  static const bool verbose = std::getenv("HAFNIA_FUZZ_VERBOSE") != nullptr;
  if (verbose)
    std::fprintf(stderr, "%s%s%s\n", stage, detail.empty() ? "" : ": ",
                 detail.c_str());
}

} // namespace

// LLVM's and MLIR's headers poison and unpoison BumpPtrAllocator slabs when
// the translation unit is built with ASan, Debian's libraries do not: an
// allocator shared between both reads as use-after-poison. Manual poisoning
// is off (ASan's own checks are not affected); tools/sanitize.sh sets the
// same for the tools.
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  google::protobuf::LogSilencer quiet;

  // The loader alone first, as the importer calls it.
  hafnia::OnnxLoadOptions load;
  load.isSupportedOp = [](const std::string &opType) {
    for (llvm::StringRef op : hafnia::getSupportedOnnxOps())
      if (op == opType)
        return true;
    return hafnia::isFoldableOp(opType);
  };
  onnx::ModelProto model;
  if (std::optional<std::string> error =
          hafnia::loadOnnxModel(bytes, load, model)) {
    say("not loaded", *error);
    return 0;
  }
  if (!small(model)) {
    say("loaded, too large to compile");
    return 0;
  }

  size_t hash = std::hash<std::string_view>()(bytes);
  static const char *const modes[] = {"none", "classifier", "all"};
  hafnia::CompileOptions options;
  options.binarize = modes[hash % 3];
  options.binarize_first_layer = (hash >> 2) & 1;
  options.chip = chip((hash >> 3) & 1);
  options.model_name = "fuzz.onnx";
  // Calibration (--calibration): two batches of samples for a model with
  // one input, run through the simulator to choose thresholds.
  const onnx::GraphProto &graph = model.graph();
  if (((hash >> 4) & 1) && options.binarize != "none" &&
      graph.input_size() == 1 &&
      elementsOf(graph.input(0).type()) <= kMaxSimulatedElements) {
    hafnia::Tensor samples;
    for (const auto &dim : graph.input(0).type().tensor_type().shape().dim())
      samples.shape.push_back(dim.dim_value());
    if (!samples.shape.empty())
      samples.shape[0] *= 2;
    samples.data.resize(samples.NumElements());
    for (size_t i = 0; i < samples.data.size(); ++i)
      samples.data[i] = static_cast<float>(static_cast<int>(i % 5) - 2) * 0.7f;
    options.calibration = std::move(samples);
    options.calibration_name = "fuzz-calibration.npy";
  }
  absl::StatusOr<hafnia::CompiledModel> compiled =
      hafnia::CompileOnnxModel(bytes, options);
  if (!compiled.ok()) {
    // A compile error is an answer; the compiler refusing its own program
    // (InternalError) or an error without a message is a bug.
    if (compiled.status().code() != absl::StatusCode::kInvalidArgument ||
        compiled.status().message().empty())
      __builtin_trap();
    say("not compiled", std::string(compiled.status().message()));
    return 0;
  }
  const hafnia::Program &program = compiled->program;
  (void)hafnia::Disassemble(program);

  int64_t elements = 0;
  for (const hafnia::Buffer &buffer : program.buffers())
    elements += hafnia::NumElements(hafnia::ShapeOf(buffer));
  if (hafnia::EstimateSimulatorMemory(program).total() > kMaxSimulatedBytes ||
      elements > kMaxSimulatedElements) {
    say("compiled, too large to simulate");
    return 0;
  }
  // --emit=onnx: an export ONNX then refuses is a bug of the exporter.
  onnx::ModelProto exported;
  if (!hafnia::exportProgramToOnnx(program, exported) &&
      hafnia::checkOnnxModel(exported))
    __builtin_trap();
  simulate(program);
  say("compiled and simulated");
  return 0;
}
