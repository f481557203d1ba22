//===- ConstantFolding.h - Evaluate ONNX nodes on constants -----*- C++ -*-===//
//
// The importer's one constant evaluator. Exporters compute shapes at run time
// (`Shape -> Gather -> Unsqueeze -> Concat -> Reshape`, `ConstantOfShape`,
// `Range`, `Cast`, `Where` on constant conditions, int64 arithmetic); once the
// batch is bound every such value is a constant. The importer evaluates these
// nodes here, on ONNX tensors keyed by name, so that their results feed the
// same `constants` table as initializers and nothing of them reaches the IR.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_IMPORT_CONSTANTFOLDING_H
#define HAFNIA_IMPORT_CONSTANTFOLDING_H

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace hafnia {

/// Whether `foldConstantNode` evaluates nodes of this operator.
bool isFoldableOp(const std::string &opType);

/// Whether the operator is evaluated at import only: it has no `bnn` form, so
/// a node of it whose inputs are not constants is an error.
bool isFoldOnlyOp(const std::string &opType);

/// Evaluates `node` of a foldable operator. `inputs[i]` is the constant
/// value of input i (null for an absent optional input); `inputShape` is the
/// static shape of input 0 for `Shape` and `Size`, whose input need not be a
/// constant. On success fills `outputs`, one tensor per node output, named
/// after it; on failure returns what is wrong (without the node's name).
std::optional<std::string>
foldConstantNode(const onnx::NodeProto &node,
                 const std::vector<const onnx::TensorProto *> &inputs,
                 const std::vector<int64_t> *inputShape,
                 std::vector<std::unique_ptr<onnx::TensorProto>> &outputs);

/// ONNX Slice along one axis of size `dim` with a non-zero `step`: resolves
/// `start` and `end` in place (negative ones count from the end, then both
/// are clamped) and returns how many elements the slice takes, `start` being
/// the first of them.
int64_t resolveSliceAxis(int64_t dim, int64_t step, int64_t &start,
                         int64_t &end);

/// The values of an integer or boolean constant (INT64, INT32, ... BOOL) as
/// int64; nullopt for other element types or malformed data.
std::optional<std::vector<int64_t>>
getIntegerValues(const onnx::TensorProto &tensor);

/// The values of a FLOAT or DOUBLE constant as double; nullopt otherwise.
std::optional<std::vector<double>>
getRealValues(const onnx::TensorProto &tensor);

} // namespace hafnia

#endif // HAFNIA_IMPORT_CONSTANTFOLDING_H
