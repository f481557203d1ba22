// RUN: hafnia-opt %s --convert-bnn-to-rram -split-input-file -verify-diagnostics | FileCheck %s

// 3 neurons x 5 inputs on 2 x 4 arrays: 2 row tiles x 2 column tiles. Cells
// beyond the weights hold +1, and the 3 padded columns of the last column
// tile, which read +1 inputs, are taken back by the accumulator.
module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 16, digital_memory_bytes = 1024, real_bits = 32>} {
  // CHECK-LABEL: func @padding
  func.func @padding(%x: tensor<1x5xi1>) -> tensor<1x3xi32> {
    // CHECK: %[[S0:.*]] = rram.input_slice %arg0 {offset = 0 : i64} : tensor<1x5xi1> -> tensor<1x4xi1>
    // CHECK: %[[S1:.*]] = rram.input_slice %arg0 {offset = 4 : i64} : tensor<1x5xi1> -> tensor<1x4xi1>
    // CHECK: %[[T00:.*]] = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<{{\[}}[true, false, true, true], [false, false, true, true]]> : tensor<2x4xi1>, layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    // CHECK: %[[R00:.*]] = rram.xnor_read %[[T00]], %[[S0]] : (!rram.tile, tensor<1x4xi1>) -> tensor<1x2xi32>
    // CHECK: %[[T01:.*]] = rram.tile {column_tile = 1 : i64, columns_used = 1 : i64, image = dense<{{\[}}[false, true, true, true], [true, true, true, true]]> : tensor<2x4xi1>, layer = "fc", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    // CHECK: %[[R01:.*]] = rram.xnor_read %[[T01]], %[[S1]]
    // CHECK: %[[A0:.*]] = rram.accumulate %[[R00]], %[[R01]] {correction = -3 : i64} : tensor<1x2xi32>
    // CHECK: rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<{{\[}}[false, true, false, true], [true, true, true, true]]> : tensor<2x4xi1>, layer = "fc", row_tile = 1 : i64, rows_used = 1 : i64}
    // CHECK: rram.tile {column_tile = 1 : i64, columns_used = 1 : i64, image = dense<true> : tensor<2x4xi1>, layer = "fc", row_tile = 1 : i64, rows_used = 1 : i64}
    // CHECK: %[[A1:.*]] = rram.accumulate %{{.*}}, %{{.*}} {correction = -3 : i64} : tensor<1x2xi32>
    // CHECK: %[[Y:.*]] = rram.collect %[[A0]], %[[A1]] {rows_used = array<i64: 2, 1>} : (tensor<1x2xi32>, tensor<1x2xi32>) -> tensor<1x3xi32>
    // CHECK: return %[[Y]]
    %w = bnn.constant dense<[[true, false, true, true, false], [false, false, true, true, true], [false, true, false, true, true]]> : tensor<3x5xi1>
    %p = bnn.xnor_dense %x, %w : (tensor<1x5xi1>, tensor<3x5xi1>) -> tensor<1x3xi32> loc("fc")
    return %p : tensor<1x3xi32>
  }
}

// -----

// Fan-in 33 on 32 x 32 arrays: one column of the second tile is used.
module attributes {rram.target = #rram.target<rows = 32, columns = 32, arrays = 4, digital_memory_bytes = 1024, real_bits = 32>} {
  // CHECK-LABEL: func @fan_in_33
  func.func @fan_in_33(%x: tensor<4x33xi1>) -> tensor<4x2xi32> {
    // CHECK-COUNT-2: rram.input_slice
    // CHECK: rram.tile {column_tile = 0 : i64, columns_used = 32 : i64, {{.*}} rows_used = 2 : i64}
    // CHECK: rram.tile {column_tile = 1 : i64, columns_used = 1 : i64, {{.*}} rows_used = 2 : i64}
    // CHECK: rram.accumulate %{{.*}}, %{{.*}} {correction = -31 : i64} : tensor<4x32xi32>
    // CHECK: rram.collect %{{.*}} {rows_used = array<i64: 2>} : (tensor<4x32xi32>) -> tensor<4x2xi32>
    %w = bnn.constant dense<true> : tensor<2x33xi1>
    %p = bnn.xnor_dense %x, %w : (tensor<4x33xi1>, tensor<2x33xi1>) -> tensor<4x2xi32>
    return %p : tensor<4x2xi32>
  }
}

// -----

// Fan-in 1 and 1000 outputs on 64 x 16 arrays: 16 row tiles, the last with
// 40 rows; each neuron has 15 padded columns.
module attributes {rram.target = #rram.target<rows = 64, columns = 16, arrays = 16, digital_memory_bytes = 1024, real_bits = 32>} {
  // CHECK-LABEL: func @fan_in_1
  func.func @fan_in_1(%x: tensor<1x1xi1>) -> tensor<1x1000xi32> {
    // CHECK-COUNT-1: rram.input_slice
    // CHECK-COUNT-16: rram.accumulate %{{.*}} {correction = -15 : i64} : tensor<1x64xi32>
    // CHECK: rram.collect {{.*}} {rows_used = array<i64: 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 40>}
    // CHECK-SAME: -> tensor<1x1000xi32>
    %w = bnn.constant dense<false> : tensor<1000x1xi1>
    %p = bnn.xnor_dense %x, %w : (tensor<1x1xi1>, tensor<1000x1xi1>) -> tensor<1x1000xi32>
    return %p : tensor<1x1000xi32>
  }
}

// -----

// The ECG classifier's fan-in, 5152, for one neuron on 128 x 128 arrays:
// 41 column tiles, 96 padded columns.
module attributes {rram.target = #rram.target<rows = 128, columns = 128, arrays = 64, digital_memory_bytes = 1024, real_bits = 32>} {
  // CHECK-LABEL: func @fan_in_5152
  func.func @fan_in_5152(%x: tensor<1x5152xi1>) -> tensor<1x1xi32> {
    // CHECK-COUNT-41: rram.xnor_read
    // CHECK: rram.accumulate {{.*}} {correction = -96 : i64} : tensor<1x128xi32>
    // CHECK: rram.collect %{{.*}} {rows_used = array<i64: 1>} : (tensor<1x128xi32>) -> tensor<1x1xi32>
    %w = bnn.constant dense<true> : tensor<1x5152xi1>
    %p = bnn.xnor_dense %x, %w : (tensor<1x5152xi1>, tensor<1x5152xi1>) -> tensor<1x1xi32>
    return %p : tensor<1x1xi32>
  }
}

// -----

// A grouped convolution: per group, a dense layer over receptive fields.
module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 16, digital_memory_bytes = 1024, real_bits = 32>} {
  // CHECK-LABEL: func @grouped_conv
  func.func @grouped_conv(%x: tensor<1x2x5xi1>) -> tensor<1x4x3xi32> {
    // CHECK: %[[F0:.*]] = rram.im2col %arg0 {channel_offset = 0 : i64, channels = 1 : i64, dilations = array<i64: 1>, kernel_shape = array<i64: 3>, strides = array<i64: 1>} : tensor<1x2x5xi1> -> tensor<3x3xi1>
    // CHECK: rram.input_slice %[[F0]] {offset = 0 : i64} : tensor<3x3xi1> -> tensor<3x4xi1>
    // CHECK: rram.tile {column_tile = 0 : i64, columns_used = 3 : i64, {{.*}} row_tile = 0 : i64, rows_used = 2 : i64}
    // CHECK: %[[A0:.*]] = rram.accumulate %{{.*}} {correction = -1 : i64} : tensor<3x2xi32>
    // CHECK: %[[F1:.*]] = rram.im2col %arg0 {channel_offset = 1 : i64, channels = 1 : i64
    // CHECK: rram.tile {column_tile = 0 : i64, columns_used = 3 : i64, {{.*}} row_tile = 1 : i64, rows_used = 2 : i64}
    // CHECK: %[[A1:.*]] = rram.accumulate %{{.*}} {correction = -1 : i64} : tensor<3x2xi32>
    // CHECK: rram.collect %[[A0]], %[[A1]] {rows_used = array<i64: 2, 2>} : (tensor<3x2xi32>, tensor<3x2xi32>) -> tensor<1x4x3xi32>
    %w = bnn.constant dense<true> : tensor<4x1x3xi1>
    %p = bnn.xnor_conv %x, %w {dilations = array<i64: 1>, group = 2 : i64, strides = array<i64: 1>} : (tensor<1x2x5xi1>, tensor<4x1x3xi1>) -> tensor<1x4x3xi32>
    return %p : tensor<1x4x3xi32>
  }
}

// -----

// A padded binary convolution: im2col takes its pads (the padding reads +1,
// or -1 with pads_read_minus_one), and the receptive fields grow to the
// padded output positions.
module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 16, digital_memory_bytes = 1024, real_bits = 32>} {
  // CHECK-LABEL: func @padded_conv
  func.func @padded_conv(%x: tensor<1x1x4xi1>) -> (tensor<1x2x4xi32>, tensor<1x2x5xi32>) {
    // CHECK: rram.im2col %arg0 {channel_offset = 0 : i64, channels = 1 : i64, dilations = array<i64: 1>, kernel_shape = array<i64: 3>, pads = array<i64: 1, 1>, strides = array<i64: 1>} : tensor<1x1x4xi1> -> tensor<4x3xi1>
    // CHECK: rram.im2col %arg0 {channel_offset = 0 : i64, channels = 1 : i64, dilations = array<i64: 1>, kernel_shape = array<i64: 3>, pads = array<i64: 2, 1>, pads_read_minus_one, strides = array<i64: 1>} : tensor<1x1x4xi1> -> tensor<5x3xi1>
    %w = bnn.constant dense<true> : tensor<2x1x3xi1>
    %p = bnn.xnor_conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 1, 1>, strides = array<i64: 1>} : (tensor<1x1x4xi1>, tensor<2x1x3xi1>) -> tensor<1x2x4xi32>
    %q = bnn.xnor_conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 2, 1>, pads_read_minus_one, strides = array<i64: 1>} : (tensor<1x1x4xi1>, tensor<2x1x3xi1>) -> tensor<1x2x5xi32>
    return %p, %q : tensor<1x2x4xi32>, tensor<1x2x5xi32>
  }
}

// -----

// expected-error @+1 {{no chip to map onto: the module needs an 'rram.target' attribute (hafnia-compile sets it from --chip)}}
module {
  func.func @no_target(%x: tensor<1x5xi1>, %w: tensor<3x5xi1>) -> tensor<1x3xi32> {
    %p = bnn.xnor_dense %x, %w : (tensor<1x5xi1>, tensor<3x5xi1>) -> tensor<1x3xi32>
    return %p : tensor<1x3xi32>
  }
}
