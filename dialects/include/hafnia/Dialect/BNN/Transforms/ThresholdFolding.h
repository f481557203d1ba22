//===- ThresholdFolding.h - Integer thresholds from float chains -*- C++
//-*-===//
//
// The arithmetic behind bnn-fold-thresholds, free of MLIR so that unit tests
// can check it exhaustively: a binary layer's popcount goes through a chain of
// per-channel float steps and a sign; the chain is monotone, so the sign is a
// comparison of the popcount with one integer.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_DIALECT_BNN_TRANSFORMS_THRESHOLDFOLDING_H
#define HAFNIA_DIALECT_BNN_TRANSFORMS_THRESHOLDFOLDING_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>

namespace hafnia::bnn {

/// One per-channel step of the float computation between a popcount and the
/// sign after it, evaluated in f32 exactly as the corresponding op does.
struct ChannelStep {
  enum class Kind {
    Multiply,     // x * value
    Add,          // x + value
    Subtract,     // x - value
    SubtractFrom, // value - x
    Divide,       // x / value
    BatchNorm,    // (x - mean) / sqrt(variance + epsilon) * scale + bias
    Relu,         // max(x, 0)
  };
  Kind kind;
  float value = 0;
  float scale = 1, bias = 0, mean = 0, variance = 1, epsilon = 0;

  float apply(float x) const;
};

/// `scale * (2 * popcount - fanIn - offset) + bias` in f32, as
/// bnn.popcount_affine (`offset`: its border offset, 0 elsewhere).
float popcountAffine(int64_t popcount, int64_t fanIn, float scale, float bias,
                     int64_t offset = 0);

/// The output bit of `bnn.threshold` for one channel: popcount >= threshold,
/// or popcount <= threshold when inverted.
struct Threshold {
  int32_t value = 0;
  bool inverted = false;
  bool operator()(int64_t popcount) const {
    return inverted ? popcount <= value : popcount >= value;
  }
};

/// The float decision the threshold replaces: bnn.binarize (x >= 0) of the
/// chain applied to the popcount affine.
bool floatDecision(int64_t popcount, int64_t fanIn, float scale, float bias,
                   llvm::ArrayRef<ChannelStep> steps, int64_t offset = 0);

/// The threshold giving floatDecision for every popcount in [0, fanIn]; a
/// constant decision gives threshold 0 (always +1) or fanIn + 1 (never).
Threshold foldThreshold(int64_t fanIn, float scale, float bias,
                        llvm::ArrayRef<ChannelStep> steps, int64_t offset = 0);

/// Whether `threshold` (of foldThreshold) is a constant decision.
bool isConstant(Threshold threshold, int64_t fanIn);

/// The same decision as `threshold` with the comparison `inverted`: only a
/// constant one can change orientation.
Threshold orient(Threshold threshold, int64_t fanIn, bool inverted);

} // namespace hafnia::bnn

#endif // HAFNIA_DIALECT_BNN_TRANSFORMS_THRESHOLDFOLDING_H
