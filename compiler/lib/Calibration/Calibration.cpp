//===- Calibration.cpp - Binarization thresholds from data ----------------===//

#include "hafnia/Calibration/Calibration.h"

#include "hafnia/Dialect/BNN/Analysis/SignAnalysis.h"
#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Target/ProgramEmitter.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

using namespace mlir;

namespace hafnia {

ChannelCalibration calibrateChannel(std::vector<float> values) {
  ChannelCalibration result;
  if (values.empty())
    return result;
  size_t count = values.size();
  auto middle = values.begin() + count / 2;
  std::nth_element(values.begin(), middle, values.end());
  float median = *middle;
  // Cutting at the median puts every value equal to it above; cutting just
  // above it puts them below. Take the more even split.
  float above = std::nextafter(median, std::numeric_limits<float>::infinity());
  auto countAtLeast = [&](float threshold) {
    return std::count_if(values.begin(), values.end(),
                         [&](float v) { return v >= threshold; });
  };
  auto imbalance = [&](float threshold) {
    return std::abs(2 * countAtLeast(threshold) - static_cast<long>(count));
  };
  result.threshold = imbalance(above) < imbalance(median) ? above : median;
  double low = 0, high = 0, all = 0;
  int64_t lowCount = 0, highCount = 0;
  for (float v : values) {
    all += v;
    if (v >= result.threshold) {
      high += v;
      ++highCount;
    } else {
      low += v;
      ++lowCount;
    }
  }
  // A channel that took one value on the data stands for that value.
  double mean = all / count;
  result.low = static_cast<float>(lowCount ? low / lowCount : mean);
  result.high = static_cast<float>(highCount ? high / highCount : mean);
  return result;
}

LogicalResult calibrateBinarization(ModuleOp module, const ChipConfig &chip,
                                    const Tensor &samples, StringRef source,
                                    const BinarizationOptions &options) {
  MLIRContext *context = module.getContext();
  auto fail = [&]() {
    return emitError(module.getLoc())
           << "calibration with '" << source << "': ";
  };
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return fail() << "the module has no main function";
  bnn::ValueSigns signs(main);
  // Sites: the layers to calibrate, whose inputs are recorded, then the
  // Signs that can see an exact zero, whose zeros are counted.
  SmallVector<Operation *> sites, zeroSigns, zeroLayers;
  for (Operation *layer :
       bnn::getLayersToBinarize(main, options.mode, options.binarizeFirstLayer))
    if (bnn::needsCalibration(layer, signs)) {
      sites.push_back(layer);
    } else if (Operation *sign = bnn::getZeroSign(layer, signs)) {
      zeroSigns.push_back(sign);
      zeroLayers.push_back(layer);
    }
  size_t calibrated = sites.size();
  sites.append(zeroSigns);
  if (sites.empty())
    return success();

  // A copy of the real-valued model that also returns every site's input.
  constexpr StringLiteral kSiteAttrName = "bnn.calibration_site";
  Builder builder(context);
  for (auto [index, site] : llvm::enumerate(sites))
    site->setAttr(kSiteAttrName, builder.getI64IntegerAttr(index));
  OwningOpRef<ModuleOp> copy = module.clone();
  for (Operation *site : sites)
    site->removeAttr(kSiteAttrName);
  auto copyMain = copy->lookupSymbol<func::FuncOp>("main");
  SmallVector<Value> siteInputs(sites.size());
  copyMain.walk([&](Operation *op) {
    if (auto index = op->getAttrOfType<IntegerAttr>(kSiteAttrName)) {
      siteInputs[index.getInt()] = op->getOperand(0);
      op->removeAttr(kSiteAttrName);
    }
  });
  auto ret = cast<func::ReturnOp>(copyMain.getBody().front().getTerminator());
  unsigned outputs = ret.getNumOperands();
  SmallVector<DictionaryAttr> resultAttrs;
  for (unsigned i = 0; i < outputs; ++i)
    resultAttrs.push_back(copyMain.getResultAttrDict(i));
  for (auto [index, site] : llvm::enumerate(sites))
    resultAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr(
        "bnn.name",
        builder.getStringAttr("calibration:" + bnn::getLayerName(site)))));
  ret->insertOperands(outputs, siteInputs);
  copyMain.setType(FunctionType::get(context, copyMain.getArgumentTypes(),
                                     ret.getOperandTypes()));
  copyMain.setAllResultAttrs(resultAttrs);

  // Run as the digital core computes real values, with room for all of it.
  ChipConfig realChip = chip;
  realChip.set_real_precision(REAL_FLOAT32);
  realChip.set_digital_memory_bytes(uint64_t(1) << 62);
  setChipTarget(*copy, realChip);
  PassManager pm(context);
  buildMappingPipeline(pm);
  if (failed(pm.run(*copy)))
    return failure();
  FailureOr<Program> program =
      emitProgram(*copy, realChip, MappingReport(), "calibration");
  if (failed(program))
    return failure();
  if (program->inputs_size() != 1)
    return fail() << "calibration data feed a model with one input; this one "
                     "has "
                  << program->inputs_size();
  if (absl::Status status = ValidateProgram(*program); !status.ok())
    return fail() << std::string(status.message());
  const Buffer &input = program->buffers(program->inputs(0).buffer());
  absl::StatusOr<std::vector<Tensor>> chunks = SplitBatch(
      samples, source.str(), program->inputs(0).name(),
      std::vector<int64_t>(input.shape().begin(), input.shape().end()));
  if (!chunks.ok())
    return fail() << std::string(chunks.status().message());
  absl::StatusOr<std::unique_ptr<Simulator>> simulator =
      Simulator::Create(std::move(*program));
  if (!simulator.ok())
    return fail() << std::string(simulator.status().message());

  // Every site's values, by channel (axis 1).
  std::vector<std::vector<std::vector<float>>> values(sites.size());
  for (const Tensor &chunk : *chunks) {
    SimulationStats stats;
    absl::StatusOr<std::vector<Tensor>> results =
        (*simulator)->Run({chunk}, &stats);
    if (!results.ok())
      return fail() << std::string(results.status().message());
    for (size_t s = 0; s < sites.size(); ++s) {
      const Tensor &value = (*results)[outputs + s];
      int64_t batch = value.shape[0], channels = value.shape[1];
      int64_t inner = value.data.size() / (batch * channels);
      values[s].resize(channels);
      for (int64_t b = 0, e = 0; b < batch; ++b)
        for (int64_t c = 0; c < channels; ++c, e += inner)
          values[s][c].insert(values[s][c].end(), value.data.begin() + e,
                              value.data.begin() + e + inner);
    }
  }

  for (auto [layer, channels] :
       llvm::zip(zeroLayers, ArrayRef(values).drop_front(calibrated))) {
    int64_t zeros = 0, count = 0;
    for (const std::vector<float> &channel : channels) {
      zeros += llvm::count(channel, 0.0f);
      count += channel.size();
    }
    layer->setAttr(
        bnn::kSignZerosAttrName,
        builder.getDictionaryAttr(
            {builder.getNamedAttr("values", builder.getI64IntegerAttr(count)),
             builder.getNamedAttr("zeros", builder.getI64IntegerAttr(zeros))}));
  }
  for (auto [site, channels] :
       llvm::zip(ArrayRef(sites).take_front(calibrated), values)) {
    SmallVector<float> thresholds, low, high;
    for (std::vector<float> &channel : channels) {
      ChannelCalibration calibration = calibrateChannel(std::move(channel));
      thresholds.push_back(calibration.threshold);
      low.push_back(calibration.low);
      high.push_back(calibration.high);
    }
    site->setAttr(
        bnn::kCalibrationAttrName,
        builder.getDictionaryAttr({
            builder.getNamedAttr("high", builder.getDenseF32ArrayAttr(high)),
            builder.getNamedAttr("low", builder.getDenseF32ArrayAttr(low)),
            builder.getNamedAttr("thresholds",
                                 builder.getDenseF32ArrayAttr(thresholds)),
        }));
  }
  return success();
}

} // namespace hafnia
