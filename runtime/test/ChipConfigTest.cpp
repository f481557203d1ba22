// Chip configurations: the presets load, and every wrong or missing field
// is an error that names it.

#include "hafnia/runtime/ChipConfig.h"

#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

constexpr const char *kValid = R"pb(
  name: "test"
  array { rows: 32 columns: 16 }
  arrays: 4
  cell: CELL_2T2R
  digital_memory_bytes: 1024
  real_precision: REAL_INT8
  device {
    log_window: 2.3
    log_sigma: 0.35
    sigma_growth_per_decade: 0.05
    window_loss_per_decade: 0.03
  }
)pb";

TEST(ChipConfig, PresetsLoad) {
  absl::StatusOr<ChipConfig> paper = LoadChipConfig("paper-testchip");
  ASSERT_TRUE(paper.ok()) << paper.status();
  EXPECT_EQ(paper->arrays(), 1u);
  EXPECT_EQ(paper->array().rows(), 32u);
  EXPECT_EQ(paper->array().columns(), 32u);
  EXPECT_EQ(paper->cell(), CELL_2T2R);
  absl::StatusOr<ChipConfig> standard = LoadChipConfig("default");
  ASSERT_TRUE(standard.ok()) << standard.status();
  EXPECT_GT(standard->arrays(), 5632u);
}

TEST(ChipConfig, ValidTextParses) {
  absl::StatusOr<ChipConfig> config = ParseChipConfig(kValid, "test");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->real_precision(), REAL_INT8);
}

TEST(ChipConfig, MissingFieldsAreNamed) {
  for (const char *field :
       {"rows:", "columns:", "arrays:", "cell:", "digital_memory_bytes:",
        "real_precision:", "log_window:", "log_sigma:"}) {
    std::string text = kValid;
    // Drop just this field (rows and columns share a line).
    size_t start = text.find(field);
    size_t end =
        text.find_first_of(" \n}", start + std::string(field).size() + 1);
    text.erase(start, end - start);
    absl::StatusOr<ChipConfig> config = ParseChipConfig(text, "test");
    ASSERT_FALSE(config.ok()) << field;
    std::string name(field);
    name.pop_back();
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(name))
        << config.status();
  }
}

TEST(ChipConfig, BadValuesAreNamed) {
  std::string text = kValid;
  text.replace(text.find("window_loss_per_decade: 0.03"), 28,
               "window_loss_per_decade: 1.5");
  absl::StatusOr<ChipConfig> config = ParseChipConfig(text, "test");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("device.window_loss_per_decade"));
}

TEST(ChipConfig, SyntaxErrorsGivePosition) {
  absl::StatusOr<ChipConfig> config =
      ParseChipConfig("array { rowz: 3 }", "chip.textproto");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("chip.textproto:1:"));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("rowz"));
}

TEST(ChipConfig, UnknownPresetSaysWhatExists) {
  absl::StatusOr<ChipConfig> config = LoadChipConfig("no-such-chip");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("paper-testchip"));
}

TEST(ChipConfig, CellNamesRoundTrip) {
  for (CellType cell : {CELL_2T2R, CELL_1T1R})
    EXPECT_EQ(ParseCellType(CellName(cell)), cell);
  EXPECT_STREQ(CellName(CELL_2T2R), "2T2R");
  EXPECT_STREQ(CellName(CELL_1T1R), "1T1R");
  EXPECT_EQ(ParseCellType("2t2r"), std::nullopt);
  EXPECT_EQ(ParseCellType("unspecified"), std::nullopt);
}

TEST(ChipConfig, PerArrayQualityIsOneValuePerArray) {
  std::string good = std::string(kValid) +
                     "array_ber_multiplier: [1, 0.5, 3, 1] bad_arrays: [2]";
  EXPECT_TRUE(ParseChipConfig(good, "test").ok());
  for (auto [extra, message] :
       {std::pair<const char *, const char *>{
            "array_ber_multiplier: [1, 2, 3]",
            "field 'array_ber_multiplier' holds 3 values: give one per array, "
            "4 (field 'arrays'), or none"},
        {"array_ber_multiplier: [1, 2, -3, 1]",
         "field 'array_ber_multiplier' value 2 is -3: give a finite number "
         ">= 0"},
        {"bad_arrays: [4]",
         "field 'bad_arrays' names array 4: the chip's arrays are 0 to 3"},
        {"bad_arrays: [1, 1]", "field 'bad_arrays' names array 1 twice"}}) {
    absl::StatusOr<ChipConfig> config =
        ParseChipConfig(std::string(kValid) + extra, "test");
    ASSERT_FALSE(config.ok()) << extra;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(message));
    EXPECT_EQ(std::string(config.status().message()).find('\n'),
              std::string::npos);
  }
}

} // namespace
} // namespace hafnia
