// RUN: hafnia-opt %s -split-input-file -verify-diagnostics

func.func @no_target() {
  // expected-error @+1 {{needs the chip: an 'rram.target' attribute on the enclosing module}}
  %t = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
  return
}

// -----

// expected-error @+1 {{expects real_bits of 32 (float) or 8 (int8), got 16}}
module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 16>} {
}

// -----

// expected-error @+1 {{'rram.target' must be a #rram.target on a module}}
func.func @target_on_function() attributes {rram.target = 3 : i64} {
  return
}

// -----

module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @image_shape() {
    // expected-error @+1 {{expects an image (the whole array) of shape 2x4, got 4x2}}
    %t = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<4x2xi1>, layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    return
  }
}

// -----

module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @rows_used() {
    // expected-error @+1 {{uses 3 rows and 4 columns of an array of 2x4}}
    %t = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "fc", row_tile = 0 : i64, rows_used = 3 : i64} : !rram.tile
    return
  }
}

// -----

module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @array_index() {
    // expected-error @+1 {{is placed on array 8, but the chip has 8 arrays}}
    %t = rram.tile {array = 8 : i64, column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    return
  }
}

// -----

module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @read_width(%t: !rram.tile, %x: tensor<1x3xi1>) {
    // expected-error @+1 {{expects B x 4 input bits (one per column), got 1x3}}
    %r = rram.xnor_read %t, %x : (!rram.tile, tensor<1x3xi1>) -> tensor<1x2xi32>
    return
  }
}

// -----

module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @read_rows(%t: !rram.tile, %x: tensor<1x4xi1>) {
    // expected-error @+1 {{expects a result of shape 1x2, got 1x3}}
    %r = rram.xnor_read %t, %x : (!rram.tile, tensor<1x4xi1>) -> tensor<1x3xi32>
    return
  }
}

// -----

module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @slice_offset(%x: tensor<1x5xi1>) {
    // expected-error @+1 {{slices from column 5 of an input of 5}}
    %s = rram.input_slice %x {offset = 5 : i64} : tensor<1x5xi1> -> tensor<1x4xi1>
    return
  }
}

// -----

func.func @correction(%p: tensor<1x2xi32>) {
  // expected-error @+1 {{expects a correction <= 0 (minus the padded columns), got 3}}
  %a = rram.accumulate %p {correction = 3 : i64} : tensor<1x2xi32>
  return
}

// -----

module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @collect_outputs(%p: tensor<1x2xi32>) {
    // expected-error @+1 {{gathers 3 outputs of 1 rows into 1x4}}
    %y = rram.collect %p, %p {rows_used = array<i64: 2, 1>} : (tensor<1x2xi32>, tensor<1x2xi32>) -> tensor<1x4xi32>
    return
  }
}

// -----

func.func @im2col_channels(%x: tensor<1x2x5xi1>) {
  // expected-error @+1 {{reads channels 1 to 3 of 2}}
  %f = rram.im2col %x {channel_offset = 1 : i64, channels = 2 : i64, dilations = array<i64: 1>, kernel_shape = array<i64: 3>, strides = array<i64: 1>} : tensor<1x2x5xi1> -> tensor<3x6xi1>
  return
}

// -----

func.func @im2col_result(%x: tensor<1x2x5xi1>) {
  // expected-error @+1 {{expects a result of shape 3x6, got 3x5}}
  %f = rram.im2col %x {channel_offset = 0 : i64, channels = 2 : i64, dilations = array<i64: 1>, kernel_shape = array<i64: 3>, strides = array<i64: 1>} : tensor<1x2x5xi1> -> tensor<3x5xi1>
  return
}
