// The device and error model of the RRAM arrays: bit-error rates of 1T1R and
// 2T2R cells from one set of device statistics, measured BER tables, and the
// random draws of Monte Carlo trials. See docs/device-model.md.

#ifndef HAFNIA_RUNTIME_DEVICEMODEL_H
#define HAFNIA_RUNTIME_DEVICEMODEL_H

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hafnia/proto/chip.pb.h"

namespace hafnia {

// The device statistics after `cycles` programming cycles: ln R of the low-
// and high-resistance states are Gaussian, their medians `window` apart.
//   window(n) = log_window * max(0, 1 - window_loss_per_decade
//                                       * log10(1 + n))
//   sigma(n)  = log_sigma  * (1 + sigma_growth_per_decade * log10(1 + n))
// and the LRS and HRS spreads follow the same law from their own starting
// spread and growth (lrs_log_sigma, lrs_sigma_growth_per_decade, ...; each
// log_sigma's or sigma_growth_per_decade's when unset).
// Negative (or NaN) cycles count as 0: a device never programmed since test.
struct DeviceState {
  double window;
  // The spread of a state without one of its own: log_sigma grown.
  double sigma;
  double lrs_sigma;
  double hrs_sigma;
};
DeviceState DeviceStateAfter(const DeviceModel &device, double cycles);

// The chance that a stored weight reads wrong, by the value it stores: +1
// (bit 1: a 1T1R device in the LRS; a 2T2R pair with BL in the LRS, BLb in
// the HRS) and -1 (bit 0). A 2T2R cell errs alike either way; a 1T1R cell
// does not when its states spread differently or stick differently.
struct ReadErrorRates {
  double plus = 0;  // P(reads -1 | stores +1)
  double minus = 0; // P(reads +1 | stores -1)
  // The BER of a cell storing +1 and -1 equally often, as Fig. 4 measures
  // it (the pair is programmed alternately).
  double Mean() const { return 0.5 * (plus + minus); }
  bool Symmetric() const { return plus == minus; }
};

// The read error rates of `cell` after `cycles` in one array whose LRS and
// HRS spreads are multiplied by `spread_multiplier` (1: the median array).
// With x = window(n), s_L and s_H the multiplied spreads, o the sense
// offset's spread, r the reference's, f_L and f_H the stuck fractions, and
// Phi the standard normal CDF:
//   1T1R: t_L = Phi(-(x/2) / sqrt(s_L^2 + r^2 + o^2)), t_H likewise with s_H
//         plus  = (1 - f_H) t_L + f_H (1 - t_H)
//         minus = (1 - f_L) t_H + f_L (1 - t_L)
//   2T2R: t = Phi(-x / sqrt(s_L^2 + s_H^2 + o^2))
//         plus = minus = (1 - f_L)(1 - f_H) t + f_L f_H (1 - t)
//                        + (f_L (1 - f_H) + f_H (1 - f_L)) / 2
// (a pair with both devices in one state reads either way with chance 1/2).
// A closed window gives 0.5. Any cell but CELL_1T1R reads as 2T2R.
ReadErrorRates ReadErrorRatesIn(const DeviceModel &device, CellType cell,
                                double cycles, double spread_multiplier);

// The read error rates of a cell of any array: ReadErrorRatesIn averaged
// over the arrays' spread multipliers exp(array_sigma_spread * z), z
// standard normal (a trapezoid rule in z over [-10, 10] with step 1/8,
// exact to double precision for these smooth integrands); without per-array
// variation, the median array's.
ReadErrorRates CellReadErrorRates(const DeviceModel &device, CellType cell,
                                  double cycles);

// Bit-error rate of reading one stored weight, +1 and -1 equally often: the
// Mean() of CellReadErrorRates. For a model of fields 1 to 4 only (one
// spread, an ideal read, no stuck devices, arrays alike) it is, bit for bit
// as before,
//   1T1R (one device against a reference at mid-window):
//     Phi(-window / (2 sigma))
//   2T2R (the two devices compared by the PCSA; their difference has spread
//     sqrt(2) sigma): Phi(-window / (sqrt(2) sigma))
// Phi is computed with erfc to keep its tail accurate. A closed window gives
// 0.5. Any cell but CELL_1T1R reads as 2T2R, the chip's cell
// (ValidateChipConfig rejects an unspecified one).
double BitErrorRate(const DeviceModel &device, CellType cell, double cycles);

// Whether `device` sets only the four fields of the symmetric model
// (log_window, log_sigma and their per-decade laws).
bool IsSymmetricDeviceModel(const DeviceModel &device);

// How one programming of a chip draws its bit errors: a read cell's chance
// to read wrong by its stored value, the same in every array (a BER given as
// it is, a BER table's, the device model's without per-array variation), or
// drawn for every array on every programming (the device model's per-array
// variation).
class BitErrors {
public:
  // Every cell reads wrong with `ber`, whatever it stores. Implicit: a BER
  // is the simplest error model.
  BitErrors(double ber) : rates_{ber, ber} {} // NOLINT(runtime/explicit)
  // The device model's rates of `cell` after `cycles` cycles.
  static BitErrors FromDevice(const DeviceModel &device, CellType cell,
                              double cycles);

  // A cell's expected rates, over the arrays when they vary.
  const ReadErrorRates &rates() const { return rates_; }
  // Whether each array draws its own rates.
  bool VariesByArray() const { return spread_ > 0; }
  // The rates of one array for one programming: rates() when the arrays are
  // alike, with nothing drawn; otherwise ReadErrorRatesIn at a multiplier
  // exp(array_sigma_spread * z), z standard normal drawn from `random` (Box-
  // Muller on two 53-bit uniforms, independent of the standard library's
  // distributions).
  ReadErrorRates DrawArrayRates(std::mt19937_64 &random) const;

  // These errors confined to `arrays` (physical indices), for sensitivity
  // runs: every other array reads error-free.
  BitErrors ConfinedTo(std::vector<uint32_t> arrays) const {
    BitErrors confined = *this;
    std::sort(arrays.begin(), arrays.end());
    confined.confined_ = true;
    confined.arrays_ = std::move(arrays);
    return confined;
  }
  // The factor on `array`'s rates: 1 where these errors reach, 0 where
  // ConfinedTo keeps them out (the chip's array_ber_multiplier comes on top).
  double ArrayMultiplier(uint32_t array) const {
    return !confined_ ||
                   std::binary_search(arrays_.begin(), arrays_.end(), array)
               ? 1
               : 0;
  }

private:
  ReadErrorRates rates_;
  double spread_ = 0;
  DeviceModel device_;
  CellType cell_ = CELL_TYPE_UNSPECIFIED;
  double cycles_ = 0;
  bool confined_ = false;
  std::vector<uint32_t> arrays_;
};

// `rates` multiplied by `scale` (an array's BER multiplier), a rate raised
// no higher than 0.5 (a cell that reads at random) unless it was higher.
ReadErrorRates ScaledRates(ReadErrorRates rates, double scale);

// A measured BER-versus-cycles table, from CSV: a header line, then one row
// per cycle count. Accepted headers (case-insensitive, columns in any order):
//   cycles,ber             one BER for either cell
//   cycles,1T1R,2T2R       a BER per cell (either cell column may be left out)
// and optionally the reads each BER was measured on, for fits by maximum
// likelihood on counts: 'reads' for every BER column, or '1T1R_reads' and
// '2T2R_reads' for each cell's (a whole number >= 1).
// Cycles are >= 0 and strictly increasing; BERs lie in [0, 0.5]. Blank lines
// and lines starting with '#' are skipped. Lookup interpolates log10(BER)
// linearly in log10(1 + cycles) (BER itself when either end is 0) and clamps
// outside the table's range. Errors name the file and line.
class BerTable {
public:
  // Reads and parses the CSV file at `path`.
  static absl::StatusOr<BerTable> Load(const std::string &path);
  // Parses CSV `text`; `source` names it in errors.
  static absl::StatusOr<BerTable> Parse(absl::string_view text,
                                        absl::string_view source);
  // The BER of `cell` after `cycles` programming cycles. Fails
  // (InvalidArgument naming the file) when the table has no column for
  // `cell`, or when cycles is negative or NaN.
  absl::StatusOr<double> Lookup(CellType cell, double cycles) const;
  // The file (or source) the table was read from.
  const std::string &source() const { return source_; }
  // The header as written.
  const std::string &header() const { return header_; }
  // The rows' cycle counts, as read.
  const std::vector<double> &cycles() const { return cycles_; }
  // Each row's BER for `cell` and the reads behind it: empty when the table
  // has no column for the cell (no reads column). A single 'ber' column
  // (and its 'reads') serves both cells.
  const std::vector<double> &bers(CellType cell) const;
  const std::vector<double> &reads(CellType cell) const;
  // Whether the BERs are one 'ber' column for either cell.
  bool single_column() const { return single_column_; }

private:
  BerTable() = default;

  std::string source_;
  // The header as written, for errors.
  std::string header_;
  // log10(1 + cycles) of each row: the interpolation coordinate.
  std::vector<double> decades_;
  // The BER of each row for 1T1R ([0]) and 2T2R ([1]); empty when the table
  // has no column for that cell.
  std::vector<double> ber_[2];
  // The rows' cycle counts, and the reads of each cell's BERs (empty: none).
  std::vector<double> cycles_;
  std::vector<double> reads_[2];
  bool single_column_ = false;
};

// The positions, sorted and distinct, of the bits that flip among `count`
// bits each flipping independently with probability `p`, drawn with
// geometric skipping: the gap before the next flip is drawn by inversion,
// floor(log(u) / log1p(-p)) with u uniform in (0, 1], so the cost follows
// the flips, not the bits, and the draws do not depend on the standard
// library's distributions. Deterministic for a given `random` state.
// p <= 0 (or NaN) gives none, p >= 1 gives all.
std::vector<int64_t> SampleFlips(int64_t count, double p,
                                 std::mt19937_64 &random);

// The random engine of Monte Carlo trial `trial` for `seed`: independent
// streams per trial, the same whatever order or thread trials run in (a
// std::seed_seq of seed and trial).
std::mt19937_64 TrialEngine(uint64_t seed, uint64_t trial);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_DEVICEMODEL_H
