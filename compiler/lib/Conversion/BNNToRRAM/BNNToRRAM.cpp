//===- BNNToRRAM.cpp - Tile binary layers onto 2T2R arrays ----------------===//

#include "hafnia/Conversion/Passes.h"
#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/RRAM/IR/RRAMOps.h"
#include "hafnia/Dialect/RRAM/IR/Tiling.h"
#include "hafnia/runtime/WindowArithmetic.h"

#include "mlir/IR/Builders.h"

namespace hafnia {
#define GEN_PASS_DEF_CONVERTBNNTORRAMPASS
#include "hafnia/Conversion/Passes.h.inc"
} // namespace hafnia

using namespace mlir;
using namespace hafnia;

namespace {

struct ConvertBNNToRRAMPass
    : hafnia::impl::ConvertBNNToRRAMPassBase<ConvertBNNToRRAMPass> {
  void runOnOperation() override {
    rram::TargetAttr target = rram::getTarget(getOperation());
    if (!target) {
      getOperation().emitError("no chip to map onto: the module needs an '")
          << rram::RRAMDialect::kTargetAttrName
          << "' attribute (hafnia-compile sets it from --chip)";
      return signalPassFailure();
    }
    rows = target.getRows();
    columns = target.getColumns();
    SmallVector<Operation *> layers;
    getOperation().walk([&](Operation *op) {
      if (isa<bnn::XnorDenseOp, bnn::XnorConvOp>(op))
        layers.push_back(op);
    });
    for (Operation *layer : layers)
      if (failed(convert(layer)))
        return signalPassFailure();
  }

  LogicalResult convert(Operation *layer) {
    auto weight = layer->getOperand(1).getDefiningOp<bnn::ConstantOp>();
    if (!weight)
      return layer->emitError("binary weights must be constants to be "
                              "programmed into arrays");
    SmallVector<bool> bits(weight.getValue().getValues<bool>());
    OpBuilder builder(layer);
    Location loc = layer->getLoc();
    std::string name = bnn::getLayerName(layer);
    Value input = layer->getOperand(0);
    auto output = cast<ShapedType>(layer->getResult(0).getType());
    int64_t outputs = output.getDimSize(1);
    int64_t fanIn = bits.size() / outputs;

    SmallVector<Value> rowTiles;
    SmallVector<int64_t> rowsUsed;
    if (isa<bnn::XnorDenseOp>(layer)) {
      tileDense(builder, loc, name, input, bits, outputs, fanIn, rowTiles,
                rowsUsed);
    } else {
      // A convolution is, per group, a dense layer over receptive fields.
      auto conv = cast<bnn::XnorConvOp>(layer);
      int64_t groups = conv.getGroup();
      int64_t groupOutputs = outputs / groups;
      int64_t groupChannels = conv.getWeight().getType().getDimSize(1);
      for (int64_t g = 0; g < groups; ++g) {
        auto inputType = cast<ShapedType>(input.getType());
        int64_t positions =
            output.getNumElements() / (output.getDimSize(0) * outputs);
        auto fieldsType = RankedTensorType::get(
            {inputType.getDimSize(0) * positions, fanIn}, builder.getI1Type());
        Value fields = builder.create<rram::Im2colOp>(
            loc, fieldsType, input,
            conv.getWeight().getType().getShape().drop_front(2),
            conv.getStrides(), conv.getDilations(), g * groupChannels,
            groupChannels, conv.getPadsAttr(), conv.getPadsReadMinusOne());
        ArrayRef<bool> groupBits = ArrayRef<bool>(bits).slice(
            g * groupOutputs * fanIn, groupOutputs * fanIn);
        tileDense(builder, loc, name, fields, groupBits, groupOutputs, fanIn,
                  rowTiles, rowsUsed);
      }
    }
    Value collected = builder.create<rram::CollectOp>(
        loc, output, rowTiles, builder.getDenseI64ArrayAttr(rowsUsed));
    layer->getResult(0).replaceAllUsesWith(collected);
    layer->erase();
    if (weight->use_empty())
      weight->erase();
    return success();
  }

  /// Tiles an `outputs x fanIn` binary layer reading `input` (B x fanIn);
  /// appends the accumulated popcounts of each row tile to `rowTiles`.
  void tileDense(OpBuilder &builder, Location loc, StringRef name, Value input,
                 ArrayRef<bool> weights, int64_t outputs, int64_t fanIn,
                 SmallVector<Value> &rowTiles, SmallVector<int64_t> &rowsUsed) {
    rram::TileGrid grid = rram::getTileGrid(outputs, fanIn, rows, columns);
    int64_t batch = cast<ShapedType>(input.getType()).getDimSize(0);
    auto sliceType =
        RankedTensorType::get({batch, columns}, builder.getI1Type());
    auto partialType =
        RankedTensorType::get({batch, rows}, builder.getI32Type());
    auto imageType =
        RankedTensorType::get({rows, columns}, builder.getI1Type());
    SmallVector<Value> slices;
    for (int64_t c = 0; c < grid.columnTiles; ++c)
      slices.push_back(builder.create<rram::InputSliceOp>(loc, sliceType, input,
                                                          c * columns));
    // Row tiles of the groups of one convolution are numbered in sequence.
    int64_t firstRowTile = rowTiles.size();
    for (int64_t r = 0; r < grid.rowTiles; ++r) {
      int64_t used = TileExtent(outputs, rows, r);
      SmallVector<Value> partials;
      for (int64_t c = 0; c < grid.columnTiles; ++c) {
        SmallVector<bool> image =
            rram::getTileImage(weights, outputs, fanIn, rows, columns, r, c);
        Value tile = builder.create<rram::TileOp>(
            loc, rram::TileType::get(builder.getContext()),
            DenseElementsAttr::get(imageType, ArrayRef<bool>(image)), name,
            firstRowTile + r, c, used, TileExtent(fanIn, columns, c),
            IntegerAttr());
        partials.push_back(builder.create<rram::XnorReadOp>(loc, partialType,
                                                            tile, slices[c]));
      }
      rowTiles.push_back(builder.create<rram::AccumulateOp>(
          loc, partialType, partials, -grid.paddedColumns));
      rowsUsed.push_back(used);
    }
  }

  int64_t rows = 0, columns = 0;
};

} // namespace
