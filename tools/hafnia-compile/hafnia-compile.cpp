//===- hafnia-compile.cpp - Compile ONNX models for the 2T2R RRAM chip ----===//
//
// The user-facing compiler driver. It stays thin: import, run the pipeline,
// emit what --emit asks for, print the summary.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Import/OnnxImporter.h"
#include "hafnia/Pipelines/Pipelines.h"
#include "hafnia/Target/LayerSummary.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {

enum class EmitKind { BNN };

cl::opt<std::string> inputFilename(cl::Positional, cl::desc("<model.onnx>"),
                                   cl::Required);
cl::opt<std::string> outputFilename("o",
                                    cl::desc("Output file ('-' for stdout)"),
                                    cl::value_desc("file"), cl::init("-"));
cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to emit"), cl::init(EmitKind::BNN),
    cl::values(clEnumValN(EmitKind::BNN, "bnn",
                          "the network in the bnn dialect, binarized")));
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
cl::opt<int64_t>
    batchSize("batch", cl::desc("Value bound to a symbolic batch dimension"),
              cl::init(1));
cl::opt<bool> fullWeights(
    "full-weights",
    cl::desc("Print every weight in the IR instead of eliding large tensors"),
    cl::init(false));

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  cl::ParseCommandLineOptions(
      argc, argv, "Hafnia: compile an ONNX model for the 2T2R RRAM BNN chip\n");

  mlir::MLIRContext context;
  // Diagnostics name the ONNX node; a dump of the op would not help users.
  context.printOpOnDiagnostic(false);
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  std::string errorMessage;
  std::unique_ptr<MemoryBuffer> input =
      mlir::openInputFile(inputFilename, &errorMessage);
  if (!input) {
    errs() << "hafnia-compile: error: " << errorMessage << "\n";
    return 1;
  }
  hafnia::OnnxImportOptions importOptions;
  importOptions.batchSize = batchSize;
  mlir::OwningOpRef<mlir::ModuleOp> module = hafnia::importOnnxModel(
      input->getBuffer(), inputFilename, &context, importOptions);
  if (!module)
    return 1;

  mlir::PassManager pm(&context);
  if (failed(mlir::applyPassManagerCLOptions(pm)))
    return 1;
  hafnia::buildBinarizationPipeline(
      pm, {binarizeMode.getValue(), binarizeFirstLayer.getValue()});
  if (failed(pm.run(*module)))
    return 1;

  std::vector<hafnia::LayerInfo> layers = hafnia::summarizeLayers(*module);
  mlir::OpPrintingFlags flags;
  if (!fullWeights)
    flags.elideLargeElementsAttrs(16);
  bool toStdout = outputFilename == "-";
  // Written through a temporary file and renamed: no half-written output.
  if (Error error = writeToOutput(outputFilename, [&](raw_ostream &os) {
        module->print(os, flags);
        // On stdout the summary follows as comments, so the stream stays
        // valid MLIR.
        if (toStdout)
          hafnia::printLayerSummary(layers, os, "// ");
        return Error::success();
      })) {
    errs() << "hafnia-compile: error: cannot write '" << outputFilename
           << "': " << toString(std::move(error)) << "\n";
    return 1;
  }
  if (!toStdout)
    hafnia::printLayerSummary(layers, outs());
  return 0;
}
