// Loading and checking chip configurations.

#include "hafnia/runtime/ChipConfig.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "hafnia/runtime/CostModel.h"
#include "hafnia/runtime/FileIO.h"

namespace hafnia {
namespace {

// Keeps the first error of the text-format parser, with its position.
class FirstError : public google::protobuf::io::ErrorCollector {
public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string &message) override {
    if (message_.empty())
      message_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  const std::string &message() const { return message_; }

private:
  std::string message_;
};

} // namespace

absl::StatusOr<ChipConfig> ParseChipConfig(absl::string_view text,
                                           absl::string_view source) {
  ChipConfig config;
  google::protobuf::TextFormat::Parser parser;
  FirstError errors;
  parser.RecordErrorsTo(&errors);
  google::protobuf::LogSilencer quiet; // the first error is the one line
  if (!parser.ParseFromString(std::string(text), &config))
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", errors.message()));
  if (absl::Status status = ValidateChipConfig(config); !status.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", status.message()));
  return config;
}

absl::StatusOr<ChipConfig> LoadChipConfig(absl::string_view name_or_path) {
  std::string path(name_or_path);
  // A bare name is a preset of configs/.
  if (!absl::StrContains(path, '/') && !absl::EndsWith(path, ".textproto"))
    path = absl::StrCat(HAFNIA_CONFIG_DIR, "/", path, ".textproto");
  absl::StatusOr<std::string> text = ReadFile(path, kMaxTextFileBytes);
  if (absl::IsNotFound(text.status()))
    return absl::NotFoundError(
        absl::StrCat("cannot read chip configuration '", path,
                     "': give a file or a preset of configs/ (paper-testchip, "
                     "default, large)"));
  if (!text.ok())
    return text.status();
  return ParseChipConfig(*text, path);
}

namespace {

// array_ber_multiplier and bad_arrays: one value per array, indices of
// arrays.
absl::Status ValidateArrayQuality(const ChipConfig &config) {
  int multipliers = config.array_ber_multiplier_size();
  if (multipliers != 0 && multipliers != static_cast<int>(config.arrays()))
    return absl::InvalidArgumentError(
        absl::StrCat("field 'array_ber_multiplier' holds ", multipliers,
                     " values: give one per array, ", config.arrays(),
                     " (field 'arrays'), or none"));
  for (int k = 0; k < multipliers; ++k) {
    double multiplier = config.array_ber_multiplier(k);
    if (!(multiplier >= 0 && std::isfinite(multiplier)))
      return absl::InvalidArgumentError(
          absl::StrCat("field 'array_ber_multiplier' value ", k, " is ",
                       multiplier, ": give a finite number >= 0"));
  }
  std::vector<bool> seen(config.arrays(), false);
  for (uint32_t array : config.bad_arrays()) {
    if (array >= config.arrays())
      return absl::InvalidArgumentError(
          absl::StrCat("field 'bad_arrays' names array ", array,
                       ": the chip's arrays are 0 to ", config.arrays() - 1));
    if (seen[array])
      return absl::InvalidArgumentError(
          absl::StrCat("field 'bad_arrays' names array ", array, " twice"));
    seen[array] = true;
  }
  return absl::OkStatus();
}

} // namespace

absl::Status ValidateChipConfig(const ChipConfig &config) {
  auto missing = [](absl::string_view field, absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("field '", field, "' is missing or zero: ", what));
  };
  if (config.array().rows() == 0)
    return missing("array.rows", "give the word lines per array, e.g. 32");
  if (config.array().columns() == 0)
    return missing("array.columns", "give the bit lines per array, e.g. 32");
  if (config.arrays() == 0)
    return missing("arrays", "give the number of arrays, e.g. 1");
  auto too_large = [](absl::string_view field, uint64_t value, uint64_t limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("field '", field, "' is ", value, ", above the limit of ",
                     limit, ": give a smaller chip"));
  };
  if (config.array().rows() > kMaxArrayRows)
    return too_large("array.rows", config.array().rows(), kMaxArrayRows);
  if (config.array().columns() > kMaxArrayColumns)
    return too_large("array.columns", config.array().columns(),
                     kMaxArrayColumns);
  if (config.arrays() > kMaxArrays)
    return too_large("arrays", config.arrays(), kMaxArrays);
  // At most 2^20 * 2^24 = 2^44: no overflow.
  uint64_t cells = uint64_t{config.arrays()} * config.array().rows() *
                   config.array().columns();
  if (cells > kMaxChipCells)
    return absl::InvalidArgumentError(
        absl::StrCat("fields 'arrays' x 'array.rows' x 'array.columns' give ",
                     cells, " cells, above the limit of ", kMaxChipCells,
                     ": give fewer or smaller arrays"));
  if (config.cell() == CELL_TYPE_UNSPECIFIED)
    return missing("cell", "set CELL_2T2R or CELL_1T1R");
  if (!CellType_IsValid(config.cell()))
    return absl::InvalidArgumentError(
        absl::StrCat("field 'cell' is ", config.cell(),
                     ", not a cell this runtime knows: set CELL_2T2R or "
                     "CELL_1T1R"));
  if (config.digital_memory_bytes() == 0)
    return missing("digital_memory_bytes",
                   "give the digital core's weight memory in bytes");
  if (config.digital_memory_bytes() > kMaxDigitalMemoryBytes)
    return too_large("digital_memory_bytes", config.digital_memory_bytes(),
                     kMaxDigitalMemoryBytes);
  if (config.real_precision() == REAL_PRECISION_UNSPECIFIED)
    return missing("real_precision", "set REAL_FLOAT32 or REAL_INT8");
  if (!RealPrecision_IsValid(config.real_precision()))
    return absl::InvalidArgumentError(
        absl::StrCat("field 'real_precision' is ", config.real_precision(),
                     ", not a precision this runtime knows: set REAL_FLOAT32 "
                     "or REAL_INT8"));
  if (absl::Status status = ValidateCostModel(config.cost()); !status.ok())
    return status;
  const DeviceModel &device = config.device();
  for (auto [field, value] :
       {std::pair<const char *, double>{"device.log_window",
                                        device.log_window()},
        {"device.log_sigma", device.log_sigma()},
        {"device.sigma_growth_per_decade", device.sigma_growth_per_decade()},
        {"device.window_loss_per_decade", device.window_loss_per_decade()},
        {"device.lrs_log_sigma", device.lrs_log_sigma()},
        {"device.hrs_log_sigma", device.hrs_log_sigma()},
        {"device.lrs_sigma_growth_per_decade",
         device.lrs_sigma_growth_per_decade()},
        {"device.hrs_sigma_growth_per_decade",
         device.hrs_sigma_growth_per_decade()},
        {"device.sense_offset_sigma", device.sense_offset_sigma()},
        {"device.reference_log_sigma", device.reference_log_sigma()},
        {"device.stuck_lrs_fraction", device.stuck_lrs_fraction()},
        {"device.stuck_hrs_fraction", device.stuck_hrs_fraction()},
        {"device.array_sigma_spread", device.array_sigma_spread()}})
    if (!std::isfinite(value))
      return absl::InvalidArgumentError(absl::StrCat(
          "field '", field, "' is ", value, ": give a finite value"));
  if (!(device.log_window() > 0))
    return missing("device.log_window",
                   "give ln(R_HRS / R_LRS) between the state medians, > 0");
  if (!(device.log_sigma() > 0))
    return missing("device.log_sigma",
                   "give the spread of ln(R) before cycling, > 0");
  if (!(device.sigma_growth_per_decade() >= 0))
    return absl::InvalidArgumentError(
        "field 'device.sigma_growth_per_decade' must be >= 0");
  if (!(device.window_loss_per_decade() >= 0 &&
        device.window_loss_per_decade() < 1))
    return absl::InvalidArgumentError(
        "field 'device.window_loss_per_decade' must lie in [0, 1)");
  // The fields of the richer model (docs/device-model.md): each message
  // names the field, its value and what is allowed.
  auto out_of_range = [](absl::string_view field, double value,
                         absl::string_view allowed) {
    return absl::InvalidArgumentError(
        absl::StrCat("field 'device.", field, "' is ", value, ": ", allowed));
  };
  if (device.has_lrs_log_sigma() && !(device.lrs_log_sigma() > 0))
    return out_of_range("lrs_log_sigma", device.lrs_log_sigma(),
                        "give the LRS's spread of ln(R) before cycling, > 0 "
                        "(or leave it out for log_sigma's)");
  if (device.has_hrs_log_sigma() && !(device.hrs_log_sigma() > 0))
    return out_of_range("hrs_log_sigma", device.hrs_log_sigma(),
                        "give the HRS's spread of ln(R) before cycling, > 0 "
                        "(or leave it out for log_sigma's)");
  if (!(device.lrs_sigma_growth_per_decade() >= 0))
    return out_of_range("lrs_sigma_growth_per_decade",
                        device.lrs_sigma_growth_per_decade(), "must be >= 0");
  if (!(device.hrs_sigma_growth_per_decade() >= 0))
    return out_of_range("hrs_sigma_growth_per_decade",
                        device.hrs_sigma_growth_per_decade(), "must be >= 0");
  if (!(device.sense_offset_sigma() >= 0))
    return out_of_range("sense_offset_sigma", device.sense_offset_sigma(),
                        "give the spread of the sense amplifier's offset in "
                        "ln(R), >= 0 (0: an ideal comparator)");
  if (!(device.reference_log_sigma() >= 0))
    return out_of_range("reference_log_sigma", device.reference_log_sigma(),
                        "give the spread of the 1T1R reference's ln(R), >= 0 "
                        "(0: an exact reference)");
  if (!(device.stuck_lrs_fraction() >= 0 && device.stuck_lrs_fraction() < 0.5))
    return out_of_range("stuck_lrs_fraction", device.stuck_lrs_fraction(),
                        "give the fraction of devices stuck in the LRS, in "
                        "[0, 0.5)");
  if (!(device.stuck_hrs_fraction() >= 0 && device.stuck_hrs_fraction() < 0.5))
    return out_of_range("stuck_hrs_fraction", device.stuck_hrs_fraction(),
                        "give the fraction of devices stuck in the HRS, in "
                        "[0, 0.5)");
  if (!(device.array_sigma_spread() >= 0 && device.array_sigma_spread() <= 1))
    return out_of_range("array_sigma_spread", device.array_sigma_spread(),
                        "give the spread of ln(each array's spread "
                        "multiplier), in [0, 1] (0: every array alike)");
  return ValidateArrayQuality(config);
}

const char *CellName(CellType cell) {
  return cell == CELL_1T1R ? "1T1R" : "2T2R";
}

const char *PrecisionName(RealPrecision precision) {
  return precision == REAL_INT8 ? "int8" : "float32";
}

std::optional<CellType> ParseCellType(absl::string_view name) {
  for (CellType cell : {CELL_1T1R, CELL_2T2R})
    if (name == CellName(cell))
      return cell;
  return std::nullopt;
}

} // namespace hafnia
