//===- ThresholdFolding.cpp - Integer thresholds from float chains --------===//

#include "hafnia/Dialect/BNN/Transforms/ThresholdFolding.h"

#include <cmath>

using namespace hafnia::bnn;

float ChannelStep::apply(float x) const {
  switch (kind) {
  case Kind::Multiply:
    return x * value;
  case Kind::Add:
    return x + value;
  case Kind::Subtract:
    return x - value;
  case Kind::SubtractFrom:
    return value - x;
  case Kind::Divide:
    return x / value;
  case Kind::BatchNorm:
    // ONNX's formula, step by step in f32.
    return (x - mean) / std::sqrt(variance + epsilon) * scale + bias;
  case Kind::Relu:
    return x < 0 ? 0.0f : x;
  }
  return x;
}

float hafnia::bnn::popcountAffine(int64_t popcount, int64_t fanIn, float scale,
                                  float bias, int64_t offset) {
  float sum = static_cast<float>(2 * popcount - fanIn - offset);
  float product = scale * sum;
  return product + bias;
}

bool hafnia::bnn::floatDecision(int64_t popcount, int64_t fanIn, float scale,
                                float bias, llvm::ArrayRef<ChannelStep> steps,
                                int64_t offset) {
  float x = popcountAffine(popcount, fanIn, scale, bias, offset);
  for (const ChannelStep &step : steps)
    x = step.apply(x);
  return x >= 0; // bnn.binarize: zero reads as +1, NaN as -1.
}

Threshold hafnia::bnn::foldThreshold(int64_t fanIn, float scale, float bias,
                                     llvm::ArrayRef<ChannelStep> steps,
                                     int64_t offset) {
  auto decide = [&](int64_t popcount) {
    return floatDecision(popcount, fanIn, scale, bias, steps, offset);
  };
  // Every step is monotone in f32 (rounding to nearest preserves order), so
  // the decision switches at most once over [0, fanIn]; its ends say which
  // way, and a binary search finds where.
  bool atZero = decide(0), atFanIn = decide(fanIn);
  if (atZero == atFanIn)
    return Threshold{atZero ? 0 : static_cast<int32_t>(fanIn + 1), false};
  bool rising = atFanIn;
  // The first popcount at which the decision equals its value at fanIn.
  int64_t low = 0, high = fanIn;
  while (high - low > 1) {
    int64_t middle = low + (high - low) / 2;
    (decide(middle) == atFanIn ? high : low) = middle;
  }
  if (rising)
    return Threshold{static_cast<int32_t>(high), false};
  return Threshold{static_cast<int32_t>(high - 1), true};
}

bool hafnia::bnn::isConstant(Threshold threshold, int64_t fanIn) {
  // foldThreshold gives constants as p >= 0 (always) or p >= fanIn + 1.
  return !threshold.inverted &&
         (threshold.value == 0 || threshold.value == fanIn + 1);
}

Threshold hafnia::bnn::orient(Threshold threshold, int64_t fanIn,
                              bool inverted) {
  if (threshold.inverted == inverted || !isConstant(threshold, fanIn))
    return threshold;
  // p <= fanIn + 1 always holds, p <= -1 never.
  bool always = threshold.value == 0;
  return Threshold{static_cast<int32_t>(always ? fanIn + 1 : -1), true};
}
