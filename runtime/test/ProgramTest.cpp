// Program files and the simulator's binary path: a corrupt or inconsistent
// program is refused with a message; tiled, bit-packed XNOR-popcount layers
// equal a plain scalar implementation for random sizes.

#include <random>
#include <string>
#include <vector>

#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

// Builds a program of one binary dense layer, tiled as convert-bnn-to-rram
// does, that outputs the real dot products 2 * popcount - K.
class DenseProgram {
public:
  DenseProgram(int64_t batch, int64_t outputs, int64_t fan_in, int64_t rows,
               int64_t columns, std::mt19937 &random)
      : outputs_(outputs), fan_in_(fan_in) {
    std::bernoulli_distribution coin(0.5);
    weights_.resize(outputs * fan_in);
    for (size_t i = 0; i < weights_.size(); ++i)
      weights_[i] = coin(random);

    absl::StatusOr<ChipConfig> chip = LoadChipConfig("default");
    *program_.mutable_chip() = *chip;
    program_.mutable_chip()->mutable_array()->set_rows(rows);
    program_.mutable_chip()->mutable_array()->set_columns(columns);
    program_.set_format_version(kProgramFormatVersion);

    uint32_t input = AddBuffer({batch, fan_in}, F32);
    program_.add_inputs()->set_buffer(input);
    program_.mutable_inputs(0)->set_name("x");
    uint32_t bits = Add({input}, {batch, fan_in}, BIT).output();
    program_.mutable_instructions(0)->mutable_binarize();

    int64_t row_tiles = (outputs + rows - 1) / rows;
    int64_t column_tiles = (fan_in + columns - 1) / columns;
    std::vector<uint32_t> slices;
    for (int64_t c = 0; c < column_tiles; ++c) {
      Instruction &slice = Add({bits}, {batch, columns}, BIT);
      slice.mutable_input_slice()->set_offset(c * columns);
      slices.push_back(slice.output());
    }
    std::vector<uint32_t> row_sums;
    Instruction::Collect collect;
    uint32_t array = 0;
    for (int64_t r = 0; r < row_tiles; ++r) {
      std::vector<uint32_t> partials;
      for (int64_t c = 0; c < column_tiles; ++c, ++array) {
        ArrayImage *image = program_.add_arrays();
        image->set_array(array);
        image->set_rows_used(std::min(rows, outputs - r * rows));
        image->set_columns_used(std::min(columns, fan_in - c * columns));
        std::vector<bool> cells(rows * columns, true);
        for (int64_t i = 0; i < image->rows_used(); ++i)
          for (int64_t j = 0; j < image->columns_used(); ++j)
            cells[i * columns + j] =
                weights_[(r * rows + i) * fan_in + c * columns + j];
        image->set_bits(PackBits(cells));
        Instruction &read = Add({slices[c]}, {batch, rows}, I32);
        read.mutable_xnor_read()->set_array(array);
        partials.push_back(read.output());
      }
      Instruction &sum = Add(partials, {batch, rows}, I32);
      sum.mutable_accumulate()->set_correction(
          -(column_tiles * columns - fan_in));
      row_sums.push_back(sum.output());
      collect.add_rows_used(std::min(rows, outputs - r * rows));
    }
    Instruction &gathered = Add(row_sums, {batch, outputs}, I32);
    *gathered.mutable_collect() = collect;
    Instruction &affine = Add({gathered.output()}, {batch, outputs}, F32);
    affine.mutable_popcount_affine()->set_fan_in(fan_in);
    for (int64_t m = 0; m < outputs; ++m) {
      affine.mutable_popcount_affine()->add_scale(1.0f);
      affine.mutable_popcount_affine()->add_bias(0.0f);
    }
    program_.add_outputs()->set_buffer(affine.output());
    program_.mutable_outputs(0)->set_name("y");
  }

  Program &program() { return program_; }

  // The scalar reference: sum over k of sign(x) * w.
  std::vector<float> Reference(const std::vector<float> &x,
                               int64_t batch) const {
    std::vector<float> y(batch * outputs_, 0.0f);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t m = 0; m < outputs_; ++m) {
        int64_t sum = 0;
        for (int64_t k = 0; k < fan_in_; ++k) {
          int xs = x[b * fan_in_ + k] >= 0 ? 1 : -1;
          int ws = weights_[m * fan_in_ + k] ? 1 : -1;
          sum += xs * ws;
        }
        y[b * outputs_ + m] = static_cast<float>(sum);
      }
    return y;
  }

private:
  uint32_t AddBuffer(std::vector<int64_t> shape, ElementType type) {
    Buffer *buffer = program_.add_buffers();
    for (int64_t dim : shape)
      buffer->add_shape(dim);
    buffer->set_type(type);
    return program_.buffers_size() - 1;
  }
  Instruction &Add(const std::vector<uint32_t> &inputs,
                   std::vector<int64_t> shape, ElementType type) {
    Instruction *instruction = program_.add_instructions();
    instruction->set_layer("fc");
    for (uint32_t input : inputs)
      instruction->add_inputs(input);
    instruction->set_output(AddBuffer(shape, type));
    return *instruction;
  }

  Program program_;
  std::vector<bool> weights_;
  int64_t outputs_, fan_in_;
};

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
  EXPECT_THAT(ValidationError(), HasSubstr("invalid shape"));
  SetUp();
  program_.mutable_chip()->set_arrays(0);
  EXPECT_THAT(ValidationError(), HasSubstr("arrays"));
}

} // namespace
} // namespace hafnia
