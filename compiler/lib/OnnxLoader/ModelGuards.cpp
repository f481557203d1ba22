//===- ModelGuards.cpp - What ONNX's own passes assume but do not check ---===//
//
// ONNX 1.12's version converter and shape inference trust parts of a model
// that its checker does not look at, and crash (not throw) when they are
// wrong. These checks run before them, on the model as parsed, so that a
// malformed file gets a one-line error naming the node and attribute.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Import/ModelGuards.h"
#include "hafnia/Import/ConstantFolding.h"
#include "hafnia/Import/OnnxModelLoader.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "google/protobuf/stubs/common.h"
#include "onnx/defs/schema.h"
#include "onnx/defs/shape_inference.h"

namespace hafnia {
namespace {

bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

/// Window attributes of Conv, ConvTranspose, the pools and their kin:
/// convPoolShapeInference divides by strides and sizes buffers by
/// kernel_shape and dilations without checking them (strides: fixed upstream
/// in onnx/onnx#7764, after 1.12). Their magnitude is bounded by the
/// runtime's kMaxAttribute, so the program emitted is one it accepts.
std::optional<std::string> checkWindow(const onnx::NodeProto &node) {
  for (const onnx::AttributeProto &attribute : node.attribute()) {
    const std::string &name = attribute.name();
    bool positive =
        name == "strides" || name == "dilations" || name == "kernel_shape";
    bool transposed = node.op_type() == "ConvTranspose";
    // Pad-2's pads attribute may crop; window pads may not.
    bool nonNegative = (name == "pads" && node.op_type() != "Pad") ||
                       (transposed && name == "output_padding");
    if (!positive && !nonNegative)
      continue;
    // A transposed convolution multiplies sizes by its steps.
    int64_t limit = transposed && name != "kernel_shape" && name != "pads"
                        ? kMaxTransposedStep
                        : kMaxAttribute;
    for (int64_t value : attribute.ints()) {
      if (positive ? value <= 0 : value < 0)
        return describeOnnxNode(node) + " (" + node.op_type() +
               "): attribute '" + name + "' holds " + std::to_string(value) +
               "; " + name + (positive ? " must be positive" : " must be >= 0");
      if (value > limit)
        return describeOnnxNode(node) + " (" + node.op_type() +
               "): attribute '" + name + "' holds " + std::to_string(value) +
               ", beyond the limit of " + std::to_string(limit);
    }
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
    if (!values.empty()) // data() of an empty vector may be null
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

/// A number as messages print it (%g: 1e-05, -1, 0.5).
std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

const char *valueName(double value) {
  return std::isnan(value) ? "NaN" : value > 0 ? "+inf" : "-inf";
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

/// A batch norm divides by sqrt(variance + epsilon): a running variance
/// below -epsilon makes NaN, one of exactly -epsilon infinities, on every
/// input. Checked where the variance is a constant (an initializer or a
/// Constant node), which it is in every exported inference model.
std::optional<std::string>
checkBatchNormVariances(const onnx::GraphProto &graph) {
  std::map<std::string, const onnx::TensorProto *> constants;
  for (const onnx::TensorProto &initializer : graph.initializer())
    constants[initializer.name()] = &initializer;
  for (const onnx::NodeProto &node : graph.node())
    if (node.op_type() == "Constant" && node.output_size() == 1)
      for (const onnx::AttributeProto &attribute : node.attribute())
        if (attribute.name() == "value" && attribute.has_t())
          constants[node.output(0)] = &attribute.t();
  for (const onnx::NodeProto &node : graph.node()) {
    if (node.op_type() != "BatchNormalization" ||
        !isDefaultDomain(node.domain()) || node.input_size() < 5)
      continue;
    auto variance = constants.find(node.input(4));
    if (variance == constants.end())
      continue;
    double epsilon = 1e-5;
    for (const onnx::AttributeProto &attribute : node.attribute())
      if (attribute.name() == "epsilon")
        epsilon = attribute.f();
    std::optional<std::vector<double>> values =
        getRealValues(*variance->second);
    if (!values)
      continue;
    for (size_t i = 0; i < values->size(); ++i)
      if (!((*values)[i] + epsilon > 0))
        return describeOnnxNode(node) +
               " (BatchNormalization): its variance '" + node.input(4) +
               "' holds " + formatNumber((*values)[i]) + " at index " +
               std::to_string(i) + ", and with epsilon " +
               formatNumber(epsilon) +
               " the batch norm divides by the square root of " +
               formatNumber((*values)[i] + epsilon) +
               "; a variance is never negative: fix the model";
  }
  return std::nullopt;
}

/// The weight of a convolution has the input's rank (M x C/group x kernel).
/// ONNX 1.12 takes the kernel from the weight's spatial axes and indexes the
/// input's strides, dilations, pads and dimensions with it: a weight of
/// another rank reads past them (convPoolShapeInference, onnx/onnx#8036,
/// fixed in onnx/onnx#8051 after 1.12; convTransposeShapeInference also
/// reads the weight's dimension 1 unchecked, onnx/onnx#7997).
void checkWeightRank(onnx::InferenceContext &context) {
  if (!onnx::hasInputShape(context, 0) || !onnx::hasInputShape(context, 1))
    return;
  int input = context.getInputType(0)->tensor_type().shape().dim_size();
  int weight = context.getInputType(1)->tensor_type().shape().dim_size();
  if (weight != input)
    fail_shape_inference("the weight has rank ", weight, ", the input ", input,
                         "; a convolution's weight has the input's rank");
}

} // namespace

void guardOnnxShapeInference() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Every version the loader can meet, each schema wrapped once.
    std::set<const onnx::OpSchema *> wrapped;
    for (const char *op : {"Conv", "ConvTranspose"})
      for (int version = 1; version <= kImportOpsetVersion; ++version) {
        const onnx::OpSchema *schema =
            onnx::OpSchemaRegistry::Schema(op, version);
        if (!schema || !wrapped.insert(schema).second)
          continue;
        onnx::InferenceFunction original =
            schema->GetTypeAndShapeInferenceFunction();
        // The registry hands out const schemas; it owns them, and this runs
        // once, before any inference.
        const_cast<onnx::OpSchema *>(schema)->TypeAndShapeInferenceFunction(
            [original](onnx::InferenceContext &context) {
              checkWeightRank(context);
              if (original)
                original(context);
            });
      }
  });
}

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
  // The checker accepts a graph without outputs; the program would have
  // nothing to read.
  if (graph.output_size() == 0)
    return std::string("the model declares no graph outputs: nothing it "
                       "computes could be read; declare its outputs");
  for (const onnx::ValueInfoProto &output : graph.output())
    if (!defined.count(output.name()))
      return "graph output '" + output.name() +
             "' is produced by no node, initializer or graph input; remove "
             "it or connect it";

  // An infinite Clip bound means no bound, and a -inf Pad value pads for a
  // max-pool: only NaN is refused there.
  std::set<std::string> infiniteAllowed;
  for (const onnx::NodeProto &node : graph.node()) {
    if (!isDefaultDomain(node.domain()))
      continue;
    if (node.op_type() == "Clip")
      for (int i = 1; i < node.input_size(); ++i)
        infiniteAllowed.insert(node.input(i));
    if (node.op_type() == "Pad" && node.input_size() > 2)
      infiniteAllowed.insert(node.input(2));
  }
  auto nonFinite = [&](const std::string &name,
                       std::optional<std::pair<int64_t, double>> bad,
                       const std::string &what) -> std::optional<std::string> {
    if (!bad || (infiniteAllowed.count(name) && !std::isnan(bad->second)))
      return std::nullopt;
    return what + " holds " + valueName(bad->second) + " at index " +
           std::to_string(bad->first) +
           ": a chip computes nothing meaningful from non-finite "
           "parameters; fix the model (a NaN in a batch norm's statistics "
           "often comes from a layer that never saw data in training)";
  };
  for (const onnx::TensorProto &initializer : graph.initializer()) {
    if (auto error = checkDims(initializer.dims(),
                               "initializer '" + initializer.name() + "'"))
      return error;
    if (auto error = nonFinite(initializer.name(), findNonFinite(initializer),
                               "initializer '" + initializer.name() + "'"))
      return error;
  }
  // Tensors and numbers in attributes: Constant's value (stored like an
  // initializer), ConstantOfShape's, and float attributes such as alpha or
  // epsilon, which end up in the program's instructions.
  for (const onnx::NodeProto &node : graph.node()) {
    if (!isDefaultDomain(node.domain()))
      continue;
    std::string output = node.output_size() ? node.output(0) : "";
    for (const onnx::AttributeProto &attribute : node.attribute()) {
      std::string what = describeOnnxNode(node) + " (" + node.op_type() +
                         "): attribute '" + attribute.name() + "'";
      // Clip-6's bounds and Pad-2's value are attributes.
      bool infinite =
          (node.op_type() == "Clip" &&
           (attribute.name() == "min" || attribute.name() == "max")) ||
          (node.op_type() == "Pad" && attribute.name() == "value");
      if (attribute.type() == onnx::AttributeProto::TENSOR) {
        if (auto error = nonFinite(node.op_type() == "Constant" ? output : "",
                                   findNonFinite(attribute.t()), what))
          return error;
        if (auto error = checkDims(attribute.t().dims(), what))
          return error;
      }
      std::vector<float> numbers(attribute.floats().begin(),
                                 attribute.floats().end());
      if (attribute.type() == onnx::AttributeProto::FLOAT)
        numbers.assign(1, attribute.f());
      else if (attribute.type() != onnx::AttributeProto::FLOATS)
        numbers.clear();
      for (size_t i = 0; i < numbers.size(); ++i)
        if (std::isnan(numbers[i]) ||
            (std::isinf(numbers[i]) && !infinite &&
             !(node.op_type() == "Constant" && infiniteAllowed.count(output))))
          return what + " is " + valueName(numbers[i]) +
                 (numbers.size() > 1 ? " at index " + std::to_string(i) : "") +
                 ": give a finite value";
    }
  }
  if (auto error = checkBatchNormVariances(graph))
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
