// The binary layers' inner loops, for the widest SIMD the host CPU has:
// AVX-512 with VPOPCNTDQ (and BW for packing), AVX2, or the scalar popcnt
// instruction. One build runs on any x86-64 CPU with popcnt: the level is
// chosen at run time (__builtin_cpu_supports), never at compile time. Every
// level gives the same integers. Private to the runtime.

#ifndef HAFNIA_RUNTIME_LIB_KERNELS_POPCOUNT_H
#define HAFNIA_RUNTIME_LIB_KERNELS_POPCOUNT_H

#include <cstdint>
#include <string>

#include "hafnia/runtime/Simulator.h"

namespace hafnia {
namespace kernels {

enum class SimdLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// The best level the host supports, and the level in use (the best, unless
// set otherwise).
SimdLevel HostSimdLevel();
SimdLevel ActiveSimdLevel();
// For tests and benchmarks: use `level` (at most the host's; a higher one is
// lowered to it) from now on, in every thread. Returns the level set.
SimdLevel SetSimdLevel(SimdLevel level);
std::string SimdLevelName(SimdLevel level);

// popcount(a XOR b) over `words` words.
int64_t XorPopcount(const uint64_t *a, const uint64_t *b, int64_t words);

// The binary GEMM: for every input row j < `count` and weight row
// m < `outputs`, out[j * outputs + m] = popcount(weights[m] XOR inputs[j]),
// rows of `words` words each. Each weight row is loaded once for several
// inputs.
void XorPopcountGemm(const uint64_t *weights, int64_t outputs,
                     const uint64_t *inputs, int64_t count, int64_t words,
                     int32_t *out);

// Corrections of error-free disagreements for a chip whose rows differ in a
// few words: for each flipped word f (sorted by neuron) and each input row
// b < `rows`, counts[b * outputs + f.neuron] += popcount(f.mask) -
// 2 popcount((x & f.mask) ^ f.error_free), with x word f.word of row b in
// `transposed` (words x rows: word w of row b at w * rows + b). That is the
// change from popcount(x ^ w) to popcount(x ^ w ^ f.mask).
void CorrectFlippedWords(const uint64_t *transposed, int64_t rows,
                         const Simulator::ChipState::FlippedWord *flipped,
                         int64_t count, int32_t *counts, int64_t outputs);

// Packs the low bits of `n` bytes into words (bit k of the result is bit
// k % 64 of word k / 64; the unused high bits of the last word are zero).
void PackBits(const uint8_t *bits, int64_t n, uint64_t *out);

// Thresholds rows of `n` counts into rows of bits: bit m of row r, written
// at out + r * stride (bytes; bit m is bit m % 8 of byte m / 8, the last
// byte's unused bits zero), is 1 where the count, negated where negate[m]
// is -1 (0: as is), is at most limits[classes[r] * n + m].
void ThresholdRows(const int32_t *counts, int64_t rows, int64_t n,
                   const int32_t *negate, const int32_t *limits,
                   const int32_t *classes, uint8_t *out, int64_t stride);

// ThresholdRows on the rows of XorPopcountGemm, without the counts in
// memory where the SIMD level allows: bit m of row j < `count`, at
// bits + j * ceil(outputs / 8), is 1 where popcount(weights[m] ^
// inputs[j]), negated where negate[m] is -1, is at most
// limits[classes[j] * outputs + m].
void XorPopcountGemmThreshold(const uint64_t *weights, int64_t outputs,
                              const uint64_t *inputs, int64_t count,
                              int64_t words, const int32_t *negate,
                              const int32_t *limits, const int32_t *classes,
                              uint8_t *bits);

// The receptive fields of `rows` outputs along one line of outputs, from
// whole bytes: row r (at out + r * words) is `spans` runs of `span_bytes`
// bytes one after the other, run t from sources[t] + r * step_bytes; the
// bytes of its last word past them are zero.
void GatherSpans(const uint8_t *const *sources, int64_t spans,
                 int64_t span_bytes, int64_t step_bytes, int64_t rows,
                 int64_t words, uint64_t *out);

// Binarizes `channels` (a multiple of 8) planes of floats position by
// position: bit c of position p < `positions`, bit c % 8 of byte
// out[p * channels / 8 + c / 8], is x[c * plane + p] >= thresholds[c] (NaN
// reads 0), as the sense amplifier reads them.
void BinarizePositions(const float *x, int64_t plane, int64_t channels,
                       int64_t positions, const float *thresholds,
                       uint8_t *out);

} // namespace kernels
} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIB_KERNELS_POPCOUNT_H
