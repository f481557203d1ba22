//===- RRAMDialect.h - The rram dialect -------------------------*- C++ -*-===//

#ifndef HAFNIA_DIALECT_RRAM_IR_RRAMDIALECT_H
#define HAFNIA_DIALECT_RRAM_IR_RRAMDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"

#include "hafnia/Dialect/RRAM/IR/RRAMOpsDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "hafnia/Dialect/RRAM/IR/RRAMOpsAttributes.h.inc"

#define GET_TYPEDEF_CLASSES
#include "hafnia/Dialect/RRAM/IR/RRAMOpsTypes.h.inc"

namespace hafnia::rram {

/// The chip of the module enclosing `op`, or null if it has none.
TargetAttr getTarget(mlir::Operation *op);

} // namespace hafnia::rram

#endif // HAFNIA_DIALECT_RRAM_IR_RRAMDIALECT_H
