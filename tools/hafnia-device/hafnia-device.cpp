// hafnia-device: the device model against measurements and as a picture. A
// driver over hafnia/runtime/DeviceFit.h: flags, files and printing.
//
//   hafnia-device fit measured.csv [--cell=1T1R|2T2R|both]
//       [--chip=NAME|FILE.textproto] [--fit=FIELD,...] [--svg=FILE.svg]
//   hafnia-device curve [--chip=NAME|FILE.textproto] [--cycles=N,...]
//       [--ecc=CODE,...] [--json] [--svg=FILE.svg]

#include <cmath>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/DeviceFit.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Ecc.h"
#include "hafnia/runtime/FileIO.h"

ABSL_FLAG(std::string, chip, "default",
          "The chip whose device model is drawn (curve) or is the fit's start "
          "and gives every field not fitted (fit): a preset of configs/ or a "
          "text-format ChipConfig");
ABSL_FLAG(std::string, cell, "",
          "fit: the cells to fit, 1T1R, 2T2R or both (default: every cell "
          "the table has a column for)");
ABSL_FLAG(std::string, fit, "",
          "fit: comma-separated DeviceModel fields to fit (default: "
          "log_sigma,sigma_growth_per_decade for one cell; lrs_log_sigma,"
          "hrs_log_sigma,sigma_growth_per_decade for both)");
ABSL_FLAG(std::string, cycles, "1,1e1,1e2,1e3,1e4,1e5,1e6,1e7",
          "curve: comma-separated cycle counts");
ABSL_FLAG(bool, json, false, "curve: print the curve as JSON");
ABSL_FLAG(std::string, ecc, "",
          "curve: comma-separated error-correcting codes whose decoded BER on "
          "1T1R devices to add (hamming-7-4, secded-13-8, secded-22-16, "
          "secded-39-32, secded-72-64)");
ABSL_FLAG(std::string, svg, "",
          "Write the curve, or the measured and fitted BERs, as SVG");

namespace {

constexpr const char *kUsage =
    "hafnia-device fit measured.csv [--cell=1T1R|2T2R|both] [--chip=...] "
    "[--fit=FIELD,...] [--svg=FILE] | hafnia-device curve [--chip=...] "
    "[--cycles=N,...] [--ecc=CODE,...] [--json] [--svg=FILE]";

int Fail(absl::string_view message) {
  std::cerr << "hafnia-device: error: " << message << "\n";
  return 1;
}

// Writes `svg` to --svg, if given.
absl::Status WriteSvg(const std::string &svg) {
  const std::string path = absl::GetFlag(FLAGS_svg);
  if (path.empty())
    return absl::OkStatus();
  return hafnia::WriteFileAtomically(path, svg);
}

// The option of the other command given to `command`, if any.
std::optional<std::string> Misplaced(const std::string &command) {
  if (command == "fit") {
    if (absl::GetFlag(FLAGS_json))
      return "--json";
    if (absl::GetFlag(FLAGS_cycles) != "1,1e1,1e2,1e3,1e4,1e5,1e6,1e7")
      return "--cycles";
    if (!absl::GetFlag(FLAGS_ecc).empty())
      return "--ecc";
  } else {
    if (!absl::GetFlag(FLAGS_cell).empty())
      return "--cell";
    if (!absl::GetFlag(FLAGS_fit).empty())
      return "--fit";
  }
  return std::nullopt;
}

int Curve(const std::vector<char *> &arguments) {
  if (arguments.size() != 2)
    return Fail("curve takes no file: give the chip with --chip");
  absl::StatusOr<hafnia::ChipConfig> chip =
      hafnia::LoadChipConfig(absl::GetFlag(FLAGS_chip));
  if (!chip.ok())
    return Fail(chip.status().message());
  std::vector<double> cycles;
  for (absl::string_view item :
       absl::StrSplit(absl::GetFlag(FLAGS_cycles), ',', absl::SkipEmpty())) {
    double n;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(item), &n) ||
        !std::isfinite(n) || n < 0)
      return Fail(absl::StrCat("--cycles must be non-negative numbers, got '",
                               item, "'"));
    cycles.push_back(n);
  }
  if (cycles.empty())
    return Fail("--cycles is empty: give cycle counts, e.g. 1,1e3,1e6");
  std::vector<hafnia::EccCode> codes;
  for (absl::string_view item :
       absl::StrSplit(absl::GetFlag(FLAGS_ecc), ',', absl::SkipEmpty())) {
    std::optional<hafnia::EccCode> code =
        hafnia::ParseEccCode(absl::StripAsciiWhitespace(item));
    if (!code)
      return Fail(absl::StrCat("--ecc: unknown code '", item,
                               "': give one or more of ",
                               hafnia::EccCodeNames()));
    codes.push_back(*code);
  }
  std::string name =
      chip->name().empty() ? absl::GetFlag(FLAGS_chip) : chip->name();
  std::vector<hafnia::DeviceCurvePoint> points =
      hafnia::DeviceCurve(chip->device(), cycles, codes);
  if (absl::Status status = WriteSvg(
          hafnia::DeviceCurveToSvg(name, chip->device(), points, codes));
      !status.ok())
    return Fail(status.message());
  std::cout << (absl::GetFlag(FLAGS_json)
                    ? hafnia::DeviceCurveToJson(name, chip->device(), points,
                                                codes)
                    : hafnia::FormatDeviceCurve(name, points, codes));
  return 0;
}

int Fit(const std::vector<char *> &arguments) {
  if (arguments.size() != 3)
    return Fail("fit takes one measured BER table: hafnia-device fit "
                "measured.csv");
  absl::StatusOr<hafnia::BerTable> table = hafnia::BerTable::Load(arguments[2]);
  if (!table.ok())
    return Fail(table.status().message());
  absl::StatusOr<hafnia::ChipConfig> chip =
      hafnia::LoadChipConfig(absl::GetFlag(FLAGS_chip));
  if (!chip.ok())
    return Fail(chip.status().message());

  hafnia::DeviceFitOptions options;
  options.start = chip->device();
  std::string cell = absl::AsciiStrToUpper(absl::GetFlag(FLAGS_cell));
  if (cell.empty()) {
    if (table->single_column())
      return Fail(absl::StrCat(
          table->source(), ": give --cell=1T1R or --cell=2T2R: a single "
                           "'ber' column does not say which cell it measured"));
    for (hafnia::CellType c : {hafnia::CELL_1T1R, hafnia::CELL_2T2R})
      if (!table->bers(c).empty())
        options.cells.push_back(c);
  } else if (cell == "BOTH") {
    options.cells = {hafnia::CELL_1T1R, hafnia::CELL_2T2R};
  } else if (std::optional<hafnia::CellType> c = hafnia::ParseCellType(cell)) {
    options.cells = {*c};
  } else {
    return Fail(absl::StrCat("--cell must be 1T1R, 2T2R or both, got '",
                             absl::GetFlag(FLAGS_cell), "'"));
  }
  for (absl::string_view field :
       absl::StrSplit(absl::GetFlag(FLAGS_fit), ',', absl::SkipEmpty()))
    options.fields.push_back(std::string(absl::StripAsciiWhitespace(field)));

  absl::StatusOr<hafnia::DeviceFit> fit =
      hafnia::FitDeviceModel(*table, options);
  if (!fit.ok())
    return Fail(fit.status().message());
  if (absl::Status status = WriteSvg(hafnia::DeviceFitToSvg(*fit, *table));
      !status.ok())
    return Fail(status.message());
  std::cout << hafnia::FormatDeviceFit(*fit, *table);
  if (!fit->converged)
    std::cerr << "hafnia-device: warning: the fit did not converge ("
              << fit->stop << "); the fields printed are its last values\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage(
      absl::StrCat("Fits the device model to a measured BER-versus-cycles "
                   "table, or prints its BERs against cycles.\nUsage: ",
                   kUsage));
  std::vector<char *> arguments = absl::ParseCommandLine(argc, argv);
  if (arguments.size() < 2)
    return Fail(absl::StrCat("give a command: ", kUsage));
  std::string command = arguments[1];
  if (command != "fit" && command != "curve")
    return Fail(
        absl::StrCat("unknown command '", command, "': give 'fit' or 'curve'"));
  if (std::optional<std::string> flag = Misplaced(command))
    return Fail(absl::StrCat(*flag, " is an option of 'hafnia-device ",
                             command == "fit" ? "curve" : "fit", "', not of '",
                             command, "'"));
  return command == "fit" ? Fit(arguments) : Curve(arguments);
}
