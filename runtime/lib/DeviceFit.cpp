// Fitting the device model to a measured BER-versus-cycles table: least
// squares on log10(BER), or maximum likelihood on counts when the table
// gives the reads, minimized by Levenberg-Marquardt (LevenbergMarquardt.h)
// over the fitted fields mapped onto the whole real line (a logarithm for
// spreads and rates, a logit for fractions), so every step stays a valid
// model.

#include <algorithm>
#include <cmath>
#include <set>

#include "DevicePlot.h"
#include "LevenbergMarquardt.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/DeviceFit.h"

namespace hafnia {
namespace {

// Where a field lives: (0, inf), (0, 1) or (0, 0.5).
enum class Domain { kPositive, kUnit, kHalf };

struct FieldSpec {
  const char *name;
  Domain domain;
};

// Every double field of DeviceModel, in the proto's order.
constexpr FieldSpec kFields[] = {
    {"log_window", Domain::kPositive},
    {"log_sigma", Domain::kPositive},
    {"sigma_growth_per_decade", Domain::kPositive},
    {"window_loss_per_decade", Domain::kUnit},
    {"lrs_log_sigma", Domain::kPositive},
    {"hrs_log_sigma", Domain::kPositive},
    {"lrs_sigma_growth_per_decade", Domain::kPositive},
    {"hrs_sigma_growth_per_decade", Domain::kPositive},
    {"sense_offset_sigma", Domain::kPositive},
    {"reference_log_sigma", Domain::kPositive},
    {"stuck_lrs_fraction", Domain::kHalf},
    {"stuck_hrs_fraction", Domain::kHalf},
    {"array_sigma_spread", Domain::kUnit},
};

const FieldSpec *FindSpec(const std::string &name) {
  for (const FieldSpec &spec : kFields)
    if (name == spec.name)
      return &spec;
  return nullptr;
}

double ToLine(double p, Domain domain) {
  switch (domain) {
  case Domain::kPositive:
    return std::log(p);
  case Domain::kUnit:
    return std::log(p / (1 - p));
  case Domain::kHalf:
    return std::log(2 * p / (1 - 2 * p));
  }
  return p;
}

double FromLine(double u, Domain domain) {
  switch (domain) {
  case Domain::kPositive:
    return std::exp(u);
  case Domain::kUnit:
    return 1 / (1 + std::exp(-u));
  case Domain::kHalf:
    return 0.5 / (1 + std::exp(-u));
  }
  return u;
}

// dp/du at p.
double Slope(double p, Domain domain) {
  switch (domain) {
  case Domain::kPositive:
    return p;
  case Domain::kUnit:
    return p * (1 - p);
  case Domain::kHalf:
    return p * (1 - 2 * p);
  }
  return 1;
}

const google::protobuf::FieldDescriptor *Descriptor(const std::string &name) {
  return DeviceModel::descriptor()->FindFieldByName(name);
}

double Get(const DeviceModel &device, const std::string &name) {
  return device.GetReflection()->GetDouble(device, Descriptor(name));
}

void Set(DeviceModel &device, const std::string &name, double value) {
  device.GetReflection()->SetDouble(&device, Descriptor(name), value);
}

// The value a field has in effect: an unset state spread or growth is
// log_sigma's or sigma_growth_per_decade's.
double Effective(const DeviceModel &device, const std::string &name) {
  const google::protobuf::FieldDescriptor *field = Descriptor(name);
  if (field->has_presence() && !device.GetReflection()->HasField(device, field))
    return name.find("growth") != std::string::npos
               ? device.sigma_growth_per_decade()
               : device.log_sigma();
  return Get(device, name);
}

// Where a fit of `name` starts when the model gives it no usable value (0,
// or outside the open domain).
double FallbackStart(const DeviceModel &device, const std::string &name) {
  if (name.find("growth") != std::string::npos)
    return 0.01;
  if (name == "window_loss_per_decade")
    return 0.005;
  if (name == "sense_offset_sigma" || name == "reference_log_sigma")
    return 0.1 * device.log_sigma();
  if (name == "stuck_lrs_fraction" || name == "stuck_hrs_fraction")
    return 1e-4;
  if (name == "array_sigma_spread")
    return 0.05;
  return 1;
}

bool Inside(double p, Domain domain) {
  switch (domain) {
  case Domain::kPositive:
    return p > 0 && std::isfinite(p);
  case Domain::kUnit:
    return p > 0 && p < 1;
  case Domain::kHalf:
    return p > 0 && p < 0.5;
  }
  return false;
}

// x log(x / y), 0 at x = 0.
double XLogRatio(double x, double y) { return x > 0 ? x * std::log(x / y) : 0; }

struct DataPoint {
  CellType cell;
  double cycles, ber, reads;
};

} // namespace

const std::vector<std::string> &FittableDeviceFields() {
  static const std::vector<std::string> *fields = [] {
    auto *names = new std::vector<std::string>();
    for (const FieldSpec &spec : kFields)
      names->push_back(spec.name);
    return names;
  }();
  return *fields;
}

std::vector<std::string> DefaultFitFields(const std::vector<CellType> &cells) {
  if (cells.size() > 1)
    return {"lrs_log_sigma", "hrs_log_sigma", "sigma_growth_per_decade"};
  return {"log_sigma", "sigma_growth_per_decade"};
}

absl::StatusOr<DeviceFit> FitDeviceModel(const BerTable &table,
                                         const DeviceFitOptions &options) {
  const std::string &source = table.source();
  auto invalid = [&](absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", message));
  };
  if (options.cells.empty())
    return invalid("no cell to fit: give 1T1R, 2T2R or both");
  std::set<CellType> seen_cells;
  for (CellType cell : options.cells) {
    if (cell != CELL_1T1R && cell != CELL_2T2R)
      return invalid("a fit reads 1T1R or 2T2R columns");
    if (!seen_cells.insert(cell).second)
      return invalid(absl::StrCat("cell ", CellName(cell), " is given twice"));
    if (table.bers(cell).empty())
      return table.Lookup(cell, 0).status();
  }
  if (options.cells.size() > 1 && table.single_column())
    return invalid(absl::StrCat(
        "a single 'ber' column gives one BER for either cell, not one for "
        "each: fit it as ",
        CellName(CELL_1T1R), " or as ", CellName(CELL_2T2R), ", or give '",
        CellName(CELL_1T1R), "' and '", CellName(CELL_2T2R), "' columns"));

  // The fields to fit, checked.
  std::vector<std::string> names =
      options.fields.empty() ? DefaultFitFields(options.cells) : options.fields;
  std::vector<Domain> domains;
  std::set<std::string> seen;
  for (const std::string &name : names) {
    const FieldSpec *spec = FindSpec(name);
    if (!spec)
      return invalid(absl::StrCat("unknown device field '", name,
                                  "': fit some of ",
                                  absl::StrJoin(FittableDeviceFields(), ", ")));
    if (!seen.insert(name).second)
      return invalid(absl::StrCat("field '", name, "' is given twice"));
    domains.push_back(spec->domain);
  }

  // The data, and the method they allow.
  bool counts = true;
  for (CellType cell : options.cells)
    counts = counts && !table.reads(cell).empty();
  std::vector<DataPoint> data;
  for (CellType cell : options.cells) {
    const std::vector<double> &bers = table.bers(cell);
    for (size_t i = 0; i < bers.size(); ++i) {
      if (!counts && bers[i] == 0)
        return invalid(absl::StrCat(
            "the ", CellName(cell), " BER at ", table.cycles()[i],
            " cycles is 0, which has no logarithm: give the reads ('reads' "
            "column) to fit by maximum likelihood on counts, or leave the row "
            "out"));
      data.push_back({cell, table.cycles()[i], bers[i],
                      counts ? table.reads(cell)[i] : 0});
    }
  }
  const size_t m = data.size(), n = names.size();
  if (m < n)
    return invalid(absl::StrCat(m, " measured BER(s) cannot determine ", n,
                                " fields: fit fewer fields or give more rows"));

  // The start: the given model, each fitted field at a value inside its
  // domain; two equal state spreads fitted together start apart (HRS wider,
  // as in HfO2), since the BERs are symmetric in them.
  DeviceModel start = options.start;
  std::vector<double> x(n);
  for (size_t j = 0; j < n; ++j) {
    double value = Effective(start, names[j]);
    if (!Inside(value, domains[j]))
      value = FallbackStart(start, names[j]);
    Set(start, names[j], value);
  }
  if (seen.count("lrs_log_sigma") && seen.count("hrs_log_sigma") &&
      start.lrs_log_sigma() == start.hrs_log_sigma()) {
    start.set_lrs_log_sigma(start.lrs_log_sigma() * 0.8);
    start.set_hrs_log_sigma(start.hrs_log_sigma() * 1.25);
  }
  for (size_t j = 0; j < n; ++j)
    x[j] = ToLine(Get(start, names[j]), domains[j]);

  auto model_at = [&](const std::vector<double> &u) {
    DeviceModel device = start;
    for (size_t j = 0; j < n; ++j)
      Set(device, names[j], FromLine(u[j], domains[j]));
    return device;
  };
  auto residual = [&](const DataPoint &point, double fitted) {
    if (!counts)
      return std::log10(std::max(fitted, 1e-300)) - std::log10(point.ber);
    double p = std::min(std::max(fitted, 1e-300), 1 - 1e-16);
    double k = point.ber * point.reads, reads = point.reads;
    double deviance =
        2 * (XLogRatio(k, reads * p) + XLogRatio(reads - k, reads * (1 - p)));
    double r = std::sqrt(std::max(deviance, 0.0));
    return reads * p >= k ? r : -r;
  };
  lm::Residuals f = [&](const std::vector<double> &u, std::vector<double> &r) {
    DeviceModel device = model_at(u);
    for (size_t i = 0; i < m; ++i) {
      r[i] =
          residual(data[i], BitErrorRate(device, data[i].cell, data[i].cycles));
      if (!std::isfinite(r[i]))
        return false;
    }
    return true;
  };

  // Fields the data do not see, or cannot tell apart, make the problem
  // singular: refuse them with their names.
  std::vector<double> jacobian;
  if (!lm::Jacobian(f, x, m, jacobian))
    return invalid("the device model cannot be evaluated at the start");
  std::vector<double> norm(n, 0);
  double largest = 0;
  for (size_t j = 0; j < n; ++j) {
    for (size_t i = 0; i < m; ++i)
      norm[j] += jacobian[i * n + j] * jacobian[i * n + j];
    largest = std::max(largest, norm[j]);
  }
  for (size_t j = 0; j < n; ++j)
    if (!(norm[j] > 1e-20 * std::max(largest, 1.0)))
      return invalid(absl::StrCat(
          "field '", names[j],
          "' does not change the fitted BERs (with the other fields as given "
          "and the cells fitted): leave it out of the fit"));
  for (size_t a = 0; a < n; ++a)
    for (size_t b = a + 1; b < n; ++b) {
      double dot = 0;
      for (size_t i = 0; i < m; ++i)
        dot += jacobian[i * n + a] * jacobian[i * n + b];
      if (std::fabs(dot) > (1 - 1e-9) * std::sqrt(norm[a] * norm[b]))
        return invalid(absl::StrCat(
            "fields '", names[a], "' and '", names[b],
            "' change the fitted BERs alike, so the data determine only a "
            "combination of them: fit one and give the other"));
    }

  absl::StatusOr<lm::Result> result = lm::Minimize(f, x, m);
  if (!result.ok())
    return invalid(result.status().message());

  DeviceFit fit;
  fit.device = model_at(result->x);
  fit.maximum_likelihood = counts;
  fit.cost = result->cost;
  fit.iterations = result->iterations;
  fit.converged = result->converged;
  fit.stop = result->stop;
  // Standard errors from the curvature: (J^T J)^-1, scaled by the residual
  // variance for least squares, through dp/du to the fields.
  std::vector<double> jtj(n * n, 0);
  for (size_t i = 0; i < m; ++i)
    for (size_t a = 0; a < n; ++a)
      for (size_t b = 0; b < n; ++b)
        jtj[a * n + b] +=
            result->jacobian[i * n + a] * result->jacobian[i * n + b];
  std::vector<double> covariance = lm::InverseSpd(jtj, n);
  double variance = counts ? 1.0 : (m > n ? result->cost / (m - n) : NAN);
  for (size_t j = 0; j < n; ++j) {
    DeviceFit::Field field;
    field.name = names[j];
    field.start = Get(start, names[j]);
    field.value = Get(fit.device, names[j]);
    field.standard_error =
        covariance.empty()
            ? NAN
            : Slope(field.value, domains[j]) *
                  std::sqrt(variance * std::max(covariance[j * n + j], 0.0));
    fit.fields.push_back(field);
  }
  for (size_t i = 0; i < m; ++i) {
    DeviceFit::Point point;
    point.cell = data[i].cell;
    point.cycles = data[i].cycles;
    point.measured = data[i].ber;
    point.reads = data[i].reads;
    point.fitted = BitErrorRate(fit.device, data[i].cell, data[i].cycles);
    point.residual = result->residuals[i];
    fit.points.push_back(point);
  }
  return fit;
}

std::string FormatDeviceFit(const DeviceFit &fit, const BerTable &table) {
  std::set<CellType> cells;
  for (const DeviceFit::Point &point : fit.points)
    cells.insert(point.cell);
  std::vector<std::string> cell_names;
  for (CellType cell : {CELL_1T1R, CELL_2T2R})
    if (cells.count(cell))
      cell_names.push_back(CellName(cell));
  size_t m = fit.points.size(), n = fit.fields.size();
  std::string text = absl::StrFormat(
      "# fit of %s: %s, %d points, %s\n", table.source(),
      absl::StrJoin(cell_names, " and "), m,
      fit.maximum_likelihood ? "maximum likelihood on the counts (binomial)"
                             : "least squares on log10(BER)");
  absl::StrAppendFormat(&text, "# %s after %d iterations (%s)\n",
                        fit.converged ? "converged" : "NOT converged",
                        fit.iterations, fit.stop);
  if (fit.maximum_likelihood)
    absl::StrAppendFormat(&text, "# deviance %.4g on %d degrees of freedom\n",
                          fit.cost, static_cast<int>(m - n));
  else
    absl::StrAppendFormat(
        &text, "# sum of squared residuals %.4g, rms %.3g decades\n", fit.cost,
        std::sqrt(fit.cost / std::max<size_t>(m, 1)));
  absl::StrAppendFormat(&text, "#\n# %-28s %12s %12s %12s\n", "field", "start",
                        "fitted", "std. error");
  for (const DeviceFit::Field &field : fit.fields)
    absl::StrAppendFormat(&text, "# %-28s %12.6g %12.6g %12s\n", field.name,
                          field.start, field.value,
                          std::isfinite(field.standard_error)
                              ? absl::StrFormat("%.2g", field.standard_error)
                              : std::string("-"));
  absl::StrAppend(&text, FormatDeviceBlock(fit.device));
  absl::StrAppendFormat(&text, "#\n# residuals: %s\n",
                        fit.maximum_likelihood
                            ? "signed deviance, + where the fit expects more "
                              "errors than measured"
                            : "log10(fitted / measured)");
  absl::StrAppendFormat(&text, "# %-5s %12s %12s %12s", "cell", "cycles",
                        "measured", "fitted");
  if (fit.maximum_likelihood)
    absl::StrAppendFormat(&text, " %12s", "reads");
  absl::StrAppendFormat(&text, " %10s\n", "residual");
  for (const DeviceFit::Point &point : fit.points) {
    absl::StrAppendFormat(&text, "# %-5s %12g %12.4g %12.4g",
                          CellName(point.cell), point.cycles, point.measured,
                          point.fitted);
    if (fit.maximum_likelihood)
      absl::StrAppendFormat(&text, " %12g", point.reads);
    absl::StrAppendFormat(&text, " %10.3g\n", point.residual);
  }
  return text;
}

std::string DeviceFitToSvg(const DeviceFit &fit, const BerTable &table) {
  std::vector<PlotSeries> series;
  for (CellType cell : {CELL_1T1R, CELL_2T2R}) {
    PlotSeries measured{absl::StrCat(CellName(cell), " measured"),
                        cell == CELL_1T1R ? kColor1T1R : kColor2T2R,
                        {},
                        false};
    double lowest = 1e300, highest = 0;
    for (const DeviceFit::Point &point : fit.points)
      if (point.cell == cell) {
        measured.points.push_back({point.cycles, point.measured});
        lowest = std::min(lowest, point.cycles);
        highest = std::max(highest, point.cycles);
      }
    if (measured.points.empty())
      continue;
    PlotSeries fitted{
        absl::StrCat(CellName(cell), " fitted"), measured.color, {}, true};
    for (double n : SmoothCycles(lowest, highest))
      fitted.points.push_back({n, BitErrorRate(fit.device, cell, n)});
    series.push_back(std::move(measured));
    series.push_back(std::move(fitted));
  }
  std::string name =
      table.source().substr(table.source().find_last_of('/') + 1);
  return BerAgainstCyclesSvg(
      absl::StrCat("fit of ", name,
                   ": measured (circles) and fitted (lines) bit-error rate"),
      series);
}

} // namespace hafnia
