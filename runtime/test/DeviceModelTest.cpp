// The device and error model: the analytic BERs of both cells agree with a
// Monte Carlo simulation of the devices themselves, the default parameters
// give the paper's 2T2R/1T1R ratio of about 100, flips are sampled with the
// right statistics and reproducibly, and BER tables parse, interpolate and
// fail with errors that name the file and line.

#include "hafnia/runtime/DeviceModel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include "hafnia/runtime/ChipConfig.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const double kCycles[] = {0, 1e2, 1e4, 1e6, 1e7};

DeviceModel MakeDevice(double log_window, double log_sigma, double sigma_growth,
                       double window_loss) {
  DeviceModel device;
  device.set_log_window(log_window);
  device.set_log_sigma(log_sigma);
  device.set_sigma_growth_per_decade(sigma_growth);
  device.set_window_loss_per_decade(window_loss);
  return device;
}

// The preset defaults of configs/default.textproto.
DeviceModel DefaultDevice() {
  absl::StatusOr<ChipConfig> config = LoadChipConfig("default");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? config->device() : DeviceModel();
}

TEST(DeviceModel, StateFollowsTheCyclingLaws) {
  DeviceModel device = MakeDevice(2.0, 0.5, 0.1, 0.05);
  DeviceState fresh = DeviceStateAfter(device, 0);
  EXPECT_DOUBLE_EQ(fresh.window, 2.0);
  EXPECT_DOUBLE_EQ(fresh.sigma, 0.5);
  // 999 cycles are 3 decades.
  DeviceState cycled = DeviceStateAfter(device, 999);
  EXPECT_NEAR(cycled.window, 2.0 * (1 - 0.05 * 3), 1e-12);
  EXPECT_NEAR(cycled.sigma, 0.5 * (1 + 0.1 * 3), 1e-12);
  // Negative cycles are a fresh device.
  EXPECT_DOUBLE_EQ(DeviceStateAfter(device, -5).window, 2.0);
}

TEST(DeviceModel, ClosedWindowIsACoinFlip) {
  // 1 - 0.5 * 3 < 0: the window closes after 999 cycles.
  DeviceModel device = MakeDevice(2.0, 0.5, 0.1, 0.5);
  EXPECT_EQ(DeviceStateAfter(device, 999).window, 0);
  EXPECT_EQ(BitErrorRate(device, CELL_1T1R, 999), 0.5);
  EXPECT_EQ(BitErrorRate(device, CELL_2T2R, 999), 0.5);
}

TEST(DeviceModel, BerTailIsAccurate) {
  // Phi(-x) for x = window / (2 sigma) = 10: 7.6198530241605e-24, far below
  // what 1 - Phi(x) could resolve.
  DeviceModel device = MakeDevice(10.0, 0.5, 0, 0);
  EXPECT_NEAR(BitErrorRate(device, CELL_1T1R, 0) / 7.6198530241605e-24, 1,
              1e-9);
}

// Simulates the devices: log-normal LRS and HRS resistances with the
// DeviceState's median ratio exp(window) and spread sigma, programmed
// alternately to +1 and -1 as in the paper's Fig. 4 experiment. 1T1R reads
// device BL against a reference at the geometric middle of the window; 2T2R
// reads +1 when R(BL) < R(BLb). Both reads use the same devices.
struct MonteCarloErrors {
  int64_t reads = 0;
  int64_t errors_1t1r = 0;
  int64_t errors_2t2r = 0;
};

MonteCarloErrors SimulateDevices(const DeviceState &state, int64_t reads,
                                 uint64_t seed) {
  constexpr double kLrsOhms = 5e3;
  const double hrs_ohms = kLrsOhms * std::exp(state.window);
  const double reference_ohms = kLrsOhms * std::exp(state.window / 2);
  std::mt19937_64 random(seed);
  std::lognormal_distribution<double> spread(0.0, state.sigma);
  MonteCarloErrors result;
  result.reads = reads;
  for (int64_t i = 0; i < reads; ++i) {
    bool plus = i % 2 == 0; // +1 is BL in LRS, BLb in HRS
    double bl = (plus ? kLrsOhms : hrs_ohms) * spread(random);
    double blb = (plus ? hrs_ohms : kLrsOhms) * spread(random);
    bool read_1t1r = bl < reference_ohms;
    bool read_2t2r = bl < blb;
    result.errors_1t1r += read_1t1r != plus;
    result.errors_2t2r += read_2t2r != plus;
  }
  return result;
}

// Checks `errors` out of `reads` against rate p within 5 binomial standard
// deviations.
void ExpectBinomial(int64_t errors, int64_t reads, double p,
                    const std::string &what) {
  double mean = reads * p;
  double sd = std::sqrt(reads * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(errors), mean, 5 * sd)
      << what << ": " << errors << " errors in " << reads << " reads, expected "
      << mean << " (BER " << p << ")";
}

// The default device: 1T1R BERs of 6e-4..3e-3 are measured to a few percent;
// 2T2R BERs of 2e-6..5e-5 give only a handful to a hundred errors.
TEST(DeviceModel, AnalyticBerMatchesDeviceSimulation) {
  DeviceModel device = DefaultDevice();
  uint64_t seed = 1;
  for (double cycles : kCycles) {
    MonteCarloErrors mc =
        SimulateDevices(DeviceStateAfter(device, cycles), 2000000, seed++);
    std::string what = "default device, " + std::to_string(cycles) + " cycles";
    ExpectBinomial(mc.errors_1t1r, mc.reads,
                   BitErrorRate(device, CELL_1T1R, cycles), what + ", 1T1R");
    ExpectBinomial(mc.errors_2t2r, mc.reads,
                   BitErrorRate(device, CELL_2T2R, cycles), what + ", 2T2R");
  }
}

// A noisier device where the 2T2R BER (1.5%..4%) is measured as precisely as
// the 1T1R one: both rates come out of one device model.
TEST(DeviceModel, AnalyticBerMatchesDeviceSimulationForNoisyDevices) {
  DeviceModel device = MakeDevice(2.3, 0.8, 0.05, 0.03);
  uint64_t seed = 100;
  for (double cycles : kCycles) {
    MonteCarloErrors mc =
        SimulateDevices(DeviceStateAfter(device, cycles), 1000000, seed++);
    std::string what = "noisy device, " + std::to_string(cycles) + " cycles";
    double ber_1t1r = BitErrorRate(device, CELL_1T1R, cycles);
    double ber_2t2r = BitErrorRate(device, CELL_2T2R, cycles);
    EXPECT_GT(ber_2t2r, 0.01) << what;
    ExpectBinomial(mc.errors_1t1r, mc.reads, ber_1t1r, what + ", 1T1R");
    ExpectBinomial(mc.errors_2t2r, mc.reads, ber_2t2r, what + ", 2T2R");
  }
}

// The paper's Fig. 4: 2T2R errs about 100 times less than 1T1R over 1e2..1e7
// cycles, and both rates rise with cycling.
TEST(DeviceModel, DefaultRatioIsAboutOneHundred) {
  DeviceModel device = DefaultDevice();
  for (double cycles : {1e2, 1e4, 1e6}) {
    double ratio = BitErrorRate(device, CELL_1T1R, cycles) /
                   BitErrorRate(device, CELL_2T2R, cycles);
    EXPECT_GT(ratio, 50) << cycles << " cycles";
    EXPECT_LT(ratio, 200) << cycles << " cycles";
  }
  for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
    double previous = 0;
    for (double cycles : kCycles) {
      double ber = BitErrorRate(device, cell, cycles);
      EXPECT_GT(ber, previous) << CellType_Name(cell) << ", " << cycles;
      previous = ber;
    }
  }
}

TEST(DeviceModel, PaperTestchipHasTheDefaultDevice) {
  absl::StatusOr<ChipConfig> paper = LoadChipConfig("paper-testchip");
  ASSERT_TRUE(paper.ok()) << paper.status();
  EXPECT_EQ(paper->device().SerializeAsString(),
            DefaultDevice().SerializeAsString());
}

void ExpectValidFlips(const std::vector<int64_t> &flips, int64_t count) {
  for (size_t i = 0; i < flips.size(); ++i) {
    ASSERT_GE(flips[i], 0);
    ASSERT_LT(flips[i], count);
    if (i > 0)
      ASSERT_LT(flips[i - 1], flips[i]) << "at " << i;
  }
}

TEST(SampleFlips, CountsFollowTheBinomial) {
  constexpr int64_t kCount = 10000000;
  std::mt19937_64 random(7);
  for (double p : {1e-5, 1e-3, 1e-1}) {
    std::vector<int64_t> flips = SampleFlips(kCount, p, random);
    double sd = std::sqrt(kCount * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(flips.size()), kCount * p, 5 * sd)
        << "p = " << p;
    ExpectValidFlips(flips, kCount);
    // Uniform over the bits: half of them in the first half.
    int64_t first_half =
        std::lower_bound(flips.begin(), flips.end(), kCount / 2) -
        flips.begin();
    double half = flips.size() / 2.0;
    EXPECT_NEAR(static_cast<double>(first_half), half,
                5 * std::sqrt(half / 2) + 1)
        << "p = " << p;
  }
}

TEST(SampleFlips, SmallCountsAreUnbiased) {
  // Every bit of a short vector flips with p, the last one included.
  constexpr int64_t kCount = 10, kRuns = 200000;
  constexpr double kP = 0.3;
  std::mt19937_64 random(11);
  int64_t hits[kCount] = {};
  for (int64_t run = 0; run < kRuns; ++run) {
    std::vector<int64_t> flips = SampleFlips(kCount, kP, random);
    ExpectValidFlips(flips, kCount);
    for (int64_t position : flips)
      ++hits[position];
  }
  double sd = std::sqrt(kRuns * kP * (1 - kP));
  for (int64_t i = 0; i < kCount; ++i)
    EXPECT_NEAR(static_cast<double>(hits[i]), kRuns * kP, 5 * sd)
        << "bit " << i;
}

TEST(SampleFlips, EdgeProbabilities) {
  std::mt19937_64 random(3);
  EXPECT_TRUE(SampleFlips(1000, 0, random).empty());
  EXPECT_TRUE(SampleFlips(1000, -0.5, random).empty());
  EXPECT_TRUE(SampleFlips(1000, std::nan(""), random).empty());
  EXPECT_TRUE(SampleFlips(0, 0.5, random).empty());
  EXPECT_TRUE(SampleFlips(-4, 0.5, random).empty());
  std::vector<int64_t> all = SampleFlips(1000, 1, random);
  ASSERT_EQ(all.size(), 1000u);
  for (int64_t i = 0; i < 1000; ++i)
    EXPECT_EQ(all[i], i);
  EXPECT_EQ(SampleFlips(5, 2.0, random).size(), 5u);
  // A p just below 1 still flips (nearly) everything, in range.
  std::vector<int64_t> almost = SampleFlips(1000, 1 - 1e-12, random);
  ExpectValidFlips(almost, 1000);
  EXPECT_GE(almost.size(), 999u);
}

TEST(SampleFlips, IsDeterministic) {
  std::mt19937_64 a(42), b(42);
  std::vector<int64_t> first = SampleFlips(1000000, 1e-3, a);
  EXPECT_EQ(first, SampleFlips(1000000, 1e-3, b));
  // The engines advance alike, so the next draws agree too.
  EXPECT_EQ(SampleFlips(1000000, 1e-3, a), SampleFlips(1000000, 1e-3, b));
  std::mt19937_64 c(43);
  EXPECT_NE(first, SampleFlips(1000000, 1e-3, c));
}

TEST(SampleFlips, TrialEnginesDifferAndReproduce) {
  std::set<uint64_t> firsts;
  for (uint64_t trial = 0; trial < 1000; ++trial) {
    std::mt19937_64 engine = TrialEngine(2020, trial);
    uint64_t first = engine();
    firsts.insert(first);
    // Any order of construction gives the same stream.
    EXPECT_EQ(TrialEngine(2020, trial)(), first);
  }
  EXPECT_EQ(firsts.size(), 1000u);
  EXPECT_NE(TrialEngine(1, 0)(), TrialEngine(0, 1)());
  EXPECT_NE(TrialEngine(1, 0)(), TrialEngine(2, 0)());
  // The high halves of seed and trial count.
  EXPECT_NE(TrialEngine(1ull << 32, 0)(), TrialEngine(0, 0)());
  EXPECT_NE(TrialEngine(0, 1ull << 32)(), TrialEngine(0, 0)());
  // Whole streams, not just first outputs, are reproduced.
  std::mt19937_64 x = TrialEngine(9, 3), y = TrialEngine(9, 3);
  EXPECT_EQ(SampleFlips(100000, 0.01, x), SampleFlips(100000, 0.01, y));
}

// Rows at 1 and 3 decades (9 and 999 cycles) and at 7 decades.
constexpr const char *kBothCells = "cycles,1T1R,2T2R\n"
                                   "9,1e-4,1e-6\n"
                                   "999,1e-2,1e-4\n"
                                   "9999999,0.1,0\n";

absl::StatusOr<BerTable> ParseTable(absl::string_view text) {
  return BerTable::Parse(text, "ber.csv");
}

double LookupOrDie(const BerTable &table, CellType cell, double cycles) {
  absl::StatusOr<double> ber = table.Lookup(cell, cycles);
  EXPECT_TRUE(ber.ok()) << ber.status();
  return ber.ok() ? *ber : std::nan("");
}

TEST(BerTable, PerCellTableInterpolatesInLogLog) {
  absl::StatusOr<BerTable> table = ParseTable(kBothCells);
  ASSERT_TRUE(table.ok()) << table.status();
  // At the points.
  EXPECT_DOUBLE_EQ(LookupOrDie(*table, CELL_1T1R, 9), 1e-4);
  EXPECT_DOUBLE_EQ(LookupOrDie(*table, CELL_1T1R, 999), 1e-2);
  EXPECT_DOUBLE_EQ(LookupOrDie(*table, CELL_2T2R, 999), 1e-4);
  // Between them: 2 decades is halfway in log10(BER).
  EXPECT_NEAR(LookupOrDie(*table, CELL_1T1R, 99), 1e-3, 1e-15);
  EXPECT_NEAR(LookupOrDie(*table, CELL_2T2R, 99), 1e-5, 1e-17);
  // Mid-decade: 10^2.5 - 1 cycles is 3/4 of the way, 10^-2.5.
  double mid = std::pow(10.0, 2.5) - 1;
  EXPECT_NEAR(LookupOrDie(*table, CELL_1T1R, mid) / std::pow(10.0, -2.5), 1,
              1e-12);
  // A BER of 0 interpolates linearly: halfway between 3 and 7 decades.
  EXPECT_NEAR(LookupOrDie(*table, CELL_2T2R, 99999), 0.5e-4, 1e-15);
  // Clamped outside the range.
  EXPECT_DOUBLE_EQ(LookupOrDie(*table, CELL_1T1R, 0), 1e-4);
  EXPECT_DOUBLE_EQ(LookupOrDie(*table, CELL_1T1R, 1e12), 0.1);
  EXPECT_DOUBLE_EQ(LookupOrDie(*table, CELL_2T2R, 1e12), 0);
}

TEST(BerTable, SingleColumnServesBothCells) {
  absl::StatusOr<BerTable> table = ParseTable("cycles,ber\n0,0.001\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_DOUBLE_EQ(LookupOrDie(*table, CELL_1T1R, 0), 0.001);
  EXPECT_DOUBLE_EQ(LookupOrDie(*table, CELL_2T2R, 1e9), 0.001);
}

TEST(BerTable, HeaderIsCaseInsensitiveInAnyOrder) {
  absl::StatusOr<BerTable> table = ParseTable("# Fig. 4, read off the plot\r\n"
                                              " 2t2r , Cycles , 1T1r \r\n"
                                              "\r\n"
                                              "1e-6, 9, 1e-4\r\n"
                                              "1e-4, 999, 1e-2\r\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_NEAR(LookupOrDie(*table, CELL_1T1R, 99), 1e-3, 1e-15);
  EXPECT_NEAR(LookupOrDie(*table, CELL_2T2R, 99), 1e-5, 1e-17);
  absl::StatusOr<BerTable> upper = ParseTable("BER,CYCLES\n0.01,10\n");
  ASSERT_TRUE(upper.ok()) << upper.status();
  EXPECT_DOUBLE_EQ(LookupOrDie(*upper, CELL_2T2R, 10), 0.01);
}

TEST(BerTable, LookupErrors) {
  absl::StatusOr<BerTable> only_2t2r =
      ParseTable("cycles,2T2R\n10,1e-5\n100,1e-4\n");
  ASSERT_TRUE(only_2t2r.ok()) << only_2t2r.status();
  EXPECT_DOUBLE_EQ(LookupOrDie(*only_2t2r, CELL_2T2R, 10), 1e-5);
  absl::StatusOr<double> missing = only_2t2r->Lookup(CELL_1T1R, 10);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(),
              AllOf(HasSubstr("ber.csv"), HasSubstr("no column for 1T1R")));
  EXPECT_THAT(only_2t2r->Lookup(CELL_TYPE_UNSPECIFIED, 10).status().message(),
              HasSubstr("ber.csv"));
  EXPECT_THAT(only_2t2r->Lookup(CELL_2T2R, -1).status().message(),
              AllOf(HasSubstr("ber.csv"), HasSubstr(">= 0")));
  EXPECT_FALSE(only_2t2r->Lookup(CELL_2T2R, std::nan("")).ok());
}

TEST(BerTable, ParseErrorsNameFileAndLine) {
  struct Case {
    const char *text;
    const char *where;
    const char *message;
  };
  const Case cases[] = {
      {"", "ber.csv: empty", "cycles,ber"},
      {"# only a comment\n\n", "ber.csv: empty", "cycles,ber"},
      {"cycles,ber\n", "ber.csv:1:", "no rows"},
      {"cycles,ber,temperature\n",
       "ber.csv:1:", "unknown column 'temperature'"},
      {"ber,1T1R\n", "ber.csv:1:", "no 'cycles' column"},
      {"cycles\n", "ber.csv:1:", "no BER column"},
      {"cycles,ber,2T2R\n", "ber.csv:1:", "mixes 'ber'"},
      {"cycles,CYCLES,ber\n", "ber.csv:1:", "appears twice"},
      {"cycles,ber\n1,0.1\n2\n", "ber.csv:3:", "expected 2 values"},
      {"cycles,ber\n1,0.1,0.2\n", "ber.csv:2:", "found 3"},
      {"cycles,ber\n1,abc\n", "ber.csv:2:", "'abc') is not a finite number"},
      {"cycles,ber\n1,\n", "ber.csv:2:", "not a finite number"},
      {"cycles,ber\nnan,0.1\n", "ber.csv:2:", "not a finite number"},
      {"cycles,ber\ninf,0.1\n", "ber.csv:2:", "not a finite number"},
      {"cycles,ber\n-1,0.1\n", "ber.csv:2:", "negative"},
      {"cycles,ber\n10,0.1\n10,0.2\n", "ber.csv:3:", "strictly increasing"},
      {"cycles,ber\n\n10,0.1\n5,0.2\n", "ber.csv:4:", "previous row's 10"},
      {"cycles,ber\n1,0.6\n", "ber.csv:2:", "outside [0, 0.5]"},
      {"cycles,1T1R,2T2R\n1,0.1,-1e-3\n", "ber.csv:2:", "-1e-3"},
  };
  for (const Case &c : cases) {
    absl::StatusOr<BerTable> table = ParseTable(c.text);
    ASSERT_FALSE(table.ok()) << "accepted: " << c.text;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(table.status().message(),
                AllOf(HasSubstr(c.where), HasSubstr(c.message)))
        << "for: " << c.text;
  }
}

TEST(BerTable, LoadReadsAFile) {
  std::string path = ::testing::TempDir() + "hafnia-ber-table.csv";
  {
    std::ofstream file(path);
    file << kBothCells;
  }
  absl::StatusOr<BerTable> table = BerTable::Load(path);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_NEAR(LookupOrDie(*table, CELL_1T1R, 99), 1e-3, 1e-15);
  std::remove(path.c_str());
  absl::StatusOr<BerTable> missing = BerTable::Load(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(path));
}

} // namespace
} // namespace hafnia
