//===- OnnxModelLoader.cpp - Load, check and normalize ONNX models --------===//

#include "hafnia/Import/OnnxModelLoader.h"
#include "hafnia/Import/ConstantFolding.h"
#include "hafnia/Import/ModelGuards.h"

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
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
  return describeOnnxNode(node);
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
    // The parser reports syntax errors in its status, but numbers it
    // cannot convert (`-inf`, 1e999) escape from std::stol and std::stof.
    try {
      auto status = onnx::OnnxParser::Parse(model, text.c_str());
      if (!status.IsOK())
        return "not a valid ONNX text model: " + oneLine(status.ErrorMessage());
    } catch (const std::logic_error &e) {
      return "not a valid ONNX text model: a number does not parse (" +
             std::string(e.what()) + ")";
    }
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

/// Lists the operators the importer does not handle, then the first nodes
/// that use them, on one line. Recurrent layers get their own message: their
/// shape arithmetic would otherwise bury them.
std::optional<std::string> findUnsupportedOps(const onnx::ModelProto &model,
                                              const OnnxLoadOptions &options) {
  auto opsetOf = [&](const std::string &domain) {
    for (const onnx::OperatorSetIdProto &import : model.opset_import())
      if (import.domain() == domain ||
          (isDefaultDomain(import.domain()) && isDefaultDomain(domain)))
        return std::to_string(import.version());
    return std::string("?");
  };
  std::vector<const onnx::NodeProto *> recurrent;
  for (const onnx::NodeProto &node : model.graph().node())
    if (isDefaultDomain(node.domain()) &&
        (node.op_type() == "LSTM" || node.op_type() == "GRU" ||
         node.op_type() == "RNN"))
      recurrent.push_back(&node);
  if (!recurrent.empty()) {
    std::string more = recurrent.size() > 1
                           ? " (and " + std::to_string(recurrent.size() - 1) +
                                 " more recurrent node(s))"
                           : "";
    return describeNode(*recurrent.front()) + " (" +
           recurrent.front()->op_type() + ")" + more +
           ": recurrent layers (LSTM, GRU, RNN) are not supported; Hafnia "
           "compiles feed-forward networks";
  }
  // QONNX's integer quantizer: its 1-bit form has levels -scale and 0, not
  // +1/-1; Brevitas writes binary layers as BipolarQuant.
  for (const onnx::NodeProto &node : model.graph().node())
    if ((node.domain() == "qonnx.custom_op.general" ||
         node.domain() == "finn.custom_op.general") &&
        (node.op_type() == "Quant" || node.op_type() == "IntQuant"))
      return describeNode(node) + " (" + node.op_type() +
             "): QONNX's integer quantization is not supported (even at 1 "
             "bit its levels are not +1/-1); export binary layers with "
             "BipolarQuant, which Hafnia maps onto the arrays";
  constexpr size_t kListedNodes = 10;
  std::vector<std::string> unsupported;
  std::vector<std::string> types;
  for (const onnx::NodeProto &node : model.graph().node()) {
    bool supported =
        isDefaultDomain(node.domain()) &&
        (!options.isSupportedOp || options.isSupportedOp(node.op_type()));
    if (supported)
      continue;
    std::string type = isDefaultDomain(node.domain())
                           ? node.op_type()
                           : node.domain() + "." + node.op_type();
    std::string typeWithOpset =
        type + " (opset " + opsetOf(node.domain()) + ")";
    if (std::find(types.begin(), types.end(), typeWithOpset) == types.end())
      types.push_back(typeWithOpset);
    unsupported.push_back(describeNode(node) + " (" + type + ")");
  }
  if (unsupported.empty())
    return std::nullopt;
  std::ostringstream os;
  os << types.size() << " operator type(s) Hafnia does not support: ";
  for (size_t i = 0; i < types.size(); ++i)
    os << (i ? ", " : "") << types[i];
  os << "; used by " << unsupported.size() << " node(s): ";
  for (size_t i = 0; i < unsupported.size() && i < kListedNodes; ++i)
    os << (i ? ", " : "") << unsupported[i];
  if (unsupported.size() > kListedNodes)
    os << " and " << unsupported.size() - kListedNodes << " more";
  os << "; docs/onnx-import.md lists the supported operators";
  return os.str();
}

/// An `--input-shape` value for dimensions `dims`: static ones as they are,
/// the batch as `batchSize`, other symbolic ones as `D`.
std::string example(
    const google::protobuf::RepeatedPtrField<onnx::TensorShapeProto_Dimension>
        &dims,
    int64_t batchSize) {
  std::string text;
  for (int i = 0; i < dims.size(); ++i) {
    if (i)
      text += "x";
    if (dims[i].has_dim_value() && dims[i].dim_value() > 0)
      text += std::to_string(dims[i].dim_value());
    else if (i == 0)
      text += std::to_string(batchSize);
    else
      text += "D";
  }
  return text;
}

/// A declared shape as messages print it: [1,0], [N,3] (names for symbolic
/// dimensions, ? for unknown ones).
std::string shapeText(
    const google::protobuf::RepeatedPtrField<onnx::TensorShapeProto_Dimension>
        &dims) {
  std::string text = "[";
  for (int i = 0; i < dims.size(); ++i) {
    if (i)
      text += ",";
    if (dims[i].has_dim_value())
      text += std::to_string(dims[i].dim_value());
    else if (dims[i].has_dim_param() && !dims[i].dim_param().empty())
      text += dims[i].dim_param();
    else
      text += "?";
  }
  return text + "]";
}

/// Turns the graph inputs named in `constants` into initializers of the
/// given values: their element type must be the input's, their shape agree
/// with its static dimensions.
std::optional<std::string> bindConstantInputs(
    onnx::GraphProto &graph,
    const std::vector<std::pair<std::string, std::string>> &constants) {
  for (const auto &[name, bytes] : constants) {
    auto *inputs = graph.mutable_input();
    auto input = std::find_if(
        inputs->begin(), inputs->end(),
        [&](const onnx::ValueInfoProto &info) { return info.name() == name; });
    if (input == inputs->end())
      return "--constant-input names '" + name +
             "', which is not an input of the model";
    onnx::TensorProto tensor;
    if (!tensor.ParseFromString(bytes))
      return "--constant-input for '" + name +
             "' is not a serialized ONNX TensorProto";
    const onnx::TypeProto &type = input->type();
    if (!type.has_tensor_type() ||
        type.tensor_type().elem_type() != tensor.data_type())
      return "--constant-input gives input '" + name + "' a " +
             onnxDataTypeName(tensor.data_type()) +
             " tensor, the model declares another type";
    if (type.tensor_type().has_shape()) {
      const onnx::TensorShapeProto &shape = type.tensor_type().shape();
      bool same = shape.dim_size() == tensor.dims_size();
      for (int d = 0; same && d < shape.dim_size(); ++d)
        same = !shape.dim(d).has_dim_value() ||
               shape.dim(d).dim_value() == tensor.dims(d);
      if (!same)
        return "--constant-input gives input '" + name +
               "' a shape the model's declaration does not allow";
    }
    tensor.set_name(name);
    auto *initializers = graph.mutable_initializer();
    auto existing = std::find_if(
        initializers->begin(), initializers->end(),
        [&](const onnx::TensorProto &t) { return t.name() == name; });
    if (existing != initializers->end())
      *existing = tensor;
    else
      *graph.add_initializer() = tensor;
    inputs->erase(input);
  }
  return std::nullopt;
}

/// Binds a symbolic batch dimension of the graph inputs to `batchSize`; any
/// other unknown dimension is an error naming the input.
std::optional<std::string> bindBatchDimension(
    onnx::GraphProto &graph, int64_t batchSize,
    const std::vector<std::pair<std::string, std::vector<int64_t>>>
        &inputShapes) {
  std::unordered_set<std::string> initializers;
  for (const onnx::TensorProto &tensor : graph.initializer())
    initializers.insert(tensor.name());
  for (const auto &[name, shape] : inputShapes) {
    auto input = std::find_if(
        graph.mutable_input()->begin(), graph.mutable_input()->end(),
        [&](const onnx::ValueInfoProto &info) { return info.name() == name; });
    if (input == graph.mutable_input()->end() || initializers.count(name))
      return "--input-shape names '" + name +
             "', which is not an input of the model";
    if (!input->type().has_tensor_type())
      return "input '" + name + "' is not a tensor";
    auto *tensorType = input->mutable_type()->mutable_tensor_type();
    if (tensorType->has_shape() &&
        tensorType->shape().dim_size() != static_cast<int>(shape.size()))
      return "--input-shape gives input '" + name + "' " +
             std::to_string(shape.size()) + " dimensions, the model " +
             std::to_string(tensorType->shape().dim_size());
    onnx::TensorShapeProto fixed;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (tensorType->has_shape()) {
        const auto &dim = tensorType->shape().dim(static_cast<int>(i));
        if (dim.has_dim_value() && dim.dim_value() > 0 &&
            dim.dim_value() != shape[i])
          return "--input-shape gives dimension " + std::to_string(i) +
                 " of input '" + name + "' as " + std::to_string(shape[i]) +
                 ", the model fixes it to " + std::to_string(dim.dim_value());
      }
      fixed.add_dim()->set_dim_value(shape[i]);
    }
    *tensorType->mutable_shape() = fixed;
  }
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
      // A declared 0 is an empty input (not an unknown size, which ONNX
      // writes as a name or nothing): no sample holds data, and the chip
      // would compute nothing from it.
      if (dim.has_dim_value() && dim.dim_value() == 0)
        return "input '" + input.name() + "' has shape " + shapeText(*dims) +
               ", empty (dimension " + std::to_string(i) +
               " is 0): Hafnia compiles models whose inputs hold data; give "
               "every dimension a positive size, in the model or with "
               "--input-shape=" +
               input.name() + ":" + example(*dims, batchSize);
      std::string name =
          dim.has_dim_param() ? " ('" + dim.dim_param() + "')" : "";
      if (i != 0)
        return "input '" + input.name() + "' has an unknown dimension " +
               std::to_string(i) + name +
               "; only the first (batch) dimension may be symbolic: fix it "
               "with --input-shape=" +
               input.name() + ":" + example(*dims, batchSize);
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

/// QONNX's BipolarQuant (Brevitas and FINN binary layers), in the domains
/// QONNX has used for it.
bool isBipolarQuant(const onnx::NodeProto &node) {
  return node.op_type() == "BipolarQuant" &&
         (node.domain() == "qonnx.custom_op.general" ||
          node.domain() == "finn.custom_op.general");
}

/// ONNX's checker, converter and shape inference know only the default
/// domain, and BipolarQuant(x, scale) has the shapes of PRelu(x, scale) (a
/// scale broadcast to x; PRelu, unlike Mul, is never folded as shape
/// arithmetic): it stands in as one through them. Returns the outputs of the
/// stand-ins.
std::set<std::string> standInForBipolarQuant(onnx::ModelProto &model) {
  std::set<std::string> outputs, domains;
  for (onnx::NodeProto &node : *model.mutable_graph()->mutable_node())
    if (isBipolarQuant(node) && node.output_size() == 1) {
      domains.insert(node.domain());
      node.clear_domain();
      node.set_op_type("PRelu");
      outputs.insert(node.output(0));
    }
  // Drop the QONNX opsets nothing uses any more.
  for (const onnx::NodeProto &node : model.graph().node())
    domains.erase(node.domain());
  auto *imports = model.mutable_opset_import();
  for (int i = imports->size() - 1; i >= 0; --i)
    if (domains.count(imports->Get(i).domain()))
      imports->DeleteSubrange(i, 1);
  return outputs;
}

/// The importer's name for BipolarQuant, back on its stand-ins.
void restoreBipolarQuant(onnx::ModelProto &model,
                         const std::set<std::string> &outputs) {
  for (onnx::NodeProto &node : *model.mutable_graph()->mutable_node())
    if (node.op_type() == "PRelu" && node.output_size() == 1 &&
        outputs.count(node.output(0)))
      node.set_op_type("BipolarQuant");
}

std::optional<std::string> loadChecked(std::string_view bytes,
                                       const OnnxLoadOptions &options,
                                       onnx::ModelProto &model) {
  guardOnnxShapeInference();
  if (auto error = parse(bytes, model))
    return error;
  std::set<std::string> bipolar = standInForBipolarQuant(model);

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
          bindConstantInputs(*model.mutable_graph(), options.constantInputs))
    return error;
  if (auto error = bindBatchDimension(*model.mutable_graph(), options.batchSize,
                                      options.inputShapes))
    return error;
  // With the batch bound, so that the input sizes it gives are checked too.
  if (auto error = guardOnnxModel(model))
    return error;

  onnx::ShapeInferenceOptions inference(/*check_type=*/true,
                                        /*strict_mode=*/1,
                                        /*data_prop=*/true);
  if (opset != kImportOpsetVersion) {
    // ONNX 1.12's adapters turn Upsample (and Resize-10) into a Resize
    // with the default half_pixel coordinates, which is not what they
    // compute: output i reads input floor(i / scale) (asymmetric, floor).
    // Their outputs are remembered here and the Resize fixed after.
    std::set<std::string> asymmetric;
    if (opset <= 10)
      for (const onnx::NodeProto &node : model.graph().node())
        if ((node.op_type() == "Upsample" || node.op_type() == "Resize") &&
            node.domain().empty() && node.output_size() > 0)
          asymmetric.insert(node.output(0));
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
    for (onnx::NodeProto &node : *model.mutable_graph()->mutable_node()) {
      if (node.op_type() != "Resize" || node.output_size() == 0 ||
          !asymmetric.count(node.output(0)))
        continue;
      auto set = [&](const char *name, const char *value) {
        for (onnx::AttributeProto &attr : *node.mutable_attribute())
          if (attr.name() == name) {
            attr.set_s(value);
            return;
          }
        onnx::AttributeProto *attr = node.add_attribute();
        attr->set_name(name);
        attr->set_type(onnx::AttributeProto::STRING);
        attr->set_s(value);
      };
      set("coordinate_transformation_mode", "asymmetric");
      set("nearest_mode", "floor");
    }
  }

  try {
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(), inference);
    // Where data propagation stops short, evaluate shape arithmetic and
    // infer again, until every shape is static or nothing more folds (each
    // round folds a node at least: a network's worth of reshapes, such as
    // ShuffleNet's channel shuffles, may take a round each).
    for (int round = 0;
         round < model.graph().node_size() && hasUnknownShapes(model.graph()) &&
         foldConstantsForInference(*model.mutable_graph());
         ++round) {
      model.mutable_graph()->clear_value_info();
      onnx::shape_inference::InferShapes(
          model, onnx::OpSchemaRegistry::Instance(), inference);
    }
  } catch (const std::exception &e) {
    return "ONNX shape inference failed: " + oneLine(e.what());
  }
  if (auto error = checkInferredSizes(model.graph()))
    return error;
  restoreBipolarQuant(model, bipolar);
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

std::optional<std::string> checkOnnxModel(const onnx::ModelProto &model) {
  guardOnnxShapeInference();
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto inferred = model;
    onnx::ShapeInferenceOptions inference(/*check_type=*/true,
                                          /*strict_mode=*/1,
                                          /*data_prop=*/true);
    onnx::shape_inference::InferShapes(
        inferred, onnx::OpSchemaRegistry::Instance(), inference);
  } catch (const std::exception &e) {
    return "the ONNX model fails ONNX's checker: " + oneLine(e.what());
  } catch (...) {
    return std::string("the ONNX model fails ONNX's checker: unknown error");
  }
  return std::nullopt;
}

std::string describeOnnxNode(const onnx::NodeProto &node) {
  if (!node.name().empty())
    return "node '" + node.name() + "'";
  // Optional outputs may be left empty: name the first one given.
  for (const std::string &output : node.output())
    if (!output.empty())
      return "node producing '" + output + "'";
  return "unnamed node";
}

std::string onnxDataTypeName(int32_t dataType) {
  if (onnx::TensorProto_DataType_IsValid(dataType))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(dataType));
  return "unknown type " + std::to_string(dataType);
}

} // namespace hafnia
