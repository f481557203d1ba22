// The simulation engine without the compiler: error-free runs equal the
// simulator's, reports do not depend on the thread count, trial k is the
// same trial whatever the trial count, observed bit errors follow the rate,
// sweep points equal single runs at the same setting, and bad options fail
// with one line naming the option as the caller spells it.

#include "hafnia/runtime/Trials.h"

#include <cmath>
#include <limits>
#include <random>

#include "DenseProgram.h"
#include "absl/strings/str_cat.h"
#include "hafnia/runtime/TensorIO.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSamples = 60;

class TrialsTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(7);
    // Batches of 4 samples, a 10-class layer over 200 inputs on 8x64 arrays.
    DenseProgram dense(4, 10, 200, 8, 64, random);
    absl::StatusOr<std::unique_ptr<Simulator>> simulator =
        Simulator::Create(dense.program());
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    simulator_ = *std::move(simulator);
    std::normal_distribution<float> normal;
    Tensor x;
    x.shape = {kSamples, 200};
    for (int64_t i = 0; i < kSamples * 200; ++i)
      x.data.push_back(normal(random));
    data_.inputs.push_back(x);
    reference_ = dense.Reference(x.data, kSamples);
    std::vector<int64_t> labels = Predict({{kSamples, 10}, reference_});
    // A few wrong labels, so accuracy is not trivially 1.
    for (int64_t s = 0; s < kSamples; s += 7)
      labels[s] = (labels[s] + 1) % 10;
    data_.labels = labels;
  }

  TrialOptions WithBer(double ber, int threads = 1) const {
    TrialOptions options;
    options.ber = ber;
    options.trials = 6;
    options.threads = threads;
    return options;
  }

  std::unique_ptr<Simulator> simulator_;
  Dataset data_;
  std::vector<float> reference_;
};

TEST_F(TrialsTest, ErrorFreeRunEqualsTheReference) {
  absl::StatusOr<Simulation> run = Simulate(*simulator_, data_, TrialOptions());
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->outputs.size(), 1u);
  EXPECT_EQ(run->outputs[0].shape, (std::vector<int64_t>{kSamples, 10}));
  EXPECT_EQ(run->outputs[0].data, reference_);
  const SimulationReport &report = run->report;
  EXPECT_EQ(report.samples(), kSamples);
  // 9 of 60 labels were changed: samples 0, 7, ..., 56.
  EXPECT_DOUBLE_EQ(report.accuracy(), 51.0 / 60);
  EXPECT_EQ(report.correct(), 51u);
  EXPECT_EQ(report.trials(), 0u);
  // 2 row tiles x 4 column tiles, each programmed once.
  EXPECT_EQ(report.stats().programming_cycles(), 8u);
  EXPECT_GT(report.stats().row_reads(), 0u);
}

// The data set read and run a few samples at a time (batches of 4, chunks
// of 1 to 3 batches, the last one short), from memory or from a .npy file,
// gives the report and the outputs of one chunk; so do sweeps and parts.
TEST_F(TrialsTest, ReportsDoNotDependOnTheChunkSize) {
  std::string path = ::testing::TempDir() + "/chunks-x.npy";
  ASSERT_TRUE(WriteNpy(path, data_.inputs[0]).ok());
  Dataset streamed = data_;
  streamed.inputs.clear();
  streamed.readers.push_back(*OpenTensor(path));
  TrialOptions one = WithBer(0.05);
  absl::StatusOr<Simulation> whole = Simulate(*simulator_, data_, one);
  ASSERT_TRUE(whole.ok()) << whole.status();
  SweepOptions sweep;
  sweep.cycles = {1e3, 1e7};
  sweep.trials = 3;
  absl::StatusOr<SweepReport> whole_sweep = Sweep(*simulator_, data_, sweep);
  ASSERT_TRUE(whole_sweep.ok()) << whole_sweep.status();
  for (int64_t chunk : {1, 4, 8, 12, 1000})
    for (const Dataset *data : {&data_, &streamed}) {
      TrialOptions small = one;
      small.chunk_samples = chunk;
      small.threads = chunk % 8 == 0 ? 3 : 1;
      absl::StatusOr<Simulation> run = Simulate(*simulator_, *data, small);
      ASSERT_TRUE(run.ok()) << run.status();
      EXPECT_EQ(run->report.SerializeAsString(),
                whole->report.SerializeAsString())
          << "chunks of " << chunk;
      EXPECT_EQ(run->outputs[0].shape, whole->outputs[0].shape);
      EXPECT_EQ(run->outputs[0].data, whole->outputs[0].data);
      SweepOptions small_sweep = sweep;
      small_sweep.chunk_samples = chunk;
      absl::StatusOr<SweepReport> swept =
          Sweep(*simulator_, *data, small_sweep);
      ASSERT_TRUE(swept.ok()) << swept.status();
      EXPECT_EQ(swept->SerializeAsString(), whole_sweep->SerializeAsString())
          << "chunks of " << chunk;
    }
  TrialOptions bad = one;
  bad.chunk_samples = 0;
  EXPECT_EQ(Simulate(*simulator_, data_, bad).status().message(),
            "--chunk-samples must be at least 1");
}

TEST_F(TrialsTest, ReportsDoNotDependOnTheThreadCount) {
  absl::StatusOr<Simulation> one = Simulate(*simulator_, data_, WithBer(0.05));
  absl::StatusOr<Simulation> three =
      Simulate(*simulator_, data_, WithBer(0.05, 3));
  ASSERT_TRUE(one.ok() && three.ok());
  EXPECT_EQ(one->report.SerializeAsString(), three->report.SerializeAsString());
  EXPECT_EQ(one->outputs[0].data, three->outputs[0].data);
}

TEST_F(TrialsTest, TrialsDependOnlyOnSeedAndIndex) {
  TrialOptions six = WithBer(0.05), three = WithBer(0.05);
  three.trials = 3;
  absl::StatusOr<Simulation> a = Simulate(*simulator_, data_, six);
  absl::StatusOr<Simulation> b = Simulate(*simulator_, data_, three);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int t = 0; t < 3; ++t)
    EXPECT_EQ(a->report.agreement_with_ideal().trials(t),
              b->report.agreement_with_ideal().trials(t));
  EXPECT_EQ(a->outputs[0].data, b->outputs[0].data);
  // Another seed gives other trials.
  three.seed = 2;
  absl::StatusOr<Simulation> c = Simulate(*simulator_, data_, three);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->report.ber().observed(), b->report.ber().observed());
}

TEST_F(TrialsTest, ObservedErrorsFollowTheRate) {
  absl::StatusOr<Simulation> run = Simulate(*simulator_, data_, WithBer(0.1));
  ASSERT_TRUE(run.ok());
  const SimulationReport &report = run->report;
  EXPECT_EQ(report.ber_source(), "--ber");
  EXPECT_EQ(report.array_flips_size(), 8);
  uint64_t cells = 0, flips = 0;
  for (const FlipCount &array : report.array_flips()) {
    cells += array.cells();
    flips += array.observed();
    EXPECT_DOUBLE_EQ(array.expected(), 0.1 * array.cells() * 6);
  }
  // 10 used rows x 256 columns, 6 trials: 15,360 reads, sd of the count 37.
  EXPECT_EQ(cells, 10u * 256);
  EXPECT_NEAR(report.ber().observed(), 0.1, 0.01);
  EXPECT_DOUBLE_EQ(report.ber().observed(),
                   static_cast<double>(flips) / (cells * 6));
  ASSERT_EQ(report.layer_flips_size(), 1);
  EXPECT_EQ(report.layer_flips(0).observed(), flips);
  EXPECT_LT(report.agreement_with_ideal().mean(), 1.0);
  EXPECT_EQ(report.accuracy_trials().trials_size(), 6);

  absl::StatusOr<Simulation> clean = Simulate(*simulator_, data_, WithBer(0));
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ(clean->report.ber().observed(), 0);
  EXPECT_EQ(clean->report.agreement_with_ideal().min(), 1.0);
  EXPECT_EQ(clean->outputs[0].data, reference_);
}

TEST_F(TrialsTest, SweepPointsEqualSingleRuns) {
  SweepOptions sweep;
  sweep.cycles = {0, 1e5, 1e7};
  sweep.trials = 4;
  sweep.threads = 2;
  size_t calls = 0;
  sweep.progress = [&](size_t point, size_t points) {
    EXPECT_EQ(point, ++calls);
    EXPECT_EQ(points, 6u);
  };
  absl::StatusOr<SweepReport> report = Sweep(*simulator_, data_, sweep);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->points_size(), 6);
  EXPECT_EQ(calls, 6u);
  EXPECT_EQ(report->parameter(), "cycles");
  EXPECT_DOUBLE_EQ(report->ideal_accuracy(), 51.0 / 60);
  for (const SweepPoint &point : report->points()) {
    TrialOptions single;
    single.cell = point.cell();
    single.cycles = point.cycles();
    single.trials = 4;
    absl::StatusOr<Simulation> run = Simulate(*simulator_, data_, single);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(point.ber().SerializeAsString(),
              run->report.ber().SerializeAsString());
    EXPECT_EQ(point.agreement_with_ideal().SerializeAsString(),
              run->report.agreement_with_ideal().SerializeAsString());
    EXPECT_EQ(point.accuracy().SerializeAsString(),
              run->report.accuracy_trials().SerializeAsString());
  }
  // 1T1R errs more than 2T2R after as many cycles.
  EXPECT_GT(report->points(2).ber().expected(),
            report->points(5).ber().expected());
}

TEST_F(TrialsTest, BerTablesAreReadAtTheCycles) {
  absl::StatusOr<BerTable> table = BerTable::Parse(
      "cycles,1T1R,2T2R\n0,0.01,0.001\n1000,0.2,0.02\n", "measured.csv");
  ASSERT_TRUE(table.ok()) << table.status();
  TrialOptions options;
  options.ber_table = *table;
  options.cycles = 1000;
  options.cell = CELL_1T1R;
  options.trials = 2;
  absl::StatusOr<Simulation> run = Simulate(*simulator_, data_, options);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->report.ber_source(), "measured.csv");
  EXPECT_EQ(run->report.cell(), CELL_1T1R);
  EXPECT_DOUBLE_EQ(run->report.ber().expected(), 0.2);
}

TEST_F(TrialsTest, BadOptionsAreOneLineNamingTheOption) {
  auto error = [&](TrialOptions options) {
    return std::string(
        Simulate(*simulator_, data_, options).status().message());
  };
  EXPECT_EQ(error(WithBer(1.5)),
            "--ber must be a probability in [0, 1], got '1.5'");
  EXPECT_EQ(error(WithBer(std::nan(""))),
            "--ber must be a probability in [0, 1], got 'nan'");
  TrialOptions options = WithBer(0.1);
  options.names = OptionNames::kKeywords;
  options.cycles = 10;
  EXPECT_EQ(error(options), "ber sets the bit-error rate itself: give it "
                            "without cycles and ber_table");
  options = TrialOptions();
  options.cycles = std::numeric_limits<double>::infinity();
  EXPECT_EQ(error(options),
            "--cycles must be a non-negative number, got 'inf'");
  options = WithBer(0.1);
  options.trials = 0;
  EXPECT_EQ(error(options), "--trials must be at least 1");
  options = TrialOptions();
  options.threads = 0;
  options.names = OptionNames::kKeywords;
  EXPECT_EQ(error(options), "threads must be at least 1");
  options = TrialOptions();
  options.ber_table = *BerTable::Parse("cycles,ber\n0,0.1\n", "t.csv");
  EXPECT_EQ(error(options), "--ber-table is read at a cycle count: give "
                            "--cycles (or --sweep-cycles)");

  Dataset short_labels = data_;
  short_labels.labels->resize(7);
  short_labels.labels_source = "y.npy";
  EXPECT_EQ(
      Simulate(*simulator_, short_labels, TrialOptions()).status().message(),
      "y.npy holds 7 labels for 60 samples");
  Dataset none;
  EXPECT_EQ(Simulate(*simulator_, none, TrialOptions()).status().message(),
            "the program takes 1 input(s), got 0");
  Dataset odd = data_;
  odd.inputs[0].shape = {30, 400};
  odd.sources = {"x.npy"};
  EXPECT_THAT(
      std::string(
          Simulate(*simulator_, odd, TrialOptions()).status().message()),
      HasSubstr("x.npy: input 'x' has shape [30,400]"));

  Dataset empty = data_;
  empty.inputs[0].shape[0] = 0;
  empty.inputs[0].data.clear();
  empty.sources = {"x.npy"};
  EXPECT_EQ(Simulate(*simulator_, empty, TrialOptions()).status().message(),
            "x.npy: input 'x' holds no samples (shape [0,200]): give at "
            "least one");

  Dataset wrong = data_;
  (*wrong.labels)[5] = 10;
  EXPECT_EQ(Simulate(*simulator_, wrong, TrialOptions()).status().message(),
            "labels: label 10 of sample 5 is not one of the program's 10 "
            "classes [0, 10)");

  Dataset nan = data_;
  nan.inputs[0].data[3 * 200 + 7] = std::nanf("");
  nan.sources = {"x.npy"};
  EXPECT_EQ(Simulate(*simulator_, nan, TrialOptions()).status().message(),
            "x.npy: input 'x' holds NaN (sample 3, element 7); give finite "
            "numbers, or --allow-nonfinite-inputs to run them as they are");
  nan.inputs[0].data[3 * 200 + 7] = -std::numeric_limits<float>::infinity();
  options = TrialOptions();
  options.names = OptionNames::kKeywords;
  EXPECT_THAT(
      std::string(Simulate(*simulator_, nan, options).status().message()),
      HasSubstr("holds -inf (sample 3, element 7); give finite "
                "numbers, or allow_nonfinite_inputs"));
  options.allow_nonfinite_inputs = true;
  EXPECT_TRUE(Simulate(*simulator_, nan, options).ok());

  SweepOptions sweep;
  EXPECT_EQ(Sweep(*simulator_, data_, sweep).status().message(),
            "a sweep needs --sweep-cycles or --sweep-ber");
  sweep.ber = {0.1, 2};
  sweep.names = OptionNames::kKeywords;
  EXPECT_EQ(Sweep(*simulator_, data_, sweep).status().message(),
            "ber must be probabilities in [0, 1], got '2'");
  sweep.cycles = {1};
  EXPECT_EQ(Sweep(*simulator_, data_, sweep).status().message(),
            "sweep cycles or ber, not both");
}

// Merged parts equal the single run byte for byte, split by trials or by
// samples into any number of parts, with more parts than work.
TEST_F(TrialsTest, MergedPartsEqualTheSingleRun) {
  SweepOptions sweep;
  sweep.cycles = {1e3, 1e6};
  sweep.trials = 5;
  TrialOptions single = WithBer(0.03);
  absl::StatusOr<SweepReport> whole_sweep = Sweep(*simulator_, data_, sweep);
  absl::StatusOr<Simulation> whole = Simulate(*simulator_, data_, single);
  ASSERT_TRUE(whole_sweep.ok() && whole.ok());
  for (bool samples : {false, true})
    for (uint32_t count : {1u, 2u, 3u, 7u, 40u}) {
      std::vector<PartReport> sweep_parts, parts;
      std::vector<std::string> names;
      // In reverse order: the merge sorts them.
      for (uint32_t k = count; k-- > 0;) {
        Shard shard{k, count, samples};
        absl::StatusOr<PartReport> part =
            SweepPart(*simulator_, data_, sweep, shard);
        ASSERT_TRUE(part.ok()) << part.status();
        sweep_parts.push_back(*part);
        part = SimulatePart(*simulator_, data_, single, shard);
        ASSERT_TRUE(part.ok()) << part.status();
        parts.push_back(*part);
        names.push_back(absl::StrCat("part-", k, ".json"));
      }
      absl::StatusOr<MergedReport> merged = MergeParts(sweep_parts, names);
      ASSERT_TRUE(merged.ok()) << merged.status();
      ASSERT_TRUE(merged->sweep.has_value());
      EXPECT_EQ(merged->sweep->SerializeAsString(),
                whole_sweep->SerializeAsString())
          << count << " parts, samples " << samples;
      merged = MergeParts(parts, names);
      ASSERT_TRUE(merged.ok()) << merged.status();
      EXPECT_EQ(merged->simulation->SerializeAsString(),
                whole->report.SerializeAsString())
          << count << " parts, samples " << samples;
    }
}

TEST_F(TrialsTest, MergeRefusesPartsThatDoNotMakeOneRun) {
  TrialOptions options = WithBer(0.03);
  auto part = [&](uint32_t k, uint32_t n, TrialOptions o) {
    return *SimulatePart(*simulator_, data_, o, Shard{k, n, false});
  };
  std::vector<std::string> names = {"a.json", "b.json", "c.json"};
  EXPECT_EQ(MergeParts({part(0, 3, options), part(2, 3, options)}, names)
                .status()
                .message(),
            "shard 1 of 3 is missing");
  EXPECT_EQ(MergeParts({part(0, 2, options), part(0, 2, options)}, names)
                .status()
                .message(),
            "b.json: shard 0 is given twice (also a.json)");
  TrialOptions other = options;
  other.seed = 99;
  EXPECT_EQ(MergeParts({part(0, 2, options), part(1, 2, other)}, names)
                .status()
                .message(),
            "b.json: a part of a run with other options than a.json");
  EXPECT_EQ(MergeParts({part(0, 2, options), part(1, 3, options)}, names)
                .status()
                .message(),
            "b.json: a part of a run split 3 ways, not 2 as a.json");
  PartReport foreign = part(1, 2, options);
  foreign.set_program_digest("crc32:00000000 size:1");
  EXPECT_THAT(
      std::string(
          MergeParts({part(0, 2, options), foreign}, names).status().message()),
      HasSubstr("b.json: a part of another program"));
  EXPECT_EQ(SimulatePart(*simulator_, data_, options, Shard{3, 3, false})
                .status()
                .message(),
            "--shard must be K/N with 0 <= K < N, got 3/3");
}

} // namespace
} // namespace hafnia
