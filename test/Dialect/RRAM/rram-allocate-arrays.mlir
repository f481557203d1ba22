// RUN: hafnia-opt %s --rram-allocate-arrays -split-input-file -verify-diagnostics | FileCheck %s
// RUN: not hafnia-opt %s --rram-allocate-arrays -split-input-file 2>&1 | FileCheck %s --check-prefix=NO-ADVICE

// Error-aware placement runs on the last case alone (its chip has 5 arrays):
// arrays by BER multiplier, best first, 1 (x1), 4 (x2), 0 (x4), 2 (x9);
// array 3 (x0.5) is bad.
// RUN: sed -n '/^\/\/ ERROR-AWARE$/,$p' %s > %t.mlir
// RUN: hafnia-opt %t.mlir --rram-allocate-arrays="array-ber-multipliers=4,1,9,0.5,2 bad-arrays=3" | FileCheck %s --check-prefix=HEURISTIC
// RUN: hafnia-opt %t.mlir --rram-allocate-arrays="array-ber-multipliers=4,1,9,0.5,2 bad-arrays=3 placement=in-order" | FileCheck %s --check-prefix=IN-ORDER
// RUN: echo '{"layers": [{"layer": "wide", "agreement_drop": 0.3}, {"layer": "narrow", "agreement_drop": 0.1}], "arrays": [{"layer": "wide", "array": 0, "agreement_drop": 0.05}, {"layer": "wide", "array": 1, "agreement_drop": 0.25}]}' > %t.json
// RUN: hafnia-opt %t.mlir --rram-allocate-arrays="array-ber-multipliers=4,1,9,0.5,2 bad-arrays=3 sensitivity-report=%t.json" | FileCheck %s --check-prefix=REPORT
// Without per-array entries a layer's drop is shared among its tiles: wide
// 0.3 / 2 = 0.15 per tile, above narrow's 0.1.
// RUN: echo '{"layers": [{"layer": "wide", "agreement_drop": 0.3}, {"layer": "narrow", "agreement_drop": 0.1}]}' > %t.layers.json
// RUN: hafnia-opt %t.mlir --rram-allocate-arrays="array-ber-multipliers=4,1,9,0.5,2 sensitivity-report=%t.layers.json" | FileCheck %s --check-prefix=LAYERS
// Errors: one line naming the option.
// RUN: not hafnia-opt %t.mlir --rram-allocate-arrays="array-ber-multipliers=4,1,9" 2>&1 | FileCheck %s --check-prefix=LENGTH
// RUN: not hafnia-opt %t.mlir --rram-allocate-arrays="bad-arrays=0,1,2" 2>&1 | FileCheck %s --check-prefix=TOO-BAD
// RUN: not hafnia-opt %t.mlir --rram-allocate-arrays="bad-arrays=5" 2>&1 | FileCheck %s --check-prefix=BAD-INDEX
// RUN: echo '{"layers": [{"layer": "wide", "agreement_drop": 0.3}]}' > %t.partial.json
// RUN: not hafnia-opt %t.mlir --rram-allocate-arrays="bad-arrays=3 sensitivity-report=%t.partial.json" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not hafnia-opt %t.mlir --rram-allocate-arrays="bad-arrays=3 sensitivity-report=%t.missing.json" 2>&1 | FileCheck %s --check-prefix=UNREADABLE
// RUN: not hafnia-opt %t.mlir --rram-allocate-arrays="placement=best" 2>&1 | FileCheck %s --check-prefix=PLACEMENT
// RUN: not hafnia-opt %t.mlir --rram-allocate-arrays="sensitivity-report=%t.json" 2>&1 | FileCheck %s --check-prefix=UNUSED-REPORT
// RUN: not hafnia-opt %t.mlir --rram-allocate-arrays="bad-arrays=3 placement=in-order sensitivity-report=%t.json" 2>&1 | FileCheck %s --check-prefix=IN-ORDER-REPORT

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

// -----

// ERROR-AWARE
// A layer of fan-in 8 on two tiles and one of fan-in 2 on one. The
// heuristic puts the narrow layer (fewest inputs per neuron) on the best
// array; the report puts wide's second tile (its array's drop 0.25) first.
module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 5, digital_memory_bytes = 64, real_bits = 32>} {
  // CHECK-LABEL: func @quality
  // CHECK: rram.tile {array = 0 : i64, {{.*}} layer = "wide"
  // CHECK: rram.tile {array = 1 : i64, {{.*}} layer = "wide"
  // CHECK: rram.tile {array = 2 : i64, {{.*}} layer = "narrow"
  // HEURISTIC: rram.tile {array = 4 : i64, {{.*}} layer = "wide"
  // HEURISTIC: rram.tile {array = 0 : i64, {{.*}} layer = "wide"
  // HEURISTIC: rram.tile {array = 1 : i64, {{.*}} layer = "narrow"
  // IN-ORDER: rram.tile {array = 0 : i64, {{.*}} layer = "wide"
  // IN-ORDER: rram.tile {array = 1 : i64, {{.*}} layer = "wide"
  // IN-ORDER: rram.tile {array = 2 : i64, {{.*}} layer = "narrow"
  // REPORT: rram.tile {array = 0 : i64, {{.*}} layer = "wide"
  // REPORT: rram.tile {array = 1 : i64, {{.*}} layer = "wide"
  // REPORT: rram.tile {array = 4 : i64, {{.*}} layer = "narrow"
  // Array 3 is not bad here: the best (x0.5), then 1 (x1).
  // LAYERS: rram.tile {array = 3 : i64, {{.*}} layer = "wide"
  // LAYERS: rram.tile {array = 1 : i64, {{.*}} layer = "wide"
  // LAYERS: rram.tile {array = 4 : i64, {{.*}} layer = "narrow"
  // LENGTH: error: rram-allocate-arrays: array-ber-multipliers holds 3 values: give one per array of the chip, 5
  // TOO-BAD: error: the model does not fit the 2x4 chip: it needs 3 arrays, the chip has 2 usable (3 of 5 are bad-arrays) (largest: 'wide' 2, 'narrow' 1)
  // BAD-INDEX: error: rram-allocate-arrays: bad-arrays names array 5, the chip's arrays are 0 to 4
  // MISSING: error: --sensitivity-report={{.*}}.partial.json: it has no layer 'narrow': write it for this model's program (hafnia-sim --sensitivity)
  // UNREADABLE: error: --sensitivity-report={{.*}}.missing.json: cannot read it (No such file or directory)
  // PLACEMENT: error: rram-allocate-arrays: placement must be error-aware or in-order, got 'best'
  // UNUSED-REPORT: error: --sensitivity-report={{.*}}.json: a sensitivity report ranks tiles for error-aware placement, but the chip gives no per-array quality (array_ber_multiplier, bad_arrays)
  // IN-ORDER-REPORT: error: --sensitivity-report={{.*}}.json: a sensitivity report ranks tiles for error-aware placement, not placement=in-order
  func.func @quality(%x: tensor<1x8xi1>) -> (tensor<1x2xi32>, tensor<1x2xi32>, tensor<1x2xi32>) {
    %s0 = rram.input_slice %x {offset = 0 : i64} : tensor<1x8xi1> -> tensor<1x4xi1>
    %s1 = rram.input_slice %x {offset = 4 : i64} : tensor<1x8xi1> -> tensor<1x4xi1>
    %t0 = rram.tile {column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "wide", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %r0 = rram.xnor_read %t0, %s0 : (!rram.tile, tensor<1x4xi1>) -> tensor<1x2xi32>
    %t1 = rram.tile {column_tile = 1 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "wide", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %r1 = rram.xnor_read %t1, %s1 : (!rram.tile, tensor<1x4xi1>) -> tensor<1x2xi32>
    %t2 = rram.tile {column_tile = 0 : i64, columns_used = 2 : i64, image = dense<true> : tensor<2x4xi1>, layer = "narrow", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %r2 = rram.xnor_read %t2, %s0 : (!rram.tile, tensor<1x4xi1>) -> tensor<1x2xi32>
    return %r0, %r1, %r2 : tensor<1x2xi32>, tensor<1x2xi32>, tensor<1x2xi32>
  }
}
