//===- OnnxExportTest.cpp - Programs as ONNX models -----------------------===//

#include "hafnia/Target/OnnxExport.h"
#include "hafnia/Import/OnnxModelLoader.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Program.h"

#include <gtest/gtest.h>

namespace hafnia {
namespace {

/// A program of one reduction of a [2, 3] input over `axes`.
Program reduction(std::vector<int64_t> axes, std::vector<int64_t> result) {
  Program program;
  program.set_format_version(kProgramFormatVersion);
  absl::StatusOr<ChipConfig> chip = LoadChipConfig("default");
  EXPECT_TRUE(chip.ok()) << chip.status();
  *program.mutable_chip() = *chip;
  Buffer *x = program.add_buffers();
  x->add_shape(2);
  x->add_shape(3);
  x->set_type(F32);
  Buffer *y = program.add_buffers();
  for (int64_t dim : result)
    y->add_shape(dim);
  y->set_type(F32);
  TensorBinding *input = program.add_inputs();
  input->set_name("x");
  input->set_buffer(0);
  TensorBinding *output = program.add_outputs();
  output->set_name("y");
  output->set_buffer(1);
  Instruction *sum = program.add_instructions();
  sum->set_layer("/sum");
  sum->add_inputs(0);
  sum->set_output(1);
  sum->mutable_reduce()->set_kind(Instruction::Reduce::SUM);
  for (int64_t axis : axes)
    sum->mutable_reduce()->add_axes(axis);
  sum->mutable_reduce()->set_keepdims(true);
  return program;
}

TEST(OnnxExport, ReductionOverAxes) {
  onnx::ModelProto model;
  ASSERT_EQ(exportProgramToOnnx(reduction({1}, {2, 1}), model), std::nullopt);
  EXPECT_EQ(checkOnnxModel(model), std::nullopt);
  ASSERT_EQ(model.opset_import_size(), 1);
  EXPECT_EQ(model.opset_import(0).domain(), "");
  EXPECT_EQ(model.opset_import(0).version(), 17);
  const onnx::GraphProto &graph = model.graph();
  ASSERT_EQ(graph.node_size(), 1);
  EXPECT_EQ(graph.node(0).op_type(), "ReduceSum");
  EXPECT_EQ(graph.node(0).output(0), "y");
  EXPECT_EQ(graph.input(0).name(), "x");
  EXPECT_EQ(graph.output(0).name(), "y");
}

// The program reduces over no axes, ONNX over all of them then: no
// translation, and the error names the instruction and its layer.
TEST(OnnxExport, UntranslatableInstructionIsOneLine) {
  onnx::ModelProto model;
  std::optional<std::string> error =
      exportProgramToOnnx(reduction({}, {2, 3}), model);
  ASSERT_NE(error, std::nullopt);
  EXPECT_EQ(*error, "instruction 0 (reduce) of layer '/sum' has no ONNX "
                    "translation: a reduction over no axes");
}

TEST(OnnxExport, InvalidProgramIsRefused) {
  Program program = reduction({1}, {2, 1});
  program.mutable_instructions(0)->set_output(7);
  onnx::ModelProto model;
  std::optional<std::string> error = exportProgramToOnnx(program, model);
  ASSERT_NE(error, std::nullopt);
  EXPECT_EQ(error->rfind("the program is invalid: ", 0), 0u) << *error;
  EXPECT_EQ(error->find('\n'), std::string::npos);
}

} // namespace
} // namespace hafnia
