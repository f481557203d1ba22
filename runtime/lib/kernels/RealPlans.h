// The plans of the real kernels (Kernels.h, PlanRealKernels) and the oneDNN
// calls that run them. Private to the runtime.

#ifndef HAFNIA_RUNTIME_LIB_KERNELS_REALPLANS_H
#define HAFNIA_RUNTIME_LIB_KERNELS_REALPLANS_H

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "kernels/Indexing.h"
#include "kernels/Kernels.h"

namespace hafnia {
namespace kernels {

// An instruction (and those it absorbs) as one oneDNN primitive: a
// convolution or a pooling. Its input and output values are kept in their
// slots in the program's layout (NCHW), or, within a chain of such plans,
// in the layout the producer writes; reorders bring them into and out of
// the layouts the primitive reads and writes when these differ.
class LibraryPlan : public Plan {
public:
  dnnl::primitive primitive;
  // What the primitive reads (`primitive_src`, a view of the bytes of
  // `library_src`: the two differ only for a convolution that folds its
  // width into its channels) and writes.
  dnnl::memory::desc primitive_src, library_src, library_dst, scratchpad;
  // The layouts of the input and output values in their slots.
  dnnl::memory::desc input_layout, output_layout;
  std::optional<dnnl::reorder> to_library, from_library;
  // Whether the input, and the output, is a link of a chain (a value that
  // only plans read, LinkData): its slot's buffer has room for it from the
  // first cache line boundary, where it is kept.
  bool link_input = false, link_output = false;
  // What the plain kernels count: a convolution's taps that do not fall on
  // padding, and the element operations of it and what it absorbs.
  uint64_t macs = 0, ops = 0;

  // The primitive's operands besides its source, destination and
  // scratchpad.
  virtual void AddArguments(std::unordered_map<int, dnnl::memory> &) const {}
};

// A convolution with its weights (any absorbed batch norm folded in) and
// bias in the library's layout; a ReLU or Clip it absorbs is its post-op.
class ConvPlan : public LibraryPlan {
public:
  dnnl::memory weights, bias;
  void
  AddArguments(std::unordered_map<int, dnnl::memory> &args) const override {
    args.insert({DNNL_ARG_WEIGHTS, weights});
    args.insert({DNNL_ARG_BIAS, bias});
  }
};

// A convolution run as im2col and one sgemm instead of a oneDNN primitive:
// rows are the output positions (n, oh, ow), columns the filters, so it
// writes NHWC (`library_dst`) from the program's NCHW. Planned for a
// convolution that reads the program's layout and whose readers take NHWC
// (a folded width): oneDNN 2.6 has no optimized kernel that reads NCHW and
// writes NHWC, and its first-layer kernel plus the reorder after it take
// twice as long (docs/performance.md).
class GemmConvPlan : public LibraryPlan {
public:
  int64_t n_size = 0, channels = 0, height = 0, width = 0;
  int64_t filters = 0, out_h = 0, out_w = 0;
  Window2D window{};
  // Weights as a (channel, kh, kw) x filter matrix, any absorbed batch norm
  // folded in, and the bias.
  std::vector<float> weights, bias;
  // The absorbed activation: none, ReLU, or a clip to [low, high].
  enum class Activation { kNone, kRelu, kClip } activation = Activation::kNone;
  float low = 0, high = 0;
};

// Runs `plan` from `src` (NCHW) into `dst` (NHWC), with `columns` as the
// im2col scratch.
void RunGemmConv(const GemmConvPlan &plan, const float *src, float *dst,
                 std::vector<float> &columns);

// A pointwise convolution (1 x 1, unstrided, unpadded, one group) from and
// into oneDNN's nChw16c, with channels and filters in whole blocks of 16,
// whose filters each give at most kPointwisePositions outputs (samples x
// positions), on a host with AVX-512F: run by PointwiseConv.cpp instead of
// oneDNN's `jit_1x1`. A weight then serves few outputs and the time goes
// into bringing the weights from the L3 cache, which that kernel prefetches
// a pass ahead (MobileNet's ten layers on 28 x 28 positions or fewer;
// docs/performance.md). Its layouts are those of the primitive it replaces.
class PointwiseConvPlan : public LibraryPlan {
public:
  int64_t n_size = 0, channels = 0, filters = 0, positions = 0;
  // The weights packed for the kernel (PackPointwiseWeights), from a cache
  // line boundary, and the bias.
  std::unique_ptr<float[], void (*)(void *)> weights{nullptr, std::free};
  std::vector<float> bias;
  // The absorbed activation as a clamp: [-inf, inf] for none, [0, inf] for
  // ReLU.
  float low = 0, high = 0;
};
constexpr int64_t kPointwisePositions = 28 * 28;

// Whether the host runs PointwiseConvPlan's kernel (AVX-512F).
bool HostRunsPointwiseConv();
// Packs `weights` ([filter, channel]) and copies `bias` into `plan`, whose
// channels and filters are set; false when out of memory.
bool PackPointwiseWeights(const std::vector<float> &weights,
                          const std::vector<float> &bias,
                          PointwiseConvPlan &plan);
// Runs `plan` from `src` into `dst`, both nChw16c.
void RunPointwiseConv(const PointwiseConvPlan &plan, const float *src,
                      float *dst);

// A sigmoid or tanh as oneDNN's eltwise primitive (`eltwise_logistic`,
// `eltwise_tanh`: vectorized) over the whole value, in the program's layout;
// the plain loop calls the scalar libm function per element (EfficientNet's
// SiLUs: a third of its time; docs/performance.md).
class EltwisePlan : public Plan {
public:
  dnnl::primitive primitive;
  dnnl::memory::desc layout;
};
// Runs `plan` from `x` into `y`.
void RunEltwisePlan(const EltwisePlan &plan, const float *x, float *y);

// A max or average pooling (windowed or global) within a chain.
class PoolPlan : public LibraryPlan {};

// A batch norm as y = x * scale[c] + shift[c].
class BatchNormPlan : public Plan {
public:
  std::vector<float> scale, shift;
};

// A dense layer whose right operand is a constant: a copy of it from a huge
// page boundary, on huge pages (AdviseHugePages) when it fills one. The
// layer reads all of it, once per run and mostly from memory (MobileNet's
// classifier, 4 MB: the constant's own buffer starts 16 bytes past a cache
// line, on small pages).
class DensePlan : public Plan {
public:
  std::unique_ptr<float[], void (*)(void *)> rhs{nullptr, std::free};
};

// The floats a chain's link may start after, within its slot's buffer.
constexpr int64_t kLinkPad = 16;
// Where a link starts in its slot's buffer: at the first 64-byte boundary.
// The allocator gives a vector's block at 16 bytes past one (a buffer of
// huge pages at 16 bytes past the page); oneDNN's kernels on values whose
// vectors straddle cache lines take 2-4% longer over MobileNet
// (docs/performance.md). Writer and readers find the same place, as the
// slot holds only this value, unmoved, from its writer to its last reader.
template <typename T> T *LinkData(T *data) {
  auto address = reinterpret_cast<uintptr_t>(data);
  return data + ((64 - address % 64) % 64) / sizeof(float);
}

// Runs the plan on operand 0 of the context's instruction into the plan's
// output, and adds the plain kernels' statistics.
void RunLibraryPlan(KernelContext &ctx, const LibraryPlan &plan);

// Row-major C = alpha op(A) op(B) + beta C on the calling thread (oneDNN's
// sgemm), C being m x n.
void Sgemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float *a, int64_t lda, const float *b,
           int64_t ldb, float beta, float *c, int64_t ldc);

} // namespace kernels
} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIB_KERNELS_REALPLANS_H
