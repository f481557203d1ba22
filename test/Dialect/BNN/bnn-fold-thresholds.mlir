// RUN: hafnia-opt %s --bnn-fold-thresholds -split-input-file | FileCheck %s

// Batch norm and sign fold into one threshold per channel: p >= 40 for
// gamma = 1; the comparison flips for gamma = -1; gamma = 0 gives a constant
// output, always +1 (beta >= 0, threshold 0) or never (fan_in + 1).
// CHECK-LABEL: func @batch_norm
func.func @batch_norm(%x: tensor<1x75xi1>, %w: tensor<4x75xi1>) -> tensor<1x4xi1> {
  // CHECK: %[[P:.*]] = bnn.xnor_dense
  // CHECK-NEXT: %[[T:.*]] = bnn.threshold %[[P]] {fan_in = 75 : i64, inverted = array<i1: false, true, false, false>, thresholds = array<i32: 40, 40, 0, 76>} : tensor<1x4xi32> -> tensor<1x4xi1>
  // CHECK-NEXT: return %[[T]]
  %p = bnn.xnor_dense %x, %w : (tensor<1x75xi1>, tensor<4x75xi1>) -> tensor<1x4xi32>
  %y = bnn.popcount_affine %p {bias = array<f32: 0.0, 0.0, 0.0, 0.0>, fan_in = 75 : i64, scale = array<f32: 1.0, 1.0, 1.0, 1.0>} : tensor<1x4xi32> -> tensor<1x4xf32>
  %gamma = bnn.constant dense<[1.0, -1.0, 0.0, 0.0]> : tensor<4xf32>
  %beta = bnn.constant dense<[0.0, 0.0, 0.5, -1.0]> : tensor<4xf32>
  %mean = bnn.constant dense<5.0> : tensor<4xf32>
  %var = bnn.constant dense<1.0> : tensor<4xf32>
  %n = bnn.batch_norm %y, %gamma, %beta, %mean, %var {epsilon = 0.0 : f32} : tensor<1x4xf32>, tensor<4xf32>
  %s = bnn.binarize %n : tensor<1x4xf32> -> tensor<1x4xi1>
  return %s : tensor<1x4xi1>
}

// -----

// A boundary that lands exactly on a popcount: 2p - 10 + 0.5 - 0.5 = 0 at
// p = 5, where the chip's sign gives +1.
// CHECK-LABEL: func @exact_boundary
func.func @exact_boundary(%p: tensor<1x2xi32>) -> tensor<1x2xi1> {
  // CHECK: bnn.threshold %arg0 {fan_in = 10 : i64, inverted = array<i1: false, true>, thresholds = array<i32: 5, 5>}
  %y = bnn.popcount_affine %p {bias = array<f32: 0.5, 0.5>, fan_in = 10 : i64, scale = array<f32: 1.0, -1.0>} : tensor<1x2xi32> -> tensor<1x2xf32>
  %c = bnn.constant dense<0.5> : tensor<f32>
  %z = bnn.sub %y, %c : (tensor<1x2xf32>, tensor<f32>) -> tensor<1x2xf32>
  %s = bnn.binarize %z : tensor<1x2xf32> -> tensor<1x2xi1>
  return %s : tensor<1x2xi1>
}

// -----

// Per-channel scale factors and offsets on a convolution's popcounts (axis 1),
// on either side of the operation.
// CHECK-LABEL: func @channel_steps
func.func @channel_steps(%p: tensor<1x2x3xi32>) -> tensor<1x2x3xi1> {
  // Channel 0: 0 - (-4 * (2p - 6) - 8) >= 0  <=>  p >= 2.
  // Channel 1: 3 - (1 * (2p - 6) + 0) >= 0  <=>  p <= 4.
  // CHECK: bnn.threshold %arg0 {fan_in = 6 : i64, inverted = array<i1: false, true>, thresholds = array<i32: 2, 4>} : tensor<1x2x3xi32> -> tensor<1x2x3xi1>
  %y = bnn.popcount_affine %p {bias = array<f32: 0.0, 0.0>, fan_in = 6 : i64, scale = array<f32: 1.0, 1.0>} : tensor<1x2x3xi32> -> tensor<1x2x3xf32>
  %m = bnn.constant dense<[[-4.0], [1.0]]> : tensor<2x1xf32>
  %a = bnn.constant dense<[[[-8.0], [0.0]]]> : tensor<1x2x1xf32>
  %t = bnn.constant dense<[[0.0], [3.0]]> : tensor<2x1xf32>
  %0 = bnn.mul %m, %y : (tensor<2x1xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  %1 = bnn.add %0, %a : (tensor<1x2x3xf32>, tensor<1x2x1xf32>) -> tensor<1x2x3xf32>
  %2 = bnn.sub %t, %1 : (tensor<2x1xf32>, tensor<1x2x3xf32>) -> tensor<1x2x3xf32>
  %s = bnn.binarize %2 : tensor<1x2x3xf32> -> tensor<1x2x3xi1>
  return %s : tensor<1x2x3xi1>
}

// -----

// A classifier's last layer has no sign after it: its affine and batch norm
// stay on the digital core, untouched.
// CHECK-LABEL: func @last_layer
func.func @last_layer(%p: tensor<1x2xi32>) -> tensor<1x2xf32> {
  // CHECK: bnn.popcount_affine
  // CHECK-NEXT: bnn.constant
  // CHECK-NEXT: bnn.batch_norm
  // CHECK-NOT: bnn.threshold
  %y = bnn.popcount_affine %p {bias = array<f32: 0.0, 1.0>, fan_in = 8 : i64, scale = array<f32: 1.0, 1.0>} : tensor<1x2xi32> -> tensor<1x2xf32>
  %c = bnn.constant dense<1.0> : tensor<2xf32>
  %n = bnn.batch_norm %y, %c, %c, %c, %c {epsilon = 1.0e-05 : f32} : tensor<1x2xf32>, tensor<2xf32>
  return %n : tensor<1x2xf32>
}

// -----

// A value the sign reads that is also used elsewhere stays for that use.
// CHECK-LABEL: func @shared
func.func @shared(%p: tensor<1x1xi32>) -> (tensor<1x1xi1>, tensor<1x1xf32>) {
  // CHECK: %[[Y:.*]] = bnn.popcount_affine
  // CHECK: %[[T:.*]] = bnn.threshold %arg0 {fan_in = 4 : i64, inverted = array<i1: false>, thresholds = array<i32: 2>}
  // CHECK: return %[[T]], %[[Y]]
  %y = bnn.popcount_affine %p {bias = array<f32: 0.0>, fan_in = 4 : i64, scale = array<f32: 1.0>} : tensor<1x1xi32> -> tensor<1x1xf32>
  %s = bnn.binarize %y : tensor<1x1xf32> -> tensor<1x1xi1>
  return %s, %y : tensor<1x1xi1>, tensor<1x1xf32>
}

// -----

// What is not a per-channel monotone step (here a division of a constant by
// the value) keeps the sign on the digital core.
// CHECK-LABEL: func @not_folded
func.func @not_folded(%p: tensor<1x1x4xi32>) -> tensor<1x1x4xi1> {
  // CHECK-NOT: bnn.threshold
  // CHECK: bnn.binarize
  %y = bnn.popcount_affine %p {bias = array<f32: 0.0>, fan_in = 4 : i64, scale = array<f32: 1.0>} : tensor<1x1x4xi32> -> tensor<1x1x4xf32>
  %c = bnn.constant dense<1.0> : tensor<1xf32>
  %d = bnn.div %c, %y : (tensor<1xf32>, tensor<1x1x4xf32>) -> tensor<1x1x4xf32>
  %t = bnn.binarize %d : tensor<1x1x4xf32> -> tensor<1x1x4xi1>
  return %t : tensor<1x1x4xi1>
}

// -----

// sign(max_pool(x)) = max_pool(sign(x)): the sign moves before the pooling
// (through a Sign and a Flatten too), folds into a threshold, and the pool
// and flatten work on bits.
// CHECK-LABEL: func @max_pool
func.func @max_pool(%p: tensor<1x1x4xi32>) -> tensor<1x2xi1> {
  // CHECK: %[[T:.*]] = bnn.threshold %arg0 {fan_in = 4 : i64, inverted = array<i1: false>, thresholds = array<i32: 3>} : tensor<1x1x4xi32> -> tensor<1x1x4xi1>
  // CHECK: %[[M:.*]] = bnn.max_pool %[[T]] {{.*}} : tensor<1x1x4xi1> -> tensor<1x1x2xi1>
  // CHECK: %[[F:.*]] = bnn.flatten %[[M]] {axis = 1 : i64} : tensor<1x1x2xi1> -> tensor<1x2xi1>
  // CHECK: return %[[F]]
  %y = bnn.popcount_affine %p {bias = array<f32: -1.0>, fan_in = 4 : i64, scale = array<f32: 1.0>} : tensor<1x1x4xi32> -> tensor<1x1x4xf32>
  %m = bnn.max_pool %y {ceil_mode = false, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x1x4xf32> -> tensor<1x1x2xf32>
  %g = bnn.sign %m : tensor<1x1x2xf32>
  %f = bnn.flatten %g {axis = 1 : i64} : tensor<1x1x2xf32> -> tensor<1x2xf32>
  %s = bnn.binarize %f : tensor<1x2xf32> -> tensor<1x2xi1>
  return %s : tensor<1x2xi1>
}

// -----

// PyTorch's order, conv -> max pool -> batch norm -> sign: a batch norm that
// increases in every channel commutes with max, so it folds too; one with a
// negative scale turns max into min, and the chain stays digital.
// CHECK-LABEL: func @norm_after_pool
func.func @norm_after_pool(%p: tensor<1x2x4xi32>) -> (tensor<1x2x2xi1>, tensor<1x2x2xi1>) {
  // CHECK: %[[T:.*]] = bnn.threshold %arg0 {fan_in = 4 : i64, inverted = array<i1: false, false>, thresholds = array<i32: 3, 2>}
  // CHECK: bnn.max_pool %[[T]] {{.*}} : tensor<1x2x4xi1> -> tensor<1x2x2xi1>
  // CHECK: bnn.batch_norm
  // CHECK: bnn.binarize
  %y = bnn.popcount_affine %p {bias = array<f32: 0.0, 0.0>, fan_in = 4 : i64, scale = array<f32: 1.0, 1.0>} : tensor<1x2x4xi32> -> tensor<1x2x4xf32>
  %m = bnn.max_pool %y {ceil_mode = false, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x2x4xf32> -> tensor<1x2x2xf32>
  %gamma = bnn.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %beta = bnn.constant dense<0.0> : tensor<2xf32>
  %mean = bnn.constant dense<[1.5, 0.0]> : tensor<2xf32>
  %var = bnn.constant dense<1.0> : tensor<2xf32>
  %n = bnn.batch_norm %m, %gamma, %beta, %mean, %var {epsilon = 0.0 : f32} : tensor<1x2x2xf32>, tensor<2xf32>
  %s = bnn.binarize %n : tensor<1x2x2xf32> -> tensor<1x2x2xi1>
  %negative = bnn.constant dense<[-1.0, 1.0]> : tensor<2xf32>
  %o = bnn.batch_norm %m, %negative, %beta, %mean, %var {epsilon = 0.0 : f32} : tensor<1x2x2xf32>, tensor<2xf32>
  %t = bnn.binarize %o : tensor<1x2x2xf32> -> tensor<1x2x2xi1>
  return %s, %t : tensor<1x2x2xi1>, tensor<1x2x2xi1>
}

// -----

// A calibrated sign compares with its channel's threshold, and a ReLU on the
// way is monotone too: relu(2p - 10) >= 3 is p >= 7; relu(...) >= 0 always
// holds (threshold 0).
// CHECK-LABEL: func @calibrated_through_relu
func.func @calibrated_through_relu(%p: tensor<1x2xi32>) -> tensor<1x2xi1> {
  // CHECK: bnn.threshold %arg0 {fan_in = 10 : i64, inverted = array<i1: false, false>, thresholds = array<i32: 7, 0>}
  // CHECK-NOT: bnn.relu
  %y = bnn.popcount_affine %p {bias = array<f32: 0.0, 0.0>, fan_in = 10 : i64, scale = array<f32: 1.0, 1.0>} : tensor<1x2xi32> -> tensor<1x2xf32>
  %r = bnn.relu %y : tensor<1x2xf32>
  %s = bnn.binarize %r {thresholds = array<f32: 3.0, 0.0>} : tensor<1x2xf32> -> tensor<1x2xi1>
  return %s : tensor<1x2xi1>
}
