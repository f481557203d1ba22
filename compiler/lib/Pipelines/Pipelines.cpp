//===- Pipelines.cpp - The compiler's pass pipelines ----------------------===//

#include "hafnia/Pipelines/Pipelines.h"

#include "hafnia/Conversion/Passes.h"
#include "hafnia/Dialect/RRAM/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace hafnia {

void buildClassifierDetectionPipeline(mlir::OpPassManager &pm) {
  mlir::OpPassManager &functions = pm.nest<mlir::func::FuncOp>();
  functions.addPass(bnn::createFuseLayerNormPass());
  functions.addPass(bnn::createDetectClassifierPass());
}

void buildBinarizationPipeline(mlir::OpPassManager &pm,
                               const BinarizationOptions &options) {
  if (options.mode == bnn::BinarizeMode::None)
    return;
  mlir::OpPassManager &functions = pm.nest<mlir::func::FuncOp>();
  bnn::BinarizePassOptions binarize;
  binarize.mode = options.mode;
  binarize.binarizeFirstLayer = options.binarizeFirstLayer;
  functions.addPass(bnn::createBinarizePass(binarize));
  functions.addPass(bnn::createFoldThresholdsPass());
}

void buildMappingPipeline(mlir::OpPassManager &pm,
                          const rram::AllocateArraysPassOptions &allocation) {
  pm.addPass(createConvertBNNToRRAMPass());
  pm.addPass(rram::createAllocateArraysPass(allocation));
}

} // namespace hafnia
