// RUN: hafnia-opt %s --bnn-detect-classifier -split-input-file -verify-diagnostics | FileCheck %s

// The ECG pattern: convolutions, flatten, two dense layers.
// CHECK-LABEL: func @after_flatten
// expected-remark @+1 {{classifier of 2 dense layer(s): 'fc1' (4x6), 'fc2' (2x4)}}
func.func @after_flatten(%x: tensor<1x1x8xf32>) -> tensor<1x2xf32> {
  %w = bnn.constant dense<1.0> : tensor<1x1x3xf32>
  // CHECK-NOT: bnn.classifier
  // CHECK: bnn.flatten
  // CHECK-NOT: bnn.classifier
  %c = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x1x8xf32>, tensor<1x1x3xf32>) -> tensor<1x1x6xf32>
  %f = bnn.flatten %c {axis = 1 : i64} : tensor<1x1x6xf32> -> tensor<1x6xf32>
  %w1 = bnn.constant dense<1.0> : tensor<4x6xf32>
  // CHECK: bnn.dense {{.*}} {bnn.classifier, transpose_rhs = true}
  %h = bnn.dense %f, %w1 {transpose_rhs = true} : (tensor<1x6xf32>, tensor<4x6xf32>) -> tensor<1x4xf32> loc("fc1")
  // CHECK: bnn.sign {{.*}} {bnn.classifier}
  %a = bnn.sign %h : tensor<1x4xf32>
  // CHECK-NOT: bnn.constant {{.*}} {bnn.classifier}
  %w2 = bnn.constant dense<1.0> : tensor<2x4xf32>
  // CHECK: bnn.dense {{.*}} {bnn.classifier, transpose_rhs = true}
  %y = bnn.dense %a, %w2 {transpose_rhs = true} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32> loc("fc2")
  return %y : tensor<1x2xf32>
}

// -----

// MobileNet's pattern: global average pooling and a Reshape instead of a
// Flatten, and a bias-free MatMul with a pre-transposed weight.
// CHECK-LABEL: func @through_reshape
// expected-remark @+1 {{classifier of 1 dense layer(s): 'fc' (8x3)}}
func.func @through_reshape(%x: tensor<1x8x4x4xf32>) -> tensor<1x3xf32> {
  %p = bnn.global_average_pool %x : tensor<1x8x4x4xf32> -> tensor<1x8x1x1xf32>
  %r = bnn.reshape %p : tensor<1x8x1x1xf32> -> tensor<1x8xf32>
  %w = bnn.constant dense<1.0> : tensor<8x3xf32>
  // CHECK: bnn.dense {{.*}} {bnn.classifier}
  %y = bnn.dense %r, %w : (tensor<1x8xf32>, tensor<8x3xf32>) -> tensor<1x3xf32> loc("fc")
  return %y : tensor<1x3xf32>
}

// -----

// Dense layers before the last boundary belong to the feature extractor.
// CHECK-LABEL: func @dense_before_pooling
// expected-remark @+1 {{classifier of 1 dense layer(s): 'head' (2x4)}}
func.func @dense_before_pooling(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w0 = bnn.constant dense<1.0> : tensor<4x4xf32>
  // CHECK: bnn.dense
  // CHECK-NOT: bnn.classifier
  // CHECK-SAME: -> tensor<1x4xf32>
  %e = bnn.dense %x, %w0 : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32> loc("embedding")
  %r = bnn.reshape %e : tensor<1x4xf32> -> tensor<1x1x4xf32>
  %p = bnn.max_pool %r {ceil_mode = false, dilations = array<i64: 1>, kernel_shape = array<i64: 1>, pads = array<i64: 0, 0>, strides = array<i64: 1>} : tensor<1x1x4xf32> -> tensor<1x1x4xf32>
  %f = bnn.flatten %p {axis = 1 : i64} : tensor<1x1x4xf32> -> tensor<1x4xf32>
  %w = bnn.constant dense<1.0> : tensor<2x4xf32>
  // CHECK: bnn.dense {{.*}} {bnn.classifier, transpose_rhs = true}
  %y = bnn.dense %f, %w {transpose_rhs = true} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32> loc("head")
  return %y : tensor<1x2xf32>
}

// -----

// A network with no convolution at all is all classifier.
// CHECK-LABEL: func @multilayer_perceptron
// expected-remark @+1 {{classifier of 2 dense layer(s): 'hidden' (4x3), 'out' (4x2)}}
func.func @multilayer_perceptron(%x: tensor<1x3xf32>) -> tensor<1x2xf32> {
  %w1 = bnn.constant dense<1.0> : tensor<4x3xf32>
  %b1 = bnn.constant dense<0.5> : tensor<4xf32>
  // CHECK: bnn.dense {{.*}} {bnn.classifier, transpose_rhs = true}
  %h = bnn.dense %x, %w1, %b1 {transpose_rhs = true} : (tensor<1x3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<1x4xf32> loc("hidden")
  %a = bnn.relu %h : tensor<1x4xf32>
  %w2 = bnn.constant dense<1.0> : tensor<4x2xf32>
  // CHECK: bnn.dense {{.*}} {bnn.classifier}
  %y = bnn.dense %a, %w2 : (tensor<1x4xf32>, tensor<4x2xf32>) -> tensor<1x2xf32> loc("out")
  return %y : tensor<1x2xf32>
}

// -----

// A residual Add just before the classifier is not a boundary.
// CHECK-LABEL: func @residual
// expected-remark @+1 {{classifier of 1 dense layer(s): 'fc' (2x6)}}
func.func @residual(%x: tensor<1x1x6xf32>) -> tensor<1x2xf32> {
  %f = bnn.flatten %x {axis = 1 : i64} : tensor<1x1x6xf32> -> tensor<1x6xf32>
  %t = bnn.tanh %f : tensor<1x6xf32>
  %s = bnn.add %f, %t : (tensor<1x6xf32>, tensor<1x6xf32>) -> tensor<1x6xf32>
  %w = bnn.constant dense<1.0> : tensor<2x6xf32>
  // CHECK: bnn.dense {{.*}} {bnn.classifier, transpose_rhs = true}
  %y = bnn.dense %s, %w {transpose_rhs = true} : (tensor<1x6xf32>, tensor<2x6xf32>) -> tensor<1x2xf32> loc("fc")
  return %y : tensor<1x2xf32>
}

// -----

// CHECK-LABEL: func @no_classifier
// expected-remark @+1 {{no classifier: no dense layer follows the last convolution, pooling, flatten or reshape}}
func.func @no_classifier(%x: tensor<1x2x8xf32>) -> tensor<1x2x4xf32> {
  %p = bnn.max_pool %x {ceil_mode = false, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x2x8xf32> -> tensor<1x2x4xf32>
  return %p : tensor<1x2x4xf32>
}
