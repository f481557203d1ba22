//===- Passes.h - Passes of the bnn dialect ---------------------*- C++ -*-===//

#ifndef HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_H
#define HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace hafnia::bnn {

/// Which layers `bnn-binarize` turns into XNOR-popcount layers.
enum class BinarizeMode { None, Classifier, All };

/// The unit attribute `bnn-detect-classifier` puts on classifier layers.
constexpr llvm::StringLiteral kClassifierAttrName = "bnn.classifier";

#define GEN_PASS_DECL
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"

} // namespace hafnia::bnn

#endif // HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_H
