//===- MappingReport.cpp - Where every weight lives -----------------------===//

#include "hafnia/Target/MappingReport.h"

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/RRAM/IR/RRAMOps.h"
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
  summaryOfChip->set_real_precision(int8 ? "int8" : "float32");
  int64_t bytesPerReal = int8 ? 1 : 4;
  double cellsPerArray =
      static_cast<double>(chip.array().rows()) * chip.array().columns();

  llvm::StringMap<MappedLayer> layers;
  mapped.walk([&](Operation *op) {
    if (isa<ModuleOp, func::FuncOp, func::ReturnOp, bnn::ConstantOp>(op))
      return;
    MappedLayer &layer = layers[nameOf(op)];
    if (auto tile = dyn_cast<rram::TileOp>(op)) {
      layer.binary = true;
      layer.tiles.push_back(tile);
    } else {
      layer.perChannelValues += bnn::getStoredPerChannelValues(op);
    }
  });

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
    else
      layer->set_digital_bytes(info.params * bytesPerReal);
    if (found == layers.end())
      continue;
    const MappedLayer &mappedLayer = found->second;
    layer->set_thresholds(mappedLayer.perChannelValues);
    layer->set_digital_bytes(layer->digital_bytes() +
                             4 * mappedLayer.perChannelValues);
    summary->set_threshold_bytes(summary->threshold_bytes() +
                                 4 * mappedLayer.perChannelValues);
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

  uint64_t total = summary->total_params(), binary = summary->binary_params();
  uint64_t real = total - binary;
  uint64_t binaryBytes = (binary + 7) / 8;
  summary->set_real_params(real);
  summary->set_arrays_available(chip.arrays());
  summary->set_bytes_fp32(4 * total);
  summary->set_bytes_int8(total);
  summary->set_bytes_mapped(real * bytesPerReal + binaryBytes);
  // Each saving compares real parameters at the baseline's own precision.
  if (total) {
    summary->set_saving_vs_fp32(1.0 - double(4 * real + binaryBytes) /
                                          double(4 * total));
    summary->set_saving_vs_int8(1.0 -
                                double(real + binaryBytes) / double(total));
  }
  summary->set_digital_bytes_used(real * bytesPerReal +
                                  summary->threshold_bytes());
  summary->set_digital_bytes_available(chip.digital_memory_bytes());
  if (summary->arrays_used())
    summary->set_array_fill(usedCells /
                            (cellsPerArray * summary->arrays_used()));
  return report;
}

} // namespace hafnia
