//===- Passes.h - Conversions between Hafnia's dialects ---------*- C++ -*-===//

#ifndef HAFNIA_CONVERSION_PASSES_H
#define HAFNIA_CONVERSION_PASSES_H

#include "hafnia/Dialect/RRAM/IR/RRAMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace hafnia {

#define GEN_PASS_DECL
#include "hafnia/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hafnia/Conversion/Passes.h.inc"

} // namespace hafnia

#endif // HAFNIA_CONVERSION_PASSES_H
