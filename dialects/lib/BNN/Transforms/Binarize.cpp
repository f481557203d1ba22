//===- Binarize.cpp - Dense and convolution layers to XNOR-popcount -------===//

#include "hafnia/Dialect/BNN/Analysis/SignAnalysis.h"
#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "hafnia/runtime/WindowArithmetic.h"

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
  // Per output: sum of weight * inputOffset(out, in) (calibrated inputs).
  SmallVector<float> offsetSums;
};

/// The constant a layer's weight operand is read from, looking through what
/// exports put between them.
struct WeightSource {
  ConstantOp constant;
  bool transposed = false; // through a 2-D Transpose
  bool applySign = false;  // through a Sign (or the chip's sign)
  bool chipSign = false;   // through a BipolarQuant: zero is +1
};
std::optional<WeightSource> findWeightSource(Value weight) {
  WeightSource source;
  // PyTorch exports a bias-free Linear whose weight goes through Sign as
  // Sign -> Transpose -> MatMul.
  if (auto transpose = weight.getDefiningOp<TransposeOp>()) {
    if (transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return std::nullopt;
    weight = transpose.getInput();
    source.transposed = true;
  }
  if (auto sign = weight.getDefiningOp<SignOp>()) {
    weight = sign.getInput();
    source.applySign = true;
  } else if (auto bipolar = weight.getDefiningOp<BipolarOp>()) {
    // BipolarQuant: the chip's own sign, zero included.
    weight = bipolar.getInput();
    source.applySign = source.chipSign = true;
  }
  source.constant = weight.getDefiningOp<ConstantOp>();
  if (!source.constant)
    return std::nullopt;
  return source;
}

/// Reads the weights of a layer as `outputs x fanIn` rows (`kByM`: stored
/// `fanIn x outputs`, as a MatMul weight), and sums each row's products with
/// `inputOffset` when given. Fails for a weight computed at run time.
FailureOr<BinaryWeights>
readWeights(Value weight, int64_t outputs, int64_t fanIn, bool kByM,
            llvm::function_ref<float(int64_t out, int64_t in)> inputOffset) {
  std::optional<WeightSource> source = findWeightSource(weight);
  if (!source)
    return failure();
  kByM ^= source->transposed;
  bool applySign = source->applySign, chipSign = source->chipSign;
  SmallVector<float> values(source->constant.getValue().getValues<float>());
  BinaryWeights result;
  result.bits.resize(outputs * fanIn);
  result.scales.assign(outputs, 0.0f);
  result.offsetSums.assign(outputs, 0.0f);
  for (int64_t out = 0; out < outputs; ++out) {
    double magnitude = 0, offsetSum = 0;
    // A neuron whose weights are all +a or -a (a > 0) is exactly binary
    // with scale a: +1/-1, or a per-channel scaled binary export.
    float level = 0;
    for (int64_t in = 0; in < fanIn; ++in) {
      float value =
          kByM ? values[in * outputs + out] : values[out * fanIn + in];
      if (applySign) {
        result.zeroSigns += value == 0 && !chipSign;
        value = value >= 0 ? 1.0f : -1.0f;
      }
      if (in == 0)
        level = std::fabs(value);
      result.exact &= level > 0 && std::fabs(value) == level;
      result.bits[out * fanIn + in] = value >= 0;
      magnitude += std::fabs(value);
      if (inputOffset)
        offsetSum += double(value) * inputOffset(out, in);
    }
    result.scales[out] = static_cast<float>(magnitude / fanIn);
    result.offsetSums[out] = static_cast<float>(offsetSum);
  }
  // Exactly binary weights keep their level as the scale (1 for +1/-1);
  // others their mean magnitude, so that the layer's output stays on the
  // scale the network was trained with. Both are the mean magnitude.
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

/// The value of a constant holding one positive number, if it is one.
std::optional<float> getPositiveScalar(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant || constant.getValue().getNumElements() != 1)
    return std::nullopt;
  float factor = *constant.getValue().getValues<float>().begin();
  if (!(factor > 0))
    return std::nullopt;
  return factor;
}

/// What a layer's input bits are computed from: the input, looking through
/// activations that keep the sign (`Sign`, `Tanh`, `Clip` around zero). A
/// ReLU that feeds the layer directly is looked through too: its output is
/// positive exactly where its input is, so sign(input) keeps what the ReLU
/// passes on (binarized networks replace it by a sign; a warning says so).
/// `sign` is set to the last Sign looked through, `relu` to the ReLU. With
/// `throughMoves`, reshapes, max pools and +1/-1 pads are looked through too:
/// signs commute with them (bnn-fold-thresholds moves the sign there, and a
/// binary convolution takes a +1/-1 pad in front of it).
Value signSource(Value input, SignOp *sign = nullptr, ReluOp *relu = nullptr,
                 bool throughMoves = false, float *scale = nullptr) {
  if (auto op = input.getDefiningOp<ReluOp>()) {
    if (relu)
      *relu = op;
    return op.getInput();
  }
  while (Operation *producer = input.getDefiningOp()) {
    if (throughMoves && isa<FlattenOp, ReshapeOp, MaxPoolOp>(producer)) {
      input = producer->getOperand(0);
      continue;
    }
    // A +1/-1 constant padding keeps a sign a sign.
    if (auto pad = dyn_cast<PadOp>(producer);
        throughMoves && pad && pad.getMode() == "constant" &&
        std::fabs(pad.getValue().convertToFloat()) == 1.0f) {
      input = pad.getInput();
      continue;
    }
    if (auto clip = dyn_cast<ClipOp>(producer)) {
      bool keepsSign = (!clip.getMin() || *clip.getMin() < APFloat(0.0f)) &&
                       (!clip.getMax() || *clip.getMax() >= APFloat(0.0f));
      if (!keepsSign)
        break;
    } else if (auto mul = dyn_cast<MulOp>(producer)) {
      // A positive scalar factor (BipolarQuant's scale) keeps the signs;
      // the layer's output takes it in its scale.
      std::optional<float> factor = getPositiveScalar(mul.getRhs());
      if (!factor || mul.getLhs().getType() != mul.getType())
        break;
      if (scale)
        *scale *= *factor;
      input = mul.getLhs();
      continue;
    } else if (!isa<SignOp, BipolarOp, TanhOp>(producer)) {
      break;
    }
    if (auto op = dyn_cast<SignOp>(producer); op && sign)
      *sign = op;
    input = producer->getOperand(0);
  }
  return input;
}

/// The calibration of a layer's input, if it has one: per input channel,
/// the threshold, and the offset and step of the two levels the bits stand
/// for (the input is about offset + step * bit, bit = +1/-1).
struct Calibration {
  SmallVector<float> thresholds, offsets, steps;
  float meanStep = 0;
};
std::optional<Calibration> getCalibration(Operation *layer) {
  auto dictionary = layer->getAttrOfType<DictionaryAttr>(kCalibrationAttrName);
  if (!dictionary)
    return std::nullopt;
  auto read = [&](StringRef name) {
    auto array = dictionary.getAs<DenseF32ArrayAttr>(name);
    return array ? SmallVector<float>(array.asArrayRef())
                 : SmallVector<float>();
  };
  Calibration calibration;
  calibration.thresholds = read("thresholds");
  SmallVector<float> low = read("low"), high = read("high");
  double stepSum = 0;
  for (auto [l, h] : llvm::zip(low, high)) {
    calibration.offsets.push_back((h + l) / 2);
    calibration.steps.push_back((h - l) / 2);
    stepSum += (h - l) / 2;
  }
  if (!low.empty())
    calibration.meanStep = static_cast<float>(stepSum / low.size());
  return calibration;
}

/// What the padding of a binary convolution adds at its border positions:
/// the arrays read padded inputs as +1, so a filter's popcount there counts
/// its +1 weights on the padding, and 2 * popcount - fan_in exceeds the
/// zero-padded dot product by the sum of the weights on the padding.
struct BorderCorrection {
  SmallVector<int64_t> positions; // flat spatial output indices
  SmallVector<int32_t> offsets;   // filters x positions: weight sums
};
BorderCorrection getBorderCorrection(ConvOp conv, ArrayRef<bool> bits) {
  auto input = conv.getInput().getType();
  auto output = conv.getOutput().getType();
  auto weight = conv.getWeight().getType();
  int64_t spatial = input.getRank() - 2;
  ArrayRef<int64_t> kernel = weight.getShape().drop_front(2);
  int64_t filters = weight.getDimSize(0), groupChannels = weight.getDimSize(1);
  int64_t taps = 1, positions = 1;
  for (int64_t i = 0; i < spatial; ++i) {
    taps *= kernel[i];
    positions *= output.getDimSize(i + 2);
  }
  BorderCorrection border;
  SmallVector<SmallVector<int64_t>> paddedTaps; // by border position
  for (int64_t position = 0; position < positions; ++position) {
    SmallVector<int64_t> padded;
    for (int64_t tap = 0; tap < taps; ++tap) {
      // Unflatten both, last axis fastest.
      bool inPadding = false;
      for (int64_t i = spatial - 1, p = position, t = tap; i >= 0; --i) {
        int64_t o = p % output.getDimSize(i + 2), k = t % kernel[i];
        p /= output.getDimSize(i + 2);
        t /= kernel[i];
        int64_t at =
            hafnia::WindowInput(o, k, conv.getStrides()[i], conv.getPads()[i],
                                conv.getDilations()[i]);
        inPadding |= at < 0 || at >= input.getDimSize(i + 2);
      }
      if (inPadding)
        padded.push_back(tap);
    }
    if (!padded.empty()) {
      border.positions.push_back(position);
      paddedTaps.push_back(std::move(padded));
    }
  }
  int64_t fanIn = groupChannels * taps;
  for (int64_t filter = 0; filter < filters; ++filter)
    for (ArrayRef<int64_t> padded : paddedTaps) {
      int32_t sum = 0;
      for (int64_t c = 0; c < groupChannels; ++c)
        for (int64_t tap : padded)
          sum += bits[filter * fanIn + c * taps + tap] ? 1 : -1;
      border.offsets.push_back(sum);
    }
  return border;
}

struct BinarizePass : hafnia::bnn::impl::BinarizePassBase<BinarizePass> {
  using Base::Base;

  void runOnOperation() override {
    if (mode == BinarizeMode::None)
      return;
    SmallVector<Operation *> layers =
        getLayersToBinarize(getOperation(), mode, binarizeFirstLayer);
    // The signs of every layer's input, from the network as it came: the
    // rewrites below replace values the analysis knows.
    ValueSigns signs(getOperation());
    for (Operation *layer : layers) {
      InputSigns &input = inputSigns[layer];
      input.range =
          signs.lookup(signSource(layer->getOperand(0), &input.sign,
                                  &input.relu, /*throughMoves=*/true));
    }
    for (Operation *layer : layers) {
      LogicalResult binarized = isa<DenseOp>(layer)
                                    ? binarizeDense(cast<DenseOp>(layer))
                                    : binarizeConv(cast<ConvOp>(layer));
      if (failed(binarized))
        return signalPassFailure();
    }
  }

  /// What the sign analysis says of a layer's input, and the Sign (if any)
  /// it reaches the layer through.
  struct InputSigns {
    SignRange range;
    SignOp sign;
    ReluOp relu;
  };
  llvm::DenseMap<Operation *, InputSigns> inputSigns;

  /// Refuses an input that can never be negative (its bits would all be
  /// +1: a constant output); warns where a Sign's input can be exactly zero.
  /// A calibrated input is compared with thresholds from data instead.
  LogicalResult checkInput(Operation *layer,
                           const std::optional<Calibration> &calibration) {
    if (calibration) {
      int64_t channels =
          cast<ShapedType>(layer->getOperand(0).getType()).getDimSize(1);
      size_t count = calibration->thresholds.size();
      if (static_cast<int64_t>(count) != channels ||
          calibration->steps.size() != count)
        return layer->emitError()
               << layerName(layer) << ": " << kCalibrationAttrName
               << " needs thresholds, low and high of " << channels
               << " values each, one per input channel";
      return success();
    }
    const InputSigns &input = inputSigns.lookup(layer);
    if (!input.range.canBeNegative()) {
      Operation *source = input.range.nonNegativeSource;
      return layer->emitError()
             << layerName(layer) << ": its input is never negative (because "
             << "of '" << getLayerName(source) << "', " << source->getName()
             << "), so sign binarization would read +1 for every input and "
                "give the same output for all of them; pass calibration "
                "inputs (--calibration=x.npy) to binarize each feature at a "
                "threshold chosen from its values, or retrain with a Sign "
                "after a batch norm, as binarized networks do";
    }
    if (input.relu)
      layer->emitWarning()
          << layerName(layer) << ": its input passes through a ReLU, which "
          << "would binarize to +1 everywhere; the ReLU is replaced by a "
             "sign";
    if (input.sign && input.range.canBeZero()) {
      InFlightDiagnostic warning = layer->emitWarning();
      warning << layerName(layer) << ": the input of Sign '"
              << getLayerName(input.sign)
              << "' can be exactly zero, where ONNX's Sign gives 0 and the "
                 "chip +1; the outputs differ from the ONNX model's wherever "
                 "it is";
      if (auto counts =
              layer->getAttrOfType<DictionaryAttr>(kSignZerosAttrName)) {
        auto zeros = counts.getAs<IntegerAttr>("zeros");
        auto values = counts.getAs<IntegerAttr>("values");
        if (zeros && values)
          warning << " (on the calibration data, " << zeros.getInt() << " of "
                  << values.getInt() << " values)";
      }
    }
    return success();
  }

  /// The bits a binary layer reads: its input compared with the calibrated
  /// thresholds, or bnn.binarize of its sign source.
  Value binarizeInput(OpBuilder &builder, Value input, Operation *layer,
                      const std::optional<Calibration> &calibration) {
    DenseF32ArrayAttr thresholds;
    if (calibration)
      thresholds = builder.getDenseF32ArrayAttr(calibration->thresholds);
    else
      input = signSource(input);
    auto type = cast<ShapedType>(input.getType());
    return builder.create<BinarizeOp>(
        layer->getLoc(), type.clone(builder.getI1Type()), input, thresholds);
  }

  /// The positive scalar factors (QONNX BipolarQuant scales) between a
  /// layer's input bits and the layer: its output takes them in its scale.
  static float inputScale(Value input,
                          const std::optional<Calibration> &calibration) {
    float scale = 1.0f;
    if (!calibration)
      signSource(input, nullptr, nullptr, /*throughMoves=*/false, &scale);
    return scale;
  }

  /// A calibrated input stands for offset + step * bit per channel: the
  /// layer's output gains the weights times the offsets as a bias, and its
  /// scale the mean step.
  static void applyCalibration(const std::optional<Calibration> &calibration,
                               const BinaryWeights &weights, float gain,
                               SmallVector<float> &scales,
                               SmallVector<float> &bias) {
    if (!calibration)
      return;
    for (auto [scale, b, offsetSum] :
         llvm::zip(scales, bias, weights.offsetSums)) {
      scale *= calibration->meanStep;
      b += gain * offsetSum;
    }
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

  LogicalResult keepReal(Operation *layer, StringRef why) {
    layer->emitWarning() << layerName(layer) << " stays real: " << why;
    layer->removeAttr(kCalibrationAttrName);
    return success();
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

  LogicalResult binarizeDense(DenseOp dense) {
    if (std::optional<std::string> obstacle = getBinarizationObstacle(dense))
      return keepReal(dense, *obstacle);
    auto lhs = dense.getLhs().getType();
    int64_t fanIn = lhs.getDimSize(1);
    int64_t outputs = dense.getOutput().getType().getDimSize(1);
    std::optional<Calibration> calibration = getCalibration(dense);
    if (failed(checkInput(dense, calibration)))
      return failure();
    auto offset = [&](int64_t, int64_t in) { return calibration->offsets[in]; };
    FailureOr<BinaryWeights> weights = readWeights(
        dense.getRhs(), outputs, fanIn,
        /*kByM=*/!dense.getTransposeRhs(),
        calibration ? llvm::function_ref<float(int64_t, int64_t)>(offset)
                    : nullptr);
    // getBinarizationObstacle found the weight and bias constants.
    assert(succeeded(weights) && "binarizing a weight computed at run time");
    SmallVector<float> bias(outputs, 0.0f);
    if (dense.getBias()) {
      FailureOr<SmallVector<float>> values =
          readChannelBias(dense.getBias(), outputs);
      assert(succeeded(values) && "binarizing a bias computed at run time");
      float beta = dense.getBeta().convertToFloat();
      for (auto [b, value] : llvm::zip(bias, *values))
        b = beta * value;
    }
    reportWeights(dense, *weights);
    float alpha = dense.getAlpha().convertToFloat();
    SmallVector<float> scales;
    float gain = alpha * inputScale(dense.getLhs(), calibration);
    for (float scale : weights->scales)
      scales.push_back(gain * scale);
    applyCalibration(calibration, *weights, alpha, scales, bias);

    OpBuilder builder(dense);
    Location loc = dense.getLoc();
    Value bits = binarizeInput(builder, dense.getLhs(), dense, calibration);
    Value weightBits =
        weightConstant(builder, loc, {outputs, fanIn}, weights->bits);
    auto popcount = builder.create<XnorDenseOp>(
        loc,
        RankedTensorType::get({lhs.getDimSize(0), outputs},
                              builder.getI32Type()),
        bits, weightBits);
    auto affine = builder.create<PopcountAffineOp>(
        loc, dense.getOutput().getType(), popcount, fanIn, scales, bias,
        DenseI64ArrayAttr(), DenseI32ArrayAttr());
    replaceLayer(dense, affine);
    return success();
  }

  /// A constant +1 or -1 Pad of the spatial axes of an unpadded
  /// convolution's input (Larq's `pad_values`): the arrays read it as such.
  static PadOp getSignPad(ConvOp conv) {
    auto pad = conv.getInput().getDefiningOp<PadOp>();
    if (!pad || pad.getMode() != "constant" ||
        std::fabs(pad.getValue().convertToFloat()) != 1.0f ||
        llvm::any_of(conv.getPads(), [](int64_t p) { return p != 0; }))
      return nullptr;
    ArrayRef<int64_t> pads = pad.getPads();
    int64_t rank = pads.size() / 2;
    if (pads[0] || pads[1] || pads[rank] || pads[rank + 1])
      return nullptr;
    return pad;
  }

  LogicalResult binarizeConv(ConvOp conv) {
    if (std::optional<std::string> obstacle = getBinarizationObstacle(conv))
      return keepReal(conv, *obstacle);
    auto weightType = conv.getWeight().getType();
    int64_t outputs = weightType.getDimSize(0);
    int64_t fanIn = weightType.getNumElements() / outputs;
    std::optional<Calibration> calibration = getCalibration(conv);
    if (failed(checkInput(conv, calibration)))
      return failure();
    // Weight [M, C/G, K...]: input `in` of filter `out` reads channel
    // group * C/G + in / K.
    int64_t groupChannels = weightType.getDimSize(1);
    int64_t kernelSize = fanIn / groupChannels;
    int64_t filtersPerGroup = outputs / conv.getGroup();
    auto offset = [&](int64_t out, int64_t in) {
      int64_t channel = out / filtersPerGroup * groupChannels + in / kernelSize;
      return calibration->offsets[channel];
    };
    FailureOr<BinaryWeights> weights = readWeights(
        conv.getWeight(), outputs, fanIn, /*kByM=*/false,
        calibration ? llvm::function_ref<float(int64_t, int64_t)>(offset)
                    : nullptr);
    // getBinarizationObstacle found the weight and bias constants.
    assert(succeeded(weights) && "binarizing a weight computed at run time");
    SmallVector<float> bias(outputs, 0.0f);
    if (conv.getBias()) {
      FailureOr<SmallVector<float>> values =
          readChannelBias(conv.getBias(), outputs);
      assert(succeeded(values) && "binarizing a bias computed at run time");
      bias = *values;
    }
    reportWeights(conv, *weights);
    PadOp signPad = calibration ? nullptr : getSignPad(conv);
    float gain =
        inputScale(signPad ? signPad.getInput() : conv.getInput(), calibration);
    SmallVector<float> scales;
    for (float scale : weights->scales)
      scales.push_back(gain * scale);
    applyCalibration(calibration, *weights, 1.0f, scales, bias);

    OpBuilder builder(conv);
    Location loc = conv.getLoc();
    Value bits =
        binarizeInput(builder, signPad ? signPad.getInput() : conv.getInput(),
                      conv, calibration);
    Value weightBits =
        weightConstant(builder, loc, weightType.getShape(), weights->bits);
    auto outputType = conv.getOutput().getType();
    bool padded =
        llvm::any_of(conv.getPads(), [](int64_t pad) { return pad != 0; });
    DenseI64ArrayAttr pads = padded ? conv.getPadsAttr() : DenseI64ArrayAttr();
    if (signPad) {
      // The Pad's spatial begins and ends, in the convolution's order.
      ArrayRef<int64_t> all = signPad.getPads();
      int64_t rank = all.size() / 2;
      SmallVector<int64_t> spatial(all.begin() + 2, all.begin() + rank);
      spatial.append(all.begin() + rank + 2, all.end());
      pads = builder.getDenseI64ArrayAttr(spatial);
    }
    auto popcount = builder.create<XnorConvOp>(
        loc, outputType.clone(builder.getI32Type()), bits, weightBits,
        conv.getStrides(), conv.getDilations(), conv.getGroup(), pads,
        signPad && signPad.getValue().convertToFloat() < 0);
    DenseI64ArrayAttr borderPositions;
    DenseI32ArrayAttr borderOffsets;
    if (padded) {
      BorderCorrection border = getBorderCorrection(conv, weights->bits);
      borderPositions = builder.getDenseI64ArrayAttr(border.positions);
      borderOffsets = builder.getDenseI32ArrayAttr(border.offsets);
    }
    auto affine = builder.create<PopcountAffineOp>(
        loc, outputType, popcount, fanIn, scales, bias, borderPositions,
        borderOffsets);
    replaceLayer(conv, affine);
    return success();
  }
};

} // namespace

namespace {
struct BinarizeModeInfo {
  BinarizeMode mode;
  llvm::StringLiteral name, help;
};
constexpr BinarizeModeInfo kBinarizeModes[] = {
    {BinarizeMode::None, "none",
     "no layer: a real-weight network on the digital core"},
    {BinarizeMode::Classifier, "classifier",
     "the classifier's dense layers (the paper's strategy)"},
    {BinarizeMode::All, "all",
     "every convolution and dense layer but the first"},
};
} // namespace

StringRef hafnia::bnn::stringifyBinarizeMode(BinarizeMode mode) {
  for (const BinarizeModeInfo &info : kBinarizeModes)
    if (info.mode == mode)
      return info.name;
  return "";
}

std::optional<BinarizeMode> hafnia::bnn::symbolizeBinarizeMode(StringRef name) {
  for (const BinarizeModeInfo &info : kBinarizeModes)
    if (info.name == name)
      return info.mode;
  return std::nullopt;
}

llvm::cl::ValuesClass hafnia::bnn::getBinarizeModeValues() {
  auto value = [](const BinarizeModeInfo &info) {
    return llvm::cl::OptionEnumValue{info.name, static_cast<int>(info.mode),
                                     info.help};
  };
  return llvm::cl::values(value(kBinarizeModes[0]), value(kBinarizeModes[1]),
                          value(kBinarizeModes[2]));
}

bool hafnia::bnn::isSelectedForBinarization(Operation *layer, BinarizeMode mode,
                                            bool binarizeFirstLayer,
                                            bool firstLayer) {
  // The layer that reads the model's input stays real unless asked: its
  // input is the raw signal, whose sign alone says little.
  return mode != BinarizeMode::None && (!firstLayer || binarizeFirstLayer) &&
         (mode == BinarizeMode::All || layer->hasAttr(kClassifierAttrName));
}

std::optional<std::string>
hafnia::bnn::getBinarizationObstacle(Operation *layer) {
  int64_t outputs = 0;
  if (auto dense = dyn_cast<DenseOp>(layer)) {
    if (dense.getLhs().getType().getRank() != 2 ||
        dense.getRhs().getType().getRank() != 2 || dense.getTransposeLhs())
      return std::string("only a matrix-times-weight product (rank-2 "
                         "operands, no transposed input) maps to arrays");
    outputs = dense.getOutput().getType().getDimSize(1);
  } else if (auto conv = dyn_cast<ConvOp>(layer)) {
    outputs = conv.getWeight().getType().getDimSize(0);
  } else {
    return std::string("only convolutions and dense layers map to arrays");
  }
  if (!findWeightSource(layer->getOperand(1)))
    return std::string("its weight is computed at run time, not a constant");
  Value bias = isa<DenseOp>(layer) ? cast<DenseOp>(layer).getBias()
                                   : cast<ConvOp>(layer).getBias();
  if (bias && failed(readChannelBias(bias, outputs)))
    return std::string(isa<DenseOp>(layer)
                           ? "its bias is not a per-neuron constant"
                           : "its bias is not a constant");
  return std::nullopt;
}

SmallVector<Operation *>
hafnia::bnn::getLayersToBinarize(func::FuncOp function, BinarizeMode mode,
                                 bool binarizeFirstLayer) {
  SmallVector<Operation *> layers;
  bool first = true;
  function.walk([&](Operation *op) {
    if (!isa<ConvOp, DenseOp>(op))
      return;
    if (isSelectedForBinarization(op, mode, binarizeFirstLayer, first))
      layers.push_back(op);
    first = false;
  });
  return layers;
}

bool hafnia::bnn::needsCalibration(Operation *layer, const ValueSigns &signs) {
  SignOp sign;
  Value source = signSource(layer->getOperand(0), &sign, /*relu=*/nullptr,
                            /*throughMoves=*/true);
  return !sign || !signs.lookup(source).canBeNegative();
}

Operation *hafnia::bnn::getZeroSign(Operation *layer, const ValueSigns &signs) {
  SignOp sign;
  Value source = signSource(layer->getOperand(0), &sign, /*relu=*/nullptr,
                            /*throughMoves=*/true);
  return sign && signs.lookup(source).canBeZero() ? sign : nullptr;
}
