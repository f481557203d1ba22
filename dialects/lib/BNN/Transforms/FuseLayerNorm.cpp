//===- FuseLayerNorm.cpp - A decomposed layer norm as one op --------------===//

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace hafnia::bnn {
#define GEN_PASS_DEF_FUSELAYERNORMPASS
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"
} // namespace hafnia::bnn

using namespace mlir;
using namespace hafnia::bnn;

namespace {

/// The single value of a constant, if it holds one.
std::optional<float> scalarOf(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant || constant.getValue().getNumElements() != 1)
    return std::nullopt;
  return *constant.getValue().getValues<float>().begin();
}

/// A constant whose shape is the normalized (trailing) shape, possibly with
/// leading ones: what LayerNormalization takes as scale or bias.
bool isNormalizedConstant(Value value, ArrayRef<int64_t> normalized) {
  if (!value.getDefiningOp<ConstantOp>())
    return false;
  ArrayRef<int64_t> shape = cast<ShapedType>(value.getType()).getShape();
  if (shape.size() < normalized.size())
    return false;
  for (int64_t dim : shape.drop_back(normalized.size()))
    if (dim != 1)
      return false;
  return shape.take_back(normalized.size()) == normalized;
}

/// Matches from the Div: (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps),
/// with both means over the same trailing axes with keepdims; then the Mul
/// by a scale and the Add of a bias when they follow.
LogicalResult fuseLayerNorm(DivOp div, RewriterBase &rewriter) {
  auto centered = div.getLhs().getDefiningOp<SubOp>();
  auto sqrt = div.getRhs().getDefiningOp<SqrtOp>();
  if (!centered || !sqrt)
    return failure();
  Value input = centered.getLhs();
  auto mean = centered.getRhs().getDefiningOp<ReduceMeanOp>();
  if (!mean || mean.getInput() != input || !mean.getKeepdims())
    return failure();
  auto type = cast<RankedTensorType>(input.getType());
  if (div.getType() != type || centered.getType() != type)
    return failure();
  // The axes: the trailing ones, from `axis` on.
  ArrayRef<int64_t> axes = mean.getAxes();
  int64_t rank = type.getRank();
  if (axes.empty() || axes.back() != rank - 1)
    return failure();
  int64_t axis = axes.front();
  for (auto [i, a] : llvm::enumerate(axes))
    if (a != axis + static_cast<int64_t>(i))
      return failure();
  auto shifted = sqrt.getInput().getDefiningOp<AddOp>();
  std::optional<float> epsilon =
      shifted ? scalarOf(shifted.getRhs()) : std::nullopt;
  auto variance =
      shifted ? shifted.getLhs().getDefiningOp<ReduceMeanOp>() : nullptr;
  if (!epsilon || !variance || variance.getAxes() != axes ||
      !variance.getKeepdims())
    return failure();
  auto square = variance.getInput().getDefiningOp<PowOp>();
  if (!square || square.getLhs() != centered.getResult() ||
      scalarOf(square.getRhs()) != std::optional<float>(2.0f))
    return failure();

  // The scale and bias that follow, if they do.
  ArrayRef<int64_t> normalized = type.getShape().drop_front(axis);
  Operation *last = div;
  Value scale, bias;
  if (div->hasOneUse())
    if (auto mul = dyn_cast<MulOp>(*div->getUsers().begin());
        mul && mul.getLhs() == div.getResult() && mul.getType() == type &&
        isNormalizedConstant(mul.getRhs(), normalized)) {
      scale = mul.getRhs();
      last = mul;
      if (mul->hasOneUse())
        if (auto add = dyn_cast<AddOp>(*mul->getUsers().begin());
            add && add.getLhs() == mul.getResult() && add.getType() == type &&
            isNormalizedConstant(add.getRhs(), normalized)) {
          bias = add.getRhs();
          last = add;
        }
    }
  rewriter.setInsertionPoint(last);
  if (!scale) {
    auto ones = RankedTensorType::get(normalized, rewriter.getF32Type());
    scale = rewriter.create<ConstantOp>(div.getLoc(), ones,
                                        DenseElementsAttr::get(ones, 1.0f));
  }
  rewriter.replaceOpWithNewOp<LayerNormOp>(last, type, input, scale, bias, axis,
                                           APFloat(*epsilon));
  return success();
}

struct FuseLayerNormPass
    : hafnia::bnn::impl::FuseLayerNormPassBase<FuseLayerNormPass> {
  void runOnOperation() override {
    // Once per Div, not with the greedy driver: it would also fold and
    // hoist every constant, reordering what reports list in order.
    SmallVector<DivOp> divisions;
    getOperation().walk([&](DivOp div) { divisions.push_back(div); });
    IRRewriter rewriter(&getContext());
    bool fused = false;
    for (DivOp div : divisions) {
      rewriter.setInsertionPoint(div);
      fused |= succeeded(fuseLayerNorm(div, rewriter));
    }
    if (!fused)
      return;
    // The decomposed chain is dead now.
    Block &body = getOperation().getBody().front();
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (op.use_empty() && isMemoryEffectFree(&op) &&
          !op.hasTrait<OpTrait::IsTerminator>())
        op.erase();
  }
};

} // namespace
