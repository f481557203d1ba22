// RUN: hafnia-opt %s --bnn-binarize=mode=classifier -split-input-file -verify-diagnostics | FileCheck %s

// A calibrated layer (bnn.calibration, from hafnia-compile --calibration)
// compares its input with per-channel thresholds, and the popcount affine
// gets the levels the bits stand for: input ~ offset + step * bit with
// offset = (high + low) / 2 and step = (high - low) / 2. The weights times
// the offsets become a bias (here 1 * 0.5 - 1 * 0 = 0.5 and -0.5), the mean
// step (0.75) a scale. The input is compared as it is: a ReLU stays.

// CHECK-LABEL: func @calibrated_dense
func.func @calibrated_dense(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w0 = bnn.constant dense<1.0> : tensor<2x2xf32>
  %h = bnn.dense %x, %w0 : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  // CHECK: %[[R:.*]] = bnn.relu
  // CHECK: %[[BITS:.*]] = bnn.binarize %[[R]] {thresholds = array<f32: 5.000000e-01, 0.000000e+00>} : tensor<1x2xf32> -> tensor<1x2xi1>
  // CHECK: bnn.xnor_dense %[[BITS]]
  // CHECK: bnn.popcount_affine %{{.*}} {bias = array<f32: 5.000000e-01, -5.000000e-01>, fan_in = 2 : i64, scale = array<f32: 7.500000e-01, 7.500000e-01>}
  %r = bnn.relu %h : tensor<1x2xf32>
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  %y = bnn.dense %r, %w {bnn.calibration = {high = array<f32: 1.0, 1.0>, low = array<f32: 0.0, -1.0>, thresholds = array<f32: 0.5, 0.0>}, bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// A calibrated convolution: per input channel, and the offsets weighted by
// every tap of the filter (2 taps of channel 0 at offset 1, 2 of channel 1
// at offset 0: bias 1 * 1 + (-1) * 1 = 0 for filter 0, 2 for filter 1).
// CHECK-LABEL: func @calibrated_conv
func.func @calibrated_conv(%x: tensor<1x2x4xf32>) -> tensor<1x2x3xf32> {
  %w0 = bnn.constant dense<1.0> : tensor<2x2x1xf32>
  %h = bnn.conv %x, %w0 {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x4xf32>, tensor<2x2x1xf32>) -> tensor<1x2x4xf32>
  // CHECK: bnn.binarize %{{.*}} {thresholds = array<f32: 1.000000e+00, 2.000000e+00>}
  // CHECK: bnn.popcount_affine %{{.*}} {bias = array<f32: 0.000000e+00, 2.000000e+00>, fan_in = 4 : i64, scale = array<f32: 1.000000e+00, 1.000000e+00>}
  %w = bnn.constant dense<[[[1.0, -1.0], [1.0, 1.0]], [[1.0, 1.0], [-1.0, 1.0]]]> : tensor<2x2x2xf32>
  %y = bnn.conv %h, %w {bnn.calibration = {high = array<f32: 2.0, 1.0>, low = array<f32: 0.0, -1.0>, thresholds = array<f32: 1.0, 2.0>}, bnn.classifier, dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x4xf32>, tensor<2x2x2xf32>) -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}

// -----

func.func @wrong_size(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w0 = bnn.constant dense<1.0> : tensor<2x2xf32>
  %h = bnn.dense %x, %w0 : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  // expected-error @+1 {{'bnn.dense' layer: bnn.calibration needs thresholds, low and high of 2 values each, one per input channel}}
  %y = bnn.dense %h, %w {bnn.calibration = {high = array<f32: 1.0>, low = array<f32: 0.0>, thresholds = array<f32: 0.5>}, bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
