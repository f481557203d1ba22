//===- FoldThresholds.cpp - Popcount chains and signs to thresholds -------===//

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "hafnia/Dialect/BNN/Transforms/ThresholdFolding.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLExtras.h"

namespace hafnia::bnn {
#define GEN_PASS_DEF_FOLDTHRESHOLDSPASS
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"
} // namespace hafnia::bnn

using namespace mlir;
using namespace hafnia::bnn;

namespace {

/// The values of a constant that varies at most along the channel axis (1) of
/// `result`, one per channel; fails for anything else.
FailureOr<SmallVector<float>> readChannelValues(Value value,
                                                ShapedType result) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant || result.getRank() < 2)
    return failure();
  ArrayRef<int64_t> shape = cast<ShapedType>(value.getType()).getShape();
  int64_t rank = result.getRank(), channels = result.getDimSize(1);
  if (static_cast<int64_t>(shape.size()) > rank)
    return failure();
  // Broadcasting aligns shapes on the right.
  int64_t offset = rank - shape.size();
  for (auto [i, dim] : llvm::enumerate(shape)) {
    int64_t axis = offset + i;
    if (dim != 1 && !(axis == 1 && dim == channels))
      return failure();
  }
  SmallVector<float> values(constant.getValue().getValues<float>());
  if (values.size() == 1)
    values.assign(channels, values.front());
  return values;
}

/// Steps of one chain op, one per channel; fails for ops that are not a
/// per-channel monotone step.
FailureOr<SmallVector<ChannelStep>> readSteps(Operation *op,
                                              ShapedType result) {
  int64_t channels = result.getDimSize(1);
  SmallVector<ChannelStep> steps(channels);
  if (auto norm = dyn_cast<BatchNormOp>(op)) {
    // Batch-norm parameters are per channel ([C]) whatever the rank.
    auto read = [&](Value value) -> FailureOr<SmallVector<float>> {
      auto constant = value.getDefiningOp<ConstantOp>();
      if (!constant || constant.getValue().getNumElements() != channels)
        return failure();
      return SmallVector<float>(constant.getValue().getValues<float>());
    };
    auto scale = read(norm.getScale());
    auto bias = read(norm.getBias());
    auto mean = read(norm.getMean());
    auto variance = read(norm.getVariance());
    if (failed(scale) || failed(bias) || failed(mean) || failed(variance))
      return failure();
    for (int64_t c = 0; c < channels; ++c) {
      steps[c].kind = ChannelStep::Kind::BatchNorm;
      steps[c].scale = (*scale)[c];
      steps[c].bias = (*bias)[c];
      steps[c].mean = (*mean)[c];
      steps[c].variance = (*variance)[c];
      steps[c].epsilon = norm.getEpsilon().convertToFloat();
    }
    return steps;
  }
  if (isa<ReluOp>(op) && op->getResult(0).getType() == result) {
    for (ChannelStep &step : steps)
      step.kind = ChannelStep::Kind::Relu;
    return steps;
  }
  if (!isa<AddOp, SubOp, MulOp, DivOp>(op) ||
      op->getResult(0).getType() != result)
    return failure();
  // One operand flows along the chain, the other is the per-channel constant.
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  bool constantOnLeft =
      succeeded(readChannelValues(lhs, result)) && lhs.getType() != result;
  auto values = readChannelValues(constantOnLeft ? lhs : rhs, result);
  if (failed(values))
    return failure();
  ChannelStep::Kind kind;
  if (isa<AddOp>(op))
    kind = ChannelStep::Kind::Add;
  else if (isa<MulOp>(op))
    kind = ChannelStep::Kind::Multiply;
  else if (isa<SubOp>(op))
    kind = constantOnLeft ? ChannelStep::Kind::SubtractFrom
                          : ChannelStep::Kind::Subtract;
  else if (!constantOnLeft)
    kind = ChannelStep::Kind::Divide;
  else
    return failure(); // c / x is not monotone.
  for (int64_t c = 0; c < channels; ++c) {
    steps[c].kind = kind;
    steps[c].value = (*values)[c];
  }
  return steps;
}

/// The operand of a chain op that carries the value being thresholded.
Value chainInput(Operation *op, ShapedType result) {
  if (auto norm = dyn_cast<BatchNormOp>(op))
    return norm.getInput();
  Value lhs = op->getOperand(0);
  return lhs.getType() == result && !lhs.getDefiningOp<ConstantOp>()
             ? lhs
             : op->getOperand(1);
}

/// Whether a batch norm increases in every channel: scale > 0 (and a
/// variance that keeps the square root real), so that it commutes with max.
bool isIncreasing(BatchNormOp norm) {
  auto read = [](Value value) -> std::optional<SmallVector<float>> {
    auto constant = value.getDefiningOp<ConstantOp>();
    if (!constant)
      return std::nullopt;
    return SmallVector<float>(constant.getValue().getValues<float>());
  };
  auto scale = read(norm.getScale()), variance = read(norm.getVariance());
  if (!scale || !variance)
    return false;
  float epsilon = norm.getEpsilon().convertToFloat();
  return llvm::all_of(*scale, [](float s) { return s > 0; }) &&
         llvm::all_of(*variance, [&](float v) { return v + epsilon > 0; });
}

/// Moves a sign one step towards the binary layer whose output it takes, so
/// that the whole chain can fold into a threshold and the values between
/// layers stay bits: through a Sign or Tanh (same sign), a reshape (signs are
/// elementwise) or a max pool (sign(max(x)) = max(sign(x)), an OR of bits),
/// and through a batch norm increasing in every channel over a max pool
/// (bn(max(x)) = max(bn(x)), PyTorch's conv -> pool -> norm order). Returns
/// the sign that now reads a value nearer the popcount, or null.
BinarizeOp sink(BinarizeOp sign) {
  Operation *producer = sign.getInput().getDefiningOp();
  if (!producer)
    return nullptr;
  // Per-channel thresholds survive a max pool, not a reshape or a Sign.
  bool elementwise = !sign.getThresholds();
  OpBuilder builder(sign);
  Location loc = sign.getLoc();
  auto bitsOf = [&](Value value) {
    auto type = cast<ShapedType>(value.getType());
    return builder.create<BinarizeOp>(loc, type.clone(builder.getI1Type()),
                                      value, sign.getThresholdsAttr());
  };
  auto bitType = [&](Value value) {
    return cast<ShapedType>(value.getType()).clone(builder.getI1Type());
  };
  if (isa<SignOp, BipolarOp, TanhOp>(producer) && elementwise) {
    BinarizeOp bits = bitsOf(producer->getOperand(0));
    sign.replaceAllUsesWith(bits.getOutput());
    sign.erase();
    return bits;
  }
  if (isa<FlattenOp, ReshapeOp>(producer) && elementwise) {
    BinarizeOp bits = bitsOf(producer->getOperand(0));
    Operation *moved = builder.clone(*producer);
    moved->setOperand(0, bits);
    moved->getResult(0).setType(bitType(producer->getResult(0)));
    sign.replaceAllUsesWith(moved->getResult(0));
    sign.erase();
    return bits;
  }
  if (auto norm = dyn_cast<BatchNormOp>(producer)) {
    auto pool = norm.getInput().getDefiningOp<MaxPoolOp>();
    if (!pool || !isIncreasing(norm))
      return nullptr;
    auto normalized = builder.create<BatchNormOp>(
        norm.getLoc(), pool.getInput().getType(), pool.getInput(),
        norm.getScale(), norm.getBias(), norm.getMean(), norm.getVariance(),
        norm.getEpsilonAttr());
    IRMapping mapping;
    mapping.map(pool.getInput(), normalized.getResult());
    Operation *moved = builder.clone(*pool, mapping);
    sign.setOperand(moved->getResult(0));
    return sign;
  }
  if (auto pool = dyn_cast<MaxPoolOp>(producer)) {
    BinarizeOp bits = bitsOf(pool.getInput());
    Operation *moved = builder.clone(*pool);
    moved->setOperand(0, bits);
    moved->getResult(0).setType(bitType(pool.getOutput()));
    sign.replaceAllUsesWith(moved->getResult(0));
    sign.erase();
    return bits;
  }
  return nullptr;
}

/// Whether the value a sign reads comes from a binary layer's popcount
/// through steps the sign can move across or fold: only then is moving it
/// worth anything (bits between binary layers).
bool comesFromPopcount(Value value) {
  auto type = cast<ShapedType>(value.getType());
  while (Operation *producer = value.getDefiningOp()) {
    if (isa<PopcountAffineOp>(producer))
      return true;
    if (isa<SignOp, BipolarOp, TanhOp, FlattenOp, ReshapeOp, MaxPoolOp>(
            producer)) {
      value = producer->getOperand(0);
      type = cast<ShapedType>(value.getType());
      continue;
    }
    if (type.getRank() < 2 || failed(readSteps(producer, type)))
      return false;
    value = chainInput(producer, type);
  }
  return false;
}

struct FoldThresholdsPass
    : hafnia::bnn::impl::FoldThresholdsPassBase<FoldThresholdsPass> {
  void runOnOperation() override {
    SmallVector<BinarizeOp> signs;
    getOperation().walk([&](BinarizeOp op) { signs.push_back(op); });
    for (BinarizeOp sign : signs) {
      if (comesFromPopcount(sign.getInput()))
        while (BinarizeOp moved = sink(sign))
          sign = moved;
      fold(sign);
    }
    // What fed only the folded signs is dead now.
    Block &body = getOperation().getBody().front();
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (op.use_empty() && isMemoryEffectFree(&op) &&
          !op.hasTrait<OpTrait::IsTerminator>())
        op.erase();
  }

  void fold(BinarizeOp sign) {
    auto type = cast<ShapedType>(sign.getInput().getType());
    if (type.getRank() < 2)
      return;
    // Walk back from the sign to the binary layer's popcount affine.
    SmallVector<SmallVector<ChannelStep>> chain;
    Value value = sign.getInput();
    PopcountAffineOp affine;
    while (Operation *producer = value.getDefiningOp()) {
      if ((affine = dyn_cast<PopcountAffineOp>(producer)))
        break;
      FailureOr<SmallVector<ChannelStep>> steps = readSteps(producer, type);
      if (failed(steps))
        return;
      chain.push_back(std::move(*steps));
      value = chainInput(producer, type);
    }
    if (!affine)
      return;

    int64_t channels = type.getDimSize(1);
    int64_t fanIn = affine.getFanIn();
    SmallVector<int32_t> thresholds;
    SmallVector<bool> inverted;
    // A calibrated sign compares with its channel's threshold: x - t >= 0
    // is x >= t in f32 (the difference of unequal floats is never zero).
    std::optional<ArrayRef<float>> signThresholds = sign.getThresholds();
    SmallVector<ChannelStep> steps(chain.size() + (signThresholds ? 1 : 0));
    // After a padded convolution, border positions have their own
    // threshold: their popcounts include the padding (read as +1).
    std::optional<ArrayRef<int64_t>> borderPositions =
        affine.getBorderPositions();
    std::optional<ArrayRef<int32_t>> borderOffsets = affine.getBorderOffsets();
    size_t borders = borderPositions ? borderPositions->size() : 0;
    SmallVector<int32_t> borderThresholds;
    for (int64_t c = 0; c < channels; ++c) {
      // The chain was collected from the sign backwards.
      for (auto [i, channelSteps] : llvm::enumerate(llvm::reverse(chain)))
        steps[i] = channelSteps[c];
      if (signThresholds)
        steps.back() = {ChannelStep::Kind::Subtract, (*signThresholds)[c]};
      auto fold = [&](int64_t offset) {
        return foldThreshold(fanIn, affine.getScale()[c], affine.getBias()[c],
                             steps, offset);
      };
      SmallVector<Threshold> channel = {fold(0)};
      for (size_t b = 0; b < borders; ++b)
        channel.push_back(fold((*borderOffsets)[c * borders + b]));
      // One orientation per channel: the one of any decision that is not
      // constant (they all shift the same monotone chain).
      bool isInverted = llvm::any_of(channel, [&](Threshold t) {
        return t.inverted && !isConstant(t, fanIn);
      });
      for (Threshold &t : channel)
        t = orient(t, fanIn, isInverted);
      thresholds.push_back(channel.front().value);
      inverted.push_back(isInverted);
      for (const Threshold &t : ArrayRef<Threshold>(channel).drop_front())
        borderThresholds.push_back(t.value);
    }
    OpBuilder builder(sign);
    auto folded = builder.create<ThresholdOp>(
        affine.getLoc(), sign.getOutput().getType(), affine.getInput(), fanIn,
        thresholds, inverted,
        borders ? affine.getBorderPositionsAttr() : DenseI64ArrayAttr(),
        borders ? builder.getDenseI32ArrayAttr(borderThresholds)
                : DenseI32ArrayAttr());
    sign.getOutput().replaceAllUsesWith(folded);
    sign.erase();
  }
};

} // namespace
