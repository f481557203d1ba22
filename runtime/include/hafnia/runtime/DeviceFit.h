// The device model against measurements and as a picture: fitting its
// parameters to a measured BER-versus-cycles table, and the BERs of both
// cells against programming cycles (the paper's Fig. 4). The library behind
// hafnia-device; see docs/device-model.md.

#ifndef HAFNIA_RUNTIME_DEVICEFIT_H
#define HAFNIA_RUNTIME_DEVICEFIT_H

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hafnia/proto/chip.pb.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Ecc.h"

namespace hafnia {

// The fields of DeviceModel a fit can free, in the proto's order.
const std::vector<std::string> &FittableDeviceFields();

// The fields fitted when none are named: for one cell, log_sigma and
// sigma_growth_per_decade (the BERs of one cell fix only the ratio of
// window to spread, so the window stays as given); for both cells,
// lrs_log_sigma, hrs_log_sigma and sigma_growth_per_decade (the two cells
// weigh the two states' spreads differently).
std::vector<std::string> DefaultFitFields(const std::vector<CellType> &cells);

struct DeviceFitOptions {
  // The cells whose columns are fitted: CELL_1T1R, CELL_2T2R or both.
  std::vector<CellType> cells;
  // The fields of DeviceModel to fit, by name; empty: DefaultFitFields.
  std::vector<std::string> fields;
  // The starting values, and the values of every field not fitted.
  DeviceModel start;
};

struct DeviceFit {
  // The fitted model: `start` with the fitted fields replaced.
  DeviceModel device;
  // Least squares on log10(BER) or, when the table gives the reads of every
  // fitted cell, maximum likelihood on the binomial counts.
  bool maximum_likelihood = false;
  struct Field {
    std::string name;
    double start = 0, value = 0;
    // From the curvature of the cost at the fit (the inverse of J^T J,
    // scaled by the residual variance for least squares); NaN when the data
    // do not determine it.
    double standard_error = 0;
  };
  std::vector<Field> fields;
  struct Point {
    CellType cell = CELL_TYPE_UNSPECIFIED;
    double cycles = 0, measured = 0, fitted = 0;
    // The reads behind the measured BER (0: not given).
    double reads = 0;
    // log10(fitted / measured) for least squares; the signed deviance
    // residual for maximum likelihood.
    double residual = 0;
  };
  std::vector<Point> points;
  // The sum of the squared residuals (the deviance for maximum likelihood).
  double cost = 0;
  int iterations = 0;
  bool converged = false;
  std::string stop;
};

// Fits `options.fields` of the device model to the BERs of `options.cells`
// in `table`. Errors are one line: a cell the table has no column for, a
// single 'ber' column fitted for both cells, an unknown or repeated field, a
// BER of 0 without reads, fewer points than fields, a field the data do not
// see, two fields the data cannot tell apart.
absl::StatusOr<DeviceFit> FitDeviceModel(const BerTable &table,
                                         const DeviceFitOptions &options);

// The `device { ... }` block of a chip configuration, in text format: every
// field set (six significant digits), in the proto's order.
std::string FormatDeviceBlock(const DeviceModel &device);

// A fit as text: '#' comments (the method, the fields with their start,
// value and standard error, the residuals) around the device block, so the
// whole is a text-format fragment ready for a chip preset.
std::string FormatDeviceFit(const DeviceFit &fit, const BerTable &table);

// The measured BERs (markers) and the fitted model (lines) against cycles on
// log-log axes, one colour per cell.
std::string DeviceFitToSvg(const DeviceFit &fit, const BerTable &table);

// The device model's BERs at one cycle count.
struct DeviceCurvePoint {
  double cycles = 0;
  DeviceState state;
  ReadErrorRates rates_1t1r, rates_2t2r;
  // BitErrorRate of each cell: +1 and -1 equally often.
  double ber_1t1r = 0, ber_2t2r = 0;
  // For each code asked for, 1T1R devices storing its code words, every
  // device failing at ber_1t1r: the rates after decoding (Ecc.h).
  std::vector<DecodedRates> ecc;
};
// The curve at `cycles`, with the 1T1R + ECC rates of `codes`.
std::vector<DeviceCurvePoint>
DeviceCurve(const DeviceModel &device, const std::vector<double> &cycles,
            const std::vector<EccCode> &codes = {});

// The curve as a table, as JSON, and as an SVG of both BERs against cycles
// on log-log axes (the model drawn smoothly between the points, which are
// marked); `chip` names the chip in titles.
// `codes` are the codes the points were computed with.
std::string FormatDeviceCurve(const std::string &chip,
                              const std::vector<DeviceCurvePoint> &points,
                              const std::vector<EccCode> &codes = {});
std::string DeviceCurveToJson(const std::string &chip,
                              const DeviceModel &device,
                              const std::vector<DeviceCurvePoint> &points,
                              const std::vector<EccCode> &codes = {});
std::string DeviceCurveToSvg(const std::string &chip, const DeviceModel &device,
                             const std::vector<DeviceCurvePoint> &points,
                             const std::vector<EccCode> &codes = {});

} // namespace hafnia

#endif // HAFNIA_RUNTIME_DEVICEFIT_H
