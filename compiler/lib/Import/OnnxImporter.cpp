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
#include "hafnia/runtime/WindowArithmetic.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <algorithm>
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
  /// With `indices`, INT64 tensors (ArgMax results) are accepted too.
  FailureOr<RankedTensorType> getTensorType(const std::string &name,
                                            const onnx::TypeProto &type,
                                            bool indices = false);
  FailureOr<Value> getOperand(const onnx::NodeProto &node, int index);
  Value getOptionalOperand(const onnx::NodeProto &node, int index,
                           bool &failed);
  FailureOr<RankedTensorType> getResultType(const onnx::NodeProto &node,
                                            int index = 0);
  /// Inputs 0 to operands.size() - 1, the optional input after them when
  /// `optional` is given, and the type of output 0: each is fetched, and
  /// diagnosed, in that order before any failure returns.
  LogicalResult getOperandsAndResultType(const onnx::NodeProto &node,
                                         ArrayRef<Value *> operands,
                                         RankedTensorType &resultType,
                                         Value *optional = nullptr);
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
  /// Keeps the int8 values and scales of a DequantizeLinear of a weight.
  void recordInt8Weight(const onnx::NodeProto &node,
                        const std::vector<const onnx::TensorProto *> &inputs);
  llvm::StringMap<DictionaryAttr> int8Weights;
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
  /// Input 0 as the inferred type of output 0: Reshape (whose target shape,
  /// with ONNX's 0 and -1 resolved, is that type), GlobalAveragePool and
  /// GlobalMaxPool.
  template <typename OpTy>
  LogicalResult importTypedUnary(const onnx::NodeProto &node);
  /// Softmax, LogSoftmax and Hardmax: input 0 along `axis` (default -1).
  template <typename OpTy>
  LogicalResult importAxisOp(const onnx::NodeProto &node);
  /// An activation of two float attributes, `first` and `second`, with their
  /// ONNX defaults.
  template <typename OpTy>
  LogicalResult importTwoAttrActivation(const onnx::NodeProto &node,
                                        StringRef first, float firstDefault,
                                        StringRef second, float secondDefault);
  LogicalResult importClip(const onnx::NodeProto &node);
  LogicalResult importMaxPool(const onnx::NodeProto &node);
  LogicalResult importAveragePool(const onnx::NodeProto &node);
  template <typename OpTy>
  LogicalResult importBinary(const onnx::NodeProto &node);
  LogicalResult importFlatten(const onnx::NodeProto &node);
  LogicalResult importTranspose(const onnx::NodeProto &node);
  LogicalResult importSqueeze(const onnx::NodeProto &node);
  LogicalResult importUnsqueeze(const onnx::NodeProto &node);
  LogicalResult importConcat(const onnx::NodeProto &node);
  template <typename OpTy>
  LogicalResult importAlphaActivation(const onnx::NodeProto &node, float alpha);
  LogicalResult importLeakyRelu(const onnx::NodeProto &node);
  LogicalResult importHardSigmoid(const onnx::NodeProto &node);
  LogicalResult importSelu(const onnx::NodeProto &node);
  LogicalResult importShrink(const onnx::NodeProto &node);
  LogicalResult importCast(const onnx::NodeProto &node);
  /// DepthToSpace and SpaceToDepth: reshape, transpose, reshape.
  LogicalResult importBlockShuffle(const onnx::NodeProto &node,
                                   ArrayRef<int64_t> blocked,
                                   ArrayRef<int64_t> permutation);
  LogicalResult importDepthToSpace(const onnx::NodeProto &node);
  LogicalResult importSpaceToDepth(const onnx::NodeProto &node);
  LogicalResult importInstanceNorm(const onnx::NodeProto &node);
  LogicalResult importPRelu(const onnx::NodeProto &node);
  LogicalResult importBipolarQuant(const onnx::NodeProto &node);
  LogicalResult importElu(const onnx::NodeProto &node);
  LogicalResult importCelu(const onnx::NodeProto &node);
  LogicalResult importThresholdedRelu(const onnx::NodeProto &node);
  /// Max, Min, Sum and Mean: a chain of binary ops.
  template <typename OpTy>
  LogicalResult importVariadic(const onnx::NodeProto &node);
  LogicalResult importMean(const onnx::NodeProto &node);
  template <typename OpTy>
  LogicalResult importReduce(const onnx::NodeProto &node);
  LogicalResult importLayerNorm(const onnx::NodeProto &node);
  LogicalResult importPad(const onnx::NodeProto &node);
  LogicalResult importSlice(const onnx::NodeProto &node);
  LogicalResult importSplit(const onnx::NodeProto &node);
  LogicalResult importGather(const onnx::NodeProto &node);
  LogicalResult importConvTranspose(const onnx::NodeProto &node);
  /// Resize and (opset 7-9) Upsample.
  LogicalResult importResize(const onnx::NodeProto &node);
  /// ArgMax and ArgMin.
  LogicalResult importArgMax(const onnx::NodeProto &node);
  /// Tile with constant repeats: copies joined by bnn.concat, axis by axis.
  LogicalResult importTile(const onnx::NodeProto &node);
  /// Folds zero constant pads into the convolution or average pool that is
  /// their only user.
  void foldPadsIntoWindows(func::FuncOp function);

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
      {"Abs", &Importer::importUnary<bnn::AbsOp>},
      {"Acos", &Importer::importUnary<bnn::AcosOp>},
      {"Acosh", &Importer::importUnary<bnn::AcoshOp>},
      {"Add", &Importer::importBinary<bnn::AddOp>},
      {"ArgMax", &Importer::importArgMax},
      {"ArgMin", &Importer::importArgMax},
      {"Asin", &Importer::importUnary<bnn::AsinOp>},
      {"Asinh", &Importer::importUnary<bnn::AsinhOp>},
      {"Atan", &Importer::importUnary<bnn::AtanOp>},
      {"Atanh", &Importer::importUnary<bnn::AtanhOp>},
      {"AveragePool", &Importer::importAveragePool},
      {"BatchNormalization", &Importer::importBatchNorm},
      // QONNX (domain qonnx.custom_op.general); the loader names it so.
      {"BipolarQuant", &Importer::importBipolarQuant},
      {"Cast", &Importer::importCast},
      {"Ceil", &Importer::importUnary<bnn::CeilOp>},
      {"Celu", &Importer::importCelu},
      {"Clip", &Importer::importClip},
      {"Concat", &Importer::importConcat},
      {"Constant", &Importer::importConstant},
      {"Conv", &Importer::importConv},
      {"ConvTranspose", &Importer::importConvTranspose},
      {"Cos", &Importer::importUnary<bnn::CosOp>},
      {"Cosh", &Importer::importUnary<bnn::CoshOp>},
      {"DepthToSpace", &Importer::importDepthToSpace},
      {"Div", &Importer::importBinary<bnn::DivOp>},
      {"Dropout", &Importer::importDropout},
      {"Elu", &Importer::importElu},
      {"Erf", &Importer::importUnary<bnn::ErfOp>},
      {"Exp", &Importer::importUnary<bnn::ExpOp>},
      {"Flatten", &Importer::importFlatten},
      {"Floor", &Importer::importUnary<bnn::FloorOp>},
      {"Gather", &Importer::importGather},
      {"Gemm", &Importer::importGemm},
      {"GlobalAveragePool",
       &Importer::importTypedUnary<bnn::GlobalAveragePoolOp>},
      {"GlobalMaxPool", &Importer::importTypedUnary<bnn::GlobalMaxPoolOp>},
      {"HardSigmoid", &Importer::importHardSigmoid},
      {"HardSwish", &Importer::importUnary<bnn::HardSwishOp>},
      {"Hardmax", &Importer::importAxisOp<bnn::HardmaxOp>},
      {"Identity", &Importer::importIdentity},
      {"InstanceNormalization", &Importer::importInstanceNorm},
      {"LayerNormalization", &Importer::importLayerNorm},
      {"LeakyRelu", &Importer::importLeakyRelu},
      {"Log", &Importer::importUnary<bnn::LogOp>},
      {"LogSoftmax", &Importer::importAxisOp<bnn::LogSoftmaxOp>},
      {"MatMul", &Importer::importMatMul},
      {"Max", &Importer::importVariadic<bnn::MaxOp>},
      {"MaxPool", &Importer::importMaxPool},
      {"Mean", &Importer::importMean},
      {"Min", &Importer::importVariadic<bnn::MinOp>},
      {"Mul", &Importer::importBinary<bnn::MulOp>},
      {"Neg", &Importer::importUnary<bnn::NegOp>},
      {"PRelu", &Importer::importPRelu},
      {"Pad", &Importer::importPad},
      {"Pow", &Importer::importBinary<bnn::PowOp>},
      {"Reciprocal", &Importer::importUnary<bnn::ReciprocalOp>},
      {"ReduceL1", &Importer::importReduce<bnn::ReduceL1Op>},
      {"ReduceL2", &Importer::importReduce<bnn::ReduceL2Op>},
      {"ReduceLogSum", &Importer::importReduce<bnn::ReduceLogSumOp>},
      {"ReduceLogSumExp", &Importer::importReduce<bnn::ReduceLogSumExpOp>},
      {"ReduceMax", &Importer::importReduce<bnn::ReduceMaxOp>},
      {"ReduceMean", &Importer::importReduce<bnn::ReduceMeanOp>},
      {"ReduceMin", &Importer::importReduce<bnn::ReduceMinOp>},
      {"ReduceProd", &Importer::importReduce<bnn::ReduceProdOp>},
      {"ReduceSum", &Importer::importReduce<bnn::ReduceSumOp>},
      {"ReduceSumSquare", &Importer::importReduce<bnn::ReduceSumSquareOp>},
      {"Relu", &Importer::importUnary<bnn::ReluOp>},
      {"Reshape", &Importer::importTypedUnary<bnn::ReshapeOp>},
      {"Resize", &Importer::importResize},
      {"Round", &Importer::importUnary<bnn::RoundOp>},
      {"Selu", &Importer::importSelu},
      {"Shrink", &Importer::importShrink},
      {"Sigmoid", &Importer::importUnary<bnn::SigmoidOp>},
      {"Sign", &Importer::importUnary<bnn::SignOp>},
      {"Sin", &Importer::importUnary<bnn::SinOp>},
      {"Sinh", &Importer::importUnary<bnn::SinhOp>},
      {"Slice", &Importer::importSlice},
      {"Softmax", &Importer::importAxisOp<bnn::SoftmaxOp>},
      {"Softplus", &Importer::importUnary<bnn::SoftplusOp>},
      {"Softsign", &Importer::importUnary<bnn::SoftsignOp>},
      {"SpaceToDepth", &Importer::importSpaceToDepth},
      {"Split", &Importer::importSplit},
      {"Sqrt", &Importer::importUnary<bnn::SqrtOp>},
      {"Squeeze", &Importer::importSqueeze},
      {"Sub", &Importer::importBinary<bnn::SubOp>},
      {"Sum", &Importer::importVariadic<bnn::AddOp>},
      {"Tan", &Importer::importUnary<bnn::TanOp>},
      {"Tanh", &Importer::importUnary<bnn::TanhOp>},
      {"ThresholdedRelu", &Importer::importThresholdedRelu},
      {"Tile", &Importer::importTile},
      {"Transpose", &Importer::importTranspose},
      {"Unsqueeze", &Importer::importUnsqueeze},
      {"Upsample", &Importer::importResize},
  };
  return table;
}

std::string describeNode(const onnx::NodeProto &node) {
  return describeOnnxNode(node);
}

InFlightDiagnostic Importer::error(const onnx::NodeProto &node) {
  return emitError(fileLoc)
         << describeNode(node) << " (" << node.op_type() << "): ";
}

Location Importer::nodeLoc(const onnx::NodeProto &node) {
  StringRef name = node.name();
  for (const std::string &output : node.output())
    if (name.empty())
      name = output;
  return NameLoc::get(StringAttr::get(context, name), fileLoc);
}

//===----------------------------------------------------------------------===//
// Values, constants and types
//===----------------------------------------------------------------------===//

FailureOr<RankedTensorType> Importer::getTensorType(const std::string &name,
                                                    const onnx::TypeProto &type,
                                                    bool indices) {
  if (!type.has_tensor_type())
    return error() << "tensor '" << name
                   << "' is not a tensor (sequences, maps and optionals are "
                      "not supported)";
  const auto &tensorType = type.tensor_type();
  bool index = indices && tensorType.elem_type() == onnx::TensorProto::INT64;
  if (tensorType.elem_type() != onnx::TensorProto::FLOAT && !index)
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
  return RankedTensorType::get(shape, index ? Type(builder.getI64Type())
                                            : builder.getF32Type());
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
    if (DictionaryAttr int8 = int8Weights.lookup(name))
      materialized.getDefiningOp()->setAttr(bnn::kInt8WeightAttrName, int8);
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

LogicalResult Importer::getOperandsAndResultType(const onnx::NodeProto &node,
                                                 ArrayRef<Value *> operands,
                                                 RankedTensorType &resultType,
                                                 Value *optional) {
  bool anyFailed = false;
  for (auto [i, operand] : llvm::enumerate(operands)) {
    FailureOr<Value> value = getOperand(node, i);
    anyFailed |= failed(value);
    *operand = succeeded(value) ? *value : Value();
  }
  if (optional)
    *optional = getOptionalOperand(node, operands.size(), anyFailed);
  FailureOr<RankedTensorType> type = getResultType(node);
  if (anyFailed || failed(type))
    return failure();
  resultType = *type;
  return success();
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
    int64_t total =
        std::max<int64_t>(0, WindowSpan(SameOutputSize(size, stride), kernel[i],
                                        stride, window.dilations[i]) -
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
  recordInt8Weight(node, inputs);
  return success();
}

void Importer::recordInt8Weight(
    const onnx::NodeProto &node,
    const std::vector<const onnx::TensorProto *> &inputs) {
  // A QDQ weight: int8 values, zero points 0, one scale or one per slice of
  // axis 0. An int8 chip stores exactly these.
  if (node.op_type() != "DequantizeLinear" || !inputs[0] ||
      inputs[0]->data_type() != onnx::TensorProto::INT8 ||
      inputs[1]->data_type() != onnx::TensorProto::FLOAT)
    return;
  std::optional<std::vector<int64_t>> values = getIntegerValues(*inputs[0]);
  if (!values)
    return;
  if (inputs.size() > 2 && inputs[2]) {
    std::optional<std::vector<int64_t>> zeros = getIntegerValues(*inputs[2]);
    if (!zeros || llvm::any_of(*zeros, [](int64_t z) { return z != 0; }))
      return;
  }
  FailureOr<ElementsAttr> scales = getFloatData(*inputs[1]);
  if (failed(scales))
    return;
  int64_t count = scales->getNumElements();
  int64_t axis = intAttr(node, "axis", 1);
  if (axis < 0)
    axis += inputs[0]->dims_size();
  if (count != 1 &&
      (axis != 0 || inputs[0]->dims_size() == 0 || inputs[0]->dims(0) != count))
    return;
  SmallVector<int64_t> shape(inputs[0]->dims().begin(),
                             inputs[0]->dims().end());
  auto type = RankedTensorType::get(shape, builder.getI8Type());
  SmallVector<int8_t> narrow(values->begin(), values->end());
  int8Weights[node.output(0)] = builder.getDictionaryAttr(
      {builder.getNamedAttr(
           "scales", builder.getDenseF32ArrayAttr(
                         SmallVector<float>(scales->getValues<float>()))),
       builder.getNamedAttr(
           "values", DenseElementsAttr::get(type, ArrayRef<int8_t>(narrow)))});
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
  Value input, weight, bias;
  RankedTensorType resultType;
  if (failed(
          getOperandsAndResultType(node, {&input, &weight}, resultType, &bias)))
    return failure();
  ArrayRef<int64_t> kernel =
      cast<RankedTensorType>(weight.getType()).getShape().drop_front(2);
  FailureOr<Window> window =
      getWindow(node, cast<RankedTensorType>(input.getType()), kernel);
  if (failed(window))
    return failure();
  auto conv = builder.create<bnn::ConvOp>(
      nodeLoc(node), resultType, input, weight, bias, window->strides,
      window->pads, window->dilations, intAttr(node, "group", 1));
  return setResult(node, conv);
}

LogicalResult Importer::importGemm(const onnx::NodeProto &node) {
  Value lhs, rhs, bias;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&lhs, &rhs}, resultType, &bias)))
    return failure();
  auto dense = builder.create<bnn::DenseOp>(
      nodeLoc(node), resultType, lhs, rhs, bias,
      intAttr(node, "transA", 0) != 0, intAttr(node, "transB", 0) != 0,
      APFloat(floatAttr(node, "alpha", 1.0f)),
      APFloat(floatAttr(node, "beta", 1.0f)));
  return setResult(node, dense);
}

LogicalResult Importer::importMatMul(const onnx::NodeProto &node) {
  Value lhs, rhs;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&lhs, &rhs}, resultType)))
    return failure();
  auto dense =
      builder.create<bnn::DenseOp>(nodeLoc(node), resultType, lhs, rhs, Value(),
                                   false, false, APFloat(1.0f), APFloat(1.0f));
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

template <typename OpTy>
LogicalResult Importer::importTypedUnary(const onnx::NodeProto &node) {
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  return setResult(node,
                   builder.create<OpTy>(nodeLoc(node), resultType, input));
}

template <typename OpTy>
LogicalResult Importer::importAxisOp(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(node, intAttr(node, "axis", -1),
                    cast<RankedTensorType>(input->getType()).getRank());
  if (failed(axis))
    return failure();
  return setResult(node, builder.create<OpTy>(nodeLoc(node), *input, *axis));
}

template <typename OpTy>
LogicalResult
Importer::importTwoAttrActivation(const onnx::NodeProto &node, StringRef first,
                                  float firstDefault, StringRef second,
                                  float secondDefault) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  return setResult(node, builder.create<OpTy>(
                             nodeLoc(node), *input,
                             APFloat(floatAttr(node, first, firstDefault)),
                             APFloat(floatAttr(node, second, secondDefault))));
}

LogicalResult Importer::importClip(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  // Bounds computed at run time: min(max(x, lo), hi), which gives hi where
  // lo > hi, as ONNX says.
  if ((hasInput(node, 1) && !constants.count(node.input(1))) ||
      (hasInput(node, 2) && !constants.count(node.input(2)))) {
    Value result = *input;
    auto type = cast<RankedTensorType>(result.getType());
    for (int i = 1; i <= 2; ++i) {
      if (!hasInput(node, i))
        continue;
      FailureOr<Value> bound = getOperand(node, i);
      if (failed(bound))
        return failure();
      if (cast<RankedTensorType>(bound->getType()).getNumElements() != 1)
        return error(node) << "bound '" << node.input(i)
                           << "' must be a scalar";
      if (i == 1)
        result =
            builder.create<bnn::MaxOp>(nodeLoc(node), type, result, *bound);
      else
        result =
            builder.create<bnn::MinOp>(nodeLoc(node), type, result, *bound);
    }
    return setResult(node, result);
  }
  FailureOr<FloatAttr> min = getOptionalConstantScalar(node, 1);
  FailureOr<FloatAttr> max = getOptionalConstantScalar(node, 2);
  if (failed(min) || failed(max))
    return failure();
  return setResult(
      node, builder.create<bnn::ClipOp>(nodeLoc(node), *input, *min, *max));
}

LogicalResult Importer::importMaxPool(const onnx::NodeProto &node) {
  if (failed(rejectExtraOutputs(node, "Indices")))
    return failure();
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  FailureOr<Window> window =
      getWindow(node, cast<RankedTensorType>(input.getType()),
                intsAttr(node, "kernel_shape", {}));
  if (failed(window))
    return failure();
  auto pool = builder.create<bnn::MaxPoolOp>(
      nodeLoc(node), resultType, input, window->kernel, window->strides,
      window->pads, window->dilations, intAttr(node, "ceil_mode", 0) != 0);
  return setResult(node, pool);
}

LogicalResult Importer::importAveragePool(const onnx::NodeProto &node) {
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  // Opset 17's AveragePool has no dilations: the window's are all 1.
  FailureOr<Window> window =
      getWindow(node, cast<RankedTensorType>(input.getType()),
                intsAttr(node, "kernel_shape", {}));
  if (failed(window))
    return failure();
  auto pool = builder.create<bnn::AveragePoolOp>(
      nodeLoc(node), resultType, input, window->kernel, window->strides,
      window->pads, intAttr(node, "count_include_pad", 0) != 0,
      intAttr(node, "ceil_mode", 0) != 0);
  return setResult(node, pool);
}

template <typename OpTy>
LogicalResult Importer::importBinary(const onnx::NodeProto &node) {
  Value lhs, rhs;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&lhs, &rhs}, resultType)))
    return failure();
  return setResult(node,
                   builder.create<OpTy>(nodeLoc(node), resultType, lhs, rhs));
}

LogicalResult Importer::importFlatten(const onnx::NodeProto &node) {
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  int64_t axis = intAttr(node, "axis", 1);
  if (axis < -rank || axis > rank)
    return error(node) << "axis " << axis << " is out of range for rank "
                       << rank;
  return setResult(
      node, builder.create<bnn::FlattenOp>(nodeLoc(node), resultType, input,
                                           axis < 0 ? axis + rank : axis));
}

LogicalResult Importer::importTranspose(const onnx::NodeProto &node) {
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  SmallVector<int64_t> reversed(rank);
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  return setResult(
      node, builder.create<bnn::TransposeOp>(nodeLoc(node), resultType, input,
                                             intsAttr(node, "perm", reversed)));
}

LogicalResult Importer::importSqueeze(const onnx::NodeProto &node) {
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  ArrayRef<int64_t> shape = cast<RankedTensorType>(input.getType()).getShape();
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
                             nodeLoc(node), resultType, input, axes));
}

LogicalResult Importer::importUnsqueeze(const onnx::NodeProto &node) {
  Value input;
  RankedTensorType resultType;
  LogicalResult operands = getOperandsAndResultType(node, {&input}, resultType);
  FailureOr<SmallVector<int64_t>> given = getConstantInts(node, 1);
  if (failed(operands) || failed(given))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t axis : *given) {
    FailureOr<int64_t> normalized =
        normalizeAxis(node, axis, resultType.getRank());
    if (failed(normalized))
      return failure();
    axes.push_back(*normalized);
  }
  llvm::sort(axes);
  return setResult(node, builder.create<bnn::UnsqueezeOp>(
                             nodeLoc(node), resultType, input, axes));
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

template <typename OpTy>
LogicalResult Importer::importAlphaActivation(const onnx::NodeProto &node,
                                              float alpha) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  return setResult(
      node, builder.create<OpTy>(nodeLoc(node), *input,
                                 APFloat(floatAttr(node, "alpha", alpha))));
}

LogicalResult Importer::importCast(const onnx::NodeProto &node) {
  // A cast of a runtime value to float32 (the values already are) is an
  // identity; any other is not computable on the chip.
  if (intAttr(node, "to", 0) != onnx::TensorProto::FLOAT)
    return error(node) << "input '" << node.input(0)
                       << "' is not a constant; Hafnia evaluates a Cast to "
                       << onnxDataTypeName(intAttr(node, "to", 0))
                       << " at import, on constants only";
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  return setResult(node, *input);
}

LogicalResult Importer::importBlockShuffle(const onnx::NodeProto &node,
                                           ArrayRef<int64_t> blocked,
                                           ArrayRef<int64_t> permutation) {
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  Location loc = nodeLoc(node);
  auto f32 = builder.getF32Type();
  Value split = builder.create<bnn::ReshapeOp>(
      loc, RankedTensorType::get(blocked, f32), input);
  SmallVector<int64_t> permuted;
  for (int64_t axis : permutation)
    permuted.push_back(blocked[axis]);
  Value moved = builder.create<bnn::TransposeOp>(
      loc, RankedTensorType::get(permuted, f32), split, permutation);
  return setResult(node,
                   builder.create<bnn::ReshapeOp>(loc, resultType, moved));
}

LogicalResult Importer::importDepthToSpace(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  ArrayRef<int64_t> x = cast<RankedTensorType>(input->getType()).getShape();
  int64_t b = intAttr(node, "blocksize", 0);
  if (x.size() != 4 || b < 1 || x[1] % (b * b) != 0)
    return error(node) << "expects an N x C x H x W input whose channels the "
                          "square of the block size divides";
  int64_t c = x[1] / (b * b);
  if (stringAttr(node, "mode", "DCR") == "CRD")
    return importBlockShuffle(node, {x[0], c, b, b, x[2], x[3]},
                              {0, 1, 4, 2, 5, 3});
  return importBlockShuffle(node, {x[0], b, b, c, x[2], x[3]},
                            {0, 3, 4, 1, 5, 2});
}

LogicalResult Importer::importSpaceToDepth(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  ArrayRef<int64_t> x = cast<RankedTensorType>(input->getType()).getShape();
  int64_t b = intAttr(node, "blocksize", 0);
  if (x.size() != 4 || b < 1 || x[2] % b != 0 || x[3] % b != 0)
    return error(node) << "expects an N x C x H x W input whose height and "
                          "width the block size divides";
  return importBlockShuffle(node, {x[0], x[1], x[2] / b, b, x[3] / b, b},
                            {0, 3, 5, 1, 2, 4});
}

LogicalResult Importer::importInstanceNorm(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<Value> scale = getOperand(node, 1);
  FailureOr<Value> bias = getOperand(node, 2);
  if (failed(input) || failed(scale) || failed(bias))
    return failure();
  auto type = cast<RankedTensorType>(input->getType());
  if (type.getRank() < 3)
    return error(node) << "expects N x C x spatial..., got rank "
                       << type.getRank();
  // Per sample and channel over the spatial axes: the ops of its definition.
  Location loc = nodeLoc(node);
  auto f32 = builder.getF32Type();
  SmallVector<int64_t> axes, kept(type.getShape()),
      channel(type.getRank() - 1, 1);
  for (int64_t d = 2; d < type.getRank(); ++d) {
    axes.push_back(d);
    kept[d] = 1;
  }
  channel[0] = type.getDimSize(1);
  auto statType = RankedTensorType::get(kept, f32);
  auto channelType = RankedTensorType::get(channel, f32);
  Value mean =
      builder.create<bnn::ReduceMeanOp>(loc, statType, *input, axes, true);
  Value centered = builder.create<bnn::SubOp>(loc, type, *input, mean);
  Value squares = builder.create<bnn::MulOp>(loc, type, centered, centered);
  Value variance =
      builder.create<bnn::ReduceMeanOp>(loc, statType, squares, axes, true);
  auto scalar = RankedTensorType::get({}, f32);
  Value eps = builder.create<bnn::ConstantOp>(
      loc, scalar,
      DenseElementsAttr::get(scalar, floatAttr(node, "epsilon", 1e-5f)));
  Value shifted = builder.create<bnn::AddOp>(loc, statType, variance, eps);
  Value deviation = builder.create<bnn::SqrtOp>(loc, shifted);
  Value normalized = builder.create<bnn::DivOp>(loc, type, centered, deviation);
  Value gamma = builder.create<bnn::ReshapeOp>(loc, channelType, *scale);
  Value beta = builder.create<bnn::ReshapeOp>(loc, channelType, *bias);
  Value scaled = builder.create<bnn::MulOp>(loc, type, normalized, gamma);
  return setResult(node, builder.create<bnn::AddOp>(loc, type, scaled, beta));
}

LogicalResult Importer::importBipolarQuant(const onnx::NodeProto &node) {
  // QONNX: Y = scale * (X >= 0 ? +1 : -1), the chip's own sign rule.
  auto scaleTensor = constants.find(hasInput(node, 1) ? node.input(1) : "");
  if (scaleTensor == constants.end())
    return error(node) << "the scale must be a constant (an initializer)";
  FailureOr<ElementsAttr> scale = getFloatData(*scaleTensor->second);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(scale) || failed(resultType))
    return failure();
  SmallVector<float> scales(scale->getValues<float>());
  auto scaleType = cast<RankedTensorType>(scale->getType());
  // A constant input (a weight) is evaluated: +-scale, the scale broadcast
  // NumPy's way, so that binarization sees each filter's level.
  auto weight = constants.find(node.input(0));
  if (!values.count(node.input(0)) && weight != constants.end()) {
    FailureOr<ElementsAttr> data = getFloatData(*weight->second);
    if (failed(data))
      return failure();
    ArrayRef<int64_t> shape = resultType->getShape();
    ArrayRef<int64_t> scaleShape = scaleType.getShape();
    SmallVector<float> result;
    int64_t index = 0;
    for (float value : data->getValues<float>()) {
      // The scale's element for this position, aligned on the right.
      int64_t scaleIndex = 0, rest = index++, stride = 1;
      SmallVector<int64_t> position(shape.size());
      for (int64_t d = shape.size() - 1; d >= 0; --d) {
        position[d] = rest % shape[d];
        rest /= shape[d];
      }
      for (int64_t d = scaleShape.size() - 1, k = shape.size() - 1; d >= 0;
           --d, --k) {
        if (scaleShape[d] != 1)
          scaleIndex += position[k] * stride;
        stride *= scaleShape[d];
      }
      float s = scales[scaleIndex];
      result.push_back(value >= 0 ? s : -s);
    }
    return setResult(node, builder.create<bnn::ConstantOp>(
                               nodeLoc(node), *resultType,
                               DenseElementsAttr::get(
                                   *resultType, ArrayRef<float>(result))));
  }
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  Value signs = builder.create<bnn::BipolarOp>(nodeLoc(node), *input);
  if (scales.size() == 1 && scales.front() == 1.0f)
    return setResult(node, signs);
  Value factor =
      builder.create<bnn::ConstantOp>(nodeLoc(node), scaleType, *scale);
  return setResult(node, builder.create<bnn::MulOp>(nodeLoc(node), *resultType,
                                                    signs, factor));
}

LogicalResult Importer::importPRelu(const onnx::NodeProto &node) {
  Value input, slope;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input, &slope}, resultType)))
    return failure();
  auto inputType = cast<RankedTensorType>(input.getType());
  auto slopeType = cast<RankedTensorType>(slope.getType());
  SmallVector<int64_t> shape;
  // Opset 6 and older models (converted here) give one slope per channel
  // (axis 1) as a vector, which NumPy broadcasting would align with the last
  // axis: make it C x 1 x ... x 1.
  if (!OpTrait::util::getBroadcastedShape(inputType.getShape(),
                                          slopeType.getShape(), shape) ||
      shape != SmallVector<int64_t>(inputType.getShape())) {
    if (slopeType.getRank() != 1 || inputType.getRank() < 2 ||
        slopeType.getDimSize(0) != inputType.getDimSize(1))
      return error(node) << "the slope does not broadcast to the input";
    SmallVector<int64_t> channel(inputType.getRank() - 1, 1);
    channel[0] = inputType.getDimSize(1);
    slope = builder.create<bnn::ReshapeOp>(
        nodeLoc(node), RankedTensorType::get(channel, builder.getF32Type()),
        slope);
  }
  return setResult(node, builder.create<bnn::PReluOp>(nodeLoc(node), inputType,
                                                      input, slope));
}

LogicalResult Importer::importLeakyRelu(const onnx::NodeProto &node) {
  return importAlphaActivation<bnn::LeakyReluOp>(node, 0.01f);
}

LogicalResult Importer::importElu(const onnx::NodeProto &node) {
  return importAlphaActivation<bnn::EluOp>(node, 1.0f);
}

LogicalResult Importer::importCelu(const onnx::NodeProto &node) {
  return importAlphaActivation<bnn::CeluOp>(node, 1.0f);
}

LogicalResult Importer::importThresholdedRelu(const onnx::NodeProto &node) {
  return importAlphaActivation<bnn::ThresholdedReluOp>(node, 1.0f);
}

LogicalResult Importer::importHardSigmoid(const onnx::NodeProto &node) {
  return importTwoAttrActivation<bnn::HardSigmoidOp>(node, "alpha", 0.2f,
                                                     "beta", 0.5f);
}

LogicalResult Importer::importSelu(const onnx::NodeProto &node) {
  // ONNX's defaults, as float32.
  return importTwoAttrActivation<bnn::SeluOp>(
      node, "alpha", 1.67326319217681884765625f, "gamma",
      1.05070102214813232421875f);
}

LogicalResult Importer::importShrink(const onnx::NodeProto &node) {
  return importTwoAttrActivation<bnn::ShrinkOp>(node, "lambd", 0.5f, "bias",
                                                0.0f);
}

template <typename OpTy>
LogicalResult Importer::importVariadic(const onnx::NodeProto &node) {
  SmallVector<Value> inputs;
  for (int i = 0; i < node.input_size(); ++i) {
    if (!hasInput(node, i))
      continue;
    FailureOr<Value> input = getOperand(node, i);
    if (failed(input))
      return failure();
    inputs.push_back(*input);
  }
  if (inputs.empty())
    return error(node) << "has no inputs";
  Value result = inputs.front();
  for (Value next : ArrayRef(inputs).drop_front()) {
    SmallVector<int64_t> shape;
    if (!OpTrait::util::getBroadcastedShape(
            cast<RankedTensorType>(result.getType()).getShape(),
            cast<RankedTensorType>(next.getType()).getShape(), shape))
      return error(node) << "has inputs that do not broadcast";
    result = builder.create<OpTy>(
        nodeLoc(node), RankedTensorType::get(shape, builder.getF32Type()),
        result, next);
  }
  return setResult(node, result);
}

LogicalResult Importer::importMean(const onnx::NodeProto &node) {
  if (failed(importVariadic<bnn::AddOp>(node)))
    return failure();
  Value sum = values[node.output(0)];
  int count = 0;
  for (int i = 0; i < node.input_size(); ++i)
    count += hasInput(node, i);
  if (count == 1)
    return success();
  auto scalar = RankedTensorType::get({}, builder.getF32Type());
  Value divisor = builder.create<bnn::ConstantOp>(
      nodeLoc(node), scalar,
      DenseElementsAttr::get(scalar, static_cast<float>(count)));
  return setResult(node, builder.create<bnn::DivOp>(
                             nodeLoc(node), sum.getType(), sum, divisor));
}

template <typename OpTy>
LogicalResult Importer::importReduce(const onnx::NodeProto &node) {
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  // Opset 17: ReduceSum takes its axes as an input, the others as an
  // attribute.
  SmallVector<int64_t> given;
  if (hasInput(node, 1)) {
    FailureOr<SmallVector<int64_t>> axes = getConstantInts(node, 1);
    if (failed(axes))
      return failure();
    given = *axes;
  } else {
    given = intsAttr(node, "axes", {});
  }
  if (given.empty() && intAttr(node, "noop_with_empty_axes", 0))
    return setResult(node, input);
  SmallVector<int64_t> axes;
  for (int64_t axis : given) {
    FailureOr<int64_t> normalized = normalizeAxis(node, axis, rank);
    if (failed(normalized))
      return failure();
    if (!llvm::is_contained(axes, *normalized))
      axes.push_back(*normalized);
  }
  if (given.empty())
    for (int64_t axis = 0; axis < rank; ++axis)
      axes.push_back(axis);
  llvm::sort(axes);
  return setResult(node,
                   builder.create<OpTy>(nodeLoc(node), resultType, input, axes,
                                        intAttr(node, "keepdims", 1) != 0));
}

LogicalResult Importer::importLayerNorm(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<Value> scale = getOperand(node, 1);
  bool failedBias = false;
  Value bias = getOptionalOperand(node, 2, failedBias);
  if (failed(input) || failed(scale) || failedBias)
    return failure();
  auto type = cast<RankedTensorType>(input->getType());
  FailureOr<int64_t> axis =
      normalizeAxis(node, intAttr(node, "axis", -1), type.getRank());
  if (failed(axis))
    return failure();
  float epsilon = floatAttr(node, "epsilon", 1e-5f);
  if (failed(setResult(node, builder.create<bnn::LayerNormOp>(
                                 nodeLoc(node), type, *input, *scale, bias,
                                 *axis, APFloat(epsilon)))))
    return failure();
  bool wantMean = node.output_size() > 1 && !node.output(1).empty();
  bool wantInverse = node.output_size() > 2 && !node.output(2).empty();
  if (!wantMean && !wantInverse)
    return success();
  // The optional statistics, from the ops that define them: the mean and
  // 1 / sqrt(variance + epsilon) over the normalized axes, kept as 1.
  SmallVector<int64_t> axes, kept(type.getShape());
  for (int64_t d = *axis; d < type.getRank(); ++d) {
    axes.push_back(d);
    kept[d] = 1;
  }
  auto statType = RankedTensorType::get(kept, builder.getF32Type());
  Location loc = nodeLoc(node);
  Value mean =
      builder.create<bnn::ReduceMeanOp>(loc, statType, *input, axes, true);
  if (wantMean)
    values[node.output(1)] = mean;
  if (wantInverse) {
    Value centered = builder.create<bnn::SubOp>(loc, type, *input, mean);
    Value squares = builder.create<bnn::MulOp>(loc, type, centered, centered);
    Value variance =
        builder.create<bnn::ReduceMeanOp>(loc, statType, squares, axes, true);
    auto scalar = RankedTensorType::get({}, builder.getF32Type());
    Value eps = builder.create<bnn::ConstantOp>(
        loc, scalar, DenseElementsAttr::get(scalar, epsilon));
    Value shifted = builder.create<bnn::AddOp>(loc, statType, variance, eps);
    Value deviation = builder.create<bnn::SqrtOp>(loc, shifted);
    values[node.output(2)] = builder.create<bnn::ReciprocalOp>(loc, deviation);
  }
  return success();
}

LogicalResult Importer::importPad(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<SmallVector<int64_t>> pads = getConstantInts(node, 1);
  FailureOr<FloatAttr> value = getOptionalConstantScalar(node, 2);
  if (failed(input) || failed(pads) || failed(value))
    return failure();
  if (hasInput(node, 3))
    return error(node) << "the axes input is not supported";
  auto type = cast<RankedTensorType>(input->getType());
  if (static_cast<int64_t>(pads->size()) != 2 * type.getRank())
    return error(node) << "expects " << 2 * type.getRank()
                       << " pads for a rank-" << type.getRank()
                       << " input, got " << pads->size();
  if (llvm::any_of(*pads, [](int64_t pad) { return pad < 0; }))
    return error(node) << "negative pads (crops) are not supported";
  std::string mode = stringAttr(node, "mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return error(node) << "mode '" << mode
                       << "' is not supported (constant, reflect, edge are)";
  // A pad of nothing (PyTorch's AvgPool2d exports one) disappears.
  if (llvm::all_of(*pads, [](int64_t pad) { return pad == 0; }))
    return setResult(node, *input);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(resultType))
    return failure();
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (mode == "reflect" && ((*pads)[d] || (*pads)[d + type.getRank()]) &&
        std::max((*pads)[d], (*pads)[d + type.getRank()]) >= type.getDimSize(d))
      return error(node) << "reflects "
                         << std::max((*pads)[d], (*pads)[d + type.getRank()])
                         << " elements of axis " << d << ", which has only "
                         << type.getDimSize(d);
  float fill = *value ? value->getValueAsDouble() : 0.0f;
  return setResult(node, builder.create<bnn::PadOp>(
                             nodeLoc(node), *resultType, *input, *pads,
                             builder.getStringAttr(mode), APFloat(fill)));
}

LogicalResult Importer::importSlice(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  FailureOr<SmallVector<int64_t>> starts = getConstantInts(node, 1);
  FailureOr<SmallVector<int64_t>> ends = getConstantInts(node, 2);
  if (failed(input) || failed(starts) || failed(ends))
    return failure();
  SmallVector<int64_t> axes, steps;
  if (hasInput(node, 3)) {
    FailureOr<SmallVector<int64_t>> given = getConstantInts(node, 3);
    if (failed(given))
      return failure();
    axes = *given;
  }
  if (hasInput(node, 4)) {
    FailureOr<SmallVector<int64_t>> given = getConstantInts(node, 4);
    if (failed(given))
      return failure();
    steps = *given;
  }
  auto type = cast<RankedTensorType>(input->getType());
  int64_t rank = type.getRank();
  if (starts->size() != ends->size() ||
      (!axes.empty() && axes.size() != starts->size()) ||
      (!steps.empty() && steps.size() != starts->size()))
    return error(node) << "starts, ends, axes and steps differ in length";
  SmallVector<int64_t> begin(rank, 0), step(rank, 1), shape(type.getShape());
  for (size_t k = 0; k < starts->size(); ++k) {
    FailureOr<int64_t> axis =
        normalizeAxis(node, axes.empty() ? k : axes[k], rank);
    if (failed(axis))
      return failure();
    int64_t s = steps.empty() ? 1 : steps[k];
    if (s == 0)
      return error(node) << "a step of 0 is not allowed";
    int64_t dim = type.getDimSize(*axis);
    int64_t first = (*starts)[k], last = (*ends)[k];
    shape[*axis] = resolveSliceAxis(dim, s, first, last);
    begin[*axis] = shape[*axis] ? first : 0;
    step[*axis] = s;
  }
  auto resultType = RankedTensorType::get(shape, builder.getF32Type());
  if (llvm::equal(shape, type.getShape()) &&
      llvm::all_of(step, [](int64_t s) { return s == 1; }))
    return setResult(node, *input);
  return setResult(node, builder.create<bnn::SliceOp>(nodeLoc(node), resultType,
                                                      *input, begin, step));
}

LogicalResult Importer::importSplit(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  auto type = cast<RankedTensorType>(input->getType());
  FailureOr<int64_t> axis =
      normalizeAxis(node, intAttr(node, "axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getDimSize(*axis);
  int outputs = node.output_size();
  SmallVector<int64_t> sizes;
  if (hasInput(node, 1)) {
    FailureOr<SmallVector<int64_t>> given = getConstantInts(node, 1);
    if (failed(given))
      return failure();
    sizes = *given;
  } else {
    if (dim % outputs != 0)
      return error(node) << "cannot split " << dim << " elements into "
                         << outputs << " equal parts";
    sizes.assign(outputs, dim / outputs);
  }
  if (static_cast<int>(sizes.size()) != outputs ||
      std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != dim ||
      llvm::any_of(sizes, [](int64_t size) { return size < 0; }))
    return error(node) << "the split sizes do not add up to the " << dim
                       << " elements of axis " << *axis;
  int64_t offset = 0;
  for (int k = 0; k < outputs; ++k) {
    SmallVector<int64_t> begin(type.getRank(), 0), step(type.getRank(), 1),
        shape(type.getShape());
    begin[*axis] = sizes[k] ? offset : 0;
    shape[*axis] = sizes[k];
    offset += sizes[k];
    if (node.output(k).empty())
      continue;
    Value part = *input;
    if (sizes[k] != dim)
      part = builder.create<bnn::SliceOp>(
          nodeLoc(node), RankedTensorType::get(shape, builder.getF32Type()),
          *input, begin, step);
    values[node.output(k)] = part;
  }
  return success();
}

LogicalResult Importer::importGather(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  if (!constants.count(node.input(1)))
    return error(node) << "input '" << node.input(1)
                       << "' (the indices) must be a constant";
  FailureOr<SmallVector<int64_t>> indices = getConstantInts(node, 1);
  FailureOr<RankedTensorType> resultType = getResultType(node);
  if (failed(indices) || failed(resultType))
    return failure();
  auto type = cast<RankedTensorType>(input->getType());
  FailureOr<int64_t> axis =
      normalizeAxis(node, intAttr(node, "axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getDimSize(*axis);
  for (int64_t &index : *indices) {
    if (index < -dim || index >= dim)
      return error(node) << "index " << index << " is out of range for axis "
                         << *axis << " of size " << dim;
    if (index < 0)
      index += dim;
  }
  return setResult(node,
                   builder.create<bnn::GatherOp>(nodeLoc(node), *resultType,
                                                 *input, *axis, *indices));
}

LogicalResult Importer::importConvTranspose(const onnx::NodeProto &node) {
  Value input, weight, bias;
  RankedTensorType resultType;
  if (failed(
          getOperandsAndResultType(node, {&input, &weight}, resultType, &bias)))
    return failure();
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  int64_t rank = inputType.getRank();
  if (rank != 3 && rank != 4)
    return error(node) << "only 1-D and 2-D transposed convolutions are "
                          "supported, the input has rank "
                       << rank;
  size_t spatial = rank - 2;
  SmallVector<int64_t> ones(spatial, 1), zeros(spatial, 0);
  SmallVector<int64_t> kernel(weightType.getShape().drop_front(2));
  SmallVector<int64_t> strides = intsAttr(node, "strides", ones);
  SmallVector<int64_t> dilations = intsAttr(node, "dilations", ones);
  SmallVector<int64_t> outputPadding = intsAttr(node, "output_padding", zeros);
  SmallVector<int64_t> outputShape = intsAttr(node, "output_shape", {});
  if (strides.size() != spatial || dilations.size() != spatial ||
      outputPadding.size() != spatial || kernel.size() != spatial)
    return error(node) << "expects one kernel size, stride, dilation and "
                          "output padding per spatial axis ("
                       << spatial << ")";
  std::string autoPad = stringAttr(node, "auto_pad", "NOTSET");
  SmallVector<int64_t> pads(2 * spatial, 0);
  if (outputShape.empty() && autoPad == "NOTSET")
    pads = intsAttr(node, "pads", pads);
  if (pads.size() != 2 * spatial)
    return error(node) << "expects " << 2 * spatial << " pads";
  if (!outputShape.empty() || autoPad == "SAME_UPPER" ||
      autoPad == "SAME_LOWER") {
    // ONNX: total_padding = stride * (in - 1) + output_padding + (k - 1) *
    // dilation + 1 - output_shape, split as auto_pad says (SAME_UPPER when
    // only output_shape is given).
    if (outputShape.size() > spatial)
      outputShape.erase(outputShape.begin(),
                        outputShape.end() - spatial); // N, C given too
    for (size_t i = 0; i < spatial; ++i) {
      int64_t in = inputType.getDimSize(i + 2);
      int64_t out = outputShape.empty() ? in * strides[i] : outputShape[i];
      int64_t total = TransposedOutputSize(in, kernel[i], strides[i], 0, 0,
                                           dilations[i], outputPadding[i]) -
                      out;
      bool lower = autoPad == "SAME_LOWER";
      pads[i] = lower ? total - total / 2 : total / 2;
      pads[i + spatial] = lower ? total / 2 : total - total / 2;
      // A negative end pad adds positions at the end: output padding.
      if (pads[i + spatial] < 0) {
        outputPadding[i] -= pads[i + spatial];
        pads[i + spatial] = 0;
      }
      if (pads[i] < 0)
        return error(node) << "output_shape " << out << " of spatial axis " << i
                           << " needs negative padding at the beginning; "
                              "give pads and output_padding instead";
    }
  } else if (autoPad != "NOTSET" && autoPad != "VALID") {
    return error(node) << "unknown auto_pad '" << autoPad << "'";
  }
  auto conv = builder.create<bnn::ConvTransposeOp>(
      nodeLoc(node), resultType, input, weight, bias, strides, pads, dilations,
      outputPadding, intAttr(node, "group", 1));
  return setResult(node, conv);
}

LogicalResult Importer::importResize(const onnx::NodeProto &node) {
  Value input;
  RankedTensorType resultType;
  if (failed(getOperandsAndResultType(node, {&input}, resultType)))
    return failure();
  bool upsample = node.op_type() == "Upsample";
  std::string mode = stringAttr(node, "mode", "nearest");
  if (upsample && mode == "bilinear")
    mode = "linear";
  std::string coordinate =
      upsample
          ? "asymmetric"
          : stringAttr(node, "coordinate_transformation_mode", "half_pixel");
  std::string nearest =
      upsample ? "floor"
               : stringAttr(node, "nearest_mode", "round_prefer_floor");
  if (coordinate == "tf_crop_and_resize")
    return error(node) << "coordinate_transformation_mode tf_crop_and_resize "
                          "is not supported";
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return error(node) << "unknown mode '" << mode << "'";
  auto inputType = cast<RankedTensorType>(input.getType());
  int64_t rank = inputType.getRank();
  // Resize: X, roi, scales, sizes; Upsample: X, scales.
  int scalesIndex = upsample ? 1 : 2, sizesIndex = 3;
  SmallVector<double> scales;
  auto constantOf = [&](int index) -> const onnx::TensorProto * {
    if (!hasInput(node, index))
      return nullptr;
    return constants.lookup(node.input(index));
  };
  for (int index : {scalesIndex, sizesIndex})
    if (hasInput(node, index) && !constantOf(index))
      return error(node) << "input '" << node.input(index)
                         << "' must be a constant (an initializer or a "
                            "Constant node): Hafnia needs static shapes";
  const onnx::TensorProto *scalesTensor = constantOf(scalesIndex);
  if (scalesTensor && scalesTensor->dims_size() == 1 &&
      scalesTensor->dims(0) > 0) {
    FailureOr<ElementsAttr> data = getFloatData(*scalesTensor);
    if (failed(data))
      return failure();
    for (float scale : data->getValues<float>())
      scales.push_back(scale);
  } else if (const onnx::TensorProto *sizes = constantOf(sizesIndex)) {
    FailureOr<SmallVector<int64_t>> values = getConstantInts(node, sizesIndex);
    if (failed(values))
      return failure();
    (void)sizes;
    for (auto [i, size] : llvm::enumerate(*values))
      scales.push_back(static_cast<double>(size) /
                       (i < size_t(rank) ? inputType.getDimSize(i) : 1));
  } else if (const onnx::AttributeProto *attr = findAttr(node, "scales")) {
    for (float scale : attr->floats()) // Upsample before opset 9
      scales.push_back(scale);
  } else {
    return error(node) << "needs constant scales or sizes";
  }
  if (scales.size() != static_cast<size_t>(rank))
    return error(node) << "expects one scale or size per axis (" << rank
                       << "), got " << scales.size();
  for (double scale : scales)
    if (!(scale > 0))
      return error(node) << "expects positive scales";
  auto resize = builder.create<bnn::ResizeOp>(
      nodeLoc(node), resultType, input, mode, coordinate, nearest,
      APFloat(floatAttr(node, "cubic_coeff_a", -0.75f)),
      intAttr(node, "exclude_outside", 0) != 0, scales);
  return setResult(node, resize);
}

LogicalResult Importer::importArgMax(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  auto inputType = cast<RankedTensorType>(input->getType());
  FailureOr<int64_t> axis =
      normalizeAxis(node, intAttr(node, "axis", 0), inputType.getRank());
  if (failed(axis))
    return failure();
  bool keepdims = intAttr(node, "keepdims", 1) != 0;
  SmallVector<int64_t> shape(inputType.getShape());
  if (keepdims)
    shape[*axis] = 1;
  else
    shape.erase(shape.begin() + *axis);
  auto op = builder.create<bnn::ArgMaxOp>(
      nodeLoc(node), RankedTensorType::get(shape, builder.getI64Type()), *input,
      *axis, keepdims, node.op_type() == "ArgMin",
      intAttr(node, "select_last_index", 0) != 0);
  return setResult(node, op);
}

LogicalResult Importer::importTile(const onnx::NodeProto &node) {
  FailureOr<Value> input = getOperand(node, 0);
  if (failed(input))
    return failure();
  FailureOr<SmallVector<int64_t>> repeats = getConstantInts(node, 1);
  if (failed(repeats))
    return failure();
  auto type = cast<RankedTensorType>(input->getType());
  if (repeats->size() != static_cast<size_t>(type.getRank()))
    return error(node) << "expects one repeat per axis (" << type.getRank()
                       << "), got " << repeats->size();
  Value value = *input;
  for (auto [axis, repeat] : llvm::enumerate(*repeats)) {
    if (repeat < 1)
      return error(node) << "expects positive repeats, got " << repeat;
    if (repeat == 1)
      continue;
    auto current = cast<RankedTensorType>(value.getType());
    SmallVector<int64_t> shape(current.getShape());
    shape[axis] *= repeat;
    SmallVector<Value> copies(repeat, value);
    value = builder.create<bnn::ConcatOp>(
        nodeLoc(node), RankedTensorType::get(shape, current.getElementType()),
        copies, static_cast<int64_t>(axis));
  }
  return setResult(node, value);
}

void Importer::foldPadsIntoWindows(func::FuncOp function) {
  SmallVector<bnn::PadOp> pads;
  function.walk([&](bnn::PadOp pad) { pads.push_back(pad); });
  for (bnn::PadOp pad : pads) {
    if (pad.getMode() != "constant" || !pad.getValue().isZero() ||
        !pad->hasOneUse())
      continue;
    ArrayRef<int64_t> padding = pad.getPads();
    int64_t rank = pad.getInput().getType().getRank();
    if (rank != 3 && rank != 4)
      continue;
    // Only spatial axes may be padded.
    if (padding[0] || padding[1] || padding[rank] || padding[rank + 1])
      continue;
    int64_t spatial = rank - 2;
    auto merged = [&](ArrayRef<int64_t> own) {
      SmallVector<int64_t> result(own);
      for (int64_t i = 0; i < spatial; ++i) {
        result[i] += padding[2 + i];
        result[spatial + i] += padding[rank + 2 + i];
      }
      return result;
    };
    Operation *user = *pad->getUsers().begin();
    OpBuilder rewriter(user);
    if (auto conv = dyn_cast<bnn::ConvOp>(user)) {
      if (conv.getInput() != pad.getResult())
        continue;
      auto folded = rewriter.create<bnn::ConvOp>(
          conv.getLoc(), conv.getType(), pad.getInput(), conv.getWeight(),
          conv.getBias(), conv.getStrides(), merged(conv.getPads()),
          conv.getDilations(), conv.getGroup());
      conv.replaceAllUsesWith(folded.getResult());
      conv.erase();
      pad.erase();
    } else if (auto pool = dyn_cast<bnn::AveragePoolOp>(user)) {
      // The pad's zeros count in the divisor: that is count_include_pad,
      // which is only equivalent when the pool has no pads of its own or
      // counts them too.
      bool ownPads = llvm::any_of(pool.getPads(), [](int64_t p) { return p; });
      // Ceil mode drops a last window by where the padding begins: keep it.
      if ((ownPads && !pool.getCountIncludePad()) || pool.getCeilMode())
        continue;
      auto folded = rewriter.create<bnn::AveragePoolOp>(
          pool.getLoc(), pool.getType(), pad.getInput(), pool.getKernelShape(),
          pool.getStrides(), merged(pool.getPads()), true, pool.getCeilMode());
      pool.replaceAllUsesWith(folded.getResult());
      pool.erase();
      pad.erase();
    }
  }
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
        getTensorType(output.name(), output.type(), /*indices=*/true);
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
  foldPadsIntoWindows(function);

  // A verifier's message names the op; say which ONNX node it came from,
  // on one line (notes dropped).
  LogicalResult verified = success();
  {
    ScopedDiagnosticHandler handler(context, [&](Diagnostic &diagnostic) {
      auto name = dyn_cast<NameLoc>(diagnostic.getLocation());
      if (!name || diagnostic.getSeverity() != DiagnosticSeverity::Error)
        return failure();
      emitError(name.getChildLoc())
          << "node '" << name.getName().getValue() << "': " << diagnostic.str();
      return success();
    });
    verified = verify(*module);
  }
  if (failed(verified))
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
  loadOptions.constantInputs = options.constantInputs;
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

std::optional<std::string> addConstantInput(StringRef spec,
                                            OnnxImportOptions &options) {
  auto [name, file] = spec.split(':');
  if (name.empty() || file.empty() || spec.find(':') == StringRef::npos)
    return "--constant-input='" + spec.str() +
           "' is not NAME:FILE.pb (e.g. scales:input_1.pb)";
  auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false);
  if (!buffer)
    return "--constant-input='" + spec.str() + "': cannot read '" + file.str() +
           "': " + buffer.getError().message();
  options.constantInputs.emplace_back(name.str(), (*buffer)->getBuffer().str());
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
  static llvm::cl::list<std::string> constantInputs(
      "constant-input",
      llvm::cl::desc("NAME:FILE.pb binds an input to the TensorProto in the "
                     "file, as an initializer (repeatable)"));
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
        for (const std::string &spec : constantInputs)
          if (std::optional<std::string> message =
                  addConstantInput(spec, options)) {
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
