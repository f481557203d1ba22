//===- RRAMDialect.cpp - The rram dialect ---------------------------------===//

#include "hafnia/Dialect/RRAM/IR/RRAMDialect.h"
#include "hafnia/Dialect/RRAM/IR/RRAMOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace hafnia::rram;

#include "hafnia/Dialect/RRAM/IR/RRAMOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "hafnia/Dialect/RRAM/IR/RRAMOpsAttributes.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "hafnia/Dialect/RRAM/IR/RRAMOpsTypes.cpp.inc"

void RRAMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "hafnia/Dialect/RRAM/IR/RRAMOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "hafnia/Dialect/RRAM/IR/RRAMOpsAttributes.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "hafnia/Dialect/RRAM/IR/RRAMOpsTypes.cpp.inc"
      >();
}

LogicalResult RRAMDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attribute) {
  if (attribute.getName() != kTargetAttrName)
    return op->emitError("unknown rram attribute '")
           << attribute.getName().getValue() << "'";
  if (!isa<ModuleOp>(op) || !isa<TargetAttr>(attribute.getValue()))
    return op->emitError("'")
           << kTargetAttrName << "' must be a #rram.target on a module";
  return success();
}

LogicalResult TargetAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 uint32_t rows, uint32_t columns,
                                 uint32_t arrays, uint64_t digitalMemoryBytes,
                                 uint32_t realBits) {
  if (rows == 0 || columns == 0 || arrays == 0)
    return emitError() << "expects positive rows, columns and arrays";
  if (realBits != 8 && realBits != 32)
    return emitError() << "expects real_bits of 32 (float) or 8 (int8), got "
                       << realBits;
  return success();
}

TargetAttr hafnia::rram::getTarget(Operation *op) {
  auto module =
      isa<ModuleOp>(op) ? cast<ModuleOp>(op) : op->getParentOfType<ModuleOp>();
  while (module) {
    if (auto target =
            module->getAttrOfType<TargetAttr>(RRAMDialect::kTargetAttrName))
      return target;
    module = module->getParentOfType<ModuleOp>();
  }
  return nullptr;
}
