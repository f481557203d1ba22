// RUN: hafnia-opt %s --rram-allocate-arrays -split-input-file -verify-diagnostics | FileCheck %s
// RUN: not hafnia-opt %s --rram-allocate-arrays -split-input-file 2>&1 | FileCheck %s --check-prefix=NO-ADVICE

// Tiles get physical arrays in program order.
module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 3, digital_memory_bytes = 64, real_bits = 32>} {
  // CHECK-LABEL: func @fits
  func.func @fits(%x: tensor<1x4xi1>) -> (tensor<1x2xi32>, tensor<1x2xi32>) {
    // CHECK: rram.tile {array = 0 : i64, {{.*}} layer = "fc1"
    // CHECK: rram.tile {array = 1 : i64, {{.*}} layer = "fc2"
    %s = rram.input_slice %x {offset = 0 : i64} : tensor<1x4xi1> -> tensor<1x4xi1>
    %t0 = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "fc1", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %r0 = rram.xnor_read %t0, %s : (!rram.tile, tensor<1x4xi1>) -> tensor<1x2xi32>
    %t1 = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<false> : tensor<2x4xi1>, layer = "fc2", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %r1 = rram.xnor_read %t1, %s : (!rram.tile, tensor<1x4xi1>) -> tensor<1x2xi32>
    // 16 real parameters at 4 bytes: all of the 64 bytes.
    %c = bnn.constant dense<1.0> : tensor<16xf32>
    %u = bnn.relu %c : tensor<16xf32>
    return %r0, %r1 : tensor<1x2xi32>, tensor<1x2xi32>
  }
}

// -----

// One array too few: the error says what is needed, what the chip has and
// which layers take the most.
// expected-error @+1 {{the model does not fit the 2x4 chip: it needs 3 arrays, the chip has 2 (largest: 'big' 2, 'small' 1)}}
module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 2, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @too_many_arrays(%x: tensor<1x4xi1>) -> tensor<1x2xi32> {
    %s = rram.input_slice %x {offset = 0 : i64} : tensor<1x4xi1> -> tensor<1x4xi1>
    %t0 = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "small", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %t1 = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "big", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %t2 = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "big", row_tile = 1 : i64, rows_used = 2 : i64} : !rram.tile
    %r = rram.xnor_read %t0, %s : (!rram.tile, tensor<1x4xi1>) -> tensor<1x2xi32>
    return %r : tensor<1x2xi32>
  }
}

// -----

// Real weights over the digital memory; binarizing the classifier layer that
// holds them would make the model fit. (The first layer, which reads the
// model's input and whose weight is computed at run time here, stays real
// under --binarize=classifier, as bnn-binarize keeps it.)
// expected-error @+1 {{the model does not fit the 32x32 chip: it needs 4.0 KiB of digital memory for real-valued parameters and thresholds, the chip has 1.0 KiB (largest: 'fc' 4.0 KiB); with --binarize=classifier it would fit (1 arrays, 0 B)}}
module attributes {rram.target = #rram.target<rows = 32, columns = 32, arrays = 1, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @too_many_bytes(%x: tensor<1x32xf32>, %v: tensor<32x32xf32>) -> tensor<1x32xf32> {
    %h = bnn.dense %x, %v : (tensor<1x32xf32>, tensor<32x32xf32>) -> tensor<1x32xf32> loc("first")
    %w = bnn.constant dense<1.0> : tensor<32x32xf32>
    %y = bnn.dense %h, %w {bnn.classifier} : (tensor<1x32xf32>, tensor<32x32xf32>) -> tensor<1x32xf32> loc("fc")
    return %y : tensor<1x32xf32>
  }
}

// -----

// At 8 bits per real weight the same layer fits: 1,024 bytes of int8 weights
// and their 4-byte f32 scale.
module attributes {rram.target = #rram.target<rows = 32, columns = 32, arrays = 1, digital_memory_bytes = 1028, real_bits = 8>} {
  // CHECK-LABEL: func @int8
  func.func @int8(%x: tensor<1x32xf32>) -> tensor<1x32xf32> {
    %w = bnn.constant dense<1.0> : tensor<32x32xf32>
    %y = bnn.dense %x, %w : (tensor<1x32xf32>, tensor<32x32xf32>) -> tensor<1x32xf32>
    return %y : tensor<1x32xf32>
  }
}

// -----

// The advice follows bnn-binarize's rule: the layer that reads the model's
// input stays real under --binarize=classifier and =all alike, so binarizing
// would not help and no advice is given.
// NO-ADVICE: error: the model does not fit the 32x32 chip: {{.*}} (largest: 'fc' 4.0 KiB){{$}}
// expected-error @+1 {{the model does not fit the 32x32 chip: it needs 4.0 KiB of digital memory for real-valued parameters and thresholds, the chip has 1.0 KiB (largest: 'fc' 4.0 KiB)}}
module attributes {rram.target = #rram.target<rows = 32, columns = 32, arrays = 1, digital_memory_bytes = 1024, real_bits = 32>} {
  func.func @first_layer(%x: tensor<1x32xf32>) -> tensor<1x32xf32> {
    %w = bnn.constant dense<1.0> : tensor<32x32xf32>
    %y = bnn.dense %x, %w {bnn.classifier} : (tensor<1x32xf32>, tensor<32x32xf32>) -> tensor<1x32xf32> loc("fc")
    return %y : tensor<1x32xf32>
  }
}
