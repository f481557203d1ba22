// The richer device model on the simulated chip: cells flip with their
// stored value's rate, per-array variation draws each array's rates on every
// programming, the expected flips the reports give follow the stored values,
// a symmetric model programs the same chips as before, and runs with
// per-array variation are the same whatever the thread count.

#include <cmath>
#include <random>

#include "DenseProgram.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Simulator.h"
#include "hafnia/runtime/Trials.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

DeviceModel Asymmetric() {
  DeviceModel device;
  device.set_log_window(2.3);
  device.set_log_sigma(0.4);
  device.set_sigma_growth_per_decade(0.02);
  device.set_window_loss_per_decade(0.005);
  device.set_lrs_log_sigma(0.3);
  device.set_hrs_log_sigma(0.6);
  return device;
}

class DeviceInjectionTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(11);
    // 300 x 1000 on 32 x 32 arrays: 320 arrays, padding cells hold +1.
    DenseProgram dense(2, 300, 1000, 32, 32, random);
    program_ = dense.program();
    // Tile by tile: the chip's arrays themselves are programmed (with
    // layers computed on whole rows only the rows are).
    Simulator::Options options;
    options.fuse_layers = false;
    simulator_ = *Simulator::Create(program_, options);
    ideal_ = simulator_->ProgramWithErrors(0.0, random_);
  }

  // Cells that flipped from +1 and from -1 on `chip`, and the cells read
  // holding each.
  struct ByValue {
    uint64_t ones = 0, zeros = 0, ones_flipped = 0, zeros_flipped = 0;
  };
  ByValue Count(const Simulator::ChipState &chip) const {
    ByValue counts;
    for (const ArrayImage &image : program_.arrays()) {
      const Simulator::PackedArray &before = ideal_->arrays[image.array()];
      const Simulator::PackedArray &after = chip.arrays[image.array()];
      for (int64_t r = 0; r < before.rows_used; ++r)
        for (int64_t c = 0; c < before.columns; ++c) {
          int64_t w = r * before.words + c / 64;
          bool was = (before.bits[w] >> (c % 64)) & 1;
          bool is = (after.bits[w] >> (c % 64)) & 1;
          ++(was ? counts.ones : counts.zeros);
          if (was != is)
            ++(was ? counts.ones_flipped : counts.zeros_flipped);
        }
    }
    return counts;
  }

  Program program_;
  std::unique_ptr<Simulator> simulator_;
  std::mt19937_64 random_ = TrialEngine(0, 0);
  std::unique_ptr<Simulator::ChipState> ideal_;
};

void ExpectBinomial(uint64_t count, uint64_t trials, double p,
                    const std::string &what) {
  double mean = trials * p, sd = std::sqrt(trials * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(count), mean, 5 * sd + 1)
      << what << ": " << count << " of " << trials << ", rate " << p;
}

TEST_F(DeviceInjectionTest, CellsFlipWithTheirStoredValuesRate) {
  for (double cycles : {0.0, 1e6}) {
    BitErrors errors = BitErrors::FromDevice(Asymmetric(), CELL_1T1R, cycles);
    ASSERT_FALSE(errors.rates().Symmetric());
    ByValue total;
    uint64_t flips = 0;
    for (uint64_t t = 0; t < 10; ++t) {
      std::mt19937_64 random = TrialEngine(21, t);
      auto chip = simulator_->ProgramWithErrors(errors, random);
      ByValue counts = Count(*chip);
      total.ones += counts.ones;
      total.zeros += counts.zeros;
      total.ones_flipped += counts.ones_flipped;
      total.zeros_flipped += counts.zeros_flipped;
      for (uint64_t f : Simulator::Flips(*chip))
        flips += f;
    }
    EXPECT_EQ(flips, total.ones_flipped + total.zeros_flipped);
    ExpectBinomial(total.ones_flipped, total.ones, errors.rates().plus,
                   "+1 cells");
    ExpectBinomial(total.zeros_flipped, total.zeros, errors.rates().minus,
                   "-1 cells");
    // The expected flips count each value at its own rate.
    double expected = 0;
    for (double e : simulator_->ExpectedFlips(errors))
      expected += e;
    EXPECT_NEAR(expected * 10,
                errors.rates().plus * total.ones +
                    errors.rates().minus * total.zeros,
                1e-6 * expected);
    EXPECT_NEAR(simulator_->ExpectedBer(errors) * (total.ones + total.zeros),
                expected * 10, 1e-6 * expected);
  }
}

TEST_F(DeviceInjectionTest, SymmetricModelsProgramTheSameChipsAsBefore) {
  absl::StatusOr<ChipConfig> chip = LoadChipConfig("default");
  ASSERT_TRUE(chip.ok());
  for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
    BitErrors errors = BitErrors::FromDevice(chip->device(), cell, 1e4);
    double ber = BitErrorRate(chip->device(), cell, 1e4);
    EXPECT_EQ(simulator_->ExpectedBer(errors), ber);
    std::mt19937_64 a = TrialEngine(2, 5), b = TrialEngine(2, 5);
    auto from_model = simulator_->ProgramWithErrors(errors, a);
    auto from_rate = simulator_->ProgramWithErrors(ber, b);
    EXPECT_EQ(Simulator::Flips(*from_model), Simulator::Flips(*from_rate));
    for (size_t i = 0; i < from_model->arrays.size(); ++i)
      EXPECT_EQ(from_model->arrays[i].bits, from_rate->arrays[i].bits);
    std::vector<uint64_t> cells = simulator_->CellsRead();
    std::vector<double> expected = simulator_->ExpectedFlips(errors);
    for (size_t i = 0; i < cells.size(); ++i)
      EXPECT_EQ(expected[i], ber * cells[i]);
  }
}

TEST_F(DeviceInjectionTest, ArraysDrawTheirOwnRatesOnEveryProgramming) {
  DeviceModel device = Asymmetric();
  device.set_array_sigma_spread(0.4);
  BitErrors errors = BitErrors::FromDevice(device, CELL_2T2R, 1e5);
  ASSERT_TRUE(errors.VariesByArray());
  const double p = errors.rates().plus;
  std::vector<uint64_t> cells = simulator_->CellsRead();
  uint64_t total_cells = 0;
  for (uint64_t c : cells)
    total_cells += c;
  constexpr int kTrials = 60;
  std::vector<double> per_trial;
  double dispersion = 0;
  for (int t = 0; t < kTrials; ++t) {
    std::mt19937_64 random = TrialEngine(8, t);
    auto chip = simulator_->ProgramWithErrors(errors, random);
    const std::vector<uint64_t> &flips = Simulator::Flips(*chip);
    double sum = 0, squares = 0;
    int arrays = 0;
    // Flips are in the order of the program's arrays.
    for (uint64_t flipped : flips) {
      double f = static_cast<double>(flipped);
      sum += f;
      squares += f * f;
      ++arrays;
    }
    per_trial.push_back(sum);
    // Variance across arrays over the binomial variance of one rate.
    double mean = sum / arrays;
    dispersion += (squares / arrays - mean * mean) / (mean * (1 - p));
  }
  dispersion /= kTrials;
  // Arrays differ far more than cells of one rate would: the variation
  // reaches the chip.
  EXPECT_GT(dispersion, 3) << "dispersion index";
  // The flips average to the expected rate over programmings.
  double mean = 0, squares = 0;
  for (double f : per_trial) {
    mean += f / kTrials;
    squares += f * f / kTrials;
  }
  double sd = std::sqrt((squares - mean * mean) / kTrials);
  EXPECT_NEAR(mean, p * total_cells, 5 * sd);
  // Without the variation, the same model's arrays are alike.
  DeviceModel alike = Asymmetric();
  BitErrors uniform = BitErrors::FromDevice(alike, CELL_2T2R, 1e5);
  std::mt19937_64 random = TrialEngine(8, 0);
  auto chip = simulator_->ProgramWithErrors(uniform, random);
  double sum = 0, sq = 0;
  for (uint64_t flipped : Simulator::Flips(*chip)) {
    double f = static_cast<double>(flipped);
    sum += f;
    sq += f * f;
  }
  double m = sum / program_.arrays_size();
  EXPECT_LT((sq / program_.arrays_size() - m * m) /
                (m * (1 - uniform.rates().plus)),
            1.6);
}

// The engine with per-array variation and value-dependent rates: the same
// reports for any thread count, expected flips from the stored values.
class DeviceTrialsTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(7);
    DenseProgram dense(4, 40, 300, 16, 64, random);
    Program program = dense.program();
    DeviceModel device = Asymmetric();
    device.set_array_sigma_spread(0.3);
    device.set_sense_offset_sigma(0.1);
    device.set_stuck_hrs_fraction(1e-3);
    *program.mutable_chip()->mutable_device() = device;
    absl::StatusOr<std::unique_ptr<Simulator>> simulator =
        Simulator::Create(program);
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    simulator_ = *std::move(simulator);
    std::normal_distribution<float> normal;
    Tensor x;
    x.shape = {40, 300};
    for (int64_t i = 0; i < 40 * 300; ++i)
      x.data.push_back(normal(random));
    data_.inputs.push_back(x);
  }
  std::unique_ptr<Simulator> simulator_;
  Dataset data_;
};

TEST_F(DeviceTrialsTest, ResultsDoNotDependOnTheThreadCount) {
  for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
    TrialOptions options;
    options.cell = cell;
    options.cycles = 1e6;
    options.trials = 8;
    absl::StatusOr<Simulation> one = Simulate(*simulator_, data_, options);
    options.threads = 3;
    absl::StatusOr<Simulation> three = Simulate(*simulator_, data_, options);
    ASSERT_TRUE(one.ok() && three.ok()) << one.status() << three.status();
    EXPECT_EQ(one->report.SerializeAsString(),
              three->report.SerializeAsString());
    EXPECT_EQ(one->outputs[0].data, three->outputs[0].data);
    // Expected flips per array from the stored values; observed counted.
    const SimulationReport &report = one->report;
    BitErrors errors =
        BitErrors::FromDevice(simulator_->program().chip().device(), cell, 1e6);
    std::vector<double> expected = simulator_->ExpectedFlips(errors);
    double total = 0, observed = 0, cells = 0;
    for (const FlipCount &array : report.array_flips()) {
      EXPECT_DOUBLE_EQ(array.expected(), expected[array.array()] * 8);
      total += array.expected();
      observed += array.observed();
      cells += array.cells();
    }
    EXPECT_DOUBLE_EQ(report.ber().expected(), simulator_->ExpectedBer(errors));
    EXPECT_NEAR(report.ber().expected() * cells * 8, total, 1e-9 * total);
    EXPECT_DOUBLE_EQ(report.ber().observed(), observed / (cells * 8));
    SweepOptions sweep;
    sweep.cycles = {1e2, 1e6};
    sweep.trials = 3;
    absl::StatusOr<SweepReport> a = Sweep(*simulator_, data_, sweep);
    sweep.threads = 2;
    absl::StatusOr<SweepReport> b = Sweep(*simulator_, data_, sweep);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
  }
}

} // namespace
} // namespace hafnia
