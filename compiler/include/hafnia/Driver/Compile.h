//===- Compile.h - Compile an ONNX model to a program -----------*- C++ -*-===//
//
// The compiler as a library: what hafnia-compile does for --emit=program,
// asm and onnx, for callers that are not LLVM programs (the Python module).
// This header includes neither LLVM nor MLIR, so that translation units built
// with RTTI and exceptions can include it; hafnia/Driver/CompileModule.h has
// the MLIR-typed steps it is made of.
//
// Messages are those hafnia-compile prints for the same input: diagnostics
// in mlir::SourceMgrDiagnosticHandler's format ("model.onnx:0:0: error:
// ..."), other errors as the text hafnia-compile prints after its
// "hafnia-compile: error: " prefix.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_DRIVER_COMPILE_H
#define HAFNIA_DRIVER_COMPILE_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "hafnia/proto/chip.pb.h"
#include "hafnia/proto/program.pb.h"
#include "hafnia/proto/report.pb.h"
#include "hafnia/runtime/TensorIO.h"

namespace hafnia {

struct CompileOptions {
  // Which layers to binarize: "none", "classifier" or "all" (--binarize).
  std::string binarize = "classifier";
  // With "all", binarize the layer that reads the model's input too.
  bool binarize_first_layer = false;
  // The chip (LoadChipConfig, ApplyChipOverrides); validated again here.
  ChipConfig chip;
  // Sample inputs for the binarization thresholds (--calibration), named in
  // messages by `calibration_name`. Or a .npy or .pb file of them, read
  // when the model is imported (as the CLI's --calibration); it names them
  // when `calibration_name` is empty.
  std::optional<Tensor> calibration;
  std::string calibration_name;
  std::string calibration_file;
  // The value of a symbolic batch dimension (--batch).
  int64_t batch = 1;
  // "NAME:1x3x48x192" (--input-shape) and "NAME:FILE.pb" (--constant-input).
  std::vector<std::string> input_shapes;
  std::vector<std::string> constant_inputs;
  // How rram-allocate-arrays places tiles on a chip whose arrays differ in
  // quality (its array_ber_multiplier, bad_arrays): "error-aware" or
  // "in-order" (--array-placement); and the report of hafnia-sim
  // --sensitivity that ranks the layers (--sensitivity-report; empty: fewest
  // inputs per neuron first).
  std::string array_placement = "error-aware";
  std::string sensitivity_report;
  // The model in the report and the program (the CLI: the file's name).
  std::string model_name;
  // The model in diagnostics (the CLI: the path as given); `model_name` when
  // empty.
  std::string model_path;
  // When set, receives every diagnostic as soon as it is reported, as the
  // CLI prints it (without the final newline): warnings and remarks
  // (`error` false) and errors. hafnia-compile prints them from here, so that
  // the warnings of a compile that then fails are shown too.
  std::function<void(std::string_view text, bool error)> on_diagnostic;
};

struct CompiledModel {
  Program program;
  MappingReport report;
  // The warnings and remarks, one per diagnostic, as the CLI prints them
  // (without the final newline).
  std::vector<std::string> warnings;
};

// Compiles an ONNX model (binary protobuf or ONNX text format) for
// `options.chip`. Errors are InvalidArgument with the error line(s) the CLI
// prints for the same input: the error diagnostics (and anything reported
// after the first), or a one-line message without the CLI's prefix.
absl::StatusOr<CompiledModel> CompileOnnxModel(std::string_view onnx_bytes,
                                               const CompileOptions &options);

// Applies hafnia-compile's --array=RxC (`array_geometry`, when not empty)
// and --arrays=N (`arrays`, when set) to `chip`; a one-line error names the
// flag.
absl::Status ApplyChipOverrides(ChipConfig &chip,
                                std::string_view array_geometry,
                                std::optional<uint32_t> arrays);

} // namespace hafnia

#endif // HAFNIA_DRIVER_COMPILE_H
