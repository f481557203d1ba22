//===- Tiling.cpp - Weight matrices cut into array tiles ------------------===//

#include "hafnia/Dialect/RRAM/IR/Tiling.h"

#include "hafnia/runtime/WindowArithmetic.h"

using namespace hafnia;
using namespace hafnia::rram;

TileGrid hafnia::rram::getTileGrid(int64_t outputs, int64_t fanIn, int64_t rows,
                                   int64_t columns) {
  TileGrid grid;
  grid.rowTiles = TileCount(outputs, rows);
  grid.columnTiles = TileCount(fanIn, columns);
  grid.paddedColumns = PaddedColumns(fanIn, columns);
  return grid;
}

llvm::SmallVector<bool>
hafnia::rram::getTileImage(llvm::ArrayRef<bool> weights, int64_t outputs,
                           int64_t fanIn, int64_t rows, int64_t columns,
                           int64_t rowTile, int64_t columnTile) {
  llvm::SmallVector<bool> image(rows * columns, true);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t neuron = rowTile * rows + r;
    if (neuron >= outputs)
      break;
    for (int64_t c = 0; c < columns; ++c) {
      int64_t input = columnTile * columns + c;
      if (input >= fanIn)
        break;
      image[r * columns + c] = weights[neuron * fanIn + input];
    }
  }
  return image;
}

llvm::SmallVector<bool> hafnia::rram::getInputSlice(llvm::ArrayRef<bool> input,
                                                    int64_t columns,
                                                    int64_t columnTile) {
  llvm::SmallVector<bool> slice(columns, true);
  for (int64_t c = 0; c < columns; ++c) {
    int64_t index = columnTile * columns + c;
    if (index >= static_cast<int64_t>(input.size()))
      break;
    slice[c] = input[index];
  }
  return slice;
}

int64_t hafnia::rram::readRow(llvm::ArrayRef<bool> image, int64_t columns,
                              int64_t row, llvm::ArrayRef<bool> slice) {
  int64_t popcount = 0;
  for (int64_t c = 0; c < columns; ++c)
    popcount += image[row * columns + c] == slice[c];
  return popcount;
}
