//===- OnnxImporter.h - ONNX models to the bnn dialect ----------*- C++ -*-===//

#ifndef HAFNIA_IMPORT_ONNXIMPORTER_H
#define HAFNIA_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hafnia {

struct OnnxImportOptions {
  /// Value bound to a symbolic batch (first) dimension of the inputs.
  int64_t batchSize = 1;
  /// Shapes of graph inputs given on the command line (`--input-shape`):
  /// they fix symbolic dimensions; static ones must agree.
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputShapes;
  /// Graph inputs bound to constants (`--constant-input`): the input's name
  /// and a serialized ONNX TensorProto (a `.pb` file of the ONNX test
  /// suites). The input becomes an initializer of that value.
  std::vector<std::pair<std::string, std::string>> constantInputs;
};

/// Parses `NAME:1x3x48x192` (an `--input-shape` value) into `options`;
/// returns an error message naming the value on failure.
std::optional<std::string> addInputShape(llvm::StringRef spec,
                                         OnnxImportOptions &options);

/// Parses `NAME:FILE.pb` (a `--constant-input` value) and reads the file
/// into `options`; returns an error message naming the value on failure.
std::optional<std::string> addConstantInput(llvm::StringRef spec,
                                            OnnxImportOptions &options);

/// Imports an ONNX model (binary protobuf or ONNX text format) held in
/// `bytes` into a module with one `func.func @main` of `bnn` ops. Reports
/// failures as diagnostics located at `fileName` and returns null.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxModel(llvm::StringRef bytes, llvm::StringRef fileName,
                mlir::MLIRContext *context, const OnnxImportOptions &options);

/// The ONNX operators the importer handles, sorted.
llvm::ArrayRef<llvm::StringRef> getSupportedOnnxOps();

/// Registers `--import-onnx` with mlir-translate.
void registerOnnxImportTranslation();

} // namespace hafnia

#endif // HAFNIA_IMPORT_ONNXIMPORTER_H
