//===- LayerSummary.h - Per-layer table of a bnn module ---------*- C++ -*-===//

#ifndef HAFNIA_TARGET_LAYERSUMMARY_H
#define HAFNIA_TARGET_LAYERSUMMARY_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace hafnia {

/// One layer of a network: the ops that came from one ONNX node (binarizing a
/// Gemm gives binarize, xnor_dense and threshold, all located at the node).
struct LayerInfo {
  std::string name;  // the ONNX node
  std::string ops;   // its bnn ops, e.g. "binarize+xnor_dense+threshold"
  std::string shape; // of its last result
  bool binary = false;
  bool classifier = false; // bnn-detect-classifier marked it
  int64_t params = 0;      // constants and per-channel attributes it stores
  int64_t bits = 0; // their storage: 1 per binary weight, 32 per real value
};

/// The layers of the module's `@main` function in execution order.
std::vector<LayerInfo> summarizeLayers(mlir::ModuleOp module);

/// Prints `layers` as an aligned table with a total line; every line starts
/// with `linePrefix` (e.g. "// " to keep MLIR output parseable).
void printLayerSummary(const std::vector<LayerInfo> &layers,
                       llvm::raw_ostream &os, llvm::StringRef linePrefix = "");

} // namespace hafnia

#endif // HAFNIA_TARGET_LAYERSUMMARY_H
