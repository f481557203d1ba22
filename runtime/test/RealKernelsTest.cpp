// The real-valued instructions added for ONNX coverage (pad, slice, gather,
// reduce, layer_norm, and the new activation and elementwise kinds), each in
// a one-instruction program, against values computed by hand; and the
// validator's refusals of their inconsistent forms.

#include <cmath>
#include <vector>

#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

// A program of one instruction reading input "x" of `in` and writing `out`.
class OneInstruction {
public:
  OneInstruction(const std::vector<int64_t> &in,
                 const std::vector<int64_t> &out) {
    *program_.mutable_chip() = *LoadChipConfig("default");
    program_.set_format_version(kProgramFormatVersion);
    AddBuffer(in);
    AddBuffer(out);
    program_.add_inputs()->set_buffer(0);
    program_.mutable_inputs(0)->set_name("x");
    program_.add_outputs()->set_buffer(1);
    program_.mutable_outputs(0)->set_name("y");
    instruction_ = program_.add_instructions();
    instruction_->add_inputs(0);
    instruction_->set_output(1);
    instruction_->set_layer("layer");
  }
  Instruction &instruction() { return *instruction_; }
  uint32_t AddConstant(const std::vector<int64_t> &shape,
                       const std::vector<float> &values) {
    AddBuffer(shape);
    uint32_t buffer = program_.buffers_size() - 1;
    Constant *constant = program_.add_constants();
    constant->set_buffer(buffer);
    constant->set_data(
        std::string(reinterpret_cast<const char *>(values.data()),
                    values.size() * sizeof(float)));
    return buffer;
  }
  const Program &program() const { return program_; }
  Constant *mutable_constant(int i) { return program_.mutable_constants(i); }

  std::vector<float> Run(const std::vector<float> &x) {
    absl::Status valid = ValidateProgram(program_);
    EXPECT_TRUE(valid.ok()) << valid;
    auto simulator = Simulator::Create(program_);
    EXPECT_TRUE(simulator.ok()) << simulator.status();
    Tensor input{std::vector<int64_t>(program_.buffers(0).shape().begin(),
                                      program_.buffers(0).shape().end()),
                 x};
    auto outputs = (*simulator)->Run({input}, nullptr);
    EXPECT_TRUE(outputs.ok()) << outputs.status();
    return outputs.ok() ? (*outputs)[0].data : std::vector<float>();
  }

private:
  void AddBuffer(const std::vector<int64_t> &shape) {
    Buffer *buffer = program_.add_buffers();
    for (int64_t dim : shape)
      buffer->add_shape(dim);
    buffer->set_type(F32);
  }
  Program program_;
  Instruction *instruction_;
};

TEST(RealKernels, PadModes) {
  std::vector<float> x = {1, 2, 3};
  OneInstruction reflect({1, 3}, {1, 7});
  auto *pad = reflect.instruction().mutable_pad();
  pad->set_mode(Instruction::Pad::REFLECT);
  for (int64_t p : {0, 2, 0, 2})
    pad->add_pads(p);
  EXPECT_THAT(reflect.Run(x), ElementsAre(3, 2, 1, 2, 3, 2, 1));

  OneInstruction edge({1, 3}, {1, 6});
  pad = edge.instruction().mutable_pad();
  pad->set_mode(Instruction::Pad::EDGE);
  for (int64_t p : {0, 1, 0, 2})
    pad->add_pads(p);
  EXPECT_THAT(edge.Run(x), ElementsAre(1, 1, 2, 3, 3, 3));

  OneInstruction constant({1, 3}, {2, 4});
  pad = constant.instruction().mutable_pad();
  pad->set_mode(Instruction::Pad::CONSTANT);
  pad->set_value(-1);
  for (int64_t p : {1, 0, 0, 1})
    pad->add_pads(p);
  EXPECT_THAT(constant.Run(x), ElementsAre(-1, -1, -1, -1, 1, 2, 3, -1));
}

TEST(RealKernels, SliceWithNegativeSteps) {
  OneInstruction slice({2, 4}, {2, 2});
  auto *attrs = slice.instruction().mutable_slice();
  for (int64_t s : {0, 3})
    attrs->add_starts(s);
  for (int64_t s : {1, -2})
    attrs->add_steps(s);
  EXPECT_THAT(slice.Run({0, 1, 2, 3, 4, 5, 6, 7}), ElementsAre(3, 1, 7, 5));
}

TEST(RealKernels, GatherRows) {
  OneInstruction gather({3, 2}, {2, 2, 2});
  auto *attrs = gather.instruction().mutable_gather();
  attrs->set_axis(0);
  for (int64_t i : {2, 0, 1, 1})
    attrs->add_indices(i);
  EXPECT_THAT(gather.Run({0, 1, 2, 3, 4, 5}),
              ElementsAre(4, 5, 0, 1, 2, 3, 2, 3));
}

TEST(RealKernels, Reductions) {
  std::vector<float> x = {1, -2, 3, 4, 5, -6};
  auto reduce = [&](Instruction::Reduce::Kind kind, std::vector<int64_t> axes,
                    std::vector<int64_t> out, bool keepdims) {
    OneInstruction program({2, 3}, out);
    auto *attrs = program.instruction().mutable_reduce();
    attrs->set_kind(kind);
    for (int64_t axis : axes)
      attrs->add_axes(axis);
    attrs->set_keepdims(keepdims);
    return program.Run(x);
  };
  EXPECT_THAT(reduce(Instruction::Reduce::MEAN, {1}, {2, 1}, true),
              ElementsAre(FloatNear(2.0f / 3, 1e-7), 1));
  EXPECT_THAT(reduce(Instruction::Reduce::SUM, {0}, {3}, false),
              ElementsAre(5, 3, -3));
  EXPECT_THAT(reduce(Instruction::Reduce::MAX, {0, 1}, {}, false),
              ElementsAre(5));
  EXPECT_THAT(reduce(Instruction::Reduce::MIN, {1}, {2}, false),
              ElementsAre(-2, -6));
  EXPECT_THAT(reduce(Instruction::Reduce::PROD, {1}, {2}, false),
              ElementsAre(-6, -120));
  EXPECT_THAT(reduce(Instruction::Reduce::L1, {1}, {2}, false),
              ElementsAre(6, 15));
  EXPECT_THAT(reduce(Instruction::Reduce::L2, {1}, {2}, false),
              ElementsAre(FloatNear(std::sqrt(14.0f), 1e-6),
                          FloatNear(std::sqrt(77.0f), 1e-6)));
  // Large values: stabilized by the maximum, no overflow to infinity.
  std::vector<float> large = {1000, 1000, 1000, 0, 0, 0};
  OneInstruction logsumexp({2, 3}, {2});
  auto *attrs = logsumexp.instruction().mutable_reduce();
  attrs->set_kind(Instruction::Reduce::LOG_SUM_EXP);
  attrs->add_axes(1);
  EXPECT_THAT(logsumexp.Run(large),
              ElementsAre(FloatNear(1000 + std::log(3.0f), 1e-3),
                          FloatNear(std::log(3.0f), 1e-6)));
}

TEST(RealKernels, LayerNormOverTheLastAxis) {
  OneInstruction norm({2, 2}, {2, 2});
  norm.instruction().mutable_layer_norm()->set_axis(1);
  norm.instruction().mutable_layer_norm()->set_epsilon(0);
  // Without a scale the validator refuses it.
  EXPECT_THAT(std::string(ValidateProgram(norm.program()).message()),
              HasSubstr("operands"));
  uint32_t scale = norm.AddConstant({2}, {1, 2});
  norm.instruction().add_inputs(scale);
  // Rows [1, 3] and [0, 4]: mean 2, standard deviations 1 and 2.
  EXPECT_THAT(norm.Run({1, 3, 0, 4}), ElementsAre(-1, 2, -1, 2));
}

TEST(RealKernels, ActivationsAndElementwiseKinds) {
  OneInstruction erf({4}, {4});
  erf.instruction().mutable_activation()->set_kind(
      Instruction::Activation::ERF);
  EXPECT_THAT(erf.Run({0, 1, -1, 3}),
              Pointwise(FloatNear(1e-6),
                        std::vector<float>{0, std::erf(1.0f), -std::erf(1.0f),
                                           std::erf(3.0f)}));
  OneInstruction swish({4}, {4});
  swish.instruction().mutable_activation()->set_kind(
      Instruction::Activation::HARD_SWISH);
  EXPECT_THAT(swish.Run({-4, 0, 1, 4}),
              ElementsAre(0, 0, FloatNear(1 * (1 / 6.0f + 0.5f), 1e-7), 4));
  OneInstruction leaky({2}, {2});
  auto *a = leaky.instruction().mutable_activation();
  a->set_kind(Instruction::Activation::LEAKY_RELU);
  a->set_alpha(0.1f);
  EXPECT_THAT(leaky.Run({-2, 3}), ElementsAre(FloatNear(-0.2f, 1e-7), 3));
  OneInstruction round({4}, {4});
  round.instruction().mutable_activation()->set_kind(
      Instruction::Activation::ROUND);
  EXPECT_THAT(round.Run({0.5f, 1.5f, 2.5f, -0.5f}), ElementsAre(0, 2, 2, 0));
}

// A QDQ model's int8 weight with one scale per slice of axis 0.
TEST(RealKernels, Int8ConstantsWithChannelScales) {
  OneInstruction mul({2, 3}, {2, 3});
  uint32_t buffer = mul.AddConstant({2, 3}, {0, 0, 0, 0, 0, 0});
  Constant *constant = mul.mutable_constant(0);
  const int8_t data[] = {1, 2, 3, -1, -2, -3};
  constant->set_data(std::string(reinterpret_cast<const char *>(data), 6));
  constant->set_int8(true);
  constant->add_channel_scales(0.5f);
  constant->add_channel_scales(2.0f);
  mul.instruction().add_inputs(buffer);
  mul.instruction().mutable_elementwise()->set_kind(
      Instruction::Elementwise::MUL);
  EXPECT_THAT(mul.Run({1, 1, 1, 1, 1, 1}),
              ElementsAre(0.5f, 1.0f, 1.5f, -2.0f, -4.0f, -6.0f));
  constant->add_channel_scales(3.0f);
  absl::Status status = ValidateProgram(mul.program());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("3 channel scales: int8 data needs one per slice of "
                        "axis 0"));
}

TEST(RealKernels, ValidatorRefusesInconsistentForms) {
  auto error = [](const Program &program) {
    absl::Status status = ValidateProgram(program);
    return std::string(status.message());
  };
  OneInstruction reflect({1, 2}, {1, 6});
  auto *pad = reflect.instruction().mutable_pad();
  pad->set_mode(Instruction::Pad::REFLECT);
  for (int64_t p : {0, 2, 0, 2})
    pad->add_pads(p);
  EXPECT_THAT(error(reflect.program()), HasSubstr("pads more than its input"));

  OneInstruction slice({2, 4}, {2, 3});
  auto *attrs = slice.instruction().mutable_slice();
  for (int64_t s : {0, 1})
    attrs->add_starts(s);
  for (int64_t s : {1, 2})
    attrs->add_steps(s);
  EXPECT_THAT(error(slice.program()), HasSubstr("slices outside its input"));

  OneInstruction gather({3, 2}, {1, 2});
  gather.instruction().mutable_gather()->add_indices(3);
  EXPECT_THAT(error(gather.program()), HasSubstr("index out of range"));

  OneInstruction reduce({2, 3}, {2});
  reduce.instruction().mutable_reduce()->set_kind(Instruction::Reduce::SUM);
  reduce.instruction().mutable_reduce()->add_axes(1);
  reduce.instruction().mutable_reduce()->add_axes(1);
  EXPECT_THAT(error(reduce.program()), HasSubstr("not sorted, distinct"));

  OneInstruction unknown({2}, {2});
  unknown.instruction().mutable_activation()->set_kind(
      static_cast<Instruction::Activation::Kind>(999));
  EXPECT_THAT(error(unknown.program()), HasSubstr("activation kind"));
}

} // namespace
} // namespace hafnia
