//===- ModelGuards.cpp - What ONNX's own passes assume but do not check ---===//
//
// ONNX 1.12's version converter and shape inference trust parts of a model
// that its checker does not look at, and crash (not throw) when they are
// wrong. These checks run before them, on the model as parsed, so that a
// malformed file gets a one-line error naming the node and attribute.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Import/ModelGuards.h"
#include "hafnia/Import/OnnxModelLoader.h"

#include <algorithm>
#include <set>

namespace hafnia {
namespace {

bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

/// Window attributes of Conv, ConvTranspose, the pools and their kin:
/// convPoolShapeInference divides by strides and sizes buffers by
/// kernel_shape and dilations without checking them (strides: fixed upstream
/// in onnx/onnx#7764, after 1.12).
std::optional<std::string> checkWindow(const onnx::NodeProto &node) {
  for (const onnx::AttributeProto &attribute : node.attribute()) {
    const std::string &name = attribute.name();
    bool positive =
        name == "strides" || name == "dilations" || name == "kernel_shape";
    // Pad-2's pads attribute may crop; window pads may not.
    bool nonNegative = name == "pads" && node.op_type() != "Pad";
    if (!positive && !nonNegative)
      continue;
    for (int64_t value : attribute.ints())
      if (positive ? value <= 0 : value < 0)
        return describeOnnxNode(node) + " (" + node.op_type() +
               "): attribute '" + name + "' holds " + std::to_string(value) +
               "; " + name + (positive ? " must be positive" : " must be >= 0");
  }
  return std::nullopt;
}

/// A tensor's dimensions: each non-negative and their product within the
/// size limit, computed without overflow.
std::optional<std::string>
checkDims(const google::protobuf::RepeatedField<int64_t> &dims,
          const std::string &what) {
  int64_t elements = 1;
  for (int64_t dim : dims) {
    if (dim < 0)
      return what + " has a negative dimension (" + std::to_string(dim) + ")";
    if (__builtin_mul_overflow(elements, dim, &elements) ||
        elements > kMaxTensorElements)
      return what + " has more than " + std::to_string(kMaxTensorElements) +
             " elements, the most a tensor may have";
  }
  return std::nullopt;
}

std::optional<std::string> checkValueShape(const onnx::ValueInfoProto &value,
                                           const std::string &what) {
  if (!value.type().has_tensor_type() ||
      !value.type().tensor_type().has_shape())
    return std::nullopt;
  google::protobuf::RepeatedField<int64_t> dims;
  for (const onnx::TensorShapeProto_Dimension &dim :
       value.type().tensor_type().shape().dim())
    if (dim.has_dim_value())
      dims.Add(dim.dim_value());
  return checkDims(dims, what);
}

} // namespace

std::optional<std::string> guardOnnxModel(onnx::ModelProto &model) {
  onnx::GraphProto &graph = *model.mutable_graph();
  std::set<std::string> defined;
  for (const onnx::ValueInfoProto &input : graph.input())
    defined.insert(input.name());
  for (const onnx::TensorProto &initializer : graph.initializer())
    defined.insert(initializer.name());
  for (const onnx::NodeProto &node : graph.node())
    for (const std::string &output : node.output())
      defined.insert(output);
  // The version converter dereferences the producer of every graph output
  // (onnx::graphProtoToGraph; fixed upstream in onnx/onnx#8121, after 1.12)
  // and segfaults on one that nothing defines. It also assumes every
  // value_info entry names a value (onnx/onnx#4078, open): such entries
  // describe nothing and are dropped.
  auto &valueInfo = *graph.mutable_value_info();
  valueInfo.erase(std::remove_if(valueInfo.begin(), valueInfo.end(),
                                 [&](const onnx::ValueInfoProto &value) {
                                   return !defined.count(value.name());
                                 }),
                  valueInfo.end());
  for (const onnx::ValueInfoProto &output : graph.output())
    if (!defined.count(output.name()))
      return "graph output '" + output.name() +
             "' is produced by no node, initializer or graph input; remove "
             "it or connect it";

  for (const onnx::TensorProto &initializer : graph.initializer())
    if (auto error = checkDims(initializer.dims(),
                               "initializer '" + initializer.name() + "'"))
      return error;
  for (const onnx::ValueInfoProto &input : graph.input())
    if (auto error = checkValueShape(input, "input '" + input.name() + "'"))
      return error;
  for (const onnx::ValueInfoProto &output : graph.output())
    if (auto error = checkValueShape(output, "output '" + output.name() + "'"))
      return error;
  for (const onnx::NodeProto &node : graph.node())
    if (isDefaultDomain(node.domain()))
      if (auto error = checkWindow(node))
        return error;
  return std::nullopt;
}

} // namespace hafnia
