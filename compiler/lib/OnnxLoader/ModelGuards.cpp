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
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "google/protobuf/stubs/common.h"

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

/// The index of the first NaN or infinity in a FLOAT or DOUBLE initializer,
/// with its value, or nullopt.
std::optional<std::pair<int64_t, double>>
findNonFinite(const onnx::TensorProto &tensor) {
  auto scan = [](auto values) -> std::optional<std::pair<int64_t, double>> {
    for (size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        return std::make_pair(static_cast<int64_t>(i),
                              static_cast<double>(values[i]));
    return std::nullopt;
  };
  auto raw = [&](auto element) {
    std::vector<decltype(element)> values(tensor.raw_data().size() /
                                          sizeof(element));
    std::memcpy(values.data(), tensor.raw_data().data(),
                values.size() * sizeof(element));
    return scan(values);
  };
  if (tensor.data_type() == onnx::TensorProto::FLOAT)
    return tensor.has_raw_data()
               ? raw(float())
               : scan(std::vector<float>(tensor.float_data().begin(),
                                         tensor.float_data().end()));
  if (tensor.data_type() == onnx::TensorProto::DOUBLE)
    return tensor.has_raw_data()
               ? raw(double())
               : scan(std::vector<double>(tensor.double_data().begin(),
                                          tensor.double_data().end()));
  return std::nullopt;
}

/// `name` with every byte that is not part of valid UTF-8 written as \xNN:
/// names end up in the program, whose proto3 strings must be UTF-8. The
/// check is protobuf's own, the one that parsing the program applies.
std::string escapeInvalidUtf8(const std::string &name) {
  using google::protobuf::internal::UTF8SpnStructurallyValid;
  std::string escaped;
  for (size_t i = 0; i < name.size();) {
    size_t valid = UTF8SpnStructurallyValid(
        google::protobuf::StringPiece(name.data() + i, name.size() - i));
    escaped.append(name, i, valid);
    i += valid;
    if (i < name.size()) {
      static const char digits[] = "0123456789abcdef";
      auto byte = static_cast<unsigned char>(name[i++]);
      escaped += {'\\', 'x', digits[byte >> 4], digits[byte & 15]};
    }
  }
  return escaped;
}

/// Escapes every name of the graph the same way, so references still match.
void escapeNames(onnx::GraphProto &graph) {
  // Only names that change are set: setting an absent node name would
  // make it present (and ONNX's messages print empty names).
  auto fix = [](std::string &name) {
    if (std::string escaped = escapeInvalidUtf8(name); escaped != name)
      name = std::move(escaped);
  };
  for (onnx::NodeProto &node : *graph.mutable_node()) {
    if (node.has_name())
      fix(*node.mutable_name());
    for (std::string &input : *node.mutable_input())
      fix(input);
    for (std::string &output : *node.mutable_output())
      fix(output);
  }
  for (onnx::TensorProto &initializer : *graph.mutable_initializer())
    fix(*initializer.mutable_name());
  for (auto *values : {graph.mutable_input(), graph.mutable_output(),
                       graph.mutable_value_info()})
    for (onnx::ValueInfoProto &value : *values)
      fix(*value.mutable_name());
}

} // namespace

std::optional<std::string> guardOnnxModel(onnx::ModelProto &model) {
  onnx::GraphProto &graph = *model.mutable_graph();
  escapeNames(graph);
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

  // An infinite Clip bound means no bound: only NaN is refused there.
  std::set<std::string> clipBounds;
  for (const onnx::NodeProto &node : graph.node())
    if (node.op_type() == "Clip" && isDefaultDomain(node.domain()))
      for (int i = 1; i < node.input_size(); ++i)
        clipBounds.insert(node.input(i));
  for (const onnx::TensorProto &initializer : graph.initializer()) {
    if (auto error = checkDims(initializer.dims(),
                               "initializer '" + initializer.name() + "'"))
      return error;
    std::optional<std::pair<int64_t, double>> bad = findNonFinite(initializer);
    if (bad && clipBounds.count(initializer.name()) && !std::isnan(bad->second))
      bad.reset();
    if (bad)
      return "initializer '" + initializer.name() + "' holds " +
             (std::isnan(bad->second) ? "NaN"
              : bad->second > 0       ? "+inf"
                                      : "-inf") +
             " at index " + std::to_string(bad->first) +
             ": a chip computes nothing meaningful from non-finite "
             "parameters; fix the model (a NaN in a batch norm's statistics "
             "often comes from a layer that never saw data in training)";
  }
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

std::optional<std::string> checkInferredSizes(const onnx::GraphProto &graph) {
  std::map<std::string, const onnx::NodeProto *> producers;
  for (const onnx::NodeProto &node : graph.node())
    for (const std::string &output : node.output())
      producers[output] = &node;
  auto check = [&](const onnx::ValueInfoProto &value) {
    auto producer = producers.find(value.name());
    return checkValueShape(
        value, "tensor '" + value.name() + "'" +
                   (producer == producers.end()
                        ? std::string()
                        : " (computed by " +
                              describeOnnxNode(*producer->second) + ")"));
  };
  for (const onnx::ValueInfoProto &value : graph.value_info())
    if (auto error = check(value))
      return error;
  for (const onnx::ValueInfoProto &value : graph.output())
    if (auto error = check(value))
      return error;
  return std::nullopt;
}

} // namespace hafnia
