// Printing the memory-mapping report.

#include "hafnia/runtime/MappingReport.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/TensorIO.h"

namespace hafnia {
namespace {

// Columns of strings, padded to the widest cell; numeric columns (from
// `first_number`) align right.
std::string FormatTable(const std::vector<std::vector<std::string>> &rows,
                        size_t first_number) {
  std::vector<size_t> widths;
  for (const auto &row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  std::string text;
  for (const auto &row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      std::string padding(widths[i] - row[i].size(), ' ');
      absl::StrAppend(&line, i ? "  " : "",
                      i >= first_number ? padding + row[i] : row[i] + padding);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&text, line, "\n");
  }
  return text;
}

std::string Percent(double fraction) {
  return absl::StrFormat("%.1f%%", 100.0 * fraction);
}

std::string Millions(uint64_t count) {
  return absl::StrFormat("%.2f M", count / 1e6);
}

// Distinct colours for layers, cycled.
constexpr const char *kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                    "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                    "#9c755f", "#bab0ac"};

std::string EscapeXml(const std::string &text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
    case '<':
      escaped += "&lt;";
      break;
    case '>':
      escaped += "&gt;";
      break;
    case '&':
      escaped += "&amp;";
      break;
    case '"':
      escaped += "&quot;";
      break;
    default:
      escaped += c;
    }
  }
  return escaped;
}

// The estimate of the used part, then the whole chip's by part.
std::string FormatArea(const AreaEstimate &area) {
  const AreaEstimate::Parts &chip = area.chip();
  return absl::StrFormat(
      "%.4g mm^2 used (arrays and digital memory the program takes); chip "
      "%.4g mm^2: cells %.4g, sense amplifiers %.4g, array periphery %.4g, "
      "digital memory %.4g",
      area.used().total_mm2(), chip.total_mm2(), chip.cells_mm2(),
      chip.sense_amplifiers_mm2(), chip.array_periphery_mm2(),
      chip.digital_memory_mm2());
}

} // namespace

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024)
    return absl::StrCat(bytes, " B");
  if (bytes < 1024 * 1024)
    return absl::StrFormat("%.1f KiB", bytes / 1024.0);
  return absl::StrFormat("%.2f MiB", bytes / (1024.0 * 1024.0));
}

std::string FormatMappingReport(const MappingReport &report) {
  const ChipSummary &chip = report.chip();
  const MappingSummary &s = report.summary();
  std::string text = absl::StrFormat(
      "Memory mapping of %s (--binarize=%s) on chip '%s': %d arrays of "
      "%dx%d %s cells, %s of digital memory (%s)\n\n",
      report.model(), report.binarize(), chip.name(), chip.arrays(),
      chip.array_rows(), chip.array_cols(), CellName(chip.cell()),
      FormatBytes(chip.digital_memory_bytes()),
      PrecisionName(chip.real_precision()));
  std::vector<std::vector<std::string>> rows = {
      {"layer", "op", "binary", "params", "arrays", "fill", "digital"}};
  for (const LayerMapping &layer : report.layers()) {
    rows.push_back(
        {layer.name(), layer.op(), layer.binary() ? "yes" : "no",
         absl::StrCat(layer.params()),
         layer.arrays() ? absl::StrCat(layer.arrays()) : "-",
         layer.arrays() ? Percent(layer.fill()) : "-",
         layer.digital_bytes() ? FormatBytes(layer.digital_bytes()) : "-"});
  }
  absl::StrAppend(&text, FormatTable(rows, 3), "\n");
  absl::StrAppend(
      &text,
      FormatTable(
          {{"parameters",
            absl::StrFormat("%d (%s): classifier %d (%s), binary %d, real %d",
                            s.total_params(), Millions(s.total_params()),
                            s.classifier_params(),
                            Millions(s.classifier_params()), s.binary_params(),
                            s.real_params())},
           {"arrays", absl::StrFormat("%d of %d used, %s of their cells hold "
                                      "weights",
                                      s.arrays_used(), s.arrays_available(),
                                      Percent(s.array_fill()))},
           {"digital", absl::StrFormat("%s of %s (thresholds and affines %s)",
                                       FormatBytes(s.digital_bytes_used()),
                                       FormatBytes(s.digital_bytes_available()),
                                       FormatBytes(s.threshold_bytes()))},
           {"model size",
            absl::StrFormat("%s at 32 bits, %s at 8 bits; mapped %s (binary "
                            "parameters at 1 bit)",
                            FormatBytes(s.bytes_fp32()),
                            FormatBytes(s.bytes_int8()),
                            FormatBytes(s.bytes_mapped()))},
           {"saving", absl::StrFormat("%s against 32 bits, %s against 8 bits",
                                      Percent(s.saving_vs_fp32()),
                                      Percent(s.saving_vs_int8()))},
           {"area", FormatArea(report.area())}},
          2));
  return text;
}

absl::StatusOr<std::string>
ReportToJson(const google::protobuf::Message &report) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(report, &json, options);
  if (!status.ok())
    return absl::InternalError(
        absl::StrCat("cannot print the report as JSON: ", status.ToString()));
  return json;
}

absl::Status WriteReportJson(const std::string &path,
                             const google::protobuf::Message &report) {
  absl::StatusOr<std::string> json = ReportToJson(report);
  if (!json.ok())
    return json.status();
  return WriteFileAtomically(path, *json);
}

std::string MappingReportToSvg(const MappingReport &report) {
  const ChipSummary &chip = report.chip();
  // The report is data, not validated with the program: a chip of more
  // arrays than any valid chip has is drawn with the first kMaxArrays
  // (at most 1024 x 1024 squares of 3 pixels).
  const int64_t arrays = std::min<int64_t>(chip.arrays(), kMaxArrays);
  int64_t grid = 1;
  while (grid * grid < arrays)
    ++grid;
  int64_t cell = std::clamp<int64_t>(720 / grid, 3, 40);
  int64_t gap = cell >= 8 ? 1 : 0;
  int64_t map_size = grid * cell;
  int64_t legend_rows = 0;
  for (const LayerMapping &layer : report.layers())
    legend_rows += layer.arrays() > 0;
  int64_t width = std::max<int64_t>(map_size, 700) + 20;
  int64_t height = map_size + 60 + 18 * legend_rows + 20;

  // Which layer, and how full, each array is.
  std::vector<int> layer_of(arrays, -1);
  std::vector<double> fill_of(arrays, 0.0);
  const double cells =
      static_cast<double>(chip.array_rows()) * chip.array_cols();
  int index = 0;
  std::vector<const LayerMapping *> mapped;
  for (const LayerMapping &layer : report.layers()) {
    if (layer.arrays() == 0)
      continue;
    for (const TilePlacement &tile : layer.tiles()) {
      if (tile.array() >= arrays)
        continue;
      layer_of[tile.array()] = index;
      // In [0, 1] whatever the report says (NaN, from 0 cells, becomes 0).
      double fill = double(tile.rows_used()) * tile.columns_used() / cells;
      fill_of[tile.array()] = fill > 0 ? std::min(fill, 1.0) : 0.0;
    }
    mapped.push_back(&layer);
    ++index;
  }

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"20\" font-size=\"14\">%s, --binarize=%s, on "
      "'%s': %d of %d arrays of %dx%d</text>\n",
      width, height, EscapeXml(report.model()), EscapeXml(report.binarize()),
      EscapeXml(chip.name()), report.summary().arrays_used(), arrays,
      chip.array_rows(), chip.array_cols());
  for (int64_t a = 0; a < arrays; ++a) {
    int64_t x = 10 + (a % grid) * cell, y = 35 + (a / grid) * cell;
    if (layer_of[a] < 0) {
      absl::StrAppendFormat(
          &svg,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
          "fill=\"#eeeeee\"/>\n",
          x, y, cell - gap, cell - gap);
      continue;
    }
    // Opacity shows the fill: a full array is solid.
    absl::StrAppendFormat(
        &svg,
        "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" "
        "fill-opacity=\"%.2f\"><title>array %d: %s, %.0f%% full</title>"
        "</rect>\n",
        x, y, cell - gap, cell - gap, kPalette[layer_of[a] % 10],
        0.25 + 0.75 * fill_of[a], a, EscapeXml(mapped[layer_of[a]]->name()),
        100.0 * fill_of[a]);
  }
  int64_t y = 35 + map_size + 25;
  for (size_t i = 0; i < mapped.size(); ++i, y += 18) {
    absl::StrAppendFormat(
        &svg,
        "<rect x=\"10\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
        "<text x=\"28\" y=\"%d\">%s: %d arrays, %.1f%% full</text>\n",
        y - 10, kPalette[i % 10], y, EscapeXml(mapped[i]->name()),
        mapped[i]->arrays(), 100.0 * mapped[i]->fill());
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

} // namespace hafnia
