//===- BNNOps.cpp - Operations of the bnn dialect -------------------------===//

#include "hafnia/Dialect/BNN/IR/BNNOps.h"

#include "hafnia/runtime/StorageCost.h"
#include "hafnia/runtime/WindowArithmetic.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;
using namespace hafnia::bnn;
using hafnia::StoredBytes;
using hafnia::StoredRole;

std::string hafnia::bnn::getLayerName(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  return op->getName().getStringRef().str();
}

/// Formats a shape as `AxBxC` for diagnostics.
static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, "x");
  return text;
}

/// Checks the window attributes of a convolution or pooling op over `input`
/// and that `output` has `outputChannels` channels and the spatial sizes the
/// window gives.
static LogicalResult
verifyWindowedOp(Operation *op, ShapedType input, ShapedType output,
                 int64_t outputChannels, ArrayRef<int64_t> kernel,
                 ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                 ArrayRef<int64_t> dilations, bool ceilMode) {
  int64_t rank = input.getRank();
  if (rank != 3 && rank != 4)
    return op->emitOpError("expects a 1-D (N x C x L) or 2-D (N x C x H x W) "
                           "input, got rank ")
           << rank;
  size_t spatial = rank - 2;
  if (kernel.size() != spatial || strides.size() != spatial ||
      dilations.size() != spatial)
    return op->emitOpError("expects one kernel size, stride and dilation per "
                           "spatial axis (")
           << spatial << ")";
  if (pads.size() != 2 * spatial)
    return op->emitOpError("expects ")
           << 2 * spatial << " pads (all begins, then all ends), got "
           << pads.size();
  for (size_t i = 0; i < spatial; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1)
      return op->emitOpError("expects positive kernel sizes, strides and "
                             "dilations");
    if (pads[i] < 0 || pads[i + spatial] < 0)
      return op->emitOpError("expects non-negative pads");
  }
  SmallVector<int64_t> expected = {input.getDimSize(0), outputChannels};
  for (size_t i = 0; i < spatial; ++i) {
    int64_t size = hafnia::WindowedOutputSize(
        input.getDimSize(i + 2), kernel[i], strides[i], pads[i],
        pads[i + spatial], dilations[i], ceilMode);
    if (size < 1)
      return op->emitOpError("window of spatial axis ")
             << i << " does not fit in the padded input";
    expected.push_back(size);
  }
  if (output.getShape() != ArrayRef<int64_t>(expected))
    return op->emitOpError("expects result shape ")
           << formatShape(expected) << ", got "
           << formatShape(output.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// ConvOp
//===----------------------------------------------------------------------===//

/// Checks a convolution weight (M x C/group x kernel) against its input and
/// group count, real or binary.
static LogicalResult verifyConvWeight(Operation *op, ShapedType input,
                                      ShapedType weight, int64_t group) {
  if (weight.getRank() != input.getRank())
    return op->emitOpError("expects a weight of rank ")
           << input.getRank() << " (M x C/group x kernel), got rank "
           << weight.getRank();
  int64_t channels = input.getRank() > 1 ? input.getDimSize(1) : 0;
  int64_t filters = weight.getDimSize(0);
  if (group < 1 || channels % group != 0 || filters % group != 0)
    return op->emitOpError("expects group (")
           << group << ") to divide the input channels (" << channels
           << ") and the filters (" << filters << ")";
  if (weight.getDimSize(1) != channels / group)
    return op->emitOpError("expects ")
           << channels / group
           << " input channels per filter (channels / group), got "
           << weight.getDimSize(1);
  return success();
}

LogicalResult ConvOp::verify() {
  auto input = getInput().getType();
  auto weight = getWeight().getType();
  auto output = getOutput().getType();
  if (failed(verifyConvWeight(*this, input, weight, getGroup())))
    return failure();
  int64_t filters = weight.getDimSize(0);
  if (getBias()) {
    auto bias = getBias().getType();
    if (bias.getRank() != 1 || bias.getDimSize(0) != filters)
      return emitOpError("expects a bias of ") << filters << " elements";
  }
  return verifyWindowedOp(*this, input, output, filters,
                          weight.getShape().drop_front(2), getStrides(),
                          getPads(), getDilations(), /*ceilMode=*/false);
}

//===----------------------------------------------------------------------===//
// DenseOp
//===----------------------------------------------------------------------===//

LogicalResult DenseOp::verify() {
  ArrayRef<int64_t> lhs = getLhs().getType().getShape();
  ArrayRef<int64_t> rhs = getRhs().getType().getShape();
  ArrayRef<int64_t> output = getOutput().getType().getShape();
  bool gemmForm = getTransposeLhs() || getTransposeRhs() || getBias();
  SmallVector<int64_t> expected;
  if (gemmForm) {
    if (lhs.size() != 2 || rhs.size() != 2)
      return emitOpError("with a transpose or a bias expects rank-2 operands "
                         "(the Gemm form)");
    int64_t m = getTransposeLhs() ? lhs[1] : lhs[0];
    int64_t kLhs = getTransposeLhs() ? lhs[0] : lhs[1];
    int64_t kRhs = getTransposeRhs() ? rhs[1] : rhs[0];
    int64_t n = getTransposeRhs() ? rhs[0] : rhs[1];
    if (kLhs != kRhs)
      return emitOpError("contracts ")
             << kLhs << " lhs columns with " << kRhs << " rhs rows";
    expected = {m, n};
    if (getBias()) {
      ArrayRef<int64_t> bias = getBias().getType().getShape();
      // The bias broadcasts to the result, not the other way round.
      bool broadcastable = bias.size() <= 2;
      for (size_t i = 0; broadcastable && i < bias.size(); ++i) {
        int64_t dim = bias[bias.size() - 1 - i];
        broadcastable = dim == 1 || dim == expected[1 - i];
      }
      if (!broadcastable)
        return emitOpError("expects a bias that broadcasts to ")
               << formatShape(expected) << ", got " << formatShape(bias);
    }
  } else {
    if (lhs.empty() || rhs.empty())
      return emitOpError("expects operands of rank 1 or more");
    // NumPy matmul: promote vectors to matrices, broadcast batch dimensions.
    SmallVector<int64_t> a(lhs), b(rhs);
    if (a.size() == 1)
      a.insert(a.begin(), 1);
    if (b.size() == 1)
      b.push_back(1);
    if (a.back() != b[b.size() - 2])
      return emitOpError("contracts ") << a.back() << " lhs columns with "
                                       << b[b.size() - 2] << " rhs rows";
    if (!OpTrait::util::getBroadcastedShape(ArrayRef(a).drop_back(2),
                                            ArrayRef(b).drop_back(2), expected))
      return emitOpError("has batch dimensions that do not broadcast");
    if (lhs.size() > 1)
      expected.push_back(a[a.size() - 2]);
    if (rhs.size() > 1)
      expected.push_back(b.back());
  }
  if (output != ArrayRef<int64_t>(expected))
    return emitOpError("expects result shape ")
           << formatShape(expected) << ", got " << formatShape(output);
  return success();
}

//===----------------------------------------------------------------------===//
// BatchNormOp
//===----------------------------------------------------------------------===//

LogicalResult BatchNormOp::verify() {
  auto input = getInput().getType();
  auto scale = getScale().getType();
  if (input.getRank() < 2)
    return emitOpError("expects an input with a channel axis (rank >= 2)");
  if (scale.getRank() != 1 || scale.getDimSize(0) != input.getDimSize(1))
    return emitOpError("expects per-channel parameters of ")
           << input.getDimSize(1) << " elements, got "
           << formatShape(scale.getShape());
  if (getEpsilon().convertToFloat() < 0)
    return emitOpError("expects a non-negative epsilon");
  return success();
}

//===----------------------------------------------------------------------===//
// Activations and softmax
//===----------------------------------------------------------------------===//

LogicalResult ClipOp::verify() {
  if (getMin() && getMax() &&
      getMin()->convertToFloat() > getMax()->convertToFloat())
    return emitOpError("expects min <= max, got min = ")
           << getMin()->convertToFloat()
           << " and max = " << getMax()->convertToFloat();
  return success();
}

/// Checks that `axis` is a normalized (non-negative) axis of a rank-`rank`
/// tensor.
static LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank,
                                StringRef name = "axis") {
  if (axis < 0 || axis >= rank)
    return op->emitOpError("expects ")
           << name << " in [0, " << rank << "), got " << axis;
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getInput().getType().getRank());
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// Checks that `actual` equals `expected`, naming both on failure.
static LogicalResult verifyResultShape(Operation *op,
                                       ArrayRef<int64_t> expected,
                                       ArrayRef<int64_t> actual) {
  if (expected != actual)
    return op->emitOpError("expects result shape ")
           << formatShape(expected) << ", got " << formatShape(actual);
  return success();
}

/// Checks a global pool: N x C x spatial... into N x C x 1 x ... x 1.
static LogicalResult verifyGlobalPool(Operation *op, ArrayRef<int64_t> input,
                                      ArrayRef<int64_t> output) {
  if (input.size() < 3)
    return op->emitOpError("expects N x C x spatial..., got rank ")
           << input.size();
  SmallVector<int64_t> expected(input.size(), 1);
  expected[0] = input[0];
  expected[1] = input[1];
  return verifyResultShape(op, expected, output);
}

LogicalResult MaxPoolOp::verify() {
  auto input = getInput().getType();
  return verifyWindowedOp(*this, input, getOutput().getType(),
                          input.getRank() > 1 ? input.getDimSize(1) : 0,
                          getKernelShape(), getStrides(), getPads(),
                          getDilations(), getCeilMode());
}

LogicalResult AveragePoolOp::verify() {
  auto input = getInput().getType();
  SmallVector<int64_t> dilations(getKernelShape().size(), 1);
  return verifyWindowedOp(*this, input, getOutput().getType(),
                          input.getRank() > 1 ? input.getDimSize(1) : 0,
                          getKernelShape(), getStrides(), getPads(), dilations,
                          getCeilMode());
}

LogicalResult GlobalAveragePoolOp::verify() {
  return verifyGlobalPool(*this, getInput().getType().getShape(),
                          getOutput().getType().getShape());
}

LogicalResult LogSoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getInput().getType().getRank());
}

LogicalResult GlobalMaxPoolOp::verify() {
  return verifyGlobalPool(*this, getInput().getType().getShape(),
                          getOutput().getType().getShape());
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  if (getInput().getType().getNumElements() !=
      getOutput().getType().getNumElements())
    return emitOpError("cannot reshape ")
           << formatShape(getInput().getType().getShape()) << " into "
           << formatShape(getOutput().getType().getShape())
           << ": the element counts differ";
  return success();
}

LogicalResult FlattenOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  int64_t axis = getAxis();
  if (axis < 0 || axis > static_cast<int64_t>(input.size()))
    return emitOpError("expects axis in [0, ")
           << input.size() << "], got " << axis;
  int64_t outer = 1, inner = 1;
  for (auto [i, dim] : llvm::enumerate(input))
    (static_cast<int64_t>(i) < axis ? outer : inner) *= dim;
  return verifyResultShape(*this, {outer, inner},
                           getOutput().getType().getShape());
}

LogicalResult TransposeOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  ArrayRef<int64_t> permutation = getPermutation();
  if (permutation.size() != input.size())
    return emitOpError("expects a permutation of ")
           << input.size() << " dimensions";
  SmallVector<bool> seen(input.size(), false);
  SmallVector<int64_t> expected;
  for (int64_t dim : permutation) {
    if (dim < 0 || dim >= static_cast<int64_t>(input.size()) || seen[dim])
      return emitOpError("expects a permutation of 0..") << input.size() - 1;
    seen[dim] = true;
    expected.push_back(input[dim]);
  }
  return verifyResultShape(*this, expected, getOutput().getType().getShape());
}

/// Checks that `axes` is strictly increasing and within [0, rank).
static LogicalResult verifySortedAxes(Operation *op, ArrayRef<int64_t> axes,
                                      int64_t rank) {
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (failed(verifyAxis(op, axis, rank, "axes")))
      return failure();
    if (i > 0 && axes[i - 1] >= axis)
      return op->emitOpError("expects sorted, distinct axes");
  }
  return success();
}

LogicalResult SqueezeOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (failed(verifySortedAxes(*this, getAxes(), input.size())))
    return failure();
  SmallVector<int64_t> expected;
  for (auto [i, dim] : llvm::enumerate(input)) {
    if (!llvm::is_contained(getAxes(), static_cast<int64_t>(i))) {
      expected.push_back(dim);
      continue;
    }
    if (dim != 1)
      return emitOpError("cannot squeeze dimension ")
             << i << " of size " << dim;
  }
  return verifyResultShape(*this, expected, getOutput().getType().getShape());
}

LogicalResult UnsqueezeOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  int64_t rank = input.size() + getAxes().size();
  if (failed(verifySortedAxes(*this, getAxes(), rank)))
    return failure();
  SmallVector<int64_t> expected;
  const int64_t *next = input.begin();
  for (int64_t i = 0; i < rank; ++i)
    expected.push_back(llvm::is_contained(getAxes(), i) ? 1 : *next++);
  return verifyResultShape(*this, expected, getOutput().getType().getShape());
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("expects at least one input");
  auto first = cast<ShapedType>(getInputs().front().getType());
  int64_t axis = getAxis();
  if (failed(verifyAxis(*this, axis, first.getRank())))
    return failure();
  SmallVector<int64_t> expected(first.getShape());
  for (Value input : getInputs().drop_front()) {
    ArrayRef<int64_t> shape = cast<ShapedType>(input.getType()).getShape();
    if (shape.size() != expected.size())
      return emitOpError("expects inputs of equal rank");
    for (auto [i, dim] : llvm::enumerate(shape)) {
      if (static_cast<int64_t>(i) == axis)
        expected[i] += dim;
      else if (dim != expected[i])
        return emitOpError("expects inputs to agree on every dimension but ")
               << axis << ", they differ on " << i;
    }
  }
  return verifyResultShape(*this, expected, getOutput().getType().getShape());
}

//===----------------------------------------------------------------------===//
// Layer normalization, reductions, padding, slices and gathers
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  int64_t axis = getAxis();
  if (failed(verifyAxis(*this, axis, input.size())))
    return failure();
  ArrayRef<int64_t> normalized = input.drop_front(axis);
  for (Value parameter : {getScale(), getBias()}) {
    if (!parameter)
      continue;
    ArrayRef<int64_t> shape = cast<ShapedType>(parameter.getType()).getShape();
    bool broadcasts = shape.size() <= normalized.size();
    for (size_t i = 0; broadcasts && i < shape.size(); ++i) {
      int64_t dim = shape[shape.size() - 1 - i];
      broadcasts = dim == 1 || dim == normalized[normalized.size() - 1 - i];
    }
    if (!broadcasts)
      return emitOpError("expects scale and bias that broadcast to the "
                         "normalized shape ")
             << formatShape(normalized) << ", got " << formatShape(shape);
  }
  if (getEpsilon().convertToFloat() < 0)
    return emitOpError("expects a non-negative epsilon");
  return verifyResultShape(*this, input, getOutput().getType().getShape());
}

/// Checks a reduction: sorted axes, and the result shape they give.
static LogicalResult verifyReduction(Operation *op, ShapedType input,
                                     ShapedType output, ArrayRef<int64_t> axes,
                                     bool keepdims) {
  if (failed(verifySortedAxes(op, axes, input.getRank())))
    return failure();
  SmallVector<int64_t> expected;
  for (auto [i, dim] : llvm::enumerate(input.getShape())) {
    if (!llvm::is_contained(axes, static_cast<int64_t>(i)))
      expected.push_back(dim);
    else if (keepdims)
      expected.push_back(1);
  }
  return verifyResultShape(op, expected, output.getShape());
}

#define HAFNIA_REDUCE_VERIFIER(Op)                                             \
  LogicalResult Op::verify() {                                                 \
    return verifyReduction(*this, getInput().getType(), getOutput().getType(), \
                           getAxes(), getKeepdims());                          \
  }
HAFNIA_REDUCE_VERIFIER(ReduceMeanOp)
HAFNIA_REDUCE_VERIFIER(ReduceSumOp)
HAFNIA_REDUCE_VERIFIER(ReduceMaxOp)
HAFNIA_REDUCE_VERIFIER(ReduceMinOp)
HAFNIA_REDUCE_VERIFIER(ReduceProdOp)
HAFNIA_REDUCE_VERIFIER(ReduceL1Op)
HAFNIA_REDUCE_VERIFIER(ReduceL2Op)
HAFNIA_REDUCE_VERIFIER(ReduceSumSquareOp)
HAFNIA_REDUCE_VERIFIER(ReduceLogSumOp)
HAFNIA_REDUCE_VERIFIER(ReduceLogSumExpOp)
#undef HAFNIA_REDUCE_VERIFIER

LogicalResult PadOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  ArrayRef<int64_t> pads = getPads();
  size_t rank = input.size();
  if (pads.size() != 2 * rank)
    return emitOpError("expects ")
           << 2 * rank << " pads (all begins, then all ends), got "
           << pads.size();
  StringRef mode = getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return emitOpError("expects mode constant, reflect or edge, got '")
           << mode << "'";
  SmallVector<int64_t> expected;
  for (size_t i = 0; i < rank; ++i) {
    if (pads[i] < 0 || pads[i + rank] < 0)
      return emitOpError("expects non-negative pads");
    if (mode == "reflect" &&
        (pads[i] >= input[i] || pads[i + rank] >= input[i]) &&
        (pads[i] || pads[i + rank]))
      return emitOpError("reflects ")
             << std::max(pads[i], pads[i + rank]) << " elements of axis " << i
             << ", which has only " << input[i];
    if (mode == "edge" && input[i] == 0 && (pads[i] || pads[i + rank]))
      return emitOpError("pads an empty axis with its edge");
    expected.push_back(input[i] + pads[i] + pads[i + rank]);
  }
  return verifyResultShape(*this, expected, getOutput().getType().getShape());
}

LogicalResult SliceOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  ArrayRef<int64_t> output = getOutput().getType().getShape();
  if (getStarts().size() != input.size() || getSteps().size() != input.size() ||
      output.size() != input.size())
    return emitOpError("expects one start and step per axis (")
           << input.size() << ") and a result of the same rank";
  for (size_t d = 0; d < input.size(); ++d) {
    int64_t start = getStarts()[d], step = getSteps()[d];
    if (step == 0)
      return emitOpError("expects non-zero steps");
    if (output[d] == 0)
      continue;
    int64_t last = start + (output[d] - 1) * step;
    if (start < 0 || start >= input[d] || last < 0 || last >= input[d])
      return emitOpError("reads outside axis ")
             << d << " of size " << input[d] << " (elements " << start << " to "
             << last << ")";
  }
  return success();
}

LogicalResult GatherOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  ArrayRef<int64_t> output = getOutput().getType().getShape();
  int64_t axis = getAxis();
  if (failed(verifyAxis(*this, axis, input.size())))
    return failure();
  int64_t indexRank = static_cast<int64_t>(output.size()) -
                      static_cast<int64_t>(input.size()) + 1;
  if (indexRank < 0)
    return emitOpError("expects a result of rank ")
           << input.size() - 1 << " or more";
  int64_t count = 1;
  for (int64_t i = 0; i < indexRank; ++i)
    count *= output[axis + i];
  SmallVector<int64_t> expected(input.take_front(axis));
  expected.append(output.begin() + axis, output.begin() + axis + indexRank);
  expected.append(input.begin() + axis + 1, input.end());
  if (failed(verifyResultShape(*this, expected, output)))
    return failure();
  if (static_cast<int64_t>(getIndices().size()) != count)
    return emitOpError("expects ")
           << count << " indices for result dimensions " << axis << ".."
           << axis + indexRank - 1 << ", got " << getIndices().size();
  for (int64_t index : getIndices())
    if (index < 0 || index >= input[axis])
      return emitOpError("index ") << index << " is out of range for axis "
                                   << axis << " of size " << input[axis];
  return success();
}

//===----------------------------------------------------------------------===//
// Binary domain
//===----------------------------------------------------------------------===//

LogicalResult XnorDenseOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  ArrayRef<int64_t> weight = getWeight().getType().getShape();
  if (input.size() != 2 || weight.size() != 2)
    return emitOpError("expects a B x K input and an M x K weight");
  if (input[1] != weight[1])
    return emitOpError("expects ")
           << weight[1] << " input bits per sample (the weight's K), got "
           << input[1];
  return verifyResultShape(*this, {input[0], weight[0]},
                           getOutput().getType().getShape());
}

LogicalResult XnorConvOp::verify() {
  auto input = getInput().getType();
  auto weight = getWeight().getType();
  if (failed(verifyConvWeight(*this, input, weight, getGroup())))
    return failure();
  int64_t filters = weight.getDimSize(0);
  SmallVector<int64_t> pads(2 * getStrides().size(), 0);
  if (getPads())
    pads.assign(getPads()->begin(), getPads()->end());
  return verifyWindowedOp(*this, input, getOutput().getType(), filters,
                          weight.getShape().drop_front(2), getStrides(), pads,
                          getDilations(), /*ceilMode=*/false);
}

/// Checks the border tables of an op reading the popcounts of a padded
/// convolution: positions strictly increasing within a channel's spatial
/// size, and one table entry per channel and position.
static LogicalResult verifyBorder(Operation *op, Value popcounts,
                                  std::optional<ArrayRef<int64_t>> positions,
                                  std::optional<ArrayRef<int32_t>> table,
                                  StringRef tableName) {
  if (!positions && !table)
    return success();
  if (!positions || !table)
    return op->emitOpError("expects border_positions and ")
           << tableName << " together";
  auto type = cast<ShapedType>(popcounts.getType());
  int64_t channels = type.getDimSize(1);
  int64_t spatial = type.getNumElements() / (type.getDimSize(0) * channels);
  for (auto [i, position] : llvm::enumerate(*positions))
    if (position < 0 || position >= spatial ||
        (i > 0 && position <= (*positions)[i - 1]))
      return op->emitOpError("expects border_positions increasing within [0, ")
             << spatial << ")";
  if (static_cast<int64_t>(table->size()) !=
      channels * static_cast<int64_t>(positions->size()))
    return op->emitOpError("expects ")
           << channels * positions->size() << " " << tableName
           << " (channels x border positions), got " << table->size();
  return success();
}

/// Checks the per-channel attributes of an op reading popcounts: one entry
/// per channel (axis 1), and a fan-in that matches the XNOR op producing them.
static LogicalResult verifyPopcountConsumer(Operation *op, Value popcounts,
                                            int64_t fanIn,
                                            ArrayRef<size_t> channelSizes) {
  auto type = cast<ShapedType>(popcounts.getType());
  if (type.getRank() < 2)
    return op->emitOpError("expects popcounts with a channel axis (rank >= 2)");
  int64_t channels = type.getDimSize(1);
  for (size_t size : channelSizes)
    if (static_cast<int64_t>(size) != channels)
      return op->emitOpError("expects one value per channel (")
             << channels << "), got " << size;
  if (fanIn < 1)
    return op->emitOpError("expects a positive fan_in, got ") << fanIn;
  Operation *producer = popcounts.getDefiningOp();
  std::optional<int64_t> producerFanIn;
  if (auto dense = dyn_cast_or_null<XnorDenseOp>(producer))
    producerFanIn = dense.getFanIn();
  else if (auto conv = dyn_cast_or_null<XnorConvOp>(producer))
    producerFanIn = conv.getFanIn();
  if (producerFanIn && *producerFanIn != fanIn)
    return op->emitOpError("has fan_in ")
           << fanIn << " but its popcounts count " << *producerFanIn
           << " inputs";
  return success();
}

LogicalResult ThresholdOp::verify() {
  if (failed(verifyPopcountConsumer(
          *this, getInput(), static_cast<int64_t>(getFanIn()),
          {getThresholds().size(), getInverted().size()})))
    return failure();
  // I64Attr getters are unsigned: compare in signed arithmetic.
  int64_t fanIn = getFanIn();
  for (auto [channel, threshold] : llvm::enumerate(getThresholds()))
    if (threshold < -1 || threshold > fanIn + 1)
      return emitOpError("threshold ")
             << threshold << " of channel " << channel
             << " lies outside [-1, fan_in + 1] = [-1, " << fanIn + 1 << "]";
  return verifyBorder(*this, getInput(), getBorderPositions(),
                      getBorderThresholds(), "border_thresholds");
}

int64_t hafnia::bnn::getStoredPerChannelValues(Operation *op) {
  if (auto binarize = dyn_cast<BinarizeOp>(op))
    return binarize.getThresholds() ? binarize.getThresholds()->size() : 0;
  if (auto threshold = dyn_cast<ThresholdOp>(op))
    return threshold.getThresholds().size() +
           (threshold.getBorderThresholds()
                ? threshold.getBorderThresholds()->size() +
                      threshold.getBorderPositions()->size()
                : 0);
  if (auto affine = dyn_cast<PopcountAffineOp>(op))
    return affine.getScale().size() + affine.getBias().size() +
           (affine.getBorderOffsets() ? affine.getBorderOffsets()->size() +
                                            affine.getBorderPositions()->size()
                                      : 0);
  return 0;
}

bool hafnia::bnn::isRealWeight(ConstantOp constant) {
  return llvm::any_of(constant->getUses(), [](OpOperand &use) {
    return use.getOperandNumber() == 1 && isa<ConvOp, DenseOp>(use.getOwner());
  });
}

int64_t hafnia::bnn::getStoredBytes(Operation *op, bool int8Weights) {
  auto bytes = [&](StoredRole role, int64_t count) {
    return StoredBytes(role, count, int8Weights);
  };
  if (auto constant = dyn_cast<ConstantOp>(op)) {
    auto type = cast<ShapedType>(constant.getType());
    int64_t count = type.getNumElements();
    if (type.getElementType().isInteger(1))
      return bytes(StoredRole::kBinaryWeight, count);
    if (!isRealWeight(constant))
      return bytes(StoredRole::kRealParameter, count);
    // int8 weights keep a QDQ model's own scales (one, or one per output
    // channel), or get one.
    int64_t scales = 0;
    if (int8Weights) {
      auto int8 = constant->getAttrOfType<DictionaryAttr>(kInt8WeightAttrName);
      scales = int8 ? cast<DenseF32ArrayAttr>(int8.get("scales")).size() : 1;
    }
    return bytes(StoredRole::kRealWeight, count) +
           bytes(StoredRole::kWeightScale, scales);
  }
  if (auto binarize = dyn_cast<BinarizeOp>(op))
    return bytes(StoredRole::kInputThreshold,
                 binarize.getThresholds() ? binarize.getThresholds()->size()
                                          : 0);
  if (auto threshold = dyn_cast<ThresholdOp>(op)) {
    int64_t border = threshold.getBorderThresholds()
                         ? threshold.getBorderThresholds()->size()
                         : 0;
    int64_t positions = threshold.getBorderPositions()
                            ? threshold.getBorderPositions()->size()
                            : 0;
    return bytes(StoredRole::kThreshold,
                 threshold.getThresholds().size() + border) +
           bytes(StoredRole::kBorderCorrection, positions);
  }
  if (auto affine = dyn_cast<PopcountAffineOp>(op)) {
    int64_t border = affine.getBorderOffsets()
                         ? affine.getBorderOffsets()->size() +
                               affine.getBorderPositions()->size()
                         : 0;
    return bytes(StoredRole::kPopcountAffine,
                 affine.getScale().size() + affine.getBias().size()) +
           bytes(StoredRole::kBorderCorrection, border);
  }
  return 0;
}

std::string hafnia::bnn::getStorageLayer(Operation *op) {
  Operation *reader = nullptr;
  if (isa<ConstantOp>(op))
    for (Operation *user : op->getUsers())
      if (!reader || (user->getBlock() == reader->getBlock() &&
                      user->isBeforeInBlock(reader)))
        reader = user;
  return getLayerName(reader ? reader : op);
}

std::map<std::string, int64_t>
hafnia::bnn::getStoredBytesByLayer(Operation *root, bool int8Weights) {
  std::map<std::string, int64_t> bytes;
  root->walk([&](Operation *op) {
    if (int64_t stored = getStoredBytes(op, int8Weights))
      bytes[getStorageLayer(op)] += stored;
  });
  return bytes;
}

LogicalResult PopcountAffineOp::verify() {
  if (failed(verifyPopcountConsumer(*this, getInput(),
                                    static_cast<int64_t>(getFanIn()),
                                    {getScale().size(), getBias().size()})))
    return failure();
  return verifyBorder(*this, getInput(), getBorderPositions(),
                      getBorderOffsets(), "border_offsets");
}

LogicalResult BinarizeOp::verify() {
  std::optional<ArrayRef<float>> thresholds = getThresholds();
  if (!thresholds)
    return success();
  auto type = getInput().getType();
  if (type.getRank() < 2 ||
      type.getDimSize(1) != static_cast<int64_t>(thresholds->size()))
    return emitOpError() << "has " << thresholds->size()
                         << " thresholds, one per channel (axis 1) of "
                         << formatShape(type.getShape()) << " expected";
  return success();
}

//===----------------------------------------------------------------------===//
// ConvTransposeOp, ResizeOp, ArgMaxOp, HardmaxOp
//===----------------------------------------------------------------------===//

LogicalResult ConvTransposeOp::verify() {
  auto input = getInput().getType();
  auto weight = getWeight().getType();
  int64_t rank = input.getRank();
  if (rank != 3 && rank != 4)
    return emitOpError("expects a 1-D (N x C x L) or 2-D (N x C x H x W) "
                       "input, got rank ")
           << rank;
  if (weight.getRank() != rank)
    return emitOpError("expects a weight of rank ")
           << rank << " (C x M/group x kernel), got rank " << weight.getRank();
  int64_t group = getGroup(), channels = input.getDimSize(1);
  if (group < 1 || channels % group != 0)
    return emitOpError("expects group (")
           << group << ") to divide the input channels (" << channels << ")";
  if (weight.getDimSize(0) != channels)
    return emitOpError("expects a weight of ")
           << channels << " input channels, got " << weight.getDimSize(0);
  int64_t filters = weight.getDimSize(1) * group;
  if (getBias()) {
    auto bias = getBias().getType();
    if (bias.getRank() != 1 || bias.getDimSize(0) != filters)
      return emitOpError("expects a bias of ") << filters << " elements";
  }
  size_t spatial = rank - 2;
  ArrayRef<int64_t> strides = getStrides(), pads = getPads(),
                    dilations = getDilations(),
                    outputPadding = getOutputPadding();
  if (strides.size() != spatial || dilations.size() != spatial ||
      outputPadding.size() != spatial || pads.size() != 2 * spatial)
    return emitOpError("expects one stride, dilation and output padding per "
                       "spatial axis and two pads (")
           << spatial << " axes)";
  SmallVector<int64_t> expected = {input.getDimSize(0), filters};
  for (size_t i = 0; i < spatial; ++i) {
    if (strides[i] < 1 || dilations[i] < 1)
      return emitOpError("expects positive strides and dilations");
    if (pads[i] < 0 || pads[i + spatial] < 0 || outputPadding[i] < 0)
      return emitOpError("expects non-negative pads and output padding");
    int64_t size = hafnia::TransposedOutputSize(
        input.getDimSize(i + 2), weight.getDimSize(i + 2), strides[i], pads[i],
        pads[i + spatial], dilations[i], outputPadding[i]);
    if (size < 1)
      return emitOpError("gives no output positions on spatial axis ") << i;
    expected.push_back(size);
  }
  return verifyResultShape(*this, expected, getOutput().getType().getShape());
}

LogicalResult ResizeOp::verify() {
  auto input = getInput().getType();
  auto output = getOutput().getType();
  if (input.getRank() != output.getRank())
    return emitOpError("expects a result of rank ") << input.getRank();
  if (getScales().size() != static_cast<size_t>(input.getRank()))
    return emitOpError("expects one scale per axis (")
           << input.getRank() << "), got " << getScales().size();
  for (double scale : getScales())
    if (!(scale > 0))
      return emitOpError("expects positive scales");
  for (int64_t i = 0; i < input.getRank(); ++i)
    if (output.getDimSize(i) < 1 || input.getDimSize(i) < 1)
      return emitOpError("expects non-empty axes");
  StringRef mode = getMode(), coordinate = getCoordinateMode(),
            nearest = getNearestMode();
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return emitOpError("expects mode nearest, linear or cubic, got '")
           << mode << "'";
  if (!llvm::is_contained({"half_pixel", "pytorch_half_pixel", "align_corners",
                           "asymmetric", "tf_half_pixel_for_nn"},
                          coordinate))
    return emitOpError("has an unknown coordinate mode '") << coordinate << "'";
  if (!llvm::is_contained(
          {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"},
          nearest))
    return emitOpError("has an unknown nearest mode '") << nearest << "'";
  return success();
}

LogicalResult ArgMaxOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (failed(verifyAxis(*this, getAxis(), input.size())))
    return failure();
  SmallVector<int64_t> expected(input);
  if (getKeepdims())
    expected[getAxis()] = 1;
  else
    expected.erase(expected.begin() + getAxis());
  return verifyResultShape(*this, expected, getOutput().getType().getShape());
}

LogicalResult HardmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getInput().getType().getRank());
}

#define GET_OP_CLASSES
#include "hafnia/Dialect/BNN/IR/BNNOps.cpp.inc"
