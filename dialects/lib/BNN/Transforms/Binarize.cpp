//===- Binarize.cpp - Dense and convolution layers to XNOR-popcount -------===//

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>

namespace hafnia::bnn {
#define GEN_PASS_DEF_BINARIZEPASS
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"
} // namespace hafnia::bnn

using namespace mlir;
using namespace hafnia::bnn;

namespace {

std::string layerName(Operation *op) {
  if (isa<NameLoc>(op->getLoc()))
    return "layer '" + getLayerName(op) + "'";
  return "'" + getLayerName(op) + "' layer";
}

/// A layer's weights as signs, one row of `fanIn` per output channel.
struct BinaryWeights {
  SmallVector<bool> bits; // row-major, outputs x fanIn; true is +1
  SmallVector<float> scales;
  bool exact = true;     // the weights were +1/-1 (trained binarized)
  int64_t zeroSigns = 0; // zeros of a Sign(weight), read as +1
};

/// Reads the weights of a layer as `outputs x fanIn` rows (`kByM`: stored
/// `fanIn x outputs`, as a MatMul weight). Fails for a weight computed at run
/// time.
FailureOr<BinaryWeights> readWeights(Value weight, int64_t outputs,
                                     int64_t fanIn, bool kByM) {
  // PyTorch exports a bias-free Linear whose weight goes through Sign as
  // Sign -> Transpose -> MatMul.
  if (auto transpose = weight.getDefiningOp<TransposeOp>()) {
    if (transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return failure();
    weight = transpose.getInput();
    kByM = !kByM;
  }
  bool applySign = false;
  if (auto sign = weight.getDefiningOp<SignOp>()) {
    weight = sign.getInput();
    applySign = true;
  }
  auto constant = weight.getDefiningOp<ConstantOp>();
  if (!constant)
    return failure();
  SmallVector<float> values(constant.getValue().getValues<float>());
  BinaryWeights result;
  result.bits.resize(outputs * fanIn);
  result.scales.assign(outputs, 0.0f);
  for (int64_t out = 0; out < outputs; ++out) {
    double magnitude = 0;
    for (int64_t in = 0; in < fanIn; ++in) {
      float value =
          kByM ? values[in * outputs + out] : values[out * fanIn + in];
      if (applySign) {
        result.zeroSigns += value == 0;
        value = value >= 0 ? 1.0f : -1.0f;
      }
      result.exact &= value == 1.0f || value == -1.0f;
      result.bits[out * fanIn + in] = value >= 0;
      magnitude += std::fabs(value);
    }
    result.scales[out] = static_cast<float>(magnitude / fanIn);
  }
  // +1/-1 weights need no scale; anything else keeps its mean magnitude so
  // that the layer's output stays on the scale the network was trained with.
  if (result.exact)
    result.scales.assign(outputs, 1.0f);
  return result;
}

/// Per-output bias values of a constant that broadcasts along the output
/// channel (shape [M], [1, M], [1] or scalar); fails otherwise.
FailureOr<SmallVector<float>> readChannelBias(Value bias, int64_t outputs) {
  auto constant = bias.getDefiningOp<ConstantOp>();
  if (!constant)
    return failure();
  auto type = cast<ShapedType>(bias.getType());
  SmallVector<float> values(constant.getValue().getValues<float>());
  int64_t leadingOnes = 1;
  for (int64_t dim : type.getShape().drop_back())
    leadingOnes *= dim;
  if (leadingOnes != 1)
    return failure();
  if (values.size() == 1)
    return SmallVector<float>(outputs, values.front());
  if (static_cast<int64_t>(values.size()) != outputs)
    return failure();
  return values;
}

struct BinarizePass : hafnia::bnn::impl::BinarizePassBase<BinarizePass> {
  using Base::Base;

  void runOnOperation() override {
    if (mode == BinarizeMode::None)
      return;
    SmallVector<Operation *> layers;
    bool first = true;
    getOperation().walk([&](Operation *op) {
      if (!isa<ConvOp, DenseOp>(op))
        return;
      bool isFirst = first;
      first = false;
      if (mode == BinarizeMode::Classifier ? op->hasAttr(kClassifierAttrName)
                                           : !isFirst || binarizeFirstLayer)
        layers.push_back(op);
    });
    for (Operation *layer : layers) {
      if (auto dense = dyn_cast<DenseOp>(layer))
        binarizeDense(dense);
      else
        binarizeConv(cast<ConvOp>(layer));
    }
  }

  /// The bits a binary layer reads: bnn.binarize of `input`, looking through
  /// activations that keep the sign. A ReLU would leave only +1: it is
  /// replaced by the sign, as binarized networks do.
  Value binarizeInput(OpBuilder &builder, Value input, Operation *layer) {
    while (Operation *producer = input.getDefiningOp()) {
      if (isa<SignOp, TanhOp>(producer)) {
        input = producer->getOperand(0);
      } else if (auto clip = dyn_cast<ClipOp>(producer)) {
        bool keepsSign = (!clip.getMin() || *clip.getMin() < APFloat(0.0f)) &&
                         (!clip.getMax() || *clip.getMax() >= APFloat(0.0f));
        if (!keepsSign)
          break;
        input = clip.getInput();
      } else if (auto relu = dyn_cast<ReluOp>(producer)) {
        layer->emitWarning()
            << layerName(layer) << ": its input passes through a ReLU, which "
            << "would binarize to +1 everywhere; the ReLU is replaced by a "
               "sign";
        input = relu.getInput();
      } else {
        break;
      }
    }
    auto type = cast<ShapedType>(input.getType());
    return builder.create<BinarizeOp>(layer->getLoc(),
                                      type.clone(builder.getI1Type()), input);
  }

  /// Warns about weights that were not +1/-1, and about zeros under Sign.
  void reportWeights(Operation *layer, const BinaryWeights &weights) {
    if (!weights.exact)
      layer->emitWarning()
          << layerName(layer)
          << ": real-valued weights binarized after training (signs scaled by "
             "their mean magnitude per neuron); accuracy will drop, and "
             "hafnia-sim measures how much";
    if (weights.zeroSigns)
      layer->emitWarning() << layerName(layer) << ": " << weights.zeroSigns
                           << " weight(s) are exactly zero under Sign; the "
                              "chip stores them as +1";
  }

  void keepReal(Operation *layer, StringRef why) {
    layer->emitWarning() << layerName(layer) << " stays real: " << why;
  }

  Value weightConstant(OpBuilder &builder, Location loc,
                       ArrayRef<int64_t> shape, ArrayRef<bool> bits) {
    auto type = RankedTensorType::get(shape, builder.getI1Type());
    return builder.create<ConstantOp>(loc, type,
                                      DenseElementsAttr::get(type, bits));
  }

  void replaceLayer(Operation *layer, Value result) {
    llvm::SetVector<Value> operands(layer->operand_begin(),
                                    layer->operand_end());
    layer->getResult(0).replaceAllUsesWith(result);
    layer->erase();
    // The real weight and bias (and a Sign applied to the weight) are dead
    // unless something else reads them.
    for (Value operand : operands) {
      while (Operation *producer =
                 operand ? operand.getDefiningOp() : nullptr) {
        if (!producer->use_empty() ||
            !isa<ConstantOp, SignOp, TransposeOp>(producer))
          break;
        operand = isa<ConstantOp>(producer) ? Value() : producer->getOperand(0);
        producer->erase();
      }
    }
  }

  void binarizeDense(DenseOp dense) {
    auto lhs = dense.getLhs().getType();
    auto rhs = dense.getRhs().getType();
    if (lhs.getRank() != 2 || rhs.getRank() != 2 || dense.getTransposeLhs())
      return keepReal(dense, "only a matrix-times-weight product (rank-2 "
                             "operands, no transposed input) maps to arrays");
    int64_t fanIn = lhs.getDimSize(1);
    int64_t outputs = dense.getOutput().getType().getDimSize(1);
    FailureOr<BinaryWeights> weights = readWeights(
        dense.getRhs(), outputs, fanIn, /*kByM=*/!dense.getTransposeRhs());
    if (failed(weights))
      return keepReal(dense, "its weight is computed at run time, not a "
                             "constant");
    SmallVector<float> bias(outputs, 0.0f);
    if (dense.getBias()) {
      FailureOr<SmallVector<float>> values =
          readChannelBias(dense.getBias(), outputs);
      if (failed(values))
        return keepReal(dense, "its bias is not a per-neuron constant");
      float beta = dense.getBeta().convertToFloat();
      for (auto [b, value] : llvm::zip(bias, *values))
        b = beta * value;
    }
    reportWeights(dense, *weights);
    float alpha = dense.getAlpha().convertToFloat();
    SmallVector<float> scales;
    for (float scale : weights->scales)
      scales.push_back(alpha * scale);

    OpBuilder builder(dense);
    Location loc = dense.getLoc();
    Value bits = binarizeInput(builder, dense.getLhs(), dense);
    Value weightBits =
        weightConstant(builder, loc, {outputs, fanIn}, weights->bits);
    auto popcount = builder.create<XnorDenseOp>(
        loc,
        RankedTensorType::get({lhs.getDimSize(0), outputs},
                              builder.getI32Type()),
        bits, weightBits);
    auto affine = builder.create<PopcountAffineOp>(
        loc, dense.getOutput().getType(), popcount, fanIn, scales, bias);
    replaceLayer(dense, affine);
  }

  void binarizeConv(ConvOp conv) {
    if (llvm::any_of(conv.getPads(), [](int64_t pad) { return pad != 0; }))
      return keepReal(conv, "it is zero-padded, and a zero pad is neither +1 "
                            "nor -1 on the chip");
    auto weightType = conv.getWeight().getType();
    int64_t outputs = weightType.getDimSize(0);
    int64_t fanIn = weightType.getNumElements() / outputs;
    FailureOr<BinaryWeights> weights =
        readWeights(conv.getWeight(), outputs, fanIn, /*kByM=*/false);
    if (failed(weights))
      return keepReal(conv, "its weight is computed at run time, not a "
                            "constant");
    SmallVector<float> bias(outputs, 0.0f);
    if (conv.getBias()) {
      FailureOr<SmallVector<float>> values =
          readChannelBias(conv.getBias(), outputs);
      if (failed(values))
        return keepReal(conv, "its bias is not a constant");
      bias = *values;
    }
    reportWeights(conv, *weights);

    OpBuilder builder(conv);
    Location loc = conv.getLoc();
    Value bits = binarizeInput(builder, conv.getInput(), conv);
    Value weightBits =
        weightConstant(builder, loc, weightType.getShape(), weights->bits);
    auto outputType = conv.getOutput().getType();
    auto popcount = builder.create<XnorConvOp>(
        loc, outputType.clone(builder.getI32Type()), bits, weightBits,
        conv.getStrides(), conv.getDilations(), conv.getGroup());
    auto affine = builder.create<PopcountAffineOp>(
        loc, outputType, popcount, fanIn, weights->scales, bias);
    replaceLayer(conv, affine);
  }
};

} // namespace
