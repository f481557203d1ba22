//===- ModelGuardsTest.cpp - The checks before ONNX's own passes ----------===//
//
// Each guard of hafnia/Import/ModelGuards.h on the smallest model that
// needs it, and the models it must let through. The end-to-end messages
// (through hafnia-compile) are in test/Runtime/malformed/.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Import/ModelGuards.h"

#include <cmath>
#include <limits>
#include <string>

#include "onnx/defs/parser.h"
#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

onnx::ModelProto parse(const std::string &graph) {
  onnx::ModelProto model;
  std::string text =
      "<ir_version: 8, opset_import: [\"\" : 17]>\n" + graph + "\n";
  auto status = onnx::OnnxParser::Parse(model, text.c_str());
  EXPECT_TRUE(status.IsOK()) << status.ErrorMessage();
  return model;
}

/// The guard's message, or "" when it accepts the model.
std::string guard(onnx::ModelProto model) {
  return guardOnnxModel(model).value_or("");
}

std::string guard(const std::string &graph) { return guard(parse(graph)); }

onnx::TensorProto floats(const std::string &name, std::vector<float> values) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  tensor.add_dims(static_cast<int64_t>(values.size()));
  for (float value : values)
    tensor.add_float_data(value);
  return tensor;
}

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::nanf("");

TEST(ModelGuardsTest, AcceptsAPlainModel) {
  EXPECT_EQ(guard("g (float[1, 4] x) => (float[1, 4] y) { y = Relu (x) }"), "");
}

TEST(ModelGuardsTest, GraphOutputsMustBeProduced) {
  EXPECT_EQ(guard("g (float[1, 4] x) => (float[1, 4] y, float[1, 4] z) "
                  "{ y = Relu (x) }"),
            "graph output 'z' is produced by no node, initializer or graph "
            "input; remove it or connect it");
  // Inputs and initializers are values too.
  EXPECT_EQ(guard("g (float[1, 4] x) => (float[1, 4] x) { y = Relu (x) }"), "");
}

TEST(ModelGuardsTest, NoGraphOutputs) {
  onnx::ModelProto model =
      parse("g (float[1, 4] x) => (float[1, 4] y) { y = Relu (x) }");
  model.mutable_graph()->clear_output();
  EXPECT_EQ(guard(model), "the model declares no graph outputs: nothing it "
                          "computes could be read; declare its outputs");
}

TEST(ModelGuardsTest, DropsValueInfoOfNothing) {
  onnx::ModelProto model =
      parse("g (float[1, 4] x) => (float[1, 4] y) { y = Relu (x) }");
  model.mutable_graph()->add_value_info()->set_name("ghost");
  model.mutable_graph()->add_value_info()->set_name("y");
  ASSERT_EQ(guardOnnxModel(model), std::nullopt);
  ASSERT_EQ(model.graph().value_info_size(), 1);
  EXPECT_EQ(model.graph().value_info(0).name(), "y");
}

TEST(ModelGuardsTest, WindowAttributes) {
  auto conv = [](const std::string &attributes) {
    return guard("g (float[1, 1, 8, 8] x, float[2, 1, 3, 3] w) => "
                 "(float[1, 2, 6, 6] y) { y = Conv <" +
                 attributes + "> (x, w) }");
  };
  EXPECT_EQ(conv("strides = [1, 0]"),
            "node producing 'y' (Conv): attribute 'strides' holds 0; strides "
            "must be positive");
  EXPECT_EQ(conv("dilations = [-2, 1]"),
            "node producing 'y' (Conv): attribute 'dilations' holds -2; "
            "dilations must be positive");
  EXPECT_EQ(conv("kernel_shape = [0, 3]"),
            "node producing 'y' (Conv): attribute 'kernel_shape' holds 0; "
            "kernel_shape must be positive");
  EXPECT_EQ(conv("pads = [0, 0, -1, 0]"),
            "node producing 'y' (Conv): attribute 'pads' holds -1; pads must "
            "be >= 0");
  EXPECT_EQ(conv("strides = [2, 2], pads = [1, 1, 1, 1]"), "");
  // Pad's pads may crop (the importer says whether it supports that).
  onnx::ModelProto pad = parse("g (float[1, 4] x) => (float[1, 2] y) "
                               "{ y = Pad <mode = \"constant\"> (x, p) }");
  onnx::TensorProto pads;
  pads.set_name("p");
  pads.set_data_type(onnx::TensorProto::INT64);
  pads.add_dims(4);
  for (int64_t value : {0, -1, 0, -1})
    pads.add_int64_data(value);
  *pad.mutable_graph()->add_initializer() = pads;
  EXPECT_EQ(guard(pad), "");
}

TEST(ModelGuardsTest, TensorSizes) {
  onnx::ModelProto model =
      parse("g (float[1, 4] x) => (float[1, 4] y) { y = Add (x, w) }");
  onnx::TensorProto *w = model.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(int64_t{1} << 40);
  w->add_dims(int64_t{1} << 40); // the product overflows int64
  EXPECT_EQ(guard(model), "initializer 'w' has more than 2147483648 "
                          "elements, the most a tensor may have");
  w->clear_dims();
  w->add_dims(-3);
  EXPECT_EQ(guard(model), "initializer 'w' has a negative dimension (-3)");
  EXPECT_EQ(guard("g (float[65536, 65536] x) => (float[65536, 65536] y) "
                  "{ y = Relu (x) }"),
            "input 'x' has more than 2147483648 elements, the most a tensor "
            "may have");
}

TEST(ModelGuardsTest, NonFiniteInitializers) {
  const std::string graph =
      "g (float[1, 3] x) => (float[1, 3] y) { y = Mul (x, w) }";
  for (auto [value, name] : {std::pair{kNaN, "NaN"}, std::pair{kInf, "+inf"},
                             std::pair{-kInf, "-inf"}}) {
    onnx::ModelProto model = parse(graph);
    *model.mutable_graph()->add_initializer() = floats("w", {1, 2, value});
    EXPECT_THAT(guard(model),
                HasSubstr(std::string("initializer 'w' holds ") + name +
                          " at index 2: a chip computes nothing meaningful"));
  }
  // As raw data too.
  onnx::ModelProto model = parse(graph);
  onnx::TensorProto raw = floats("w", {});
  raw.clear_float_data();
  raw.set_dims(0, 3);
  float data[3] = {0, kNaN, 0};
  raw.set_raw_data(std::string(reinterpret_cast<char *>(data), sizeof data));
  *model.mutable_graph()->add_initializer() = raw;
  EXPECT_THAT(guard(model), HasSubstr("initializer 'w' holds NaN at index 1"));
}

TEST(ModelGuardsTest, InfinitiesWhereTheyMeanSomething) {
  // Clip's bounds: an infinite one is no bound; NaN still is refused.
  const std::string clip = "g (float[1, 3] x) => (float[1, 3] y) "
                           "{ y = Clip (x, lo, hi) }";
  onnx::ModelProto model = parse(clip);
  *model.mutable_graph()->add_initializer() = floats("lo", {-kInf});
  *model.mutable_graph()->add_initializer() = floats("hi", {kInf});
  EXPECT_EQ(guard(model), "");
  model.mutable_graph()->mutable_initializer(1)->set_float_data(0, kNaN);
  EXPECT_THAT(guard(model), HasSubstr("initializer 'hi' holds NaN at index 0"));
  // Pad's value: -inf pads for a max-pool.
  model = parse("g (float[1, 3] x) => (float[1, 5] y) "
                "{ y = Pad <mode = \"constant\"> (x, p, v) }");
  onnx::TensorProto pads;
  pads.set_name("p");
  pads.set_data_type(onnx::TensorProto::INT64);
  pads.add_dims(4);
  for (int64_t value : {0, 1, 0, 1})
    pads.add_int64_data(value);
  *model.mutable_graph()->add_initializer() = pads;
  onnx::TensorProto value = floats("v", {-kInf});
  value.clear_dims();
  *model.mutable_graph()->add_initializer() = value;
  EXPECT_EQ(guard(model), "");
  // A Constant node feeding a Clip bound.
  model = parse("g (float[1, 3] x) => (float[1, 3] y) "
                "{ hi = Constant <value_float = 1.0> () y = Clip (x, , hi) }");
  model.mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_f(kInf);
  EXPECT_EQ(guard(model), "");
}

TEST(ModelGuardsTest, NonFiniteAttributes) {
  onnx::ModelProto model = parse("g (float[1, 3] x) => (float[1, 3] y) "
                                 "{ y = LeakyRelu <alpha = 0.1> (x) }");
  model.mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_f(kNaN);
  EXPECT_EQ(guard(model), "node producing 'y' (LeakyRelu): attribute 'alpha' "
                          "is NaN: give a finite value");
  model = parse("g (float[1, 2] x) => (float[1, 2] y) "
                "{ c = Constant <value_floats = [1.0, 2.0]> () "
                "y = Add (x, c) }");
  model.mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_floats(
      1, -kInf);
  EXPECT_EQ(guard(model), "node producing 'c' (Constant): attribute "
                          "'value_floats' is -inf at index 1: give a finite "
                          "value");
  model = parse("g (float[1, 2] x) => (float[1, 2] y) "
                "{ c = Constant <value = float[2] {1.0, 2.0}> () "
                "y = Add (x, c) }");
  model.mutable_graph()
      ->mutable_node(0)
      ->mutable_attribute(0)
      ->mutable_t()
      ->set_float_data(1, kNaN);
  EXPECT_THAT(guard(model),
              HasSubstr("node producing 'c' (Constant): attribute 'value' "
                        "holds NaN at index 1: a chip computes nothing"));
  // Clip-6 keeps its bounds in attributes: infinite ones are no bounds.
  model = parse("g (float[1, 3] x) => (float[1, 3] y) "
                "{ y = LeakyRelu <alpha = 0.1> (x) }");
  onnx::NodeProto &clip = *model.mutable_graph()->mutable_node(0);
  clip.set_op_type("Clip");
  clip.mutable_attribute(0)->set_name("min");
  clip.mutable_attribute(0)->set_f(-kInf);
  EXPECT_EQ(guard(model), "");
}

TEST(ModelGuardsTest, BatchNormVariance) {
  auto batchNorm = [](float variance, const std::string &epsilon) {
    onnx::ModelProto model = parse("g (float[1, 2, 4] x) => (float[1, 2, 4] y) "
                                   "{ y = BatchNormalization " +
                                   epsilon + " (x, s, b, m, v) }");
    for (const char *name : {"s", "b", "m"})
      *model.mutable_graph()->add_initializer() = floats(name, {1, 1});
    *model.mutable_graph()->add_initializer() = floats("v", {1, variance});
    return guard(model);
  };
  EXPECT_EQ(batchNorm(0, ""), "");
  EXPECT_EQ(batchNorm(-1, ""),
            "node producing 'y' (BatchNormalization): its variance 'v' holds "
            "-1 at index 1, and with epsilon 1e-05 the batch norm divides by "
            "the square root of -0.99999; a variance is never negative: fix "
            "the model");
  EXPECT_THAT(batchNorm(0, "<epsilon = 0.0>"),
              HasSubstr("its variance 'v' holds 0 at index 1, and with "
                        "epsilon 0 the batch norm divides by the square root "
                        "of 0"));
}

TEST(ModelGuardsTest, NamesBecomeValidUtf8) {
  onnx::ModelProto model =
      parse("g (float[1, 4] x) => (float[1, 4] y) { y = Relu (x) }");
  auto &graph = *model.mutable_graph();
  for (std::string *name : {graph.mutable_input(0)->mutable_name(),
                            graph.mutable_node(0)->mutable_input(0)})
    *name = "x\xff";
  graph.mutable_node(0)->set_name("relu\xc3");
  ASSERT_EQ(guardOnnxModel(model), std::nullopt);
  EXPECT_EQ(graph.input(0).name(), "x\\xff");
  EXPECT_EQ(graph.node(0).input(0), "x\\xff");
  EXPECT_EQ(graph.node(0).name(), "relu\\xc3");
  EXPECT_EQ(graph.output(0).name(), "y");
}

TEST(ModelGuardsTest, ConvolutionWeightRankDuringInference) {
  guardOnnxShapeInference();
  guardOnnxShapeInference(); // idempotent: wrapped once
  // The weight's shape is only known to inference (behind an Identity).
  onnx::ModelProto model = parse(
      "g (float[1, 4, 16] x, float[2, 4, 3, 3] w) => (float[1, 2, 16] y)"
      " { v = Identity (w) y = Conv <auto_pad = \"SAME_LOWER\"> (x, v) }");
  onnx::ShapeInferenceOptions options(true, 1, true);
  try {
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(), options);
    ADD_FAILURE() << "shape inference accepted the model";
  } catch (const std::exception &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "the weight has rank 4, the input 3; a convolution's weight "
                  "has the input's rank"),
              std::string::npos)
        << e.what();
  }
  for (const char *op : {"Conv", "ConvTranspose"}) {
    onnx::ModelProto good =
        parse(std::string("g (float[1, 4, 8, 8] x, float[4, 4, 3, 3] w) => "
                          "(float[1, 4, 6, 6] y) { y = ") +
              op + " (x, w) }");
    if (std::string(op) == "ConvTranspose")
      good.mutable_graph()
          ->mutable_output(0)
          ->mutable_type()
          ->mutable_tensor_type()
          ->clear_shape();
    EXPECT_NO_THROW(onnx::shape_inference::InferShapes(
        good, onnx::OpSchemaRegistry::Instance(), options))
        << op;
  }
}

TEST(ModelGuardsTest, InferredSizes) {
  onnx::ModelProto model =
      parse("g (float[1, 4] x) => (float[1, 4] y) { y = Relu (x) }");
  onnx::ValueInfoProto *value = model.mutable_graph()->add_value_info();
  value->set_name("y");
  auto *shape = value->mutable_type()->mutable_tensor_type()->mutable_shape();
  shape->add_dim()->set_dim_value(int64_t{1} << 32);
  EXPECT_EQ(checkInferredSizes(model.graph()).value_or(""),
            "tensor 'y' (computed by node producing 'y') has more than "
            "2147483648 elements, the most a tensor may have");
}

} // namespace
} // namespace hafnia
