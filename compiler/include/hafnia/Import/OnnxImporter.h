//===- OnnxImporter.h - ONNX models to the bnn dialect ----------*- C++ -*-===//

#ifndef HAFNIA_IMPORT_ONNXIMPORTER_H
#define HAFNIA_IMPORT_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace hafnia {

struct OnnxImportOptions {
  /// Value bound to a symbolic batch (first) dimension of the inputs.
  int64_t batchSize = 1;
};

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
