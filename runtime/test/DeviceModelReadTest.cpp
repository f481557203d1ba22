// The richer device model: for every parameter beyond the symmetric four
// (separate LRS and HRS spreads and growths, the sense amplifier's offset,
// the 1T1R reference's spread, stuck-at-LRS and stuck-at-HRS devices,
// per-array variation) the closed-form read error rates of both cells, by
// stored value, equal a device-level Monte Carlo (draw every device's ln R,
// compare as the read circuit does) within binomial bounds; the symmetric
// model keeps its numbers bit for bit; the chip validator refuses every new
// field out of range with one line naming it.

#include <cmath>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/DeviceModel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

DeviceModel Base(double log_window = 2.3, double log_sigma = 0.6,
                 double sigma_growth = 0.02, double window_loss = 0.01) {
  DeviceModel device;
  device.set_log_window(log_window);
  device.set_log_sigma(log_sigma);
  device.set_sigma_growth_per_decade(sigma_growth);
  device.set_window_loss_per_decade(window_loss);
  return device;
}

// Errors counted per stored value.
struct Counts {
  int64_t reads = 0; // per value
  int64_t plus_errors = 0, minus_errors = 0;
};

// The devices themselves: every read is a cell of its own array (a fresh
// spread multiplier exp(array_sigma_spread * z) per read, so that the counts
// are binomial with the rates averaged over arrays). Each device is stuck in
// the LRS with stuck_lrs_fraction, in the HRS with stuck_hrs_fraction, else
// in the state it is programmed to; its ln R is the state's median (ln 5 kOhm
// for the LRS, a window above for the HRS) plus the array's multiplier times
// the state's spread times a standard normal. 1T1R (+1 = LRS) reads +1 when
// ln R + offset < ln R_ref, the reference's ln R drawn around mid-window;
// 2T2R (+1 = BL in LRS, BLb in HRS) reads +1 when ln R_BL - ln R_BLb +
// offset < 0.
Counts SimulateDevices(const DeviceModel &device, CellType cell, double cycles,
                       int64_t reads, uint64_t seed) {
  DeviceState state = DeviceStateAfter(device, cycles);
  std::mt19937_64 random(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  const double lrs_median = std::log(5e3);
  const double hrs_median = lrs_median + state.window;
  // The state a device programmed to `lrs` is in: true for the LRS.
  auto actual = [&](bool lrs) {
    double u = uniform(random);
    if (u < device.stuck_lrs_fraction())
      return true;
    if (u < device.stuck_lrs_fraction() + device.stuck_hrs_fraction())
      return false;
    return lrs;
  };
  auto log_r = [&](bool lrs, double multiplier) {
    return lrs ? lrs_median + multiplier * state.lrs_sigma * normal(random)
               : hrs_median + multiplier * state.hrs_sigma * normal(random);
  };
  Counts counts;
  counts.reads = reads;
  for (int64_t i = 0; i < 2 * reads; ++i) {
    bool plus = i % 2 == 0;
    double multiplier = std::exp(device.array_sigma_spread() * normal(random));
    double offset = device.sense_offset_sigma() * normal(random);
    bool read_plus;
    if (cell == CELL_1T1R) {
      double reference = lrs_median + state.window / 2 +
                         device.reference_log_sigma() * normal(random);
      read_plus = log_r(actual(plus), multiplier) + offset < reference;
    } else {
      double bl = log_r(actual(plus), multiplier);
      double blb = log_r(actual(!plus), multiplier);
      read_plus = bl - blb + offset < 0;
    }
    if (read_plus != plus)
      ++(plus ? counts.plus_errors : counts.minus_errors);
  }
  return counts;
}

// `errors` of `reads` against rate p within 5 binomial standard deviations
// (and one count, for rates near 0).
void ExpectBinomial(int64_t errors, int64_t reads, double p,
                    const std::string &what) {
  double mean = reads * p;
  double sd = std::sqrt(reads * p * (1 - p));
  EXPECT_NEAR(static_cast<double>(errors), mean, 5 * sd + 1)
      << what << ": " << errors << " errors in " << reads << " reads, expected "
      << mean << " (rate " << p << ")";
}

struct Case {
  std::string name;
  DeviceModel device;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  auto add = [&](std::string name, auto change) {
    DeviceModel device = Base();
    change(device);
    cases.push_back({std::move(name), device});
  };
  // Each parameter on its own, at values where its effect is far beyond the
  // Monte Carlo's noise, then all of them together.
  add("LRS and HRS spreads", [](DeviceModel &d) {
    d.set_lrs_log_sigma(0.35);
    d.set_hrs_log_sigma(0.7);
  });
  add("LRS and HRS growths", [](DeviceModel &d) {
    d.set_lrs_sigma_growth_per_decade(0.01);
    d.set_hrs_sigma_growth_per_decade(0.15);
  });
  add("sense offset", [](DeviceModel &d) { d.set_sense_offset_sigma(0.45); });
  add("reference spread",
      [](DeviceModel &d) { d.set_reference_log_sigma(0.5); });
  add("stuck at LRS", [](DeviceModel &d) { d.set_stuck_lrs_fraction(0.04); });
  add("stuck at HRS", [](DeviceModel &d) { d.set_stuck_hrs_fraction(0.06); });
  // Pairs with both devices stuck, either way, are common here.
  add("stuck both ways", [](DeviceModel &d) {
    d.set_stuck_lrs_fraction(0.2);
    d.set_stuck_hrs_fraction(0.3);
  });
  add("per-array variation",
      [](DeviceModel &d) { d.set_array_sigma_spread(0.35); });
  add("everything", [](DeviceModel &d) {
    d.set_lrs_log_sigma(0.4);
    d.set_hrs_log_sigma(0.6);
    d.set_lrs_sigma_growth_per_decade(0.03);
    d.set_hrs_sigma_growth_per_decade(0.08);
    d.set_sense_offset_sigma(0.2);
    d.set_reference_log_sigma(0.25);
    d.set_stuck_lrs_fraction(0.01);
    d.set_stuck_hrs_fraction(0.03);
    d.set_array_sigma_spread(0.2);
  });
  return cases;
}

TEST(DeviceModelReads, ClosedFormMatchesDeviceMonteCarloForEveryParameter) {
  constexpr int64_t kReads = 300000; // per stored value
  uint64_t seed = 1;
  for (const Case &c : Cases())
    for (CellType cell : {CELL_1T1R, CELL_2T2R})
      for (double cycles : {0.0, 1e6}) {
        ReadErrorRates rates = CellReadErrorRates(c.device, cell, cycles);
        Counts mc = SimulateDevices(c.device, cell, cycles, kReads, seed++);
        std::string what =
            absl::StrCat(c.name, ", ", CellName(cell), ", ", cycles, " cycles");
        // Rates large enough for the test to see each parameter.
        EXPECT_GT(rates.Mean(), 1e-3) << what;
        ExpectBinomial(mc.plus_errors, mc.reads, rates.plus, what + ", +1");
        ExpectBinomial(mc.minus_errors, mc.reads, rates.minus, what + ", -1");
        ExpectBinomial(mc.plus_errors + mc.minus_errors, 2 * mc.reads,
                       BitErrorRate(c.device, cell, cycles), what + ", BER");
      }
}

// Each parameter changes the rates far beyond the Monte Carlo's bounds
// (below 3% of these rates), so the test above would catch a formula that
// ignored it; only the reference's spread leaves 2T2R, which has none, alone.
TEST(DeviceModelReads, EveryParameterMovesTheRates) {
  DeviceModel base = Base();
  for (const Case &c : Cases())
    for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
      double before = BitErrorRate(base, cell, 1e6);
      double after = BitErrorRate(c.device, cell, 1e6);
      if (c.name == "reference spread" && cell == CELL_2T2R) {
        EXPECT_NEAR(after / before, 1, 1e-13);
        continue;
      }
      EXPECT_GT(std::fabs(after / before - 1), 0.15)
          << c.name << ", " << CellName(cell) << ": " << before << " -> "
          << after;
    }
}

TEST(DeviceModelReads, SymmetricModelKeepsItsNumbersBitForBit) {
  // The formulas of the symmetric model, as computed before.
  for (const DeviceModel &device :
       {Base(), Base(2.3, 0.354, 0.02, 0.005), Base(10, 0.5, 0, 0)})
    for (double cycles : {0.0, 1.0, 99.0, 1e4, 1e7, 1e12}) {
      DeviceState state = DeviceStateAfter(device, cycles);
      double x = state.window / state.sigma;
      EXPECT_EQ(
          BitErrorRate(device, CELL_1T1R, cycles),
          0.5 * std::erfc(state.window / (2 * state.sigma) / std::sqrt(2.0)));
      EXPECT_EQ(BitErrorRate(device, CELL_2T2R, cycles),
                0.5 * std::erfc(state.window / (std::sqrt(2.0) * state.sigma) /
                                std::sqrt(2.0)))
          << x;
      EXPECT_EQ(state.lrs_sigma, state.sigma);
      EXPECT_EQ(state.hrs_sigma, state.sigma);
      ReadErrorRates rates = CellReadErrorRates(device, CELL_1T1R, cycles);
      EXPECT_EQ(rates.plus, rates.minus);
      EXPECT_EQ(rates.plus, BitErrorRate(device, CELL_1T1R, cycles));
    }
  EXPECT_TRUE(IsSymmetricDeviceModel(Base()));
}

TEST(DeviceModelReads, GeneralFormulasReduceToTheSymmetricOnes) {
  // The same model spelled with the richer fields takes the general path.
  DeviceModel symmetric = Base(2.3, 0.354, 0.02, 0.005);
  DeviceModel spelled = symmetric;
  spelled.set_lrs_log_sigma(0.354);
  spelled.set_hrs_log_sigma(0.354);
  spelled.set_lrs_sigma_growth_per_decade(0.02);
  spelled.set_hrs_sigma_growth_per_decade(0.02);
  ASSERT_FALSE(IsSymmetricDeviceModel(spelled));
  for (CellType cell : {CELL_1T1R, CELL_2T2R})
    for (double cycles : {0.0, 1e3, 1e7}) {
      double a = BitErrorRate(symmetric, cell, cycles);
      double b = BitErrorRate(spelled, cell, cycles);
      EXPECT_NEAR(b / a, 1, 1e-13) << CellName(cell) << " " << cycles;
      ReadErrorRates in = ReadErrorRatesIn(symmetric, cell, cycles, 1.0);
      EXPECT_NEAR(in.plus / a, 1, 1e-13);
      EXPECT_NEAR(in.minus / a, 1, 1e-13);
    }
}

TEST(DeviceModelReads, StateSpreadsFollowTheirOwnLaws) {
  DeviceModel device = Base(2.0, 0.5, 0.1, 0.05);
  device.set_hrs_log_sigma(0.8);
  device.set_lrs_sigma_growth_per_decade(0.2);
  // 999 cycles are 3 decades.
  DeviceState state = DeviceStateAfter(device, 999);
  EXPECT_NEAR(state.sigma, 0.5 * 1.3, 1e-12);
  EXPECT_NEAR(state.lrs_sigma, 0.5 * 1.6, 1e-12); // own growth, log_sigma
  EXPECT_NEAR(state.hrs_sigma, 0.8 * 1.3, 1e-12); // own spread, common growth
  EXPECT_NEAR(state.window, 2.0 * 0.85, 1e-12);
}

TEST(DeviceModelReads, TwoT2RErrsAlikeForBothValuesOneT1RDoesNot) {
  DeviceModel device = Base();
  device.set_lrs_log_sigma(0.3);
  device.set_hrs_log_sigma(0.6);
  device.set_stuck_hrs_fraction(1e-3);
  ReadErrorRates pair = CellReadErrorRates(device, CELL_2T2R, 1e3);
  EXPECT_EQ(pair.plus, pair.minus);
  ReadErrorRates single = CellReadErrorRates(device, CELL_1T1R, 1e3);
  // The wider HRS misreads far more often than the LRS.
  EXPECT_GT(single.minus, 10 * single.plus);
}

TEST(DeviceModelReads, StuckDevicesSetTheSameFloorForBothCells) {
  // With tight states, only stuck devices err: a stuck device flips a 1T1R
  // read of the other value always, a 2T2R read half the time, and each pair
  // has two devices: both floors are (f_L + f_H) / 2 to first order.
  DeviceModel device = Base(2.3, 0.05, 0, 0);
  device.set_stuck_lrs_fraction(0.002);
  device.set_stuck_hrs_fraction(0.006);
  double floor = (0.002 + 0.006) / 2;
  EXPECT_NEAR(BitErrorRate(device, CELL_1T1R, 0) / floor, 1, 0.01);
  EXPECT_NEAR(BitErrorRate(device, CELL_2T2R, 0) / floor, 1, 0.01);
}

TEST(DeviceModelReads, ClosedWindowIsStillACoinFlip) {
  DeviceModel device = Base(2.0, 0.5, 0.1, 0.5);
  device.set_stuck_lrs_fraction(0.1);
  device.set_hrs_log_sigma(0.9);
  for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
    ReadErrorRates rates = CellReadErrorRates(device, cell, 999);
    EXPECT_EQ(rates.plus, 0.5);
    EXPECT_EQ(rates.minus, 0.5);
  }
}

// The average over arrays against a fine Simpson rule of the same integral.
TEST(DeviceModelReads, ArrayAverageIsAccurate) {
  for (double spread : {0.05, 0.3, 1.0}) {
    DeviceModel device = Base(2.3, 0.3, 0.02, 0.01);
    device.set_hrs_log_sigma(0.45);
    device.set_array_sigma_spread(spread);
    for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
      constexpr int kIntervals = 24000; // step 1e-3 over [-12, 12]
      const double h = 24.0 / kIntervals;
      double plus = 0, minus = 0;
      for (int i = 0; i <= kIntervals; ++i) {
        double z = -12 + i * h;
        double w = (i == 0 || i == kIntervals) ? 1 : (i % 2 ? 4 : 2);
        w *= h / 3 * std::exp(-z * z / 2) / std::sqrt(2 * M_PI);
        ReadErrorRates at =
            ReadErrorRatesIn(device, cell, 1e4, std::exp(spread * z));
        plus += w * at.plus;
        minus += w * at.minus;
      }
      ReadErrorRates rates = CellReadErrorRates(device, cell, 1e4);
      EXPECT_NEAR(rates.plus / plus, 1, 1e-9) << spread;
      EXPECT_NEAR(rates.minus / minus, 1, 1e-9) << spread;
    }
  }
}

TEST(DeviceModelReads, ArrayVariationRaisesTheAverageRate) {
  // A BER is convex in the spread where it is small: arrays that spread more
  // cost more than arrays that spread less save.
  DeviceModel device = Base(2.3, 0.354, 0.02, 0.005);
  DeviceModel varied = device;
  varied.set_array_sigma_spread(0.1);
  for (CellType cell : {CELL_1T1R, CELL_2T2R})
    EXPECT_GT(BitErrorRate(varied, cell, 1e4), BitErrorRate(device, cell, 1e4));
}

TEST(BitErrors, UniformAndDeviceRates) {
  BitErrors uniform = 0.01;
  EXPECT_EQ(uniform.rates().plus, 0.01);
  EXPECT_EQ(uniform.rates().minus, 0.01);
  EXPECT_FALSE(uniform.VariesByArray());
  DeviceModel device = Base();
  device.set_hrs_log_sigma(0.7);
  BitErrors model = BitErrors::FromDevice(device, CELL_1T1R, 1e5);
  ReadErrorRates rates = CellReadErrorRates(device, CELL_1T1R, 1e5);
  EXPECT_EQ(model.rates().plus, rates.plus);
  EXPECT_EQ(model.rates().minus, rates.minus);
  EXPECT_FALSE(model.VariesByArray());
  // Arrays alike draw nothing from the stream.
  std::mt19937_64 a(5), b(5);
  ReadErrorRates drawn = model.DrawArrayRates(a);
  EXPECT_EQ(drawn.plus, rates.plus);
  EXPECT_EQ(a(), b());
}

TEST(BitErrors, ArrayDrawsAverageToTheCellRates) {
  DeviceModel device = Base(2.3, 0.4, 0.02, 0.01);
  device.set_array_sigma_spread(0.25);
  device.set_hrs_log_sigma(0.55);
  for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
    BitErrors errors = BitErrors::FromDevice(device, cell, 1e3);
    ASSERT_TRUE(errors.VariesByArray());
    std::mt19937_64 random = TrialEngine(4, 0);
    constexpr int kDraws = 40000;
    double sum[2] = {0, 0}, squares[2] = {0, 0};
    for (int i = 0; i < kDraws; ++i) {
      ReadErrorRates r = errors.DrawArrayRates(random);
      sum[0] += r.plus;
      sum[1] += r.minus;
      squares[0] += r.plus * r.plus;
      squares[1] += r.minus * r.minus;
    }
    double expected[2] = {errors.rates().plus, errors.rates().minus};
    for (int v = 0; v < 2; ++v) {
      double mean = sum[v] / kDraws;
      double sd = std::sqrt((squares[v] / kDraws - mean * mean) / kDraws);
      EXPECT_NEAR(mean, expected[v], 5 * sd) << CellName(cell) << " " << v;
      // The arrays do differ.
      EXPECT_GT(sd * std::sqrt(double{kDraws}), 0.1 * mean);
    }
    // Reproducible from the stream.
    std::mt19937_64 x = TrialEngine(4, 1), y = TrialEngine(4, 1);
    EXPECT_EQ(errors.DrawArrayRates(x).plus, errors.DrawArrayRates(y).plus);
  }
}

// The chip validator: every new field out of range is one line naming it.
ChipConfig Chip() {
  absl::StatusOr<ChipConfig> chip = LoadChipConfig("default");
  EXPECT_TRUE(chip.ok()) << chip.status();
  return *chip;
}

TEST(DeviceModelValidation, EveryNewFieldIsChecked) {
  struct Bad {
    const char *field;
    void (*set)(DeviceModel &);
    const char *message;
  };
  const Bad cases[] = {
      {"lrs_log_sigma", [](DeviceModel &d) { d.set_lrs_log_sigma(0); }, "> 0"},
      {"hrs_log_sigma", [](DeviceModel &d) { d.set_hrs_log_sigma(-0.1); },
       "> 0"},
      {"lrs_sigma_growth_per_decade",
       [](DeviceModel &d) { d.set_lrs_sigma_growth_per_decade(-1); }, ">= 0"},
      {"hrs_sigma_growth_per_decade",
       [](DeviceModel &d) { d.set_hrs_sigma_growth_per_decade(-1); }, ">= 0"},
      {"sense_offset_sigma",
       [](DeviceModel &d) { d.set_sense_offset_sigma(-0.2); }, ">= 0"},
      {"reference_log_sigma",
       [](DeviceModel &d) { d.set_reference_log_sigma(-0.2); }, ">= 0"},
      {"stuck_lrs_fraction",
       [](DeviceModel &d) { d.set_stuck_lrs_fraction(0.5); }, "[0, 0.5)"},
      {"stuck_hrs_fraction",
       [](DeviceModel &d) { d.set_stuck_hrs_fraction(-1e-3); }, "[0, 0.5)"},
      {"array_sigma_spread",
       [](DeviceModel &d) { d.set_array_sigma_spread(1.5); }, "[0, 1]"},
      {"array_sigma_spread",
       [](DeviceModel &d) { d.set_array_sigma_spread(NAN); }, "finite"},
      {"sense_offset_sigma",
       [](DeviceModel &d) { d.set_sense_offset_sigma(INFINITY); }, "finite"},
      {"lrs_log_sigma", [](DeviceModel &d) { d.set_lrs_log_sigma(NAN); },
       "finite"},
  };
  for (const Bad &bad : cases) {
    ChipConfig chip = Chip();
    bad.set(*chip.mutable_device());
    absl::Status status = ValidateChipConfig(chip);
    ASSERT_FALSE(status.ok()) << bad.field;
    EXPECT_THAT(status.message(),
                AllOf(HasSubstr(absl::StrCat("'device.", bad.field, "'")),
                      HasSubstr(bad.message)))
        << bad.field;
    EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr("\n")));
  }
  // In range, every field at once is fine; text format too.
  absl::StatusOr<ChipConfig> parsed = ParseChipConfig(
      R"(name: "rich" array { rows: 32 columns: 32 } arrays: 4
         cell: CELL_1T1R digital_memory_bytes: 1024
         real_precision: REAL_FLOAT32
         device { log_window: 2.3 log_sigma: 0.35 sigma_growth_per_decade: 0
                  lrs_log_sigma: 0.3 hrs_log_sigma: 0.45
                  lrs_sigma_growth_per_decade: 0
                  hrs_sigma_growth_per_decade: 0.03 sense_offset_sigma: 0.05
                  reference_log_sigma: 0.1 stuck_lrs_fraction: 1e-4
                  stuck_hrs_fraction: 2e-4 array_sigma_spread: 1 })",
      "rich.textproto");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->device().has_lrs_sigma_growth_per_decade());
  absl::StatusOr<ChipConfig> bad = ParseChipConfig(
      R"(name: "bad" array { rows: 32 columns: 32 } arrays: 4
         cell: CELL_1T1R digital_memory_bytes: 1024
         real_precision: REAL_FLOAT32
         device { log_window: 2.3 log_sigma: 0.35 stuck_hrs_fraction: 0.7 })",
      "bad.textproto");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              AllOf(HasSubstr("bad.textproto"),
                    HasSubstr("'device.stuck_hrs_fraction' is 0.7")));
}

} // namespace
} // namespace hafnia
