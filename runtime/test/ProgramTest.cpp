// Program files and the simulator's binary path: a corrupt or inconsistent
// program is refused with a message; tiled, bit-packed XNOR-popcount layers
// equal a plain scalar implementation for random sizes.

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "DenseProgram.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

TEST(Simulator, TiledBitPackedDenseEqualsScalar) {
  std::mt19937 random(5);
  std::uniform_int_distribution<int64_t> size(1, 150), side(1, 130);
  std::normal_distribution<float> normal;
  for (int trial = 0; trial < 60; ++trial) {
    int64_t batch = 1 + trial % 3, outputs = size(random),
            fan_in = size(random), rows = side(random), columns = side(random);
    DenseProgram dense(batch, outputs, fan_in, rows, columns, random);
    ASSERT_TRUE(ValidateProgram(dense.program()).ok())
        << ValidateProgram(dense.program());
    auto simulator = Simulator::Create(dense.program());
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    auto tiled = Simulator::Create(dense.program(), {/*fuse_layers=*/false});
    ASSERT_TRUE(tiled.ok()) << tiled.status();
    Tensor x{{batch, fan_in}, std::vector<float>(batch * fan_in)};
    for (float &v : x.data)
      v = normal(random);
    x.data[0] = 0.0f; // a zero reads +1, as on the chip
    SimulationStats stats;
    auto y = (*simulator)->Run({x}, &stats);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ((*y)[0].data, dense.Reference(x.data, batch))
        << outputs << " x " << fan_in << " on " << rows << " x " << columns;
    int64_t arrays =
        ((outputs + rows - 1) / rows) * ((fan_in + columns - 1) / columns);
    EXPECT_EQ(stats.array_activations(), static_cast<uint64_t>(batch * arrays));
    // Tile by tile, instruction by instruction: the same numbers.
    SimulationStats tiled_stats;
    auto tiled_y = (*tiled)->Run({x}, &tiled_stats);
    ASSERT_TRUE(tiled_y.ok()) << tiled_y.status();
    EXPECT_EQ((*tiled_y)[0].data, (*y)[0].data);
    EXPECT_EQ(tiled_stats.SerializeAsString(), stats.SerializeAsString());
  }
}

TEST(Simulator, XnorPopcountCountsAgreementsOnly) {
  uint64_t row[2] = {0b1011, 0}, input[2] = {0b0011, 0};
  // 70 columns: 69 agree (the zero high bits beyond column 70 do not count).
  EXPECT_EQ(XnorPopcount(row, input, 2, 70), 69);
}

class ProgramFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(1);
    program_ = DenseProgram(1, 5, 40, 4, 32, random).program();
    ASSERT_TRUE(ValidateProgram(program_).ok()) << ValidateProgram(program_);
    bytes_ = SerializeProgram(program_);
  }
  std::string Error(const std::string &bytes) {
    absl::StatusOr<Program> parsed = ParseProgram(bytes, "model.hfp");
    EXPECT_FALSE(parsed.ok());
    return std::string(parsed.status().message());
  }
  std::string ValidationError() {
    absl::Status status = ValidateProgram(program_);
    EXPECT_FALSE(status.ok());
    return std::string(status.message());
  }
  Program program_;
  std::string bytes_;
};

TEST_F(ProgramFileTest, RoundTrips) {
  absl::StatusOr<Program> parsed = ParseProgram(bytes_, "model.hfp");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), program_.SerializeAsString());
}

TEST_F(ProgramFileTest, RefusesDamagedFiles) {
  EXPECT_THAT(Error(""), HasSubstr("not a Hafnia program"));
  EXPECT_THAT(Error("\x7f"
                    "ELF and so on, a foreign file of some length"),
              HasSubstr("not a Hafnia program"));
  EXPECT_THAT(Error(bytes_.substr(0, bytes_.size() - 1)),
              HasSubstr("truncated"));
  std::string corrupt = bytes_;
  corrupt[corrupt.size() / 2] ^= 0x40;
  EXPECT_THAT(Error(corrupt), HasSubstr("CRC-32 does not match"));
  std::string newer = bytes_;
  newer[8] = 2;
  EXPECT_THAT(Error(newer), HasSubstr("program format version 2"));
  EXPECT_THAT(Error(newer), HasSubstr("model.hfp"));
}

TEST_F(ProgramFileTest, RefusesInconsistentPrograms) {
  program_.mutable_arrays(0)->set_array(100000);
  EXPECT_THAT(ValidationError(), HasSubstr("the chip has 8192 arrays"));
  SetUp();
  program_.mutable_instructions(3)->set_inputs(0, 999);
  EXPECT_THAT(ValidationError(), HasSubstr("reads buffer 999"));
  SetUp();
  // Instruction order: read a popcount before it is computed.
  program_.mutable_instructions(1)->set_inputs(0, 3);
  EXPECT_THAT(ValidationError(), HasSubstr("before anything writes it"));
  SetUp();
  program_.mutable_instructions(3)->mutable_xnor_read()->set_array(77);
  EXPECT_THAT(ValidationError(), HasSubstr("does not program"));
  SetUp();
  program_.mutable_arrays(0)->mutable_bits()->pop_back();
  EXPECT_THAT(ValidationError(), HasSubstr("does not match the 4x32 array"));
  SetUp();
  program_.mutable_buffers(0)->set_shape(1, -3);
  EXPECT_THAT(ValidationError(),
              HasSubstr("has shape [1,-3]: dimensions must be >= 0"));
  SetUp();
  program_.mutable_chip()->set_arrays(0);
  EXPECT_THAT(ValidationError(), HasSubstr("arrays"));
}

} // namespace
} // namespace hafnia

namespace hafnia {
namespace {

// Outputs of every trial chip against the error-free chip and the tile path.
class ErrorInjectionTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(11);
    // 300 x 1000 on 32 x 32 arrays: 10 x 32 tiles, 24 padded columns each.
    DenseProgram dense(2, 300, 1000, 32, 32, random);
    program_ = dense.program();
    fused_ = *Simulator::Create(program_);
    tiled_ = *Simulator::Create(program_, {/*fuse_layers=*/false});
    std::normal_distribution<float> normal;
    input_ = Tensor{{2, 1000}, std::vector<float>(2000)};
    for (float &v : input_.data)
      v = normal(random);
  }
  std::vector<float> Run(const Simulator &simulator,
                         const Simulator::ChipState *chip) {
    auto prefix = simulator.RunPrefix({input_});
    EXPECT_TRUE(prefix.ok()) << prefix.status();
    auto outputs = simulator.RunSuffix(**prefix, chip, nullptr);
    EXPECT_TRUE(outputs.ok()) << outputs.status();
    return (*outputs)[0].data;
  }
  Program program_;
  std::unique_ptr<Simulator> fused_, tiled_;
  Tensor input_;
};

TEST_F(ErrorInjectionTest, ZeroBerReproducesTheErrorFreeChip) {
  std::mt19937_64 random = TrialEngine(1, 0);
  auto chip = fused_->ProgramWithErrors(0.0, random);
  EXPECT_EQ(Run(*fused_, chip.get()), Run(*fused_, nullptr));
  for (uint64_t flips : Simulator::Flips(*chip))
    EXPECT_EQ(flips, 0u);
}

TEST_F(ErrorInjectionTest, WholeRowsEqualTilesWithErrorsInPaddingToo) {
  for (double ber : {1e-3, 0.05, 0.3}) {
    std::mt19937_64 fused_random = TrialEngine(7, 3);
    std::mt19937_64 tiled_random = TrialEngine(7, 3);
    auto fused_chip = fused_->ProgramWithErrors(ber, fused_random);
    auto tiled_chip = tiled_->ProgramWithErrors(ber, tiled_random);
    EXPECT_EQ(Simulator::Flips(*fused_chip), Simulator::Flips(*tiled_chip));
    std::vector<float> fused = Run(*fused_, fused_chip.get());
    EXPECT_EQ(fused, Run(*tiled_, tiled_chip.get())) << "BER " << ber;
    EXPECT_NE(fused, Run(*fused_, nullptr)) << "BER " << ber;
  }
}

TEST_F(ErrorInjectionTest, ObservedFlipsFollowTheDeviceModel) {
  absl::StatusOr<ChipConfig> chip = LoadChipConfig("default");
  ASSERT_TRUE(chip.ok()) << chip.status();
  uint64_t cells = 0;
  for (uint64_t count : fused_->CellsRead())
    cells += count;
  for (CellType cell : {CELL_1T1R, CELL_2T2R})
    for (double cycles : {1e2, 1e4, 1e6}) {
      double ber = BitErrorRate(chip->device(), cell, cycles);
      uint64_t flipped = 0, trials = 20;
      for (uint64_t t = 0; t < trials; ++t) {
        std::mt19937_64 random = TrialEngine(3, t);
        auto programmed = fused_->ProgramWithErrors(ber, random);
        for (uint64_t flips : Simulator::Flips(*programmed))
          flipped += flips;
      }
      double expected = ber * cells * trials;
      double sigma = std::sqrt(expected * (1 - ber));
      EXPECT_NEAR(static_cast<double>(flipped), expected, 5 * sigma + 1)
          << CellName(cell) << " at " << cycles << " cycles, BER " << ber;
    }
}

// Several samples on several chips at once give each sample's run on each
// chip, values and statistics, whether the chips differ from the error-free
// one in a few words (the corrected popcounts) or in many (the GEMM).
TEST_F(ErrorInjectionTest, SuffixesOfManySamplesOnManyChipsEqualSingleRuns) {
  for (const Simulator *simulator : {fused_.get(), tiled_.get()}) {
    std::vector<std::unique_ptr<Simulator::ChipState>> owned;
    std::vector<const Simulator::ChipState *> chips = {nullptr};
    uint64_t trial = 0;
    for (double ber : {0.0, 1e-4, 1e-3, 0.05, 0.3}) {
      std::mt19937_64 random = TrialEngine(9, trial++);
      owned.push_back(simulator->ProgramWithErrors(ber, random));
      chips.push_back(owned.back().get());
    }
    std::mt19937 random(4);
    std::normal_distribution<float> normal;
    std::vector<std::shared_ptr<const Simulator::Prefix>> prefixes;
    std::vector<const Simulator::Prefix *> pointers;
    for (int sample = 0; sample < 300; ++sample) {
      Tensor x = input_;
      for (float &v : x.data)
        v = normal(random);
      prefixes.push_back(*simulator->RunPrefix({x}));
      pointers.push_back(prefixes.back().get());
    }
    SimulationStats together;
    auto runs = simulator->RunSuffixes(pointers, chips, &together);
    ASSERT_TRUE(runs.ok()) << runs.status();
    ASSERT_EQ(runs->size(), chips.size());
    SimulationStats one_by_one;
    for (size_t c = 0; c < chips.size(); ++c) {
      const Tensor &stacked = (*runs)[c][0];
      ASSERT_EQ(stacked.shape, (std::vector<int64_t>{300, 2, 300}));
      for (size_t p = 0; p < prefixes.size(); ++p) {
        auto single = simulator->RunSuffix(*prefixes[p], chips[c], &one_by_one);
        ASSERT_TRUE(single.ok());
        std::vector<float> part(stacked.data.begin() + p * 600,
                                stacked.data.begin() + (p + 1) * 600);
        ASSERT_EQ(part, (*single)[0].data) << "chip " << c << " sample " << p;
      }
    }
    EXPECT_EQ(together.SerializeAsString(), one_by_one.SerializeAsString());
  }
}

TEST_F(ErrorInjectionTest, TrialsAreReproducible) {
  std::mt19937_64 a = TrialEngine(5, 2), b = TrialEngine(5, 2);
  auto first = fused_->ProgramWithErrors(0.01, a);
  auto second = fused_->ProgramWithErrors(0.01, b);
  EXPECT_EQ(Run(*fused_, first.get()), Run(*fused_, second.get()));
}

} // namespace
} // namespace hafnia

namespace hafnia {
namespace {

// Programs damaged at random, but with a valid checksum, are either refused
// by the validator or run to the end: never a crash.
TEST(ProgramRobustness, RandomDamageIsRefusedOrRunsSafely) {
  std::mt19937 random(99);
  std::mt19937 weights(3);
  DenseProgram dense(1, 40, 70, 16, 32, weights);
  const Program original = dense.program();
  std::uniform_int_distribution<int> choice(0, 9);
  int refused = 0, ran = 0;
  for (int trial = 0; trial < 400; ++trial) {
    Program program = original;
    for (int damage = 0; damage < 1 + trial % 3; ++damage) {
      auto pick = [&](int size) {
        return std::uniform_int_distribution<int>(0, size - 1)(random);
      };
      int64_t value = std::uniform_int_distribution<int64_t>(-3, 80)(random);
      Instruction *instruction =
          program.mutable_instructions(pick(program.instructions_size()));
      switch (choice(random)) {
      case 0: {
        Buffer *buffer = program.mutable_buffers(pick(program.buffers_size()));
        if (buffer->shape_size())
          buffer->set_shape(pick(buffer->shape_size()), value);
        break;
      }
      case 1:
        if (instruction->inputs_size())
          instruction->set_inputs(pick(instruction->inputs_size()),
                                  static_cast<uint32_t>(value));
        break;
      case 2:
        instruction->set_output(static_cast<uint32_t>(value));
        break;
      case 3:
        if (instruction->has_input_slice())
          instruction->mutable_input_slice()->set_offset(value);
        else if (instruction->has_xnor_read())
          instruction->mutable_xnor_read()->set_array(
              static_cast<uint32_t>(value));
        break;
      case 4:
        if (instruction->has_collect() &&
            instruction->collect().rows_used_size())
          instruction->mutable_collect()->set_rows_used(
              pick(instruction->collect().rows_used_size()), value);
        else if (instruction->has_accumulate())
          instruction->mutable_accumulate()->set_correction(value);
        break;
      case 5:
        program.mutable_instructions()->SwapElements(
            pick(program.instructions_size()),
            pick(program.instructions_size()));
        break;
      case 6:
        program.mutable_arrays(pick(program.arrays_size()))
            ->set_rows_used(static_cast<uint32_t>(value));
        break;
      case 7:
        program.mutable_arrays(pick(program.arrays_size()))
            ->mutable_bits()
            ->resize(pick(300));
        break;
      case 8:
        if (instruction->has_popcount_affine())
          instruction->mutable_popcount_affine()->set_fan_in(value);
        else
          instruction->add_inputs(static_cast<uint32_t>(pick(40)));
        break;
      default:
        program.mutable_chip()->mutable_array()->set_columns(
            static_cast<uint32_t>(value));
        break;
      }
    }
    absl::StatusOr<Program> parsed =
        ParseProgram(SerializeProgram(program), "damaged.hfp");
    if (!parsed.ok()) {
      EXPECT_THAT(std::string(parsed.status().message()),
                  HasSubstr("damaged.hfp"));
      ++refused;
      continue;
    }
    auto simulator = Simulator::Create(*parsed);
    ASSERT_TRUE(simulator.ok()) << simulator.status();
    const Buffer &input = parsed->buffers(parsed->inputs(0).buffer());
    std::vector<int64_t> shape(input.shape().begin(), input.shape().end());
    Tensor x{shape, std::vector<float>(NumElements(shape), 0.5f)};
    SimulationStats stats;
    EXPECT_TRUE((*simulator)->Run({x}, &stats).ok());
    ++ran;
  }
  EXPECT_GT(refused, 100);
  EXPECT_GT(ran, 0);
}

} // namespace
} // namespace hafnia
