//===- Passes.td - Conversions between Hafnia's dialects ---*- tablegen -*-===//

#ifndef HAFNIA_CONVERSION_PASSES_TD
#define HAFNIA_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertBNNToRRAMPass : Pass<"convert-bnn-to-rram", "::mlir::ModuleOp"> {
  let summary = "Tile binary layers onto the target's 2T2R arrays";
  let description = [{
    Every `bnn.xnor_dense` (M neurons x K inputs) becomes `ceil(M/R) x
    ceil(K/C)` array tiles of the module's `rram.target` (R x C): each
    column tile reads a slice of C input bits, each row tile's partial
    popcounts are summed digitally with the padded columns taken back, and
    the row tiles are collected into the layer's popcounts. A
    `bnn.xnor_conv` is the same dense layer over its receptive fields
    (`rram.im2col`), per group. Thresholds, popcount affines and the
    real-valued layers stay as they are: they run on the digital core.

    Before (target 32 x 32):
    ```mlir
    %p = bnn.xnor_dense %x, %w : (tensor<1x33xi1>, tensor<2x33xi1>) -> tensor<1x2xi32>
    ```
    After:
    ```mlir
    %s0 = rram.input_slice %x {offset = 0 : i64} : tensor<1x33xi1> -> tensor<1x32xi1>
    %s1 = rram.input_slice %x {offset = 32 : i64} : tensor<1x33xi1> -> tensor<1x32xi1>
    %t0 = rram.tile {column_tile = 0 : i64, columns_used = 32 : i64, image = ..., layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %r0 = rram.xnor_read %t0, %s0 : (!rram.tile, tensor<1x32xi1>) -> tensor<1x32xi32>
    %t1 = rram.tile {column_tile = 1 : i64, columns_used = 1 : i64, image = ..., layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %r1 = rram.xnor_read %t1, %s1 : (!rram.tile, tensor<1x32xi1>) -> tensor<1x32xi32>
    %a = rram.accumulate %r0, %r1 {correction = -31 : i64} : tensor<1x32xi32>
    %p = rram.collect %a {rows_used = array<i64: 2>} : (tensor<1x32xi32>) -> tensor<1x2xi32>
    ```
  }];
  let dependentDialects = ["::hafnia::rram::RRAMDialect"];
}

#endif // HAFNIA_CONVERSION_PASSES_TD
