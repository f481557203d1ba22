//===- ThresholdFoldingTest.cpp - Exhaustive checks of threshold folding --===//
//
// For every popcount a binary layer can produce, the folded integer threshold
// must give the same +1/-1 as the float computation it replaces. The float
// reference here is written out independently of ChannelStep, following the
// ops' definitions (popcount affine, then ONNX batch normalization, then a
// sign with sign(0) = +1), and evaluated in f32 step by step.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Dialect/BNN/Transforms/ThresholdFolding.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace hafnia::bnn;

namespace {

struct Case {
  int64_t fanIn;
  float scale, bias;                          // popcount affine
  float gamma, beta, mean, variance, epsilon; // batch normalization
};

bool referenceDecision(const Case &c, int64_t popcount) {
  float sum = static_cast<float>(2 * popcount - c.fanIn);
  float affine = c.scale * sum;
  affine = affine + c.bias;
  float centered = affine - c.mean;
  float deviation = std::sqrt(c.variance + c.epsilon);
  float normalized = centered / deviation;
  float scaled = normalized * c.gamma;
  float shifted = scaled + c.beta;
  return shifted >= 0;
}

/// Folds `c` and checks the threshold against the reference at every
/// popcount in [0, fanIn]; returns the threshold.
Threshold checkEveryPopcount(const Case &c) {
  ChannelStep norm{ChannelStep::Kind::BatchNorm};
  norm.scale = c.gamma;
  norm.bias = c.beta;
  norm.mean = c.mean;
  norm.variance = c.variance;
  norm.epsilon = c.epsilon;
  Threshold threshold = foldThreshold(c.fanIn, c.scale, c.bias, {norm});
  EXPECT_GE(threshold.value, -1);
  EXPECT_LE(threshold.value, c.fanIn + 1);
  for (int64_t p = 0; p <= c.fanIn; ++p)
    EXPECT_EQ(threshold(p), referenceDecision(c, p))
        << "popcount " << p << " of " << c.fanIn << ", threshold "
        << threshold.value << (threshold.inverted ? " (inverted)" : "")
        << ", scale " << c.scale << " bias " << c.bias << " gamma " << c.gamma
        << " beta " << c.beta << " mean " << c.mean << " variance "
        << c.variance << " epsilon " << c.epsilon;
  return threshold;
}

TEST(ThresholdFolding, RandomParametersEveryPopcount) {
  std::mt19937 random(20201);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> positive(0.01f, 4.0f);
  for (int64_t fanIn : {1, 2, 3, 32, 33, 75, 288, 1024, 5152}) {
    for (int trial = 0; trial < 200; ++trial) {
      float spread = std::sqrt(static_cast<float>(fanIn));
      Case c{fanIn,
             trial % 7 == 0 ? 1.0f : positive(random) * (trial % 2 ? 1 : -1),
             normal(random),
             normal(random),
             normal(random),
             normal(random) * spread,
             positive(random) * spread,
             1e-5f};
      checkEveryPopcount(c);
    }
  }
}

TEST(ThresholdFolding, BoundaryOnAnInteger) {
  // The normalized value is exactly zero at popcount k: the sign gives +1
  // there, in both directions.
  for (int64_t fanIn : {1, 10, 75, 5152}) {
    for (int64_t k = 0; k <= fanIn; k += std::max<int64_t>(1, fanIn / 7)) {
      float mean = static_cast<float>(2 * k - fanIn);
      Threshold rising =
          checkEveryPopcount({fanIn, 1.0f, 0.0f, 1.0f, 0.0f, mean, 1.0f, 0.0f});
      EXPECT_FALSE(rising.inverted);
      EXPECT_EQ(rising.value, k);
      Threshold falling = checkEveryPopcount(
          {fanIn, 1.0f, 0.0f, -1.0f, 0.0f, mean, 1.0f, 0.0f});
      EXPECT_TRUE(falling.inverted || k == fanIn);
      EXPECT_EQ(falling(k), true);
      // Half-way between two popcounts.
      checkEveryPopcount(
          {fanIn, 1.0f, 0.0f, 1.0f, 0.0f, mean + 1.0f, 1.0f, 0.0f});
      checkEveryPopcount(
          {fanIn, 1.0f, 0.0f, -1.0f, 0.0f, mean + 1.0f, 1.0f, 0.0f});
    }
  }
}

TEST(ThresholdFolding, RoundingNearTheBoundary) {
  // Values one float ulp around an integer boundary, through non-trivial
  // scales and epsilons, where an exact-arithmetic threshold would be off
  // by one.
  std::mt19937 random(7);
  for (int64_t fanIn : {75, 5152}) {
    for (int trial = 0; trial < 400; ++trial) {
      int64_t k = random() % (fanIn + 1);
      float scale = 0.1f * (1 + trial % 13);
      float boundary = scale * static_cast<float>(2 * k - fanIn);
      float mean = std::nextafter(
          boundary, trial % 2 ? std::numeric_limits<float>::infinity()
                              : -std::numeric_limits<float>::infinity());
      float gamma = trial % 3 ? 0.37f : -2.5f;
      checkEveryPopcount({fanIn, scale, 0.0f, gamma, 0.0f, mean, 0.3f, 1e-5f});
      checkEveryPopcount(
          {fanIn, scale, 0.1f, gamma, 1e-7f, boundary, 1.0f, 1e-3f});
    }
  }
}

TEST(ThresholdFolding, ConstantOutputs) {
  // gamma = 0 (or -0): the sign sees beta alone.
  for (float gamma : {0.0f, -0.0f}) {
    Threshold always =
        checkEveryPopcount({75, 1.0f, 0.0f, gamma, 0.5f, 3.0f, 1.0f, 1e-5f});
    EXPECT_EQ(always.value, 0);
    Threshold zeroBeta =
        checkEveryPopcount({75, 1.0f, 0.0f, gamma, 0.0f, 3.0f, 1.0f, 1e-5f});
    EXPECT_EQ(zeroBeta.value, 0); // +0 or -0 reads as +1
    Threshold never =
        checkEveryPopcount({75, 1.0f, 0.0f, gamma, -0.5f, 3.0f, 1.0f, 1e-5f});
    EXPECT_EQ(never.value, 76);
    EXPECT_FALSE(never.inverted);
  }
  // A zero weight scale (a neuron whose real weights were all zero).
  checkEveryPopcount({33, 0.0f, -1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1e-5f});
  // Zero variance and epsilon: division by zero gives infinities and a NaN
  // at the mean, which reads as -1.
  checkEveryPopcount({10, 1.0f, 0.0f, 1.0f, 0.0f, 2.0f, 0.0f, 0.0f});
}

TEST(ThresholdFolding, ChainOfChannelSteps) {
  // Gemm alpha, a per-channel scale factor and an offset before the sign:
  // 0.5 * (2p - 9) * 3 - 1.5 >= 0  <=>  p >= 5.
  ChannelStep multiply{ChannelStep::Kind::Multiply, 3.0f};
  ChannelStep subtract{ChannelStep::Kind::Subtract, 1.5f};
  Threshold threshold = foldThreshold(9, 0.5f, 0.0f, {multiply, subtract});
  EXPECT_FALSE(threshold.inverted);
  EXPECT_EQ(threshold.value, 5);
  // A division by a negative constant flips the comparison.
  ChannelStep divide{ChannelStep::Kind::Divide, -2.0f};
  Threshold flipped = foldThreshold(9, 0.5f, 0.0f, {subtract, divide});
  for (int64_t p = 0; p <= 9; ++p)
    EXPECT_EQ(flipped(p), (0.5f * (2 * p - 9) - 1.5f) / -2.0f >= 0) << p;
}

} // namespace
