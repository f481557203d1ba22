//===- TilingTest.cpp - Tiled popcounts equal untiled ones ----------------===//
//
// A binary layer cut into R x C array tiles, read row by row against padded
// input slices, with the partial popcounts summed and the padded columns
// taken back, must give exactly the popcount of the whole weight row.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Dialect/RRAM/IR/Tiling.h"

#include "gtest/gtest.h"

#include <random>
#include <vector>

using namespace hafnia::rram;

namespace {

struct Geometry {
  int64_t outputs, fanIn, rows, columns;
};

void checkTiledEqualsUntiled(const Geometry &g, std::mt19937 &random) {
  std::bernoulli_distribution coin(0.5);
  llvm::SmallVector<bool> weights(g.outputs * g.fanIn), input(g.fanIn);
  for (auto &&bit : weights)
    bit = coin(random);
  for (auto &&bit : input)
    bit = coin(random);

  TileGrid grid = getTileGrid(g.outputs, g.fanIn, g.rows, g.columns);
  EXPECT_EQ(grid.rowTiles, (g.outputs + g.rows - 1) / g.rows);
  EXPECT_GE(grid.columnTiles * g.columns, g.fanIn);
  EXPECT_LT(grid.paddedColumns, g.columns);

  std::vector<int64_t> tiled(grid.rowTiles * g.rows, -grid.paddedColumns);
  for (int64_t c = 0; c < grid.columnTiles; ++c) {
    llvm::SmallVector<bool> slice = getInputSlice(input, g.columns, c);
    for (int64_t r = 0; r < grid.rowTiles; ++r) {
      llvm::SmallVector<bool> image =
          getTileImage(weights, g.outputs, g.fanIn, g.rows, g.columns, r, c);
      for (int64_t row = 0; row < g.rows; ++row)
        tiled[r * g.rows + row] += readRow(image, g.columns, row, slice);
    }
  }
  for (int64_t m = 0; m < g.outputs; ++m) {
    int64_t untiled = 0;
    for (int64_t k = 0; k < g.fanIn; ++k)
      untiled += weights[m * g.fanIn + k] == input[k];
    ASSERT_EQ(tiled[m], untiled)
        << "neuron " << m << " of " << g.outputs << " x " << g.fanIn << " on "
        << g.rows << " x " << g.columns << " arrays";
  }
}

TEST(Tiling, OddSizes) {
  std::mt19937 random(4);
  for (int64_t fanIn : {1, 33, 5152})
    for (int64_t outputs : {1, 2, 1000})
      for (auto [rows, columns] :
           {std::pair<int64_t, int64_t>{32, 32}, {64, 16}, {128, 128}})
        checkTiledEqualsUntiled({outputs, fanIn, rows, columns}, random);
}

TEST(Tiling, RandomSizes) {
  std::mt19937 random(2020);
  std::uniform_int_distribution<int64_t> size(1, 300), side(1, 70);
  for (int trial = 0; trial < 200; ++trial)
    checkTiledEqualsUntiled(
        {size(random), size(random), side(random), side(random)}, random);
}

TEST(Tiling, GridOfThePaperClassifiers) {
  // MobileNet's two-layer binarized classifier on 32 x 32 arrays.
  EXPECT_EQ(getTileGrid(2816, 1024, 32, 32).arrays(), 2816);
  EXPECT_EQ(getTileGrid(1000, 2816, 32, 32).arrays(), 2816);
  // ECG's first classifier layer: 5152 = 161 x 32 inputs, no padding.
  TileGrid ecg = getTileGrid(75, 5152, 32, 32);
  EXPECT_EQ(ecg.rowTiles, 3);
  EXPECT_EQ(ecg.columnTiles, 161);
  EXPECT_EQ(ecg.paddedColumns, 0);
}

} // namespace
