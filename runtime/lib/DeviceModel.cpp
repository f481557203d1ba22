// The device and error model: BERs from device statistics, measured BER
// tables, and the random draws of Monte Carlo trials.

#include "hafnia/runtime/DeviceModel.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/TensorIO.h"

namespace hafnia {
namespace {

// Decades of cycling, log10(1 + cycles); log1p keeps small counts exact.
double Decades(double cycles) {
  if (!(cycles > 0))
    return 0;
  return std::log1p(cycles) / std::log(10.0);
}

// Phi(-x), the standard normal upper tail: erfc does not cancel where the
// tail is small, as 1 - Phi(x) would.
double NormalTail(double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); }

// Index into BerTable::ber_ of a cell, or -1.
int CellIndex(CellType cell) {
  switch (cell) {
  case CELL_1T1R:
    return 0;
  case CELL_2T2R:
    return 1;
  default:
    return -1;
  }
}

} // namespace

DeviceState DeviceStateAfter(const DeviceModel &device, double cycles) {
  double decades = Decades(cycles);
  DeviceState state;
  state.sigma =
      device.log_sigma() * (1 + device.sigma_growth_per_decade() * decades);
  state.window = device.log_window() *
                 std::max(0.0, 1 - device.window_loss_per_decade() * decades);
  // A state with neither a spread nor a growth of its own has sigma itself.
  auto spread = [&](bool has_sigma, double sigma, bool has_growth,
                    double growth) {
    if (!has_sigma && !has_growth)
      return state.sigma;
    return (has_sigma ? sigma : device.log_sigma()) *
           (1 +
            (has_growth ? growth : device.sigma_growth_per_decade()) * decades);
  };
  state.lrs_sigma = spread(device.has_lrs_log_sigma(), device.lrs_log_sigma(),
                           device.has_lrs_sigma_growth_per_decade(),
                           device.lrs_sigma_growth_per_decade());
  state.hrs_sigma = spread(device.has_hrs_log_sigma(), device.hrs_log_sigma(),
                           device.has_hrs_sigma_growth_per_decade(),
                           device.hrs_sigma_growth_per_decade());
  return state;
}

bool IsSymmetricDeviceModel(const DeviceModel &device) {
  return !device.has_lrs_log_sigma() && !device.has_hrs_log_sigma() &&
         !device.has_lrs_sigma_growth_per_decade() &&
         !device.has_hrs_sigma_growth_per_decade() &&
         device.sense_offset_sigma() == 0 &&
         device.reference_log_sigma() == 0 &&
         device.stuck_lrs_fraction() == 0 && device.stuck_hrs_fraction() == 0 &&
         device.array_sigma_spread() == 0;
}

namespace {

// The symmetric model's BER, computed exactly as before the richer model.
double SymmetricBer(const DeviceModel &device, CellType cell, double cycles) {
  DeviceState state = DeviceStateAfter(device, cycles);
  // A closed window leaves the read to chance; a zero spread never errs.
  if (!(state.window > 0))
    return 0.5;
  if (!(state.sigma > 0))
    return 0;
  // 1T1R: a device sits window/2 from the reference. 2T2R: the difference of
  // two devices sits a whole window from 0 but spreads sqrt(2) sigma.
  double separation = cell == CELL_1T1R
                          ? state.window / (2 * state.sigma)
                          : state.window / (std::sqrt(2.0) * state.sigma);
  return NormalTail(separation);
}

// Phi(-distance / spread); a zero spread never errs.
double Misread(double distance, double spread) {
  if (!(spread > 0))
    return 0;
  return NormalTail(distance / spread);
}

// The nodes z and normalized weights of the trapezoid rule for E[f(z)], z
// standard normal: step 1/8 over [-10, 10]. For a smooth f the rule is exact
// to double precision; the mass beyond 10 is below 1e-22.
struct Quadrature {
  std::vector<double> z, weight;
  Quadrature() {
    constexpr int kHalf = 80;
    constexpr double kStep = 0.125;
    double total = 0;
    for (int i = -kHalf; i <= kHalf; ++i) {
      z.push_back(i * kStep);
      weight.push_back(std::exp(-0.5 * z.back() * z.back()));
      total += weight.back();
    }
    for (double &w : weight)
      w /= total;
  }
};

const Quadrature &StandardNormalQuadrature() {
  static const Quadrature *quadrature = new Quadrature();
  return *quadrature;
}

} // namespace

ReadErrorRates ReadErrorRatesIn(const DeviceModel &device, CellType cell,
                                double cycles, double spread_multiplier) {
  DeviceState state = DeviceStateAfter(device, cycles);
  if (!(state.window > 0))
    return {0.5, 0.5};
  const double lrs = spread_multiplier * state.lrs_sigma;
  const double hrs = spread_multiplier * state.hrs_sigma;
  const double offset = device.sense_offset_sigma();
  const double stuck_lrs = device.stuck_lrs_fraction();
  const double stuck_hrs = device.stuck_hrs_fraction();
  ReadErrorRates rates;
  if (cell == CELL_1T1R) {
    // The device against the reference: ln R - ln R_ref + offset has the
    // device's, the reference's and the offset's spreads, and sits half a
    // window from 0. A stuck device reads as its state does.
    const double read =
        device.reference_log_sigma() * device.reference_log_sigma() +
        offset * offset;
    const double half = state.window / 2;
    const double lrs_misread = Misread(half, std::sqrt(lrs * lrs + read));
    const double hrs_misread = Misread(half, std::sqrt(hrs * hrs + read));
    rates.plus = (1 - stuck_hrs) * lrs_misread + stuck_hrs * (1 - hrs_misread);
    rates.minus = (1 - stuck_lrs) * hrs_misread + stuck_lrs * (1 - lrs_misread);
    return rates;
  }
  // The pair: ln R_BL - ln R_BLb + offset sits a window from 0 when both
  // devices hold their states, at 0 when both are in one state (stuck), and
  // a window on the wrong side when both are stuck the wrong way.
  const double t =
      Misread(state.window, std::sqrt(lrs * lrs + hrs * hrs + offset * offset));
  const double error =
      (1 - stuck_lrs) * (1 - stuck_hrs) * t + stuck_lrs * stuck_hrs * (1 - t) +
      0.5 * (stuck_lrs * (1 - stuck_hrs) + stuck_hrs * (1 - stuck_lrs));
  rates.plus = rates.minus = error;
  return rates;
}

ReadErrorRates CellReadErrorRates(const DeviceModel &device, CellType cell,
                                  double cycles) {
  if (IsSymmetricDeviceModel(device)) {
    double ber = SymmetricBer(device, cell, cycles);
    return {ber, ber};
  }
  const double spread = device.array_sigma_spread();
  if (!(spread > 0))
    return ReadErrorRatesIn(device, cell, cycles, 1.0);
  const Quadrature &quadrature = StandardNormalQuadrature();
  ReadErrorRates mean;
  for (size_t i = 0; i < quadrature.z.size(); ++i) {
    ReadErrorRates at = ReadErrorRatesIn(device, cell, cycles,
                                         std::exp(spread * quadrature.z[i]));
    mean.plus += quadrature.weight[i] * at.plus;
    mean.minus += quadrature.weight[i] * at.minus;
  }
  return mean;
}

double BitErrorRate(const DeviceModel &device, CellType cell, double cycles) {
  if (IsSymmetricDeviceModel(device))
    return SymmetricBer(device, cell, cycles);
  return CellReadErrorRates(device, cell, cycles).Mean();
}

BitErrors BitErrors::FromDevice(const DeviceModel &device, CellType cell,
                                double cycles) {
  BitErrors errors(0.0);
  errors.rates_ = CellReadErrorRates(device, cell, cycles);
  errors.spread_ =
      device.array_sigma_spread() > 0 ? device.array_sigma_spread() : 0;
  if (errors.spread_ > 0) {
    errors.device_ = device;
    errors.cell_ = cell;
    errors.cycles_ = cycles;
  }
  return errors;
}

ReadErrorRates BitErrors::DrawArrayRates(std::mt19937_64 &random) const {
  if (!(spread_ > 0))
    return rates_;
  // Box-Muller: u in (0, 1] keeps the logarithm finite, v in [0, 1).
  double u = static_cast<double>((random() >> 11) + 1) * 0x1p-53;
  double v = static_cast<double>(random() >> 11) * 0x1p-53;
  constexpr double kTwoPi = 6.283185307179586;
  double z = std::sqrt(-2 * std::log(u)) * std::cos(kTwoPi * v);
  return ReadErrorRatesIn(device_, cell_, cycles_, std::exp(spread_ * z));
}

ReadErrorRates ScaledRates(ReadErrorRates rates, double scale) {
  if (scale == 1)
    return rates;
  for (double *rate : {&rates.plus, &rates.minus})
    *rate = scale < 1 ? *rate * scale
                      : std::min(std::max(*rate, 0.5), *rate * scale);
  return rates;
}

absl::StatusOr<BerTable> BerTable::Load(const std::string &path) {
  absl::StatusOr<std::string> text = ReadFile(path, kMaxTextFileBytes);
  if (!text.ok())
    return text.status();
  return Parse(*text, path);
}

absl::StatusOr<BerTable> BerTable::Parse(absl::string_view text,
                                         absl::string_view source) {
  const std::string expected_header =
      absl::StrCat("expected 'cycles,ber' or 'cycles,", CellName(CELL_1T1R),
                   ",", CellName(CELL_2T2R), "'");
  BerTable table;
  table.source_ = std::string(source);
  // The column of cycles, of a BER for both cells, and of each cell's BER;
  // of the reads of every BER column, and of each cell's reads.
  int cycles_column = -1, both_column = -1;
  int cell_column[2] = {-1, -1};
  int reads_column = -1;
  int cell_reads_column[2] = {-1, -1};
  size_t columns = 0;
  int header_line = 0;
  double last_cycles = 0;
  std::string last_cycles_text;
  int line_number = 0;
  auto error = [&](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", line_number, ": ", message));
  };

  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line); // also a '\r' of CRLF files
    if (line.empty() || line[0] == '#')
      continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    for (absl::string_view &field : fields)
      field = absl::StripAsciiWhitespace(field);

    if (header_line == 0) {
      header_line = line_number;
      table.header_ = std::string(line);
      columns = fields.size();
      for (size_t i = 0; i < fields.size(); ++i) {
        std::string name = absl::AsciiStrToLower(fields[i]);
        std::optional<CellType> cell =
            ParseCellType(absl::AsciiStrToUpper(fields[i]));
        absl::string_view reads_of = name;
        std::optional<CellType> reads_cell;
        if (absl::ConsumeSuffix(&reads_of, "_reads"))
          reads_cell = ParseCellType(absl::AsciiStrToUpper(reads_of));
        int *column = name == "cycles"  ? &cycles_column
                      : name == "ber"   ? &both_column
                      : name == "reads" ? &reads_column
                      : cell            ? &cell_column[CellIndex(*cell)]
                      : reads_cell ? &cell_reads_column[CellIndex(*reads_cell)]
                                   : nullptr;
        if (column == nullptr)
          return error(absl::StrCat("unknown column '", fields[i],
                                    "' in the header: ", expected_header,
                                    ", and optionally 'reads' or '",
                                    CellName(CELL_1T1R), "_reads' and '",
                                    CellName(CELL_2T2R), "_reads'"));
        if (*column >= 0)
          return error(absl::StrCat("column '", fields[i],
                                    "' appears twice in the header"));
        *column = static_cast<int>(i);
      }
      if (cycles_column < 0)
        return error(absl::StrCat("the header has no 'cycles' column: ",
                                  expected_header));
      bool has_cell = cell_column[0] >= 0 || cell_column[1] >= 0;
      if (both_column >= 0 && has_cell)
        return error(absl::StrCat("the header mixes 'ber' with per-cell "
                                  "columns: ",
                                  expected_header));
      if (both_column < 0 && !has_cell)
        return error(
            absl::StrCat("the header has no BER column: ", expected_header));
      bool has_cell_reads =
          cell_reads_column[0] >= 0 || cell_reads_column[1] >= 0;
      if (reads_column >= 0 && has_cell_reads)
        return error("the header mixes 'reads' with per-cell reads columns: "
                     "give one or the other");
      for (CellType cell : {CELL_1T1R, CELL_2T2R})
        if (cell_reads_column[CellIndex(cell)] >= 0 &&
            cell_column[CellIndex(cell)] < 0)
          return error(absl::StrCat("column '", CellName(cell),
                                    "_reads' gives the reads of a BER column "
                                    "the header does not have: add '",
                                    CellName(cell), "'"));
      table.single_column_ = both_column >= 0;
      continue;
    }

    if (fields.size() != columns)
      return error(absl::StrCat("expected ", columns, " values (",
                                table.header_, "), found ", fields.size()));
    double values[6];
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!absl::SimpleAtod(fields[i], &values[i]) || !std::isfinite(values[i]))
        return error(absl::StrCat("value ", i + 1, " ('", fields[i],
                                  "') is not a finite number"));
    }
    double cycles = values[cycles_column];
    if (cycles < 0)
      return error(absl::StrCat("cycles ", fields[cycles_column],
                                " is negative: expected >= 0"));
    if (!table.decades_.empty() && !(cycles > last_cycles))
      return error(absl::StrCat("cycles ", fields[cycles_column],
                                " does not exceed the previous row's ",
                                last_cycles_text,
                                ": rows must have strictly increasing cycles"));
    for (int cell = 0; cell < 2; ++cell) {
      int column = both_column >= 0 ? both_column : cell_column[cell];
      if (column < 0)
        continue;
      double ber = values[column];
      if (!(ber >= 0 && ber <= 0.5))
        return error(
            absl::StrCat("BER ", fields[column], " is outside [0, 0.5]"));
      table.ber_[cell].push_back(ber);
      int reads = reads_column >= 0 ? reads_column : cell_reads_column[cell];
      if (reads < 0)
        continue;
      double count = values[reads];
      if (!(count >= 1 && count == std::floor(count) && count < 0x1p53))
        return error(absl::StrCat("reads ", fields[reads],
                                  " is not a whole number >= 1"));
      table.reads_[cell].push_back(count);
    }
    last_cycles = cycles;
    last_cycles_text = std::string(fields[cycles_column]);
    table.decades_.push_back(Decades(cycles));
    table.cycles_.push_back(cycles);
  }

  if (header_line == 0)
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": empty BER table: ", expected_header, " and then rows"));
  if (table.decades_.empty())
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":", header_line, ": the BER table has a header but no rows"));
  return table;
}

const std::vector<double> &BerTable::bers(CellType cell) const {
  static const std::vector<double> *none = new std::vector<double>();
  int index = CellIndex(cell);
  return index < 0 ? *none : ber_[index];
}

const std::vector<double> &BerTable::reads(CellType cell) const {
  static const std::vector<double> *none = new std::vector<double>();
  int index = CellIndex(cell);
  return index < 0 ? *none : reads_[index];
}

absl::StatusOr<double> BerTable::Lookup(CellType cell, double cycles) const {
  int index = CellIndex(cell);
  if (index < 0)
    return absl::InvalidArgumentError(absl::StrCat(
        source_, ": no BER for an unspecified cell type: expected ",
        CellName(CELL_1T1R), " or ", CellName(CELL_2T2R)));
  const std::vector<double> &ber = ber_[index];
  if (ber.empty())
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": the BER table has no column for ",
                     CellName(cell), " cells (header '", header_, "'): add a '",
                     CellName(cell), "' column or use a single 'ber' column"));
  if (!(cycles >= 0))
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": cannot look up the BER at ", cycles,
                     " cycles: expected cycles >= 0"));

  double x = Decades(cycles);
  if (x <= decades_.front())
    return ber.front();
  if (x >= decades_.back())
    return ber.back();
  // The row after x; there is one before it, since x is inside the range.
  size_t upper =
      std::upper_bound(decades_.begin(), decades_.end(), x) - decades_.begin();
  size_t lower = upper - 1;
  double span = decades_[upper] - decades_[lower];
  // Huge, nearly equal cycle counts can share a log; take the later row.
  if (!(span > 0))
    return ber[upper];
  double t = (x - decades_[lower]) / span;
  double a = ber[lower], b = ber[upper];
  // A BER of 0 has no logarithm: interpolate that segment linearly.
  if (a == 0 || b == 0)
    return a + t * (b - a);
  return std::pow(10.0, std::log10(a) + t * (std::log10(b) - std::log10(a)));
}

std::vector<int64_t> SampleFlips(int64_t count, double p,
                                 std::mt19937_64 &random) {
  std::vector<int64_t> flips;
  if (count <= 0 || !(p > 0))
    return flips;
  if (p >= 1) {
    flips.resize(count);
    for (int64_t i = 0; i < count; ++i)
      flips[i] = i;
    return flips;
  }
  // Room for the mean plus a few standard deviations, capped at count.
  double expected = static_cast<double>(count) * p;
  flips.reserve(static_cast<size_t>(std::min<double>(
      static_cast<double>(count), expected + 6 * std::sqrt(expected) + 16)));
  // The gap before each flip is geometric: P(gap = k) = (1-p)^k p. Inversion
  // of u uniform in (0, 1] gives it as floor(log(u) / log(1 - p)); log1p
  // keeps log(1 - p) accurate for the tiny p of real devices.
  const double log_keep = std::log1p(-p);
  int64_t position = 0;
  while (true) {
    // 53 random bits, shifted into (0, 1] so that log(u) is finite.
    double u = static_cast<double>((random() >> 11) + 1) * 0x1p-53;
    double gap = std::floor(std::log(u) / log_keep);
    // Compare in double: a huge gap must not overflow int64_t.
    if (gap >= static_cast<double>(count - position))
      break;
    position += static_cast<int64_t>(gap);
    flips.push_back(position);
    ++position;
    if (position >= count)
      break;
  }
  return flips;
}

std::mt19937_64 TrialEngine(uint64_t seed, uint64_t trial) {
  // seed_seq takes 32-bit words; spreading all 128 bits through it gives
  // streams that do not overlap in practice, whatever the seed and trial.
  std::seed_seq sequence{
      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
      static_cast<uint32_t>(trial), static_cast<uint32_t>(trial >> 32)};
  return std::mt19937_64(sequence);
}

} // namespace hafnia
