//===- CompileModule.h - The steps of CompileOnnxModel ----------*- C++ -*-===//
//
// The MLIR-typed steps that CompileOnnxModel (hafnia/Driver/Compile.h) is
// made of, for callers that want the module: hafnia-compile's --emit=bnn and
// --emit=rram.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_DRIVER_COMPILEMODULE_H
#define HAFNIA_DRIVER_COMPILEMODULE_H

#include "hafnia/Driver/Compile.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <memory>

namespace hafnia {

/// Takes over the diagnostics of `context` while it lives: formats each as
/// hafnia-compile prints it (mlir::SourceMgrDiagnosticHandler's format),
/// hands it to `callback` and keeps it, warnings apart from errors.
class DiagnosticCapture {
public:
  using Callback = std::function<void(std::string_view text, bool error)>;
  explicit DiagnosticCapture(mlir::MLIRContext &context,
                             Callback callback = nullptr);
  ~DiagnosticCapture();

  mlir::MLIRContext &getContext() { return context; }
  /// The warnings and remarks reported before the first error.
  const std::vector<std::string> &getWarnings() const { return warnings; }
  /// InvalidArgument with the error diagnostics reported so far (and what
  /// followed the first), or `fallback` when there were none.
  absl::Status getError(std::string_view fallback) const;

private:
  class Handler;
  mlir::MLIRContext &context;
  Callback callback;
  std::vector<std::string> warnings;
  std::string errors;
  std::unique_ptr<Handler> handler;
};

/// How far compileOnnxModule goes.
enum class CompileStage {
  Binarized, // bnn-binarize and bnn-fold-thresholds (--emit=bnn)
  Mapped,    // onto the arrays, within the budget (--emit=rram)
};

struct CompiledModule {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  /// The memory-mapping report, at CompileStage::Mapped.
  MappingReport report;
};

/// Imports `onnxBytes` into a module of `diagnostics`' context and compiles
/// it to `stage`; fails as CompileOnnxModel does.
absl::StatusOr<CompiledModule>
compileOnnxModule(llvm::StringRef onnxBytes, const CompileOptions &options,
                  CompileStage stage, DiagnosticCapture &diagnostics);

/// The program of a module compiled to CompileStage::Mapped.
absl::StatusOr<Program> emitCompiledProgram(const CompiledModule &compiled,
                                            const CompileOptions &options,
                                            DiagnosticCapture &diagnostics);

} // namespace hafnia

#endif // HAFNIA_DRIVER_COMPILEMODULE_H
