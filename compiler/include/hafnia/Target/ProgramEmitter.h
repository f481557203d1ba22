//===- ProgramEmitter.h - rram modules to programs --------------*- C++ -*-===//

#ifndef HAFNIA_TARGET_PROGRAMEMITTER_H
#define HAFNIA_TARGET_PROGRAMEMITTER_H

#include "hafnia/proto/program.pb.h"
#include "mlir/IR/BuiltinOps.h"

namespace hafnia {

/// The program (runtime/proto/program.proto) of a module mapped by
/// rram-allocate-arrays: buffers for every value, constants, array images
/// and one instruction per op, in order. Reports an error at the op that
/// has no instruction and returns failure.
llvm::FailureOr<Program> emitProgram(mlir::ModuleOp module,
                                     const ChipConfig &chip,
                                     const MappingReport &report,
                                     llvm::StringRef model);

/// Sets the module's rram.target from `chip`: the passes read the chip from
/// there.
void setChipTarget(mlir::ModuleOp module, const ChipConfig &chip);

} // namespace hafnia

#endif // HAFNIA_TARGET_PROGRAMEMITTER_H
