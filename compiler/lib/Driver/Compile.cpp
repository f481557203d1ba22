//===- Compile.cpp - Compile an ONNX model to a program -------------------===//

#include "hafnia/Driver/Compile.h"
#include "hafnia/Driver/CompileModule.h"

#include "hafnia/Calibration/Calibration.h"
#include "hafnia/Dialect/RRAM/IR/RRAMDialect.h"
#include "hafnia/Import/OnnxImporter.h"
#include "hafnia/Pipelines/Pipelines.h"
#include "hafnia/Target/LayerSummary.h"
#include "hafnia/Target/MappingReport.h"
#include "hafnia/Target/ProgramEmitter.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Program.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace hafnia {

namespace {

/// The text buffer of a Handler, constructed before the handler that
/// writes to it.
struct DiagnosticText {
  llvm::SourceMgr sourceMgr;
  std::string text;
  llvm::raw_string_ostream textStream{text};
};

/// mlir::applyPassManagerCLOptions where the program registered them
/// (hafnia-compile: --mlir-print-ir-after-all, ...); it fails where not (a
/// library caller, the Python module).
mlir::LogicalResult applyCommandLineOptions(mlir::PassManager &pm) {
  if (!llvm::cl::getRegisteredOptions().count("mlir-print-ir-after-all"))
    return mlir::success();
  return mlir::applyPassManagerCLOptions(pm);
}

} // namespace

/// mlir::SourceMgrDiagnosticHandler writing each diagnostic into a string,
/// then passing it on: the format of hafnia-compile's messages, captured.
class DiagnosticCapture::Handler : private DiagnosticText,
                                   public mlir::SourceMgrDiagnosticHandler {
public:
  Handler(DiagnosticCapture &capture)
      : SourceMgrDiagnosticHandler(sourceMgr, &capture.context, textStream) {
    setHandler([this, &capture](mlir::Diagnostic &diagnostic) {
      text.clear();
      emitDiagnostic(diagnostic);
      std::string_view formatted = text;
      if (!formatted.empty() && formatted.back() == '\n')
        formatted.remove_suffix(1);
      bool error = diagnostic.getSeverity() == mlir::DiagnosticSeverity::Error;
      // From the first error on, everything belongs to the error message.
      if (error || !capture.errors.empty())
        capture.errors.append(capture.errors.empty() ? "" : "\n")
            .append(formatted);
      else
        capture.warnings.emplace_back(formatted);
      if (capture.callback)
        capture.callback(formatted, error);
      return mlir::success();
    });
  }
};

DiagnosticCapture::DiagnosticCapture(mlir::MLIRContext &context,
                                     Callback callback)
    : context(context), callback(std::move(callback)),
      handler(std::make_unique<Handler>(*this)) {}

DiagnosticCapture::~DiagnosticCapture() = default;

absl::Status DiagnosticCapture::getError(std::string_view fallback) const {
  return absl::InvalidArgumentError(errors.empty() ? std::string(fallback)
                                                   : errors);
}

absl::StatusOr<CompiledModule>
compileOnnxModule(llvm::StringRef onnxBytes, const CompileOptions &options,
                  CompileStage stage, DiagnosticCapture &diagnostics) {
  std::optional<bnn::BinarizeMode> mode =
      bnn::symbolizeBinarizeMode(options.binarize);
  if (!mode)
    return absl::InvalidArgumentError(
        "binarize must be none, classifier or all, got '" + options.binarize +
        "'");
  if (absl::Status status = ValidateChipConfig(options.chip); !status.ok())
    return status;
  OnnxImportOptions importOptions;
  importOptions.batchSize = options.batch;
  for (const std::string &spec : options.input_shapes)
    if (std::optional<std::string> message = addInputShape(spec, importOptions))
      return absl::InvalidArgumentError(*message);
  for (const std::string &spec : options.constant_inputs)
    if (std::optional<std::string> message =
            addConstantInput(spec, importOptions))
      return absl::InvalidArgumentError(*message);

  mlir::MLIRContext &context = diagnostics.getContext();
  // Diagnostics name the ONNX node; a dump of the op would not help users.
  context.printOpOnDiagnostic(false);
  context.loadDialect<rram::RRAMDialect>();
  auto failure = [&] { return diagnostics.getError("compilation failed"); };
  const std::string &source =
      options.model_path.empty() ? options.model_name : options.model_path;
  CompiledModule compiled;
  compiled.module = importOnnxModel(onnxBytes, source, &context, importOptions);
  if (!compiled.module)
    return failure();
  mlir::ModuleOp module = *compiled.module;
  setChipTarget(module, options.chip);

  // The layers as imported, before binarization folds any away: the report
  // counts parameters the way the model was trained.
  mlir::PassManager detection(&context);
  if (mlir::failed(applyCommandLineOptions(detection)))
    return failure();
  buildClassifierDetectionPipeline(detection);
  if (mlir::failed(detection.run(module)))
    return failure();
  std::vector<LayerInfo> imported = summarizeLayers(module);

  BinarizationOptions binarization{*mode, options.binarize_first_layer};
  std::optional<Tensor> samples = options.calibration;
  if (!samples && !options.calibration_file.empty()) {
    absl::StatusOr<Tensor> read = ReadTensor(options.calibration_file);
    if (!read.ok())
      return absl::InvalidArgumentError(read.status().message());
    samples = *std::move(read);
  }
  if (samples &&
      mlir::failed(calibrateBinarization(module, options.chip, *samples,
                                         options.calibration_name.empty()
                                             ? options.calibration_file
                                             : options.calibration_name,
                                         binarization)))
    return failure();

  mlir::PassManager pm(&context);
  if (mlir::failed(applyCommandLineOptions(pm)))
    return failure();
  buildBinarizationPipeline(pm, binarization);
  // The chip's per-array quality, for error-aware placement (the options
  // refer to it).
  std::vector<double> multipliers(options.chip.array_ber_multiplier().begin(),
                                  options.chip.array_ber_multiplier().end());
  std::vector<int64_t> badArrays(options.chip.bad_arrays().begin(),
                                 options.chip.bad_arrays().end());
  if (stage == CompileStage::Mapped) {
    rram::AllocateArraysPassOptions allocation;
    allocation.placement = options.array_placement;
    allocation.sensitivityReport = options.sensitivity_report;
    allocation.arrayBerMultipliers = multipliers;
    allocation.badArrays = badArrays;
    buildMappingPipeline(pm, allocation);
  }
  if (mlir::failed(pm.run(module)))
    return failure();
  if (stage == CompileStage::Mapped)
    compiled.report = buildMappingReport(imported, module, options.chip,
                                         options.model_name, options.binarize);
  return compiled;
}

absl::StatusOr<Program> emitCompiledProgram(const CompiledModule &compiled,
                                            const CompileOptions &options,
                                            DiagnosticCapture &diagnostics) {
  mlir::FailureOr<Program> program = emitProgram(
      compiled.module.get(), options.chip, compiled.report, options.model_name);
  if (mlir::failed(program))
    return diagnostics.getError("the program could not be emitted");
  // Never write what the runtime would refuse: the bytes as the runtime will
  // read them (strings must be UTF-8, every index in range). A refusal here
  // is a bug of the compiler, not of the model.
  absl::StatusOr<Program> read =
      ParseProgram(SerializeProgram(*program), options.model_name);
  if (!read.ok())
    return absl::InternalError(
        "internal error: the compiled program fails the runtime's checks (" +
        std::string(read.status().message()) +
        "); please report this as a bug of hafnia-compile, with the model");
  return *std::move(program);
}

absl::StatusOr<CompiledModel> CompileOnnxModel(std::string_view onnx_bytes,
                                               const CompileOptions &options) {
  mlir::MLIRContext context;
  DiagnosticCapture diagnostics(context, options.on_diagnostic);
  absl::StatusOr<CompiledModule> compiled =
      compileOnnxModule(llvm::StringRef(onnx_bytes.data(), onnx_bytes.size()),
                        options, CompileStage::Mapped, diagnostics);
  if (!compiled.ok())
    return compiled.status();
  absl::StatusOr<Program> program =
      emitCompiledProgram(*compiled, options, diagnostics);
  if (!program.ok())
    return program.status();
  CompiledModel model;
  model.program = *std::move(program);
  model.report = std::move(compiled->report);
  model.warnings = diagnostics.getWarnings();
  return model;
}

absl::Status ApplyChipOverrides(ChipConfig &chip,
                                std::string_view array_geometry,
                                std::optional<uint32_t> arrays) {
  if (!array_geometry.empty()) {
    llvm::StringRef geometry(array_geometry.data(), array_geometry.size());
    auto [rows, columns] = geometry.split('x');
    unsigned r = 0, c = 0;
    if (rows.getAsInteger(10, r) || columns.getAsInteger(10, c) || !r || !c)
      return absl::InvalidArgumentError(
          "--array must be ROWSxCOLUMNS, e.g. 32x32, got '" +
          std::string(array_geometry) + "'");
    chip.mutable_array()->set_rows(r);
    chip.mutable_array()->set_columns(c);
  }
  if (arrays) {
    if (!*arrays)
      return absl::InvalidArgumentError("--arrays must be positive");
    chip.set_arrays(*arrays);
  }
  return absl::OkStatus();
}

} // namespace hafnia
