//===- Pipelines.h - The compiler's pass pipelines --------------*- C++ -*-===//

#ifndef HAFNIA_PIPELINES_PIPELINES_H
#define HAFNIA_PIPELINES_PIPELINES_H

#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"

namespace hafnia {

struct BinarizationOptions {
  bnn::BinarizeMode mode = bnn::BinarizeMode::Classifier;
  bool binarizeFirstLayer = false;
};

/// bnn-detect-classifier, bnn-binarize and bnn-fold-thresholds on every
/// function of a module imported from ONNX.
void buildBinarizationPipeline(mlir::OpPassManager &pm,
                               const BinarizationOptions &options);

} // namespace hafnia

#endif // HAFNIA_PIPELINES_PIPELINES_H
