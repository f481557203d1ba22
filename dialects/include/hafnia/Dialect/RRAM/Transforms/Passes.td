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

    Error-aware placement: when the chip's arrays differ in quality
    (`array-ber-multipliers`, one per array: each array's bit-error rate
    relative to the device model's; `bad-arrays`: arrays to leave unused,
    both from the chip preset's `array_ber_multiplier` and `bad_arrays`),
    the tiles most sensitive to bit errors go on the arrays of the lowest
    multipliers (ties: the lower index), and no tile goes on a bad array.
    A tile's sensitivity comes from `sensitivity-report` (the JSON of
    `hafnia-sim --sensitivity --report=FILE.json`): its array's agreement
    drop when the report ran the layer's arrays one by one (the k-th tile of
    a layer in program order is the report's k-th array of that layer), else
    its layer's agreement drop shared among the layer's tiles. Without a
    report, the heuristic: fewest inputs per neuron first (a flipped weight
    moves a neuron's popcount by 2 of its fan-in), ties in program order.
    Without quality information, or with `placement=in-order`, tiles take
    arrays 0, 1, 2, ... in program order, as above.
  }];
  let options = [
    Option<"placement", "placement", "std::string", "\"error-aware\"",
           "How tiles are placed on arrays: error-aware (by sensitivity on "
           "the best arrays, bad arrays unused) or in-order (arrays 0, 1, "
           "... whatever their quality)">,
    ListOption<"arrayBerMultipliers", "array-ber-multipliers", "double",
               "Each array's bit-error rate relative to the device model's, "
               "one per array (empty: all alike)">,
    ListOption<"badArrays", "bad-arrays", "int64_t",
               "Arrays to leave unused">,
    Option<"sensitivityReport", "sensitivity-report", "std::string", "\"\"",
           "A sensitivity report (hafnia-sim --sensitivity --report) ranking "
           "the layers and arrays; without it, fewest inputs per neuron "
           "first">,
  ];
}

#endif // HAFNIA_DIALECT_RRAM_TRANSFORMS_PASSES_TD
