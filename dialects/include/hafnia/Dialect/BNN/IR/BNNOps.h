//===- BNNOps.h - Operations of the bnn dialect -----------------*- C++ -*-===//

#ifndef HAFNIA_DIALECT_BNN_IR_BNNOPS_H
#define HAFNIA_DIALECT_BNN_IR_BNNOPS_H

#include "hafnia/Dialect/BNN/IR/BNNDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Traits.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace hafnia::bnn {

/// On a bnn.constant dequantized from a QDQ model's int8 weight: the model's
/// own int8 `values` (an i8 tensor of the constant's shape) and `scales` (one,
/// or one per slice of axis 0), which a chip with int8 weights stores.
constexpr llvm::StringLiteral kInt8WeightAttrName = "bnn.int8";

/// The layer an op belongs to: the name of the ONNX node it came from (its
/// NameLoc), or its op name when it has none.
std::string getLayerName(mlir::Operation *op);

/// The per-channel values a bnn.threshold or bnn.popcount_affine keeps in
/// digital memory (thresholds, scales and biases); 0 for other ops.
int64_t getStoredPerChannelValues(mlir::Operation *op);

} // namespace hafnia::bnn

#define GET_OP_CLASSES
#include "hafnia/Dialect/BNN/IR/BNNOps.h.inc"

#endif // HAFNIA_DIALECT_BNN_IR_BNNOPS_H
