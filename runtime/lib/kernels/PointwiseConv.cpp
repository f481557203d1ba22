// The pointwise convolutions of PointwiseConvPlan (RealPlans.h) on AVX-512:
// values in oneDNN's nChw16c (channel block, position, 16 channels), a
// register tile of 16-filter blocks x positions accumulated over the input
// channels in order, the bias first and the clamp of the absorbed activation
// last. A pass runs a group of filter blocks over every position, so that
// the group's weights come from the L3 cache once and from L1/L2 after; as
// it runs, it prefetches the next group's weights into L2, which the
// hardware prefetchers do not (docs/performance.md).

#include "kernels/RealPlans.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>

namespace hafnia {
namespace kernels {
namespace {

// Filter blocks per group and positions per tile: 21 accumulators, three
// weight vectors and a broadcast input stay in the 32 registers (four
// blocks of seven would spill), and seven divides MobileNet's 7 x 7, 14 x 14
// and 28 x 28 positions.
constexpr int64_t kGroupBlocks = 3;
constexpr int64_t kTilePositions = 7;

// Output positions [0, kPositions) of filter blocks [0, kBlocks) of a
// group: `in` at the tile's first position of channel block 0 (blocks
// `in_stride` floats apart), `weights` the group's packed weights (for each
// input channel, kBlocks x 16 filters), `out` likewise. Prefetches the
// `prefetch_lines` cache lines from `prefetch` on, `per_block` of them with
// each channel block.
template <int kBlocks, int kPositions>
__attribute__((target("avx512f"))) void
Tile(const float *in, int64_t in_stride, int64_t channel_blocks,
     const float *weights, const float *bias, float low, float high, float *out,
     int64_t out_stride, const char *prefetch, int64_t prefetch_lines,
     int64_t per_block) {
  __m512 acc[kBlocks][kPositions];
#pragma GCC unroll 3
  for (int b = 0; b < kBlocks; ++b) {
    __m512 start = _mm512_loadu_ps(bias + b * 16);
#pragma GCC unroll 7
    for (int p = 0; p < kPositions; ++p)
      acc[b][p] = start;
  }
  for (int64_t cb = 0; cb < channel_blocks; ++cb) {
    const float *x = in + cb * in_stride;
    const float *w = weights + cb * 16 * kBlocks * 16;
    for (int64_t line = cb * per_block;
         line < std::min(prefetch_lines, (cb + 1) * per_block); ++line)
      _mm_prefetch(prefetch + line * 64, _MM_HINT_T1);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) {
      __m512 wv[kBlocks];
#pragma GCC unroll 3
      for (int b = 0; b < kBlocks; ++b)
        wv[b] = _mm512_load_ps(w + (c * kBlocks + b) * 16);
#pragma GCC unroll 7
      for (int p = 0; p < kPositions; ++p) {
        __m512 xv = _mm512_set1_ps(x[p * 16 + c]);
#pragma GCC unroll 3
        for (int b = 0; b < kBlocks; ++b)
          acc[b][p] = _mm512_fmadd_ps(wv[b], xv, acc[b][p]);
      }
    }
  }
  // max and min return their second operand when either is NaN: a NaN
  // sum stays NaN, as in the reference.
  __m512 lower = _mm512_set1_ps(low), upper = _mm512_set1_ps(high);
#pragma GCC unroll 3
  for (int b = 0; b < kBlocks; ++b)
#pragma GCC unroll 7
    for (int p = 0; p < kPositions; ++p)
      _mm512_storeu_ps(out + b * out_stride + p * 16,
                       _mm512_min_ps(upper, _mm512_max_ps(lower, acc[b][p])));
}

// One pass: filter blocks [0, kBlocks) of a group over all `positions`.
template <int kBlocks>
__attribute__((target("avx512f"))) void
Pass(const PointwiseConvPlan &plan, const float *in, const float *weights,
     const float *bias, float *out, const char *next, int64_t next_bytes) {
  int64_t stride = plan.positions * 16, blocks = plan.channels / 16;
  int64_t tiles = plan.positions / kTilePositions;
  // The next group's weights (`next_bytes`, whole lines), spread over this
  // pass's tiles and their channel blocks.
  int64_t next_lines = next_bytes / 64;
  int64_t per_tile = tiles ? (next_lines + tiles - 1) / tiles : 0;
  int64_t per_block = (per_tile + blocks - 1) / blocks;
  int64_t p = 0;
  for (int64_t t = 0; t < tiles; ++t, p += kTilePositions) {
    int64_t first = std::min(t * per_tile, next_lines);
    Tile<kBlocks, kTilePositions>(
        in + p * 16, stride, blocks, weights, bias, plan.low, plan.high,
        out + p * 16, stride, next + first * 64,
        std::min(per_tile, next_lines - first), per_block);
  }
  in += p * 16;
  out += p * 16;
  switch (plan.positions - p) {
#define HAFNIA_TILE(n)                                                         \
  case n:                                                                      \
    Tile<kBlocks, n>(in, stride, blocks, weights, bias, plan.low, plan.high,   \
                     out, stride, nullptr, 0, 0);                              \
    break;
    HAFNIA_TILE(1)
    HAFNIA_TILE(2)
    HAFNIA_TILE(3)
    HAFNIA_TILE(4)
    HAFNIA_TILE(5)
    HAFNIA_TILE(6)
#undef HAFNIA_TILE
  default:
    break;
  }
}

} // namespace

bool HostRunsPointwiseConv() { return __builtin_cpu_supports("avx512f"); }

bool PackPointwiseWeights(const std::vector<float> &weights,
                          const std::vector<float> &bias,
                          PointwiseConvPlan &plan) {
  int64_t channels = plan.channels, filters = plan.filters;
  size_t bytes = (filters * channels * sizeof(float) + 63) / 64 * 64;
  plan.weights.reset(static_cast<float *>(std::aligned_alloc(64, bytes)));
  if (!plan.weights)
    return false;
  // Group g holds filter blocks [3g, 3g + 3): for each channel, those
  // blocks' 16 filters one after the other; it starts at its first block
  // x 16 x channels, as every block takes 16 x channels floats.
  float *packed = plan.weights.get();
  for (int64_t first = 0; first < filters / 16; first += kGroupBlocks) {
    int64_t count = std::min(kGroupBlocks, filters / 16 - first);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t b = 0; b < count; ++b)
        for (int64_t f = 0; f < 16; ++f)
          *packed++ = weights[((first + b) * 16 + f) * channels + c];
  }
  plan.bias = bias;
  return true;
}

void RunPointwiseConv(const PointwiseConvPlan &plan, const float *src,
                      float *dst) {
  int64_t blocks = plan.filters / 16, values = plan.positions * 16;
  // Groups outside, samples inside: a group's weights come from L3 once
  // for the whole batch, and the last sample's pass prefetches the next
  // group's.
  for (int64_t first = 0; first < blocks; first += kGroupBlocks) {
    int64_t count = std::min(kGroupBlocks, blocks - first);
    const float *weights = plan.weights.get() + first * 16 * plan.channels;
    int64_t next_first = first + count;
    // (Past the last group, nothing: next_bytes is 0.)
    const char *next = reinterpret_cast<const char *>(
        plan.weights.get() + next_first * 16 * plan.channels);
    int64_t next_bytes = std::min(kGroupBlocks, blocks - next_first) * 16 *
                         plan.channels * int64_t(sizeof(float));
    const float *bias = plan.bias.data() + first * 16;
    for (int64_t n = 0; n < plan.n_size; ++n) {
      const float *in = src + n * plan.channels * plan.positions;
      float *out = dst + n * plan.filters * plan.positions + first * values;
      int64_t prefetch = n + 1 == plan.n_size ? next_bytes : 0;
      switch (count) {
      case 3:
        Pass<3>(plan, in, weights, bias, out, next, prefetch);
        break;
      case 2:
        Pass<2>(plan, in, weights, bias, out, next, prefetch);
        break;
      default:
        Pass<1>(plan, in, weights, bias, out, next, prefetch);
        break;
      }
    }
  }
}

} // namespace kernels
} // namespace hafnia
