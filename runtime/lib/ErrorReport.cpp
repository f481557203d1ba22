// Error-rate reports as text and SVG.

#include "hafnia/runtime/ErrorReport.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "DevicePlot.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hafnia/runtime/ChipConfig.h"

namespace hafnia {
namespace {

std::string Percent(double fraction) {
  return absl::StrFormat("%.2f%%", 100.0 * fraction);
}

// A sweep table's accuracy column: mean/spread [min,max], or - without
// trials.
std::string MeanSpreadRange(const TrialSummary &summary) {
  if (!summary.trials_size())
    return "-";
  return absl::StrFormat("%s/%s [%s,%s]", Percent(summary.mean()),
                         Percent(summary.spread()), Percent(summary.min()),
                         Percent(summary.max()));
}

// A sweep over bit-error rates holds for any cell; a sweep over cell
// settings names the setting.
std::string CellOf(const SweepPoint &point) {
  if (!point.setting().empty())
    return point.setting();
  return point.cell() == CELL_TYPE_UNSPECIFIED ? "any" : CellName(point.cell());
}

std::string Describe(const TrialSummary &summary) {
  return absl::StrFormat("mean %s, spread %s, min %s, max %s",
                         Percent(summary.mean()), Percent(summary.spread()),
                         Percent(summary.min()), Percent(summary.max()));
}

// `value` in `units` (each 1000 times the one before), in the largest unit
// it reaches.
std::string WithUnit(double value, std::initializer_list<const char *> units) {
  const char *unit = *units.begin();
  for (const char *next : units) {
    unit = next;
    if (std::abs(value) < 1000 || next == *(units.end() - 1))
      break;
    value /= 1000;
  }
  return absl::StrFormat("%.4g %s", value, unit);
}
std::string Energy(double pj) {
  return WithUnit(pj, {"pJ", "nJ", "uJ", "mJ", "J"});
}
std::string Latency(double ns) { return WithUnit(ns, {"ns", "us", "ms", "s"}); }

// What a report with weights stored as code words says of the code.
std::string FormatEcc(const EccSummary &ecc, uint32_t trials) {
  std::string text = absl::StrFormat(
      "ecc                 %s (%d code bits per %d data bits, %s): %.4g "
      "devices per weight bit (%d devices in %d words)\n",
      ecc.code(), ecc.code_bits(), ecc.data_bits(),
      ecc.detects_double_errors()
          ? "single-error correction, double-error detection"
          : "single-error correction",
      ecc.devices_per_bit(), ecc.devices(), ecc.words());
  absl::StrAppend(
      &text, absl::StrFormat(
                 "                    device BER expected %.3g, observed %.3g "
                 "before decoding; the BER above is after decoding\n",
                 ecc.raw_ber().expected(), ecc.raw_ber().observed()));
  absl::StrAppend(
      &text, absl::StrFormat(
                 "                    uncorrectable words expected "
                 "%.3g, observed %d of %d (all trials), used as read\n",
                 ecc.expected_uncorrectable_words(), ecc.uncorrectable_words(),
                 ecc.words() * static_cast<uint64_t>(trials)));
  absl::StrAppend(&text,
                  "                    the decoder sits between the array "
                  "and the logic: the XNOR is not done in the sense "
                  "amplifier\n");
  const EccCost &cost = ecc.cost();
  absl::StrAppend(
      &text,
      absl::StrFormat(
          "ecc cost            %s per inference (decoders %s for %.4g "
          "words, parity sensing %s), latency %s; programming %s; area of "
          "the arrays used %.4g mm^2 (cells %.4g, sense amplifiers %.4g, "
          "%d decoders %.4g) against 2T2R's %.4g\n",
          Energy(cost.decoder_energy_pj() + cost.parity_sense_energy_pj()),
          Energy(cost.decoder_energy_pj()), cost.words_decoded(),
          Energy(cost.parity_sense_energy_pj()),
          Latency(cost.decoder_latency_ns()),
          Energy(cost.programming_energy_pj()),
          cost.cells_mm2() + cost.sense_amplifiers_mm2() + cost.decoders_mm2(),
          cost.cells_mm2(), cost.sense_amplifiers_mm2(), cost.decoders(),
          cost.decoders_mm2(),
          cost.cells_2t2r_mm2() + cost.sense_amplifiers_2t2r_mm2()));
  return text;
}

// A sweep over cell settings: one row per setting and cycle count, with
// the devices each setting takes and, for a code, the device BER before
// decoding and the uncorrectable words.
std::string FormatSettingsSweep(const SweepReport &sweep, std::string text) {
  if (sweep.equal_devices())
    absl::StrAppend(&text,
                    absl::StrFormat("equal devices: every setting within "
                                    "2T2R's %d devices\n",
                                    sweep.device_budget()));
  absl::StrAppend(
      &text,
      absl::StrFormat("%-18s %10s %9s %11s %11s %11s %9s %22s %30s\n",
                      "setting", "cycles", "dev/bit", "device BER", "BER",
                      "observed", "uncorr.", "agreement mean/spread",
                      "accuracy mean/spread [min,max]"));
  for (const SweepPoint &point : sweep.points()) {
    std::string accuracy = MeanSpreadRange(point.accuracy());
    absl::StrAppend(
        &text,
        absl::StrFormat(
            "%-18s %10.3g %9.4g %11s %11.3g %11.3g %9s %22s %30s\n",
            point.setting(), point.cycles(), point.devices_per_bit(),
            point.has_ecc()
                ? absl::StrFormat("%.3g", point.ecc().raw_ber().observed())
                : "-",
            point.ber().expected(), point.ber().observed(),
            point.has_ecc() ? absl::StrCat(point.ecc().uncorrectable_words())
                            : "-",
            absl::StrCat(Percent(point.agreement_with_ideal().mean()), "/",
                         Percent(point.agreement_with_ideal().spread())),
            accuracy));
  }
  bool codes = std::any_of(sweep.points().begin(), sweep.points().end(),
                           [](const SweepPoint &p) { return p.has_ecc(); });
  if (codes)
    absl::StrAppend(&text,
                    "with a code the BER is after decoding, uncorr. counts "
                    "the words flagged uncorrectable over all trials, and the "
                    "decoder sits between the array and the logic: the XNOR "
                    "is not done in the sense amplifier\n");
  return text;
}

} // namespace

TrialSummary Summarize(const std::vector<double> &values) {
  TrialSummary summary;
  if (values.empty())
    return summary;
  double sum = 0, squares = 0;
  for (double value : values) {
    sum += value;
    summary.add_trials(value);
  }
  double mean = sum / values.size();
  for (double value : values)
    squares += (value - mean) * (value - mean);
  summary.set_mean(mean);
  summary.set_spread(
      values.size() > 1 ? std::sqrt(squares / (values.size() - 1)) : 0.0);
  summary.set_min(*std::min_element(values.begin(), values.end()));
  summary.set_max(*std::max_element(values.begin(), values.end()));
  return summary;
}

std::string FormatSimulationReport(const SimulationReport &report) {
  std::string text =
      absl::StrCat("samples             ", report.samples(), "\n");
  if (report.has_accuracy())
    absl::StrAppend(
        &text,
        absl::StrFormat("accuracy            %.4f (%d of %d)%s\n",
                        report.accuracy(), report.correct(), report.samples(),
                        report.trials() ? " on the error-free chip" : ""));
  if (report.trials()) {
    absl::StrAppend(
        &text,
        absl::StrFormat(
            "errors              %s cells, %s: BER expected %.3g, observed "
            "%.3g\n",
            CellName(report.cell()),
            report.ber_source() == "--ber"
                ? std::string("--ber")
                : absl::StrFormat("%g cycles (%s)", report.cycles(),
                                  report.ber_source()),
            report.ber().expected(), report.ber().observed()));
    if (report.has_ecc())
      absl::StrAppend(&text, FormatEcc(report.ecc(), report.trials()));
    absl::StrAppend(&text, "trials              ", report.trials(), " (seed ",
                    report.seed(), "), each a freshly programmed chip\n");
    absl::StrAppend(&text, "agreement           ",
                    Describe(report.agreement_with_ideal()),
                    " of predictions equal the error-free chip's\n");
    if (report.accuracy_trials().trials_size())
      absl::StrAppend(&text, "accuracy, trials    ",
                      Describe(report.accuracy_trials()), "\n");
    absl::StrAppend(&text, "flipped cells by layer (all trials)\n");
    for (const FlipCount &layer : report.layer_flips())
      absl::StrAppend(&text,
                      absl::StrFormat("  %-40s %10d cells  expected %10.1f  "
                                      "observed %8d\n",
                                      layer.layer(), layer.cells(),
                                      layer.expected(), layer.observed()));
  }
  absl::StrAppend(&text, "stats\n");
  const auto *descriptor = report.stats().GetDescriptor();
  const auto *reflection = report.stats().GetReflection();
  for (int f = 0; f < descriptor->field_count(); ++f) {
    const auto *field = descriptor->field(f);
    absl::StrAppend(
        &text, absl::StrFormat("  %-18s %d\n", field->name(),
                               reflection->GetUInt64(report.stats(), field)));
  }
  const InferenceCost &cost = report.cost();
  const LayerCost &total = cost.total();
  absl::StrAppend(
      &text,
      absl::StrFormat(
          "energy              %s per inference (arrays %s, "
          "digital %s, memory %s), latency %s; programming the "
          "arrays %s\n",
          Energy(total.energy_pj()), Energy(total.array_energy_pj()),
          Energy(total.digital_energy_pj()), Energy(total.memory_energy_pj()),
          Latency(total.latency_ns()), Energy(cost.programming_energy_pj())));
  absl::StrAppend(&text, "energy by layer (per inference)\n");
  for (const LayerCost &layer : cost.layers())
    absl::StrAppend(&text,
                    absl::StrFormat("  %-40s %12s  latency %10s\n",
                                    layer.layer(), Energy(layer.energy_pj()),
                                    Latency(layer.latency_ns())));
  return text;
}

std::string FormatSweep(const SweepReport &sweep) {
  std::string text = absl::StrFormat(
      "sweep of %s: %d samples, %d trials per point (seed %d)%s\n",
      sweep.parameter(), sweep.samples(), sweep.trials(), sweep.seed(),
      sweep.has_ideal_accuracy()
          ? absl::StrFormat(", error-free accuracy %s",
                            Percent(sweep.ideal_accuracy()))
          : "");
  if (sweep.points_size() && !sweep.points(0).setting().empty())
    return FormatSettingsSweep(sweep, std::move(text));
  absl::StrAppend(&text, absl::StrFormat("%-6s %10s %11s %11s %22s %30s\n",
                                         "cell", "cycles", "BER", "observed",
                                         "agreement mean/spread",
                                         "accuracy mean/spread [min,max]"));
  for (const SweepPoint &point : sweep.points()) {
    std::string accuracy = MeanSpreadRange(point.accuracy());
    absl::StrAppend(
        &text,
        absl::StrFormat(
            "%-6s %10.3g %11.3g %11.3g %22s %30s\n", CellOf(point),
            point.cycles(), point.ber().expected(), point.ber().observed(),
            absl::StrCat(Percent(point.agreement_with_ideal().mean()), "/",
                         Percent(point.agreement_with_ideal().spread())),
            accuracy));
  }
  return text;
}

std::string SweepToSvg(const SweepReport &sweep) {
  // Settings' names (1T1R+secded-72-64) need a wider legend.
  const bool settings =
      sweep.points_size() && !sweep.points(0).setting().empty();
  const int width = settings ? 800 : 720, height = 420, left = 70,
            right = settings ? 250 : 170, top = 40, bottom = 60;
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  bool by_cycles = sweep.parameter() == "cycles";
  auto x_of = [&](const SweepPoint &p) {
    return by_cycles ? std::max(p.cycles(), 1.0)
                     : std::max(p.ber().expected(), 1e-12);
  };
  double lo = 1e300, hi = 0;
  for (const SweepPoint &point : sweep.points()) {
    lo = std::min(lo, x_of(point));
    hi = std::max(hi, x_of(point));
  }
  double llo = std::floor(std::log10(lo)), lhi = std::ceil(std::log10(hi));
  if (lhi <= llo)
    lhi = llo + 1;
  auto px = [&](double x) {
    return left + plot_w * (std::log10(x) - llo) / (lhi - llo);
  };
  // The y axis starts at a round fraction below every plotted value, so
  // that differences near 100% stay visible.
  double lowest = 1.0;
  for (const SweepPoint &point : sweep.points()) {
    lowest = std::min(lowest, point.agreement_with_ideal().mean());
    if (point.accuracy().trials_size())
      lowest =
          std::min(lowest, point.accuracy().mean() - point.accuracy().spread());
  }
  double bottom_y = 0.0;
  for (double candidate : {0.99, 0.98, 0.95, 0.9, 0.8, 0.5})
    if (lowest >= candidate) {
      bottom_y = candidate;
      break;
    }
  auto py = [&](double y) {
    return top + plot_h * (1.0 - (y - bottom_y) / (1.0 - bottom_y));
  };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
      "height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"22\" "
      "font-size=\"14\">%s: accuracy and agreement with the error-free chip "
      "against %s</text>\n",
      width, height, left,
      sweep.program().substr(sweep.program().find_last_of('/') + 1),
      by_cycles ? "programming cycles" : "bit-error rate");
  // Axes and grid.
  AppendDecadeGrid(svg, static_cast<int>(llo), static_cast<int>(lhi), 1, px,
                   top, plot_h);
  for (int tick = 0; tick <= 5; ++tick) {
    double value = bottom_y + (1.0 - bottom_y) * tick / 5.0;
    double y = py(value);
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                          "stroke=\"#dddddd\"/><text x=\"%d\" y=\"%.1f\" "
                          "text-anchor=\"end\">%s%%</text>\n",
                          left, y, left + plot_w, y, left - 6, y + 4,
                          absl::StrFormat("%.4g", 100.0 * value));
  }
  absl::StrAppendFormat(&svg,
                        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                        "fill=\"none\" stroke=\"black\"/>\n<text x=\"%d\" "
                        "y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                        left, top, plot_w, plot_h, left + plot_w / 2,
                        height - 15,
                        by_cycles ? "programming cycles" : "bit-error rate");

  // One series per cell type: accuracy solid, agreement dashed.
  std::map<std::string, std::vector<const SweepPoint *>> series;
  for (const SweepPoint &point : sweep.points())
    series[CellOf(point)].push_back(&point);
  // The first three as before; more for a sweep over cell settings.
  const char *colors[] = {"#e15759", "#4e79a7", "#59a14f", "#f28e2b",
                          "#76b7b2", "#b07aa1", "#9c755f", "#edc948"};
  int index = 0, legend_y = top + 10;
  for (auto &[cell, points] : series) {
    std::sort(points.begin(), points.end(),
              [&](auto *a, auto *b) { return x_of(*a) < x_of(*b); });
    const char *color = colors[index++ % 8];
    std::string accuracy, agreement;
    for (const SweepPoint *point : points) {
      if (point->accuracy().trials_size())
        absl::StrAppendFormat(&accuracy, "%.1f,%.1f ", px(x_of(*point)),
                              py(point->accuracy().mean()));
      absl::StrAppendFormat(&agreement, "%.1f,%.1f ", px(x_of(*point)),
                            py(point->agreement_with_ideal().mean()));
    }
    if (!accuracy.empty())
      absl::StrAppendFormat(&svg,
                            "<polyline points=\"%s\" fill=\"none\" "
                            "stroke=\"%s\" stroke-width=\"2\"/>\n",
                            accuracy, color);
    absl::StrAppendFormat(&svg,
                          "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" "
                          "stroke-width=\"2\" stroke-dasharray=\"6,4\"/>\n",
                          agreement, color);
    for (const SweepPoint *point : points)
      if (point->accuracy().trials_size())
        // Error bar: the spread over trials.
        absl::StrAppendFormat(
            &svg,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"%s\"/>\n",
            px(x_of(*point)),
            py(point->accuracy().mean() - point->accuracy().spread()),
            px(x_of(*point)),
            py(point->accuracy().mean() + point->accuracy().spread()), color);
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
        "stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">%s accuracy</text>\n"
        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
        "stroke-width=\"2\" stroke-dasharray=\"6,4\"/><text x=\"%d\" "
        "y=\"%d\">%s agreement</text>\n",
        left + plot_w + 10, legend_y, left + plot_w + 35, legend_y, color,
        left + plot_w + 40, legend_y + 4, cell, left + plot_w + 10,
        legend_y + 18, left + plot_w + 35, legend_y + 18, color,
        left + plot_w + 40, legend_y + 22, cell);
    legend_y += 44;
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

} // namespace hafnia
