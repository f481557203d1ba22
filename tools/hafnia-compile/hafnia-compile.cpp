//===- hafnia-compile.cpp - Compile ONNX models for the 2T2R RRAM chip ----===//
//
// The user-facing compiler driver. It stays thin: load the chip, import, run
// the pipelines, emit what --emit asks for, print and write the reports.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Calibration/Calibration.h"
#include "hafnia/Dialect/RRAM/IR/RRAMDialect.h"
#include "hafnia/Import/OnnxImporter.h"
#include "hafnia/Import/OnnxModelLoader.h"
#include "hafnia/Pipelines/Pipelines.h"
#include "hafnia/Target/LayerSummary.h"
#include "hafnia/Target/MappingReport.h"
#include "hafnia/Target/OnnxExport.h"
#include "hafnia/Target/ProgramEmitter.h"
#include "hafnia/runtime/ChipConfig.h"
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
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {

enum class EmitKind { BNN, RRAM, ASM, Program, Onnx };

cl::opt<std::string> inputFilename(cl::Positional, cl::desc("<model.onnx>"),
                                   cl::Required);
cl::opt<std::string> outputFilename("o",
                                    cl::desc("Output file ('-' for stdout)"),
                                    cl::value_desc("file"), cl::init("-"));
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
                   "computes what the error-free chip computes (needs -o)")));
cl::opt<hafnia::bnn::BinarizeMode> binarizeMode(
    "binarize", cl::desc("Which layers to binarize"),
    cl::init(hafnia::bnn::BinarizeMode::Classifier),
    cl::values(
        clEnumValN(hafnia::bnn::BinarizeMode::None, "none",
                   "none: a real-weight network on the digital core"),
        clEnumValN(hafnia::bnn::BinarizeMode::Classifier, "classifier",
                   "the classifier's dense layers (the paper's strategy)"),
        clEnumValN(hafnia::bnn::BinarizeMode::All, "all",
                   "every convolution and dense layer but the first")));
cl::opt<bool> binarizeFirstLayer(
    "binarize-first-layer",
    cl::desc("With --binarize=all, binarize the first layer too"),
    cl::init(false));
cl::opt<std::string> calibrationFilename(
    "calibration",
    cl::desc("Sample inputs (.npy or .pb, a few hundred along the first "
             "axis) from which to choose each binarized layer's input "
             "thresholds: needed for float-trained models whose features "
             "are never negative (ReLU)"),
    cl::value_desc("x.npy"));
cl::opt<std::string>
    chipName("chip",
             cl::desc("Chip configuration: a preset of configs/ "
                      "(paper-testchip, default, large) or a .textproto file"),
             cl::value_desc("name|file"), cl::init("default"));
cl::opt<std::string>
    arrayGeometry("array",
                  cl::desc("Override the array geometry, e.g. 64x16 (rows x "
                           "columns)"),
                  cl::value_desc("RxC"));
cl::opt<unsigned> arrayCount("arrays",
                             cl::desc("Override the number of arrays"),
                             cl::value_desc("N"), cl::init(0));
cl::opt<std::string>
    reportFilename("report",
                   cl::desc("Write the memory-mapping report as JSON"),
                   cl::value_desc("file.json"));
cl::opt<std::string>
    reportSvgFilename("report-svg",
                      cl::desc("Draw the arrays, coloured by layer, as SVG"),
                      cl::value_desc("file.svg"));
cl::opt<int64_t>
    batchSize("batch", cl::desc("Value bound to a symbolic batch dimension"),
              cl::init(1));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("NAME:1x3x48x192 fixes the symbolic dimensions of an input "
             "(repeatable)"));
cl::list<std::string> constantInputs(
    "constant-input",
    cl::desc("NAME:FILE.pb binds an input to the ONNX TensorProto in the "
             "file, as an initializer (repeatable)"));
cl::opt<bool> fullWeights(
    "full-weights",
    cl::desc("Print every weight in the IR instead of eliding large tensors"),
    cl::init(false));

int fail(const Twine &message) {
  errs() << "hafnia-compile: error: " << message << "\n";
  return 1;
}

/// The chip of --chip, with --array and --arrays applied.
FailureOr<hafnia::ChipConfig> loadChip() {
  absl::StatusOr<hafnia::ChipConfig> chip =
      hafnia::LoadChipConfig(chipName.getValue());
  if (!chip.ok()) {
    fail(std::string(chip.status().message()));
    return failure();
  }
  if (!arrayGeometry.empty()) {
    auto [rows, columns] = StringRef(arrayGeometry).split('x');
    unsigned r = 0, c = 0;
    if (rows.getAsInteger(10, r) || columns.getAsInteger(10, c) || !r || !c) {
      fail("--array must be ROWSxCOLUMNS, e.g. 32x32, got '" + arrayGeometry +
           "'");
      return failure();
    }
    chip->mutable_array()->set_rows(r);
    chip->mutable_array()->set_columns(c);
  }
  if (arrayCount.getNumOccurrences()) {
    if (!arrayCount) {
      fail("--arrays must be positive");
      return failure();
    }
    chip->set_arrays(arrayCount);
  }
  return *chip;
}

/// Writes `contents` through a temporary file, so no half-written file is
/// ever left behind.
bool writeFile(StringRef path, StringRef contents) {
  if (Error error = writeToOutput(path, [&](raw_ostream &os) {
        os << contents;
        return Error::success();
      })) {
    fail("cannot write '" + path + "': " + toString(std::move(error)));
    return false;
  }
  return true;
}

StringRef modeName(hafnia::bnn::BinarizeMode mode) {
  switch (mode) {
  case hafnia::bnn::BinarizeMode::None:
    return "none";
  case hafnia::bnn::BinarizeMode::Classifier:
    return "classifier";
  case hafnia::bnn::BinarizeMode::All:
    return "all";
  }
  return "";
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
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

  FailureOr<hafnia::ChipConfig> chip = loadChip();
  if (failed(chip))
    return 1;

  mlir::MLIRContext context;
  // Diagnostics name the ONNX node; a dump of the op would not help users.
  context.printOpOnDiagnostic(false);
  context.loadDialect<hafnia::rram::RRAMDialect>();
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  std::string errorMessage;
  std::unique_ptr<MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &errorMessage);
  if (!input)
    return fail(errorMessage);
  hafnia::OnnxImportOptions importOptions;
  importOptions.batchSize = batchSize;
  for (const std::string &spec : inputShapes)
    if (std::optional<std::string> message =
            hafnia::addInputShape(spec, importOptions))
      return fail(*message);
  for (const std::string &spec : constantInputs)
    if (std::optional<std::string> message =
            hafnia::addConstantInput(spec, importOptions))
      return fail(*message);
  mlir::OwningOpRef<mlir::ModuleOp> module = hafnia::importOnnxModel(
      input->getBuffer(), inputFilename, &context, importOptions);
  if (!module)
    return 1;
  hafnia::setChipTarget(*module, *chip);

  // The layers as imported, before binarization folds any away: the report
  // counts parameters the way the model was trained.
  mlir::PassManager detection(&context);
  if (failed(mlir::applyPassManagerCLOptions(detection)))
    return 1;
  hafnia::buildClassifierDetectionPipeline(detection);
  if (failed(detection.run(*module)))
    return 1;
  std::vector<hafnia::LayerInfo> imported = hafnia::summarizeLayers(*module);

  hafnia::BinarizationOptions binarization{binarizeMode.getValue(),
                                           binarizeFirstLayer.getValue()};
  if (!calibrationFilename.empty()) {
    absl::StatusOr<hafnia::Tensor> samples =
        hafnia::ReadTensor(calibrationFilename);
    if (!samples.ok())
      return fail(std::string(samples.status().message()));
    if (failed(hafnia::calibrateBinarization(
            *module, *chip, *samples, calibrationFilename, binarization)))
      return 1;
  }

  mlir::PassManager pm(&context);
  if (failed(mlir::applyPassManagerCLOptions(pm)))
    return 1;
  hafnia::buildBinarizationPipeline(pm, binarization);
  if (emitKind != EmitKind::BNN)
    hafnia::buildMappingPipeline(pm);
  if (failed(pm.run(*module)))
    return 1;

  std::string summary;
  hafnia::MappingReport report;
  if (emitKind == EmitKind::BNN) {
    raw_string_ostream os(summary);
    hafnia::printLayerSummary(hafnia::summarizeLayers(*module), os);
  } else {
    report = hafnia::buildMappingReport(imported, *module, *chip,
                                        sys::path::filename(inputFilename),
                                        modeName(binarizeMode));
    summary = hafnia::FormatMappingReport(report);
    if (!reportFilename.empty()) {
      absl::StatusOr<std::string> json = hafnia::ReportToJson(report);
      if (!json.ok())
        return fail(std::string(json.status().message()));
      if (!writeFile(reportFilename, *json))
        return 1;
    }
    if (!reportSvgFilename.empty() &&
        !writeFile(reportSvgFilename, hafnia::MappingReportToSvg(report)))
      return 1;
  }

  std::string text;
  if (emitKind == EmitKind::BNN || emitKind == EmitKind::RRAM) {
    mlir::OpPrintingFlags flags;
    if (!fullWeights)
      flags.elideLargeElementsAttrs(16);
    raw_string_ostream os(text);
    module->print(os, flags);
  } else {
    FailureOr<hafnia::Program> program = hafnia::emitProgram(
        *module, *chip, report, sys::path::filename(inputFilename));
    if (failed(program))
      return 1;
    if (emitKind == EmitKind::ASM) {
      text = hafnia::Disassemble(*program);
    } else if (emitKind == EmitKind::Onnx) {
      // Checked by ONNX before anything is written.
      onnx::ModelProto onnxModel;
      if (std::optional<std::string> error =
              hafnia::exportProgramToOnnx(*program, onnxModel))
        return fail("cannot export the program to ONNX: " + *error);
      if (std::optional<std::string> error = hafnia::checkOnnxModel(onnxModel))
        return fail(*error);
      std::string bytes;
      if (!onnxModel.SerializeToString(&bytes))
        return fail("cannot serialize the ONNX model (larger than protobuf's "
                    "2 GiB limit?)");
      if (!writeFile(outputFilename, bytes))
        return 1;
    } else if (absl::Status status =
                   hafnia::WriteProgram(outputFilename, *program);
               !status.ok()) {
      return fail(std::string(status.message()));
    }
  }
  if (outputFilename == "-") {
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
  outs() << summary;
  return 0;
}
