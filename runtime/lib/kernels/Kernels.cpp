// The kernel of each instruction.

#include "kernels/Kernels.h"

#include <algorithm>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace hafnia {
namespace kernels {

namespace {
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kSmallPage = 4096;
// glibc maps a block this large or larger on its own (its largest mmap
// threshold), never from the heap, and the kernel aligns a mapping of
// whole huge pages to them.
constexpr size_t kOwnMapping = size_t(32) << 20;
} // namespace

size_t ValueCapacity(size_t bytes) {
  if (bytes < kHugePage)
    return bytes;
  size_t pages = (bytes + kSmallPage + kHugePage - 1) / kHugePage;
  return std::max(kOwnMapping, pages * kHugePage) - kSmallPage;
}

void AdviseHugePages(void *data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (!data || bytes < kHugePage)
    return;
  // From the small page that holds the block's start (its mapping's first)
  // to the end of its last one. Only advice: where the kernel cannot (THP
  // off, no huge page free), small pages back it as before.
  auto start = reinterpret_cast<uintptr_t>(data);
  uintptr_t begin = start / kSmallPage * kSmallPage;
  uintptr_t end = (start + bytes + kSmallPage - 1) / kSmallPage * kSmallPage;
  madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
  // The allocator has already touched the first small page (its header), so
  // the first huge page would fault as small pages: collapsed now, when the
  // block starts it (an empty huge page; Linux 6.1 and later).
  constexpr int kCollapse = 25; // MADV_COLLAPSE, which glibc 2.36 lacks
  if (begin % kHugePage == 0 && end - begin >= kHugePage)
    madvise(reinterpret_cast<void *>(begin), kHugePage, kCollapse);
#else
  (void)data;
  (void)bytes;
#endif
}

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
