//===- PaddedBinaryConvTest.cpp - Padded binary convolutions, bit for bit -===//
//
// Random binary convolutions (fixed seeds): 1-D and 2-D, kernel sizes 1-4,
// asymmetric pads 0-2 (also pads wider than the kernel or the input, so that
// whole windows lie in the padding), strides 1-3, dilations 1-2, groups (1,
// 2, depthwise), odd channel counts. Each is written as a real-valued
// `bnn.conv` of a `bnn.sign` with +1/-1 weights, binarized by the real
// bnn-binarize (mode=all, binarize-first-layer) and bnn-fold-thresholds,
// mapped onto four array geometries (32x32, 16x8, 7x5, 3x64), emitted,
// validated and simulated (fused rows and tile by tile) on random +1/-1
// inputs. Every output is compared with a scalar convolution written here
// from the definition:
//  - zero padding (`pads` on the convolution): the exact integer dot
//    product, which the chip gets from popcounts that read the padding as +1
//    and the border correction (`border_positions`, `border_offsets`);
//  - with a batch norm and a sign after it (threshold folding, the border
//    positions' own `border_thresholds`): the ONNX f32 chain on that dot
//    product, compared with 0 by the chip's rule (x >= 0 is +1); a depthwise
//    1x1 convolution of +1 weights after the sign returns the bits as +1/-1;
//  - a constant +1 or -1 `bnn.pad` before an unpadded convolution (Larq's
//    pad_values, `pads_read_minus_one` for -1): the dot product with the
//    padding read as that value.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Dialect/BNN/IR/BNNDialect.h"
#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/RRAM/IR/RRAMDialect.h"
#include "hafnia/Pipelines/Pipelines.h"
#include "hafnia/Target/ProgramEmitter.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"
#include "hafnia/runtime/TensorIO.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

enum class Padding { Zero, PlusOne, MinusOne };

struct Geometry {
  unsigned rows, columns;
};
const Geometry kGeometries[] = {{32, 32}, {16, 8}, {7, 5}, {3, 64}};

/// One random binary convolution and, optionally, the batch norm after it.
struct Config {
  int spatial = 1;
  int64_t batch = 1, channels = 1, filters = 1, group = 1;
  std::vector<int64_t> size, kernel, stride, dilation, padBegin, padEnd;
  Padding padding = Padding::Zero;
  std::vector<float> weights; // filters x channels/group x kernel, +1/-1
  bool batchNorm = false;
  std::vector<float> gamma, beta, mean, variance;
  float epsilon = 1e-5f;

  int64_t groupChannels() const { return channels / group; }
  int64_t taps() const {
    int64_t taps = 1;
    for (int64_t k : kernel)
      taps *= k;
    return taps;
  }
  int64_t outputSize(int i) const {
    return (size[i] + padBegin[i] + padEnd[i] - dilation[i] * (kernel[i] - 1) -
            1) /
               stride[i] +
           1;
  }
  std::vector<int64_t> inputShape() const {
    std::vector<int64_t> shape = {batch, channels};
    shape.insert(shape.end(), size.begin(), size.end());
    return shape;
  }
  std::vector<int64_t> outputShape() const {
    std::vector<int64_t> shape = {batch, filters};
    for (int i = 0; i < spatial; ++i)
      shape.push_back(outputSize(i));
    return shape;
  }
  int64_t outputPositions() const {
    int64_t positions = 1;
    for (int i = 0; i < spatial; ++i)
      positions *= outputSize(i);
    return positions;
  }
  int64_t inputPositions() const {
    int64_t positions = 1;
    for (int64_t s : size)
      positions *= s;
    return positions;
  }

  std::string describe() const {
    std::ostringstream os;
    auto list = [&](const char *name, const std::vector<int64_t> &values) {
      os << " " << name << "=";
      for (size_t i = 0; i < values.size(); ++i)
        os << (i ? "x" : "") << values[i];
    };
    os << spatial << "-D N=" << batch << " C=" << channels << " M=" << filters
       << " group=" << group;
    list("size", size);
    list("kernel", kernel);
    list("stride", stride);
    list("dilation", dilation);
    list("pad_begin", padBegin);
    list("pad_end", padEnd);
    os << " padding="
       << (padding == Padding::Zero      ? "zero"
           : padding == Padding::PlusOne ? "+1 Pad"
                                         : "-1 Pad")
       << (batchNorm ? " +batch_norm+sign" : "");
    return os.str();
  }
};

/// Portable draws from mt19937 (whose outputs the standard fixes, unlike
/// those of the distributions).
struct Random {
  std::mt19937 engine;
  explicit Random(uint32_t seed) : engine(seed) {}
  int64_t below(int64_t n) { return static_cast<int64_t>(engine() % n); }
  int64_t between(int64_t low, int64_t high) {
    return low + below(high - low + 1);
  }
  float uniform(float low, float high) {
    return low + (high - low) * static_cast<float>(engine() >> 8) * 0x1p-24f;
  }
  float sign() { return below(2) ? 1.0f : -1.0f; }
};

Config randomConfig(Random &random, Padding padding, bool batchNorm) {
  Config c;
  c.spatial = static_cast<int>(random.between(1, 2));
  c.batch = random.between(1, 2);
  switch (random.below(3)) {
  case 0: // dense channels, odd counts
    c.group = 1;
    c.channels = 2 * random.between(0, 3) + 1;
    c.filters = random.between(1, 6);
    break;
  case 1:
    c.group = 2;
    c.channels = 2 * random.between(1, 3);
    c.filters = 2 * random.between(1, 3);
    break;
  default: // depthwise
    c.channels = c.filters = c.group = random.between(1, 5);
    break;
  }
  for (int i = 0; i < c.spatial; ++i) {
    int64_t k = random.between(1, 4), d = random.between(1, 2);
    int64_t b = random.between(0, 2), e = random.between(0, 2);
    // The window must fit in the padded input at least once.
    int64_t smallest = std::max<int64_t>(1, d * (k - 1) + 1 - b - e);
    c.kernel.push_back(k);
    c.dilation.push_back(d);
    c.stride.push_back(random.between(1, 3));
    c.padBegin.push_back(b);
    c.padEnd.push_back(e);
    c.size.push_back(smallest + random.below(c.spatial == 1 ? 9 : 5));
  }
  c.padding = padding;
  for (int64_t i = 0, n = c.filters * c.groupChannels() * c.taps(); i < n; ++i)
    c.weights.push_back(random.sign());
  c.batchNorm = batchNorm;
  if (batchNorm) {
    int64_t fanIn = c.groupChannels() * c.taps();
    for (int64_t m = 0; m < c.filters; ++m) {
      // Now and then a zero scale (a constant output), but not in channel 0:
      // where every channel's output is constant and never negative,
      // bnn-binarize rightly refuses the next layer. Integer means with zero
      // biases put the boundary exactly on a dot product, where the chip's
      // sign gives +1.
      bool tie = random.below(2);
      c.gamma.push_back(
          m > 0 && random.below(6) == 0 ? 0.0f : random.uniform(-2.0f, 2.0f));
      c.beta.push_back(tie ? 0.0f : random.uniform(-1.5f, 1.5f));
      c.mean.push_back(tie ? static_cast<float>(random.between(-fanIn, fanIn))
                           : random.uniform(-fanIn - 1.0f, fanIn + 1.0f));
      c.variance.push_back(random.uniform(0.05f, 4.0f));
    }
  }
  return c;
}

/// The zero-, +1- or -1-padded convolution of +1/-1 inputs, from the
/// definition: output[n, m, o] = sum over c, k of
/// weight[m, c, k] * input[n, g * C/G + c, o * stride - pad + k * dilation].
std::vector<int64_t> referenceDots(const Config &c,
                                   const std::vector<float> &input) {
  float padValue = c.padding == Padding::Zero      ? 0.0f
                   : c.padding == Padding::PlusOne ? 1.0f
                                                   : -1.0f;
  int64_t positions = c.outputPositions(), taps = c.taps();
  int64_t groupChannels = c.groupChannels();
  int64_t filtersPerGroup = c.filters / c.group;
  std::vector<int64_t> dots;
  for (int64_t n = 0; n < c.batch; ++n)
    for (int64_t m = 0; m < c.filters; ++m)
      for (int64_t p = 0; p < positions; ++p) {
        // Output position (oh, ow) or (ol).
        int64_t out[2] = {0, 0};
        if (c.spatial == 1) {
          out[0] = p;
        } else {
          out[0] = p / c.outputSize(1);
          out[1] = p % c.outputSize(1);
        }
        int64_t dot = 0;
        for (int64_t ci = 0; ci < groupChannels; ++ci) {
          int64_t channel = m / filtersPerGroup * groupChannels + ci;
          for (int64_t t = 0; t < taps; ++t) {
            int64_t tap[2] = {t, 0};
            if (c.spatial == 2) {
              tap[0] = t / c.kernel[1];
              tap[1] = t % c.kernel[1];
            }
            bool inside = true;
            int64_t flat = 0;
            for (int i = 0; i < c.spatial; ++i) {
              int64_t at =
                  out[i] * c.stride[i] - c.padBegin[i] + tap[i] * c.dilation[i];
              inside &= at >= 0 && at < c.size[i];
              flat = flat * c.size[i] + at;
            }
            float value =
                inside ? input[(n * c.channels + channel) * c.inputPositions() +
                               flat]
                       : padValue;
            float weight = c.weights[(m * groupChannels + ci) * taps + t];
            dot += static_cast<int64_t>(weight * value);
          }
        }
        dots.push_back(dot);
      }
  return dots;
}

/// Whether some output position's window reaches the padding.
bool hasBorder(const Config &c) {
  for (int i = 0; i < c.spatial; ++i) {
    if (c.padBegin[i] > 0)
      return true;
    int64_t last = (c.outputSize(i) - 1) * c.stride[i] - c.padBegin[i] +
                   (c.kernel[i] - 1) * c.dilation[i];
    if (last >= c.size[i])
      return true;
  }
  return false;
}

/// What the chip must output: the dot products, or with a batch norm the
/// chip's sign of the ONNX chain on them, in f32, as +1/-1. Adds the outputs
/// where the chain gives exactly zero (+1 on the chip) to `zeros`.
std::vector<float> reference(const Config &c, const std::vector<float> &input,
                             int64_t &zeros) {
  std::vector<int64_t> dots = referenceDots(c, input);
  std::vector<float> expected;
  int64_t positions = c.outputPositions();
  for (size_t e = 0; e < dots.size(); ++e) {
    float dot = static_cast<float>(dots[e]);
    if (!c.batchNorm) {
      expected.push_back(dot);
      continue;
    }
    int64_t m = static_cast<int64_t>(e) / positions % c.filters;
    float affine = 1.0f * dot; // popcount affine: scale 1, then bias 0
    affine = affine + 0.0f;
    float centered = affine - c.mean[m];
    float deviation = std::sqrt(c.variance[m] + c.epsilon);
    float normalized = centered / deviation;
    float scaled = normalized * c.gamma[m];
    float shifted = scaled + c.beta[m];
    zeros += shifted == 0;
    expected.push_back(shifted >= 0 ? 1.0f : -1.0f);
  }
  return expected;
}

std::string tensorType(const std::vector<int64_t> &shape) {
  std::string type = "tensor<";
  for (int64_t d : shape)
    type += std::to_string(d) + "x";
  return type + "f32>";
}

std::string i64Array(const std::vector<int64_t> &values) {
  std::string text = "array<i64";
  for (size_t i = 0; i < values.size(); ++i)
    text += (i ? ", " : ": ") + std::to_string(values[i]);
  return text + ">";
}

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

/// The f32 values bit for bit, as a dense hex string (little-endian).
std::string hexFloats(const std::vector<float> &values) {
  static const char *digits = "0123456789ABCDEF";
  std::string text = "\"0x";
  for (float value : values) {
    uint32_t bits = bitsOf(value);
    for (int byte = 0; byte < 4; ++byte, bits >>= 8) {
      text += digits[(bits >> 4) & 15];
      text += digits[bits & 15];
    }
  }
  return text + "\"";
}

std::string f32Attr(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%08X : f32", bitsOf(value));
  return text;
}

/// The real-valued network of `c`: sign, [pad,] conv [, batch norm, sign,
/// depthwise 1x1 conv of +1 weights].
std::string buildModule(const Config &c) {
  std::vector<int64_t> inputShape = c.inputShape(),
                       outputShape = c.outputShape();
  std::string input = tensorType(inputShape);
  std::string output = tensorType(outputShape);
  std::vector<int64_t> weightShape = {c.filters, c.groupChannels()};
  weightShape.insert(weightShape.end(), c.kernel.begin(), c.kernel.end());
  std::vector<int64_t> convPads = c.padBegin;
  convPads.insert(convPads.end(), c.padEnd.begin(), c.padEnd.end());
  std::string convInput = "%s", convInputType = input;
  std::ostringstream os;
  os << "func.func @main(%x: " << input << ") -> " << output << " {\n";
  os << "  %s = bnn.sign %x : " << input << "\n";
  if (c.padding != Padding::Zero) {
    // A Pad of the spatial axes; the convolution itself is unpadded.
    std::vector<int64_t> padded = inputShape, pads = {0, 0};
    pads.insert(pads.end(), c.padBegin.begin(), c.padBegin.end());
    pads.push_back(0);
    pads.push_back(0);
    pads.insert(pads.end(), c.padEnd.begin(), c.padEnd.end());
    for (int i = 0; i < c.spatial; ++i)
      padded[i + 2] += c.padBegin[i] + c.padEnd[i];
    convInputType = tensorType(padded);
    convInput = "%p";
    os << "  %p = bnn.pad %s {mode = \"constant\", pads = " << i64Array(pads)
       << ", value = " << (c.padding == Padding::PlusOne ? "1.0" : "-1.0")
       << " : f32} : " << input << " -> " << convInputType << "\n";
    convPads.assign(convPads.size(), 0);
  }
  os << "  %w = bnn.constant dense<" << hexFloats(c.weights)
     << "> : " << tensorType(weightShape) << "\n";
  os << "  %y = bnn.conv " << convInput
     << ", %w {dilations = " << i64Array(c.dilation) << ", group = " << c.group
     << " : i64, pads = " << i64Array(convPads)
     << ", strides = " << i64Array(c.stride) << "} : (" << convInputType << ", "
     << tensorType(weightShape) << ") -> " << output << "\n";
  if (!c.batchNorm) {
    os << "  return %y : " << output << "\n}\n";
    return os.str();
  }
  std::string channelType = tensorType({c.filters});
  os << "  %gamma = bnn.constant dense<" << hexFloats(c.gamma)
     << "> : " << channelType << "\n";
  os << "  %beta = bnn.constant dense<" << hexFloats(c.beta)
     << "> : " << channelType << "\n";
  os << "  %mean = bnn.constant dense<" << hexFloats(c.mean)
     << "> : " << channelType << "\n";
  os << "  %var = bnn.constant dense<" << hexFloats(c.variance)
     << "> : " << channelType << "\n";
  os << "  %n = bnn.batch_norm %y, %gamma, %beta, %mean, %var {epsilon = "
     << f32Attr(c.epsilon) << "} : " << output << ", " << channelType << "\n";
  os << "  %t = bnn.sign %n : " << output << "\n";
  std::vector<int64_t> identityShape = {c.filters, 1}, ones(c.spatial, 1),
                       zeros(2 * c.spatial, 0);
  identityShape.insert(identityShape.end(), ones.begin(), ones.end());
  os << "  %one = bnn.constant dense<1.0> : " << tensorType(identityShape)
     << "\n";
  os << "  %z = bnn.conv %t, %one {dilations = " << i64Array(ones)
     << ", group = " << c.filters << " : i64, pads = " << i64Array(zeros)
     << ", strides = " << i64Array(ones) << "} : (" << output << ", "
     << tensorType(identityShape) << ") -> " << output << "\n";
  os << "  return %z : " << output << "\n}\n";
  return os.str();
}

/// Checks that binarization turned every convolution into an XNOR
/// convolution with the padding `c` asks for; returns what is wrong.
std::string checkBinarized(mlir::ModuleOp module, const Config &c) {
  int real = 0, xnor = 0, thresholds = 0;
  std::string problem;
  bool border = hasBorder(c) && c.padding == Padding::Zero;
  module.walk([&](mlir::Operation *op) {
    if (mlir::isa<hafnia::bnn::ConvOp>(op))
      ++real;
    if (auto conv = mlir::dyn_cast<hafnia::bnn::XnorConvOp>(op)) {
      // The first one reads the padding.
      if (xnor++ == 0 &&
          conv.getPadsReadMinusOne() != (c.padding == Padding::MinusOne))
        problem += "pads_read_minus_one is wrong; ";
    }
    if (auto affine = mlir::dyn_cast<hafnia::bnn::PopcountAffineOp>(op)) {
      bool has =
          affine.getBorderPositions() && !affine.getBorderPositions()->empty();
      // With a batch norm, the affine left is the 1x1 convolution's.
      if (has != (border && !c.batchNorm))
        problem += "popcount_affine border_positions are wrong; ";
    }
    if (auto threshold = mlir::dyn_cast<hafnia::bnn::ThresholdOp>(op)) {
      ++thresholds;
      bool has = threshold.getBorderPositions() &&
                 !threshold.getBorderPositions()->empty();
      if (has != border)
        problem += "threshold border_positions are wrong; ";
    }
  });
  if (real)
    problem += std::to_string(real) + " convolution(s) stayed real; ";
  if (xnor != (c.batchNorm ? 2 : 1))
    problem += std::to_string(xnor) + " XNOR convolutions; ";
  if (thresholds != (c.batchNorm ? 1 : 0))
    problem += std::to_string(thresholds) + " thresholds; ";
  return problem;
}

/// Binarizes, maps and emits `c` for `chip`; returns the error text on
/// failure.
std::string compile(const Config &c, const hafnia::ChipConfig &chip,
                    hafnia::Program &program) {
  mlir::MLIRContext context;
  context.loadDialect<hafnia::bnn::BNNDialect, hafnia::rram::RRAMDialect,
                      mlir::func::FuncDialect>();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error)
      diagnostics += diag.str() + "\n";
    return mlir::success();
  });
  std::string text = buildModule(c);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!module)
    return "parse: " + diagnostics + text;
  hafnia::setChipTarget(*module, chip);
  mlir::PassManager binarize(&context);
  hafnia::buildBinarizationPipeline(
      binarize, {hafnia::bnn::BinarizeMode::All, /*binarizeFirstLayer=*/true});
  if (failed(binarize.run(*module)))
    return "binarization: " + diagnostics;
  std::string problem = checkBinarized(*module, c);
  if (!problem.empty())
    return "binarized IR: " + problem;
  mlir::PassManager mapping(&context);
  hafnia::buildMappingPipeline(mapping);
  if (failed(mapping.run(*module)))
    return "mapping: " + diagnostics;
  auto emitted =
      hafnia::emitProgram(*module, chip, hafnia::MappingReport(), "padded");
  if (failed(emitted))
    return "emission: " + diagnostics;
  absl::Status valid = hafnia::ValidateProgram(*emitted);
  if (!valid.ok())
    return "validation: " + std::string(valid.message());
  program = *emitted;
  return "";
}

/// The same chip with bit errors (a BER of 0.05, one seed), fused and tile
/// by tile: the fused rows (and their packed receptive fields, whose bits
/// are reordered) take every flip where the tiles do. Returns a mismatch,
/// or the empty string.
std::string checkErrors(const hafnia::Program &program,
                        const hafnia::Tensor &input) {
  std::vector<std::vector<float>> outputs;
  for (bool fuse : {true, false}) {
    hafnia::Simulator::Options options;
    options.fuse_layers = fuse;
    auto simulator = hafnia::Simulator::Create(program, options);
    if (!simulator.ok())
      return "simulator: " + std::string(simulator.status().message());
    std::mt19937_64 random = hafnia::TrialEngine(5, 1);
    auto chip = (*simulator)->ProgramWithErrors(0.05, random);
    auto prefix = (*simulator)->RunPrefix({input});
    if (!prefix.ok())
      return "prefix: " + std::string(prefix.status().message());
    auto out = (*simulator)->RunSuffix(**prefix, chip.get(), nullptr);
    if (!out.ok())
      return "run with errors: " + std::string(out.status().message());
    outputs.push_back(out->front().data);
  }
  return outputs[0] == outputs[1]
             ? ""
             : "with bit errors, fused rows and tiles give other outputs";
}

/// Compiles `c` for every geometry, simulates it on `samples` random inputs,
/// fused and tile by tile, and compares every output with the reference;
/// returns the first mismatches, or the empty string. Adds the outputs
/// compared to `compared`.
std::string check(const Config &c, Random &random, int samples,
                  const hafnia::ChipConfig &defaultChip, int64_t &compared,
                  int64_t &zeros) {
  std::vector<hafnia::Tensor> inputs;
  for (int s = 0; s < samples; ++s) {
    hafnia::Tensor input;
    input.shape = c.inputShape();
    for (int64_t e = 0, n = input.NumElements(); e < n; ++e)
      input.data.push_back(random.sign());
    inputs.push_back(input);
  }
  for (const Geometry &geometry : kGeometries) {
    hafnia::ChipConfig chip = defaultChip;
    chip.mutable_array()->set_rows(geometry.rows);
    chip.mutable_array()->set_columns(geometry.columns);
    std::string where = std::to_string(geometry.rows) + "x" +
                        std::to_string(geometry.columns) + " arrays: ";
    hafnia::Program program;
    std::string error = compile(c, chip, program);
    if (!error.empty())
      return where + error;
    if (std::string error = checkErrors(program, inputs.front());
        !error.empty())
      return where + error;
    for (bool fuse : {true, false}) {
      hafnia::Simulator::Options options;
      options.fuse_layers = fuse;
      auto simulator = hafnia::Simulator::Create(program, options);
      if (!simulator.ok())
        return where +
               "simulator: " + std::string(simulator.status().message());
      for (const hafnia::Tensor &input : inputs) {
        hafnia::SimulationStats stats;
        auto outputs = (*simulator)->Run({input}, &stats);
        if (!outputs.ok())
          return where + "run: " + std::string(outputs.status().message());
        if (outputs->size() != 1)
          return where + std::to_string(outputs->size()) + " outputs";
        const hafnia::Tensor &actual = outputs->front();
        std::vector<float> expected = reference(c, input.data, zeros);
        if (actual.shape != c.outputShape() ||
            actual.data.size() != expected.size())
          return where + "output of " + std::to_string(actual.data.size()) +
                 " elements, expected " + std::to_string(expected.size());
        std::string mismatch;
        int mismatches = 0;
        for (size_t e = 0; e < expected.size(); ++e)
          if (actual.data[e] != expected[e] && mismatches++ < 4)
            mismatch += " [" + std::to_string(e) + "] " +
                        std::to_string(actual.data[e]) +
                        " != " + std::to_string(expected[e]) + ";";
        compared += static_cast<int64_t>(expected.size());
        if (mismatches)
          return where + (fuse ? "fused" : "tile by tile") + ", " +
                 std::to_string(mismatches) + " of " +
                 std::to_string(expected.size()) +
                 " outputs differ:" + mismatch;
      }
    }
  }
  return "";
}

/// Runs `count` random configurations from `seed`.
void runConfigs(uint32_t seed, int count, bool batchNorm,
                std::vector<Padding> paddings) {
  absl::StatusOr<hafnia::ChipConfig> chip = hafnia::LoadChipConfig("default");
  ASSERT_TRUE(chip.ok()) << chip.status();
  Random random(seed);
  int64_t compared = 0, zeros = 0;
  int failures = 0;
  for (int i = 0; i < count; ++i) {
    Padding padding = paddings[random.below(paddings.size())];
    Config c = randomConfig(random, padding, batchNorm);
    std::string error = check(c, random, /*samples=*/2, *chip, compared, zeros);
    if (!error.empty() && failures++ < 10)
      ADD_FAILURE() << "configuration " << i << " (" << c.describe()
                    << "): " << error;
  }
  EXPECT_EQ(failures, 0) << "of " << count << " configurations";
  std::cout << count << " configurations x " << std::size(kGeometries)
            << " array geometries: " << compared << " outputs compared";
  if (batchNorm) {
    // The boundary case must come up.
    EXPECT_GT(zeros, 0);
    std::cout << ", " << zeros << " on the sign's boundary (exactly 0)";
  }
  std::cout << "\n";
}

TEST(PaddedBinaryConv, ZeroPaddingGivesExactDotProducts) {
  runConfigs(/*seed=*/1, /*count=*/500, /*batchNorm=*/false, {Padding::Zero});
}

TEST(PaddedBinaryConv, FoldedThresholdsFollowTheF32Chain) {
  runConfigs(
      /*seed=*/2, /*count=*/300, /*batchNorm=*/true,
      {Padding::Zero, Padding::Zero, Padding::PlusOne, Padding::MinusOne});
}

TEST(PaddedBinaryConv, SignPadsReadPlusOrMinusOne) {
  runConfigs(/*seed=*/3, /*count=*/200, /*batchNorm=*/false,
             {Padding::PlusOne, Padding::MinusOne});
}

} // namespace
