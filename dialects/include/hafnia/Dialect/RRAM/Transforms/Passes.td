//===- Passes.td - Passes of the rram dialect --------------*- tablegen -*-===//

#ifndef HAFNIA_DIALECT_RRAM_TRANSFORMS_PASSES_TD
#define HAFNIA_DIALECT_RRAM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def AllocateArraysPass : Pass<"rram-allocate-arrays", "::mlir::ModuleOp"> {
  let summary = "Place tiles on physical arrays and check the chip's memory budget";
  let description = [{
    Gives every `rram.tile` a physical array, in program order, and checks
    that the model fits the module's `rram.target`: one array per tile, and
    digital memory for the real-valued parameters (at the target's
    precision) and the thresholds and popcount affines (4 bytes each). A
    model over budget is an error that says what it needs, what the chip
    has, which layers take the most, and whether binarizing more
    (`--binarize=classifier` or `all`) would make it fit.

    Before:
    ```mlir
    %t = rram.tile {column_tile = 0 : i64, columns_used = 3 : i64, image = ..., layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    ```
    After:
    ```mlir
    %t = rram.tile {array = 0 : i64, column_tile = 0 : i64, columns_used = 3 : i64, image = ..., layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    ```
  }];
}

#endif // HAFNIA_DIALECT_RRAM_TRANSFORMS_PASSES_TD
