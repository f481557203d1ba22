//===- MappingReport.h - Where every weight lives ---------------*- C++ -*-===//

#ifndef HAFNIA_TARGET_MAPPINGREPORT_H
#define HAFNIA_TARGET_MAPPINGREPORT_H

#include "hafnia/Target/LayerSummary.h"
#include "hafnia/proto/chip.pb.h"
#include "hafnia/proto/report.pb.h"
#include "mlir/IR/BuiltinOps.h"

namespace hafnia {

/// The memory-mapping report of a model: `imported` lists its layers as
/// imported (parameters counted before binarization folds any away),
/// `mapped` is the module after rram-allocate-arrays. Follows the paper's
/// Table IV convention: every parameter of a binarized layer (its weights
/// and the bias and normalization folded into its thresholds) counts one
/// bit; threshold storage is listed apart.
MappingReport buildMappingReport(const std::vector<LayerInfo> &imported,
                                 mlir::ModuleOp mapped, const ChipConfig &chip,
                                 llvm::StringRef model,
                                 llvm::StringRef binarize);

} // namespace hafnia

#endif // HAFNIA_TARGET_MAPPINGREPORT_H
