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
/// tensor within kMaxTensorElements; and that no FLOAT or DOUBLE initializer
/// holds NaN or infinities. Drops value_info entries that name no
/// value of the graph (they describe nothing; the converter assumes they do).
/// Returns a one-line error naming the node, attribute or tensor.
std::optional<std::string> guardOnnxModel(onnx::ModelProto &model);

/// After shape inference: every tensor within kMaxTensorElements (a Reshape
/// or a large batch can make one that no declared shape shows). The error
/// names the tensor and the node that computes it.
std::optional<std::string> checkInferredSizes(const onnx::GraphProto &graph);

} // namespace hafnia

#endif // HAFNIA_IMPORT_MODELGUARDS_H
