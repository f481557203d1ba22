//===- LayerSummary.h - Per-layer table of a bnn module ---------*- C++ -*-===//

#ifndef HAFNIA_TARGET_LAYERSUMMARY_H
#define HAFNIA_TARGET_LAYERSUMMARY_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace hafnia {

/// One op of a network: its ONNX node name, kind, result shape and the
/// number of constant parameters (weights, biases, normalization) it reads.
struct LayerInfo {
  std::string name;
  std::string op;
  std::string shape;
  int64_t params = 0;
};

/// The layers of the module's `@main` function in execution order.
std::vector<LayerInfo> summarizeLayers(mlir::ModuleOp module);

/// Prints `layers` as an aligned table with a total line; every line starts
/// with `linePrefix` (e.g. "// " to keep MLIR output parseable).
void printLayerSummary(const std::vector<LayerInfo> &layers,
                       llvm::raw_ostream &os, llvm::StringRef linePrefix = "");

} // namespace hafnia

#endif // HAFNIA_TARGET_LAYERSUMMARY_H
