//===- ProgramEmitter.cpp - rram modules to programs ----------------------===//

#include "hafnia/Target/ProgramEmitter.h"

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/RRAM/IR/RRAMOps.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/StorageCost.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

namespace hafnia {
namespace {

class Emitter {
public:
  Emitter(const ChipConfig &chip) : chip(chip) {}

  FailureOr<Program> run(func::FuncOp main, const MappingReport &report,
                         StringRef model) {
    program.set_format_version(kProgramFormatVersion);
    *program.mutable_chip() = chip;
    program.set_model(model.str());
    *program.mutable_report() = report;
    for (auto [index, argument] : llvm::enumerate(main.getArguments())) {
      TensorBinding *input = program.add_inputs();
      auto name = main.getArgAttrOfType<StringAttr>(index, "bnn.name");
      input->set_name(name ? name.str() : "input" + std::to_string(index));
      input->set_buffer(newBuffer(argument, input->name()));
    }
    for (Operation &op : main.getBody().getOps())
      if (failed(emit(&op)))
        return failure();
    return program;
  }

private:
  uint32_t newBuffer(Value value, StringRef name) {
    auto type = cast<ShapedType>(value.getType());
    Buffer *buffer = program.add_buffers();
    for (int64_t dim : type.getShape())
      buffer->add_shape(dim);
    Type element = type.getElementType();
    buffer->set_type(element.isF32()         ? F32
                     : element.isInteger(1)  ? BIT
                     : element.isInteger(64) ? I64
                                             : I32);
    buffer->set_name(name.str());
    uint32_t index = program.buffers_size() - 1;
    buffers[value] = index;
    return index;
  }

  /// An instruction for `op`, its operands and result in buffers.
  Instruction *instruction(Operation *op, ValueRange inputs) {
    Instruction *instruction = program.add_instructions();
    instruction->set_layer(bnn::getLayerName(op));
    for (Value input : inputs)
      instruction->add_inputs(buffers.lookup(input));
    instruction->set_output(newBuffer(op->getResult(0), bnn::getLayerName(op)));
    instructionIndices[op] = program.instructions_size() - 1;
    return instruction;
  }

  /// Records how `collect`'s layer is tiled (a TiledLayer), so that the
  /// runtime reads the grouping instead of re-deriving it: the form
  /// convert-bnn-to-rram writes, one source sliced once per column tile, a
  /// read per tile, a sum per row tile, emitted together and read by nothing
  /// else. A layer of another form (the groups of a grouped convolution read
  /// one im2col each) gets no record and runs instruction by instruction.
  void recordTiledLayer(rram::CollectOp collect) {
    int64_t columns = chip.array().columns();
    TiledLayer layer;
    layer.set_layer(bnn::getLayerName(collect));
    Value source;
    llvm::SmallPtrSet<Operation *, 32> members = {collect};
    SmallVector<rram::InputSliceOp> slices;
    for (auto [rowTile, rowsUsed] :
         llvm::zip(collect.getRowTiles(), collect.getRowsUsed())) {
      auto sum = rowTile.getDefiningOp<rram::AccumulateOp>();
      if (!sum || !rowTile.hasOneUse() ||
          (layer.row_tiles_size() &&
           layer.correction() != static_cast<int64_t>(sum.getCorrection())))
        return;
      layer.set_correction(sum.getCorrection());
      members.insert(sum);
      TiledLayer::RowTile *row = layer.add_row_tiles();
      row->set_rows_used(rowsUsed);
      layer.set_outputs(layer.outputs() + rowsUsed);
      for (Value partial : sum.getPartials()) {
        auto read = partial.getDefiningOp<rram::XnorReadOp>();
        auto slice = read ? read.getInput().getDefiningOp<rram::InputSliceOp>()
                          : rram::InputSliceOp();
        if (!slice || !partial.hasOneUse() || slice.getOffset() % columns ||
            (source && slice.getInput() != source))
          return;
        source = slice.getInput();
        members.insert(read);
        if (members.insert(slice).second)
          slices.push_back(slice);
        TiledLayer::Tile *tile = row->add_tiles();
        tile->set_array(arrays.lookup(read.getTile()));
        tile->set_column_tile(slice.getOffset() / columns);
      }
    }
    for (rram::InputSliceOp slice : slices)
      if (llvm::any_of(slice->getUsers(), [&](Operation *user) {
            return !members.contains(user);
          }))
        return;
    uint32_t last = instructionIndices.lookup(collect), first = last;
    for (Operation *member : members)
      first = std::min(first, instructionIndices.lookup(member));
    if (last - first + 1 != members.size())
      return;
    layer.set_source(buffers.lookup(source));
    layer.set_fan_in(cast<ShapedType>(source.getType()).getDimSize(1));
    layer.set_first_instruction(first);
    layer.set_collect(last);
    *program.add_tiled_layers() = std::move(layer);
  }

  static void setWindow(Window *window, ArrayRef<int64_t> kernel,
                        ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                        ArrayRef<int64_t> dilations) {
    for (int64_t k : kernel)
      window->add_kernel(k);
    for (int64_t s : strides)
      window->add_strides(s);
    for (int64_t p : pads)
      window->add_pads(p);
    for (int64_t d : dilations)
      window->add_dilations(d);
  }

  /// Real constants: f32, or int8 with one scale per tensor (or a QDQ
  /// model's own scales) for the weights of convolutions and dense layers on
  /// an int8 chip; biases and every other real parameter stay f32. What
  /// bnn::getStoredBytes counts for the report and the budget check.
  void emitConstant(bnn::ConstantOp constant) {
    uint32_t buffer = newBuffer(constant, bnn::getLayerName(constant));
    auto type = cast<ShapedType>(constant.getType());
    if (type.getElementType().isInteger(1)) {
      std::vector<bool> bits;
      for (bool bit : constant.getValue().getValues<bool>())
        bits.push_back(bit);
      BitConstant *bitConstant = program.add_bit_constants();
      bitConstant->set_buffer(buffer);
      bitConstant->set_bits(PackBits(bits));
      return;
    }
    SmallVector<float> values(constant.getValue().getValues<float>());
    Constant *real = program.add_constants();
    real->set_buffer(buffer);
    bool int8Weight =
        chip.real_precision() == REAL_INT8 && bnn::isRealWeight(constant);
    auto int8 =
        constant->getAttrOfType<DictionaryAttr>(bnn::kInt8WeightAttrName);
    if (int8Weight && int8) {
      // A QDQ model's own int8 values and scales.
      std::string data;
      for (int8_t value :
           cast<DenseElementsAttr>(int8.get("values")).getValues<int8_t>())
        data.push_back(static_cast<char>(value));
      ArrayRef<float> scales =
          cast<DenseF32ArrayAttr>(int8.get("scales")).asArrayRef();
      real->set_int8(true);
      if (scales.size() == 1)
        real->set_scale(scales.front());
      else
        real->mutable_channel_scales()->Add(scales.begin(), scales.end());
      real->set_data(data);
      return;
    }
    if (int8Weight) {
      float peak = 0;
      for (float value : values)
        peak = std::max(peak, std::fabs(value));
      float scale = peak > 0 ? peak / 127.0f : 1.0f;
      std::string data(values.size(), '\0');
      for (auto [i, value] : llvm::enumerate(values))
        data[i] =
            static_cast<char>(static_cast<int8_t>(std::lround(value / scale)));
      real->set_int8(true);
      real->set_scale(scale);
      real->set_data(data);
      return;
    }
    real->set_data(std::string(reinterpret_cast<const char *>(values.data()),
                               values.size() * sizeof(float)));
  }

  void emitTile(rram::TileOp tile) {
    ArrayImage *image = program.add_arrays();
    image->set_array(tile.getArray().value_or(0));
    image->set_layer(tile.getLayer().str());
    image->set_row_tile(tile.getRowTile());
    image->set_column_tile(tile.getColumnTile());
    image->set_rows_used(tile.getRowsUsed());
    image->set_columns_used(tile.getColumnsUsed());
    std::vector<bool> bits;
    for (bool bit : cast<DenseElementsAttr>(tile.getImage()).getValues<bool>())
      bits.push_back(bit);
    image->set_bits(PackBits(bits));
    arrays[tile] = image->array();
  }

  LogicalResult emit(Operation *op) {
    using Activation = Instruction::Activation;
    using Pool = Instruction::Pool;
    using Elementwise = Instruction::Elementwise;
    auto activation = [&](Operation *op, Activation::Kind kind) {
      Activation *a = instruction(op, op->getOperands())->mutable_activation();
      a->set_kind(kind);
      return a;
    };
    auto elementwise = [&](Operation *op, Elementwise::Kind kind) {
      instruction(op, op->getOperands())->mutable_elementwise()->set_kind(kind);
    };
    auto reduce = [&](Operation *op, Instruction::Reduce::Kind kind,
                      ArrayRef<int64_t> axes, bool keepdims) {
      auto *attrs = instruction(op, op->getOperands())->mutable_reduce();
      attrs->set_kind(kind);
      for (int64_t axis : axes)
        attrs->add_axes(axis);
      attrs->set_keepdims(keepdims);
    };
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case([&](bnn::ConstantOp constant) {
          emitConstant(constant);
          return success();
        })
        .Case([&](rram::TileOp tile) -> LogicalResult {
          if (!tile.getArray())
            return tile.emitError("has no array: run rram-allocate-arrays");
          emitTile(tile);
          return success();
        })
        .Case([&](func::ReturnOp ret) {
          auto main = ret->getParentOfType<func::FuncOp>();
          for (auto [index, value] : llvm::enumerate(ret.getOperands())) {
            TensorBinding *output = program.add_outputs();
            auto name = main.getResultAttrOfType<StringAttr>(index, "bnn.name");
            output->set_name(name ? name.str()
                                  : "output" + std::to_string(index));
            output->set_buffer(buffers.lookup(value));
          }
          return success();
        })
        .Case([&](bnn::ConvOp conv) {
          auto *attrs = instruction(conv, conv->getOperands())->mutable_conv();
          setWindow(attrs->mutable_window(),
                    conv.getWeight().getType().getShape().drop_front(2),
                    conv.getStrides(), conv.getPads(), conv.getDilations());
          attrs->set_group(conv.getGroup());
          return success();
        })
        .Case([&](bnn::DenseOp dense) {
          auto *attrs =
              instruction(dense, dense->getOperands())->mutable_dense();
          attrs->set_transpose_lhs(dense.getTransposeLhs());
          attrs->set_transpose_rhs(dense.getTransposeRhs());
          attrs->set_alpha(dense.getAlpha().convertToFloat());
          attrs->set_beta(dense.getBeta().convertToFloat());
          return success();
        })
        .Case([&](bnn::BatchNormOp norm) {
          instruction(norm, norm->getOperands())
              ->mutable_batch_norm()
              ->set_epsilon(norm.getEpsilon().convertToFloat());
          return success();
        })
        .Case([&](bnn::ReluOp op) {
          activation(op, Activation::RELU);
          return success();
        })
        .Case([&](bnn::ClipOp clip) {
          Activation *a = activation(clip, Activation::CLIP);
          if (clip.getMin())
            a->set_min(clip.getMin()->convertToFloat());
          if (clip.getMax())
            a->set_max(clip.getMax()->convertToFloat());
          return success();
        })
        .Case([&](bnn::SignOp op) {
          activation(op, Activation::SIGN);
          return success();
        })
        .Case([&](bnn::BipolarOp op) {
          activation(op, Activation::BIPOLAR);
          return success();
        })
        .Case([&](bnn::SigmoidOp op) {
          activation(op, Activation::SIGMOID);
          return success();
        })
        .Case([&](bnn::HardSigmoidOp op) {
          Activation *a = activation(op, Activation::HARD_SIGMOID);
          a->set_alpha(op.getAlpha().convertToFloat());
          a->set_beta(op.getBeta().convertToFloat());
          return success();
        })
        .Case([&](bnn::TanhOp op) {
          activation(op, Activation::TANH);
          return success();
        })
        .Case([&](bnn::SqrtOp op) {
          activation(op, Activation::SQRT);
          return success();
        })
        .Case([&](bnn::ReciprocalOp op) {
          activation(op, Activation::RECIPROCAL);
          return success();
        })
        .Case([&](bnn::ExpOp op) {
          activation(op, Activation::EXP);
          return success();
        })
        .Case([&](bnn::LogOp op) {
          activation(op, Activation::LOG);
          return success();
        })
        .Case([&](bnn::NegOp op) {
          activation(op, Activation::NEG);
          return success();
        })
        .Case([&](bnn::AbsOp op) {
          activation(op, Activation::ABS);
          return success();
        })
        .Case([&](bnn::ErfOp op) {
          activation(op, Activation::ERF);
          return success();
        })
        .Case([&](bnn::SoftplusOp op) {
          activation(op, Activation::SOFTPLUS);
          return success();
        })
        .Case([&](bnn::SoftsignOp op) {
          activation(op, Activation::SOFTSIGN);
          return success();
        })
        .Case([&](bnn::HardSwishOp op) {
          activation(op, Activation::HARD_SWISH);
          return success();
        })
        .Case([&](bnn::FloorOp op) {
          activation(op, Activation::FLOOR);
          return success();
        })
        .Case([&](bnn::CeilOp op) {
          activation(op, Activation::CEIL);
          return success();
        })
        .Case([&](bnn::RoundOp op) {
          activation(op, Activation::ROUND);
          return success();
        })
        .Case([&](bnn::SinOp op) {
          activation(op, Activation::SIN);
          return success();
        })
        .Case([&](bnn::CosOp op) {
          activation(op, Activation::COS);
          return success();
        })
        .Case([&](bnn::TanOp op) {
          activation(op, Activation::TAN);
          return success();
        })
        .Case([&](bnn::AsinOp op) {
          activation(op, Activation::ASIN);
          return success();
        })
        .Case([&](bnn::AcosOp op) {
          activation(op, Activation::ACOS);
          return success();
        })
        .Case([&](bnn::AtanOp op) {
          activation(op, Activation::ATAN);
          return success();
        })
        .Case([&](bnn::SinhOp op) {
          activation(op, Activation::SINH);
          return success();
        })
        .Case([&](bnn::CoshOp op) {
          activation(op, Activation::COSH);
          return success();
        })
        .Case([&](bnn::AsinhOp op) {
          activation(op, Activation::ASINH);
          return success();
        })
        .Case([&](bnn::AcoshOp op) {
          activation(op, Activation::ACOSH);
          return success();
        })
        .Case([&](bnn::AtanhOp op) {
          activation(op, Activation::ATANH);
          return success();
        })
        .Case([&](bnn::LeakyReluOp op) {
          Activation *a = activation(op, Activation::LEAKY_RELU);
          a->set_alpha(op.getAlpha().convertToFloat());
          return success();
        })
        .Case([&](bnn::EluOp op) {
          Activation *a = activation(op, Activation::ELU);
          a->set_alpha(op.getAlpha().convertToFloat());
          return success();
        })
        .Case([&](bnn::CeluOp op) {
          Activation *a = activation(op, Activation::CELU);
          a->set_alpha(op.getAlpha().convertToFloat());
          return success();
        })
        .Case([&](bnn::ThresholdedReluOp op) {
          Activation *a = activation(op, Activation::THRESHOLDED_RELU);
          a->set_alpha(op.getAlpha().convertToFloat());
          return success();
        })
        .Case([&](bnn::SeluOp op) {
          Activation *a = activation(op, Activation::SELU);
          a->set_alpha(op.getAlpha().convertToFloat());
          a->set_beta(op.getGamma().convertToFloat());
          return success();
        })
        .Case([&](bnn::ShrinkOp op) {
          Activation *a = activation(op, Activation::SHRINK);
          a->set_alpha(op.getLambd().convertToFloat());
          a->set_beta(op.getBias().convertToFloat());
          return success();
        })
        .Case([&](bnn::PowOp op) {
          elementwise(op, Elementwise::POW);
          return success();
        })
        .Case([&](bnn::MaxOp op) {
          elementwise(op, Elementwise::MAX);
          return success();
        })
        .Case([&](bnn::MinOp op) {
          elementwise(op, Elementwise::MIN);
          return success();
        })
        .Case([&](bnn::PReluOp op) {
          elementwise(op, Elementwise::PRELU);
          return success();
        })
        .Case([&](bnn::ReduceMeanOp op) {
          reduce(op, Instruction::Reduce::MEAN, op.getAxes(), op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceSumOp op) {
          reduce(op, Instruction::Reduce::SUM, op.getAxes(), op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceMaxOp op) {
          reduce(op, Instruction::Reduce::MAX, op.getAxes(), op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceMinOp op) {
          reduce(op, Instruction::Reduce::MIN, op.getAxes(), op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceProdOp op) {
          reduce(op, Instruction::Reduce::PROD, op.getAxes(), op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceL1Op op) {
          reduce(op, Instruction::Reduce::L1, op.getAxes(), op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceL2Op op) {
          reduce(op, Instruction::Reduce::L2, op.getAxes(), op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceSumSquareOp op) {
          reduce(op, Instruction::Reduce::SUM_SQUARE, op.getAxes(),
                 op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceLogSumOp op) {
          reduce(op, Instruction::Reduce::LOG_SUM, op.getAxes(),
                 op.getKeepdims());
          return success();
        })
        .Case([&](bnn::ReduceLogSumExpOp op) {
          reduce(op, Instruction::Reduce::LOG_SUM_EXP, op.getAxes(),
                 op.getKeepdims());
          return success();
        })
        .Case([&](bnn::GlobalMaxPoolOp pool) {
          instruction(pool, pool->getOperands())
              ->mutable_pool()
              ->set_kind(Pool::GLOBAL_MAX);
          return success();
        })
        .Case([&](bnn::LogSoftmaxOp softmax) {
          auto *attrs =
              instruction(softmax, softmax->getOperands())->mutable_softmax();
          attrs->set_axis(softmax.getAxis());
          attrs->set_log(true);
          return success();
        })
        .Case([&](bnn::LayerNormOp norm) {
          auto *attrs =
              instruction(norm, norm->getOperands())->mutable_layer_norm();
          attrs->set_axis(norm.getAxis());
          attrs->set_epsilon(norm.getEpsilon().convertToFloat());
          return success();
        })
        .Case([&](bnn::PadOp pad) {
          auto *attrs = instruction(pad, pad->getOperands())->mutable_pad();
          attrs->set_mode(pad.getMode() == "reflect" ? Instruction::Pad::REFLECT
                          : pad.getMode() == "edge"
                              ? Instruction::Pad::EDGE
                              : Instruction::Pad::CONSTANT);
          for (int64_t p : pad.getPads())
            attrs->add_pads(p);
          attrs->set_value(pad.getValue().convertToFloat());
          return success();
        })
        .Case([&](bnn::SliceOp slice) {
          auto *attrs =
              instruction(slice, slice->getOperands())->mutable_slice();
          for (int64_t start : slice.getStarts())
            attrs->add_starts(start);
          for (int64_t step : slice.getSteps())
            attrs->add_steps(step);
          return success();
        })
        .Case([&](bnn::GatherOp gather) {
          auto *attrs =
              instruction(gather, gather->getOperands())->mutable_gather();
          attrs->set_axis(gather.getAxis());
          for (int64_t index : gather.getIndices())
            attrs->add_indices(index);
          return success();
        })
        .Case([&](bnn::ConvTransposeOp conv) {
          auto *attrs =
              instruction(conv, conv->getOperands())->mutable_conv_transpose();
          setWindow(attrs->mutable_window(),
                    conv.getWeight().getType().getShape().drop_front(2),
                    conv.getStrides(), conv.getPads(), conv.getDilations());
          attrs->set_group(conv.getGroup());
          for (int64_t p : conv.getOutputPadding())
            attrs->add_output_padding(p);
          return success();
        })
        .Case([&](bnn::ResizeOp resize) {
          using Resize = Instruction::Resize;
          auto *attrs =
              instruction(resize, resize->getOperands())->mutable_resize();
          StringRef mode = resize.getMode();
          attrs->set_mode(mode == "nearest"  ? Resize::NEAREST
                          : mode == "linear" ? Resize::LINEAR
                                             : Resize::CUBIC);
          attrs->set_coordinate_mode(
              llvm::StringSwitch<Resize::CoordinateMode>(
                  resize.getCoordinateMode())
                  .Case("pytorch_half_pixel", Resize::PYTORCH_HALF_PIXEL)
                  .Case("align_corners", Resize::ALIGN_CORNERS)
                  .Case("asymmetric", Resize::ASYMMETRIC)
                  .Case("tf_half_pixel_for_nn", Resize::TF_HALF_PIXEL_FOR_NN)
                  .Default(Resize::HALF_PIXEL));
          attrs->set_nearest_mode(
              llvm::StringSwitch<Resize::NearestMode>(resize.getNearestMode())
                  .Case("round_prefer_ceil", Resize::ROUND_PREFER_CEIL)
                  .Case("floor", Resize::FLOOR)
                  .Case("ceil", Resize::CEIL)
                  .Default(Resize::ROUND_PREFER_FLOOR));
          attrs->set_cubic_coeff_a(resize.getCubicCoeffA().convertToFloat());
          attrs->set_exclude_outside(resize.getExcludeOutside());
          for (double scale : resize.getScales())
            attrs->add_scales(scale);
          return success();
        })
        .Case([&](bnn::ArgMaxOp op) {
          auto *attrs = instruction(op, op->getOperands())->mutable_arg_max();
          attrs->set_axis(op.getAxis());
          attrs->set_keepdims(op.getKeepdims());
          attrs->set_min(op.getMin());
          attrs->set_select_last_index(op.getSelectLastIndex());
          return success();
        })
        .Case([&](bnn::HardmaxOp op) {
          instruction(op, op->getOperands())
              ->mutable_hardmax()
              ->set_axis(op.getAxis());
          return success();
        })
        .Case([&](bnn::MaxPoolOp pool) {
          Instruction *i = instruction(pool, pool->getOperands());
          if (pool.getInput().getType().getElementType().isInteger(1)) {
            auto *attrs = i->mutable_bit_max_pool();
            setWindow(attrs->mutable_window(), pool.getKernelShape(),
                      pool.getStrides(), pool.getPads(), pool.getDilations());
            attrs->set_ceil_mode(pool.getCeilMode());
            return success();
          }
          Pool *attrs = i->mutable_pool();
          attrs->set_kind(Pool::MAX);
          setWindow(attrs->mutable_window(), pool.getKernelShape(),
                    pool.getStrides(), pool.getPads(), pool.getDilations());
          attrs->set_ceil_mode(pool.getCeilMode());
          return success();
        })
        .Case([&](bnn::AveragePoolOp pool) {
          Pool *attrs = instruction(pool, pool->getOperands())->mutable_pool();
          attrs->set_kind(Pool::AVERAGE);
          setWindow(attrs->mutable_window(), pool.getKernelShape(),
                    pool.getStrides(), pool.getPads(), {});
          attrs->set_ceil_mode(pool.getCeilMode());
          attrs->set_count_include_pad(pool.getCountIncludePad());
          return success();
        })
        .Case([&](bnn::GlobalAveragePoolOp pool) {
          instruction(pool, pool->getOperands())
              ->mutable_pool()
              ->set_kind(Pool::GLOBAL_AVERAGE);
          return success();
        })
        .Case([&](bnn::SoftmaxOp softmax) {
          instruction(softmax, softmax->getOperands())
              ->mutable_softmax()
              ->set_axis(softmax.getAxis());
          return success();
        })
        .Case([&](bnn::AddOp op) {
          elementwise(op, Elementwise::ADD);
          return success();
        })
        .Case([&](bnn::SubOp op) {
          elementwise(op, Elementwise::SUB);
          return success();
        })
        .Case([&](bnn::MulOp op) {
          elementwise(op, Elementwise::MUL);
          return success();
        })
        .Case([&](bnn::DivOp op) {
          elementwise(op, Elementwise::DIV);
          return success();
        })
        .Case<bnn::ReshapeOp, bnn::FlattenOp, bnn::SqueezeOp, bnn::UnsqueezeOp>(
            [&](Operation *op) {
              instruction(op, op->getOperands())->mutable_reshape();
              return success();
            })
        .Case([&](bnn::TransposeOp transpose) {
          auto *attrs = instruction(transpose, transpose->getOperands())
                            ->mutable_transpose();
          for (int64_t axis : transpose.getPermutation())
            attrs->add_permutation(axis);
          return success();
        })
        .Case([&](bnn::ConcatOp concat) {
          instruction(concat, concat->getOperands())
              ->mutable_concat()
              ->set_axis(concat.getAxis());
          return success();
        })
        .Case([&](bnn::BinarizeOp op) {
          auto *binarize =
              instruction(op, op->getOperands())->mutable_binarize();
          if (std::optional<ArrayRef<float>> thresholds = op.getThresholds())
            binarize->mutable_thresholds()->Add(thresholds->begin(),
                                                thresholds->end());
          return success();
        })
        .Case([&](rram::InputSliceOp slice) {
          instruction(slice, slice->getOperands())
              ->mutable_input_slice()
              ->set_offset(slice.getOffset());
          return success();
        })
        .Case([&](rram::Im2colOp im2col) {
          auto *attrs =
              instruction(im2col, im2col->getOperands())->mutable_im2col();
          setWindow(attrs->mutable_window(), im2col.getKernelShape(),
                    im2col.getStrides(),
                    im2col.getPads().value_or(ArrayRef<int64_t>()),
                    im2col.getDilations());
          attrs->set_channel_offset(im2col.getChannelOffset());
          attrs->set_channels(im2col.getChannels());
          attrs->set_pads_read_minus_one(im2col.getPadsReadMinusOne());
          return success();
        })
        .Case([&](rram::XnorReadOp read) {
          instruction(read, read.getInput())
              ->mutable_xnor_read()
              ->set_array(arrays.lookup(read.getTile()));
          return success();
        })
        .Case([&](rram::AccumulateOp accumulate) {
          instruction(accumulate, accumulate->getOperands())
              ->mutable_accumulate()
              ->set_correction(accumulate.getCorrection());
          return success();
        })
        .Case([&](rram::CollectOp collect) {
          auto *attrs =
              instruction(collect, collect->getOperands())->mutable_collect();
          for (int64_t rows : collect.getRowsUsed())
            attrs->add_rows_used(rows);
          recordTiledLayer(collect);
          return success();
        })
        .Case([&](bnn::ThresholdOp threshold) {
          auto *attrs = instruction(threshold, threshold->getOperands())
                            ->mutable_threshold();
          attrs->set_fan_in(threshold.getFanIn());
          for (int32_t value : threshold.getThresholds())
            attrs->add_thresholds(value);
          for (bool inverted : threshold.getInverted())
            attrs->add_inverted(inverted);
          if (auto positions = threshold.getBorderPositionsAttr()) {
            attrs->mutable_border_positions()->Add(
                positions.asArrayRef().begin(), positions.asArrayRef().end());
            ArrayRef<int32_t> values = *threshold.getBorderThresholds();
            attrs->mutable_border_thresholds()->Add(values.begin(),
                                                    values.end());
          }
          return success();
        })
        .Case([&](bnn::PopcountAffineOp affine) {
          auto *attrs = instruction(affine, affine->getOperands())
                            ->mutable_popcount_affine();
          attrs->set_fan_in(affine.getFanIn());
          for (float value : affine.getScale())
            attrs->add_scale(value);
          for (float value : affine.getBias())
            attrs->add_bias(value);
          if (auto positions = affine.getBorderPositionsAttr()) {
            attrs->mutable_border_positions()->Add(
                positions.asArrayRef().begin(), positions.asArrayRef().end());
            ArrayRef<int32_t> values = *affine.getBorderOffsets();
            attrs->mutable_border_offsets()->Add(values.begin(), values.end());
          }
          return success();
        })
        .Default([&](Operation *op) -> LogicalResult {
          return op->emitError("has no instruction on the chip: '")
                 << op->getName()
                 << "' must be mapped onto arrays first (convert-bnn-to-rram)";
        });
  }

  const ChipConfig &chip;
  Program program;
  llvm::DenseMap<Value, uint32_t> buffers;
  llvm::DenseMap<Value, uint32_t> arrays;
  llvm::DenseMap<Operation *, uint32_t> instructionIndices;
};

} // namespace

FailureOr<Program> emitProgram(ModuleOp module, const ChipConfig &chip,
                               const MappingReport &report, StringRef model) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError("has no @main function to emit");
  return Emitter(chip).run(main, report, model);
}

void setChipTarget(ModuleOp module, const ChipConfig &chip) {
  module->setAttr(
      rram::RRAMDialect::kTargetAttrName,
      rram::TargetAttr::get(module.getContext(), chip.array().rows(),
                            chip.array().columns(), chip.arrays(),
                            chip.digital_memory_bytes(),
                            StoredBits(StoredRole::kRealWeight,
                                       chip.real_precision() == REAL_INT8)));
}

} // namespace hafnia
