// RUN: hafnia-opt %s --bnn-fuse-layer-norm -split-input-file | FileCheck %s

// PyTorch's nn.LayerNorm at opset 13: the decomposed chain, its scale and
// bias become one bnn.layer_norm.
// CHECK-LABEL: func @decomposed
func.func @decomposed(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  // CHECK: %[[G:.*]] = bnn.constant dense<2.000000e+00> : tensor<8xf32>
  // CHECK: %[[B:.*]] = bnn.constant dense<5.000000e-01> : tensor<8xf32>
  // CHECK: %[[Y:.*]] = bnn.layer_norm %arg0, %[[G]], %[[B]] {axis = 2 : i64, epsilon = 9.99999974E-6 : f32}
  // CHECK-NEXT: return %[[Y]]
  %two = bnn.constant dense<2.0> : tensor<f32>
  %eps = bnn.constant dense<1.0e-5> : tensor<f32>
  %gamma = bnn.constant dense<2.0> : tensor<8xf32>
  %beta = bnn.constant dense<0.5> : tensor<8xf32>
  %m = bnn.reduce_mean %x {axes = array<i64: 2>, keepdims = true} : tensor<1x4x8xf32> -> tensor<1x4x1xf32>
  %d = bnn.sub %x, %m : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
  %p = bnn.pow %d, %two : (tensor<1x4x8xf32>, tensor<f32>) -> tensor<1x4x8xf32>
  %v = bnn.reduce_mean %p {axes = array<i64: 2>, keepdims = true} : tensor<1x4x8xf32> -> tensor<1x4x1xf32>
  %e = bnn.add %v, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %s = bnn.sqrt %e : tensor<1x4x1xf32>
  %n = bnn.div %d, %s : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
  %y = bnn.mul %n, %gamma : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  %z = bnn.add %y, %beta : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  return %z : tensor<1x4x8xf32>
}

// -----

// Without a scale the fused op gets ones; over two trailing axes too.
// CHECK-LABEL: func @no_scale
func.func @no_scale(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // CHECK: %[[ONES:.*]] = bnn.constant dense<1.000000e+00> : tensor<3x4xf32>
  // CHECK: bnn.layer_norm %arg0, %[[ONES]] {axis = 1 : i64, epsilon = 1.000000e-03 : f32}
  %two = bnn.constant dense<2.0> : tensor<1xf32>
  %eps = bnn.constant dense<1.0e-3> : tensor<1xf32>
  %m = bnn.reduce_mean %x {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x1x1xf32>
  %d = bnn.sub %x, %m : (tensor<2x3x4xf32>, tensor<2x1x1xf32>) -> tensor<2x3x4xf32>
  %p = bnn.pow %d, %two : (tensor<2x3x4xf32>, tensor<1xf32>) -> tensor<2x3x4xf32>
  %v = bnn.reduce_mean %p {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x1x1xf32>
  %e = bnn.add %v, %eps : (tensor<2x1x1xf32>, tensor<1xf32>) -> tensor<2x1x1xf32>
  %s = bnn.sqrt %e : tensor<2x1x1xf32>
  %n = bnn.div %d, %s : (tensor<2x3x4xf32>, tensor<2x1x1xf32>) -> tensor<2x3x4xf32>
  return %n : tensor<2x3x4xf32>
}

// -----

// Not a layer norm: the mean over a leading axis, or a cube: left alone.
// CHECK-LABEL: func @not_layer_norm
func.func @not_layer_norm(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NOT: bnn.layer_norm
  %three = bnn.constant dense<3.0> : tensor<f32>
  %eps = bnn.constant dense<1.0e-5> : tensor<f32>
  %m = bnn.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : tensor<2x3xf32> -> tensor<2x1xf32>
  %d = bnn.sub %x, %m : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  %p = bnn.pow %d, %three : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %v = bnn.reduce_mean %p {axes = array<i64: 1>, keepdims = true} : tensor<2x3xf32> -> tensor<2x1xf32>
  %e = bnn.add %v, %eps : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
  %s = bnn.sqrt %e : tensor<2x1xf32>
  %n = bnn.div %d, %s : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %n : tensor<2x3xf32>
}
