//===- ModelGuards.h - Checks ONNX's own passes rely on ---------*- C++ -*-===//
//
// ONNX 1.12's version converter and shape inference crash on some malformed
// models that its checker accepts; the loader runs these checks first.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_IMPORT_MODELGUARDS_H
#define HAFNIA_IMPORT_MODELGUARDS_H

#include <cstdint>
#include <optional>
#include <string>

#include "hafnia/runtime/Limits.h"
#include "onnx/onnx_pb.h"

namespace hafnia {

/// Writes names that are not valid UTF-8 with \xNN escapes (everywhere the
/// same, so references still match), then checks what ONNX's version
/// converter and shape inference assume: every
/// graph output is produced by a node, an initializer or a graph input;
/// window attributes (strides, dilations, kernel_shape) are positive and
/// window pads non-negative; declared dimensions are non-negative and every
/// tensor within kMaxTensorElements; that no FLOAT or DOUBLE initializer,
/// Constant value or tensor attribute holds NaN or infinities and no float
/// attribute is NaN or infinite (infinities are allowed where they mean
/// something: Clip's bounds, Pad's value); and that no constant batch-norm
/// variance plus epsilon is zero or negative. Drops value_info entries that
/// name no
/// value of the graph (they describe nothing; the converter assumes they do).
/// Returns a one-line error naming the node, attribute or tensor.
std::optional<std::string> guardOnnxModel(onnx::ModelProto &model);

/// Wraps the shape inference of the operators whose ONNX 1.12 inference
/// reads out of bounds on shapes only inference knows (a convolution whose
/// weight has another rank than its input) with a check that throws ONNX's
/// own shape-inference error first. Idempotent; the loader calls it before
/// any inference.
void guardOnnxShapeInference();

/// After shape inference: every tensor within kMaxTensorElements (a Reshape
/// or a large batch can make one that no declared shape shows). The error
/// names the tensor and the node that computes it.
std::optional<std::string> checkInferredSizes(const onnx::GraphProto &graph);

} // namespace hafnia

#endif // HAFNIA_IMPORT_MODELGUARDS_H
