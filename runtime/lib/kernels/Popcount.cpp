// XNOR-popcount and bit packing at three SIMD levels (Popcount.h). Each
// level is compiled with its own target attribute, so only the functions of
// the level chosen at run time ever execute instructions the baseline lacks.

#include "kernels/Popcount.h"

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <vector>

namespace hafnia {
namespace kernels {

namespace {

// ---- Scalar: the popcnt instruction, four words at a time.

int64_t XorPopcountScalar(const uint64_t *a, const uint64_t *b, int64_t words) {
  int64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0, w = 0;
  for (; w + 4 <= words; w += 4) {
    c0 += __builtin_popcountll(a[w] ^ b[w]);
    c1 += __builtin_popcountll(a[w + 1] ^ b[w + 1]);
    c2 += __builtin_popcountll(a[w + 2] ^ b[w + 2]);
    c3 += __builtin_popcountll(a[w + 3] ^ b[w + 3]);
  }
  for (; w < words; ++w)
    c0 += __builtin_popcountll(a[w] ^ b[w]);
  return c0 + c1 + c2 + c3;
}

// Rows of weights against blocks of inputs: one weight word, kInputs input
// words in flight.
void GemmScalar(const uint64_t *weights, int64_t outputs,
                const uint64_t *inputs, int64_t count, int64_t words,
                int32_t *out) {
  constexpr int64_t kInputs = 4;
  int64_t j = 0;
  for (; j + kInputs <= count; j += kInputs) {
    const uint64_t *x = inputs + j * words;
    for (int64_t m = 0; m < outputs; ++m) {
      const uint64_t *row = weights + m * words;
      int64_t c[kInputs] = {0, 0, 0, 0};
      for (int64_t w = 0; w < words; ++w) {
        uint64_t weight = row[w];
        for (int64_t k = 0; k < kInputs; ++k)
          c[k] += __builtin_popcountll(weight ^ x[k * words + w]);
      }
      for (int64_t k = 0; k < kInputs; ++k)
        out[(j + k) * outputs + m] = static_cast<int32_t>(c[k]);
    }
  }
  for (; j < count; ++j)
    for (int64_t m = 0; m < outputs; ++m)
      out[j * outputs + m] = static_cast<int32_t>(
          XorPopcountScalar(weights + m * words, inputs + j * words, words));
}

using FlippedWord = Simulator::ChipState::FlippedWord;

// The end of the run of flipped words of neuron flipped[i].neuron, and the
// bits flipped in it.
int64_t NeuronEnd(const FlippedWord *flipped, int64_t i, int64_t count,
                  int32_t *bits) {
  int64_t j = i;
  *bits = 0;
  for (; j < count && flipped[j].neuron == flipped[i].neuron; ++j)
    *bits += __builtin_popcountll(flipped[j].mask);
  return j;
}

void CorrectScalar(const uint64_t *transposed, int64_t rows,
                   const FlippedWord *flipped, int64_t count, int32_t *counts,
                   int64_t outputs) {
  for (int64_t i = 0, j; i < count; i = j) {
    int32_t bits;
    j = NeuronEnd(flipped, i, count, &bits);
    int64_t m = flipped[i].neuron;
    for (int64_t b = 0; b < rows; ++b) {
      int32_t agree = 0;
      for (int64_t k = i; k < j; ++k)
        agree += __builtin_popcountll(
            (transposed[flipped[k].word * rows + b] & flipped[k].mask) ^
            flipped[k].error_free);
      counts[b * outputs + m] += bits - 2 * agree;
    }
  }
}

void PackBitsScalar(const uint8_t *bits, int64_t n, uint64_t *out) {
  int64_t words = (n + 63) / 64;
  for (int64_t w = 0; w < words; ++w) {
    int64_t end = std::min<int64_t>(64, n - w * 64);
    const uint8_t *b = bits + w * 64;
    uint64_t word = 0;
    int64_t k = 0;
    for (; k + 8 <= end; k += 8) {
      uint64_t bytes;
      __builtin_memcpy(&bytes, b + k, 8);
      // Byte i's low bit lands in bit 56 + i, then in bit i of the byte.
      word |= (((bytes & 0x0101010101010101ull) * 0x0102040810204080ull) >> 56)
              << k;
    }
    for (; k < end; ++k)
      word |= static_cast<uint64_t>(b[k] & 1) << k;
    out[w] = word;
  }
}

void ThresholdRowsScalar(const int32_t *counts, int64_t rows, int64_t n,
                         const int32_t *negate, const int32_t *limits,
                         const int32_t *classes, uint8_t *out, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r, counts += n, out += stride) {
    const int32_t *limit = limits + classes[r] * n;
    for (int64_t b = 0; b * 8 < n; ++b) {
      uint8_t byte = 0;
      for (int64_t m = b * 8; m < std::min<int64_t>(n, b * 8 + 8); ++m)
        byte |= static_cast<uint8_t>(((counts[m] ^ negate[m]) - negate[m]) <=
                                     limit[m])
                << (m % 8);
      out[b] = byte;
    }
  }
}

void BinarizePositionsScalar(const float *x, int64_t plane, int64_t channels,
                             int64_t positions, const float *thresholds,
                             uint8_t *out) {
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t b = 0; b < channels / 8; ++b, ++out) {
      uint8_t byte = 0;
      for (int64_t c = b * 8; c < b * 8 + 8; ++c)
        byte |= static_cast<uint8_t>(x[c * plane + p] >= thresholds[c])
                << (c % 8);
      *out = byte;
    }
}

void GatherSpansScalar(const uint8_t *const *sources, int64_t spans,
                       int64_t span_bytes, int64_t step_bytes, int64_t rows,
                       int64_t words, uint64_t *out) {
  for (int64_t r = 0; r < rows; ++r, out += words) {
    out[words - 1] = 0;
    uint8_t *row = reinterpret_cast<uint8_t *>(out);
    for (int64_t t = 0; t < spans; ++t)
      std::memcpy(row + t * span_bytes, sources[t] + r * step_bytes,
                  span_bytes);
  }
}

// ---- AVX2: popcount by nibble lookup (Mula), 256 bits at a time.

__attribute__((target("avx2"))) inline __m256i Popcount256(__m256i v) {
  const __m256i table =
      _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                       2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i lo = _mm256_shuffle_epi8(table, _mm256_and_si256(v, low));
  __m256i hi = _mm256_shuffle_epi8(
      table, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
  // Byte counts summed into the four 64-bit lanes.
  return _mm256_sad_epu8(_mm256_add_epi8(lo, hi), _mm256_setzero_si256());
}

__attribute__((target("avx2"))) inline int64_t Sum256(__m256i v) {
  __m128i s =
      _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

__attribute__((target("avx2,popcnt"))) int64_t
XorPopcountAvx2(const uint64_t *a, const uint64_t *b, int64_t words) {
  __m256i acc = _mm256_setzero_si256();
  int64_t w = 0;
  for (; w + 4 <= words; w += 4) {
    __m256i x = _mm256_xor_si256(
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(a + w)),
        _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b + w)));
    acc = _mm256_add_epi64(acc, Popcount256(x));
  }
  int64_t count = Sum256(acc);
  for (; w < words; ++w)
    count += __builtin_popcountll(a[w] ^ b[w]);
  return count;
}

__attribute__((target("avx2,popcnt"))) void
GemmAvx2(const uint64_t *weights, int64_t outputs, const uint64_t *inputs,
         int64_t count, int64_t words, int32_t *out) {
  constexpr int64_t kInputs = 4;
  int64_t vector_words = words / 4 * 4;
  int64_t j = 0;
  for (; j + kInputs <= count; j += kInputs) {
    const uint64_t *x = inputs + j * words;
    for (int64_t m = 0; m < outputs; ++m) {
      const uint64_t *row = weights + m * words;
      __m256i acc[kInputs];
      for (int64_t k = 0; k < kInputs; ++k)
        acc[k] = _mm256_setzero_si256();
      for (int64_t w = 0; w < vector_words; w += 4) {
        __m256i weight =
            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + w));
        for (int64_t k = 0; k < kInputs; ++k)
          acc[k] = _mm256_add_epi64(
              acc[k],
              Popcount256(_mm256_xor_si256(
                  weight, _mm256_loadu_si256(reinterpret_cast<const __m256i *>(
                              x + k * words + w)))));
      }
      for (int64_t k = 0; k < kInputs; ++k) {
        int64_t c = Sum256(acc[k]);
        for (int64_t w = vector_words; w < words; ++w)
          c += __builtin_popcountll(row[w] ^ x[k * words + w]);
        out[(j + k) * outputs + m] = static_cast<int32_t>(c);
      }
    }
  }
  for (; j < count; ++j)
    for (int64_t m = 0; m < outputs; ++m)
      out[j * outputs + m] = static_cast<int32_t>(
          XorPopcountAvx2(weights + m * words, inputs + j * words, words));
}

// Four rows at a time.
__attribute__((target("avx2,popcnt"))) void
CorrectAvx2(const uint64_t *transposed, int64_t rows,
            const FlippedWord *flipped, int64_t count, int32_t *counts,
            int64_t outputs) {
  for (int64_t i = 0, j; i < count; i = j) {
    int32_t bits;
    j = NeuronEnd(flipped, i, count, &bits);
    int64_t m = flipped[i].neuron;
    int64_t b = 0;
    for (; b + 4 <= rows; b += 4) {
      __m256i agree = _mm256_setzero_si256();
      for (int64_t k = i; k < j; ++k) {
        __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(
            transposed + flipped[k].word * rows + b));
        __m256i mask =
            _mm256_set1_epi64x(static_cast<int64_t>(flipped[k].mask));
        __m256i was =
            _mm256_set1_epi64x(static_cast<int64_t>(flipped[k].error_free));
        agree = _mm256_add_epi64(agree, Popcount256(_mm256_xor_si256(
                                            _mm256_and_si256(x, mask), was)));
      }
      alignas(32) int64_t lanes[4];
      _mm256_store_si256(reinterpret_cast<__m256i *>(lanes), agree);
      for (int64_t l = 0; l < 4; ++l)
        counts[(b + l) * outputs + m] +=
            bits - 2 * static_cast<int32_t>(lanes[l]);
    }
    for (; b < rows; ++b) {
      int32_t agree = 0;
      for (int64_t k = i; k < j; ++k)
        agree += __builtin_popcountll(
            (transposed[flipped[k].word * rows + b] & flipped[k].mask) ^
            flipped[k].error_free);
      counts[b * outputs + m] += bits - 2 * agree;
    }
  }
}

__attribute__((target("avx2"))) void PackBitsAvx2(const uint8_t *bits,
                                                  int64_t n, uint64_t *out) {
  int64_t words = (n + 63) / 64, full = n / 64;
  const __m256i one = _mm256_set1_epi8(1);
  for (int64_t w = 0; w < full; ++w) {
    const uint8_t *b = bits + w * 64;
    __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b));
    __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(b + 32));
    // Low bit to the top of each byte, then the bytes' top bits.
    uint32_t l = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_slli_epi16(_mm256_and_si256(lo, one), 7)));
    uint32_t h = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_slli_epi16(_mm256_and_si256(hi, one), 7)));
    out[w] = l | static_cast<uint64_t>(h) << 32;
  }
  if (full < words)
    PackBitsScalar(bits + full * 64, n - full * 64, out + full);
}

// ---- AVX-512: VPOPCNTDQ on 512 bits, masked loads for the tail words.

#define HAFNIA_AVX512 "avx512f,avx512bw,avx512vpopcntdq,popcnt"

__attribute__((target(HAFNIA_AVX512))) int64_t
XorPopcountAvx512(const uint64_t *a, const uint64_t *b, int64_t words) {
  __m512i acc = _mm512_setzero_si512();
  int64_t w = 0;
  for (; w + 8 <= words; w += 8)
    acc = _mm512_add_epi64(
        acc, _mm512_popcnt_epi64(_mm512_xor_si512(_mm512_loadu_si512(a + w),
                                                  _mm512_loadu_si512(b + w))));
  if (w < words) {
    __mmask8 mask = static_cast<__mmask8>((1u << (words - w)) - 1);
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(
                                    _mm512_maskz_loadu_epi64(mask, a + w),
                                    _mm512_maskz_loadu_epi64(mask, b + w))));
  }
  return _mm512_reduce_add_epi64(acc);
}

// 128-bit lanes (0, 2) plus (1, 3) of a, then of b.
__attribute__((target(HAFNIA_AVX512))) inline __m512i FoldLanes(__m512i a,
                                                                __m512i b) {
  return _mm512_add_epi64(_mm512_shuffle_i64x2(a, b, 0x88),
                          _mm512_shuffle_i64x2(a, b, 0xDD));
}

// The lane sums of eight vectors, as the lanes of one: element i is the
// sum of v[i]'s lanes. A transpose-and-add tree (21 operations) instead of
// eight horizontal reductions, which dominate when rows are a few words
// (a convolution's receptive fields).
__attribute__((target(HAFNIA_AVX512))) inline __m512i
SumLanes8(const __m512i v[8]) {
  // Lanes (2i, 2i+1) of a pair hold the 128-bit lane i sums of its two.
  __m512i pairs[4];
  for (int p = 0; p < 4; ++p)
    pairs[p] = _mm512_add_epi64(_mm512_unpacklo_epi64(v[2 * p], v[2 * p + 1]),
                                _mm512_unpackhi_epi64(v[2 * p], v[2 * p + 1]));
  return FoldLanes(FoldLanes(pairs[0], pairs[1]),
                   FoldLanes(pairs[2], pairs[3]));
}

// Two weight rows by four inputs: eight accumulators, six loads per eight
// XOR-popcounts of 512 bits.
__attribute__((target(HAFNIA_AVX512))) void
GemmAvx512(const uint64_t *weights, int64_t outputs, const uint64_t *inputs,
           int64_t count, int64_t words, int32_t *out) {
  constexpr int64_t kInputs = 4, kRows = 2;
  int64_t j = 0;
  for (; j + kInputs <= count; j += kInputs) {
    const uint64_t *x = inputs + j * words;
    int64_t m = 0;
    for (; m + kRows <= outputs; m += kRows) {
      const uint64_t *row = weights + m * words;
      // By input, then row: the sums of one input's rows are neighbours.
      __m512i acc[kInputs][kRows];
      for (int64_t k = 0; k < kInputs; ++k)
        for (int64_t r = 0; r < kRows; ++r)
          acc[k][r] = _mm512_setzero_si512();
      for (int64_t w = 0; w < words; w += 8) {
        __mmask8 mask = words - w >= 8
                            ? static_cast<__mmask8>(0xff)
                            : static_cast<__mmask8>((1u << (words - w)) - 1);
        __m512i weight[kRows];
        for (int64_t r = 0; r < kRows; ++r)
          weight[r] = _mm512_maskz_loadu_epi64(mask, row + r * words + w);
        for (int64_t k = 0; k < kInputs; ++k) {
          __m512i input = _mm512_maskz_loadu_epi64(mask, x + k * words + w);
          for (int64_t r = 0; r < kRows; ++r)
            acc[k][r] = _mm512_add_epi64(
                acc[k][r],
                _mm512_popcnt_epi64(_mm512_xor_si512(weight[r], input)));
        }
      }
      static_assert(kInputs * kRows == 8, "SumLanes8 sums eight");
      int32_t sums[8];
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(sums),
                          _mm512_cvtepi64_epi32(SumLanes8(&acc[0][0])));
      for (int64_t k = 0; k < kInputs; ++k)
        for (int64_t r = 0; r < kRows; ++r)
          out[(j + k) * outputs + m + r] = sums[k * kRows + r];
    }
    for (; m < outputs; ++m)
      for (int64_t k = 0; k < kInputs; ++k)
        out[(j + k) * outputs + m] = static_cast<int32_t>(
            XorPopcountAvx512(weights + m * words, x + k * words, words));
  }
  // The inputs left (a single sample: the GEMV) against four weight rows
  // at a time, four independent sums.
  for (; j < count; ++j) {
    const uint64_t *x = inputs + j * words;
    int64_t m = 0;
    for (; m + 4 <= outputs; m += 4) {
      const uint64_t *row = weights + m * words;
      __m512i acc[4];
      for (int64_t r = 0; r < 4; ++r)
        acc[r] = _mm512_setzero_si512();
      for (int64_t w = 0; w < words; w += 8) {
        __mmask8 mask = words - w >= 8
                            ? static_cast<__mmask8>(0xff)
                            : static_cast<__mmask8>((1u << (words - w)) - 1);
        __m512i input = _mm512_maskz_loadu_epi64(mask, x + w);
        for (int64_t r = 0; r < 4; ++r)
          acc[r] = _mm512_add_epi64(
              acc[r],
              _mm512_popcnt_epi64(_mm512_xor_si512(
                  _mm512_maskz_loadu_epi64(mask, row + r * words + w), input)));
      }
      for (int64_t r = 0; r < 4; ++r)
        out[j * outputs + m + r] =
            static_cast<int32_t>(_mm512_reduce_add_epi64(acc[r]));
    }
    for (; m < outputs; ++m)
      out[j * outputs + m] = static_cast<int32_t>(
          XorPopcountAvx512(weights + m * words, x, words));
  }
}

// What the panel GEMM writes: counts (rows of `outputs` int32), or with a
// threshold (XorPopcountGemmThreshold) rows of bits, a byte per panel.
struct PanelOutput {
  int32_t *counts = nullptr;
  const int32_t *negate = nullptr, *limits = nullptr, *classes = nullptr;
  uint8_t *bits = nullptr;
};

// `kInputs` input rows from row `j` against `kPanels` panels of eight
// weight rows from panel `p0`, word by word: each input word broadcast
// against the panels' word. Constant counts, so the accumulators stay in
// registers.
template <int kInputs, int kPanels>
__attribute__((target(HAFNIA_AVX512))) inline void
PanelTile(const uint64_t *panel, const uint64_t *inputs, int64_t j,
          int64_t words, int64_t p0, const __mmask8 *lanes, int64_t outputs,
          const PanelOutput &out) {
  const uint64_t *x = inputs + j * words;
  __m512i acc[kInputs][kPanels];
  for (int k = 0; k < kInputs; ++k)
    for (int p = 0; p < kPanels; ++p)
      acc[k][p] = _mm512_setzero_si512();
  for (int64_t w = 0; w < words; ++w) {
    __m512i input[kInputs];
    for (int k = 0; k < kInputs; ++k)
      input[k] = _mm512_set1_epi64(static_cast<int64_t>(x[k * words + w]));
    for (int p = 0; p < kPanels; ++p) {
      __m512i weight = _mm512_loadu_si512(panel + (p * words + w) * 8);
      for (int k = 0; k < kInputs; ++k)
        acc[k][p] = _mm512_add_epi64(
            acc[k][p], _mm512_popcnt_epi64(_mm512_xor_si512(weight, input[k])));
    }
  }
  if (!out.bits) {
    for (int k = 0; k < kInputs; ++k)
      for (int p = 0; p < kPanels; ++p)
        _mm512_mask_cvtepi64_storeu_epi32(
            out.counts + (j + k) * outputs + (p0 + p) * 8, lanes[p], acc[k][p]);
    return;
  }
  // A panel's eight outputs are one byte of the row's bits.
  int64_t row_bytes = (outputs + 7) / 8;
  for (int p = 0; p < kPanels; ++p) {
    int64_t first = (p0 + p) * 8;
    __m512i negate = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(
        _mm512_maskz_loadu_epi32(lanes[p], out.negate + first)));
    for (int k = 0; k < kInputs; ++k) {
      const int32_t *limits = out.limits + out.classes[j + k] * outputs;
      __m512i limit = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(
          _mm512_maskz_loadu_epi32(lanes[p], limits + first)));
      __m512i count =
          _mm512_sub_epi64(_mm512_xor_si512(acc[k][p], negate), negate);
      out.bits[(j + k) * row_bytes + p0 + p] =
          _mm512_mask_cmple_epi64_mask(lanes[p], count, limit);
    }
  }
}

// Every input row against `kPanels` panels: four rows at a time, then one.
template <int kPanels>
__attribute__((target(HAFNIA_AVX512))) void
PanelColumn(const uint64_t *panel, const uint64_t *inputs, int64_t count,
            int64_t words, int64_t p0, const __mmask8 *lanes, int64_t outputs,
            const PanelOutput &out) {
  int64_t j = 0;
  for (; j + 4 <= count; j += 4)
    PanelTile<4, kPanels>(panel, inputs, j, words, p0, lanes, outputs, out);
  for (; j < count; ++j)
    PanelTile<1, kPanels>(panel, inputs, j, words, p0, lanes, outputs, out);
}

// Many inputs against few words: the weights in panels of eight rows,
// word-interleaved (word w of rows 8b..8b+7 in one vector), each input word
// broadcast against a panel's word. The eight popcounts of a panel then add
// up in their own lanes, with no horizontal sum and no lane idle whatever
// the row length, which a receptive field's few words waste otherwise.
// Four panels (32 outputs) by four inputs: sixteen accumulators, four panel
// loads and four broadcasts per word.
__attribute__((target(HAFNIA_AVX512))) void
GemmPanelsAvx512(const uint64_t *weights, int64_t outputs,
                 const uint64_t *inputs, int64_t count, int64_t words,
                 const PanelOutput &out) {
  constexpr int64_t kPanels = 4;
  int64_t panel_count = (outputs + 7) / 8;
  thread_local std::vector<uint64_t> panels;
  // Rows past the outputs are zero; their lanes are never stored.
  panels.assign(panel_count * words * 8, 0);
  for (int64_t m = 0; m < outputs; ++m)
    for (int64_t w = 0; w < words; ++w)
      panels[(m / 8 * words + w) * 8 + m % 8] = weights[m * words + w];
  for (int64_t p0 = 0; p0 < panel_count; p0 += kPanels) {
    const uint64_t *panel = panels.data() + p0 * words * 8;
    // The lanes of each panel that are outputs.
    __mmask8 lanes[kPanels];
    for (int64_t p = 0; p < kPanels; ++p) {
      int64_t rows = std::clamp<int64_t>(outputs - (p0 + p) * 8, 0, 8);
      lanes[p] = static_cast<__mmask8>((1u << rows) - 1);
    }
    switch (std::min(kPanels, panel_count - p0)) {
    case 4:
      PanelColumn<4>(panel, inputs, count, words, p0, lanes, outputs, out);
      break;
    case 3:
      PanelColumn<3>(panel, inputs, count, words, p0, lanes, outputs, out);
      break;
    case 2:
      PanelColumn<2>(panel, inputs, count, words, p0, lanes, outputs, out);
      break;
    default:
      PanelColumn<1>(panel, inputs, count, words, p0, lanes, outputs, out);
    }
  }
}

// Eight rows at a time, masked loads for the last ones.
__attribute__((target(HAFNIA_AVX512))) void
CorrectAvx512(const uint64_t *transposed, int64_t rows,
              const FlippedWord *flipped, int64_t count, int32_t *counts,
              int64_t outputs) {
  for (int64_t i = 0, j; i < count; i = j) {
    int32_t bits;
    j = NeuronEnd(flipped, i, count, &bits);
    int64_t m = flipped[i].neuron;
    for (int64_t b = 0; b < rows; b += 8) {
      int64_t lanes_used = std::min<int64_t>(8, rows - b);
      __mmask8 rows_mask = static_cast<__mmask8>((1u << lanes_used) - 1);
      __m512i agree = _mm512_setzero_si512();
      for (int64_t k = i; k < j; ++k) {
        __m512i x = _mm512_maskz_loadu_epi64(
            rows_mask, transposed + flipped[k].word * rows + b);
        __m512i mask = _mm512_set1_epi64(static_cast<int64_t>(flipped[k].mask));
        __m512i was =
            _mm512_set1_epi64(static_cast<int64_t>(flipped[k].error_free));
        agree = _mm512_add_epi64(agree, _mm512_popcnt_epi64(_mm512_xor_si512(
                                            _mm512_and_si512(x, mask), was)));
      }
      alignas(64) int64_t lanes[8];
      _mm512_store_si512(lanes, agree);
      for (int64_t l = 0; l < lanes_used; ++l)
        counts[(b + l) * outputs + m] +=
            bits - 2 * static_cast<int32_t>(lanes[l]);
    }
  }
}

__attribute__((target(HAFNIA_AVX512))) void
PackBitsAvx512(const uint8_t *bits, int64_t n, uint64_t *out) {
  int64_t words = (n + 63) / 64, full = n / 64;
  const __m512i one = _mm512_set1_epi8(1);
  for (int64_t w = 0; w < full; ++w)
    out[w] = _mm512_test_epi8_mask(_mm512_loadu_si512(bits + w * 64), one);
  if (full < words) {
    int64_t rest = n - full * 64;
    __mmask64 mask = (uint64_t{1} << rest) - 1;
    out[full] = _mm512_test_epi8_mask(
        _mm512_maskz_loadu_epi8(mask, bits + full * 64), one);
  }
}

// Whether the AVX-512 GEMM lays the weights out in panels: for rows of a
// few words (receptive fields, small layers), where the row kernel idles
// lanes and sums horizontally, and inputs enough to pay for the layout (a
// pass over the weights, scattered). Long rows fill whole vectors anyway,
// and laying out megabytes of weights for a few inputs costs more than it
// saves (4096 x 4096 against 8 inputs: 341 G binary MAC/s against 600 G).
constexpr bool UsePanels(int64_t count, int64_t words) {
  return count >= 8 && words <= 16;
}

// Sixteen counts per comparison, their bits stored as two bytes.
__attribute__((target(HAFNIA_AVX512))) void
ThresholdRowsAvx512(const int32_t *counts, int64_t rows, int64_t n,
                    const int32_t *negate, const int32_t *limits,
                    const int32_t *classes, uint8_t *out, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r, counts += n, out += stride) {
    const int32_t *limit = limits + classes[r] * n;
    for (int64_t m = 0; m < n; m += 16) {
      int64_t lanes = std::min<int64_t>(16, n - m);
      __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1);
      __m512i sign = _mm512_maskz_loadu_epi32(mask, negate + m);
      __m512i count = _mm512_sub_epi32(
          _mm512_xor_si512(_mm512_maskz_loadu_epi32(mask, counts + m), sign),
          sign);
      uint16_t bits = _mm512_mask_cmple_epi32_mask(
          mask, count, _mm512_maskz_loadu_epi32(mask, limit + m));
      // Only the bytes of the row: the last may hold fewer than 8 bits.
      out[m / 8] = static_cast<uint8_t>(bits);
      if (lanes > 8)
        out[m / 8 + 1] = static_cast<uint8_t>(bits >> 8);
    }
  }
}

// A span of up to 64 bytes in one masked load and store.
__attribute__((target(HAFNIA_AVX512))) void
GatherSpansAvx512(const uint8_t *const *sources, int64_t spans,
                  int64_t span_bytes, int64_t step_bytes, int64_t rows,
                  int64_t words, uint64_t *out) {
  if (span_bytes > 64)
    return GatherSpansScalar(sources, spans, span_bytes, step_bytes, rows,
                             words, out);
  __mmask64 mask =
      span_bytes == 64 ? ~__mmask64{0} : (__mmask64{1} << span_bytes) - 1;
  for (int64_t r = 0; r < rows; ++r, out += words) {
    out[words - 1] = 0;
    uint8_t *row = reinterpret_cast<uint8_t *>(out);
    for (int64_t t = 0; t < spans; ++t)
      _mm512_mask_storeu_epi8(
          row + t * span_bytes, mask,
          _mm512_maskz_loadu_epi8(mask, sources[t] + r * step_bytes));
  }
}

// Sixteen channels of a position per gather.
__attribute__((target(HAFNIA_AVX512))) void
BinarizePositionsAvx512(const float *x, int64_t plane, int64_t channels,
                        int64_t positions, const float *thresholds,
                        uint8_t *out) {
  const __m512i lane =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i offsets =
      _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int32_t>(plane)));
  int64_t bytes = channels / 8;
  for (int64_t p = 0; p < positions; ++p, out += bytes)
    for (int64_t c = 0; c < channels; c += 16) {
      __mmask16 lanes = channels - c >= 16 ? 0xffff : 0x00ff;
      __m512 value = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes,
                                              offsets, x + c * plane + p, 4);
      uint16_t bits = _mm512_mask_cmp_ps_mask(
          lanes, value, _mm512_maskz_loadu_ps(lanes, thresholds + c),
          _CMP_GE_OQ);
      out[c / 8] = static_cast<uint8_t>(bits);
      if (lanes == 0xffff)
        out[c / 8 + 1] = static_cast<uint8_t>(bits >> 8);
    }
}

SimdLevel Detect() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vpopcntdq"))
    return SimdLevel::kAvx512;
  if (__builtin_cpu_supports("avx2"))
    return SimdLevel::kAvx2;
  return SimdLevel::kScalar;
}

std::atomic<SimdLevel> &Active() {
  static std::atomic<SimdLevel> level(HostSimdLevel());
  return level;
}

} // namespace

SimdLevel HostSimdLevel() {
  static const SimdLevel level = Detect();
  return level;
}

SimdLevel ActiveSimdLevel() { return Active().load(std::memory_order_relaxed); }

SimdLevel SetSimdLevel(SimdLevel level) {
  level = std::min(level, HostSimdLevel());
  Active().store(level);
  return level;
}

std::string SimdLevelName(SimdLevel level) {
  switch (level) {
  case SimdLevel::kAvx512:
    return "avx512-vpopcntdq";
  case SimdLevel::kAvx2:
    return "avx2";
  case SimdLevel::kScalar:
    break;
  }
  return "scalar-popcnt";
}

int64_t XorPopcount(const uint64_t *a, const uint64_t *b, int64_t words) {
  switch (ActiveSimdLevel()) {
  case SimdLevel::kAvx512:
    return XorPopcountAvx512(a, b, words);
  case SimdLevel::kAvx2:
    return XorPopcountAvx2(a, b, words);
  case SimdLevel::kScalar:
    break;
  }
  return XorPopcountScalar(a, b, words);
}

void XorPopcountGemm(const uint64_t *weights, int64_t outputs,
                     const uint64_t *inputs, int64_t count, int64_t words,
                     int32_t *out) {
  switch (ActiveSimdLevel()) {
  case SimdLevel::kAvx512:
    // Panels when the inputs are many enough to pay for laying them out.
    if (UsePanels(count, words)) {
      PanelOutput counts;
      counts.counts = out;
      return GemmPanelsAvx512(weights, outputs, inputs, count, words, counts);
    }
    return GemmAvx512(weights, outputs, inputs, count, words, out);
  case SimdLevel::kAvx2:
    return GemmAvx2(weights, outputs, inputs, count, words, out);
  case SimdLevel::kScalar:
    break;
  }
  GemmScalar(weights, outputs, inputs, count, words, out);
}

void XorPopcountGemmThreshold(const uint64_t *weights, int64_t outputs,
                              const uint64_t *inputs, int64_t count,
                              int64_t words, const int32_t *negate,
                              const int32_t *limits, const int32_t *classes,
                              uint8_t *bits) {
  if (ActiveSimdLevel() == SimdLevel::kAvx512 && UsePanels(count, words)) {
    PanelOutput out;
    out.negate = negate;
    out.limits = limits;
    out.classes = classes;
    out.bits = bits;
    return GemmPanelsAvx512(weights, outputs, inputs, count, words, out);
  }
  thread_local std::vector<int32_t> counts;
  counts.resize(count * outputs);
  XorPopcountGemm(weights, outputs, inputs, count, words, counts.data());
  ThresholdRows(counts.data(), count, outputs, negate, limits, classes, bits,
                (outputs + 7) / 8);
}

void CorrectFlippedWords(const uint64_t *transposed, int64_t rows,
                         const Simulator::ChipState::FlippedWord *flipped,
                         int64_t count, int32_t *counts, int64_t outputs) {
  switch (ActiveSimdLevel()) {
  case SimdLevel::kAvx512:
    return CorrectAvx512(transposed, rows, flipped, count, counts, outputs);
  case SimdLevel::kAvx2:
    return CorrectAvx2(transposed, rows, flipped, count, counts, outputs);
  case SimdLevel::kScalar:
    break;
  }
  CorrectScalar(transposed, rows, flipped, count, counts, outputs);
}

void PackBits(const uint8_t *bits, int64_t n, uint64_t *out) {
  switch (ActiveSimdLevel()) {
  case SimdLevel::kAvx512:
    return PackBitsAvx512(bits, n, out);
  case SimdLevel::kAvx2:
    return PackBitsAvx2(bits, n, out);
  case SimdLevel::kScalar:
    break;
  }
  PackBitsScalar(bits, n, out);
}

void ThresholdRows(const int32_t *counts, int64_t rows, int64_t n,
                   const int32_t *negate, const int32_t *limits,
                   const int32_t *classes, uint8_t *out, int64_t stride) {
  if (ActiveSimdLevel() == SimdLevel::kAvx512)
    return ThresholdRowsAvx512(counts, rows, n, negate, limits, classes, out,
                               stride);
  ThresholdRowsScalar(counts, rows, n, negate, limits, classes, out, stride);
}

void GatherSpans(const uint8_t *const *sources, int64_t spans,
                 int64_t span_bytes, int64_t step_bytes, int64_t rows,
                 int64_t words, uint64_t *out) {
  if (ActiveSimdLevel() == SimdLevel::kAvx512)
    return GatherSpansAvx512(sources, spans, span_bytes, step_bytes, rows,
                             words, out);
  GatherSpansScalar(sources, spans, span_bytes, step_bytes, rows, words, out);
}

void BinarizePositions(const float *x, int64_t plane, int64_t channels,
                       int64_t positions, const float *thresholds,
                       uint8_t *out) {
  // The gather's offsets are 32-bit.
  if (ActiveSimdLevel() == SimdLevel::kAvx512 &&
      16 * plane < std::numeric_limits<int32_t>::max())
    return BinarizePositionsAvx512(x, plane, channels, positions, thresholds,
                                   out);
  BinarizePositionsScalar(x, plane, channels, positions, thresholds, out);
}

} // namespace kernels
} // namespace hafnia
