//===- BNNDialect.cpp - The bnn dialect -----------------------------------===//

#include "hafnia/Dialect/BNN/IR/BNNDialect.h"
#include "hafnia/Dialect/BNN/IR/BNNOps.h"

using namespace mlir;
using namespace hafnia::bnn;

#include "hafnia/Dialect/BNN/IR/BNNOpsDialect.cpp.inc"

void BNNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "hafnia/Dialect/BNN/IR/BNNOps.cpp.inc"
      >();
}

Operation *BNNDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}
