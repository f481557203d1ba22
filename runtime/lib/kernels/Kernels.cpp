// The kernel of each instruction.

#include "kernels/Kernels.h"

namespace hafnia {
namespace kernels {

void RunKernel(KernelContext &ctx) {
  switch (ctx.instruction().op_case()) {
  case Instruction::kConv:
    return ctx.reference_kernels() ? ReferenceConv(ctx) : Conv(ctx);
  case Instruction::kDense:
    return ctx.reference_kernels() ? ReferenceDense(ctx) : Dense(ctx);
  case Instruction::kBatchNorm:
    return BatchNorm(ctx);
  case Instruction::kActivation:
    return Activation(ctx);
  case Instruction::kPool:
    return Pool(ctx);
  case Instruction::kSoftmax:
    return Softmax(ctx);
  case Instruction::kElementwise:
    return Elementwise(ctx);
  case Instruction::kReshape:
    return Reshape(ctx);
  case Instruction::kBitMaxPool:
    return BitMaxPool(ctx);
  case Instruction::kTranspose:
    return Transpose(ctx);
  case Instruction::kConcat:
    return Concat(ctx);
  case Instruction::kPad:
    return Pad(ctx);
  case Instruction::kReduce:
    return Reduce(ctx);
  case Instruction::kLayerNorm:
    return LayerNorm(ctx);
  case Instruction::kSlice:
    return Slice(ctx);
  case Instruction::kGather:
    return Gather(ctx);
  case Instruction::kConvTranspose:
    return ConvTranspose(ctx);
  case Instruction::kResize:
    return Resize(ctx);
  case Instruction::kArgMax:
    return ArgMax(ctx);
  case Instruction::kHardmax:
    return Hardmax(ctx);
  case Instruction::kBinarize:
    return Binarize(ctx);
  case Instruction::kInputSlice:
    return InputSlice(ctx);
  case Instruction::kIm2Col:
    return Im2col(ctx);
  case Instruction::kXnorRead:
    return XnorRead(ctx);
  case Instruction::kAccumulate:
    return Accumulate(ctx);
  case Instruction::kCollect:
    return Collect(ctx);
  case Instruction::kThreshold:
    return Threshold(ctx);
  case Instruction::kPopcountAffine:
    return PopcountAffine(ctx);
  case Instruction::OP_NOT_SET:
    return; // refused by ValidateProgram
  }
}

} // namespace kernels
} // namespace hafnia
