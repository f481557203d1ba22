//===- RRAMOps.td - Operations of the rram dialect ---------*- tablegen -*-===//

#ifndef HAFNIA_DIALECT_RRAM_IR_RRAMOPS_TD
#define HAFNIA_DIALECT_RRAM_IR_RRAMOPS_TD

include "hafnia/Dialect/RRAM/IR/RRAMDialect.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def RRAM_TileOp : RRAM_Op<"tile", [Pure]> {
  let summary = "Program one array with a tile of a layer's binary weights";
  let description = [{
    `image` is the whole array, `rows x columns` of the target: row `r`,
    column `c` holds the weight of neuron `row_tile * rows + r` for input
    `column_tile * columns + c` (1 for +1). Cells beyond the layer's
    neurons or inputs (`rows_used`, `columns_used`) hold +1: an unused
    column reads a +1 input, so it adds exactly 1 to every row's popcount,
    which `rram.accumulate` takes back. `array` is the physical array,
    assigned by `rram-allocate-arrays`.

    ```mlir
    %t = rram.tile {array = 0 : i64, column_tile = 0 : i64, columns_used = 3 : i64,
                    image = dense<true> : tensor<32x32xi1>, layer = "fc",
                    row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    ```
  }];
  let arguments = (ins ElementsAttr:$image, StrAttr:$layer, I64Attr:$row_tile,
                   I64Attr:$column_tile, I64Attr:$rows_used,
                   I64Attr:$columns_used, OptionalAttr<I64Attr>:$array);
  let results = (outs RRAM_TileType:$tile);
  let assemblyFormat = "attr-dict `:` type($tile)";
  let hasVerifier = 1;
}

def RRAM_Im2colOp : RRAM_Op<"im2col", [Pure]> {
  let summary = "Gather the receptive fields of a convolution (digital)";
  let description = [{
    Turns a binary convolution into a dense layer over its receptive fields:
    row `n * P + p` of the result holds the input bits that output position
    `p` of sample `n` sees, for the `channels` input channels from
    `channel_offset` (one group), channel-major then kernel position, as
    the weights of a filter are laid out. `P` is the number of output
    positions. With `pads` (all begins, then all ends), the positions in the
    padding read +1 (-1 with `pads_read_minus_one`); after a zero padding the
    ops after the arrays correct the border positions.

    ```mlir
    %r = rram.im2col %x {channel_offset = 0 : i64, channels = 2 : i64,
                         dilations = array<i64: 1>, kernel_shape = array<i64: 3>,
                         strides = array<i64: 1>}
        : tensor<1x2x8xi1> -> tensor<6x6xi1>
    ```
  }];
  let arguments = (ins RRAM_BitTensor:$input, DenseI64ArrayAttr:$kernel_shape,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                   I64Attr:$channel_offset, I64Attr:$channels,
                   OptionalAttr<DenseI64ArrayAttr>:$pads,
                   UnitAttr:$pads_read_minus_one);
  let results = (outs RRAM_BitTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def RRAM_InputSliceOp : RRAM_Op<"input_slice", [Pure]> {
  let summary = "The input bits one column tile reads, padded with +1";
  let description = [{
    Columns `offset` to `offset + columns` of a `B x K` bit matrix, as
    driven on an array's bit lines; columns past `K` read +1.

    ```mlir
    %s = rram.input_slice %x {offset = 32 : i64} : tensor<1x33xi1> -> tensor<1x32xi1>
    ```
  }];
  let arguments = (ins RRAM_BitTensor:$input, I64Attr:$offset);
  let results = (outs RRAM_BitTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def RRAM_XnorReadOp : RRAM_Op<"xnor_read", [Pure]> {
  let summary = "Read every row of an array with XNOR against an input slice";
  let description = [{
    For each of the `B` input slices and each of the array's `rows` rows,
    the popcount of `XNOR(row weights, slice)` over the `columns` columns:
    one word-line activation per row, popcount logic per array.

    ```mlir
    %p = rram.xnor_read %t, %s : (!rram.tile, tensor<1x32xi1>) -> tensor<1x32xi32>
    ```
  }];
  let arguments = (ins RRAM_TileType:$tile, RRAM_BitTensor:$input);
  let results = (outs RRAM_PopcountTensor:$output);
  let assemblyFormat = [{
    $tile `,` $input attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def RRAM_AccumulateOp : RRAM_Op<"accumulate", [Pure, SameOperandsAndResultType]> {
  let summary = "Sum the partial popcounts of a neuron's column tiles (digital)";
  let description = [{
    `output = sum(partials) + correction`. The correction is minus the
    number of padded columns, each of which added one agreeing bit, so the
    result is exactly the popcount over the layer's real inputs.

    ```mlir
    %a = rram.accumulate %p0, %p1 {correction = -31 : i64} : tensor<1x32xi32>
    ```
  }];
  let arguments = (ins Variadic<RRAM_PopcountTensor>:$partials,
                   I64Attr:$correction);
  let results = (outs RRAM_PopcountTensor:$output);
  let assemblyFormat = "$partials attr-dict `:` type($output)";
  let hasVerifier = 1;
}

def RRAM_CollectOp : RRAM_Op<"collect", [Pure]> {
  let summary = "Join the row tiles of a layer into its popcount tensor";
  let description = [{
    Concatenates the first `rows_used[i]` rows of each row tile's `B x rows`
    popcounts into the layer's `M` outputs. A rank-2 result is `B x M`; for a
    convolution (result `N x M x spatial...`) the `B = N * P` rows are the
    output positions, and row `n * P + p` becomes `[n, :, p]`.

    ```mlir
    %y = rram.collect %a0, %a1 {rows_used = array<i64: 32, 1>}
        : (tensor<1x32xi32>, tensor<1x32xi32>) -> tensor<1x33xi32>
    ```
  }];
  let arguments = (ins Variadic<RRAM_PopcountTensor>:$row_tiles,
                   DenseI64ArrayAttr:$rows_used);
  let results = (outs RRAM_PopcountTensor:$output);
  let assemblyFormat = [{
    $row_tiles attr-dict `:` functional-type($row_tiles, results)
  }];
  let hasVerifier = 1;
}

#endif // HAFNIA_DIALECT_RRAM_IR_RRAMOPS_TD
