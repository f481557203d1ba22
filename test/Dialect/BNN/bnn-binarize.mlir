// RUN: hafnia-opt %s --bnn-binarize="mode=classifier binarize-first-layer" -split-input-file -verify-diagnostics | FileCheck %s
// RUN: hafnia-opt %s --bnn-binarize=mode=classifier -split-input-file 2>/dev/null | FileCheck %s --check-prefix=CLASSIFIER
// RUN: hafnia-opt %s --bnn-binarize=mode=none -split-input-file | FileCheck %s --check-prefix=NONE
// RUN: hafnia-opt %s --bnn-binarize=mode=all -split-input-file 2>/dev/null | FileCheck %s --check-prefix=ALL
// RUN: hafnia-opt %s --bnn-binarize=mode=all -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=ALL-WARN
// RUN: hafnia-opt %s --bnn-binarize="mode=all binarize-first-layer" -split-input-file 2>/dev/null | FileCheck %s --check-prefix=FIRST

// A classifier trained binarized: +1/-1 weights and Sign activations convert
// exactly, without a warning. The MatMul weight (K x M) is stored M x K.
// CHECK-LABEL: func @trained_binary
// NONE-LABEL: func @trained_binary
// NONE-NOT: xnor
// ALL-LABEL: func @trained_binary
// FIRST-LABEL: func @trained_binary
func.func @trained_binary(%x: tensor<1x3xf32>) -> tensor<1x2xf32> {
  // CHECK: %[[BITS:.*]] = bnn.binarize %arg0 : tensor<1x3xf32> -> tensor<1x3xi1>
  // CHECK: %[[W:.*]] = bnn.constant dense<{{\[}}[true, false, true], [false, true, true]]> : tensor<2x3xi1>
  // CHECK: %[[P:.*]] = bnn.xnor_dense %[[BITS]], %[[W]] : (tensor<1x3xi1>, tensor<2x3xi1>) -> tensor<1x2xi32>
  // CHECK: %[[Y:.*]] = bnn.popcount_affine %[[P]] {bias = array<f32: 0.000000e+00, 0.000000e+00>, fan_in = 3 : i64, scale = array<f32: 1.000000e+00, 1.000000e+00>} : tensor<1x2xi32> -> tensor<1x2xf32>
  // CHECK: return %[[Y]]
  // The first layer of the network stays real in mode=all, unless asked.
  // ALL: bnn.dense
  // FIRST: bnn.xnor_dense
  %s = bnn.sign %x : tensor<1x3xf32>
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %y = bnn.dense %s, %w {bnn.classifier} : (tensor<1x3xf32>, tensor<3x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Gemm's alpha and beta and a per-neuron bias go into the popcount affine;
// Clip(-1, 1) (hardtanh) keeps the sign and is looked through.
// CHECK-LABEL: func @gemm_bias
func.func @gemm_bias(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  // CHECK: %[[BITS:.*]] = bnn.binarize %arg0
  // CHECK: bnn.popcount_affine %{{.*}} {bias = array<f32: 1.000000e+00, -2.000000e+00>, fan_in = 4 : i64, scale = array<f32: 5.000000e-01, 5.000000e-01>}
  %c = bnn.clip %x {max = 1.0 : f32, min = -1.0 : f32} : tensor<2x4xf32>
  %w = bnn.constant dense<[[1.0, 1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, 1.0]]> : tensor<2x4xf32>
  %b = bnn.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %y = bnn.dense %c, %w, %b {alpha = 0.5 : f32, beta = 2.0 : f32, bnn.classifier, transpose_rhs = true} : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Real weights binarized after training: a warning names the layer; the
// signs are scaled by the mean magnitude of each neuron's weights.
// CHECK-LABEL: func @real_weights
func.func @real_weights(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  // CHECK: bnn.constant dense<{{\[}}[true, false], [false, false]]> : tensor<2x2xi1>
  // CHECK: bnn.popcount_affine %{{.*}} scale = array<f32: 1.500000e+00, 2.500000e-01>
  %w = bnn.constant dense<[[2.0, -1.0], [-0.25, -0.25]]> : tensor<2x2xf32>
  // expected-warning @+1 {{'bnn.dense' layer: real-valued weights binarized after training (signs scaled by their mean magnitude per neuron); accuracy will drop, and hafnia-sim measures how much}}
  %y = bnn.dense %x, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Sign applied to a real weight (a model exported without constant folding)
// is exact; a weight that is exactly zero is stored as +1, with a warning.
// CHECK-LABEL: func @sign_of_weight
func.func @sign_of_weight(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  // CHECK: bnn.constant dense<true> : tensor<1x2xi1>
  // CHECK-NOT: bnn.sign
  // CHECK: scale = array<f32: 1.000000e+00>
  %r = bnn.constant dense<[[0.3, 0.0]]> : tensor<1x2xf32>
  %w = bnn.sign %r : tensor<1x2xf32>
  // expected-warning @+1 {{'bnn.dense' layer: 1 weight(s) are exactly zero under Sign; the chip stores them as +1}}
  %y = bnn.dense %x, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// A ReLU right before a binary layer would make every input bit +1: it is
// replaced by a sign, with a warning.
// CHECK-LABEL: func @relu_input
func.func @relu_input(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  // CHECK: bnn.binarize %arg0
  %r = bnn.relu %x : tensor<1x2xf32>
  %w = bnn.constant dense<[[1.0, -1.0]]> : tensor<1x2xf32>
  // expected-warning @+1 {{'bnn.dense' layer: its input passes through a ReLU, which would binarize to +1 everywhere; the ReLU is replaced by a sign}}
  %y = bnn.dense %r, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// The layer that reads the model's input stays real in mode=classifier too
// (an MLP is all classifier), unless binarize-first-layer is set.
// CHECK-LABEL: func @mlp
// CLASSIFIER-LABEL: func @mlp
func.func @mlp(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  // CHECK: bnn.xnor_dense
  // CHECK: bnn.xnor_dense
  // CLASSIFIER: bnn.dense %arg0
  // CLASSIFIER: bnn.xnor_dense
  // CLASSIFIER-NOT: bnn.xnor_dense
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  %h = bnn.dense %x, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %s = bnn.sign %h {bnn.classifier} : tensor<1x2xf32>
  %y = bnn.dense %s, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// What the arrays cannot hold exactly stays real, with a warning.
// CHECK-LABEL: func @stays_real
func.func @stays_real(%x: tensor<1x2xf32>, %v: tensor<2x2xf32>, %batch: tensor<3x1x2xf32>) -> (tensor<1x2xf32>, tensor<3x1x2xf32>) {
  // CHECK-NOT: xnor
  // expected-warning @+1 {{'bnn.dense' layer stays real: its weight is computed at run time, not a constant}}
  %y = bnn.dense %x, %v {bnn.classifier} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %w = bnn.constant dense<1.0> : tensor<2x2xf32>
  // expected-warning @+1 {{'bnn.dense' layer stays real: only a matrix-times-weight product (rank-2 operands, no transposed input) maps to arrays}}
  %z = bnn.dense %batch, %w {bnn.classifier} : (tensor<3x1x2xf32>, tensor<2x2xf32>) -> tensor<3x1x2xf32>
  return %y, %z : tensor<1x2xf32>, tensor<3x1x2xf32>
}

// -----

// mode=all: convolutions after the first become XNOR convolutions. A
// zero-padded one reads the padding as +1 and its popcount affine subtracts,
// at the border positions 0 and 3, the weights that fell on the padding:
// filter 0 has +1 and +1 on its first taps, +1 and -1 on its last.
// CHECK-LABEL: func @convolutions
// ALL-LABEL: func @convolutions
// ALL-WARN-NOT: layer 'padded' stays real
func.func @convolutions(%x: tensor<1x2x8xf32>) -> tensor<1x2x4xf32> {
  %w = bnn.constant dense<[[[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]], [[-1.0, -1.0, 1.0], [1.0, -1.0, -1.0]]]> : tensor<2x2x3xf32>
  %b = bnn.constant dense<[0.25, -0.25]> : tensor<2xf32>
  // CHECK: bnn.conv
  // CHECK: bnn.conv
  // CHECK: bnn.conv
  // ALL: %[[CONV1:.*]] = bnn.conv %arg0
  %0 = bnn.conv %x, %w, %b {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x8xf32>, tensor<2x2x3xf32>, tensor<2xf32>) -> tensor<1x2x6xf32> loc("first")
  %1 = bnn.tanh %0 : tensor<1x2x6xf32>
  // ALL: %[[BITS:.*]] = bnn.binarize %[[CONV1]] : tensor<1x2x6xf32> -> tensor<1x2x6xi1>
  // ALL: %[[W:.*]] = bnn.constant dense<{{\[}}{{\[}}[true, false, true], [true, true, false]], {{\[}}[false, false, true], [true, false, false]]]> : tensor<2x2x3xi1>
  // ALL: %[[P:.*]] = bnn.xnor_conv %[[BITS]], %[[W]] {dilations = array<i64: 1>, group = 1 : i64, strides = array<i64: 1>} : (tensor<1x2x6xi1>, tensor<2x2x3xi1>) -> tensor<1x2x4xi32>
  // ALL: %[[Y:.*]] = bnn.popcount_affine %[[P]] {bias = array<f32: 2.500000e-01, -2.500000e-01>, fan_in = 6 : i64, scale = array<f32: 1.000000e+00, 1.000000e+00>}
  %2 = bnn.conv %1, %w, %b {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x6xf32>, tensor<2x2x3xf32>, tensor<2xf32>) -> tensor<1x2x4xf32> loc("second")
  // ALL: %[[BITS2:.*]] = bnn.binarize %[[Y]]
  // ALL: bnn.xnor_conv %[[BITS2]], %{{.*}} {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 1, 1>, strides = array<i64: 1>}
  // ALL: bnn.popcount_affine %{{.*}} {bias = array<f32: 0.000000e+00, 0.000000e+00>, border_offsets = array<i32: 2, 0, 0, 0>, border_positions = array<i64: 0, 3>, fan_in = 6 : i64
  %3 = bnn.conv %2, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 1, 1>, strides = array<i64: 1>} : (tensor<1x2x4xf32>, tensor<2x2x3xf32>) -> tensor<1x2x4xf32> loc("padded")
  return %3 : tensor<1x2x4xf32>
}

// -----

// A +1 or -1 constant Pad in front of an unpadded binary convolution (Larq's
// pad_values) is what the arrays read themselves: the convolution takes the
// Pad's spatial pads, without border corrections; -1 padding reads -1.
// ALL-LABEL: func @sign_pads
func.func @sign_pads(%x: tensor<1x1x4xf32>) -> (tensor<1x1x4xf32>, tensor<1x1x4xf32>) {
  %w = bnn.constant dense<[[[1.0, -1.0, 1.0]]]> : tensor<1x1x3xf32>
  %h = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 1, 1>, strides = array<i64: 1>} : (tensor<1x1x4xf32>, tensor<1x1x3xf32>) -> tensor<1x1x4xf32>
  %s = bnn.sign %h : tensor<1x1x4xf32>
  // ALL: %[[BITS:.*]] = bnn.binarize %{{.*}} : tensor<1x1x4xf32> -> tensor<1x1x4xi1>
  // ALL: bnn.xnor_conv %[[BITS]], %{{.*}} {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 2, 0>, strides = array<i64: 1>}
  // ALL-NOT: border_positions
  // ALL: %[[BITS2:.*]] = bnn.binarize %{{.*}} : tensor<1x1x4xf32> -> tensor<1x1x4xi1>
  // ALL: bnn.xnor_conv %[[BITS2]], %{{.*}} {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 2>, pads_read_minus_one, strides = array<i64: 1>}
  // ALL-NOT: border_positions
  %p = bnn.pad %s {mode = "constant", pads = array<i64: 0, 0, 2, 0, 0, 0>, value = 1.0 : f32} : tensor<1x1x4xf32> -> tensor<1x1x6xf32>
  %y = bnn.conv %p, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x1x6xf32>, tensor<1x1x3xf32>) -> tensor<1x1x4xf32>
  %q = bnn.pad %s {mode = "constant", pads = array<i64: 0, 0, 0, 0, 0, 2>, value = -1.0 : f32} : tensor<1x1x4xf32> -> tensor<1x1x6xf32>
  %z = bnn.conv %q, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x1x6xf32>, tensor<1x1x3xf32>) -> tensor<1x1x4xf32>
  return %y, %z : tensor<1x1x4xf32>, tensor<1x1x4xf32>
}
