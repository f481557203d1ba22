// Fitting the device model to BER-versus-cycles tables: the Levenberg-
// Marquardt minimizer on problems with known answers; the fit recovers known
// parameters (within 5%) from data the model generated, exact or noisy, by
// least squares on log BER and by maximum likelihood on counts; fits that
// cannot work fail with one line; the printed device block and fit parse as
// a chip preset's text; the curve, its JSON and SVG; BER tables with reads.

#include <cmath>
#include <random>
#include <string>

#include "LevenbergMarquardt.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/DeviceFit.h"
#include "hafnia/runtime/DeviceModel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// --- Levenberg-Marquardt ---------------------------------------------------

TEST(LevenbergMarquardt, SolvesRosenbrock) {
  lm::Residuals f = [](const std::vector<double> &x, std::vector<double> &r) {
    r[0] = 10 * (x[1] - x[0] * x[0]);
    r[1] = 1 - x[0];
    return true;
  };
  absl::StatusOr<lm::Result> result = lm::Minimize(f, {-1.2, 1}, 2);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->converged) << result->stop;
  EXPECT_NEAR(result->x[0], 1, 1e-8);
  EXPECT_NEAR(result->x[1], 1, 1e-8);
  EXPECT_LT(result->cost, 1e-20);
}

TEST(LevenbergMarquardt, FitsAnExponentialDecay) {
  // y = a exp(-b t) + c at 20 points, exactly: the fit recovers a, b, c.
  std::vector<double> t, y;
  for (int i = 0; i < 20; ++i) {
    t.push_back(0.25 * i);
    y.push_back(3.0 * std::exp(-0.7 * t.back()) + 0.5);
  }
  lm::Residuals f = [&](const std::vector<double> &x, std::vector<double> &r) {
    for (size_t i = 0; i < t.size(); ++i)
      r[i] = x[0] * std::exp(-x[1] * t[i]) + x[2] - y[i];
    return true;
  };
  absl::StatusOr<lm::Result> result = lm::Minimize(f, {1, 0.1, 0}, t.size());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->converged) << result->stop;
  EXPECT_NEAR(result->x[0], 3.0, 1e-7);
  EXPECT_NEAR(result->x[1], 0.7, 1e-7);
  EXPECT_NEAR(result->x[2], 0.5, 1e-7);
}

TEST(LevenbergMarquardt, LinearLeastSquaresMatchesTheNormalEquations) {
  // A straight line through noisy points: the minimum of a quadratic.
  std::vector<double> t = {0, 1, 2, 3, 4, 5},
                      y = {1.1, 2.9, 5.2, 7.1, 8.8, 11.3};
  lm::Residuals f = [&](const std::vector<double> &x, std::vector<double> &r) {
    for (size_t i = 0; i < t.size(); ++i)
      r[i] = x[0] + x[1] * t[i] - y[i];
    return true;
  };
  absl::StatusOr<lm::Result> result = lm::Minimize(f, {0, 0}, t.size());
  ASSERT_TRUE(result.ok());
  double n = t.size(), st = 0, sy = 0, stt = 0, sty = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    st += t[i];
    sy += y[i];
    stt += t[i] * t[i];
    sty += t[i] * y[i];
  }
  double slope = (n * sty - st * sy) / (n * stt - st * st);
  double intercept = (sy - slope * st) / n;
  EXPECT_NEAR(result->x[0], intercept, 1e-9);
  EXPECT_NEAR(result->x[1], slope, 1e-9);
}

TEST(LevenbergMarquardt, StaysInsideTheDomainAndFailsOutsideIt) {
  // sqrt(x) - 2 = 0 with x > 0 only: steps outside are refused.
  lm::Residuals f = [](const std::vector<double> &x, std::vector<double> &r) {
    if (!(x[0] > 0))
      return false;
    r[0] = std::sqrt(x[0]) - 2;
    return true;
  };
  absl::StatusOr<lm::Result> result = lm::Minimize(f, {0.01}, 1);
  ASSERT_TRUE(result.ok());
  EXPECT_NEAR(result->x[0], 4, 1e-8);
  EXPECT_FALSE(lm::Minimize(f, {-1}, 1).ok());
}

TEST(LevenbergMarquardt, CholeskyAndInverse) {
  std::vector<double> a = {4, 2, 2, 3};
  std::vector<double> b = {2, 1};
  ASSERT_TRUE(lm::CholeskySolve(a, 2, b));
  EXPECT_NEAR(4 * b[0] + 2 * b[1], 2, 1e-12);
  EXPECT_NEAR(2 * b[0] + 3 * b[1], 1, 1e-12);
  std::vector<double> inverse = lm::InverseSpd(a, 2);
  ASSERT_EQ(inverse.size(), 4u);
  EXPECT_NEAR(inverse[0], 3.0 / 8, 1e-12);
  EXPECT_NEAR(inverse[1], -2.0 / 8, 1e-12);
  EXPECT_TRUE(lm::InverseSpd({1, 2, 2, 1}, 2).empty()); // indefinite
}

// --- Fits
// ---------------------------------------------------------------------

DeviceModel DefaultDevice() {
  absl::StatusOr<ChipConfig> chip = LoadChipConfig("default");
  EXPECT_TRUE(chip.ok()) << chip.status();
  return chip->device();
}

const double kTableCycles[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};

// A BER table of `truth` at kTableCycles, for both cells: exact, or with
// lognormal noise of `noise` (relative), or as binomial counts of `reads`.
std::string Table(const DeviceModel &truth, double noise = 0, double reads = 0,
                  uint64_t seed = 1) {
  std::mt19937_64 random(seed);
  std::normal_distribution<double> normal;
  std::string text = reads ? "cycles,1T1R,2T2R,reads\n" : "cycles,1T1R,2T2R\n";
  for (double n : kTableCycles) {
    absl::StrAppend(&text, absl::StrFormat("%.17g", n));
    for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
      double ber = BitErrorRate(truth, cell, n);
      if (noise)
        ber *= std::exp(noise * normal(random));
      if (reads) {
        std::binomial_distribution<int64_t> count(static_cast<int64_t>(reads),
                                                  ber);
        ber = count(random) / reads;
      }
      absl::StrAppend(&text, absl::StrFormat(",%.17g", ber));
    }
    if (reads)
      absl::StrAppend(&text, absl::StrFormat(",%.17g", reads));
    absl::StrAppend(&text, "\n");
  }
  return text;
}

BerTable ParseOrDie(const std::string &text) {
  absl::StatusOr<BerTable> table = BerTable::Parse(text, "measured.csv");
  EXPECT_TRUE(table.ok()) << table.status();
  return *table;
}

struct Recovery {
  std::string name;
  std::vector<CellType> cells;
  std::vector<std::string> fields; // empty: the defaults
  // The truth: the default device with these fields changed.
  std::vector<std::pair<std::string, double>> truth;
};

DeviceModel With(DeviceModel device,
                 const std::vector<std::pair<std::string, double>> &fields) {
  for (const auto &[name, value] : fields)
    device.GetReflection()->SetDouble(
        &device, DeviceModel::descriptor()->FindFieldByName(name), value);
  return device;
}

std::vector<Recovery> Recoveries() {
  return {
      {"1T1R, default fields",
       {CELL_1T1R},
       {},
       {{"log_sigma", 0.4}, {"sigma_growth_per_decade", 0.05}}},
      {"2T2R, default fields",
       {CELL_2T2R},
       {},
       {{"log_sigma", 0.3}, {"sigma_growth_per_decade", 0.035}}},
      {"both cells, default fields",
       {CELL_1T1R, CELL_2T2R},
       {},
       {{"lrs_log_sigma", 0.3},
        {"hrs_log_sigma", 0.45},
        {"sigma_growth_per_decade", 0.03}}},
      {"both cells, reference spread",
       {CELL_1T1R, CELL_2T2R},
       {"log_sigma", "sigma_growth_per_decade", "reference_log_sigma"},
       {{"log_sigma", 0.33},
        {"sigma_growth_per_decade", 0.04},
        {"reference_log_sigma", 0.15}}},
      {"both cells, sense offset",
       {CELL_1T1R, CELL_2T2R},
       {"log_sigma", "sense_offset_sigma"},
       {{"log_sigma", 0.32}, {"sense_offset_sigma", 0.2}}},
      {"both cells, window loss",
       {CELL_1T1R, CELL_2T2R},
       {"log_sigma", "window_loss_per_decade"},
       {{"log_sigma", 0.37}, {"window_loss_per_decade", 0.012}}},
      {"both cells, stuck devices",
       {CELL_1T1R, CELL_2T2R},
       {"log_sigma", "sigma_growth_per_decade", "stuck_hrs_fraction"},
       {{"log_sigma", 0.33},
        {"sigma_growth_per_decade", 0.03},
        {"stuck_hrs_fraction", 2e-5}}},
      {"both cells, state growths",
       {CELL_1T1R, CELL_2T2R},
       {"lrs_sigma_growth_per_decade", "hrs_sigma_growth_per_decade"},
       {{"lrs_log_sigma", 0.3},
        {"hrs_log_sigma", 0.42},
        {"lrs_sigma_growth_per_decade", 0.025},
        {"hrs_sigma_growth_per_decade", 0.06}}},
      {"both cells, per-array variation",
       {CELL_1T1R, CELL_2T2R},
       {"log_sigma", "array_sigma_spread"},
       {{"log_sigma", 0.3}, {"array_sigma_spread", 0.2}}},
  };
}

void ExpectRecovered(const DeviceFit &fit, const DeviceModel &truth,
                     double tolerance, const std::string &what) {
  for (const DeviceFit::Field &field : fit.fields) {
    double expected = truth.GetReflection()->GetDouble(
        truth, DeviceModel::descriptor()->FindFieldByName(field.name));
    EXPECT_NEAR(field.value / expected, 1, tolerance)
        << what << ": " << field.name << " fitted " << field.value << ", truth "
        << expected << " (start " << field.start << ")";
  }
}

// The fit's options for `r`: the truth's values for the fields not fitted,
// the default preset's (or none) for the fitted ones.
DeviceFitOptions OptionsFor(const Recovery &r, const DeviceModel &truth) {
  DeviceFitOptions options;
  options.cells = r.cells;
  options.fields = r.fields;
  options.start = truth;
  DeviceModel preset = DefaultDevice();
  for (const std::string &name :
       r.fields.empty() ? DefaultFitFields(r.cells) : r.fields) {
    const google::protobuf::FieldDescriptor *field =
        DeviceModel::descriptor()->FindFieldByName(name);
    const google::protobuf::Reflection *reflection = truth.GetReflection();
    reflection->ClearField(&options.start, field);
    if (!field->has_presence() || reflection->HasField(preset, field))
      reflection->SetDouble(&options.start, field,
                            reflection->GetDouble(preset, field));
  }
  return options;
}

TEST(DeviceFit, RecoversKnownParametersFromExactData) {
  for (const Recovery &r : Recoveries()) {
    DeviceModel truth = With(DefaultDevice(), r.truth);
    absl::StatusOr<DeviceFit> fit =
        FitDeviceModel(ParseOrDie(Table(truth)), OptionsFor(r, truth));
    ASSERT_TRUE(fit.ok()) << r.name << ": " << fit.status();
    EXPECT_TRUE(fit->converged) << r.name << ": " << fit->stop;
    EXPECT_FALSE(fit->maximum_likelihood);
    ExpectRecovered(*fit, truth, 1e-4, r.name);
    for (const DeviceFit::Point &point : fit->points)
      EXPECT_NEAR(point.residual, 0, 1e-6) << r.name;
  }
}

TEST(DeviceFit, RecoversKnownParametersFromNoisyData) {
  // 2% lognormal noise on every BER, least squares on log BER: within 5%
  // (for any of 40 noise seeds tried). The LRS's own growth is the exception:
  // 1T1R errors come mostly from the wider HRS, so these 16 points
  // determine it only to about 8% (its standard error); there the truth lies
  // within 4 standard errors.
  for (const Recovery &r : Recoveries()) {
    DeviceModel truth = With(DefaultDevice(), r.truth);
    absl::StatusOr<DeviceFit> fit = FitDeviceModel(
        ParseOrDie(Table(truth, 0.02, 0, 5)), OptionsFor(r, truth));
    ASSERT_TRUE(fit.ok()) << r.name << ": " << fit.status();
    EXPECT_TRUE(fit->converged) << r.name << ": " << fit->stop;
    for (const DeviceFit::Field &field : fit->fields) {
      EXPECT_GT(field.standard_error, 0) << r.name << " " << field.name;
      double expected = truth.GetReflection()->GetDouble(
          truth, DeviceModel::descriptor()->FindFieldByName(field.name));
      if (field.name == "lrs_sigma_growth_per_decade") {
        EXPECT_GT(field.standard_error, 0.02 * expected);
        EXPECT_NEAR(field.value, expected, 4 * field.standard_error);
      } else {
        EXPECT_NEAR(field.value / expected, 1, 0.05)
            << r.name << " (noisy): " << field.name << " fitted " << field.value
            << ", truth " << expected;
      }
    }
  }
}

TEST(DeviceFit, MaximumLikelihoodOnCounts) {
  // Counts of 1e9 reads per point, as a long cycling experiment gives: the
  // 2T2R points hold thousands of errors, the 1T1R ones millions.
  DeviceModel truth =
      With(DefaultDevice(), {{"lrs_log_sigma", 0.3},
                             {"hrs_log_sigma", 0.45},
                             {"sigma_growth_per_decade", 0.03}});
  BerTable table = ParseOrDie(Table(truth, 0, 1e9, 3));
  DeviceFitOptions options;
  options.cells = {CELL_1T1R, CELL_2T2R};
  options.start = DefaultDevice();
  absl::StatusOr<DeviceFit> fit = FitDeviceModel(table, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_TRUE(fit->maximum_likelihood);
  EXPECT_TRUE(fit->converged) << fit->stop;
  ExpectRecovered(*fit, truth, 0.05, "counts");
  // The deviance of a good fit is about its degrees of freedom (16 - 3).
  EXPECT_LT(fit->cost, 13 + 5 * std::sqrt(2 * 13.0));
  for (const DeviceFit::Point &point : fit->points)
    EXPECT_EQ(point.reads, 1e9);
  // BERs of 0 are data for a fit on counts.
  BerTable zeros = ParseOrDie("cycles,2T2R,reads\n1,0,1000\n10,0,1000\n"
                              "100,1e-3,1000\n1000,2e-3,1000\n");
  DeviceFitOptions one;
  one.cells = {CELL_2T2R};
  one.start = DefaultDevice();
  EXPECT_TRUE(FitDeviceModel(zeros, one).ok());
}

TEST(DeviceFit, RefusesFitsThatCannotWork) {
  BerTable both = ParseOrDie(Table(DefaultDevice()));
  BerTable single = ParseOrDie("cycles,ber\n1,1e-3\n10,2e-3\n100,3e-3\n");
  BerTable only_2t2r = ParseOrDie("cycles,2T2R\n1,1e-5\n10,2e-5\n100,3e-5\n");
  BerTable zero = ParseOrDie("cycles,1T1R\n1,0\n10,2e-3\n100,3e-3\n");
  BerTable short_table = ParseOrDie("cycles,1T1R\n1,1e-3\n");
  struct Case {
    const BerTable *table;
    std::vector<CellType> cells;
    std::vector<std::string> fields;
    const char *message;
  };
  const Case cases[] = {
      {&both,
       {CELL_1T1R},
       {"log_sigma", "temperature"},
       "unknown device field 'temperature'"},
      {&both, {CELL_1T1R}, {"log_sigma", "log_sigma"}, "given twice"},
      {&only_2t2r, {CELL_1T1R}, {}, "no column for 1T1R"},
      {&single, {CELL_1T1R, CELL_2T2R}, {}, "a single 'ber' column"},
      {&zero, {CELL_1T1R}, {}, "is 0, which has no logarithm"},
      {&short_table, {CELL_1T1R}, {}, "cannot determine 2 fields"},
      {&only_2t2r,
       {CELL_2T2R},
       {"log_sigma", "reference_log_sigma"},
       "field 'reference_log_sigma' does not change the fitted BERs"},
      {&both,
       {CELL_1T1R, CELL_2T2R},
       {"log_window", "log_sigma"},
       "fields 'log_window' and 'log_sigma' change the fitted BERs alike"},
      {&both, {}, {}, "no cell to fit"},
  };
  for (const Case &c : cases) {
    DeviceFitOptions options;
    options.cells = c.cells;
    options.fields = c.fields;
    options.start = DefaultDevice();
    absl::StatusOr<DeviceFit> fit = FitDeviceModel(*c.table, options);
    ASSERT_FALSE(fit.ok()) << c.message;
    EXPECT_THAT(fit.status().message(),
                AllOf(HasSubstr("measured.csv"), HasSubstr(c.message)));
    EXPECT_THAT(std::string(fit.status().message()),
                ::testing::Not(HasSubstr("\n")));
  }
}

// The printed block and the whole fit are text format a chip preset takes.
TEST(DeviceFit, PrintsADeviceBlockForAChipPreset) {
  DeviceModel truth =
      With(DefaultDevice(), {{"lrs_log_sigma", 0.3},
                             {"hrs_log_sigma", 0.45},
                             {"sigma_growth_per_decade", 0.03}});
  BerTable table = ParseOrDie(Table(truth));
  DeviceFitOptions options;
  options.cells = {CELL_1T1R, CELL_2T2R};
  options.start = DefaultDevice();
  absl::StatusOr<DeviceFit> fit = FitDeviceModel(table, options);
  ASSERT_TRUE(fit.ok());
  const std::string header =
      "name: \"fitted\" array { rows: 32 columns: 32 } arrays: 1 "
      "cell: CELL_2T2R digital_memory_bytes: 1024 "
      "real_precision: REAL_FLOAT32\n";
  for (const std::string &text :
       {FormatDeviceBlock(fit->device), FormatDeviceFit(*fit, table)}) {
    absl::StatusOr<ChipConfig> chip =
        ParseChipConfig(header + text, "fitted.textproto");
    ASSERT_TRUE(chip.ok()) << chip.status() << "\n" << text;
    EXPECT_NEAR(chip->device().lrs_log_sigma(), 0.3, 1e-5);
    EXPECT_NEAR(chip->device().hrs_log_sigma(), 0.45, 1e-5);
    EXPECT_NEAR(chip->device().sigma_growth_per_decade(), 0.03, 1e-6);
    EXPECT_EQ(chip->device().log_window(), 2.3);
    EXPECT_FALSE(chip->device().has_lrs_sigma_growth_per_decade());
  }
  std::string text = FormatDeviceFit(*fit, table);
  EXPECT_THAT(text, HasSubstr("least squares on log10(BER)"));
  EXPECT_THAT(text, HasSubstr("# 2T2R "));
  EXPECT_THAT(text, HasSubstr("# lrs_log_sigma"));
  std::string svg = DeviceFitToSvg(*fit, table);
  EXPECT_THAT(svg, AllOf(HasSubstr("<svg"), HasSubstr("1T1R measured"),
                         HasSubstr("2T2R fitted"), HasSubstr("</svg>")));
  // The symmetric four are always printed, the others when set.
  EXPECT_EQ(FormatDeviceBlock(DefaultDevice()),
            "device {\n  log_window: 2.3\n  log_sigma: 0.354\n"
            "  sigma_growth_per_decade: 0.02\n"
            "  window_loss_per_decade: 0.005\n}\n");
}

// --- Curves ---------------------------------------------------------------

// With codes: 1T1R devices failing at the curve's 1T1R rate, decoded.
TEST(DeviceCurve, AddsTheDecodedRatesOfEachCode) {
  DeviceModel device = DefaultDevice();
  std::vector<EccCode> codes = {EccCode::kHamming74, EccCode::kSecded7264};
  std::vector<DeviceCurvePoint> points = DeviceCurve(device, {1, 1e6}, codes);
  for (const DeviceCurvePoint &p : points) {
    ASSERT_EQ(p.ecc.size(), 2u);
    for (size_t c = 0; c < codes.size(); ++c)
      EXPECT_EQ(p.ecc[c].data_ber,
                DecodedRatesAt(codes[c], p.ber_1t1r).data_ber);
  }
  std::string json = DeviceCurveToJson("default", device, points, codes);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  EXPECT_THAT(FormatDeviceCurve("default", points, codes),
              HasSubstr("1T1R+secded-72-64 1.125"));
}

TEST(DeviceCurve, GivesBothCellsAtEachCycleCount) {
  DeviceModel device = DefaultDevice();
  std::vector<DeviceCurvePoint> points = DeviceCurve(device, {0, 1e4, 1e7});
  ASSERT_EQ(points.size(), 3u);
  for (const DeviceCurvePoint &p : points) {
    EXPECT_EQ(p.ber_1t1r, BitErrorRate(device, CELL_1T1R, p.cycles));
    EXPECT_EQ(p.ber_2t2r, BitErrorRate(device, CELL_2T2R, p.cycles));
    EXPECT_EQ(p.state.window, DeviceStateAfter(device, p.cycles).window);
  }
  std::string text = FormatDeviceCurve("default", points);
  EXPECT_THAT(text, AllOf(HasSubstr("BER 1T1R"), HasSubstr("0.0016"),
                          HasSubstr("1.53e-05"), HasSubstr("105")));
  // Valid JSON, with the device and every point.
  std::string json = DeviceCurveToJson("de\"fault", device, points);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  EXPECT_EQ(parsed.fields().at("chip").string_value(), "de\"fault");
  EXPECT_EQ(parsed.fields().at("points").list_value().values_size(), 3);
  EXPECT_DOUBLE_EQ(parsed.fields()
                       .at("device")
                       .struct_value()
                       .fields()
                       .at("log_sigma")
                       .number_value(),
                   0.354);
  std::string svg = DeviceCurveToSvg("<chip>", device, points);
  EXPECT_THAT(svg, AllOf(HasSubstr("&lt;chip&gt;: bit-error rate against"),
                         HasSubstr("polyline"), HasSubstr("</svg>")));
}

TEST(DeviceCurve, ShowsRatesByValueWhenTheyDiffer) {
  DeviceModel device = DefaultDevice();
  device.set_hrs_log_sigma(0.5);
  std::string text = FormatDeviceCurve("c", DeviceCurve(device, {1e3}));
  EXPECT_THAT(text, AllOf(HasSubstr("1T1R +1"), HasSubstr("1T1R -1")));
}

// --- BER tables with reads -------------------------------------------------

TEST(BerTableReads, ReadsColumnsParse) {
  BerTable all = ParseOrDie("cycles,1T1R,2T2R,reads\n1,1e-3,1e-5,1000000\n");
  EXPECT_EQ(all.reads(CELL_1T1R), std::vector<double>{1e6});
  EXPECT_EQ(all.reads(CELL_2T2R), std::vector<double>{1e6});
  EXPECT_EQ(all.cycles(), std::vector<double>{1});
  BerTable per_cell =
      ParseOrDie("cycles,2T2R,2t2r_reads,1T1R\n1,1e-5,500,1e-3\n");
  EXPECT_EQ(per_cell.reads(CELL_2T2R), std::vector<double>{500});
  EXPECT_TRUE(per_cell.reads(CELL_1T1R).empty());
  EXPECT_FALSE(per_cell.single_column());
  BerTable single = ParseOrDie("cycles,ber,reads\n1,0.01,100\n");
  EXPECT_TRUE(single.single_column());
  EXPECT_EQ(single.reads(CELL_1T1R), std::vector<double>{100});
  // A table with reads still looks up as before.
  EXPECT_DOUBLE_EQ(*all.Lookup(CELL_2T2R, 1), 1e-5);
  struct Case {
    const char *text, *message;
  };
  const Case cases[] = {
      {"cycles,1T1R,reads,1T1R_reads\n", "mixes 'reads'"},
      {"cycles,1T1R,2T2R_reads\n", "column '2T2R_reads' gives the reads"},
      {"cycles,1T1R,reads\n1,0.1,0\n", "reads 0 is not a whole number"},
      {"cycles,1T1R,reads\n1,0.1,2.5\n", "reads 2.5 is not a whole number"},
      {"cycles,1T1R,reads,reads\n", "appears twice"},
      {"cycles,1T1R,3T3R_reads\n", "unknown column '3T3R_reads'"},
  };
  for (const Case &c : cases) {
    absl::StatusOr<BerTable> table = BerTable::Parse(c.text, "m.csv");
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_THAT(table.status().message(),
                AllOf(HasSubstr("m.csv:"), HasSubstr(c.message)))
        << c.text;
  }
}

} // namespace
} // namespace hafnia
