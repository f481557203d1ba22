//===- RRAMOps.cpp - Operations of the rram dialect -----------------------===//

#include "hafnia/Dialect/RRAM/IR/RRAMOps.h"
#include "hafnia/runtime/WindowArithmetic.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace hafnia::rram;

/// The target every index is checked against; an error if there is none.
static FailureOr<TargetAttr> requireTarget(Operation *op) {
  if (TargetAttr target = getTarget(op))
    return target;
  return op->emitOpError("needs the chip: an '")
         << RRAMDialect::kTargetAttrName
         << "' attribute on the enclosing module";
}

static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, "x");
  return text;
}

static LogicalResult expectShape(Operation *op, StringRef what,
                                 ArrayRef<int64_t> expected,
                                 ArrayRef<int64_t> actual) {
  if (expected != actual)
    return op->emitOpError("expects ")
           << what << " of shape " << formatShape(expected) << ", got "
           << formatShape(actual);
  return success();
}

LogicalResult TileOp::verify() {
  FailureOr<TargetAttr> target = requireTarget(*this);
  if (failed(target))
    return failure();
  int64_t rows = target->getRows(), columns = target->getColumns();
  auto image = cast<ShapedType>(getImage().getType());
  if (!image.getElementType().isInteger(1))
    return emitOpError("expects an image of i1 weights");
  if (failed(expectShape(*this, "an image (the whole array)", {rows, columns},
                         image.getShape())))
    return failure();
  int64_t rowsUsed = getRowsUsed(), columnsUsed = getColumnsUsed();
  if (rowsUsed < 1 || rowsUsed > rows || columnsUsed < 1 ||
      columnsUsed > columns)
    return emitOpError("uses ")
           << rowsUsed << " rows and " << columnsUsed
           << " columns of an array of " << rows << "x" << columns;
  if (static_cast<int64_t>(getRowTile()) < 0 ||
      static_cast<int64_t>(getColumnTile()) < 0)
    return emitOpError("expects non-negative tile indices");
  if (std::optional<uint64_t> array = getArray()) {
    int64_t index = static_cast<int64_t>(*array);
    if (index < 0 || index >= target->getArrays())
      return emitOpError("is placed on array ")
             << index << ", but the chip has " << target->getArrays()
             << " arrays";
  }
  return success();
}

LogicalResult Im2colOp::verify() {
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (input.size() < 3)
    return emitOpError("expects N x C x spatial... input bits");
  size_t spatial = input.size() - 2;
  if (getKernelShape().size() != spatial || getStrides().size() != spatial ||
      getDilations().size() != spatial)
    return emitOpError("expects one kernel size, stride and dilation per "
                       "spatial axis (")
           << spatial << ")";
  if (getPads() && getPads()->size() != 2 * spatial)
    return emitOpError("expects two pads per spatial axis (") << spatial << ")";
  int64_t offset = getChannelOffset(), channels = getChannels();
  if (offset < 0 || channels < 1 || offset + channels > input[1])
    return emitOpError("reads channels ")
           << offset << " to " << offset + channels << " of " << input[1];
  int64_t positions = 1, fanIn = channels;
  for (size_t i = 0; i < spatial; ++i) {
    int64_t kernel = getKernelShape()[i], stride = getStrides()[i],
            dilation = getDilations()[i];
    if (kernel < 1 || stride < 1 || dilation < 1)
      return emitOpError("expects positive kernel sizes, strides and "
                         "dilations");
    int64_t size = hafnia::WindowedOutputSize(
        input[i + 2], kernel, stride, getPads() ? (*getPads())[i] : 0,
        getPads() ? (*getPads())[i + spatial] : 0, dilation,
        /*ceil_mode=*/false);
    if (size < 1)
      return emitOpError("window of spatial axis ")
             << i << " does not fit in the input";
    positions *= size;
    fanIn *= kernel;
  }
  return expectShape(*this, "a result", {input[0] * positions, fanIn},
                     getOutput().getType().getShape());
}

LogicalResult InputSliceOp::verify() {
  FailureOr<TargetAttr> target = requireTarget(*this);
  if (failed(target))
    return failure();
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (input.size() != 2)
    return emitOpError("expects a B x K input");
  int64_t offset = getOffset();
  if (offset < 0 || offset >= input[1])
    return emitOpError("slices from column ")
           << offset << " of an input of " << input[1];
  return expectShape(*this, "a result", {input[0], target->getColumns()},
                     getOutput().getType().getShape());
}

LogicalResult XnorReadOp::verify() {
  FailureOr<TargetAttr> target = requireTarget(*this);
  if (failed(target))
    return failure();
  ArrayRef<int64_t> input = getInput().getType().getShape();
  if (input.size() != 2 || input[1] != target->getColumns())
    return emitOpError("expects B x ")
           << target->getColumns() << " input bits (one per column), got "
           << formatShape(input);
  return expectShape(*this, "a result", {input[0], target->getRows()},
                     getOutput().getType().getShape());
}

LogicalResult AccumulateOp::verify() {
  if (getPartials().empty())
    return emitOpError("expects at least one partial popcount");
  if (static_cast<int64_t>(getCorrection()) > 0)
    return emitOpError("expects a correction <= 0 (minus the padded "
                       "columns), got ")
           << static_cast<int64_t>(getCorrection());
  return success();
}

LogicalResult CollectOp::verify() {
  FailureOr<TargetAttr> target = requireTarget(*this);
  if (failed(target))
    return failure();
  if (getRowTiles().empty())
    return emitOpError("expects at least one row tile");
  if (getRowsUsed().size() != getRowTiles().size())
    return emitOpError("expects one rows_used entry per row tile");
  auto first = cast<ShapedType>(getRowTiles().front().getType());
  int64_t batch = first.getDimSize(0), outputs = 0;
  for (auto [tile, used] : llvm::zip(getRowTiles(), getRowsUsed())) {
    if (failed(expectShape(*this, "row tiles", {batch, target->getRows()},
                           cast<ShapedType>(tile.getType()).getShape())))
      return failure();
    if (used < 1 || used > target->getRows())
      return emitOpError("uses ") << used << " rows of a row tile";
    outputs += used;
  }
  ArrayRef<int64_t> result = getOutput().getType().getShape();
  if (result.size() < 2)
    return emitOpError("expects a result of rank 2 or more");
  int64_t positions = 1;
  for (int64_t dim : result.drop_front(2))
    positions *= dim;
  if (result[1] != outputs || result[0] * positions != batch)
    return emitOpError("gathers ") << outputs << " outputs of " << batch
                                   << " rows into " << formatShape(result);
  return success();
}

#define GET_OP_CLASSES
#include "hafnia/Dialect/RRAM/IR/RRAMOps.cpp.inc"
