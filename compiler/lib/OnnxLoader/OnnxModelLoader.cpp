//===- OnnxModelLoader.cpp - Load, check and normalize ONNX models --------===//

#include "hafnia/Import/OnnxModelLoader.h"
#include "hafnia/Import/ConstantFolding.h"

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <unordered_set>

#include "onnx/checker.h"
#include "onnx/defs/parser.h"
#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"

namespace hafnia {
namespace {

/// ONNX's messages span several lines; ours are one line.
std::string oneLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text;
}

bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

std::string describeNode(const onnx::NodeProto &node) {
  if (!node.name().empty())
    return "node '" + node.name() + "'";
  if (node.output_size() > 0)
    return "node producing '" + node.output(0) + "'";
  return "unnamed node";
}

std::optional<std::string> parse(std::string_view bytes,
                                 onnx::ModelProto &model) {
  // ONNX text starts with '<' after blanks and '#' comment lines; a binary
  // ModelProto never does ('<' would be an end-group tag).
  size_t first = bytes.find_first_not_of(" \t\r\n");
  while (first != std::string_view::npos && bytes[first] == '#') {
    size_t eol = bytes.find('\n', first);
    first = eol == std::string_view::npos
                ? eol
                : bytes.find_first_not_of(" \t\r\n", eol);
  }
  if (first != std::string_view::npos && bytes[first] == '<') {
    // ONNX text format; the parser needs a terminated string.
    std::string text(bytes);
    auto status = onnx::OnnxParser::Parse(model, text.c_str());
    if (!status.IsOK())
      return "not a valid ONNX text model: " + oneLine(status.ErrorMessage());
    return std::nullopt;
  }
  if (bytes.size() > static_cast<size_t>(INT32_MAX))
    return std::string("the model is larger than protobuf's 2 GiB limit");
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return std::string("not an ONNX model: the protobuf does not parse (the "
                       "file is truncated, corrupt or of another format)");
  if (!model.has_graph() || model.graph().node_size() == 0)
    return std::string("not an ONNX model: it holds no graph (the file is "
                       "empty, truncated or of another format)");
  return std::nullopt;
}

/// Lists every node whose operator the importer does not handle, at once.
std::optional<std::string> findUnsupportedOps(const onnx::ModelProto &model,
                                              const OnnxLoadOptions &options) {
  auto opsetOf = [&](const std::string &domain) {
    for (const onnx::OperatorSetIdProto &import : model.opset_import())
      if (import.domain() == domain ||
          (isDefaultDomain(import.domain()) && isDefaultDomain(domain)))
        return std::to_string(import.version());
    return std::string("?");
  };
  std::vector<std::string> unsupported;
  std::set<std::string> types;
  for (const onnx::NodeProto &node : model.graph().node()) {
    bool supported =
        isDefaultDomain(node.domain()) &&
        (!options.isSupportedOp || options.isSupportedOp(node.op_type()));
    if (supported)
      continue;
    std::string type = node.domain().empty() || node.domain() == "ai.onnx"
                           ? node.op_type()
                           : node.domain() + "." + node.op_type();
    types.insert(type);
    unsupported.push_back(describeNode(node) + " (" + type + ", opset " +
                          opsetOf(node.domain()) + ")");
  }
  if (unsupported.empty())
    return std::nullopt;
  std::ostringstream os;
  os << unsupported.size() << " node(s) use operators Hafnia does not support ("
     << types.size() << " operator type(s)): ";
  for (size_t i = 0; i < unsupported.size(); ++i)
    os << (i ? ", " : "") << unsupported[i];
  os << "; docs/onnx-import.md lists the supported operators";
  return os.str();
}

/// Binds a symbolic batch dimension of the graph inputs to `batchSize`; any
/// other unknown dimension is an error naming the input.
std::optional<std::string> bindBatchDimension(onnx::GraphProto &graph,
                                              int64_t batchSize) {
  std::unordered_set<std::string> initializers;
  for (const onnx::TensorProto &tensor : graph.initializer())
    initializers.insert(tensor.name());
  for (onnx::ValueInfoProto &input : *graph.mutable_input()) {
    if (initializers.count(input.name()))
      continue;
    if (!input.type().has_tensor_type())
      return "input '" + input.name() + "' is not a tensor";
    auto *tensorType = input.mutable_type()->mutable_tensor_type();
    if (!tensorType->has_shape())
      return "input '" + input.name() +
             "' has no shape; give it a static shape in the model";
    auto *dims = tensorType->mutable_shape()->mutable_dim();
    for (int i = 0; i < dims->size(); ++i) {
      onnx::TensorShapeProto_Dimension &dim = (*dims)[i];
      if (dim.has_dim_value() && dim.dim_value() > 0)
        continue;
      std::string name =
          dim.has_dim_param() ? " ('" + dim.dim_param() + "')" : "";
      if (i != 0)
        return "input '" + input.name() + "' has an unknown dimension " +
               std::to_string(i) + name +
               "; only the first (batch) dimension may be symbolic";
      dim.set_dim_value(batchSize);
    }
  }
  // Shapes recorded by the exporter may still name the symbolic batch; let
  // shape inference recompute them from the bound inputs.
  graph.clear_value_info();
  for (onnx::ValueInfoProto &output : *graph.mutable_output())
    if (output.type().has_tensor_type())
      output.mutable_type()->mutable_tensor_type()->clear_shape();
  return std::nullopt;
}

/// The static shape of a tensor type, or nullopt.
std::optional<std::vector<int64_t>> staticShape(const onnx::TypeProto &type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape())
    return std::nullopt;
  std::vector<int64_t> shape;
  for (const auto &dim : type.tensor_type().shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 0)
      return std::nullopt;
    shape.push_back(dim.dim_value());
  }
  return shape;
}

bool hasUnknownShapes(const onnx::GraphProto &graph) {
  for (const auto *infos : {&graph.value_info(), &graph.output()})
    for (const onnx::ValueInfoProto &info : *infos)
      if (!staticShape(info.type()))
        return true;
  return false;
}

/// Evaluates the nodes of constants (shape arithmetic) into initializers, so
/// that shape inference sees constants where data propagation does not reach
/// (ONNX 1.12 propagates through Shape, Gather, Concat, ... but not Div or
/// Where). Returns whether anything was folded. The importer evaluates the
/// same nodes with the same evaluator; this only serves shape inference.
bool foldConstantsForInference(onnx::GraphProto &graph) {
  std::map<std::string, const onnx::TensorProto *> constants;
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const onnx::TensorProto &tensor : graph.initializer())
    constants[tensor.name()] = &tensor;
  for (const auto *infos : {&graph.input(), &graph.value_info()})
    for (const onnx::ValueInfoProto &info : *infos)
      if (auto shape = staticShape(info.type()))
        shapes[info.name()] = *shape;
  std::vector<std::unique_ptr<onnx::TensorProto>> folded;
  std::vector<bool> removed(graph.node_size(), false);
  for (int n = 0; n < graph.node_size(); ++n) {
    const onnx::NodeProto &node = graph.node(n);
    if (node.op_type() == "Constant" && node.output_size() == 1) {
      for (const onnx::AttributeProto &attr : node.attribute())
        if (attr.name() == "value")
          constants[node.output(0)] = &attr.t();
      continue;
    }
    if (!isDefaultDomain(node.domain()) || !isFoldableOp(node.op_type()))
      continue;
    bool shapeOnly = node.op_type() == "Shape" || node.op_type() == "Size";
    std::vector<const onnx::TensorProto *> inputs;
    bool constant = true;
    for (const std::string &input : node.input()) {
      auto found = constants.find(input);
      inputs.push_back(found == constants.end() ? nullptr : found->second);
      constant &= input.empty() || found != constants.end();
    }
    auto shape = node.input_size() ? shapes.find(node.input(0)) : shapes.end();
    if (shapeOnly ? shape == shapes.end() : !constant)
      continue;
    std::vector<std::unique_ptr<onnx::TensorProto>> outputs;
    if (foldConstantNode(node, inputs, shapeOnly ? &shape->second : nullptr,
                         outputs) ||
        static_cast<int>(outputs.size()) != node.output_size())
      continue; // the importer reports it
    for (auto &output : outputs) {
      constants[output->name()] = output.get();
      folded.push_back(std::move(output));
    }
    removed[n] = true;
  }
  if (folded.empty())
    return false;
  for (auto &tensor : folded)
    *graph.add_initializer() = *tensor;
  // No node computes a graph output that became a constant any more.
  for (onnx::ValueInfoProto &output : *graph.mutable_output()) {
    auto constant = constants.find(output.name());
    if (constant == constants.end())
      continue;
    auto *type = output.mutable_type()->mutable_tensor_type();
    type->set_elem_type(constant->second->data_type());
    type->clear_shape();
    auto *shape = type->mutable_shape();
    for (int64_t dim : constant->second->dims())
      shape->add_dim()->set_dim_value(dim);
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int n = 0; n < graph.node_size(); ++n)
    if (!removed[n])
      *kept.Add() = graph.node(n);
  graph.mutable_node()->Swap(&kept);
  return true;
}

std::optional<std::string> loadChecked(std::string_view bytes,
                                       const OnnxLoadOptions &options,
                                       onnx::ModelProto &model) {
  if (auto error = parse(bytes, model))
    return error;

  int64_t opset = -1;
  for (const onnx::OperatorSetIdProto &import : model.opset_import())
    if (isDefaultDomain(import.domain()))
      opset = import.version();
  if (opset < 0)
    return std::string("the model imports no opset of the default ONNX domain");
  if (opset > kImportOpsetVersion)
    return "the model uses opset " + std::to_string(opset) +
           ", newer than the newest this build handles (" +
           std::to_string(kImportOpsetVersion) +
           "); export it with opset_version=" +
           std::to_string(kImportOpsetVersion);

  // Unsupported operators first: the full list is what the user acts on.
  if (auto error = findUnsupportedOps(model, options))
    return error;
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    return "the model fails the ONNX checker: " + oneLine(e.what());
  }
  if (auto error =
          bindBatchDimension(*model.mutable_graph(), options.batchSize))
    return error;

  onnx::ShapeInferenceOptions inference(/*check_type=*/true,
                                        /*strict_mode=*/1,
                                        /*data_prop=*/true);
  if (opset != kImportOpsetVersion) {
    try {
      // Some adapters (Softmax 12 to 13) need the shapes of their inputs.
      onnx::shape_inference::InferShapes(
          model, onnx::OpSchemaRegistry::Instance(), inference);
      model = onnx::version_conversion::ConvertVersion(
          model, static_cast<int>(kImportOpsetVersion));
    } catch (const std::exception &e) {
      return "cannot convert the model from opset " + std::to_string(opset) +
             " to opset " + std::to_string(kImportOpsetVersion) + ": " +
             oneLine(e.what());
    }
  }

  try {
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(), inference);
    // Where data propagation stops short, evaluate shape arithmetic and
    // infer again, until every shape is static or nothing more folds.
    for (int round = 0; round < 16 && hasUnknownShapes(model.graph()) &&
                        foldConstantsForInference(*model.mutable_graph());
         ++round) {
      model.mutable_graph()->clear_value_info();
      onnx::shape_inference::InferShapes(
          model, onnx::OpSchemaRegistry::Instance(), inference);
    }
  } catch (const std::exception &e) {
    return "ONNX shape inference failed: " + oneLine(e.what());
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> loadOnnxModel(std::string_view bytes,
                                         const OnnxLoadOptions &options,
                                         onnx::ModelProto &model) {
  // Nothing thrown by ONNX or protobuf may cross into the MLIR code.
  try {
    return loadChecked(bytes, options, model);
  } catch (const std::exception &e) {
    return "cannot load the model: " + oneLine(e.what());
  } catch (...) {
    return std::string("cannot load the model: unknown error in ONNX");
  }
}

std::string onnxDataTypeName(int32_t dataType) {
  if (onnx::TensorProto_DataType_IsValid(dataType))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(dataType));
  return "unknown type " + std::to_string(dataType);
}

} // namespace hafnia
