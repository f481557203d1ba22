// Limits that keep a small file from taking the machine, and programs at the
// edges (empty, rank-0, zero-size tensors) that must run or be refused with
// one line, never crash: the regression tests of issue 13.

#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "DenseProgram.h"
#include "absl/strings/str_cat.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/FileIO.h"
#include "hafnia/runtime/MappingReport.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

ChipConfig ValidChip() {
  absl::StatusOr<ChipConfig> chip = LoadChipConfig("paper-testchip");
  EXPECT_TRUE(chip.ok()) << chip.status();
  return *chip;
}

std::string ChipError(const ChipConfig &chip) {
  absl::Status status = ValidateChipConfig(chip);
  EXPECT_FALSE(status.ok());
  return std::string(status.message());
}

TEST(ChipLimits, EachFieldIsNamedWithItsLimit) {
  ChipConfig chip = ValidChip();
  chip.set_arrays(4294967295u);
  EXPECT_THAT(ChipError(chip),
              HasSubstr("field 'arrays' is 4294967295, above the limit of "
                        "1048576"));
  chip = ValidChip();
  chip.mutable_array()->set_rows(100000);
  EXPECT_THAT(ChipError(chip), HasSubstr("field 'array.rows' is 100000"));
  chip = ValidChip();
  chip.mutable_array()->set_columns(4097);
  EXPECT_THAT(ChipError(chip), HasSubstr("field 'array.columns' is 4097"));
  chip = ValidChip();
  chip.set_arrays(kMaxArrays);
  chip.mutable_array()->set_rows(4096);
  chip.mutable_array()->set_columns(4096);
  EXPECT_THAT(ChipError(chip), HasSubstr("cells, above the limit of"));
  chip = ValidChip();
  chip.set_digital_memory_bytes((uint64_t{1} << 62) + 1);
  EXPECT_THAT(ChipError(chip), HasSubstr("field 'digital_memory_bytes'"));
  chip = ValidChip();
  chip.set_cell(static_cast<CellType>(7));
  EXPECT_THAT(ChipError(chip), HasSubstr("field 'cell' is 7"));
  chip = ValidChip();
  chip.mutable_device()->set_log_window(1.0 / 0.0);
  EXPECT_THAT(ChipError(chip),
              HasSubstr("'device.log_window' is inf: give a finite"));
  // The largest chip within every limit is valid.
  chip = ValidChip();
  chip.set_arrays(kMaxArrays);
  chip.mutable_array()->set_rows(128);
  chip.mutable_array()->set_columns(128);
  EXPECT_TRUE(ValidateChipConfig(chip).ok());
}

class ProgramLimitsTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(1);
    program_ = DenseProgram(1, 5, 40, 4, 32, random).program();
    ASSERT_TRUE(ValidateProgram(program_).ok());
  }
  std::string Error() {
    absl::Status status = ValidateProgram(program_);
    EXPECT_FALSE(status.ok());
    return std::string(status.message());
  }
  Program program_;
};

TEST_F(ProgramLimitsTest, ChipOfFourBillionArraysIsRefusedByTheValidator) {
  program_.mutable_chip()->set_arrays(4294967295u);
  EXPECT_THAT(Error(), HasSubstr("chip: field 'arrays' is 4294967295"));
  // And by Simulator::Create, which allocated a table of every array.
  EXPECT_FALSE(Simulator::Create(program_).ok());
}

TEST_F(ProgramLimitsTest, MemoryBoundSaysHowMuchTheProgramNeeds) {
  // A 2^31-element buffer passes the per-buffer bound (8 GiB of floats) but
  // not the total: the 370 KB program of issue 13 asked for this.
  Buffer *big = program_.add_buffers();
  big->set_type(F32);
  big->add_shape(int64_t{1} << 16);
  big->add_shape(int64_t{1} << 15);
  EXPECT_THAT(Error(), HasSubstr("the program needs 8.00 GiB of simulator "
                                 "memory (8591052288 bytes"));
  EXPECT_THAT(Error(), HasSubstr("above the limit of 4 GiB"));
  SimulatorMemory memory = EstimateSimulatorMemory(program_);
  EXPECT_GT(memory.buffers, uint64_t{8} << 30);
  EXPECT_GT(memory.arrays, 0u);
  EXPECT_GT(memory.tiled_layers, 0u);
}

TEST_F(ProgramLimitsTest, ZeroDimensionsDoNotLiftTheBoundOnTheOthers) {
  Buffer *empty = program_.add_buffers();
  empty->set_type(F32);
  empty->add_shape(0);
  empty->add_shape(int64_t{1} << 40);
  empty->add_shape(int64_t{1} << 40);
  EXPECT_THAT(Error(), HasSubstr("has shape [0,1099511627776,1099511627776]: "
                                 "dimensions must be >= 0 with at most"));
}

TEST_F(ProgramLimitsTest, HugeAttributesAreErrorsNotOverflows) {
  // Threshold fan_in at INT64_MAX: fan_in + 1 overflowed.
  Program base = program_;
  Instruction *affine = program_.mutable_instructions(10);
  affine->mutable_popcount_affine()->set_fan_in(INT64_MAX);
  EXPECT_THAT(Error(), HasSubstr("has an affine that does not match"));
  program_ = base;
  // A pool over the popcount-affine output with a kernel of 2^62.
  Buffer *out = program_.add_buffers();
  out->set_type(F32);
  for (int64_t d : {1, 5, 1})
    out->add_shape(d);
  Instruction *pool = program_.add_instructions();
  pool->add_inputs(program_.instructions(10).output());
  pool->set_output(program_.buffers_size() - 1);
  pool->mutable_pool()->set_kind(Instruction::Pool::MAX);
  pool->mutable_pool()->mutable_window()->add_kernel(int64_t{1} << 62);
  pool->mutable_pool()->mutable_window()->add_strides(INT64_MAX);
  EXPECT_FALSE(ValidateProgram(program_).ok());
}

// A program of one instruction over `input` (shape) giving `output`.
Program OneInstruction(const std::vector<int64_t> &input,
                       const std::vector<int64_t> &output,
                       const std::function<void(Instruction &)> &op,
                       std::vector<std::vector<int64_t>> constants = {}) {
  Program program;
  program.set_format_version(kProgramFormatVersion);
  *program.mutable_chip() = *LoadChipConfig("paper-testchip");
  auto add = [&](const std::vector<int64_t> &shape) {
    Buffer *buffer = program.add_buffers();
    buffer->set_type(F32);
    for (int64_t d : shape)
      buffer->add_shape(d);
    return static_cast<uint32_t>(program.buffers_size() - 1);
  };
  Instruction instruction;
  uint32_t x = add(input);
  program.add_inputs()->set_buffer(x);
  program.mutable_inputs(0)->set_name("x");
  instruction.add_inputs(x);
  for (const auto &shape : constants) {
    uint32_t c = add(shape);
    Constant *constant = program.add_constants();
    constant->set_buffer(c);
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    constant->set_data(std::string(4 * n, '\0'));
    instruction.add_inputs(c);
  }
  instruction.set_output(add(output));
  op(instruction);
  *program.add_instructions() = instruction;
  program.add_outputs()->set_buffer(instruction.output());
  program.mutable_outputs(0)->set_name("y");
  return program;
}

// Runs `program` on zeros; the outputs' element counts.
std::vector<int64_t> RunOnZeros(const Program &program) {
  absl::StatusOr<std::unique_ptr<Simulator>> simulator =
      Simulator::Create(program);
  EXPECT_TRUE(simulator.ok()) << simulator.status();
  if (!simulator.ok())
    return {};
  std::vector<Tensor> inputs;
  for (const TensorBinding &input : program.inputs()) {
    Tensor tensor;
    tensor.shape = ShapeOf(program.buffers(input.buffer()));
    tensor.data.assign(tensor.NumElements(), 0.0f);
    inputs.push_back(tensor);
  }
  SimulationStats stats;
  absl::StatusOr<std::vector<Tensor>> outputs =
      (*simulator)->Run(inputs, &stats);
  EXPECT_TRUE(outputs.ok()) << outputs.status();
  std::vector<int64_t> sizes;
  if (outputs.ok())
    for (const Tensor &output : *outputs)
      sizes.push_back(output.data.size());
  return sizes;
}

TEST(EdgePrograms, ZeroSizeAndScalarTensorsRun) {
  auto relu = [](Instruction &i) {
    i.mutable_activation()->set_kind(Instruction::Activation::RELU);
  };
  // A [1,0] input.
  EXPECT_EQ(RunOnZeros(OneInstruction({1, 0}, {1, 0}, relu)),
            std::vector<int64_t>{0});
  // A scalar input and output.
  EXPECT_EQ(RunOnZeros(OneInstruction({}, {}, relu)), std::vector<int64_t>{1});
  // Batch normalization of zero channels, with zero-size parameters.
  EXPECT_EQ(
      RunOnZeros(OneInstruction({1, 0, 4}, {1, 0, 4},
                                [](Instruction &i) { i.mutable_batch_norm(); },
                                {{0}, {0}, {0}, {0}})),
      std::vector<int64_t>{0});
  // A dense layer contracting zero inputs gives zeros.
  EXPECT_EQ(RunOnZeros(OneInstruction({1, 0}, {1, 3},
                                      [](Instruction &i) { i.mutable_dense(); },
                                      {{0, 3}})),
            std::vector<int64_t>{3});
}

TEST(EdgePrograms, NoInputsRuns) {
  Program program;
  program.set_format_version(kProgramFormatVersion);
  *program.mutable_chip() = *LoadChipConfig("paper-testchip");
  for (int b = 0; b < 2; ++b) {
    Buffer *buffer = program.add_buffers();
    buffer->set_type(F32);
    buffer->add_shape(2);
  }
  program.add_constants()->set_buffer(0);
  program.mutable_constants(0)->set_data(std::string(8, '\0'));
  Instruction *relu = program.add_instructions();
  relu->add_inputs(0);
  relu->set_output(1);
  relu->mutable_activation()->set_kind(Instruction::Activation::RELU);
  program.add_outputs()->set_buffer(1);
  program.add_outputs()->set_buffer(0); // a constant as an output
  EXPECT_EQ(RunOnZeros(program), (std::vector<int64_t>{2, 2}));
}

std::string TempDir() {
  char pattern[] = "/tmp/hafnia-limits-XXXXXX";
  return mkdtemp(pattern);
}

TEST(ReadFileLimits, DevicesPipesAndLargeFilesAreRefusedUpFront) {
  absl::StatusOr<std::string> zero = ReadFile("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.status().message(),
              HasSubstr("/dev/zero: is not a regular file"));
  const std::string dir = TempDir();
  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // No writer: the open must not block.
  absl::StatusOr<std::string> pipe = ReadFile(fifo);
  ASSERT_FALSE(pipe.ok());
  EXPECT_THAT(pipe.status().message(), HasSubstr("is not a regular file"));
  ASSERT_TRUE(WriteFileAtomically(dir + "/ten", "0123456789").ok());
  EXPECT_TRUE(ReadFile(dir + "/ten", 10).ok());
  absl::StatusOr<std::string> large = ReadFile(dir + "/ten", 9);
  ASSERT_FALSE(large.ok());
  EXPECT_THAT(large.status().message(),
              HasSubstr("is at least 10 bytes, above the limit of 9 bytes"));
  // A program is read the same way.
  absl::StatusOr<Program> program = ReadProgram("/dev/zero");
  ASSERT_FALSE(program.ok());
  EXPECT_THAT(program.status().message(), HasSubstr("not a regular file"));
  absl::StatusOr<ChipConfig> chip = LoadChipConfig("/dev/zero");
  ASSERT_FALSE(chip.ok());
  EXPECT_THAT(chip.status().message(), HasSubstr("not a regular file"));
}

TEST(MappingSvg, ReportOfTwoBillionArraysIsDrawnWithinTheChipLimit) {
  MappingReport report;
  report.mutable_chip()->set_arrays(uint32_t{1} << 31);
  report.mutable_chip()->set_array_rows(0);
  report.mutable_chip()->set_array_cols(0);
  LayerMapping *layer = report.add_layers();
  layer->set_name("fc");
  layer->set_arrays(1);
  TilePlacement *tile = layer->add_tiles();
  tile->set_array(4000000000u);
  tile = layer->add_tiles();
  tile->set_array(3);
  tile->set_rows_used(5);
  std::string svg = MappingReportToSvg(report);
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_THAT(svg, HasSubstr("array 3: fc, 0% full"));
  EXPECT_LT(svg.size(), size_t{200} << 20);
}

} // namespace
} // namespace hafnia
