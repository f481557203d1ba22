//===- LayerSummary.cpp - Per-layer table of a bnn module -----------------===//

#include "hafnia/Target/LayerSummary.h"

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"

#include <algorithm>

using namespace mlir;

namespace hafnia {

static std::string layerName(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  return "";
}

std::vector<LayerInfo> summarizeLayers(ModuleOp module) {
  std::vector<LayerInfo> layers;
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return layers;
  for (Operation &op : main.getBody().getOps()) {
    if (isa<bnn::ConstantOp, func::ReturnOp>(op))
      continue;
    LayerInfo layer;
    layer.name = layerName(&op);
    layer.op = op.getName().stripDialect().str();
    if (op.getNumResults() == 1) {
      llvm::raw_string_ostream os(layer.shape);
      llvm::interleave(cast<ShapedType>(op.getResult(0).getType()).getShape(),
                       os, "x");
    }
    for (Value operand : op.getOperands())
      if (operand.getDefiningOp<bnn::ConstantOp>())
        layer.params += cast<ShapedType>(operand.getType()).getNumElements();
    layers.push_back(std::move(layer));
  }
  return layers;
}

void printLayerSummary(const std::vector<LayerInfo> &layers,
                       llvm::raw_ostream &os, llvm::StringRef linePrefix) {
  std::vector<std::vector<std::string>> rows = {
      {"layer", "op", "output", "params"}};
  int64_t total = 0;
  for (const LayerInfo &layer : layers) {
    rows.push_back(
        {layer.name, layer.op, layer.shape, std::to_string(layer.params)});
    total += layer.params;
  }
  rows.push_back({"total", "", "", std::to_string(total)});
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  for (const auto &row : rows) {
    os << linePrefix;
    for (size_t i = 0; i < row.size(); ++i) {
      // Numbers align right, text left.
      if (i + 1 == row.size())
        os << llvm::right_justify(row[i], widths[i]);
      else
        os << llvm::left_justify(row[i], widths[i]) << "  ";
    }
    os << "\n";
  }
}

} // namespace hafnia
