// The device and error model of the RRAM arrays: bit-error rates of 1T1R and
// 2T2R cells from one set of device statistics, measured BER tables, and the
// random draws of Monte Carlo trials. See docs/device-model.md.

#ifndef HAFNIA_RUNTIME_DEVICEMODEL_H
#define HAFNIA_RUNTIME_DEVICEMODEL_H

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hafnia/proto/chip.pb.h"

namespace hafnia {

// The device statistics after `cycles` programming cycles: ln R of the low-
// and high-resistance states are Gaussian with a common spread sigma, their
// medians `window` apart.
//   sigma(n)  = log_sigma  * (1 + sigma_growth_per_decade * log10(1 + n))
//   window(n) = log_window * max(0, 1 - window_loss_per_decade
//                                       * log10(1 + n))
// Negative (or NaN) cycles count as 0: a device never programmed since test.
struct DeviceState {
  double window;
  double sigma;
};
DeviceState DeviceStateAfter(const DeviceModel &device, double cycles);

// Bit-error rate of reading one stored weight, from the same device
// statistics for both cells:
//   1T1R (one device against a reference at mid-window):
//     Phi(-window / (2 sigma))
//   2T2R (the two devices compared by the PCSA; their difference has spread
//     sqrt(2) sigma): Phi(-window / (sqrt(2) sigma))
// Phi is the standard normal CDF, computed with erfc to keep its tail
// accurate. A closed window gives 0.5. Any cell but CELL_1T1R reads as 2T2R,
// the chip's cell (ValidateChipConfig rejects an unspecified one).
double BitErrorRate(const DeviceModel &device, CellType cell, double cycles);

// A measured BER-versus-cycles table, from CSV: a header line, then one row
// per cycle count. Accepted headers (case-insensitive, columns in any order):
//   cycles,ber             one BER for either cell
//   cycles,1T1R,2T2R       a BER per cell (either cell column may be left out)
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
