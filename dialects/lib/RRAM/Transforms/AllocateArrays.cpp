//===- AllocateArrays.cpp - Place tiles, check the memory budget ----------===//

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "hafnia/Dialect/RRAM/IR/RRAMOps.h"
#include "hafnia/Dialect/RRAM/IR/Tiling.h"
#include "hafnia/Dialect/RRAM/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include <cmath>
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
  using AllocateArraysPassBase::AllocateArraysPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    target = getTarget(module);
    if (!target) {
      module.emitError("no chip to allocate on: the module needs an '")
          << RRAMDialect::kTargetAttrName << "' attribute";
      return signalPassFailure();
    }
    int8Weights = target.getRealBits() == 8;
    if (failed(readArrayQuality(module)))
      return signalPassFailure();

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
    if (!errorAware) {
      for (auto [index, tile] : llvm::enumerate(tiles))
        tile.setArrayAttr(builder.getI64IntegerAttr(index));
      return;
    }
    FailureOr<SmallVector<double>> sensitivity =
        sensitivityReport.empty() ? SmallVector<double>(fanInHeuristic(tiles))
                                  : readSensitivity(module, tiles);
    if (failed(sensitivity))
      return signalPassFailure();
    // The most sensitive tiles on the best arrays.
    SmallVector<size_t> order(tiles.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    llvm::stable_sort(order, [&](size_t a, size_t b) {
      return (*sensitivity)[a] > (*sensitivity)[b];
    });
    for (auto [rank, index] : llvm::enumerate(order))
      tiles[index].setArrayAttr(builder.getI64IntegerAttr(usable[rank]));
  }

  /// Checks the options of error-aware placement and orders the arrays it
  /// may use, best first: `usable` and `errorAware`.
  LogicalResult readArrayQuality(ModuleOp module) {
    if (placement != "error-aware" && placement != "in-order")
      return module.emitError("rram-allocate-arrays: placement must be "
                              "error-aware or in-order, got '")
             << placement << "'";
    int64_t arrays = target.getArrays();
    bool quality = !arrayBerMultipliers.empty() || !badArrays.empty();
    errorAware = placement == "error-aware" && quality;
    // A report that would not be read is a mistake worth a line.
    if (!errorAware && !sensitivityReport.empty())
      return module.emitError("--sensitivity-report=")
             << sensitivityReport
             << ": a sensitivity report ranks tiles for error-aware "
                "placement, "
             << (quality ? "not placement=in-order"
                         : "but the chip gives no per-array quality "
                           "(array_ber_multiplier, bad_arrays)");
    if (!errorAware)
      return success();
    if (!arrayBerMultipliers.empty() &&
        static_cast<int64_t>(arrayBerMultipliers.size()) != arrays)
      return module.emitError("rram-allocate-arrays: array-ber-multipliers "
                              "holds ")
             << arrayBerMultipliers.size()
             << " values: give one per array of the chip, " << arrays;
    for (double multiplier : arrayBerMultipliers)
      if (!(multiplier >= 0 && std::isfinite(multiplier)))
        return module.emitError("rram-allocate-arrays: array-ber-multipliers "
                                "must be finite numbers >= 0, got ")
               << multiplier;
    std::vector<bool> bad(arrays, false);
    for (int64_t array : badArrays) {
      if (array < 0 || array >= arrays)
        return module.emitError("rram-allocate-arrays: bad-arrays names array ")
               << array << ", the chip's arrays are 0 to " << arrays - 1;
      bad[array] = true;
    }
    usable.clear();
    for (int64_t array = 0; array < arrays; ++array)
      if (!bad[array])
        usable.push_back(array);
    badCount = arrays - static_cast<int64_t>(usable.size());
    auto multiplier = [&](int64_t array) {
      return arrayBerMultipliers.empty() ? 1.0 : arrayBerMultipliers[array];
    };
    llvm::stable_sort(usable, [&](int64_t a, int64_t b) {
      return multiplier(a) < multiplier(b);
    });
    return success();
  }

  /// The heuristic without a report: fewest inputs per neuron first. A
  /// layer's fan-in is the columns its first row tile uses, per group.
  static SmallVector<double> fanInHeuristic(ArrayRef<TileOp> tiles) {
    std::map<std::string, std::pair<int64_t, int64_t>> columnsAndGroups;
    for (TileOp tile : tiles) {
      if (tile.getRowTile() != 0)
        continue;
      auto &entry = columnsAndGroups[tile.getLayer().str()];
      entry.first += tile.getColumnsUsed();
      entry.second += tile.getColumnTile() == 0;
    }
    SmallVector<double> sensitivity;
    for (TileOp tile : tiles) {
      auto [columns, groups] = columnsAndGroups[tile.getLayer().str()];
      double fanIn =
          static_cast<double>(columns) / std::max<int64_t>(groups, 1);
      sensitivity.push_back(1.0 / std::max(fanIn, 1.0));
    }
    return sensitivity;
  }

  /// Each tile's sensitivity from the report of hafnia-sim --sensitivity:
  /// its array's agreement drop where the report ran the layer's arrays one
  /// by one (as many as the layer has tiles), else its layer's drop shared
  /// among the layer's tiles.
  FailureOr<SmallVector<double>> readSensitivity(ModuleOp module,
                                                 ArrayRef<TileOp> tiles) {
    auto fail = [&](const Twine &message) -> FailureOr<SmallVector<double>> {
      module.emitError("--sensitivity-report=")
          << sensitivityReport << ": " << message;
      return failure();
    };
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
        llvm::MemoryBuffer::getFile(sensitivityReport);
    if (!file)
      return fail("cannot read it (" + file.getError().message() + ")");
    llvm::Expected<llvm::json::Value> json =
        llvm::json::parse((*file)->getBuffer());
    if (!json) {
      llvm::consumeError(json.takeError());
      return fail("not JSON: write it with hafnia-sim --sensitivity "
                  "--report=FILE.json");
    }
    const llvm::json::Object *root = json->getAsObject();
    const llvm::json::Array *layers = root ? root->getArray("layers") : nullptr;
    if (!layers)
      return fail("not a sensitivity report (no 'layers'): write it with "
                  "hafnia-sim --sensitivity --report=FILE.json");
    std::map<std::string, double> layerDrop;
    std::map<std::string, SmallVector<double>> arrayDrops;
    auto read = [&](const llvm::json::Value &value, std::string &layer,
                    double &drop) {
      const llvm::json::Object *entry = value.getAsObject();
      if (!entry)
        return false;
      std::optional<llvm::StringRef> name = entry->getString("layer");
      std::optional<double> number = entry->getNumber("agreement_drop");
      if (!name || !number)
        return false;
      layer = name->str();
      drop = *number;
      return true;
    };
    for (const llvm::json::Value &value : *layers) {
      std::string layer;
      double drop;
      if (!read(value, layer, drop))
        return fail("a layer without 'layer' and 'agreement_drop'");
      layerDrop[layer] = drop;
    }
    if (const llvm::json::Array *arrays = root->getArray("arrays"))
      for (const llvm::json::Value &value : *arrays) {
        std::string layer;
        double drop;
        if (!read(value, layer, drop))
          return fail("an array without 'layer' and 'agreement_drop'");
        arrayDrops[layer].push_back(drop);
      }
    std::map<std::string, int64_t> tilesOf, seen;
    for (TileOp tile : tiles)
      ++tilesOf[tile.getLayer().str()];
    SmallVector<double> sensitivity;
    for (TileOp tile : tiles) {
      std::string layer = tile.getLayer().str();
      auto drop = layerDrop.find(layer);
      if (drop == layerDrop.end())
        return fail("it has no layer '" + layer +
                    "': write it for this model's program (hafnia-sim "
                    "--sensitivity)");
      const SmallVector<double> &perArray = arrayDrops[layer];
      int64_t k = seen[layer]++;
      if (static_cast<int64_t>(perArray.size()) == tilesOf[layer])
        sensitivity.push_back(perArray[k]);
      else
        sensitivity.push_back(drop->second / tilesOf[layer]);
    }
    return sensitivity;
  }

  int64_t availableArrays() const {
    return errorAware ? static_cast<int64_t>(usable.size())
                      : static_cast<int64_t>(target.getArrays());
  }

  bool fits(const Cost &cost) const {
    return cost.arrays <= availableArrays() &&
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
    if (total.arrays > availableArrays()) {
      error << " it needs " << total.arrays << " arrays, the chip has "
            << availableArrays();
      if (errorAware && badCount > 0)
        error << " usable (" << badCount << " of " << target.getArrays()
              << " are bad-arrays)";
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
  /// Error-aware placement (quality given, not placement=in-order): the
  /// arrays tiles may take, best first, and how many are bad.
  bool errorAware = false;
  SmallVector<int64_t> usable;
  int64_t badCount = 0;
};

} // namespace
