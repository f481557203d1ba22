//===- hafnia-compile.cpp - Compile ONNX models for the 2T2R RRAM chip ----===//
//
// The user-facing compiler driver. It stays thin: flags, files and printing
// around the compile library (hafnia/Driver/Compile.h; CompileModule.h for
// the IR of --emit=bnn and --emit=rram).
//
//===----------------------------------------------------------------------===//

#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "hafnia/Driver/Compile.h"
#include "hafnia/Driver/CompileModule.h"
#include "hafnia/Import/OnnxModelLoader.h"
#include "hafnia/Target/LayerSummary.h"
#include "hafnia/Target/OnnxExport.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/FileIO.h"
#include "hafnia/runtime/MappingReport.h"
#include "hafnia/runtime/Program.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {

enum class EmitKind { BNN, RRAM, ASM, Program, Onnx };

// --help lists these; MLIR's own options (--mlir-print-ir-after-all, ...)
// still work but stay out of it, as in CIRCT's firtool.
cl::OptionCategory hafniaCategory("Hafnia options");

cl::opt<std::string> inputFilename(cl::Positional, cl::desc("<model.onnx>"),
                                   cl::Required, cl::cat(hafniaCategory));
cl::opt<std::string> outputFilename("o",
                                    cl::desc("Output file ('-' for stdout)"),
                                    cl::value_desc("file"), cl::init("-"),
                                    cl::cat(hafniaCategory));
cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to emit"), cl::init(EmitKind::Program),
    cl::values(
        clEnumValN(EmitKind::BNN, "bnn",
                   "the binarized network in the bnn dialect, before mapping"),
        clEnumValN(EmitKind::RRAM, "rram",
                   "the network mapped onto the chip's arrays (MLIR)"),
        clEnumValN(EmitKind::ASM, "asm",
                   "the program's instruction stream as text"),
        clEnumValN(EmitKind::Program, "program",
                   "the program the chip runs (.hfp, needs -o)"),
        clEnumValN(EmitKind::Onnx, "onnx",
                   "the program as a standard ONNX model (opset 17) that "
                   "computes what the error-free chip computes (needs -o)")),
    cl::cat(hafniaCategory));
// The values, help and default of bnn-binarize's `mode` option.
cl::opt<hafnia::bnn::BinarizeMode>
    binarizeMode("binarize", cl::desc("Which layers to binarize"),
                 cl::init(hafnia::bnn::kDefaultBinarizeMode),
                 hafnia::bnn::getBinarizeModeValues(), cl::cat(hafniaCategory));
cl::opt<bool> binarizeFirstLayer(
    "binarize-first-layer",
    cl::desc("With --binarize=all, binarize the first layer too"),
    cl::init(false), cl::cat(hafniaCategory));
cl::opt<std::string> calibrationFilename(
    "calibration",
    cl::desc("Sample inputs (.npy or .pb, a few hundred along the first "
             "axis) from which to choose each binarized layer's input "
             "thresholds: needed for float-trained models whose features "
             "are never negative (ReLU)"),
    cl::value_desc("x.npy"), cl::cat(hafniaCategory));
cl::opt<std::string>
    chipName("chip",
             cl::desc("Chip configuration: a preset of configs/ "
                      "(paper-testchip, default, large) or a .textproto file"),
             cl::value_desc("name|file"), cl::init("default"),
             cl::cat(hafniaCategory));
cl::opt<std::string>
    arrayGeometry("array",
                  cl::desc("Override the array geometry, e.g. 64x16 (rows x "
                           "columns)"),
                  cl::value_desc("RxC"), cl::cat(hafniaCategory));
cl::opt<unsigned> arrayCount("arrays",
                             cl::desc("Override the number of arrays"),
                             cl::value_desc("N"), cl::init(0),
                             cl::cat(hafniaCategory));
cl::opt<std::string> arrayPlacement(
    "array-placement",
    cl::desc("On a chip whose arrays differ in quality (array_ber_multiplier, "
             "bad_arrays): error-aware puts the most sensitive layers on the "
             "best arrays and leaves bad ones unused; in-order takes arrays "
             "0, 1, ... whatever their quality"),
    cl::value_desc("error-aware|in-order"), cl::init("error-aware"),
    cl::cat(hafniaCategory));
cl::opt<std::string> sensitivityReport(
    "sensitivity-report",
    cl::desc("The layers' sensitivity to bit errors, for error-aware "
             "placement: the JSON of hafnia-sim --sensitivity --report "
             "(default: fewest inputs per neuron first)"),
    cl::value_desc("file.json"), cl::cat(hafniaCategory));
cl::opt<std::string>
    reportFilename("report",
                   cl::desc("Write the memory-mapping report as JSON"),
                   cl::value_desc("file.json"), cl::cat(hafniaCategory));
cl::opt<std::string>
    reportSvgFilename("report-svg",
                      cl::desc("Draw the arrays, coloured by layer, as SVG"),
                      cl::value_desc("file.svg"), cl::cat(hafniaCategory));
cl::opt<int64_t>
    batchSize("batch", cl::desc("Value bound to a symbolic batch dimension"),
              cl::init(1), cl::cat(hafniaCategory));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("NAME:1x3x48x192 fixes the symbolic dimensions of an input "
             "(repeatable)"),
    cl::value_desc("NAME:DIMS"), cl::cat(hafniaCategory));
cl::list<std::string> constantInputs(
    "constant-input",
    cl::desc("NAME:FILE.pb binds an input to the ONNX TensorProto in the "
             "file, as an initializer (repeatable)"),
    cl::value_desc("NAME:FILE.pb"), cl::cat(hafniaCategory));
cl::opt<bool> fullWeights(
    "full-weights",
    cl::desc("Print every weight in the IR instead of eliding large tensors"),
    cl::init(false), cl::cat(hafniaCategory));

int fail(const Twine &message) {
  errs() << "hafnia-compile: error: " << message << "\n";
  return 1;
}

/// The run's output files: all prepared first and renamed last, so that an
/// interrupted or failed run leaves the old set or the new one, never a
/// half-written file.
hafnia::OutputFiles outputFiles;

bool writeFile(const std::string &path, absl::string_view contents) {
  if (absl::Status status = outputFiles.Prepare(path, contents); !status.ok()) {
    fail(std::string(status.message()));
    return false;
  }
  return true;
}

/// Prepares the report files that --report and --report-svg ask for.
bool writeReports(const hafnia::MappingReport &report) {
  if (!reportFilename.empty()) {
    absl::StatusOr<std::string> json = hafnia::ReportToJson(report);
    if (!json.ok()) {
      fail(std::string(json.status().message()));
      return false;
    }
    if (!writeFile(reportFilename, *json))
      return false;
  }
  return reportSvgFilename.empty() ||
         writeFile(reportSvgFilename, hafnia::MappingReportToSvg(report));
}

/// Renames every prepared output into place.
bool commitFiles() {
  if (absl::Status status = outputFiles.Commit(); !status.ok()) {
    fail(std::string(status.message()));
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  cl::HideUnrelatedOptions(hafniaCategory);
  cl::ParseCommandLineOptions(
      argc, argv, "Hafnia: compile an ONNX model for the 2T2R RRAM BNN chip\n");
  if (emitKind == EmitKind::BNN &&
      (!reportFilename.empty() || !reportSvgFilename.empty()))
    return fail("--report and --report-svg need the mapping: use --emit=rram "
                "or --emit=program");
  if (emitKind == EmitKind::Program && outputFilename == "-")
    return fail("a program is binary: give -o FILE.hfp (or --emit=asm to "
                "read it)");
  if (emitKind == EmitKind::Onnx && outputFilename == "-")
    return fail("an ONNX model is binary: give -o FILE.onnx");

  hafnia::CompileOptions options;
  absl::StatusOr<hafnia::ChipConfig> chip =
      hafnia::LoadChipConfig(chipName.getValue());
  if (!chip.ok())
    return fail(std::string(chip.status().message()));
  if (absl::Status status = hafnia::ApplyChipOverrides(
          *chip, arrayGeometry.getValue(),
          arrayCount.getNumOccurrences()
              ? std::optional<uint32_t>(arrayCount.getValue())
              : std::nullopt);
      !status.ok())
    return fail(std::string(status.message()));
  options.chip = *std::move(chip);
  if (arrayPlacement != "error-aware" && arrayPlacement != "in-order")
    return fail("--array-placement must be error-aware or in-order, got '" +
                arrayPlacement + "'");
  options.array_placement = arrayPlacement;
  options.sensitivity_report = sensitivityReport;

  // Regular files of at most 2 GiB (protobuf's limit) only: /dev/zero or a
  // directory is an error, not a read until memory runs out.
  absl::StatusOr<std::string> input = hafnia::ReadFile(inputFilename);
  if (!input.ok())
    return fail(std::string(input.status().message()));
  options.calibration_file = calibrationFilename;
  options.binarize = hafnia::bnn::stringifyBinarizeMode(binarizeMode).str();
  options.binarize_first_layer = binarizeFirstLayer;
  options.batch = batchSize;
  options.input_shapes = inputShapes;
  options.constant_inputs = constantInputs;
  options.model_name = sys::path::filename(inputFilename).str();
  options.model_path = inputFilename;
  // Diagnostics are printed as they come; an error that is not one (a bad
  // --input-shape, ...) is printed when the compile returns it.
  bool reported = false;
  options.on_diagnostic = [&](std::string_view text, bool error) {
    errs() << text << "\n";
    reported |= error;
  };
  auto failed = [&](const absl::Status &status) {
    return reported ? 1 : fail(std::string(status.message()));
  };

  std::string summary, text;
  if (emitKind == EmitKind::BNN || emitKind == EmitKind::RRAM) {
    mlir::MLIRContext context;
    hafnia::DiagnosticCapture diagnostics(context, options.on_diagnostic);
    absl::StatusOr<hafnia::CompiledModule> compiled = hafnia::compileOnnxModule(
        *input, options,
        emitKind == EmitKind::BNN ? hafnia::CompileStage::Binarized
                                  : hafnia::CompileStage::Mapped,
        diagnostics);
    if (!compiled.ok())
      return failed(compiled.status());
    if (emitKind == EmitKind::BNN) {
      raw_string_ostream os(summary);
      hafnia::printLayerSummary(hafnia::summarizeLayers(*compiled->module), os);
    } else {
      summary = hafnia::FormatMappingReport(compiled->report);
      if (!writeReports(compiled->report))
        return 1;
    }
    mlir::OpPrintingFlags flags;
    if (!fullWeights)
      flags.elideLargeElementsAttrs(16);
    raw_string_ostream os(text);
    compiled->module->print(os, flags);
  } else {
    absl::StatusOr<hafnia::CompiledModel> compiled =
        hafnia::CompileOnnxModel(*input, options);
    if (!compiled.ok())
      return failed(compiled.status());
    summary = hafnia::FormatMappingReport(compiled->report);
    if (!writeReports(compiled->report))
      return 1;
    if (emitKind == EmitKind::ASM) {
      text = hafnia::Disassemble(compiled->program);
    } else if (emitKind == EmitKind::Onnx) {
      // Checked by ONNX before anything is written.
      onnx::ModelProto onnxModel;
      if (std::optional<std::string> error =
              hafnia::exportProgramToOnnx(compiled->program, onnxModel))
        return fail("cannot export the program to ONNX: " + *error);
      if (std::optional<std::string> error = hafnia::checkOnnxModel(onnxModel))
        return fail(*error);
      std::string bytes;
      if (!onnxModel.SerializeToString(&bytes))
        return fail("cannot serialize the ONNX model (larger than protobuf's "
                    "2 GiB limit?)");
      if (!writeFile(outputFilename, bytes))
        return 1;
    } else if (!writeFile(outputFilename,
                          hafnia::SerializeProgram(compiled->program))) {
      return 1;
    }
  }
  if (outputFilename == "-") {
    if (!commitFiles())
      return 1;
    // On stdout the summary follows as comments, after the IR or assembly.
    outs() << text;
    SmallVector<StringRef> lines;
    StringRef(summary).rtrim('\n').split(lines, '\n');
    for (StringRef line : lines)
      outs() << (emitKind == EmitKind::ASM ? "; " : "// ") << line << "\n";
    return 0;
  }
  if (emitKind != EmitKind::Program && emitKind != EmitKind::Onnx &&
      !writeFile(outputFilename, text))
    return 1;
  if (!commitFiles())
    return 1;
  outs() << summary;
  return 0;
}
