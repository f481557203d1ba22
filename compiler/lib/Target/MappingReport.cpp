//===- MappingReport.cpp - Where every weight lives -----------------------===//

#include "hafnia/Target/MappingReport.h"

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/RRAM/IR/RRAMOps.h"
#include "hafnia/runtime/CostModel.h"
#include "hafnia/runtime/StorageCost.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace hafnia {

namespace {

/// What the mapped module holds of one layer (ONNX node).
struct MappedLayer {
  bool binary = false;
  int64_t perChannelValues = 0; // thresholds and popcount affines
  SmallVector<rram::TileOp> tiles;
};

std::string nameOf(Operation *op) {
  if (auto tile = dyn_cast<rram::TileOp>(op))
    return tile.getLayer().str();
  return bnn::getLayerName(op);
}

} // namespace

MappingReport buildMappingReport(const std::vector<LayerInfo> &imported,
                                 ModuleOp mapped, const ChipConfig &chip,
                                 StringRef model, StringRef binarize) {
  MappingReport report;
  report.set_model(model.str());
  report.set_binarize(binarize.str());
  ChipSummary *summaryOfChip = report.mutable_chip();
  summaryOfChip->set_name(chip.name());
  summaryOfChip->set_array_rows(chip.array().rows());
  summaryOfChip->set_array_cols(chip.array().columns());
  summaryOfChip->set_arrays(chip.arrays());
  summaryOfChip->set_digital_memory_bytes(chip.digital_memory_bytes());
  summaryOfChip->set_cell(chip.cell());
  bool int8 = chip.real_precision() == REAL_INT8;
  summaryOfChip->set_real_precision(chip.real_precision());
  double cellsPerArray =
      static_cast<double>(chip.array().rows()) * chip.array().columns();

  llvm::StringMap<MappedLayer> layers;
  int64_t thresholdBytes = 0;
  mapped.walk([&](Operation *op) {
    if (isa<ModuleOp, func::FuncOp, func::ReturnOp, bnn::ConstantOp>(op))
      return;
    MappedLayer &layer = layers[nameOf(op)];
    if (auto tile = dyn_cast<rram::TileOp>(op)) {
      layer.binary = true;
      layer.tiles.push_back(tile);
    } else if (int64_t values = bnn::getStoredPerChannelValues(op)) {
      layer.perChannelValues += values;
      thresholdBytes += bnn::getStoredBytes(op, int8);
    }
  });
  // Digital memory as the program stores it, by the rule the budget check
  // of rram-allocate-arrays applies.
  std::map<std::string, int64_t> storedBytes =
      bnn::getStoredBytesByLayer(mapped, int8);
  int64_t digitalBytes = 0;
  for (const auto &entry : storedBytes)
    digitalBytes += entry.second;

  MappingSummary *summary = report.mutable_summary();
  int64_t usedCells = 0;
  for (const LayerInfo &info : imported) {
    LayerMapping *layer = report.add_layers();
    layer->set_name(info.name);
    layer->set_op(info.ops);
    layer->set_classifier(info.classifier);
    layer->set_params(info.params);
    auto found = layers.find(info.name);
    // A layer gone from the mapped module was folded into the thresholds of
    // a binary layer (a batch norm, a sign).
    bool binary =
        found != layers.end() ? found->second.binary : info.params > 0;
    layer->set_binary(binary);
    summary->set_total_params(summary->total_params() + info.params);
    if (info.classifier)
      summary->set_classifier_params(summary->classifier_params() +
                                     info.params);
    if (binary)
      summary->set_binary_params(summary->binary_params() + info.params);
    if (auto bytes = storedBytes.find(info.name); bytes != storedBytes.end())
      layer->set_digital_bytes(bytes->second);
    if (found == layers.end())
      continue;
    const MappedLayer &mappedLayer = found->second;
    layer->set_thresholds(mappedLayer.perChannelValues);
    int64_t cells = 0;
    for (rram::TileOp tile : mappedLayer.tiles) {
      TilePlacement *placement = layer->add_tiles();
      placement->set_array(tile.getArray().value_or(0));
      placement->set_row_tile(tile.getRowTile());
      placement->set_column_tile(tile.getColumnTile());
      placement->set_rows_used(tile.getRowsUsed());
      placement->set_columns_used(tile.getColumnsUsed());
      cells += tile.getRowsUsed() * tile.getColumnsUsed();
    }
    layer->set_arrays(mappedLayer.tiles.size());
    if (!mappedLayer.tiles.empty())
      layer->set_fill(cells / (cellsPerArray * mappedLayer.tiles.size()));
    usedCells += cells;
    summary->set_arrays_used(summary->arrays_used() + mappedLayer.tiles.size());
  }

  // The paper's Table IV convention: every parameter is a weight, at 32 or
  // 8 bits when real, at 1 bit when binary.
  int64_t total = summary->total_params(), binary = summary->binary_params();
  int64_t real = total - binary;
  auto weightBytes = [](int64_t count, bool int8Weights) {
    return StoredBytes(StoredRole::kRealWeight, count, int8Weights);
  };
  int64_t binaryBytes = StoredBytes(StoredRole::kBinaryWeight, binary, int8);
  summary->set_real_params(real);
  summary->set_arrays_available(chip.arrays());
  summary->set_bytes_fp32(weightBytes(total, false));
  summary->set_bytes_int8(weightBytes(total, true));
  summary->set_bytes_mapped(weightBytes(real, int8) + binaryBytes);
  // Each saving compares real parameters at the baseline's own precision.
  if (total) {
    summary->set_saving_vs_fp32(1.0 -
                                double(weightBytes(real, false) + binaryBytes) /
                                    double(weightBytes(total, false)));
    summary->set_saving_vs_int8(1.0 -
                                double(weightBytes(real, true) + binaryBytes) /
                                    double(weightBytes(total, true)));
  }
  summary->set_threshold_bytes(thresholdBytes);
  summary->set_digital_bytes_used(digitalBytes);
  summary->set_digital_bytes_available(chip.digital_memory_bytes());
  if (summary->arrays_used())
    summary->set_array_fill(usedCells /
                            (cellsPerArray * summary->arrays_used()));
  *report.mutable_area() =
      EstimateArea(chip, summary->arrays_used(), summary->digital_bytes_used());
  return report;
}

} // namespace hafnia
