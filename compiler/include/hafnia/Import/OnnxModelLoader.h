//===- OnnxModelLoader.h - Load, check and normalize ONNX models -*- C++
//-*-===//
//
// The one place that calls ONNX's checker, version converter and shape
// inference. Those throw exceptions, so this library alone is built with
// -fexceptions and turns every exception into an error message; the MLIR
// side never sees one.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_IMPORT_ONNXMODELLOADER_H
#define HAFNIA_IMPORT_ONNXMODELLOADER_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "onnx/onnx_pb.h"

namespace hafnia {

/// Every model is brought to this opset of the default ONNX domain, so that
/// the importer handles one version of each operator.
constexpr int64_t kImportOpsetVersion = 17;

struct OnnxLoadOptions {
  /// Value bound to a symbolic first (batch) dimension of the graph inputs.
  int64_t batchSize = 1;
  /// Shapes for graph inputs by name: they fix symbolic dimensions (the
  /// batch too); static dimensions must agree.
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputShapes;
  /// Graph inputs bound to constants (`--constant-input`): the name and a
  /// serialized TensorProto. Each becomes an initializer and stops being an
  /// input, so that operands such as Resize's scales are known at import.
  std::vector<std::pair<std::string, std::string>> constantInputs;
  /// Says whether the importer handles an operator of the default domain;
  /// every node it rejects is listed in one error before any conversion.
  std::function<bool(const std::string &opType)> isSupportedOp;
};

/// Parses `bytes` (binary ModelProto, or ONNX text format when it starts with
/// '<'), checks the model, lists unsupported operators, binds the batch
/// dimension, converts to `kImportOpsetVersion` and infers every shape.
/// Returns an error message (one line, naming what is at fault) on failure.
std::optional<std::string> loadOnnxModel(std::string_view bytes,
                                         const OnnxLoadOptions &options,
                                         onnx::ModelProto &model);

/// Runs ONNX's checker and strict shape inference (every node's types and
/// shapes, and the declared graph outputs against the inferred ones) on a
/// model made by the compiler, e.g. by --emit=onnx. Returns a one-line error
/// when ONNX rejects it.
std::optional<std::string> checkOnnxModel(const onnx::ModelProto &model);

/// How diagnostics name a node: by its name, else by its first output.
std::string describeOnnxNode(const onnx::NodeProto &node);

/// Name of an ONNX tensor element type (e.g. "FLOAT", "INT64").
std::string onnxDataTypeName(int32_t dataType);

} // namespace hafnia

#endif // HAFNIA_IMPORT_ONNXMODELLOADER_H
