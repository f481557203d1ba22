//===- RRAMOps.h - Operations of the rram dialect ---------------*- C++ -*-===//

#ifndef HAFNIA_DIALECT_RRAM_IR_RRAMOPS_H
#define HAFNIA_DIALECT_RRAM_IR_RRAMOPS_H

#include "hafnia/Dialect/RRAM/IR/RRAMDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "hafnia/Dialect/RRAM/IR/RRAMOps.h.inc"

#endif // HAFNIA_DIALECT_RRAM_IR_RRAMOPS_H
