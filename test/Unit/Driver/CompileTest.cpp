// The compile library (hafnia/Driver/Compile.h): it compiles what
// hafnia-compile compiles, with the same messages, and on every chip the
// digital memory its report counts (and its budget check admits) is what the
// program it emits stores, byte for byte.
//
// Built with RTTI and exceptions, as the Python module that includes
// Compile.h is: the header must need no LLVM or MLIR.

#include "hafnia/Driver/Compile.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Program.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

std::string ReadBytes(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

std::string Model(const std::string &name) {
  return std::string(HAFNIA_MODELS_DIR) + "/" + name;
}

ChipConfig Chip(const std::string &preset, bool int8) {
  absl::StatusOr<ChipConfig> chip = LoadChipConfig(preset);
  EXPECT_TRUE(chip.ok()) << chip.status();
  if (int8)
    chip->set_real_precision(REAL_INT8);
  return *chip;
}

CompileOptions Options(const std::string &path, const std::string &binarize,
                       const ChipConfig &chip) {
  CompileOptions options;
  options.binarize = binarize;
  options.chip = chip;
  options.model_path = path;
  options.model_name = path.substr(path.rfind('/') + 1);
  return options;
}

// hafnia-compile's exit status and stderr for `arguments`.
std::pair<int, std::string> RunCli(const std::string &arguments) {
  std::string command = std::string(HAFNIA_COMPILE_PATH) + " " + arguments +
                        " -o /dev/null 2>&1 >/dev/null";
  FILE *pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe))
    output.append(buffer, n);
  int status = pclose(pipe);
  return {status, output};
}

// What the program stores in digital memory, by layer, read from the
// program alone (docs/ISA.md): constants (f32 data, or int8 data and their
// f32 scales), bit constants, and the 32-bit per-channel values that
// binarize, threshold and popcount-affine instructions carry. A constant is
// charged to the layer of the first instruction that reads it.
std::map<std::string, int64_t> StoredBytes(const Program &program) {
  std::map<std::string, int64_t> bytes;
  std::map<uint32_t, std::string> reader;
  for (const Instruction &instruction : program.instructions())
    for (uint32_t input : instruction.inputs())
      reader.emplace(input, instruction.layer());
  auto layerOf = [&](uint32_t buffer) {
    auto found = reader.find(buffer);
    return found != reader.end() ? found->second
                                 : program.buffers(buffer).name();
  };
  for (const Constant &constant : program.constants()) {
    int64_t scales =
        constant.int8() ? std::max(1, constant.channel_scales_size()) : 0;
    bytes[layerOf(constant.buffer())] += constant.data().size() + 4 * scales;
  }
  for (const BitConstant &constant : program.bit_constants())
    bytes[layerOf(constant.buffer())] += constant.bits().size();
  for (const Instruction &i : program.instructions()) {
    int64_t values = 0;
    if (i.has_binarize())
      values = i.binarize().thresholds_size();
    else if (i.has_threshold())
      values = i.threshold().thresholds_size() +
               i.threshold().border_thresholds_size() +
               i.threshold().border_positions_size();
    else if (i.has_popcount_affine())
      values = i.popcount_affine().scale_size() +
               i.popcount_affine().bias_size() +
               i.popcount_affine().border_offsets_size() +
               i.popcount_affine().border_positions_size();
    if (values)
      bytes[i.layer()] += 4 * values;
  }
  return bytes;
}

// Compiles, decodes the program from its file bytes and compares what it
// stores with the report, layer by layer and in total; then checks that the
// budget admits exactly that much.
void ExpectReportCountsWhatIsStored(CompileOptions options) {
  SCOPED_TRACE(options.model_name + " --binarize=" + options.binarize + " " +
               std::string(PrecisionName(options.chip.real_precision())));
  absl::StatusOr<CompiledModel> compiled =
      CompileOnnxModel(ReadBytes(options.model_path), options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  absl::StatusOr<Program> program =
      ParseProgram(SerializeProgram(compiled->program), "compiled");
  ASSERT_TRUE(program.ok()) << program.status();
  std::map<std::string, int64_t> stored = StoredBytes(*program);
  int64_t total = 0;
  for (const auto &[layer, bytes] : stored)
    total += bytes;
  const MappingReport &report = program->report();
  EXPECT_EQ(report.summary().digital_bytes_used(), total);
  for (const LayerMapping &layer : report.layers())
    EXPECT_EQ(layer.digital_bytes(), stored[layer.name()]) << layer.name();

  // The budget check counts the same bytes: they fit, one less does not.
  options.chip.set_digital_memory_bytes(total);
  EXPECT_TRUE(CompileOnnxModel(ReadBytes(options.model_path), options).ok());
  options.chip.set_digital_memory_bytes(total - 1);
  absl::StatusOr<CompiledModel> over =
      CompileOnnxModel(ReadBytes(options.model_path), options);
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(std::string(over.status().message()),
              HasSubstr("of digital memory for real-valued parameters"));
}

// Deterministic values in [-1, 1] for the initializers of a text model.
std::string Values(int count, int seed) {
  std::ostringstream values;
  for (int i = 0; i < count; ++i)
    values << (i ? ", " : "") << std::sin(0.7 * i + 1.3 * seed);
  return values.str();
}

// A small CNN with biases and batch norms everywhere: a convolution with a
// bias and a batch norm, then two dense layers with biases, the first
// followed by a batch norm and a sign (folded into thresholds when
// binarized), in ONNX's text format.
std::string ModelWithBiases() {
  std::ostringstream text;
  text << R"(<ir_version: 8, opset_import: ["" : 13]>
biases (float[1, 1, 6, 6] x,
        float[4, 1, 3, 3] w1 = {)"
       << Values(36, 1) << R"(}, float[4] b1 = {)" << Values(4, 2) << R"(},
        float[4] g1 = {1, -0.5, 2, 0.7}, float[4] be1 = {)"
       << Values(4, 3) << R"(},
        float[4] m1 = {)"
       << Values(4, 4) << R"(}, float[4] v1 = {1, 2, 0.5, 1.5},
        float[8, 64] w2 = {)"
       << Values(512, 5) << R"(}, float[8] b2 = {)" << Values(8, 6) << R"(},
        float[8] g2 = {)"
       << Values(8, 7) << R"(}, float[8] be2 = {)" << Values(8, 8) << R"(},
        float[8] m2 = {)"
       << Values(8, 9) << R"(}, float[8] v2 = {1, 1, 2, 2, 1, 1, 2, 2},
        float[3, 8] w3 = {)"
       << Values(24, 10) << R"(}, float[3] b3 = {)" << Values(3, 11) << R"(})
  => (float[1, 3] y) {
  c1 = Conv <kernel_shape = [3, 3]> (x, w1, b1)
  n1 = BatchNormalization (c1, g1, be1, m1, v1)
  a1 = Tanh (n1)
  f = Flatten (a1)
  d2 = Gemm <transB = 1> (f, w2, b2)
  n2 = BatchNormalization (d2, g2, be2, m2, v2)
  s2 = Sign (n2)
  y = Gemm <transB = 1> (s2, w3, b3)
}
)";
  return text.str();
}

// A QDQ model's int8 convolution weight with one scale per output channel,
// and a bias.
std::string QdqModelWithBias() {
  std::ostringstream weights;
  for (int i = 0; i < 36; ++i)
    weights << (i ? ", " : "") << (i * 37 % 255) - 127;
  return R"(<ir_version: 8, opset_import: ["" : 13]>
qdq (float[1, 1, 6, 6] x, int8[4, 1, 3, 3] wq = {)" +
         weights.str() + R"(},
     float[4] ws = {0.01, 0.02, 0.015, 0.03}, float[4] b = {0.5, -1, 2, 0.25},
     float[5, 64] w2 = {)" +
         Values(320, 12) + R"(}, float[5] b2 = {)" + Values(5, 13) + R"(})
  => (float[1, 5] y) {
  w = DequantizeLinear <axis = 0> (wq, ws)
  c = Conv <kernel_shape = [3, 3]> (x, w, b)
  r = Relu (c)
  f = Flatten (r)
  y = Gemm <transB = 1> (f, w2, b2)
}
)";
}

std::string WriteTemporary(const std::string &name, const std::string &text) {
  std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CompileOnnxModel, ReportCountsWhatTheProgramStores) {
  for (bool int8 : {true, false}) {
    ChipConfig chip = Chip("default", int8);
    std::string biases = WriteTemporary("biases.onnxtxt", ModelWithBiases());
    for (const char *mode : {"none", "classifier", "all"})
      ExpectReportCountsWhatIsStored(Options(biases, mode, chip));
    ExpectReportCountsWhatIsStored(Options(
        WriteTemporary("qdq.onnxtxt", QdqModelWithBias()), "none", chip));
    for (const char *mode : {"none", "classifier"})
      ExpectReportCountsWhatIsStored(
          Options(Model("digits/digits_float.onnx"), mode, chip));
    ExpectReportCountsWhatIsStored(
        Options(Model("digits/digits_all_binarized.onnx"), "all", chip));
    ExpectReportCountsWhatIsStored(Options(
        Model("eeg/eeg_binarized_classifier.onnx"), "classifier", chip));
  }
}

TEST(CompileOnnxModel, Int8ChipsStoreBiasesAndBatchNormsAsFloat32) {
  // digits_float.onnx with real weights: 23,824 int8 weights with 4 scales,
  // 122 biases and 448 batch-norm parameters at 4 bytes.
  absl::StatusOr<CompiledModel> compiled =
      CompileOnnxModel(ReadBytes(Model("digits/digits_float.onnx")),
                       Options(Model("digits/digits_float.onnx"), "none",
                               Chip("default", true)));
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_EQ(compiled->report.summary().digital_bytes_used(),
            23824 + 4 * 4 + 4 * (122 + 448));
  // The paper's Table IV figures count every parameter as a weight.
  EXPECT_EQ(compiled->report.summary().bytes_int8(), 24394u);
}

TEST(CompileOnnxModel, CompilesWithTheWarningsTheCliPrints) {
  std::string path = Model("digits/digits_float.onnx");
  CompileOptions options = Options(path, "classifier", Chip("default", false));
  std::vector<std::string> seen;
  options.on_diagnostic = [&](std::string_view text, bool error) {
    EXPECT_FALSE(error);
    seen.emplace_back(text);
  };
  absl::StatusOr<CompiledModel> compiled =
      CompileOnnxModel(ReadBytes(path), options);
  ASSERT_TRUE(compiled.ok()) << compiled.status();
  EXPECT_GT(compiled->program.instructions_size(), 0);
  EXPECT_EQ(compiled->report.model(), "digits_float.onnx");
  EXPECT_EQ(compiled->report.binarize(), "classifier");
  EXPECT_EQ(seen, compiled->warnings);
  ASSERT_EQ(compiled->warnings.size(), 3u);
  EXPECT_EQ(compiled->warnings[1],
            path + ":0:0: warning: layer '/classifier/fc1/Gemm': real-valued "
                   "weights binarized after training (signs scaled by their "
                   "mean magnitude per neuron); accuracy will drop, and "
                   "hafnia-sim measures how much");
  std::string printed;
  for (const std::string &warning : compiled->warnings)
    printed += warning + "\n";
  EXPECT_EQ(RunCli(path), std::make_pair(0, printed));
}

TEST(CompileOnnxModel, ErrorsAreTheLinesTheCliPrints) {
  std::string path = Model("digits/digits_float.onnx");
  CompileOptions options = Options(path, "none", Chip("paper-testchip", false));
  absl::StatusOr<CompiledModel> compiled =
      CompileOnnxModel(ReadBytes(path), options);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(compiled.status().message());
  EXPECT_EQ(message,
            path +
                ":0:0: error: the model does not fit the 32x32 chip: it "
                "needs 95.3 KiB of digital memory for real-valued "
                "parameters and thresholds, the chip has 64.0 KiB "
                "(largest: '/classifier/fc1/Gemm' 72.2 KiB, "
                "'/features/conv2/Conv' 18.1 KiB, '/classifier/fc2/Gemm' "
                "2.5 KiB); with --binarize=classifier it would still not fit "
                "(20 arrays, 20.8 KiB); with --binarize=all it would still "
                "not fit (25 arrays, 2.8 KiB)");
  // The CLI prints the remark of classifier detection first, then the error.
  auto [status, printed] =
      RunCli(path + " --binarize=none --chip=paper-testchip");
  EXPECT_NE(status, 0);
  EXPECT_EQ(printed, path +
                         ":0:0: remark: classifier of 2 dense layer(s): "
                         "'/classifier/fc1/Gemm' (64x288), "
                         "'/classifier/fc2/Gemm' (10x64)\n" +
                         message + "\n");
}

TEST(CompileOnnxModel, OptionErrorsAreTheCliLineWithoutItsPrefix) {
  std::string path = Model("digits/digits_float.onnx");
  CompileOptions options = Options(path, "classifier", Chip("default", false));
  options.input_shapes = {"input"};
  absl::StatusOr<CompiledModel> compiled =
      CompileOnnxModel(ReadBytes(path), options);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(RunCli(path + " --input-shape=input"),
            std::make_pair(
                1 << 8, "hafnia-compile: error: " +
                            std::string(compiled.status().message()) + "\n"));

  options.input_shapes.clear();
  options.binarize = "most";
  EXPECT_EQ(CompileOnnxModel(ReadBytes(path), options).status().message(),
            "binarize must be none, classifier or all, got 'most'");
  options.binarize = "classifier";
  options.chip.clear_cell();
  EXPECT_EQ(CompileOnnxModel(ReadBytes(path), options).status().message(),
            "field 'cell' is missing or zero: set CELL_2T2R or CELL_1T1R");
}

TEST(CompileOnnxModel, DefaultsAreTheCliDefaults) {
  CompileOptions options;
  EXPECT_EQ(options.binarize, "classifier");
  EXPECT_FALSE(options.binarize_first_layer);
  EXPECT_EQ(options.batch, 1);
}

TEST(ApplyChipOverrides, SetsGeometryAndCount) {
  ChipConfig chip = Chip("default", false);
  ASSERT_TRUE(ApplyChipOverrides(chip, "64x16", 700u).ok());
  EXPECT_EQ(chip.array().rows(), 64u);
  EXPECT_EQ(chip.array().columns(), 16u);
  EXPECT_EQ(chip.arrays(), 700u);
  ASSERT_TRUE(ApplyChipOverrides(chip, "", std::nullopt).ok());
  EXPECT_EQ(chip.arrays(), 700u);
  EXPECT_EQ(ApplyChipOverrides(chip, "32by32", std::nullopt).message(),
            "--array must be ROWSxCOLUMNS, e.g. 32x32, got '32by32'");
  EXPECT_EQ(ApplyChipOverrides(chip, "0x32", std::nullopt).message(),
            "--array must be ROWSxCOLUMNS, e.g. 32x32, got '0x32'");
  EXPECT_EQ(ApplyChipOverrides(chip, "", 0u).message(),
            "--arrays must be positive");
}

} // namespace
} // namespace hafnia
