// Loading and checking chip configurations (chip.proto as text format).

#ifndef HAFNIA_RUNTIME_CHIPCONFIG_H
#define HAFNIA_RUNTIME_CHIPCONFIG_H

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hafnia/proto/chip.pb.h"

namespace hafnia {

// Limits of a chip configuration, checked by ValidateChipConfig in the
// compiler and the runtime alike (docs/ISA.md, "Limits"): far beyond any
// chip built or planned, small enough that no configuration makes a tool
// allocate more than a few hundred MiB for the chip alone.
constexpr uint64_t kMaxArrays = uint64_t{1} << 20;    // 1,048,576
constexpr uint64_t kMaxArrayRows = 4096;              // word lines
constexpr uint64_t kMaxArrayColumns = 4096;           // bit lines
constexpr uint64_t kMaxChipCells = uint64_t{1} << 34; // arrays*rows*cols
// A budget, not an allocation: bounded so that sums of parameter sizes
// checked against it stay inside int64 (the compiler's calibration run uses
// this much as "unbounded").
constexpr uint64_t kMaxDigitalMemoryBytes = uint64_t{1} << 62;

// Parses a text-format ChipConfig and validates it; errors name `source`
// with the line and column, or the field at fault.
absl::StatusOr<ChipConfig> ParseChipConfig(absl::string_view text,
                                           absl::string_view source);

// Reads `name_or_path`: a file path, or the name of a preset in configs/
// (e.g. "paper-testchip", "default").
absl::StatusOr<ChipConfig> LoadChipConfig(absl::string_view name_or_path);

// Checks every field; the error names the first one that is wrong or missing
// and says what is allowed.
absl::Status ValidateChipConfig(const ChipConfig &config);

// "1T1R" or "2T2R" (any cell but CELL_1T1R reads as 2T2R, the chip's cell).
const char *CellName(CellType cell);
// "int8" or "float32" (any precision but REAL_INT8 reads as float32).
const char *PrecisionName(RealPrecision precision);
// The cell named "1T1R" or "2T2R", or nullopt.
std::optional<CellType> ParseCellType(absl::string_view name);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_CHIPCONFIG_H
