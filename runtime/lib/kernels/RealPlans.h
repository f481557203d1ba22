// The plans of the real kernels (Kernels.h, PlanRealKernels) and the oneDNN
// calls that run them. Private to the runtime.

#ifndef HAFNIA_RUNTIME_LIB_KERNELS_REALPLANS_H
#define HAFNIA_RUNTIME_LIB_KERNELS_REALPLANS_H

#include <cstdint>
#include <optional>
#include <vector>

#include <dnnl.hpp>

#include "kernels/Kernels.h"

namespace hafnia {
namespace kernels {

// A convolution on oneDNN: the primitive chosen for the program's shapes,
// its weights (with any absorbed batch norm folded in) in the library's
// layout, and the reorders between the program's NCHW values and the
// library's layout when it wants another.
class ConvPlan : public Plan {
public:
  dnnl::convolution_forward conv;
  dnnl::memory::desc src, dst, library_src, library_dst, scratchpad;
  std::optional<dnnl::reorder> to_library, from_library;
  dnnl::memory weights, bias;
  // What the reference kernel would count: the taps that do not fall on
  // padding, and the absorbed instructions' element operations.
  uint64_t macs = 0, absorbed_ops = 0;
};

// A batch norm as y = x * scale[c] + shift[c].
class BatchNormPlan : public Plan {
public:
  std::vector<float> scale, shift;
};

void RunConv(KernelContext &ctx, const ConvPlan &plan);

// Row-major C = alpha op(A) op(B) + beta C on the calling thread (oneDNN's
// sgemm), C being m x n.
void Sgemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float *a, int64_t lda, const float *b,
           int64_t ldb, float beta, float *c, int64_t ldc);

} // namespace kernels
} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIB_KERNELS_REALPLANS_H
