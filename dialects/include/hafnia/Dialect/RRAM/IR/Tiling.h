//===- Tiling.h - Weight matrices cut into array tiles ----------*- C++ -*-===//
//
// The geometry of mapping a binary layer (M neurons x K inputs) onto arrays of
// R rows x C columns, free of MLIR so that unit tests can check that tiled
// popcounts equal untiled ones. convert-bnn-to-rram builds its tiles with
// these functions and the simulator reads them the same way.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_DIALECT_RRAM_IR_TILING_H
#define HAFNIA_DIALECT_RRAM_IR_TILING_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>

namespace hafnia::rram {

/// How an M x K weight matrix splits into R x C tiles.
struct TileGrid {
  int64_t rowTiles = 0;      // ceil(M / R): blocks of neurons
  int64_t columnTiles = 0;   // ceil(K / C): blocks of inputs
  int64_t paddedColumns = 0; // columnTiles * C - K: unused columns per neuron
  int64_t arrays() const { return rowTiles * columnTiles; }
};

TileGrid getTileGrid(int64_t outputs, int64_t fanIn, int64_t rows,
                     int64_t columns);

/// The R x C image (row-major, true for +1) of tile (rowTile, columnTile) of
/// the `outputs x fanIn` row-major `weights`. Cells outside the matrix hold
/// +1: an unused column then reads a +1 input and adds exactly one to the
/// popcount of every row, which the accumulator takes back.
llvm::SmallVector<bool> getTileImage(llvm::ArrayRef<bool> weights,
                                     int64_t outputs, int64_t fanIn,
                                     int64_t rows, int64_t columns,
                                     int64_t rowTile, int64_t columnTile);

/// The C input bits driven for `columnTile`; past the end of `input`, +1.
llvm::SmallVector<bool> getInputSlice(llvm::ArrayRef<bool> input,
                                      int64_t columns, int64_t columnTile);

/// One word-line read: the popcount of XNOR(row `row` of `image`, `slice`).
int64_t readRow(llvm::ArrayRef<bool> image, int64_t columns, int64_t row,
                llvm::ArrayRef<bool> slice);

} // namespace hafnia::rram

#endif // HAFNIA_DIALECT_RRAM_IR_TILING_H
