//===- Pipelines.cpp - The compiler's pass pipelines ----------------------===//

#include "hafnia/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace hafnia {

void buildBinarizationPipeline(mlir::OpPassManager &pm,
                               const BinarizationOptions &options) {
  if (options.mode == bnn::BinarizeMode::None)
    return;
  mlir::OpPassManager &functions = pm.nest<mlir::func::FuncOp>();
  functions.addPass(bnn::createDetectClassifierPass());
  bnn::BinarizePassOptions binarize;
  binarize.mode = options.mode;
  binarize.binarizeFirstLayer = options.binarizeFirstLayer;
  functions.addPass(bnn::createBinarizePass(binarize));
  functions.addPass(bnn::createFoldThresholdsPass());
}

} // namespace hafnia
