//===- CalibrationTest.cpp - Per-channel thresholds from sample values ----===//

#include "hafnia/Calibration/Calibration.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

namespace {

using hafnia::calibrateChannel;
using hafnia::ChannelCalibration;

TEST(CalibrateChannel, CutsAtTheMedianWithTheMeansOnEitherSide) {
  ChannelCalibration c = calibrateChannel({5, 1, 4, 2, 3, 6});
  // Median of six: the upper middle value; three values on either side.
  EXPECT_EQ(c.threshold, 4.0f);
  EXPECT_FLOAT_EQ(c.low, 2.0f);
  EXPECT_FLOAT_EQ(c.high, 5.0f);
}

TEST(CalibrateChannel, ManyZerosCutJustAboveZero) {
  // A ReLU's output: mostly zeros. Cutting at 0 would put every value
  // above; cutting just above it separates the active ones.
  ChannelCalibration c = calibrateChannel({0, 0, 0, 0, 0, 2, 4, 0});
  EXPECT_GT(c.threshold, 0.0f);
  EXPECT_EQ(c.threshold,
            std::nextafter(0.0f, std::numeric_limits<float>::infinity()));
  EXPECT_FLOAT_EQ(c.low, 0.0f);
  EXPECT_FLOAT_EQ(c.high, 3.0f);
}

TEST(CalibrateChannel, SignOfAReluIsExact) {
  // Sign after ReLU gives 0 or 1: the bits separate them, the levels are
  // the two values.
  ChannelCalibration c = calibrateChannel({0, 1, 1, 0, 1, 0, 0});
  EXPECT_FLOAT_EQ(c.low, 0.0f);
  EXPECT_FLOAT_EQ(c.high, 1.0f);
  EXPECT_GT(c.threshold, 0.0f);
  EXPECT_LE(c.threshold, 1.0f);
}

TEST(CalibrateChannel, AConstantChannelStandsForItsValue) {
  ChannelCalibration c = calibrateChannel({2.5f, 2.5f, 2.5f});
  EXPECT_FLOAT_EQ(c.low, 2.5f);
  EXPECT_FLOAT_EQ(c.high, 2.5f);
}

TEST(CalibrateChannel, NoValuesGiveZero) {
  ChannelCalibration c = calibrateChannel({});
  EXPECT_EQ(c.threshold, 0.0f);
  EXPECT_EQ(c.low, 0.0f);
  EXPECT_EQ(c.high, 0.0f);
}

} // namespace
