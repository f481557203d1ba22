// The simulator's fused thresholds on real networks: a tiled layer applies
// the threshold that alone reads its counts as they leave the GEMM, and
// where the next binary convolution's fields read the result (through a
// bit max pooling or not) writes them straight into that layer's field
// lines. Compiled from the bundled ONNX models (1-D and 2-D, padded windows
// with border thresholds, poolings, 32 and 64 channels, batches, small
// arrays), every output and every statistic must be what the instructions
// give one by one: error-free, with bit errors, and for many samples on
// many chips at once (the trials' path).

#include "hafnia/Driver/Compile.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Npy.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hafnia {
namespace {

struct Case {
  std::string model, inputs, binarize;
  int64_t batch = 1;
  int rows = 32, columns = 32;
};

std::string ReadBytes(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

Program Compile(const Case &c) {
  absl::StatusOr<ChipConfig> chip = LoadChipConfig("large");
  EXPECT_TRUE(chip.ok()) << chip.status();
  chip->mutable_array()->set_rows(c.rows);
  chip->mutable_array()->set_columns(c.columns);
  CompileOptions options;
  options.binarize = c.binarize;
  options.chip = *chip;
  options.batch = c.batch;
  options.model_path = std::string(HAFNIA_MODELS_DIR) + "/" + c.model;
  options.model_name = c.model;
  absl::StatusOr<CompiledModel> compiled =
      CompileOnnxModel(ReadBytes(options.model_path), options);
  EXPECT_TRUE(compiled.ok()) << c.model << ": " << compiled.status();
  return compiled.ok() ? compiled->program : Program();
}

// The first `count` runs' inputs from the model's test set.
std::vector<Tensor> Inputs(const Case &c, const Program &program, int count) {
  absl::StatusOr<Tensor> all =
      ReadNpy(std::string(HAFNIA_MODELS_DIR) + "/" + c.inputs);
  EXPECT_TRUE(all.ok()) << all.status();
  std::vector<int64_t> shape(
      program.buffers(program.inputs(0).buffer()).shape().begin(),
      program.buffers(program.inputs(0).buffer()).shape().end());
  int64_t size = 1;
  for (int64_t d : shape)
    size *= d;
  std::vector<Tensor> inputs;
  for (int k = 0; k < count; ++k) {
    Tensor x{shape, {}};
    x.data.assign(all->data.begin() + k * size,
                  all->data.begin() + (k + 1) * size);
    inputs.push_back(x);
  }
  return inputs;
}

std::unique_ptr<Simulator> Create(const Program &program, bool fuse) {
  Simulator::Options options;
  options.fuse_layers = fuse;
  absl::StatusOr<std::unique_ptr<Simulator>> simulator =
      Simulator::Create(program, options);
  EXPECT_TRUE(simulator.ok()) << simulator.status();
  return simulator.ok() ? *std::move(simulator) : nullptr;
}

// The digital operations the threshold and bit max pooling instructions
// add on their own.
uint64_t ThresholdOps(const Simulator &simulator) {
  std::vector<SimulationStats> stats = simulator.InstructionStats();
  uint64_t ops = 0;
  for (int i = 0; i < simulator.program().instructions_size(); ++i) {
    const Instruction &instruction = simulator.program().instructions(i);
    if (instruction.has_threshold() || instruction.has_bit_max_pool())
      ops += stats[i].digital_ops();
  }
  return ops;
}

class FusedThresholds : public ::testing::TestWithParam<Case> {};

TEST_P(FusedThresholds, GiveWhatTheInstructionsGive) {
  const Case &c = GetParam();
  Program program = Compile(c);
  ASSERT_GT(program.instructions_size(), 0);
  std::unique_ptr<Simulator> fused = Create(program, true);
  std::unique_ptr<Simulator> tiles = Create(program, false);
  ASSERT_TRUE(fused && tiles);
  // The thresholds and poolings are fused (they count nothing of their
  // own), and nothing is lost: the totals are the same.
  EXPECT_EQ(ThresholdOps(*fused), 0u);
  EXPECT_GT(ThresholdOps(*tiles), 0u);
  std::vector<Tensor> inputs = Inputs(c, program, 6);
  for (const Tensor &x : inputs) {
    SimulationStats fused_stats, tile_stats;
    auto y = fused->Run({x}, &fused_stats);
    auto want = tiles->Run({x}, &tile_stats);
    ASSERT_TRUE(y.ok() && want.ok());
    EXPECT_EQ((*y)[0].data, (*want)[0].data);
    EXPECT_EQ(fused_stats.SerializeAsString(), tile_stats.SerializeAsString());
  }
  // With bit errors (their padding cells' flips included), chip by chip and
  // all the chips' runs together.
  std::vector<std::unique_ptr<Simulator::ChipState>> fused_chips, tile_chips;
  for (int trial = 0; trial < 3; ++trial) {
    std::mt19937_64 a = TrialEngine(9, trial), b = TrialEngine(9, trial);
    fused_chips.push_back(fused->ProgramWithErrors(0.02, a));
    tile_chips.push_back(tiles->ProgramWithErrors(0.02, b));
  }
  std::vector<std::shared_ptr<const Simulator::Prefix>> prefixes;
  std::vector<const Simulator::Prefix *> pointers;
  for (const Tensor &x : inputs) {
    auto prefix = fused->RunPrefix({x});
    ASSERT_TRUE(prefix.ok());
    prefixes.push_back(*prefix);
    pointers.push_back(prefixes.back().get());
  }
  std::vector<const Simulator::ChipState *> chips;
  for (const auto &chip : fused_chips)
    chips.push_back(chip.get());
  auto together = fused->RunSuffixes(pointers, chips, nullptr);
  ASSERT_TRUE(together.ok());
  int64_t size = static_cast<int64_t>((*together)[0][0].data.size()) /
                 static_cast<int64_t>(inputs.size());
  for (size_t chip = 0; chip < chips.size(); ++chip)
    for (size_t k = 0; k < inputs.size(); ++k) {
      auto prefix = tiles->RunPrefix({inputs[k]});
      ASSERT_TRUE(prefix.ok());
      auto want = tiles->RunSuffix(**prefix, tile_chips[chip].get(), nullptr);
      auto alone = fused->RunSuffix(*prefixes[k], chips[chip], nullptr);
      ASSERT_TRUE(want.ok() && alone.ok());
      EXPECT_EQ((*alone)[0].data, (*want)[0].data)
          << "chip " << chip << " input " << k;
      std::vector<float> stacked((*together)[chip][0].data.begin() + k * size,
                                 (*together)[chip][0].data.begin() +
                                     (k + 1) * size);
      EXPECT_EQ(stacked, (*want)[0].data) << "chip " << chip << " input " << k;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Models, FusedThresholds,
    ::testing::Values(
        Case{"mnist/mnist_all_binarized.onnx", "mnist/mnist_test_x.npy", "all"},
        Case{"mnist/mnist_all_binarized.onnx", "mnist/mnist_test_x.npy", "all",
             2, 16, 8},
        Case{"ecg/ecg_all_binarized.onnx", "ecg/ecg_test_x.npy", "all"},
        Case{"ecg/ecg_all_binarized.onnx", "ecg/ecg_test_x.npy", "all", 3, 7,
             5},
        Case{"ecg/ecg_binarized_classifier.onnx", "ecg/ecg_test_x.npy",
             "classifier"},
        Case{"digits/digits_all_binarized.onnx", "digits/digits_test_x.npy",
             "all"}),
    [](const ::testing::TestParamInfo<Case> &info) {
      const Case &c = info.param;
      std::string name = c.model.substr(c.model.find('/') + 1);
      name = name.substr(0, name.find('.')) + "_batch" +
             std::to_string(c.batch) + "_" + std::to_string(c.rows) + "x" +
             std::to_string(c.columns);
      return name;
    });

} // namespace
} // namespace hafnia
