// Sensitivity runs and per-array error rates: errors confined to a layer
// flip only its cells, a layer without errors (a zero BER, or arrays whose
// BER multiplier is 0) has no sensitivity, the run of every array is the
// single run's, and the report does not depend on the thread count.

#include "hafnia/runtime/Trials.h"

#include <random>

#include "DenseProgram.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

constexpr int64_t kSamples = 60;

class SensitivityTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(7);
    // 10 outputs over 200 inputs on 8x64 arrays: row tile 0 (neurons 0-7)
    // on arrays 0-3, row tile 1 (neurons 8-9) on arrays 4-7, labelled as
    // two layers, "top" and "bottom".
    DenseProgram dense(4, 10, 200, 8, 64, random);
    program_ = dense.program();
    for (ArrayImage &image : *program_.mutable_arrays())
      image.set_layer(image.array() < 4 ? "top" : "bottom");
    std::normal_distribution<float> normal;
    Tensor x;
    x.shape = {kSamples, 200};
    for (int64_t i = 0; i < kSamples * 200; ++i)
      x.data.push_back(normal(random));
    data_.inputs.push_back(x);
    std::vector<int64_t> labels =
        Predict({{kSamples, 10}, dense.Reference(x.data, kSamples)});
    for (int64_t s = 0; s < kSamples; s += 7)
      labels[s] = (labels[s] + 1) % 10;
    data_.labels = labels;
  }

  std::unique_ptr<Simulator> Create(const Program &program) {
    absl::StatusOr<std::unique_ptr<Simulator>> simulator =
        Simulator::Create(program);
    EXPECT_TRUE(simulator.ok()) << simulator.status();
    return simulator.ok() ? *std::move(simulator) : nullptr;
  }

  static SensitivityOptions WithBer(double ber, int threads = 1) {
    SensitivityOptions options;
    options.ber = ber;
    options.trials = 6;
    options.threads = threads;
    return options;
  }

  static const SensitivityEntry &Layer(const SensitivityReport &report,
                                       const std::string &name) {
    for (const SensitivityEntry &layer : report.layers())
      if (layer.layer() == name)
        return layer;
    ADD_FAILURE() << "no layer " << name;
    return report.layers(0);
  }

  Program program_;
  Dataset data_;
};

TEST_F(SensitivityTest, ConfinedErrorsFlipOnlyTheirArrays) {
  std::unique_ptr<Simulator> simulator = Create(program_);
  ASSERT_TRUE(simulator);
  BitErrors bottom = BitErrors(0.2).ConfinedTo({6, 4, 5, 7});
  for (uint64_t trial = 0; trial < 4; ++trial) {
    std::mt19937_64 random = TrialEngine(1, trial);
    std::unique_ptr<Simulator::ChipState> chip =
        simulator->ProgramWithErrors(bottom, random);
    const std::vector<uint64_t> &flips = Simulator::Flips(*chip);
    ASSERT_EQ(flips.size(), 8u);
    uint64_t in_bottom = 0;
    for (size_t a = 0; a < flips.size(); ++a)
      if (a < 4)
        EXPECT_EQ(flips[a], 0u) << "array " << a;
      else
        in_bottom += flips[a];
    // 2 rows x 64 columns x 4 arrays at 0.2: about 102 flips.
    EXPECT_GT(in_bottom, 50u);
  }
  std::vector<double> expected = simulator->ExpectedFlips(bottom);
  EXPECT_EQ(expected[0], 0);
  EXPECT_DOUBLE_EQ(expected[4], 0.2 * 2 * 64);
}

TEST_F(SensitivityTest, LayersWithoutErrorsHaveNoSensitivity) {
  std::unique_ptr<Simulator> simulator = Create(program_);
  ASSERT_TRUE(simulator);
  absl::StatusOr<SensitivityReport> clean =
      Sensitivity(*simulator, data_, WithBer(0));
  ASSERT_TRUE(clean.ok()) << clean.status();
  ASSERT_EQ(clean->layers_size(), 2);
  for (const SensitivityEntry &layer : clean->layers()) {
    EXPECT_EQ(layer.flipped(), 0u);
    EXPECT_EQ(layer.agreement_drop(), 0);
    EXPECT_EQ(layer.accuracy_drop(), 0);
  }
  // The chip's arrays of "top" perfect: at a BER of 0.1 only "bottom"
  // flips and changes predictions; "top" has none.
  Program program = program_;
  for (int a = 0; a < 8; ++a)
    program.mutable_chip()->add_array_ber_multiplier(a < 4 ? 0 : 1);
  program.mutable_chip()->set_arrays(8);
  simulator = Create(program);
  ASSERT_TRUE(simulator);
  absl::StatusOr<SensitivityReport> report =
      Sensitivity(*simulator, data_, WithBer(0.1));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(Layer(*report, "top").flipped(), 0u);
  EXPECT_EQ(Layer(*report, "top").agreement_drop(), 0);
  EXPECT_EQ(Layer(*report, "top").accuracy_drop(), 0);
  EXPECT_GT(Layer(*report, "bottom").flipped(), 0u);
  EXPECT_GT(Layer(*report, "bottom").agreement_drop(), 0);
  EXPECT_EQ(report->ranking(0), "bottom");
  // Every array's errors are the bottom layer's alone, trial by trial.
  EXPECT_EQ(report->all_arrays().flipped(), Layer(*report, "bottom").flipped());
  EXPECT_EQ(
      report->all_arrays().agreement_with_ideal().SerializeAsString(),
      Layer(*report, "bottom").agreement_with_ideal().SerializeAsString());
  // The expected BER counts the perfect arrays: 2 of 10 rows read at 0.1.
  EXPECT_NEAR(simulator->ExpectedBer(0.1), 0.1 * 2 / 10, 1e-12);
}

TEST_F(SensitivityTest, EveryArrayIsTheSingleRunAndArraysFollowTheRanking) {
  std::unique_ptr<Simulator> simulator = Create(program_);
  ASSERT_TRUE(simulator);
  SensitivityOptions options = WithBer(0.1);
  options.array_layers = 1;
  absl::StatusOr<SensitivityReport> report =
      Sensitivity(*simulator, data_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  absl::StatusOr<Simulation> single = Simulate(*simulator, data_, options);
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(report->all_arrays().agreement_with_ideal().SerializeAsString(),
            single->report.agreement_with_ideal().SerializeAsString());
  EXPECT_EQ(report->all_arrays().accuracy().SerializeAsString(),
            single->report.accuracy_trials().SerializeAsString());
  EXPECT_DOUBLE_EQ(report->ideal_accuracy(), single->report.accuracy());
  EXPECT_EQ(report->all_arrays().cells(), 10u * 256);
  EXPECT_EQ(Layer(*report, "top").cells(), 8u * 256);
  EXPECT_EQ(Layer(*report, "top").arrays(), 4u);
  // The most sensitive layer's 4 arrays, one at a time.
  ASSERT_EQ(report->array_layers(), 1u);
  ASSERT_EQ(report->arrays_size(), 4);
  for (const SensitivityEntry &array : report->arrays()) {
    EXPECT_EQ(array.layer(), report->ranking(0));
    EXPECT_TRUE(array.has_array());
    EXPECT_EQ(array.arrays(), 1u);
  }
  // The drops agree with the trials' mean.
  const SensitivityEntry &top = Layer(*report, "top");
  EXPECT_DOUBLE_EQ(top.agreement_drop(), 1 - top.agreement_with_ideal().mean());
  EXPECT_DOUBLE_EQ(top.accuracy_drop(),
                   report->ideal_accuracy() - top.accuracy().mean());
  EXPECT_THAT(FormatSensitivity(*report),
              ::testing::HasSubstr("errors in one array at a time"));
}

TEST_F(SensitivityTest, ReportsDoNotDependOnTheThreadCount) {
  std::unique_ptr<Simulator> simulator = Create(program_);
  ASSERT_TRUE(simulator);
  absl::StatusOr<SensitivityReport> one =
      Sensitivity(*simulator, data_, WithBer(0.1, 1));
  absl::StatusOr<SensitivityReport> two =
      Sensitivity(*simulator, data_, WithBer(0.1, 2));
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->SerializeAsString(), two->SerializeAsString());
  EXPECT_EQ(one->arrays_size(), 8);
}

TEST_F(SensitivityTest, BadOptionsAreOneLineNamingTheOption) {
  std::unique_ptr<Simulator> simulator = Create(program_);
  ASSERT_TRUE(simulator);
  SensitivityOptions no_errors;
  EXPECT_EQ(Sensitivity(*simulator, data_, no_errors).status().message(),
            "sensitivity injects errors: give --cycles or --ber");
  SensitivityOptions negative = WithBer(0.1);
  negative.array_layers = -1;
  EXPECT_EQ(Sensitivity(*simulator, data_, negative).status().message(),
            "--sensitivity-arrays must be at least 0");
}

} // namespace
} // namespace hafnia
