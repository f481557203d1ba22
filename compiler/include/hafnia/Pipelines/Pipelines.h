//===- Pipelines.h - The compiler's pass pipelines --------------*- C++ -*-===//

#ifndef HAFNIA_PIPELINES_PIPELINES_H
#define HAFNIA_PIPELINES_PIPELINES_H

#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "hafnia/Dialect/RRAM/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"

namespace hafnia {

struct BinarizationOptions {
  bnn::BinarizeMode mode = bnn::kDefaultBinarizeMode;
  bool binarizeFirstLayer = false;
};

/// bnn-fuse-layer-norm and bnn-detect-classifier on every function of a
/// module imported from ONNX: the network tidied, its classifier marked.
void buildClassifierDetectionPipeline(mlir::OpPassManager &pm);

/// bnn-binarize and bnn-fold-thresholds (after classifier detection).
void buildBinarizationPipeline(mlir::OpPassManager &pm,
                               const BinarizationOptions &options);

/// convert-bnn-to-rram and rram-allocate-arrays onto the module's
/// rram.target, placing tiles by `allocation` (in order by default).
void buildMappingPipeline(
    mlir::OpPassManager &pm,
    const rram::AllocateArraysPassOptions &allocation = {});

} // namespace hafnia

#endif // HAFNIA_PIPELINES_PIPELINES_H
