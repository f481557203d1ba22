// Simulator::Create validates the program it is given: a program built or
// damaged in memory (as a Python binding could hand over) is an error naming
// what is wrong, never an out-of-bounds read. The tiled layers the emitter
// records are checked against the arrays and instructions they describe.

#include <random>
#include <string>
#include <vector>

#include "DenseProgram.h"
#include "absl/strings/str_cat.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

using ::testing::HasSubstr;

// One binary dense layer of 5 neurons over 40 inputs on 4 x 32 arrays:
// 2 row tiles x 2 column tiles, 24 padded columns. Instructions: 0 binarize,
// 1-2 input slices, 3-4 reads, 5 accumulate, 6-7 reads, 8 accumulate,
// 9 collect, 10 popcount affine.
class SimulatorCreateTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::mt19937 random(1);
    program_ = DenseProgram(1, 5, 40, 4, 32, random).program();
    ASSERT_EQ(program_.tiled_layers_size(), 1);
    ASSERT_TRUE(Simulator::Create(program_).ok());
  }
  // The error Create gives for program_.
  std::string CreateError() {
    absl::StatusOr<std::unique_ptr<Simulator>> simulator =
        Simulator::Create(program_);
    EXPECT_FALSE(simulator.ok());
    return simulator.ok() ? "" : std::string(simulator.status().message());
  }
  TiledLayer &layer() { return *program_.mutable_tiled_layers(0); }
  TiledLayer::Tile &tile(int row, int column) {
    return *layer().mutable_row_tiles(row)->mutable_tiles(column);
  }
  Program program_;
};

TEST_F(SimulatorCreateTest, RefusesAnInstructionReadingABufferOutOfRange) {
  program_.mutable_instructions(3)->set_inputs(0, 999);
  EXPECT_THAT(CreateError(), HasSubstr("instruction 3 (layer 'fc') reads "
                                       "buffer 999"));
}

TEST_F(SimulatorCreateTest, RefusesAnArrayTheProgramDoesNotProgram) {
  program_.mutable_instructions(3)->mutable_xnor_read()->set_array(77);
  EXPECT_THAT(CreateError(), HasSubstr("reads array 77, which the program "
                                       "does not program"));
}

TEST_F(SimulatorCreateTest, RefusesAProgramWithoutAFormatVersion) {
  program_.clear_format_version();
  EXPECT_THAT(CreateError(), HasSubstr("program format version 0"));
}

TEST_F(SimulatorCreateTest, RefusesATiledLayerNamingAnotherArray) {
  tile(0, 0).set_array(77);
  EXPECT_EQ(CreateError(), "tiled layer 0 ('fc'): row_tiles[0].tiles[0].array "
                           "77 is not array 0 that instruction 3 reads");
}

TEST_F(SimulatorCreateTest, RefusesATiledLayerOutOfRange) {
  layer().set_collect(1000);
  EXPECT_THAT(CreateError(),
              HasSubstr("tiled layer 0 ('fc'): collect 1000 is not a collect "
                        "instruction"));
  SetUp();
  layer().set_collect(10);
  EXPECT_THAT(CreateError(), HasSubstr("collect 10 is not a collect"));
  SetUp();
  layer().set_source(999);
  EXPECT_THAT(CreateError(), HasSubstr("source 999 is not one of"));
  SetUp();
  layer().set_first_instruction(12);
  EXPECT_THAT(CreateError(), HasSubstr("first_instruction 12"));
}

TEST_F(SimulatorCreateTest, RefusesATiledLayerWhoseSourceIsNotItsInput) {
  // The popcounts of the first row tile are not B x fan_in bits.
  layer().set_source(program_.instructions(5).output());
  EXPECT_THAT(CreateError(), HasSubstr("is not B x fan_in (40) bits"));
  SetUp();
  layer().set_fan_in(41);
  EXPECT_THAT(CreateError(), HasSubstr("is not B x fan_in (41) bits"));
}

TEST_F(SimulatorCreateTest, RefusesTilesThatDoNotCoverTheLayer) {
  tile(1, 1).set_column_tile(0);
  EXPECT_THAT(CreateError(), HasSubstr("row_tiles[1].tiles[1].column_tile 0 "
                                       "is not a column tile of 2 not yet "
                                       "read"));
  SetUp();
  tile(0, 1).set_column_tile(2);
  EXPECT_THAT(CreateError(), HasSubstr("column_tile 2"));
  SetUp();
  // Tiles swapped: each names the array the other column tile's read reads.
  std::swap(tile(0, 0), tile(0, 1));
  EXPECT_THAT(CreateError(), HasSubstr("row_tiles[0].tiles[0].array"));
  SetUp();
  layer().mutable_row_tiles(0)->mutable_tiles()->RemoveLast();
  EXPECT_THAT(CreateError(), HasSubstr("row_tiles[0] has 1 tiles and sums 2, "
                                       "the layer has 2 column tiles"));
  SetUp();
  layer().mutable_row_tiles()->RemoveLast();
  EXPECT_THAT(CreateError(), HasSubstr("has 1 row_tiles, its collect joins 2"));
}

TEST_F(SimulatorCreateTest, RefusesAWrongCorrectionOrRowCount) {
  layer().set_correction(0);
  EXPECT_THAT(CreateError(), HasSubstr("correction 0 is not minus the 24 "
                                       "padded columns"));
  SetUp();
  layer().mutable_row_tiles(1)->set_rows_used(4);
  EXPECT_THAT(CreateError(), HasSubstr("row_tiles[1].rows_used 4 is not its "
                                       "collect's 1"));
  SetUp();
  layer().set_outputs(8);
  EXPECT_THAT(CreateError(), HasSubstr("outputs 8 is not the row tiles' 5"));
  SetUp();
  program_.mutable_instructions(8)->mutable_accumulate()->set_correction(-23);
  EXPECT_THAT(CreateError(), HasSubstr("row_tiles[1]: instruction 8 has "
                                       "correction -23, the layer -24"));
}

TEST_F(SimulatorCreateTest, RefusesARangeWithOtherInstructions) {
  // The binarize that computes the source is not the layer's.
  layer().set_first_instruction(0);
  EXPECT_THAT(CreateError(), HasSubstr("source 1 is not B x fan_in (40) bits "
                                       "computed before the layer"));
  SetUp();
  // An instruction of another layer among the layer's: a copy of the bits,
  // moved to just after the binarize.
  uint32_t bits = program_.instructions(0).output();
  *program_.add_buffers() = program_.buffers(bits);
  Instruction *copy = program_.add_instructions();
  copy->set_layer("other");
  copy->add_inputs(bits);
  copy->set_output(program_.buffers_size() - 1);
  copy->mutable_reshape();
  for (int i = program_.instructions_size() - 1; i > 1; --i)
    program_.mutable_instructions()->SwapElements(i, i - 1);
  layer().set_collect(10);
  EXPECT_THAT(CreateError(), HasSubstr("instructions 1 to 10 hold 1 that are "
                                       "not the layer's"));
  SetUp();
  // The first slice is outside the range.
  layer().set_first_instruction(2);
  EXPECT_THAT(CreateError(), HasSubstr("row_tiles[0].tiles[0] does not read "
                                       "column tile 0 of the source"));
  SetUp();
  *program_.add_tiled_layers() = program_.tiled_layers(0);
  EXPECT_THAT(CreateError(),
              HasSubstr("tiled layer 1 ('fc'): first_instruction 1 is not "
                        "after the previous tiled layer"));
}

TEST_F(SimulatorCreateTest, RefusesResultsThatLeaveTheLayer) {
  // A sum after the layer of one of its partial popcounts: the runtime
  // computes the layer on whole rows and never has that partial.
  uint32_t partial = program_.instructions(3).output();
  Buffer *buffer = program_.add_buffers();
  *buffer = program_.buffers(partial);
  Instruction *sum = program_.add_instructions();
  sum->set_layer("spy");
  sum->add_inputs(partial);
  sum->set_output(program_.buffers_size() - 1);
  sum->mutable_accumulate();
  // Checked whether or not the simulator would use the record.
  EXPECT_FALSE(Simulator::Create(program_, {/*fuse_layers=*/false}).ok());
  EXPECT_EQ(CreateError(),
            absl::StrCat("tiled layer 0 ('fc'): instruction 11 reads buffer ",
                         partial,
                         " that instruction 3 computes inside the "
                         "layer"));
}

// Every tiled layer the validator accepts computes what its instructions
// compute: damaged at random, a record is refused or gives the same outputs
// and statistics as the run instruction by instruction.
TEST(TiledLayerRobustness, AcceptedRecordsComputeWhatTheirInstructionsDo) {
  std::mt19937 weights(3), random(17);
  DenseProgram dense(2, 40, 70, 16, 32, weights);
  const Program original = dense.program();
  Tensor x{{2, 70}, std::vector<float>(140)};
  std::normal_distribution<float> normal;
  for (float &v : x.data)
    v = normal(random);
  auto reference = [&](const Program &program) {
    auto tiled = Simulator::Create(program, {/*fuse_layers=*/false});
    EXPECT_TRUE(tiled.ok()) << tiled.status();
    SimulationStats stats;
    auto y = (*tiled)->Run({x}, &stats);
    EXPECT_TRUE(y.ok()) << y.status();
    return std::make_pair((*y)[0].data, stats.SerializeAsString());
  };
  const auto expected = reference(original);
  int refused = 0, accepted = 0;
  std::uniform_int_distribution<int> choice(0, 5);
  for (int trial = 0; trial < 300; ++trial) {
    Program program = original;
    TiledLayer &layer = *program.mutable_tiled_layers(0);
    auto pick = [&](int size) {
      return std::uniform_int_distribution<int>(0, size - 1)(random);
    };
    int64_t value = std::uniform_int_distribution<int64_t>(-3, 40)(random);
    TiledLayer::RowTile &row =
        *layer.mutable_row_tiles(pick(layer.row_tiles_size()));
    TiledLayer::Tile &tile = *row.mutable_tiles(pick(row.tiles_size()));
    switch (choice(random)) {
    case 0:
      tile.set_array(static_cast<uint32_t>(value));
      break;
    case 1:
      tile.set_column_tile(static_cast<uint32_t>(value));
      break;
    case 2:
      row.set_rows_used(value);
      break;
    case 3:
      layer.set_first_instruction(static_cast<uint32_t>(value));
      break;
    case 4:
      layer.set_source(static_cast<uint32_t>(value));
      break;
    default:
      layer.set_correction(value);
      break;
    }
    auto fused = Simulator::Create(program);
    if (!fused.ok()) {
      EXPECT_THAT(std::string(fused.status().message()),
                  HasSubstr("tiled layer 0 ('fc')"));
      ++refused;
      continue;
    }
    SimulationStats stats;
    auto y = (*fused)->Run({x}, &stats);
    ASSERT_TRUE(y.ok()) << y.status();
    EXPECT_EQ(std::make_pair((*y)[0].data, stats.SerializeAsString()),
              expected);
    ++accepted;
  }
  EXPECT_GT(refused, 200);
  EXPECT_GT(accepted, 0);
}

} // namespace
} // namespace hafnia
