// The fast kernels against the plain ones: the binary GEMM, XOR-popcount
// and bit packing at every SIMD level the host has (forced through
// SetSimdLevel), bit for bit, on random shapes with odd widths; whole binary
// layers at every level; and the real kernels on oneDNN (convolutions 1-D
// and 2-D, grouped, depthwise, strided, dilated, padded, with a folded batch
// norm and a fused activation; dense layers) against the reference loops
// (Simulator::Options::reference_kernels), within a tolerance, with the same
// statistics.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "DenseProgram.h"
#include "absl/strings/str_join.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"
#include "kernels/Kernels.h"
#include "kernels/Popcount.h"
#include "kernels/RealPlans.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using kernels::SimdLevel;

std::vector<SimdLevel> HostLevels() {
  std::vector<SimdLevel> levels;
  for (SimdLevel level :
       {SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512})
    if (level <= kernels::HostSimdLevel())
      levels.push_back(level);
  return levels;
}

// Restores the host's level when a test ends.
class SimdLevels : public ::testing::Test {
protected:
  void TearDown() override { kernels::SetSimdLevel(kernels::HostSimdLevel()); }
};

int64_t NaiveXorPopcount(const uint64_t *a, const uint64_t *b, int64_t words) {
  int64_t count = 0;
  for (int64_t w = 0; w < words; ++w)
    for (int bit = 0; bit < 64; ++bit)
      count += ((a[w] ^ b[w]) >> bit) & 1;
  return count;
}

TEST_F(SimdLevels, GemmAndPopcountAreBitExactAtEveryLevel) {
  std::mt19937_64 random(7);
  for (SimdLevel level : HostLevels()) {
    ASSERT_EQ(kernels::SetSimdLevel(level), level);
    for (int64_t words : {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 64, 65})
      for (int64_t outputs : {1, 2, 3, 7, 20, 33, 75})
        for (int64_t count : {1, 2, 3, 4, 5, 8, 9, 17}) {
          std::vector<uint64_t> weights(outputs * words), inputs(count * words);
          for (uint64_t &w : weights)
            w = random();
          for (uint64_t &w : inputs)
            w = random();
          std::vector<int32_t> out(count * outputs, -1);
          kernels::XorPopcountGemm(weights.data(), outputs, inputs.data(),
                                   count, words, out.data());
          for (int64_t j = 0; j < count; ++j)
            for (int64_t m = 0; m < outputs; ++m) {
              int64_t want = NaiveXorPopcount(weights.data() + m * words,
                                              inputs.data() + j * words, words);
              ASSERT_EQ(out[j * outputs + m], want)
                  << kernels::SimdLevelName(level) << " words " << words
                  << " outputs " << outputs << " count " << count;
              ASSERT_EQ(kernels::XorPopcount(weights.data() + m * words,
                                             inputs.data() + j * words, words),
                        want);
            }
        }
  }
}

TEST_F(SimdLevels, ThresholdRowsIsExactAtEveryLevel) {
  std::mt19937 random(5);
  for (SimdLevel level : HostLevels()) {
    kernels::SetSimdLevel(level);
    for (int64_t n : {1, 7, 8, 9, 16, 17, 32, 40, 75}) {
      int64_t rows = 13, classes = 3, stride = (n + 7) / 8 + 1;
      std::vector<int32_t> counts(rows * n), negate(n), limits(classes * n);
      std::vector<int32_t> row_classes(rows);
      for (int32_t &c : counts)
        c = static_cast<int32_t>(random() % 41) - 20;
      for (int32_t &m : negate)
        m = random() % 2 ? -1 : 0;
      for (int32_t &l : limits)
        l = static_cast<int32_t>(random() % 41) - 20;
      for (int32_t &c : row_classes)
        c = static_cast<int32_t>(random() % classes);
      std::vector<uint8_t> out(rows * stride, 0xa5);
      kernels::ThresholdRows(counts.data(), rows, n, negate.data(),
                             limits.data(), row_classes.data(), out.data(),
                             stride);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t b = 0; b < stride; ++b) {
          // Bytes past the row's are left alone.
          uint8_t want = 0xa5;
          if (b * 8 < n) {
            want = 0;
            for (int64_t m = b * 8; m < std::min<int64_t>(n, b * 8 + 8); ++m) {
              int32_t count = counts[r * n + m] * (negate[m] ? -1 : 1);
              want |= (count <= limits[row_classes[r] * n + m]) << (m % 8);
            }
          }
          ASSERT_EQ(out[r * stride + b], want)
              << kernels::SimdLevelName(level) << " n " << n << " row " << r
              << " byte " << b;
        }
    }
  }
}

TEST_F(SimdLevels, GemmThresholdIsTheGemmThenTheThreshold) {
  std::mt19937_64 random(13);
  for (SimdLevel level : HostLevels()) {
    kernels::SetSimdLevel(level);
    for (int64_t words : {1, 3, 5, 9, 17})
      for (int64_t outputs : {1, 8, 20, 32, 75})
        for (int64_t count : {1, 7, 8, 13, 33}) {
          std::vector<uint64_t> weights(outputs * words), inputs(count * words);
          for (uint64_t &w : weights)
            w = random();
          for (uint64_t &w : inputs)
            w = random();
          int64_t classes = 2, row_bytes = (outputs + 7) / 8;
          std::vector<int32_t> negate(outputs), limits(classes * outputs);
          std::vector<int32_t> row_classes(count);
          for (int32_t &m : negate)
            m = random() % 2 ? -1 : 0;
          // Around the middle of the counts, either sign.
          for (int64_t e = 0; e < classes * outputs; ++e) {
            int32_t middle = static_cast<int32_t>(words * 32);
            int32_t limit = middle + static_cast<int32_t>(random() % 17) - 8;
            limits[e] = negate[e % outputs] ? -limit : limit;
          }
          for (int32_t &c : row_classes)
            c = static_cast<int32_t>(random() % classes);
          std::vector<uint8_t> bits(count * row_bytes, 0xa5);
          kernels::XorPopcountGemmThreshold(
              weights.data(), outputs, inputs.data(), count, words,
              negate.data(), limits.data(), row_classes.data(), bits.data());
          for (int64_t j = 0; j < count; ++j)
            for (int64_t m = 0; m < outputs; ++m) {
              int64_t disagree = NaiveXorPopcount(
                  weights.data() + m * words, inputs.data() + j * words, words);
              bool want = (negate[m] ? -disagree : disagree) <=
                          limits[row_classes[j] * outputs + m];
              ASSERT_EQ((bits[j * row_bytes + m / 8] >> (m % 8)) & 1, want)
                  << kernels::SimdLevelName(level) << " words " << words
                  << " outputs " << outputs << " count " << count;
            }
          for (int64_t j = 0; j < count; ++j)
            if (outputs % 8)
              ASSERT_EQ(bits[j * row_bytes + row_bytes - 1] >> (outputs % 8), 0)
                  << "unused bits of the last byte";
        }
  }
}

TEST_F(SimdLevels, PackBitsIsExactAtEveryLevel) {
  std::mt19937 random(3);
  for (SimdLevel level : HostLevels()) {
    kernels::SetSimdLevel(level);
    for (int64_t n : {1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 127, 130, 200, 352}) {
      std::vector<uint8_t> bits(n);
      for (uint8_t &b : bits)
        b = random() & 1;
      int64_t words = (n + 63) / 64;
      std::vector<uint64_t> packed(words, ~uint64_t{0});
      kernels::PackBits(bits.data(), n, packed.data());
      for (int64_t w = 0; w < words; ++w) {
        uint64_t want = 0;
        for (int64_t k = w * 64; k < std::min<int64_t>(n, w * 64 + 64); ++k)
          want |= static_cast<uint64_t>(bits[k]) << (k % 64);
        ASSERT_EQ(packed[w], want)
            << kernels::SimdLevelName(level) << " n " << n << " word " << w;
      }
    }
  }
}

TEST_F(SimdLevels, FlippedWordCorrectionsAreExactAtEveryLevel) {
  std::mt19937_64 random(13);
  for (SimdLevel level : HostLevels()) {
    kernels::SetSimdLevel(level);
    for (int64_t rows : {1, 3, 4, 7, 8, 9, 17, 64, 257})
      for (int64_t words : {1, 3, 9}) {
        int64_t outputs = 5;
        std::vector<uint64_t> inputs(rows * words), transposed(rows * words);
        for (uint64_t &w : inputs)
          w = random();
        for (int64_t b = 0; b < rows; ++b)
          for (int64_t w = 0; w < words; ++w)
            transposed[w * rows + b] = inputs[b * words + w];
        std::vector<uint64_t> error_free(outputs * words), chip;
        for (uint64_t &w : error_free)
          w = random();
        chip = error_free;
        // Neurons with no, one and several flipped words, some words with
        // many flipped bits.
        std::vector<Simulator::ChipState::FlippedWord> flipped;
        for (int64_t m = 0; m < outputs; ++m)
          for (int64_t w = 0; w < words; ++w) {
            if (m == 1 || random() % 3 == 0)
              continue;
            uint64_t mask =
                random() % 2 ? uint64_t{1} << (random() % 64) : random() | 1;
            chip[m * words + w] ^= mask;
            flipped.push_back({m, w, mask, error_free[m * words + w] & mask});
          }
        std::vector<int32_t> counts(rows * outputs);
        for (int64_t b = 0; b < rows; ++b)
          for (int64_t m = 0; m < outputs; ++m)
            counts[b * outputs + m] = static_cast<int32_t>(
                NaiveXorPopcount(error_free.data() + m * words,
                                 inputs.data() + b * words, words));
        kernels::CorrectFlippedWords(transposed.data(), rows, flipped.data(),
                                     static_cast<int64_t>(flipped.size()),
                                     counts.data(), outputs);
        for (int64_t b = 0; b < rows; ++b)
          for (int64_t m = 0; m < outputs; ++m)
            ASSERT_EQ(counts[b * outputs + m],
                      NaiveXorPopcount(chip.data() + m * words,
                                       inputs.data() + b * words, words))
                << kernels::SimdLevelName(level) << " rows " << rows
                << " words " << words << " row " << b << " neuron " << m;
      }
  }
}

// The receptive fields a tiled convolution packs straight from its input
// bits: the fields the plain formula gives (input bit at oh * sh - ph + kh *
// dh, ow * sw - pw + kw * dw; the padding value outside), column k at bit
// FusedLayer::BitOf(k), on 1-D and 2-D windows with strides, dilations,
// uneven pads, a channel offset, batches and fields wider than 64 bits.
TEST_F(SimdLevels, PackedReceptiveFieldsMatchTheFormula) {
  struct Case {
    std::vector<int64_t> shape, kernel, strides, pads, dilations;
    int64_t channel_offset, channels;
  };
  const Case cases[] = {
      {{1, 32, 369}, {11}, {1}, {0, 0}, {1}, 0, 32},
      {{2, 5, 40}, {3}, {2}, {1, 2}, {1}, 1, 3},
      {{1, 3, 29}, {4}, {1}, {3, 0}, {3}, 0, 3},
      {{1, 2, 130}, {70}, {3}, {5, 7}, {1}, 0, 2},
      {{2, 4, 7, 9}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 0, 4},
      {{1, 6, 8, 11}, {2, 5}, {2, 3}, {0, 2, 1, 1}, {2, 1}, 2, 3},
      {{1, 1, 5, 66}, {1, 66}, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0, 1},
      // Channels in whole bytes: fields copied a span of bytes at a time.
      {{2, 16, 7, 9}, {3, 3}, {2, 1}, {1, 0, 2, 1}, {1, 2}, 0, 16},
      {{1, 24, 6, 5}, {2, 3}, {1, 2}, {1, 1, 1, 1}, {2, 1}, 8, 8},
      {{1, 64, 3, 3}, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, 0, 64},
      // Spans longer than a vector (11 taps of 64 channels).
      {{2, 64, 20}, {11}, {2}, {2, 3}, {1}, 0, 64},
  };
  std::mt19937 random(17);
  for (SimdLevel level : HostLevels()) {
    kernels::SetSimdLevel(level);
    for (const Case &c : cases)
      for (bool minus_one : {false, true}) {
        Instruction::Im2col attrs;
        attrs.mutable_window()->mutable_kernel()->Add(c.kernel.begin(),
                                                      c.kernel.end());
        attrs.mutable_window()->mutable_strides()->Add(c.strides.begin(),
                                                       c.strides.end());
        attrs.mutable_window()->mutable_pads()->Add(c.pads.begin(),
                                                    c.pads.end());
        attrs.mutable_window()->mutable_dilations()->Add(c.dilations.begin(),
                                                         c.dilations.end());
        attrs.set_channel_offset(c.channel_offset);
        attrs.set_channels(c.channels);
        attrs.set_pads_read_minus_one(minus_one);
        std::vector<uint8_t> x(NumElements(c.shape));
        for (uint8_t &b : x)
          b = random() & 1;
        bool two_d = c.kernel.size() == 2;
        int64_t batch = c.shape[0], all_channels = c.shape[1];
        int64_t height = two_d ? c.shape[2] : 1, width = c.shape.back();
        int64_t kh = two_d ? c.kernel[0] : 1, kw = c.kernel.back();
        int64_t sh = two_d ? c.strides[0] : 1, sw = c.strides.back();
        int64_t dh = two_d ? c.dilations[0] : 1, dw = c.dilations.back();
        int64_t ph = two_d ? c.pads[0] : 0, pw = c.pads[two_d ? 1 : 0];
        int64_t ph_end = two_d ? c.pads[2] : 0, pw_end = c.pads.back();
        int64_t out_h = (height + ph + ph_end - (kh - 1) * dh - 1) / sh + 1;
        int64_t out_w = (width + pw + pw_end - (kw - 1) * dw - 1) / sw + 1;
        int64_t fan_in = c.channels * kh * kw, words = (fan_in + 63) / 64;
        std::vector<uint64_t> want(batch * out_h * out_w * words);
        std::vector<uint8_t> field(fan_in);
        Simulator::FusedLayer layer;
        layer.taps = kh * kw;
        layer.field_channels = c.channels;
        for (int64_t n = 0, row = 0; n < batch; ++n)
          for (int64_t oh = 0; oh < out_h; ++oh)
            for (int64_t ow = 0; ow < out_w; ++ow, ++row) {
              int64_t k = 0;
              for (int64_t ch = 0; ch < c.channels; ++ch)
                for (int64_t i = 0; i < kh; ++i)
                  for (int64_t j = 0; j < kw; ++j) {
                    int64_t ih = oh * sh - ph + i * dh;
                    int64_t iw = ow * sw - pw + j * dw;
                    bool inside =
                        ih >= 0 && ih < height && iw >= 0 && iw < width;
                    int64_t channel = c.channel_offset + ch;
                    field[layer.BitOf(k++)] =
                        inside
                            ? x[((n * all_channels + channel) * height + ih) *
                                    width +
                                iw]
                            : !minus_one;
                  }
              kernels::PackBits(field.data(), fan_in,
                                want.data() + row * words);
            }
        std::vector<uint64_t> got(want.size(), ~uint64_t{0});
        kernels::PackIm2colRows(attrs, c.shape, x.data(), words, got.data());
        for (size_t w = 0; w < want.size(); ++w)
          ASSERT_EQ(got[w], want[w])
              << kernels::SimdLevelName(level) << " input "
              << absl::StrJoin(c.shape, "x") << " kernel "
              << absl::StrJoin(c.kernel, "x") << " word " << w;
      }
  }
}

TEST_F(SimdLevels, BinaryLayersGiveTheReferenceAtEveryLevel) {
  for (bool fuse : {true, false})
    for (SimdLevel level : HostLevels()) {
      kernels::SetSimdLevel(level);
      std::mt19937 random(11);
      DenseProgram dense(3, 37, 301, 16, 32, random);
      Simulator::Options options;
      options.fuse_layers = fuse;
      auto simulator = Simulator::Create(dense.program(), options);
      ASSERT_TRUE(simulator.ok()) << simulator.status();
      std::uniform_real_distribution<float> uniform(-1, 1);
      Tensor x{{3, 301}, std::vector<float>(3 * 301)};
      for (float &v : x.data)
        v = uniform(random);
      auto y = (*simulator)->Run({x}, nullptr);
      ASSERT_TRUE(y.ok()) << y.status();
      EXPECT_EQ((*y)[0].data, dense.Reference(x.data, 3))
          << kernels::SimdLevelName(level) << (fuse ? " fused" : " tiles");
    }
}

// A program of real layers on input "x", built instruction by instruction.
class RealProgram {
public:
  explicit RealProgram(const std::vector<int64_t> &input) {
    *program_.mutable_chip() = *LoadChipConfig("default");
    program_.set_format_version(kProgramFormatVersion);
    last_ = AddBuffer(input);
    program_.add_inputs()->set_buffer(last_);
    program_.mutable_inputs(0)->set_name("x");
  }
  uint32_t Constant(const std::vector<int64_t> &shape, float lo = -1,
                    float hi = 1) {
    uint32_t buffer = AddBuffer(shape);
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    std::uniform_real_distribution<float> uniform(lo, hi);
    std::vector<float> values(count);
    for (float &v : values)
      v = uniform(random_);
    hafnia::Constant *constant = program_.add_constants();
    constant->set_buffer(buffer);
    constant->set_data(
        std::string(reinterpret_cast<const char *>(values.data()),
                    values.size() * sizeof(float)));
    return buffer;
  }
  Instruction &Add(std::vector<uint32_t> inputs,
                   const std::vector<int64_t> &out) {
    Instruction *i = program_.add_instructions();
    i->set_layer(absl::StrCat("layer", program_.instructions_size()));
    for (uint32_t input : inputs)
      i->add_inputs(input);
    last_ = AddBuffer(out);
    i->set_output(last_);
    return *i;
  }
  // A convolution of the last value with kernel `k`, pads [begin..., end...].
  void Conv(int64_t filters, int64_t group, const std::vector<int64_t> &k,
            const std::vector<int64_t> &strides,
            const std::vector<int64_t> &pads,
            const std::vector<int64_t> &dilations, bool bias) {
    std::vector<int64_t> xs = Shape(last_);
    std::vector<int64_t> ws = {filters, xs[1] / group};
    ws.insert(ws.end(), k.begin(), k.end());
    std::vector<int64_t> ys = {xs[0], filters};
    size_t spatial = k.size();
    for (size_t d = 0; d < spatial; ++d)
      ys.push_back((xs[2 + d] + pads[d] + pads[spatial + d] -
                    dilations[d] * (k[d] - 1) - 1) /
                       strides[d] +
                   1);
    uint32_t x = last_;
    std::vector<uint32_t> inputs = {x, Constant(ws)};
    if (bias)
      inputs.push_back(Constant({filters}));
    Instruction &conv = Add(inputs, ys);
    Window *window = conv.mutable_conv()->mutable_window();
    for (size_t d = 0; d < spatial; ++d) {
      window->add_kernel(k[d]);
      window->add_strides(strides[d]);
      window->add_dilations(dilations[d]);
    }
    for (int64_t p : pads)
      window->add_pads(p);
    conv.mutable_conv()->set_group(group);
  }
  void BatchNorm() {
    std::vector<int64_t> xs = Shape(last_);
    uint32_t x = last_;
    std::vector<uint32_t> inputs = {x, Constant({xs[1]}, 0.5f, 2.0f),
                                    Constant({xs[1]}), Constant({xs[1]}),
                                    Constant({xs[1]}, 0.1f, 2.0f)};
    Add(inputs, xs).mutable_batch_norm()->set_epsilon(1e-5f);
  }
  void Activation(Instruction::Activation::Kind kind) {
    uint32_t x = last_;
    Instruction &a = Add({x}, Shape(x));
    a.mutable_activation()->set_kind(kind);
    if (kind == Instruction::Activation::CLIP) {
      a.mutable_activation()->set_min(-0.5f);
      a.mutable_activation()->set_max(0.5f);
    }
  }
  // A pooling of the last value: windowed (kernel, strides, pads [begin...,
  // end...], dilations) or, with an empty kernel, global.
  void Pool(Instruction::Pool::Kind kind, const std::vector<int64_t> &k = {},
            const std::vector<int64_t> &strides = {},
            const std::vector<int64_t> &pads = {},
            const std::vector<int64_t> &dilations = {}, bool ceil = false,
            bool include_pad = false) {
    std::vector<int64_t> xs = Shape(last_);
    Instruction::Pool pool;
    pool.set_kind(kind);
    pool.set_ceil_mode(ceil);
    pool.set_count_include_pad(include_pad);
    std::vector<int64_t> ys = {xs[0], xs[1]};
    if (k.empty()) {
      ys.resize(xs.size(), 1);
    } else {
      Window *window = pool.mutable_window();
      for (size_t d = 0; d < k.size(); ++d) {
        window->add_kernel(k[d]);
        window->add_strides(strides[d]);
        window->add_dilations(dilations[d]);
      }
      for (int64_t p : pads)
        window->add_pads(p);
      auto spatial = WindowedShape(xs, *window, ceil);
      ASSERT_TRUE(spatial.ok()) << spatial.status();
      ys.insert(ys.end(), spatial->begin(), spatial->end());
    }
    uint32_t x = last_;
    *Add({x}, ys).mutable_pool() = pool;
  }
  // The last value, set aside for Join.
  uint32_t Fork() const { return last_; }
  // The sum (or another elementwise operation) of the last value and
  // `other`.
  void
  Join(uint32_t other,
       Instruction::Elementwise::Kind kind = Instruction::Elementwise::ADD) {
    uint32_t x = last_;
    Add({x, other}, Shape(x)).mutable_elementwise()->set_kind(kind);
  }
  // x * sigmoid(x) of the last value, as exporters write a SiLU: the Mul's
  // operands in either order.
  void Silu(bool sigmoid_first) {
    uint32_t x = Fork();
    Activation(Instruction::Activation::SIGMOID);
    uint32_t s = Fork();
    if (!sigmoid_first)
      Use(x);
    Join(sigmoid_first ? x : s, Instruction::Elementwise::MUL);
  }
  // Makes `value` the last value (a second reader of it follows).
  void Use(uint32_t value) { last_ = value; }
  void Output() {
    program_.add_outputs()->set_buffer(last_);
    program_.mutable_outputs(0)->set_name("y");
  }
  std::vector<int64_t> Shape(uint32_t buffer) const {
    return ShapeOf(program_.buffers(buffer));
  }
  uint32_t last() const { return last_; }
  Program &program() { return program_; }

  // A random input.
  Tensor Input() {
    std::vector<int64_t> xs = Shape(program_.inputs(0).buffer());
    int64_t count = 1;
    for (int64_t d : xs)
      count *= d;
    Tensor x{xs, std::vector<float>(count)};
    std::uniform_real_distribution<float> uniform(-1, 1);
    for (float &v : x.data)
      v = uniform(random_);
    return x;
  }

  // Runs the program with the library and with the reference loops; expects
  // the same values within a tolerance and the same statistics.
  void ExpectLibraryMatchesReference() {
    Output();
    Tensor x = Input();
    std::vector<Tensor> outputs[2];
    SimulationStats stats[2];
    for (int reference : {0, 1}) {
      Simulator::Options options;
      options.reference_kernels = reference;
      auto simulator = Simulator::Create(program_, options);
      ASSERT_TRUE(simulator.ok()) << simulator.status();
      auto y = (*simulator)->Run({x}, &stats[reference]);
      ASSERT_TRUE(y.ok()) << y.status();
      outputs[reference] = *std::move(y);
    }
    const std::vector<float> &fast = outputs[0][0].data,
                             &slow = outputs[1][0].data;
    ASSERT_EQ(fast.size(), slow.size());
    for (size_t e = 0; e < fast.size(); ++e)
      ASSERT_NEAR(fast[e], slow[e], 1e-4f * (1 + std::fabs(slow[e])))
          << "element " << e;
    EXPECT_EQ(stats[0].SerializeAsString(), stats[1].SerializeAsString())
        << stats[0].DebugString() << " vs " << stats[1].DebugString();
  }

private:
  uint32_t AddBuffer(const std::vector<int64_t> &shape) {
    Buffer *buffer = program_.add_buffers();
    for (int64_t dim : shape)
      buffer->add_shape(dim);
    buffer->set_type(F32);
    return program_.buffers_size() - 1;
  }
  Program program_;
  uint32_t last_ = 0;
  std::mt19937 random_{5};
};

struct ConvCase {
  const char *name;
  std::vector<int64_t> input;
  int64_t filters, group;
  std::vector<int64_t> kernel, strides, pads, dilations;
};

TEST(RealLibraryKernels, ConvolutionsMatchTheReference) {
  const ConvCase cases[] = {
      {"1-D", {2, 3, 50}, 8, 1, {5}, {1}, {0, 0}, {1}},
      {"1-D strided dilated padded", {1, 4, 41}, 6, 1, {3}, {2}, {2, 1}, {3}},
      {"2-D", {1, 3, 12, 11}, 5, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
      {"2-D strided",
       {2, 4, 13, 9},
       8,
       1,
       {3, 2},
       {2, 3},
       {1, 0, 0, 1},
       {1, 1}},
      {"2-D dilated",
       {1, 2, 15, 15},
       4,
       1,
       {3, 3},
       {1, 1},
       {2, 2, 2, 2},
       {2, 2}},
      {"pointwise", {1, 16, 7, 7}, 24, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},
      {"30 x 1", {1, 1, 40, 4}, 6, 1, {30, 1}, {1, 1}, {15, 0, 15, 0}, {1, 1}},
      {"1 x 4", {1, 6, 20, 4}, 7, 1, {1, 4}, {1, 1}, {0, 0, 0, 0}, {1, 1}},
      {"grouped", {1, 6, 9, 9}, 9, 3, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
      {"depthwise",
       {1, 16, 10, 10},
       16,
       16,
       {3, 3},
       {1, 1},
       {1, 1, 1, 1},
       {1, 1}},
      {"depthwise strided",
       {1, 8, 11, 11},
       8,
       8,
       {3, 3},
       {2, 2},
       {1, 1, 1, 1},
       {1, 1}},
      {"1-D depthwise", {1, 4, 30}, 4, 4, {5}, {1}, {2, 2}, {1}},
  };
  for (const ConvCase &c : cases)
    for (int tail = 0; tail < 4; ++tail) {
      SCOPED_TRACE(absl::StrCat(c.name, " tail ", tail));
      RealProgram p(c.input);
      p.Conv(c.filters, c.group, c.kernel, c.strides, c.pads, c.dilations,
             tail != 1);
      // Alone, with a batch norm, with a batch norm and ReLU or Clip.
      if (tail >= 2)
        p.BatchNorm();
      if (tail == 2)
        p.Activation(Instruction::Activation::RELU);
      if (tail == 3)
        p.Activation(Instruction::Activation::CLIP);
      p.ExpectLibraryMatchesReference();
    }
}

// The pointwise kernel (PointwiseConvPlan) bit for bit against a loop that
// sums in its order (the bias, then each channel in turn, fused
// multiply-adds) and clamps: filters in groups of three blocks and the
// groups left (1 to 7 blocks), positions in tiles of seven and those left
// over, two samples, no activation, ReLU's clamp and a clip.
TEST(PointwiseConvKernel, SumsTheChannelsInOrderAndClamps) {
  if (!kernels::HostRunsPointwiseConv())
    GTEST_SKIP() << "the host has no AVX-512F";
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::mt19937 random(11);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (int64_t channels : {16, 48})
    for (int64_t filters : {16, 32, 48, 64, 80, 112})
      for (int64_t positions : {1, 6, 7, 25, 49})
        for (auto [low, high] : {std::pair{-kInf, kInf}, std::pair{0.0f, kInf},
                                 std::pair{-0.25f, 0.5f}}) {
          SCOPED_TRACE(absl::StrCat(channels, " -> ", filters, " at ",
                                    positions, ", [", low, ", ", high, "]"));
          kernels::PointwiseConvPlan plan;
          plan.n_size = 2;
          plan.channels = channels;
          plan.filters = filters;
          plan.positions = positions;
          plan.low = low;
          plan.high = high;
          std::vector<float> weights(filters * channels), bias(filters);
          std::vector<float> x(plan.n_size * channels * positions);
          for (auto *v : {&weights, &bias, &x})
            for (float &e : *v)
              e = uniform(random);
          ASSERT_TRUE(kernels::PackPointwiseWeights(weights, bias, plan));
          std::vector<float> y(plan.n_size * filters * positions, NAN);
          kernels::RunPointwiseConv(plan, x.data(), y.data());
          // nChw16c: (sample, block of 16 channels, position, channel % 16).
          auto at = [&](int64_t count, int64_t n, int64_t c, int64_t p) {
            return ((n * count + c / 16 * 16) * positions + p * 16) + c % 16;
          };
          for (int64_t n = 0; n < plan.n_size; ++n)
            for (int64_t m = 0; m < filters; ++m)
              for (int64_t p = 0; p < positions; ++p) {
                float sum = bias[m];
                for (int64_t c = 0; c < channels; ++c)
                  sum = std::fma(weights[m * channels + c],
                                 x[at(channels, n, c, p)], sum);
                float expected = std::min(high, std::max(low, sum));
                ASSERT_EQ(y[at(filters, n, m, p)], expected)
                    << "sample " << n << ", filter " << m << ", position " << p;
              }
        }
}

// A block of MobileNet: a depthwise 3 x 3 convolution of the given strides
// and a pointwise one to `filters`, each with a batch norm, the first with a
// ReLU and the second with `activation`.
struct MobileNetBlock {
  int64_t filters, stride_h, stride_w;
  bool pointwise_bias;
  Instruction::Activation::Kind activation;
};
// A 3 x 3 first convolution of `stride` to `filters` (batch norm, ReLU),
// then `blocks`.
void MobileNetBlocks(RealProgram &p, int64_t filters, int64_t stride,
                     const std::vector<MobileNetBlock> &blocks) {
  p.Conv(filters, 1, {3, 3}, {stride, stride}, {1, 1, 1, 1}, {1, 1}, false);
  p.BatchNorm();
  p.Activation(Instruction::Activation::RELU);
  for (const MobileNetBlock &block : blocks) {
    int64_t channels = p.Shape(p.last())[1];
    p.Conv(channels, channels, {3, 3}, {block.stride_h, block.stride_w},
           {1, 1, 1, 1}, {1, 1}, false);
    p.BatchNorm();
    p.Activation(Instruction::Activation::RELU);
    p.Conv(block.filters, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1},
           block.pointwise_bias);
    p.BatchNorm();
    p.Activation(block.activation);
  }
}

// Chains of convolutions and poolings, which keep their values in oneDNN's
// layouts between them (reordered only where a reader needs another), the
// first layer reading the program's layout, a width folded into the
// channels; odd channel counts pad the blocked layouts.
TEST(RealLibraryKernels, ChainsMatchTheReference) {
  using A = Instruction::Activation;
  using P = Instruction::Pool;
  struct Chain {
    const char *name;
    std::vector<int64_t> input;
    std::function<void(RealProgram &)> build;
  };
  const Chain chains[] = {
      {"MobileNet blocks",
       {1, 3, 17, 17},
       [](RealProgram &p) {
         MobileNetBlocks(
             p, 8, 2, {{16, 1, 2, false, A::CLIP}, {24, 2, 2, false, A::CLIP}});
         p.Pool(P::GLOBAL_AVERAGE);
       }},
      // Channels and filters in blocks of 16 on few positions: the
      // pointwise convolutions run on the project's kernel (RealPlans.h).
      {"MobileNet's late blocks",
       {2, 3, 11, 11},
       [](RealProgram &p) {
         MobileNetBlocks(
             p, 32, 1, {{48, 1, 1, false, A::RELU}, {80, 2, 2, true, A::CLIP}});
         p.Conv(16, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         p.Pool(P::GLOBAL_AVERAGE);
       }},
      // SiLUs the convolutions absorb (oneDNN's swish post-op), and one
      // they cannot, its input read a third time.
      {"EfficientNet's SiLUs",
       {2, 3, 11, 11},
       [](RealProgram &p) {
         p.Conv(32, 1, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, false);
         p.BatchNorm();
         p.Silu(true);
         p.Conv(32, 32, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, false);
         p.BatchNorm();
         p.Silu(false);
         p.Conv(16, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         uint32_t shared = p.Fork();
         p.Silu(true);
         p.Join(shared);
         p.Conv(16, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         p.Silu(false);
         p.Pool(P::GLOBAL_AVERAGE);
       }},
      {"ECG 1-D with max poolings",
       {2, 1, 60},
       [](RealProgram &p) {
         p.Conv(8, 1, {5}, {1}, {0, 0}, {1}, true);
         p.BatchNorm();
         p.Activation(A::CLIP);
         p.Pool(P::MAX, {2}, {2}, {0, 0}, {1});
         p.Conv(7, 1, {3}, {1}, {0, 0}, {1}, true);
         p.BatchNorm();
         p.Activation(A::CLIP);
         p.Pool(P::MAX, {3}, {2}, {0, 0}, {1}, true);
         p.Conv(5, 1, {3}, {1}, {1, 1}, {1}, true);
         p.Pool(P::GLOBAL_MAX);
       }},
      {"EEG, a folded width, an average pooling",
       {1, 1, 40, 4},
       [](RealProgram &p) {
         p.Conv(6, 1, {30, 1}, {1, 1}, {15, 0, 15, 0}, {1, 1}, true);
         p.BatchNorm();
         p.Activation(A::RELU);
         p.Conv(7, 1, {1, 4}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         p.BatchNorm();
         p.Activation(A::RELU);
         p.Pool(P::AVERAGE, {10, 1}, {5, 1}, {0, 0, 0, 0}, {1, 1});
       }},
      {"a folded width with a strided, padded window",
       {2, 5, 12, 5},
       [](RealProgram &p) {
         p.Conv(20, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, true);
         p.Conv(6, 1, {3, 5}, {2, 1}, {1, 0, 2, 0}, {1, 1}, true);
         p.Conv(4, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, false);
       }},
      // The first convolutions of these three read the program's layout
      // and write the NHWC their folded readers take, as im2col and sgemm.
      {"a folded width after a strided, dilated, clipped first layer",
       {2, 3, 20, 6},
       [](RealProgram &p) {
         p.Conv(8, 1, {3, 3}, {2, 1}, {2, 1, 1, 1}, {2, 1}, false);
         p.BatchNorm();
         p.Activation(A::CLIP);
         p.Conv(5, 1, {2, 6}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         p.Activation(A::RELU);
       }},
      {"a value two convolutions read",
       {1, 4, 9, 9},
       [](RealProgram &p) {
         p.Conv(18, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, true);
         p.Activation(A::RELU);
         uint32_t shared = p.Fork();
         p.Conv(6, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         uint32_t left = p.Fork();
         p.Use(shared);
         p.Conv(6, 6, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, false);
         p.Join(left);
       }},
      {"many channels in the program's layout",
       {1, 20, 9, 7},
       [](RealProgram &p) {
         p.Conv(17, 1, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         p.Conv(9, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         p.BatchNorm();
       }},
      {"average poolings that count the padding, or not, in ceil mode",
       {1, 3, 15, 14},
       [](RealProgram &p) {
         p.Conv(10, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, true);
         p.Pool(P::AVERAGE, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, false, true);
         p.Conv(10, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         p.Pool(P::AVERAGE, {2, 3}, {2, 2}, {0, 1, 0, 0}, {1, 1}, true);
         p.Conv(3, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
       }},
      {"padded and dilated max poolings; one the library cannot run",
       {1, 2, 16, 16},
       [](RealProgram &p) {
         p.Conv(20, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, true);
         p.Pool(P::MAX, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, true);
         p.Conv(5, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, true);
         // (oneDNN 2.6 has no optimized dilated pooling: the plain kernel
         // runs it.)
         p.Pool(P::MAX, {2, 2}, {1, 1}, {1, 0, 0, 1}, {2, 2});
         p.Conv(5, 1, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
         // Counts the padding, and a ceil mode overhangs it: the plain
         // kernel runs it, the convolutions around it reorder.
         p.Pool(P::AVERAGE, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, true, true);
         p.Conv(4, 1, {2, 2}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
       }},
  };
  for (const Chain &chain : chains) {
    SCOPED_TRACE(chain.name);
    RealProgram p(chain.input);
    chain.build(p);
    p.ExpectLibraryMatchesReference();
  }
}

// Runs reuse the buffers of earlier runs (Simulator.cpp's value store) and
// several threads run at once: every run still gives what a run on a fresh
// simulator gives, bit for bit, with the same statistics.
TEST(RealLibraryKernels, RunsThatReuseBuffersAndRunAtOnceAgree) {
  using A = Instruction::Activation;
  RealProgram p({2, 3, 15, 13});
  p.Conv(20, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, true);
  p.BatchNorm();
  p.Activation(A::RELU);
  uint32_t shared = p.Fork();
  p.Conv(20, 20, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, false);
  p.Activation(A::TANH); // a plain kernel between two chains
  p.Conv(9, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, true);
  p.Pool(Instruction::Pool::MAX, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1});
  uint32_t left = p.Fork();
  p.Use(shared);
  p.Pool(Instruction::Pool::AVERAGE, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1});
  p.Conv(9, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}, false);
  p.Join(left);
  p.Pool(Instruction::Pool::GLOBAL_AVERAGE);
  p.Output();
  constexpr int kInputs = 5;
  std::vector<Tensor> inputs;
  std::vector<std::vector<float>> expected;
  std::vector<std::string> expected_stats;
  for (int k = 0; k < kInputs; ++k) {
    inputs.push_back(p.Input());
    auto fresh = Simulator::Create(p.program());
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    SimulationStats stats;
    auto y = (*fresh)->Run({inputs.back()}, &stats);
    ASSERT_TRUE(y.ok()) << y.status();
    expected.push_back((*y)[0].data);
    expected_stats.push_back(stats.SerializeAsString());
  }
  auto simulator = Simulator::Create(p.program());
  ASSERT_TRUE(simulator.ok()) << simulator.status();
  // Each thread runs every input three times, starting at a different one.
  auto run_all = [&](int first, std::vector<std::string> &failures) {
    for (int r = 0; r < 3 * kInputs; ++r) {
      int k = (first + r) % kInputs;
      SimulationStats stats;
      auto y = (*simulator)->Run({inputs[k]}, &stats);
      if (!y.ok() || (*y)[0].data != expected[k] ||
          stats.SerializeAsString() != expected_stats[k])
        failures.push_back(absl::StrCat("input ", k, " run ", r));
    }
  };
  std::vector<std::string> alone;
  run_all(0, alone);
  EXPECT_TRUE(alone.empty()) << absl::StrJoin(alone, ", ");
  constexpr int kThreads = 4;
  std::vector<std::vector<std::string>> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back(run_all, t, std::ref(failures[t]));
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_TRUE(failures[t].empty())
        << "thread " << t << ": " << absl::StrJoin(failures[t], ", ");
}

// Sigmoid and tanh run as oneDNN's eltwise primitive (EltwisePlan), after a
// convolution that spreads their inputs over [-6, 6] or so, and alone.
TEST(RealLibraryKernels, SigmoidAndTanhMatchTheReference) {
  for (auto kind :
       {Instruction::Activation::SIGMOID, Instruction::Activation::TANH})
    for (bool after_conv : {false, true}) {
      SCOPED_TRACE(
          absl::StrCat(kind, after_conv ? " after a convolution" : ""));
      RealProgram p({2, 5, 9, 7});
      if (after_conv)
        p.Conv(6, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, true);
      p.Activation(kind);
      p.ExpectLibraryMatchesReference();
    }
}

TEST(RealLibraryKernels, DenseLayersMatchTheReference) {
  for (bool transpose_lhs : {false, true})
    for (bool transpose_rhs : {false, true})
      for (bool bias : {false, true}) {
        SCOPED_TRACE(absl::StrCat(transpose_lhs, transpose_rhs, bias));
        int64_t m = 3, k = 37, n = 11;
        RealProgram p(transpose_lhs ? std::vector<int64_t>{k, m}
                                    : std::vector<int64_t>{m, k});
        uint32_t x = p.last();
        std::vector<uint32_t> inputs = {
            x, p.Constant(transpose_rhs ? std::vector<int64_t>{n, k}
                                        : std::vector<int64_t>{k, n})};
        if (bias)
          inputs.push_back(p.Constant({n}));
        Instruction &dense = p.Add(inputs, {m, n});
        dense.mutable_dense()->set_transpose_lhs(transpose_lhs);
        dense.mutable_dense()->set_transpose_rhs(transpose_rhs);
        dense.mutable_dense()->set_alpha(bias ? 0.5f : 1.0f);
        dense.mutable_dense()->set_beta(bias ? 2.0f : 1.0f);
        if (bias || transpose_lhs || transpose_rhs)
          p.ExpectLibraryMatchesReference();
      }
  // NumPy matmul with broadcast batch axes, then a batch norm.
  RealProgram p({2, 1, 4, 9});
  uint32_t x = p.last();
  p.Add({x, p.Constant({3, 9, 5})}, {2, 3, 4, 5}).mutable_dense();
  p.BatchNorm();
  p.ExpectLibraryMatchesReference();
}

} // namespace
} // namespace hafnia
