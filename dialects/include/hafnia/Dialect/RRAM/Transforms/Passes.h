//===- Passes.h - Passes of the rram dialect --------------------*- C++ -*-===//

#ifndef HAFNIA_DIALECT_RRAM_TRANSFORMS_PASSES_H
#define HAFNIA_DIALECT_RRAM_TRANSFORMS_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace hafnia::rram {

#define GEN_PASS_DECL
#include "hafnia/Dialect/RRAM/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hafnia/Dialect/RRAM/Transforms/Passes.h.inc"

} // namespace hafnia::rram

#endif // HAFNIA_DIALECT_RRAM_TRANSFORMS_PASSES_H
