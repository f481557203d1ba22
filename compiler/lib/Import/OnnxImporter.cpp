//===- OnnxImporter.cpp - ONNX models to the bnn dialect ------------------===//
//
// Walks a model that OnnxModelLoader has checked, converted to one opset and
// shape-inferred, and builds one `bnn` op per node. Each op is located at the
// name of its ONNX node so that every later diagnostic names the node.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Import/OnnxImporter.h"

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Import/ConstantFolding.h"
#include "hafnia/Import/OnnxModelLoader.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

#include <cstring>
#include <numeric>

using namespace mlir;
using llvm::ArrayRef;
using llvm::SmallVector;
using llvm::StringRef;

namespace hafnia {
namespace {

/// Imports one checked, shape-inferred ONNX graph.
class Importer {
public:
  Importer(MLIRContext *context, const onnx::ModelProto &model,
           StringRef fileName)
      : context(context), builder(context), model(model),
        fileLoc(FileLineColLoc::get(context, fileName, 0, 0)) {}

  OwningOpRef<ModuleOp> run();

  using Handler = LogicalResult (Importer::*)(const onnx::NodeProto &);
  struct OpEntry {
    StringRef name;
    Handler handler;
  };
  static ArrayRef<OpEntry> opTable();

private:
  // Diagnostics.
  InFlightDiagnostic error() { return emitError(fileLoc); }
  InFlightDiagnostic error(const onnx::NodeProto &node);
  Location nodeLoc(const onnx::NodeProto &node);

  // Values, constants and types.
  FailureOr<RankedTensorType> getTensorType(const std::string &name,
                                            const onnx::TypeProto &type);
  FailureOr<Value> getOperand(const onnx::NodeProto &node, int index);
  Value getOptionalOperand(const onnx::NodeProto &node, int index,
                           bool &failed);
  FailureOr<RankedTensorType> getResultType(const onnx::NodeProto &node,
                                            int index = 0);
  FailureOr<ElementsAttr> getFloatData(const onnx::TensorProto &tensor);
  FailureOr<SmallVector<int64_t>> getConstantInts(const onnx::NodeProto &node,
                                                  int index);
  /// A constant scalar operand as an attribute; null when it is absent.
  FailureOr<FloatAttr> getOptionalConstantScalar(const onnx::NodeProto &node,
                                                 int index);
  bool hasInput(const onnx::NodeProto &node, int index) const {
    return node.input_size() > index && !node.input(index).empty();
  }
  LogicalResult setResult(const onnx::NodeProto &node, Value value);
  LogicalResult rejectExtraOutputs(const onnx::NodeProto &node, StringRef what);

  // Attributes.
  const onnx::AttributeProto *findAttr(const onnx::NodeProto &node,
                                       StringRef name);
  int64_t intAttr(const onnx::NodeProto &node, StringRef name, int64_t def);
  float floatAttr(const onnx::NodeProto &node, StringRef name, float def);
  std::string stringAttr(const onnx::NodeProto &node, StringRef name,
                         StringRef def);
  SmallVector<int64_t> intsAttr(const onnx::NodeProto &node, StringRef name,
                                ArrayRef<int64_t> def);
  /// The window of a convolution or pooling node over `input`, with
  /// `auto_pad` resolved into explicit pads.
  struct Window {
    SmallVector<int64_t> kernel, strides, pads, dilations;
  };
  FailureOr<Window> getWindow(const onnx::NodeProto &node,
                              RankedTensorType input, ArrayRef<int64_t> kernel);
  FailureOr<int64_t> normalizeAxis(const onnx::NodeProto &node, int64_t axis,
                                   int64_t rank);

  // Import-time evaluation of shape arithmetic and other constant nodes.
  /// Whether every present input of `node` is a constant (for Shape and
  /// Size: whether its input has a static shape).
  bool hasConstantInputs(const onnx::NodeProto &node);
  LogicalResult foldNode(const onnx::NodeProto &node);
  /// The error for a node that can only be evaluated at import but whose
  /// inputs are not all constants.
  LogicalResult rejectDynamic(const onnx::NodeProto &node);
  std::optional<SmallVector<int64_t>> staticShapeOf(const std::string &name);

  // Operators.
  LogicalResult importConstant(const onnx::NodeProto &node);
  LogicalResult importIdentity(const onnx::NodeProto &node);
  LogicalResult importDropout(const onnx::NodeProto &node);
  LogicalResult importConv(const onnx::NodeProto &node);
  LogicalResult importGemm(const onnx::NodeProto &node);
  LogicalResult importMatMul(const onnx::NodeProto &node);
  LogicalResult importBatchNorm(const onnx::NodeProto &node);
  template <typename OpTy>
  LogicalResult importUnary(const onnx::NodeProto &node);
  LogicalResult importClip(const onnx::NodeProto &node);
  LogicalResult importHardSigmoid(const onnx::NodeProto &node);
  LogicalResult importMaxPool(const onnx::NodeProto &node);
  LogicalResult importAveragePool(const onnx::NodeProto &node);
  LogicalResult importGlobalAveragePool(const onnx::NodeProto &node);
  LogicalResult importSoftmax(const onnx::NodeProto &node);
  template <typename OpTy>
  LogicalResult importBinary(const onnx::NodeProto &node);
  LogicalResult importReshape(const onnx::NodeProto &node);
  LogicalResult importFlatten(const onnx::NodeProto &node);
  LogicalResult importTranspose(const onnx::NodeProto &node);
  LogicalResult importSqueeze(const onnx::NodeProto &node);
  LogicalResult importUnsqueeze(const onnx::NodeProto &node);
  LogicalResult importConcat(const onnx::NodeProto &node);

  MLIRContext *context;
  OpBuilder builder;
  const onnx::ModelProto &model;
  Location fileLoc;
  llvm::StringMap<Value> values;
  llvm::StringMap<const onnx::TensorProto *> constants;
  llvm::DenseMap<const onnx::TensorProto *, Value> materializedConstants;
  llvm::StringMap<const onnx::TypeProto *> types;
  // Tensors of Constant nodes given as value_float(s)/value_int(s).
  std::vector<std::unique_ptr<onnx::TensorProto>> ownedConstants;
};

ArrayRef<Importer::OpEntry> Importer::opTable() {
  // Sorted by name; `getSupportedOnnxOps` lists these.
  static const OpEntry table[] = {
      {"Add", &Importer::importBinary<bnn::AddOp>},
      {"AveragePool", &Importer::importAveragePool},
      {"BatchNormalization", &Importer::importBatchNorm},
      {"Clip", &Importer::importClip},
      {"Concat", &Importer::importConcat},
      {"Constant", &Importer::importConstant},
      {"Conv", &Importer::importConv},
      {"Div", &Importer::importBinary<bnn::DivOp>},
      {"Dropout", &Importer::importDropout},
      {"Flatten", &Importer::importFlatten},
      {"Gemm", &Importer::importGemm},
      {"GlobalAveragePool", &Importer::importGlobalAveragePool},
      {"HardSigmoid", &Importer::importHardSigmoid},
      {"Identity", &Importer::importIdentity},
      {"MatMul", &Importer::importMatMul},
      {"MaxPool", &Importer::importMaxPool},
      {"Mul", &Importer::importBinary<bnn::MulOp>},
      {"Relu", &Importer::importUnary<bnn::ReluOp>},
      {"Reshape", &Importer::importReshape},
      {"Sigmoid", &Importer::importUnary<bnn::SigmoidOp>},
      {"Sign", &Importer::importUnary<bnn::SignOp>},
      {"Softmax", &Importer::importSoftmax},
      {"Squeeze", &Importer::importSqueeze},
      {"Sub", &Importer::importBinary<bnn::SubOp>},
      {"Tanh", &Importer::importUnary<bnn::TanhOp>},
      {"Transpose", &Importer::importTranspose},
      {"Unsqueeze", &Importer::importUnsqueeze},
  };
  return table;
}

std::string describeNode(const onnx::NodeProto &node) {
  if (!node.name().empty())
    return "node '" + node.name() + "'";
  return "node producing '" + (node.output_size() ? node.output(0) : "") + "'";
}

InFlightDiagnostic Importer::error(const onnx::NodeProto &node) {
  return emitError(fileLoc)
         << describeNode(node) << " (" << node.op_type() << "): ";
}

Location Importer::nodeLoc(const onnx::NodeProto &node) {
  StringRef name = node.name();
  if (name.empty() && node.output_size())
    name = node.output(0);
  return NameLoc::get(StringAttr::get(context, name), fileLoc);
}

//===----------------------------------------------------------------------===//
// Values, constants and types
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType>
Importer::getTensorType(const std::string &name, const onnx::TypeProto &type) {
  if (!type.has_tensor_type())
    return error() << "tensor '" << name
                   << "' is not a tensor (sequences, maps and optionals are "
                      "not supported)";
  const auto &tensorType = type.tensor_type();
  if (tensorType.elem_type() != onnx::TensorProto::FLOAT)
    return error() << "tensor '" << name << "' has element type "
                   << onnxDataTypeName(tensorType.elem_type())
                   << "; Hafnia computes in FLOAT (float32)";
  if (!tensorType.has_shape())
    return error() << "tensor '" << name
                   << "' has an unknown shape after shape inference";
  SmallVector<int64_t> shape;
  for (const auto &dim : tensorType.shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 0)
      return error() << "tensor '" << name
                     << "' has an unknown dimension after shape inference; "
                        "only the batch dimension of an input may be symbolic";
    shape.push_back(dim.dim_value());
  }
  return RankedTensorType::get(shape, builder.getF32Type());
}

FailureOr<ElementsAttr>
Importer::getFloatData(const onnx::TensorProto &tensor) {
  if (tensor.data_type() != onnx::TensorProto::FLOAT)
    return error() << "constant '" << tensor.name() << "' has element type "
                   << onnxDataTypeName(tensor.data_type())
                   << "; Hafnia computes in FLOAT (float32)";
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL)
    return error() << "constant '" << tensor.name()
                   << "' keeps its data in an external file; save the model "
                      "with its weights inside";
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  auto type = RankedTensorType::get(shape, builder.getF32Type());
  int64_t count = type.getNumElements();
  // One copy, from the protobuf's buffer straight into the attribute.
  if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if (static_cast<int64_t>(raw.size()) != count * 4)
      return error() << "constant '" << tensor.name() << "' holds "
                     << raw.size() << " bytes, its shape needs " << count * 4;
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(raw.data(), raw.size())));
  }
  if (tensor.float_data_size() != count)
    return error() << "constant '" << tensor.name() << "' holds "
                   << tensor.float_data_size() << " values, its shape needs "
                   << count;
  return cast<ElementsAttr>(DenseElementsAttr::get(
      type, ArrayRef<float>(tensor.float_data().data(), count)));
}

FailureOr<Value> Importer::getOperand(const onnx::NodeProto &node, int index) {
  if (!hasInput(node, index))
    return error(node) << "input " << index << " is missing";
  const std::string &name = node.input(index);
  auto value = values.find(name);
  if (value != values.end())
    return value->second;
  auto constant = constants.find(name);
  if (constant == constants.end())
    return error(node) << "input '" << name
                       << "' is not produced by any node, input or "
                          "initializer";
  // Materialized once, at its first use, so unused initializers cost nothing
  // and names aliasing one tensor (through Identity) share one constant.
  Value &materialized = materializedConstants[constant->second];
  if (!materialized) {
    FailureOr<ElementsAttr> data = getFloatData(*constant->second);
    if (failed(data))
      return failure();
    materialized = builder.create<bnn::ConstantOp>(
        NameLoc::get(StringAttr::get(context, name), fileLoc), data->getType(),
        *data);
  }
  values[name] = materialized;
  return materialized;
}

Value Importer::getOptionalOperand(const onnx::NodeProto &node, int index,
                                   bool &failed) {
  if (!hasInput(node, index))
    return {};
  FailureOr<Value> value = getOperand(node, index);
  failed |= mlir::failed(value);
  return mlir::succeeded(value) ? *value : Value();
}

FailureOr<RankedTensorType> Importer::getResultType(const onnx::NodeProto &node,
                                                    int index) {
  const std::string &name = node.output(index);
  auto type = types.find(name);
  if (type == types.end())
    return error(node) << "ONNX shape inference gave no type for output '"
                       << name << "'";
  return getTensorType(name, *type->second);
}

LogicalResult Importer::setResult(const onnx::NodeProto &node, Value value) {
  values[node.output(0)] = value;
  return success();
}

LogicalResult Importer::rejectExtraOutputs(const onnx::NodeProto &node,
                                           StringRef what) {
  for (int i = 1; i < node.output_size(); ++i)
    if (!node.output(i).empty())
      return error(node) << "the " << what << " output '" << node.output(i)
                         << "' is not supported";
  return success();
}

FailureOr<SmallVector<int64_t>>
Importer::getConstantInts(const onnx::NodeProto &node, int index) {
  auto constant = constants.find(node.input(index));
  if (constant == constants.end())
    return error(node) << "input '" << node.input(index)
                       << "' must be a constant (an initializer or a Constant "
                          "node)";
  const onnx::TensorProto &tensor = *constant->second;
  if (std::optional<std::vector<int64_t>> ints = getIntegerValues(tensor))
    return SmallVector<int64_t>(ints->begin(), ints->end());
  return error(node) << "input '" << node.input(index)
                     << "' must hold integer values, it holds "
                     << onnxDataTypeName(tensor.data_type());
}

FailureOr<FloatAttr>
Importer::getOptionalConstantScalar(const onnx::NodeProto &node, int index) {
  if (!hasInput(node, index))
    return FloatAttr();
  auto constant = constants.find(node.input(index));
  if (constant == constants.end())
    return error(node) << "input '" << node.input(index)
                       << "' must be a constant scalar";
  FailureOr<ElementsAttr> data = getFloatData(*constant->second);
  if (failed(data))
    return failure();
  if (data->getNumElements() != 1)
    return error(node) << "input '" << node.input(index)
                       << "' must be a scalar";
  return builder.getF32FloatAttr(*data->value_begin<float>());
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *Importer::findAttr(const onnx::NodeProto &node,
                                               StringRef name) {
  for (const onnx::AttributeProto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

int64_t Importer::intAttr(const onnx::NodeProto &node, StringRef name,
                          int64_t def) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  return attr ? attr->i() : def;
}

float Importer::floatAttr(const onnx::NodeProto &node, StringRef name,
                          float def) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  return attr ? attr->f() : def;
}

std::string Importer::stringAttr(const onnx::NodeProto &node, StringRef name,
                                 StringRef def) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  return attr ? attr->s() : def.str();
}

SmallVector<int64_t> Importer::intsAttr(const onnx::NodeProto &node,
                                        StringRef name, ArrayRef<int64_t> def) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  if (!attr)
    return SmallVector<int64_t>(def);
  return SmallVector<int64_t>(attr->ints().begin(), attr->ints().end());
}

FailureOr<Importer::Window> Importer::getWindow(const onnx::NodeProto &node,
                                                RankedTensorType input,
                                                ArrayRef<int64_t> kernel) {
  if (input.getRank() != 3 && input.getRank() != 4)
    return error(node) << "only 1-D and 2-D windows are supported, the input "
                          "has rank "
                       << input.getRank();
  size_t spatial = input.getRank() - 2;
  if (kernel.size() != spatial)
    return error(node) << "expects a kernel of " << spatial
                       << " spatial dimensions, got " << kernel.size();
  Window window;
  window.kernel.assign(kernel.begin(), kernel.end());
  SmallVector<int64_t> ones(spatial, 1);
  window.strides = intsAttr(node, "strides", ones);
  window.dilations = intsAttr(node, "dilations", ones);
  window.pads.assign(2 * spatial, 0);
  std::string autoPad = stringAttr(node, "auto_pad", "NOTSET");
  if (autoPad == "NOTSET") {
    window.pads = intsAttr(node, "pads", window.pads);
    return window;
  }
  if (autoPad == "VALID")
    return window;
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return error(node) << "unknown auto_pad '" << autoPad << "'";
  if (window.strides.size() != spatial || window.dilations.size() != spatial)
    return error(node) << "expects one stride and dilation per spatial axis";
  // SAME: the output has ceil(input / stride) positions; the odd pad goes at
  // the end (SAME_UPPER) or the beginning (SAME_LOWER).
  for (size_t i = 0; i < spatial; ++i) {
    int64_t size = input.getDimSize(i + 2), stride = window.strides[i];
    int64_t output = (size + stride - 1) / stride;
    int64_t total = std::max<int64_t>(
        0, (output - 1) * stride + (kernel[i] - 1) * window.dilations[i] + 1 -
               size);
    int64_t small = total / 2, large = total - small;
    window.pads[i] = autoPad == "SAME_UPPER" ? small : large;
    window.pads[i + spatial] = autoPad == "SAME_UPPER" ? large : small;
  }
  return window;
}

FailureOr<int64_t> Importer::normalizeAxis(const onnx::NodeProto &node,
                                           int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return error(node) << "axis " << axis << " is out of range for rank "
                       << rank;
  return axis < 0 ? axis + rank : axis;
}

//===----------------------------------------------------------------------===//
// Import-time evaluation
//===----------------------------------------------------------------------===//

std::optional<SmallVector<int64_t>>
Importer::staticShapeOf(const std::string &name) {
  auto value = values.find(name);
  if (value != values.end())
    return SmallVector<int64_t>(
        cast<RankedTensorType>(value->second.getType()).getShape());
  auto constant = constants.find(name);
  if (constant != constants.end())
    return SmallVector<int64_t>(constant->second->dims().begin(),
                                constant->second->dims().end());
  auto type = types.find(name);
  if (type == types.end() || !type->second->has_tensor_type() ||
      !type->second->tensor_type().has_shape())
    return std::nullopt;
  SmallVector<int64_t> shape;
  for (const auto &dim : type->second->tensor_type().shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 0)
      return std::nullopt;
    shape.push_back(dim.dim_value());
  }
  return shape;
}

bool Importer::hasConstantInputs(const onnx::NodeProto &node) {
  if (node.op_type() == "Shape" || node.op_type() == "Size")
    return node.input_size() > 0 && staticShapeOf(node.input(0)).has_value();
  for (int i = 0; i < node.input_size(); ++i)
    if (hasInput(node, i) && !constants.count(node.input(i)))
      return false;
  return true;
}

LogicalResult Importer::foldNode(const onnx::NodeProto &node) {
  std::vector<const onnx::TensorProto *> inputs;
  for (int i = 0; i < node.input_size(); ++i)
    inputs.push_back(hasInput(node, i) ? constants.lookup(node.input(i))
                                       : nullptr);
  std::optional<SmallVector<int64_t>> shape;
  std::vector<int64_t> inputShape;
  if (node.op_type() == "Shape" || node.op_type() == "Size") {
    shape = staticShapeOf(node.input(0));
    inputShape.assign(shape->begin(), shape->end());
  }
  std::vector<std::unique_ptr<onnx::TensorProto>> outputs;
  if (std::optional<std::string> message = foldConstantNode(
          node, inputs, shape ? &inputShape : nullptr, outputs))
    return error(node) << "cannot evaluate it at import: " << *message;
  for (std::unique_ptr<onnx::TensorProto> &output : outputs) {
    constants[output->name()] = output.get();
    ownedConstants.push_back(std::move(output));
  }
  return success();
}

LogicalResult Importer::rejectDynamic(const onnx::NodeProto &node) {
  if (node.op_type() == "Shape" || node.op_type() == "Size")
    return error(node) << "the shape of '" << node.input(0)
                       << "' is not static; Hafnia evaluates " << node.op_type()
                       << " at import";
  for (int i = 0; i < node.input_size(); ++i)
    if (hasInput(node, i) && !constants.count(node.input(i)))
      return error(node) << "input '" << node.input(i)
                         << "' is not a constant; Hafnia evaluates "
                         << node.op_type()
                         << " at import, on constants and static shapes only";
  return error(node) << "operator is not supported";
}

//===----------------------------------------------------------------------===//
// Operators
//===----------------------------------------------------------------------===//

LogicalResult Importer::importConstant(const onnx::NodeProto &node) {
  const std::string &name = node.output(0);
  if (const onnx::AttributeProto *value = findAttr(node, "value")) {
    constants[name] = &value->t();
    return success();
  }
  auto tensor = std::make_unique<onnx::TensorProto>();
  tensor->set_name(name);
  if (const onnx::AttributeProto *attr = findAttr(node, "value_float")) {
    tensor->set_data_type(onnx::TensorProto::FLOAT);
    tensor->add_float_data(attr->f());
  } else if (const onnx::AttributeProto *attr =
                 findAttr(node, "value_floats")) {
    tensor->set_data_type(onnx::TensorProto::FLOAT);
    tensor->add_dims(attr->floats_size());
    tensor->mutable_float_data()->CopyFrom(attr->floats());
  } else if (const onnx::AttributeProto *attr = findAttr(node, "value_int")) {
    tensor->set_data_type(onnx::TensorProto::INT64);
    tensor->add_int64_data(attr->i());
  } else if (const onnx::AttributeProto *attr = findAttr(node, "value_ints")) {
    tensor->set_data_type(onnx::TensorProto::INT64);
    tensor->add_dims(attr->ints_size());
    tensor->mutable_int64_data()->CopyFrom(attr->ints());
  } else {
    return error(node) << "only value, value_float(s) and value_int(s) "
                          "constants are supported";
  }
  constants[name] = tensor.get();
  ownedConstants.push_back(std::move(tensor));
  return success();
}

LogicalResult Importer::importIdentity(const onnx::NodeProto &node) {
  // An identity disappears: its output names its input's value or constant.
  auto constant = constants.find(node.input(0));
  if (constant != constants.end() && !values.count(node.input(0))) {
    constants[node.output(0)] = constant->second;
    return success();
  }
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  return setResult(node, *input);
}

LogicalResult Importer::importDropout(const onnx::NodeProto &node) {
  if (hasInput(node, 2)) {
    auto training = constants.find(node.input(2));
    if (training == constants.end() ||
        (training->second->int32_data_size() &&
         training->second->int32_data(0)) ||
        (training->second->has_raw_data() &&
         training->second->raw_data().find_first_not_of('\0') !=
             std::string::npos))
      return error(node) << "only inference dropout (training_mode false) "
                            "is supported";
  }
  if (failed(rejectExtraOutputs(node, "mask")))
    return failure();
  return importIdentity(node);
}

LogicalResult Importer::importConv(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<Value> weight = getOperand(node, 1);
  bool failedBias = false;
  Value bias = getOptionalOperand(node, 2, failedBias);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(input) || failed(weight) || failedBias || failed(resultType))
    return failure();
  ArrayRef<int64_t> kernel =
      cast<RankedTensorType>(weight->getType()).getShape().drop_front(2);
  FailureOr<Window> window =
      getWindow(node, cast<RankedTensorType>(input->getType()), kernel);
  if (failed(window))
    return failure();
  auto conv = builder.create<bnn::ConvOp>(
      nodeLoc(node), *resultType, *input, *weight, bias, window->strides,
      window->pads, window->dilations, intAttr(node, "group", 1));
  return setResult(node, conv);
}

LogicalResult Importer::importGemm(const onnx::NodeProto &node) {
  FailureOr<Value> lhs = getOperand(node, 0);
  FailureOr<Value> rhs = getOperand(node, 1);
  bool failedBias = false;
  Value bias = getOptionalOperand(node, 2, failedBias);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(lhs) || failed(rhs) || failedBias || failed(resultType))
    return failure();
  auto dense = builder.create<bnn::DenseOp>(
      nodeLoc(node), *resultType, *lhs, *rhs, bias,
      intAttr(node, "transA", 0) != 0, intAttr(node, "transB", 0) != 0,
      APFloat(floatAttr(node, "alpha", 1.0f)),
      APFloat(floatAttr(node, "beta", 1.0f)));
  return setResult(node, dense);
}

LogicalResult Importer::importMatMul(const onnx::NodeProto &node) {
  FailureOr<Value> lhs = getOperand(node, 0);
  FailureOr<Value> rhs = getOperand(node, 1);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(lhs) || failed(rhs) || failed(resultType))
    return failure();
  auto dense = builder.create<bnn::DenseOp>(nodeLoc(node), *resultType, *lhs,
                                            *rhs, Value(), false, false,
                                            APFloat(1.0f), APFloat(1.0f));
  return setResult(node, dense);
}

LogicalResult Importer::importBatchNorm(const onnx::NodeProto &node) {
  if (intAttr(node, "training_mode", 0) != 0)
    return error(node) << "training-mode batch normalization is not "
                          "supported; export the model in inference mode";
  if (failed(rejectExtraOutputs(node, "running statistics")))
    return failure();
  SmallVector<Value, 5> operands;
  for (int i = 0; i < 5; ++i) {
    FailureOr<Value> operand = getOperand(node, i);
    if (failed(operand))
      return failure();
    operands.push_back(*operand);
  }
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(resultType))
    return failure();
  auto norm = builder.create<bnn::BatchNormOp>(
      nodeLoc(node), *resultType, operands[0], operands[1], operands[2],
      operands[3], operands[4], APFloat(floatAttr(node, "epsilon", 1e-5f)));
  return setResult(node, norm);
}

template <typename OpTy>
LogicalResult Importer::importUnary(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  return setResult(node, builder.create<OpTy>(nodeLoc(node), *input));
}

LogicalResult Importer::importClip(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<FloatAttr> min = getOptionalConstantScalar(node, 1);
  FailureOr<FloatAttr> max = getOptionalConstantScalar(node, 2);
  if (failed(input) || failed(min) || failed(max))
    return failure();
  return setResult(
      node, builder.create<bnn::ClipOp>(nodeLoc(node), *input, *min, *max));
}

LogicalResult Importer::importHardSigmoid(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  return setResult(node, builder.create<bnn::HardSigmoidOp>(
                             nodeLoc(node), *input,
                             APFloat(floatAttr(node, "alpha", 0.2f)),
                             APFloat(floatAttr(node, "beta", 0.5f))));
}

LogicalResult Importer::importMaxPool(const onnx::NodeProto &node) {
  if (failed(rejectExtraOutputs(node, "Indices")))
    return failure();
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(input) || failed(resultType))
    return failure();
  FailureOr<Window> window =
      getWindow(node, cast<RankedTensorType>(input->getType()),
                intsAttr(node, "kernel_shape", {}));
  if (failed(window))
    return failure();
  auto pool = builder.create<bnn::MaxPoolOp>(
      nodeLoc(node), *resultType, *input, window->kernel, window->strides,
      window->pads, window->dilations, intAttr(node, "ceil_mode", 0) != 0);
  return setResult(node, pool);
}

LogicalResult Importer::importAveragePool(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(input) || failed(resultType))
    return failure();
  // Opset 17's AveragePool has no dilations: the window's are all 1.
  FailureOr<Window> window =
      getWindow(node, cast<RankedTensorType>(input->getType()),
                intsAttr(node, "kernel_shape", {}));
  if (failed(window))
    return failure();
  auto pool = builder.create<bnn::AveragePoolOp>(
      nodeLoc(node), *resultType, *input, window->kernel, window->strides,
      window->pads, intAttr(node, "count_include_pad", 0) != 0,
      intAttr(node, "ceil_mode", 0) != 0);
  return setResult(node, pool);
}

LogicalResult Importer::importGlobalAveragePool(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(input) || failed(resultType))
    return failure();
  return setResult(node, builder.create<bnn::GlobalAveragePoolOp>(
                             nodeLoc(node), *resultType, *input));
}

LogicalResult Importer::importSoftmax(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(node, intAttr(node, "axis", -1),
                    cast<RankedTensorType>(input->getType()).getRank());
  if (failed(axis))
    return failure();
  return setResult(
      node, builder.create<bnn::SoftmaxOp>(nodeLoc(node), *input, *axis));
}

template <typename OpTy>
LogicalResult Importer::importBinary(const onnx::NodeProto &node) {
  FailureOr<Value> lhs = getOperand(node, 0);
  FailureOr<Value> rhs = getOperand(node, 1);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(lhs) || failed(rhs) || failed(resultType))
    return failure();
  return setResult(
      node, builder.create<OpTy>(nodeLoc(node), *resultType, *lhs, *rhs));
}

LogicalResult Importer::importReshape(const onnx::NodeProto &node) {
  // The target shape, with ONNX's 0 and -1 resolved, is the inferred type.
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(input) || failed(resultType))
    return failure();
  return setResult(
      node, builder.create<bnn::ReshapeOp>(nodeLoc(node), *resultType, *input));
}

LogicalResult Importer::importFlatten(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(input) || failed(resultType))
    return failure();
  int64_t rank = cast<RankedTensorType>(input->getType()).getRank();
  int64_t axis = intAttr(node, "axis", 1);
  if (axis < -rank || axis > rank)
    return error(node) << "axis " << axis << " is out of range for rank "
                       << rank;
  return setResult(
      node, builder.create<bnn::FlattenOp>(nodeLoc(node), *resultType, *input,
                                           axis < 0 ? axis + rank : axis));
}

LogicalResult Importer::importTranspose(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(input) || failed(resultType))
    return failure();
  int64_t rank = cast<RankedTensorType>(input->getType()).getRank();
  SmallVector<int64_t> reversed(rank);
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  return setResult(
      node, builder.create<bnn::TransposeOp>(nodeLoc(node), *resultType, *input,
                                             intsAttr(node, "perm", reversed)));
}

LogicalResult Importer::importSqueeze(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(input) || failed(resultType))
    return failure();
  ArrayRef<int64_t> shape = cast<RankedTensorType>(input->getType()).getShape();
  SmallVector<int64_t> axes;
  if (hasInput(node, 1)) {
    FailureOr<SmallVector<int64_t>> given = getConstantInts(node, 1);
    if (failed(given))
      return failure();
    for (int64_t axis : *given) {
      FailureOr<int64_t> normalized = normalizeAxis(node, axis, shape.size());
      if (failed(normalized))
        return failure();
      axes.push_back(*normalized);
    }
  } else {
    for (auto [i, dim] : llvm::enumerate(shape))
      if (dim == 1)
        axes.push_back(i);
  }
  llvm::sort(axes);
  return setResult(node, builder.create<bnn::SqueezeOp>(
                             nodeLoc(node), *resultType, *input, axes));
}

LogicalResult Importer::importUnsqueeze(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  FailureOr<SmallVector<int64_t>> given = getConstantInts(node, 1);
  if (failed(input) || failed(resultType) || failed(given))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t axis : *given) {
    FailureOr<int64_t> normalized =
        normalizeAxis(node, axis, resultType->getRank());
    if (failed(normalized))
      return failure();
    axes.push_back(*normalized);
  }
  llvm::sort(axes);
  return setResult(node, builder.create<bnn::UnsqueezeOp>(
                             nodeLoc(node), *resultType, *input, axes));
}

LogicalResult Importer::importConcat(const onnx::NodeProto &node) {
  SmallVector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i) {
    FailureOr<Value> input = getOperand(node, i);
    if (failed(input))
      return failure();
    inputs.push_back(*input);
  }
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(resultType))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(node, intAttr(node, "axis", 0), resultType->getRank());
  if (failed(axis))
    return failure();
  return setResult(node, builder.create<bnn::ConcatOp>(
                             nodeLoc(node), *resultType, inputs, *axis));
}

//===----------------------------------------------------------------------===//
// The graph
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> Importer::run() {
  const onnx::GraphProto &graph = model.graph();
  for (const onnx::TensorProto &tensor : graph.initializer())
    constants[tensor.name()] = &tensor;
  for (const auto *infos :
       {&graph.input(), &graph.value_info(), &graph.output()})
    for (const onnx::ValueInfoProto &info : *infos)
      types[info.name()] = &info.type();

  // Graph inputs that are also initializers (older exporters list weights as
  // inputs) are constants, not arguments.
  SmallVector<const onnx::ValueInfoProto *> inputs;
  SmallVector<Type> inputTypes;
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (constants.count(input.name()))
      continue;
    if (input.type().has_tensor_type() &&
        input.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
      error() << "input '" << input.name() << "' has element type "
              << onnxDataTypeName(input.type().tensor_type().elem_type())
              << "; model inputs are FLOAT (float32) tensors, and integer "
                 "operands such as shapes and axes must be initializers";
      return nullptr;
    }
    FailureOr<RankedTensorType> type =
        getTensorType(input.name(), input.type());
    if (failed(type))
      return nullptr;
    inputs.push_back(&input);
    inputTypes.push_back(*type);
  }
  SmallVector<Type> outputTypes;
  for (const onnx::ValueInfoProto &output : graph.output()) {
    FailureOr<RankedTensorType> type =
        getTensorType(output.name(), output.type());
    if (failed(type))
      return nullptr;
    outputTypes.push_back(*type);
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  auto function = builder.create<func::FuncOp>(
      fileLoc, "main", builder.getFunctionType(inputTypes, outputTypes));
  Block *body = function.addEntryBlock();
  for (auto [i, input] : llvm::enumerate(inputs)) {
    values[input->name()] = body->getArgument(i);
    function.setArgAttr(i, "bnn.name", builder.getStringAttr(input->name()));
  }
  for (auto [i, output] : llvm::enumerate(graph.output()))
    function.setResultAttr(i, "bnn.name", builder.getStringAttr(output.name()));

  builder.setInsertionPointToEnd(body);
  for (const onnx::NodeProto &node : graph.node()) {
    // Shape arithmetic and other nodes of constants are evaluated here and
    // leave nothing in the IR.
    if (isFoldableOp(node.op_type()) && hasConstantInputs(node)) {
      if (failed(foldNode(node)))
        return nullptr;
      continue;
    }
    auto entry = llvm::lower_bound(
        opTable(), StringRef(node.op_type()),
        [](const OpEntry &entry, StringRef name) { return entry.name < name; });
    if (entry == opTable().end() || entry->name != node.op_type()) {
      if (isFoldableOp(node.op_type())) {
        (void)rejectDynamic(node);
        return nullptr;
      }
      // The loader rejected unsupported operators; this guards against drift.
      error(node) << "operator is not supported";
      return nullptr;
    }
    if (failed((this->*entry->handler)(node)))
      return nullptr;
  }

  SmallVector<Value> results;
  for (const onnx::ValueInfoProto &output : graph.output()) {
    onnx::NodeProto producer;
    producer.set_name("graph output");
    producer.add_input(output.name());
    FailureOr<Value> value = getOperand(producer, 0);
    if (failed(value))
      return nullptr;
    results.push_back(*value);
  }
  builder.create<func::ReturnOp>(fileLoc, results);

  if (failed(verify(*module)))
    return nullptr;
  return module;
}

} // namespace

OwningOpRef<ModuleOp> importOnnxModel(StringRef bytes, StringRef fileName,
                                      MLIRContext *context,
                                      const OnnxImportOptions &options) {
  context->loadDialect<bnn::BNNDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(context, fileName, 0, 0);
  if (options.batchSize < 1) {
    emitError(fileLoc) << "the batch size must be positive, got "
                       << options.batchSize;
    return nullptr;
  }
  OnnxLoadOptions loadOptions;
  loadOptions.batchSize = options.batchSize;
  loadOptions.inputShapes = options.inputShapes;
  loadOptions.isSupportedOp = [](const std::string &opType) {
    return llvm::is_contained(getSupportedOnnxOps(), StringRef(opType)) ||
           isFoldableOp(opType);
  };
  onnx::ModelProto model;
  if (std::optional<std::string> message = loadOnnxModel(
          std::string_view(bytes.data(), bytes.size()), loadOptions, model)) {
    emitError(fileLoc) << *message;
    return nullptr;
  }
  return Importer(context, model, fileName).run();
}

std::optional<std::string> addInputShape(StringRef spec,
                                         OnnxImportOptions &options) {
  auto [name, dims] = spec.rsplit(':');
  auto bad = [&] {
    return "--input-shape='" + spec.str() +
           "' is not NAME:DIMS with positive dimensions separated by 'x' "
           "(e.g. input:1x3x48x192)";
  };
  if (name.empty() || dims.empty() || spec.find(':') == StringRef::npos)
    return bad();
  std::vector<int64_t> shape;
  SmallVector<StringRef> parts;
  dims.split(parts, 'x');
  for (StringRef part : parts) {
    int64_t dim;
    if (part.getAsInteger(10, dim) || dim < 1)
      return bad();
    shape.push_back(dim);
  }
  options.inputShapes.emplace_back(name.str(), std::move(shape));
  return std::nullopt;
}

ArrayRef<StringRef> getSupportedOnnxOps() {
  static const SmallVector<StringRef> names = [] {
    SmallVector<StringRef> result;
    for (const Importer::OpEntry &entry : Importer::opTable())
      result.push_back(entry.name);
    return result;
  }();
  return names;
}

void registerOnnxImportTranslation() {
  static llvm::cl::opt<int64_t> batchSize(
      "batch", llvm::cl::desc("Value bound to a symbolic batch dimension"),
      llvm::cl::init(1));
  static llvm::cl::list<std::string> inputShapes(
      "input-shape",
      llvm::cl::desc("NAME:1x3x48x192 fixes the symbolic dimensions of an "
                     "input (repeatable)"));
  TranslateToMLIRRegistration registration(
      "import-onnx", "Import an ONNX model into the bnn dialect",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        OnnxImportOptions options;
        options.batchSize = batchSize;
        for (const std::string &spec : inputShapes)
          if (std::optional<std::string> message =
                  addInputShape(spec, options)) {
            emitError(UnknownLoc::get(context)) << *message;
            return nullptr;
          }
        OwningOpRef<ModuleOp> module =
            importOnnxModel(buffer->getBuffer(), buffer->getBufferIdentifier(),
                            context, options);
        return OwningOpRef<Operation *>(module.release().getOperation());
      },
      [](DialectRegistry &registry) {
        registry.insert<bnn::BNNDialect, func::FuncDialect>();
      });
}

} // namespace hafnia
