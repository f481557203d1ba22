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

#include <map>
#include <string>

namespace hafnia::bnn {

/// On a bnn.constant dequantized from a QDQ model's int8 weight: the model's
/// own int8 `values` (an i8 tensor of the constant's shape) and `scales` (one,
/// or one per slice of axis 0), which a chip with int8 weights stores.
constexpr llvm::StringLiteral kInt8WeightAttrName = "bnn.int8";

/// The layer an op belongs to: the name of the ONNX node it came from (its
/// NameLoc), or its op name when it has none.
std::string getLayerName(mlir::Operation *op);

/// The per-channel values a bnn.binarize, bnn.threshold or
/// bnn.popcount_affine keeps in digital memory (thresholds, scales, biases
/// and border corrections); 0 for other ops.
int64_t getStoredPerChannelValues(mlir::Operation *op);

/// The bytes of digital memory that what `op` stores takes on a chip whose
/// digital core holds real weights as int8 (`int8Weights`) or f32, as the
/// program emitter stores it, by the rule of hafnia/runtime/StorageCost.h: a
/// bnn.constant's values (int8 weights with their scales), or the
/// per-channel values of getStoredPerChannelValues; 0 for other ops.
int64_t getStoredBytes(mlir::Operation *op, bool int8Weights);

/// The layer whose digital memory holds what `op` stores: for a constant,
/// the layer of its first reader in program order; else `op`'s own.
std::string getStorageLayer(mlir::Operation *op);

/// getStoredBytes of every op under `root`, summed by getStorageLayer.
std::map<std::string, int64_t> getStoredBytesByLayer(mlir::Operation *root,
                                                     bool int8Weights);

} // namespace hafnia::bnn

#define GET_OP_CLASSES
#include "hafnia/Dialect/BNN/IR/BNNOps.h.inc"

namespace hafnia::bnn {

/// Whether `constant` is the weight of a convolution or dense layer of the
/// digital core (operand 1), which a chip with int8 weights stores as int8.
bool isRealWeight(ConstantOp constant);

} // namespace hafnia::bnn

#endif // HAFNIA_DIALECT_BNN_IR_BNNOPS_H
