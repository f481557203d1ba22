//===- BNNDialect.h - The bnn dialect ---------------------------*- C++ -*-===//

#ifndef HAFNIA_DIALECT_BNN_IR_BNNDIALECT_H
#define HAFNIA_DIALECT_BNN_IR_BNNDIALECT_H

#include "mlir/IR/Dialect.h"

#include "hafnia/Dialect/BNN/IR/BNNOpsDialect.h.inc"

#endif // HAFNIA_DIALECT_BNN_IR_BNNDIALECT_H
