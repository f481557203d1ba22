//===- Calibration.h - Binarization thresholds from data --------*- C++ -*-===//
//
// Post-training binarization of a float-trained layer needs to know where to
// cut its inputs: ReLU features are never negative, so their sign says
// nothing. Calibration runs the real-valued model on sample inputs (on the
// simulator, as the chip's digital core computes it) and gives every layer
// that bnn-binarize will binarize from a real input, per input channel, the
// median of the values it saw (so that each bit carries information) and the
// mean value on either side (so that the binary layer's output keeps the
// scale and offset of the real one).
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_CALIBRATION_CALIBRATION_H
#define HAFNIA_CALIBRATION_CALIBRATION_H

#include "hafnia/Pipelines/Pipelines.h"
#include "hafnia/proto/chip.pb.h"
#include "hafnia/runtime/TensorIO.h"

#include "mlir/IR/BuiltinOps.h"

namespace hafnia {

/// Puts bnn.calibration on the layers of `module` (imported, classifier
/// detected, not yet binarized) that `options` binarizes from a real input,
/// from the model's values on `samples` (a batch along the first axis, for
/// the model's only input; `source` names it in errors). A model with
/// nothing to calibrate is left as it is.
mlir::LogicalResult calibrateBinarization(mlir::ModuleOp module,
                                          const ChipConfig &chip,
                                          const Tensor &samples,
                                          llvm::StringRef source,
                                          const BinarizationOptions &options);

/// One channel's calibration from the values it took: the threshold and the
/// mean value below and at or above it. The threshold is the median, or the
/// next float up where that splits the values more evenly (a median of 0
/// among many zeros cuts at "greater than 0").
struct ChannelCalibration {
  float threshold = 0, low = 0, high = 0;
};
ChannelCalibration calibrateChannel(std::vector<float> values);

} // namespace hafnia

#endif // HAFNIA_CALIBRATION_CALIBRATION_H
