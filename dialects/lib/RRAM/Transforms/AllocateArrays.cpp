//===- AllocateArrays.cpp - Place tiles, check the memory budget ----------===//

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "hafnia/Dialect/RRAM/IR/RRAMOps.h"
#include "hafnia/Dialect/RRAM/IR/Tiling.h"
#include "hafnia/Dialect/RRAM/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"
#include <map>

namespace hafnia::rram {
#define GEN_PASS_DEF_ALLOCATEARRAYSPASS
#include "hafnia/Dialect/RRAM/Transforms/Passes.h.inc"
} // namespace hafnia::rram

using namespace mlir;
using namespace hafnia;
using namespace hafnia::rram;

namespace {

std::string formatBytes(int64_t bytes) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (bytes < 1024)
    os << bytes << " B";
  else if (bytes < 1024 * 1024)
    os << llvm::format("%.1f KiB", bytes / 1024.0);
  else
    os << llvm::format("%.2f MiB", bytes / (1024.0 * 1024.0));
  return text;
}

/// What a layer takes of the chip.
struct Cost {
  int64_t arrays = 0;
  int64_t bytes = 0;
};

struct AllocateArraysPass
    : hafnia::rram::impl::AllocateArraysPassBase<AllocateArraysPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    target = getTarget(module);
    if (!target) {
      module.emitError("no chip to allocate on: the module needs an '")
          << RRAMDialect::kTargetAttrName << "' attribute";
      return signalPassFailure();
    }
    int8Weights = target.getRealBits() == 8;

    std::map<std::string, Cost> costs;
    SmallVector<TileOp> tiles;
    module.walk([&](TileOp tile) {
      tiles.push_back(tile);
      ++costs[tile.getLayer().str()].arrays;
    });
    // Real parameters, thresholds and popcount affines, as the program
    // stores them.
    for (const auto &[layer, bytes] :
         bnn::getStoredBytesByLayer(module, int8Weights))
      costs[layer].bytes += bytes;
    Cost total;
    for (const auto &entry : costs) {
      total.arrays += entry.second.arrays;
      total.bytes += entry.second.bytes;
    }
    if (!fits(total)) {
      reportOverBudget(module, costs, total);
      return signalPassFailure();
    }
    OpBuilder builder(module.getContext());
    for (auto [index, tile] : llvm::enumerate(tiles))
      tile.setArrayAttr(builder.getI64IntegerAttr(index));
  }

  bool fits(const Cost &cost) const {
    return cost.arrays <= target.getArrays() &&
           cost.bytes <= static_cast<int64_t>(target.getDigitalMemoryBytes());
  }

  /// What binarizing a real conv or dense layer would change: the arrays its
  /// weights would take, and (negative) the digital memory they would free.
  Cost binarizationDelta(Operation *op) const {
    Value weight;
    int64_t outputs = 0, fanIn = 0, groups = 1;
    if (auto dense = dyn_cast<bnn::DenseOp>(op)) {
      weight = dense.getRhs();
      outputs = dense.getOutput().getType().getDimSize(1);
      fanIn = dense.getLhs().getType().getDimSize(1);
    } else {
      auto conv = cast<bnn::ConvOp>(op);
      weight = conv.getWeight();
      groups = conv.getGroup();
      outputs = conv.getWeight().getType().getDimSize(0) / groups;
      fanIn = conv.getWeight().getType().getNumElements() /
              conv.getWeight().getType().getDimSize(0);
    }
    TileGrid grid =
        getTileGrid(outputs, fanIn, target.getRows(), target.getColumns());
    Operation *constant = weight.getDefiningOp<bnn::ConstantOp>();
    return Cost{groups * grid.arrays(),
                constant ? -bnn::getStoredBytes(constant, int8Weights) : 0};
  }

  /// The cost of the model if `--binarize=classifier` (or `all`) had
  /// binarized the real layers it would, by bnn-binarize's rule.
  Cost costIfBinarized(ModuleOp module, Cost total, bool all) const {
    bool first = true;
    module.walk([&](Operation *op) {
      if (!isa<bnn::DenseOp, bnn::ConvOp, bnn::XnorDenseOp, bnn::XnorConvOp,
               TileOp>(op))
        return;
      bool isFirst = first;
      first = false;
      if (!isa<bnn::DenseOp, bnn::ConvOp>(op) ||
          !bnn::isSelectedForBinarization(
              op, all ? bnn::BinarizeMode::All : bnn::BinarizeMode::Classifier,
              /*binarizeFirstLayer=*/false, isFirst) ||
          bnn::getBinarizationObstacle(op))
        return;
      Cost delta = binarizationDelta(op);
      total.arrays += delta.arrays;
      total.bytes += delta.bytes;
    });
    return total;
  }

  void reportOverBudget(ModuleOp module,
                        const std::map<std::string, Cost> &costs,
                        const Cost &total) {
    InFlightDiagnostic error = module.emitError("the model does not fit the ")
                               << target.getRows() << "x" << target.getColumns()
                               << " chip:";
    auto largest = [&](int64_t Cost::*field, auto format) {
      SmallVector<std::pair<std::string, int64_t>> layers;
      for (const auto &[name, cost] : costs)
        if (cost.*field > 0)
          layers.push_back({name, cost.*field});
      llvm::stable_sort(layers,
                        [](auto &a, auto &b) { return a.second > b.second; });
      layers.resize(std::min<size_t>(layers.size(), 3));
      error << " (largest: ";
      llvm::interleaveComma(layers, error, [&](auto &layer) {
        error << "'" << layer.first << "' " << format(layer.second);
      });
      error << ")";
    };
    auto count = [](int64_t value) { return std::to_string(value); };
    bool first = true;
    if (total.arrays > target.getArrays()) {
      error << " it needs " << total.arrays << " arrays, the chip has "
            << target.getArrays();
      largest(&Cost::arrays, count);
      first = false;
    }
    if (total.bytes > static_cast<int64_t>(target.getDigitalMemoryBytes())) {
      error << (first ? "" : ";") << " it needs " << formatBytes(total.bytes)
            << " of digital memory for real-valued parameters and "
               "thresholds, the chip has "
            << formatBytes(target.getDigitalMemoryBytes());
      largest(&Cost::bytes, formatBytes);
    }
    // Advice: would binarizing more make it fit?
    for (bool all : {false, true}) {
      Cost binarized = costIfBinarized(module, total, all);
      if (binarized.arrays == total.arrays && binarized.bytes == total.bytes)
        continue;
      error << "; with --binarize=" << (all ? "all" : "classifier") << " it "
            << (fits(binarized) ? "would fit" : "would still not fit") << " ("
            << binarized.arrays << " arrays, " << formatBytes(binarized.bytes)
            << ")";
      if (fits(binarized))
        break;
    }
  }

  TargetAttr target;
  bool int8Weights = false;
};

} // namespace
