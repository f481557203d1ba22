// The cost model of the chip's digital memory: how many bits each stored
// value takes, by the role it plays. One rule for rram-allocate-arrays (the
// budget check), the mapping report and the program emitter, so that what
// the report counts and the budget admits is what the program stores.
// Dependency-free (C++17 only), like WindowArithmetic.h.
//
// On a chip with `real_precision: REAL_INT8` only the weights of
// convolutions and dense layers are int8 (with their f32 scales); biases,
// batch-norm parameters and every other real parameter stay f32, because
// the digital core computes in f32 and one int8 scale per tensor would
// change what the model computes (docs/memory-mapping.md).

#ifndef HAFNIA_RUNTIME_STORAGECOST_H
#define HAFNIA_RUNTIME_STORAGECOST_H

#include <cstdint>

#include "hafnia/runtime/WindowArithmetic.h"

namespace hafnia {

// What a stored value is.
enum class StoredRole {
  // A +1/-1 value outside the arrays (a bit constant; in the paper's Table
  // IV, every parameter of a binarized layer): one bit, packed.
  kBinaryWeight,
  // A weight of a convolution or dense layer on the digital core: int8 on a
  // chip with int8 weights, f32 otherwise.
  kRealWeight,
  // The f32 scale of int8 weights: one per tensor, or one per output channel
  // (a QDQ model's per-channel quantization).
  kWeightScale,
  // Any other real parameter (biases, batch-norm scale, shift, mean and
  // variance, constants of elementwise ops): f32 on every chip.
  kRealParameter,
  // An integer popcount threshold of bnn.threshold (border thresholds too).
  kThreshold,
  // A per-channel scale or bias of bnn.popcount_affine.
  kPopcountAffine,
  // A border offset or border position of a padded binary convolution.
  kBorderCorrection,
  // A per-channel input threshold from calibration (bnn.binarize).
  kInputThreshold,
};

// Bits one value of `role` takes on a chip that stores real weights as int8
// (`int8_weights`) or as f32.
constexpr int64_t StoredBits(StoredRole role, bool int8_weights) {
  switch (role) {
  case StoredRole::kBinaryWeight:
    return 1;
  case StoredRole::kRealWeight:
    return int8_weights ? 8 : 32;
  case StoredRole::kWeightScale:
  case StoredRole::kRealParameter:
  case StoredRole::kThreshold:
  case StoredRole::kPopcountAffine:
  case StoredRole::kBorderCorrection:
  case StoredRole::kInputThreshold:
    return 32;
  }
  return 32;
}

// Bytes that `count` values of `role` take, stored together (bits packed).
constexpr int64_t StoredBytes(StoredRole role, int64_t count,
                              bool int8_weights) {
  return CeilDiv(count * StoredBits(role, int8_weights), 8);
}

} // namespace hafnia

#endif // HAFNIA_RUNTIME_STORAGECOST_H
