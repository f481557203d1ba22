// Weights stored as code words in 1T1R devices inside the simulator
// (hafnia-sim --ecc): chosen device errors decode as the code promises,
// the drawn errors follow the exact decoded rates, and the engine's reports
// do not depend on the thread count or on how a run is split.

#include <random>

#include "DenseProgram.h"
#include "absl/strings/str_cat.h"
#include "hafnia/runtime/Ecc.h"
#include "hafnia/runtime/Trials.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSamples = 40;

class EccSimulationTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(11);
    // A 10-class layer over 200 inputs on 8x60 arrays: 2 row tiles (8 and
    // 2 rows) of 4 column tiles, the last one 20 columns wide, its padding
    // read too: arrays of 480 and 120 read cells, which end in a shortened
    // word of every code but SECDED(22,16) and (39,32).
    DenseProgram dense(4, 10, 200, 8, 60, random);
    absl::StatusOr<std::unique_ptr<Simulator>> simulator =
        Simulator::Create(dense.program());
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    simulator_ = *std::move(simulator);
    std::normal_distribution<float> normal;
    for (int64_t s = 0; s < kSamples / 4; ++s) {
      Tensor x{{4, 200}, {}};
      for (int64_t i = 0; i < 4 * 200; ++i)
        x.data.push_back(normal(random));
      batches_.push_back(x);
      all_.shape = {kSamples, 200};
      all_.data.insert(all_.data.end(), x.data.begin(), x.data.end());
    }
    data_.inputs.push_back(all_);
    data_.labels = Predict({{kSamples, 10}, Outputs(nullptr)});
  }

  // The first output of every batch, on `chip` (null: error-free).
  std::vector<float> Outputs(const Simulator::ChipState *chip) const {
    std::vector<float> outputs;
    for (const Tensor &batch : batches_) {
      auto prefix = simulator_->RunPrefix({batch});
      EXPECT_TRUE(prefix.ok());
      SimulationStats stats;
      auto run = simulator_->RunSuffix(**prefix, chip, &stats);
      EXPECT_TRUE(run.ok());
      outputs.insert(outputs.end(), (*run)[0].data.begin(),
                     (*run)[0].data.end());
    }
    return outputs;
  }

  // Read cells of each of the program's arrays, in order.
  std::vector<int64_t> CellsByArray() const {
    std::vector<uint64_t> cells = simulator_->CellsRead();
    std::vector<int64_t> ordered;
    for (const ArrayImage &image : simulator_->program().arrays())
      ordered.push_back(cells[image.array()]);
    return ordered;
  }

  TrialOptions WithEcc(EccCode code, double ber, int threads = 1) const {
    TrialOptions options;
    options.cell = CELL_1T1R;
    options.ecc = code;
    options.ber = ber;
    options.trials = 6;
    options.threads = threads;
    return options;
  }

  std::unique_ptr<Simulator> simulator_;
  std::vector<Tensor> batches_;
  Tensor all_;
  Dataset data_;
};

// One flipped device in every word, at every code bit position in turn
// (parity bits too, the shortened last word's too): decoding corrects them
// all, so no cell reads wrong and the outputs are the error-free ones. The
// same flips read without the code would change the outputs.
TEST_F(EccSimulationTest, OneFlippedDevicePerWordIsCorrected) {
  const std::vector<float> error_free = Outputs(nullptr);
  for (const EccCodeInfo &info : EccCodes()) {
    std::vector<std::vector<int64_t>> flips;
    uint64_t words = 0;
    for (int64_t cells : CellsByArray()) {
      std::vector<int64_t> &array = flips.emplace_back();
      int64_t devices = StoredDevices(info.code, cells);
      for (int64_t w = 0; w < StoredWords(info.code, cells); ++w) {
        int64_t first = w * info.code_bits;
        int64_t stored = std::min<int64_t>(info.code_bits, devices - first);
        array.push_back(first + (w * 5 + flips.size()) % stored);
        ++words;
      }
    }
    std::mt19937_64 random(1);
    auto chip = simulator_->ProgramWithDeviceFlips(info.code, flips, random);
    uint64_t wrong = 0, flagged = 0, flipped = 0;
    for (size_t a = 0; a < flips.size(); ++a) {
      wrong += Simulator::Flips(*chip)[a];
      flagged += chip->uncorrectable_words[a];
      flipped += chip->device_flips[a];
    }
    EXPECT_EQ(flipped, words) << info.name;
    EXPECT_EQ(wrong, 0u) << info.name;
    EXPECT_EQ(flagged, 0u) << info.name;
    EXPECT_EQ(Outputs(chip.get()), error_free) << info.name;
  }
  // The control: a cell flipped in every 8th word's worth of cells without
  // a code (ber 1/8) changes the outputs.
  std::mt19937_64 random(1);
  auto plain = simulator_->ProgramWithErrors(0.125, random);
  EXPECT_NE(Outputs(plain.get()), error_free);
}

// Two flipped devices in chosen words: a SECDED decoder flags exactly those
// words and leaves their data as read (the flipped data bits wrong); the
// Hamming(7,4) decoder flags nothing and miscorrects each of them.
TEST_F(EccSimulationTest, UncorrectableWordsAreTheDoubleErrors) {
  for (const EccCodeInfo &info : EccCodes()) {
    std::vector<std::vector<int64_t>> flips;
    std::vector<int64_t> cells = CellsByArray();
    std::vector<uint64_t> doubled;
    for (size_t a = 0; a < cells.size(); ++a) {
      std::vector<int64_t> &array = flips.emplace_back();
      int64_t words = StoredWords(info.code, cells[a]);
      int64_t devices = StoredDevices(info.code, cells[a]);
      // Every third word from the array's number on, the last one too.
      uint64_t count = 0;
      for (int64_t w = a % 3; w < words; w += 3) {
        int64_t first = w * info.code_bits;
        int64_t stored = std::min<int64_t>(info.code_bits, devices - first);
        array.push_back(first + w % stored);
        array.push_back(first + (w % stored + 1 + a) % stored);
        std::sort(array.end() - 2, array.end());
        if (array.end()[-2] == array.end()[-1])
          array.pop_back();
        else
          ++count;
      }
      doubled.push_back(count);
    }
    std::mt19937_64 random(1);
    auto chip = simulator_->ProgramWithDeviceFlips(info.code, flips, random);
    for (size_t a = 0; a < cells.size(); ++a) {
      if (info.detects_double_errors) {
        EXPECT_EQ(chip->uncorrectable_words[a], doubled[a])
            << info.name << " array " << a;
      } else {
        EXPECT_EQ(chip->uncorrectable_words[a], 0u) << info.name;
        if (doubled[a])
          EXPECT_GT(Simulator::Flips(*chip)[a], 0u) << info.name;
      }
    }
  }
}

// Drawn device errors: the decoded cells and flagged words over many
// programmings match the exact rates within 5 binomial standard
// deviations, and the devices flip at the device rate.
TEST_F(EccSimulationTest, DrawnErrorsFollowTheDecodedRates) {
  const double p = 0.02;
  const int programmings = 300;
  for (EccCode code : {EccCode::kHamming74, EccCode::kSecded2216}) {
    Simulator::EccExpectation expected = simulator_->ExpectedEccErrors(p, code);
    double wrong = 0, flagged = 0, devices = 0;
    for (size_t a = 0; a < expected.devices.size(); ++a) {
      wrong += expected.wrong_bits[a] * programmings;
      flagged += expected.uncorrectable_words[a] * programmings;
      devices += expected.devices[a] * programmings;
    }
    uint64_t seen_wrong = 0, seen_flagged = 0, seen_devices = 0;
    for (int t = 0; t < programmings; ++t) {
      std::mt19937_64 random = TrialEngine(3, t);
      auto chip = simulator_->ProgramWithErrors(p, code, random);
      for (size_t a = 0; a < chip->flips.size(); ++a) {
        seen_wrong += chip->flips[a];
        seen_flagged += chip->uncorrectable_words[a];
        seen_devices += chip->device_flips[a];
      }
    }
    const char *name = InfoOf(code).name;
    // Wrong bits come several to a word: a loose bound of 5 sigma of a
    // count of words, each wrong word at most 3 bits.
    EXPECT_NEAR(seen_wrong, wrong, 5 * 3 * std::sqrt(wrong)) << name;
    EXPECT_NEAR(seen_flagged, flagged, 5 * std::sqrt(flagged) + 1) << name;
    EXPECT_NEAR(seen_devices, devices * p, 5 * std::sqrt(devices * p)) << name;
    EXPECT_GT(seen_wrong, 0u) << name;
  }
}

TEST_F(EccSimulationTest, ReportsDoNotDependOnTheThreadCount) {
  absl::StatusOr<Simulation> one =
      Simulate(*simulator_, data_, WithEcc(EccCode::kSecded138, 0.02, 1));
  absl::StatusOr<Simulation> two =
      Simulate(*simulator_, data_, WithEcc(EccCode::kSecded138, 0.02, 2));
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(one->report.SerializeAsString(), two->report.SerializeAsString());
  const EccSummary &ecc = one->report.ecc();
  EXPECT_EQ(ecc.code(), "secded-13-8");
  EXPECT_GT(ecc.raw_ber().observed(), 0.01);
  EXPECT_GT(ecc.uncorrectable_words(), 0u);
  EXPECT_LT(one->report.ber().observed(), ecc.raw_ber().observed());
  EXPECT_GT(ecc.cost().decoder_energy_pj(), 0);
  EXPECT_GT(ecc.cost().decoders_mm2(), 0);

  SweepOptions sweep;
  sweep.cycles = {1, 1e6};
  sweep.trials = 4;
  sweep.cells = {{CELL_2T2R, std::nullopt},
                 {CELL_1T1R, std::nullopt},
                 {CELL_1T1R, EccCode::kHamming74}};
  sweep.equal_devices = true;
  absl::StatusOr<SweepReport> sweep_one = Sweep(*simulator_, data_, sweep);
  sweep.threads = 2;
  absl::StatusOr<SweepReport> sweep_two = Sweep(*simulator_, data_, sweep);
  ASSERT_TRUE(sweep_one.ok()) << sweep_one.status();
  ASSERT_TRUE(sweep_two.ok()) << sweep_two.status();
  EXPECT_EQ(sweep_one->SerializeAsString(), sweep_two->SerializeAsString());
  ASSERT_EQ(sweep_one->points_size(), 6);
  EXPECT_EQ(sweep_one->points(4).setting(), "1T1R+hamming-7-4");
  EXPECT_EQ(sweep_one->points(0).devices_per_bit(), 2);
  EXPECT_EQ(sweep_one->points(2).devices_per_bit(), 1);
  EXPECT_EQ(sweep_one->device_budget(), 2 * (8 + 2) * 60 * 4u);
}

// A sweep point of a code equals the single run with that code.
TEST_F(EccSimulationTest, SweepPointsEqualSingleRuns) {
  SweepOptions sweep;
  sweep.cycles = {1e6};
  sweep.trials = 5;
  sweep.cells = {{CELL_1T1R, EccCode::kSecded2216}};
  absl::StatusOr<SweepReport> swept = Sweep(*simulator_, data_, sweep);
  TrialOptions single;
  single.cycles = 1e6;
  single.trials = 5;
  single.cell = CELL_1T1R;
  single.ecc = EccCode::kSecded2216;
  absl::StatusOr<Simulation> run = Simulate(*simulator_, data_, single);
  ASSERT_TRUE(swept.ok() && run.ok());
  const SweepPoint &point = swept->points(0);
  EXPECT_EQ(point.ber().SerializeAsString(),
            run->report.ber().SerializeAsString());
  EXPECT_EQ(point.ecc().raw_ber().SerializeAsString(),
            run->report.ecc().raw_ber().SerializeAsString());
  EXPECT_EQ(point.ecc().uncorrectable_words(),
            run->report.ecc().uncorrectable_words());
  EXPECT_EQ(point.accuracy().SerializeAsString(),
            run->report.accuracy_trials().SerializeAsString());
}

TEST_F(EccSimulationTest, MergedPartsEqualTheSingleRun) {
  TrialOptions options = WithEcc(EccCode::kHamming74, 0.03);
  absl::StatusOr<Simulation> whole = Simulate(*simulator_, data_, options);
  ASSERT_TRUE(whole.ok());
  for (bool samples : {false, true}) {
    std::vector<PartReport> parts;
    std::vector<std::string> names;
    for (uint32_t k = 0; k < 3; ++k) {
      absl::StatusOr<PartReport> part =
          SimulatePart(*simulator_, data_, options, {k, 3, samples});
      ASSERT_TRUE(part.ok()) << part.status();
      parts.push_back(*part);
      names.push_back(absl::StrCat("part-", k, ".json"));
    }
    absl::StatusOr<MergedReport> merged = MergeParts(parts, names);
    ASSERT_TRUE(merged.ok()) << merged.status();
    EXPECT_EQ(merged->simulation->SerializeAsString(),
              whole->report.SerializeAsString());
  }
}

TEST_F(EccSimulationTest, BadOptionsAreOneLine) {
  auto error = [&](const TrialOptions &options) {
    absl::StatusOr<Simulation> run = Simulate(*simulator_, data_, options);
    EXPECT_FALSE(run.ok());
    return std::string(run.status().message());
  };
  TrialOptions no_errors;
  no_errors.ecc = EccCode::kHamming74;
  no_errors.cell = CELL_1T1R;
  EXPECT_THAT(error(no_errors), HasSubstr("--ecc stores code words that the "
                                          "errors flip: give --cycles or "
                                          "--ber"));
  TrialOptions two_t = WithEcc(EccCode::kHamming74, 0.01);
  two_t.cell = CELL_2T2R;
  EXPECT_THAT(error(two_t), HasSubstr("--ecc stores code words in 1T1R "
                                      "devices, the cells here are 2T2R: "
                                      "give --cell=1T1R"));
  // The chip's own cell (2T2R) without --cell is refused too.
  two_t.cell = CELL_TYPE_UNSPECIFIED;
  two_t.names = OptionNames::kKeywords;
  EXPECT_THAT(error(two_t), HasSubstr("ecc stores code words in 1T1R "
                                      "devices, the cells here are 2T2R: "
                                      "give cell=1T1R"));

  EXPECT_EQ(
      ParseEccOption("hamming-8-4", OptionNames::kFlags).status().message(),
      "--ecc: unknown code 'hamming-8-4'; known codes: hamming-7-4, "
      "secded-13-8, secded-22-16, secded-39-32, secded-72-64");
  EXPECT_THAT(
      ParseCellSetting("3T3R", OptionNames::kFlags).status().message(),
      HasSubstr("--sweep-cells: unknown setting '3T3R'; give 2T2R, 1T1R or "
                "1T1R+CODE"));
  EXPECT_THAT(
      ParseCellSetting("1T1R+bch", OptionNames::kKeywords).status().message(),
      HasSubstr("cells: unknown code 'bch' in '1T1R+bch'; known "
                "codes: hamming-7-4"));
  EXPECT_THAT(ParseCellSetting("2T2R+hamming-7-4", OptionNames::kFlags)
                  .status()
                  .message(),
              HasSubstr("code words are stored in 1T1R devices, give "
                        "1T1R+hamming-7-4"));
  absl::StatusOr<CellSetting> setting =
      ParseCellSetting("1T1R+secded-72-64", OptionNames::kFlags);
  ASSERT_TRUE(setting.ok());
  EXPECT_EQ(SettingName(*setting), "1T1R+secded-72-64");

  auto sweep_error = [&](const SweepOptions &options) {
    absl::StatusOr<SweepReport> sweep = Sweep(*simulator_, data_, options);
    EXPECT_FALSE(sweep.ok());
    return std::string(sweep.status().message());
  };
  SweepOptions sweep;
  sweep.ber = {0.01};
  sweep.cells = {{CELL_2T2R, std::nullopt}};
  EXPECT_THAT(sweep_error(sweep),
              HasSubstr("--sweep-cells compares cells at cycle counts: sweep "
                        "--sweep-cycles"));
  sweep.ber.clear();
  sweep.cycles = {1};
  sweep.cells.push_back({CELL_2T2R, std::nullopt});
  EXPECT_THAT(sweep_error(sweep), HasSubstr("--sweep-cells: 2T2R is given "
                                            "twice"));
  sweep.cells.pop_back();
  sweep.cell = CELL_1T1R;
  EXPECT_THAT(sweep_error(sweep), HasSubstr("--sweep-cells names the cells: "
                                            "drop --cell"));
  SweepOptions equal;
  equal.cycles = {1};
  equal.equal_devices = true;
  EXPECT_THAT(sweep_error(equal), HasSubstr("--equal-devices compares the "
                                            "settings of --sweep-cells"));
}

// Arrays of 3 read cells: SECDED(72,64) stores them in 3 + 8 devices, more
// than 2T2R's 6, and --equal-devices refuses it; Hamming(7,4) (3 + 3) fits.
TEST(EccEqualDevicesTest, SettingsBeyondTheBudgetAreRefused) {
  std::mt19937 random(5);
  DenseProgram dense(1, 2, 3, 1, 3, random);
  absl::StatusOr<std::unique_ptr<Simulator>> simulator =
      Simulator::Create(dense.program());
  ASSERT_TRUE(simulator.ok()) << simulator.status();
  Dataset data;
  data.inputs.push_back({{1, 3}, {0.5f, -1.0f, 2.0f}});
  SweepOptions sweep;
  sweep.cycles = {1e3};
  sweep.trials = 2;
  sweep.equal_devices = true;
  sweep.cells = {{CELL_2T2R, std::nullopt}, {CELL_1T1R, EccCode::kHamming74}};
  absl::StatusOr<SweepReport> fits = Sweep(**simulator, data, sweep);
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(fits->device_budget(), 12u);
  EXPECT_EQ(fits->points(1).devices(), 12u);
  sweep.cells.push_back({CELL_1T1R, EccCode::kSecded7264});
  absl::StatusOr<SweepReport> refused = Sweep(**simulator, data, sweep);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "--equal-devices: 1T1R+secded-72-64 stores the 6 cells read in 22 "
            "devices, more than 2T2R's 12; drop it from --sweep-cells or "
            "compare without --equal-devices");
}

} // namespace
} // namespace hafnia
