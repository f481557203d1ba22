// The device model's BERs against programming cycles (the paper's Fig. 4) as
// a table, JSON and SVG; the device block of a chip configuration as text;
// the log-log plots of DevicePlot.h.

#include <algorithm>
#include <cmath>

#include "DevicePlot.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "hafnia/runtime/DeviceFit.h"

namespace hafnia {
namespace {

std::string Escape(const std::string &text) {
  return absl::StrReplaceAll(
      text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

// A number for JSON: finite, or null.
std::string JsonNumber(double value) {
  if (!std::isfinite(value))
    return "null";
  return absl::StrFormat("%.10g", value);
}

std::string Ratio(double a, double b) {
  if (!(b > 0))
    return "-";
  return absl::StrFormat("%.3g", a / b);
}

} // namespace

void AppendDecadeGrid(std::string &svg, int first, int last, int step,
                      const std::function<double(double)> &px, int top,
                      int height) {
  for (int d = first; d <= last; d += step) {
    double x = px(std::pow(10.0, d));
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                          "stroke=\"#dddddd\"/><text x=\"%.1f\" y=\"%d\" "
                          "text-anchor=\"middle\">1e%d</text>\n",
                          x, top, x, top + height, x, top + height + 18, d);
  }
}

std::vector<double> SmoothCycles(double lowest, double highest) {
  double lo = std::log10(std::max(lowest, 1.0));
  double hi = std::log10(std::max(highest, 1.0));
  std::vector<double> cycles;
  int steps = std::max(1, static_cast<int>(std::ceil((hi - lo) * 20)));
  for (int i = 0; i <= steps; ++i)
    cycles.push_back(std::pow(10.0, lo + (hi - lo) * i / steps));
  return cycles;
}

std::string BerAgainstCyclesSvg(const std::string &title,
                                const std::vector<PlotSeries> &series) {
  const int width = 760, height = 440, left = 80, right = 160, top = 40,
            bottom = 60;
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  double x_lo = 1e300, x_hi = 0, y_lo = 1e300, y_hi = 0;
  for (const PlotSeries &s : series)
    for (auto [x, y] : s.points) {
      x = std::max(x, 1.0);
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      if (y > 0) {
        y_lo = std::min(y_lo, y);
        y_hi = std::max(y_hi, y);
      }
    }
  if (x_hi == 0)
    x_lo = x_hi = 1;
  if (y_hi == 0)
    y_lo = y_hi = 1e-3;
  double lx0 = std::floor(std::log10(x_lo)), lx1 = std::ceil(std::log10(x_hi));
  if (lx1 <= lx0)
    lx1 = lx0 + 1;
  double ly0 = std::floor(std::log10(y_lo)), ly1 = std::ceil(std::log10(y_hi));
  if (ly1 <= ly0)
    ly1 = ly0 + 1;
  auto px = [&](double x) {
    return left + plot_w * (std::log10(std::max(x, 1.0)) - lx0) / (lx1 - lx0);
  };
  auto py = [&](double y) {
    return top + plot_h * (1 - (std::log10(y) - ly0) / (ly1 - ly0));
  };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
      "height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"22\" "
      "font-size=\"14\">%s</text>\n",
      width, height, left, Escape(title));
  AppendDecadeGrid(svg, static_cast<int>(lx0), static_cast<int>(lx1),
                   lx1 - lx0 > 10 ? 2 : 1, px, top, plot_h);
  int y_step = ly1 - ly0 > 12 ? 2 : 1;
  for (int d = static_cast<int>(ly0); d <= static_cast<int>(ly1); d += y_step) {
    double y = py(std::pow(10.0, d));
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                          "stroke=\"#dddddd\"/><text x=\"%d\" y=\"%.1f\" "
                          "text-anchor=\"end\">1e%d</text>\n",
                          left, y, left + plot_w, y, left - 6, y + 4, d);
  }
  absl::StrAppendFormat(
      &svg,
      "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
      "stroke=\"black\"/>\n<text x=\"%d\" y=\"%d\" "
      "text-anchor=\"middle\">programming cycles</text>\n<text "
      "transform=\"translate(%d,%d) rotate(-90)\" "
      "text-anchor=\"middle\">bit-error rate</text>\n",
      left, top, plot_w, plot_h, left + plot_w / 2, height - 15, 18,
      top + plot_h / 2);
  int legend_y = top + 10;
  for (const PlotSeries &s : series) {
    std::string points;
    for (auto [x, y] : s.points) {
      if (!(y > 0))
        continue;
      if (s.line)
        absl::StrAppendFormat(&points, "%.1f,%.1f ", px(x), py(y));
      else
        absl::StrAppendFormat(&svg,
                              "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
                              "fill=\"none\" stroke=\"%s\" "
                              "stroke-width=\"1.5\"/>\n",
                              px(x), py(y), s.color);
    }
    if (s.line && !points.empty())
      absl::StrAppendFormat(&svg,
                            "<polyline points=\"%s\" fill=\"none\" "
                            "stroke=\"%s\" stroke-width=\"2\"/>\n",
                            points, s.color);
    if (s.label.empty())
      continue;
    if (s.line)
      absl::StrAppendFormat(&svg,
                            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                            "stroke=\"%s\" stroke-width=\"2\"/>",
                            left + plot_w + 10, legend_y, left + plot_w + 35,
                            legend_y, s.color);
    else
      absl::StrAppendFormat(&svg,
                            "<circle cx=\"%d\" cy=\"%d\" r=\"3.5\" "
                            "fill=\"none\" stroke=\"%s\" "
                            "stroke-width=\"1.5\"/>",
                            left + plot_w + 22, legend_y, s.color);
    absl::StrAppendFormat(&svg, "<text x=\"%d\" y=\"%d\">%s</text>\n",
                          left + plot_w + 40, legend_y + 4, Escape(s.label));
    legend_y += 20;
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

std::string FormatDeviceBlock(const DeviceModel &device) {
  const google::protobuf::Descriptor *descriptor = device.GetDescriptor();
  const google::protobuf::Reflection *reflection = device.GetReflection();
  std::string text = "device {\n";
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor *field = descriptor->field(i);
    double value = reflection->GetDouble(device, field);
    // The four fields of the symmetric model always; the others when set.
    bool shown = field->number() <= 4 ||
                 (field->has_presence() ? reflection->HasField(device, field)
                                        : value != 0);
    if (shown)
      absl::StrAppendFormat(&text, "  %s: %.6g\n", field->name(), value);
  }
  absl::StrAppend(&text, "}\n");
  return text;
}

std::vector<DeviceCurvePoint> DeviceCurve(const DeviceModel &device,
                                          const std::vector<double> &cycles,
                                          const std::vector<EccCode> &codes) {
  std::vector<DeviceCurvePoint> points;
  for (double n : cycles) {
    DeviceCurvePoint point;
    point.cycles = n;
    point.state = DeviceStateAfter(device, n);
    point.rates_1t1r = CellReadErrorRates(device, CELL_1T1R, n);
    point.rates_2t2r = CellReadErrorRates(device, CELL_2T2R, n);
    point.ber_1t1r = BitErrorRate(device, CELL_1T1R, n);
    point.ber_2t2r = BitErrorRate(device, CELL_2T2R, n);
    for (EccCode code : codes)
      point.ecc.push_back(DecodedRatesAt(code, point.ber_1t1r));
    points.push_back(point);
  }
  return points;
}

std::string FormatDeviceCurve(const std::string &chip,
                              const std::vector<DeviceCurvePoint> &points,
                              const std::vector<EccCode> &codes) {
  bool by_value = std::any_of(points.begin(), points.end(), [](auto &p) {
    return !p.rates_1t1r.Symmetric();
  });
  std::string text = absl::StrCat(
      chip, ": bit-error rates against programming cycles (device model)\n");
  absl::StrAppendFormat(&text, "%-10s %7s %9s %9s %10s %10s %9s", "cycles",
                        "window", "sigma LRS", "sigma HRS", "BER 1T1R",
                        "BER 2T2R", "1T1R/2T2R");
  if (by_value)
    absl::StrAppendFormat(&text, " %10s %10s", "1T1R +1", "1T1R -1");
  for (EccCode code : codes)
    absl::StrAppendFormat(&text, " %18s",
                          absl::StrCat("1T1R+", InfoOf(code).name));
  absl::StrAppend(&text, "\n");
  for (const DeviceCurvePoint &p : points) {
    absl::StrAppendFormat(&text, "%-10g %7.3f %9.3f %9.3f %10.3g %10.3g %9s",
                          p.cycles, p.state.window, p.state.lrs_sigma,
                          p.state.hrs_sigma, p.ber_1t1r, p.ber_2t2r,
                          Ratio(p.ber_1t1r, p.ber_2t2r));
    if (by_value)
      absl::StrAppendFormat(&text, " %10.3g %10.3g", p.rates_1t1r.plus,
                            p.rates_1t1r.minus);
    for (const DecodedRates &rates : p.ecc)
      absl::StrAppendFormat(&text, " %18.3g", rates.data_ber);
    absl::StrAppend(&text, "\n");
  }
  if (!codes.empty()) {
    absl::StrAppend(&text, "devices per weight bit: 2T2R 2, 1T1R 1");
    for (EccCode code : codes)
      absl::StrAppendFormat(&text, ", 1T1R+%s %.4g", InfoOf(code).name,
                            DevicesPerBit(code));
    absl::StrAppend(&text,
                    "; with a code, BER is of the data bits after decoding "
                    "and the XNOR moves out of the sense amplifiers\n");
  }
  return text;
}

std::string DeviceCurveToJson(const std::string &chip,
                              const DeviceModel &device,
                              const std::vector<DeviceCurvePoint> &points,
                              const std::vector<EccCode> &codes) {
  std::string device_json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  if (!google::protobuf::util::MessageToJsonString(device, &device_json,
                                                   options)
           .ok())
    device_json = "{}";
  // The chip's name as a JSON string.
  std::string chip_json = absl::StrCat(
      "\"", absl::StrReplaceAll(chip, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
  std::string json =
      absl::StrCat("{\n  \"chip\": ", chip_json,
                   ",\n  \"device\": ", device_json, ",\n  \"points\": [");
  for (size_t i = 0; i < points.size(); ++i) {
    const DeviceCurvePoint &p = points[i];
    absl::StrAppend(&json, i ? "," : "",
                    "\n    {\"cycles\": ", JsonNumber(p.cycles),
                    ", \"window\": ", JsonNumber(p.state.window),
                    ", \"lrs_sigma\": ", JsonNumber(p.state.lrs_sigma),
                    ", \"hrs_sigma\": ", JsonNumber(p.state.hrs_sigma),
                    ", \"ber_1t1r\": ", JsonNumber(p.ber_1t1r),
                    ", \"ber_1t1r_plus\": ", JsonNumber(p.rates_1t1r.plus),
                    ", \"ber_1t1r_minus\": ", JsonNumber(p.rates_1t1r.minus),
                    ", \"ber_2t2r\": ", JsonNumber(p.ber_2t2r), ", \"ratio\": ",
                    JsonNumber(p.ber_2t2r > 0 ? p.ber_1t1r / p.ber_2t2r : NAN));
    if (!codes.empty()) {
      absl::StrAppend(&json, ", \"ecc\": [");
      for (size_t c = 0; c < codes.size(); ++c)
        absl::StrAppend(
            &json, c ? ", " : "", "{\"code\": \"", InfoOf(codes[c]).name,
            "\", \"devices_per_bit\": ", JsonNumber(DevicesPerBit(codes[c])),
            ", \"decoded_ber\": ", JsonNumber(p.ecc[c].data_ber),
            ", \"uncorrectable_words\": ",
            JsonNumber(p.ecc[c].uncorrectable_words), "}");
      absl::StrAppend(&json, "]");
    }
    absl::StrAppend(&json, "}");
  }
  absl::StrAppend(&json, "\n  ]\n}\n");
  return json;
}

std::string DeviceCurveToSvg(const std::string &chip, const DeviceModel &device,
                             const std::vector<DeviceCurvePoint> &points,
                             const std::vector<EccCode> &codes) {
  double lowest = 1e300, highest = 0;
  for (const DeviceCurvePoint &p : points) {
    lowest = std::min(lowest, p.cycles);
    highest = std::max(highest, p.cycles);
  }
  if (points.empty())
    lowest = highest = 1;
  std::vector<DeviceCurvePoint> smooth =
      DeviceCurve(device, SmoothCycles(lowest, highest), codes);
  std::vector<PlotSeries> series(4);
  series[0] = {"1T1R", kColor1T1R, {}, true};
  series[1] = {"2T2R", kColor2T2R, {}, true};
  // Markers at the cycles asked for, without a legend of their own.
  series[2] = {"", kColor1T1R, {}, false};
  series[3] = {"", kColor2T2R, {}, false};
  for (const DeviceCurvePoint &p : smooth) {
    series[0].points.push_back({p.cycles, p.ber_1t1r});
    series[1].points.push_back({p.cycles, p.ber_2t2r});
  }
  for (const DeviceCurvePoint &p : points) {
    series[2].points.push_back({p.cycles, p.ber_1t1r});
    series[3].points.push_back({p.cycles, p.ber_2t2r});
  }
  // A line per code, in colours of its own.
  static const char *const kCodeColors[] = {"#f28e2b", "#59a14f", "#b07aa1",
                                            "#9c755f", "#76b7b2"};
  for (size_t c = 0; c < codes.size(); ++c) {
    PlotSeries code{absl::StrCat("1T1R+", InfoOf(codes[c]).name),
                    kCodeColors[c % 5],
                    {},
                    true};
    for (const DeviceCurvePoint &p : smooth)
      code.points.push_back({p.cycles, p.ecc[c].data_ber});
    series.push_back(std::move(code));
  }
  return BerAgainstCyclesSvg(
      absl::StrCat(chip, ": bit-error rate against programming cycles "
                         "(device model)"),
      series);
}

} // namespace hafnia
