//===- LayerSummary.cpp - Per-layer table of a bnn module -----------------===//

#include "hafnia/Target/LayerSummary.h"

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"

#include <algorithm>

using namespace mlir;

namespace hafnia {

std::vector<LayerInfo> summarizeLayers(ModuleOp module) {
  std::vector<LayerInfo> layers;
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return layers;
  llvm::StringMap<size_t> rowOfName;
  for (Operation &op : main.getBody().getOps()) {
    if (isa<bnn::ConstantOp, func::ReturnOp>(op))
      continue;
    std::string name = bnn::getLayerName(&op);
    auto [row, inserted] = rowOfName.try_emplace(name, layers.size());
    if (inserted)
      layers.push_back(LayerInfo{name});
    LayerInfo &layer = layers[row->second];
    layer.ops +=
        (layer.ops.empty() ? "" : "+") + op.getName().stripDialect().str();
    layer.binary |= isa<bnn::XnorDenseOp, bnn::XnorConvOp>(op);
    layer.classifier |= op.hasAttr(bnn::kClassifierAttrName);
    if (op.getNumResults() == 1) {
      layer.shape.clear();
      llvm::raw_string_ostream os(layer.shape);
      llvm::interleave(cast<ShapedType>(op.getResult(0).getType()).getShape(),
                       os, "x");
    }
    for (Value operand : op.getOperands()) {
      if (!operand.getDefiningOp<bnn::ConstantOp>())
        continue;
      auto type = cast<ShapedType>(operand.getType());
      layer.params += type.getNumElements();
      layer.bits += type.getNumElements() * type.getElementTypeBitWidth();
    }
    // Thresholds and popcount affines, as the chip stores them.
    layer.params += bnn::getStoredPerChannelValues(&op);
    layer.bits += 8 * bnn::getStoredBytes(&op, /*int8Weights=*/false);
  }
  return layers;
}

void printLayerSummary(const std::vector<LayerInfo> &layers,
                       llvm::raw_ostream &os, llvm::StringRef linePrefix) {
  std::vector<std::vector<std::string>> rows = {
      {"layer", "ops", "output", "binary", "params", "bits"}};
  int64_t params = 0, bits = 0;
  for (const LayerInfo &layer : layers) {
    rows.push_back({layer.name, layer.ops, layer.shape,
                    layer.binary ? "yes" : "no", std::to_string(layer.params),
                    std::to_string(layer.bits)});
    params += layer.params;
    bits += layer.bits;
  }
  rows.push_back(
      {"total", "", "", "", std::to_string(params), std::to_string(bits)});
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto &row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  constexpr size_t kFirstNumberColumn = 4;
  for (const auto &row : rows) {
    os << linePrefix;
    for (size_t i = 0; i < row.size(); ++i) {
      // Numbers align right, text left.
      if (i >= kFirstNumberColumn)
        os << llvm::right_justify(row[i], widths[i]);
      else
        os << llvm::left_justify(row[i], widths[i]);
      os << (i + 1 == row.size() ? "\n" : "  ");
    }
  }
}

} // namespace hafnia
