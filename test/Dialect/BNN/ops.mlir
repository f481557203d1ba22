// RUN: hafnia-opt %s | FileCheck %s
// Round trip: what hafnia-opt prints, it parses back to the same thing.
// RUN: hafnia-opt %s | hafnia-opt | FileCheck %s

// CHECK-LABEL: func @ecg_layers
func.func @ecg_layers(%x: tensor<1x12x750xf32>) -> tensor<1x2xf32> {
  // CHECK: bnn.constant dense<1.000000e+00> : tensor<32x12x13xf32>
  %w = bnn.constant dense<1.0> : tensor<32x12x13xf32>
  %g = bnn.constant dense<1.0> : tensor<32xf32>
  // CHECK: bnn.conv %{{.*}}, %{{.*}} {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x12x750xf32>, tensor<32x12x13xf32>) -> tensor<1x32x738xf32>
  %c = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x12x750xf32>, tensor<32x12x13xf32>) -> tensor<1x32x738xf32>
  // CHECK: bnn.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 9.99999974E-6 : f32} : tensor<1x32x738xf32>, tensor<32xf32>
  %n = bnn.batch_norm %c, %g, %g, %g, %g {epsilon = 1.0e-05 : f32} : tensor<1x32x738xf32>, tensor<32xf32>
  // CHECK: bnn.relu %{{.*}} : tensor<1x32x738xf32>
  %r = bnn.relu %n : tensor<1x32x738xf32>
  // CHECK: bnn.max_pool %{{.*}} {ceil_mode = false, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x32x738xf32> -> tensor<1x32x369xf32>
  %p = bnn.max_pool %r {ceil_mode = false, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x32x738xf32> -> tensor<1x32x369xf32>
  // CHECK: bnn.flatten %{{.*}} {axis = 1 : i64} : tensor<1x32x369xf32> -> tensor<1x11808xf32>
  %f = bnn.flatten %p {axis = 1 : i64} : tensor<1x32x369xf32> -> tensor<1x11808xf32>
  %v = bnn.constant dense<1.0> : tensor<2x11808xf32>
  %b = bnn.constant dense<0.0> : tensor<2xf32>
  // CHECK: bnn.dense %{{.*}}, %{{.*}}, %{{.*}} {transpose_rhs = true} : (tensor<1x11808xf32>, tensor<2x11808xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %d = bnn.dense %f, %v, %b {transpose_rhs = true} : (tensor<1x11808xf32>, tensor<2x11808xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  // CHECK: bnn.softmax %{{.*}} {axis = 1 : i64} : tensor<1x2xf32>
  %s = bnn.softmax %d {axis = 1 : i64} : tensor<1x2xf32>
  return %s : tensor<1x2xf32>
}

// CHECK-LABEL: func @convolutions
func.func @convolutions(%x: tensor<1x8x10x10xf32>, %w: tensor<8x1x3x3xf32>, %g: tensor<4x4x3x3xf32>) -> (tensor<1x8x5x5xf32>, tensor<1x4x6x6xf32>) {
  // Depthwise, strided, padded.
  // CHECK: bnn.conv %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 8 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
  %d = bnn.conv %x, %w {dilations = array<i64: 1, 1>, group = 8 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x10x10xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x5x5xf32>
  // Grouped and dilated.
  // CHECK: bnn.conv %{{.*}}, %{{.*}} {dilations = array<i64: 2, 2>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>}
  %g2 = bnn.conv %x, %g {dilations = array<i64: 2, 2>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x8x10x10xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %d, %g2 : tensor<1x8x5x5xf32>, tensor<1x4x6x6xf32>
}

// CHECK-LABEL: func @dense_forms
func.func @dense_forms(%a: tensor<4x3xf32>, %b: tensor<5x4xf32>, %v: tensor<3xf32>, %m: tensor<3x2xf32>, %batch: tensor<2x1x4x3xf32>, %bm: tensor<6x3x2xf32>, %c: tensor<1x5xf32>) -> (tensor<3x5xf32>, tensor<2xf32>, tensor<4xf32>, tensor<2x6x4x2xf32>) {
  // Gemm with both transposes, alpha, beta and a broadcast bias.
  // CHECK: bnn.dense %{{.*}}, %{{.*}}, %{{.*}} {alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, transpose_lhs = true, transpose_rhs = true}
  %0 = bnn.dense %a, %b, %c {alpha = 0.5 : f32, beta = 2.0 : f32, transpose_lhs = true, transpose_rhs = true} : (tensor<4x3xf32>, tensor<5x4xf32>, tensor<1x5xf32>) -> tensor<3x5xf32>
  // MatMul: vector times matrix, matrix times vector, batched with broadcasting.
  // CHECK: bnn.dense %{{.*}}, %{{.*}} : (tensor<3xf32>, tensor<3x2xf32>) -> tensor<2xf32>
  %1 = bnn.dense %v, %m : (tensor<3xf32>, tensor<3x2xf32>) -> tensor<2xf32>
  // CHECK: bnn.dense %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4xf32>
  %2 = bnn.dense %a, %v : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4xf32>
  // CHECK: bnn.dense %{{.*}}, %{{.*}} : (tensor<2x1x4x3xf32>, tensor<6x3x2xf32>) -> tensor<2x6x4x2xf32>
  %3 = bnn.dense %batch, %bm : (tensor<2x1x4x3xf32>, tensor<6x3x2xf32>) -> tensor<2x6x4x2xf32>
  return %0, %1, %2, %3 : tensor<3x5xf32>, tensor<2xf32>, tensor<4xf32>, tensor<2x6x4x2xf32>
}

// CHECK-LABEL: func @activations
func.func @activations(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: bnn.clip %{{.*}} {max = 1.000000e+00 : f32, min = -1.000000e+00 : f32} : tensor<2x3xf32>
  %0 = bnn.clip %x {max = 1.0 : f32, min = -1.0 : f32} : tensor<2x3xf32>
  // CHECK: bnn.clip %{{.*}} {min = 0.000000e+00 : f32} : tensor<2x3xf32>
  %1 = bnn.clip %0 {min = 0.0 : f32} : tensor<2x3xf32>
  // CHECK: bnn.sign
  %2 = bnn.sign %1 : tensor<2x3xf32>
  // CHECK: bnn.sigmoid
  %3 = bnn.sigmoid %2 : tensor<2x3xf32>
  // CHECK: bnn.hard_sigmoid %{{.*}} {alpha = 2.000000e-01 : f32, beta = 5.000000e-01 : f32}
  %4 = bnn.hard_sigmoid %3 {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<2x3xf32>
  // CHECK: bnn.tanh
  %5 = bnn.tanh %4 : tensor<2x3xf32>
  return %5 : tensor<2x3xf32>
}

// CHECK-LABEL: func @pooling
func.func @pooling(%x: tensor<1x40x961x1xf32>, %y: tensor<1x3x7xf32>) -> (tensor<1x40x63x1xf32>, tensor<1x40x1x1xf32>, tensor<1x3x4xf32>) {
  // CHECK: bnn.average_pool %{{.*}} {ceil_mode = false, count_include_pad = false, kernel_shape = array<i64: 30, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 15, 1>}
  %0 = bnn.average_pool %x {ceil_mode = false, count_include_pad = false, kernel_shape = array<i64: 30, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 15, 1>} : tensor<1x40x961x1xf32> -> tensor<1x40x63x1xf32>
  // CHECK: bnn.global_average_pool %{{.*}} : tensor<1x40x961x1xf32> -> tensor<1x40x1x1xf32>
  %1 = bnn.global_average_pool %x : tensor<1x40x961x1xf32> -> tensor<1x40x1x1xf32>
  // Ceil mode keeps the last partial window: 7 positions, kernel 2, stride 2.
  // CHECK: bnn.max_pool %{{.*}} {ceil_mode = true
  %2 = bnn.max_pool %y {ceil_mode = true, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x3x7xf32> -> tensor<1x3x4xf32>
  return %0, %1, %2 : tensor<1x40x63x1xf32>, tensor<1x40x1x1xf32>, tensor<1x3x4xf32>
}

// CHECK-LABEL: func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x1xf32>) -> tensor<2x3xf32> {
  // CHECK: bnn.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = bnn.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: bnn.sub
  %1 = bnn.sub %0, %c : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  // CHECK: bnn.mul
  %2 = bnn.mul %1, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: bnn.div
  %3 = bnn.div %2, %c : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %3 : tensor<2x3xf32>
}

// CHECK-LABEL: func @shapes
func.func @shapes(%x: tensor<1x32x161xf32>, %y: tensor<1x1024x1x1xf32>) -> (tensor<161x32xf32>, tensor<1x1x1024xf32>, tensor<2x5152xf32>) {
  // CHECK: bnn.reshape %{{.*}} : tensor<1x32x161xf32> -> tensor<32x161xf32>
  %0 = bnn.reshape %x : tensor<1x32x161xf32> -> tensor<32x161xf32>
  // CHECK: bnn.transpose %{{.*}} {permutation = array<i64: 1, 0>} : tensor<32x161xf32> -> tensor<161x32xf32>
  %1 = bnn.transpose %0 {permutation = array<i64: 1, 0>} : tensor<32x161xf32> -> tensor<161x32xf32>
  // CHECK: bnn.squeeze %{{.*}} {axes = array<i64: 2, 3>} : tensor<1x1024x1x1xf32> -> tensor<1x1024xf32>
  %2 = bnn.squeeze %y {axes = array<i64: 2, 3>} : tensor<1x1024x1x1xf32> -> tensor<1x1024xf32>
  // CHECK: bnn.unsqueeze %{{.*}} {axes = array<i64: 0>} : tensor<1x1024xf32> -> tensor<1x1x1024xf32>
  %3 = bnn.unsqueeze %2 {axes = array<i64: 0>} : tensor<1x1024xf32> -> tensor<1x1x1024xf32>
  %4 = bnn.flatten %x {axis = 0 : i64} : tensor<1x32x161xf32> -> tensor<1x5152xf32>
  // CHECK: bnn.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<1x5152xf32>, tensor<1x5152xf32>) -> tensor<2x5152xf32>
  %5 = bnn.concat %4, %4 {axis = 0 : i64} : (tensor<1x5152xf32>, tensor<1x5152xf32>) -> tensor<2x5152xf32>
  return %1, %3, %5 : tensor<161x32xf32>, tensor<1x1x1024xf32>, tensor<2x5152xf32>
}

// CHECK-LABEL: func @binary_domain
func.func @binary_domain(%x: tensor<1x5152xf32>, %c: tensor<1x32x171xi1>) -> (tensor<1x2xf32>, tensor<1x32x165xi1>) {
  // CHECK: bnn.binarize %{{.*}} : tensor<1x5152xf32> -> tensor<1x5152xi1>
  %b = bnn.binarize %x : tensor<1x5152xf32> -> tensor<1x5152xi1>
  // CHECK: bnn.constant dense<true> : tensor<2x5152xi1>
  %w = bnn.constant dense<true> : tensor<2x5152xi1>
  // CHECK: bnn.xnor_dense %{{.*}}, %{{.*}} : (tensor<1x5152xi1>, tensor<2x5152xi1>) -> tensor<1x2xi32>
  %p = bnn.xnor_dense %b, %w : (tensor<1x5152xi1>, tensor<2x5152xi1>) -> tensor<1x2xi32>
  // CHECK: bnn.threshold %{{.*}} {fan_in = 5152 : i64, inverted = array<i1: false, true>, thresholds = array<i32: 2580, -1>} : tensor<1x2xi32> -> tensor<1x2xi1>
  %t = bnn.threshold %p {fan_in = 5152 : i64, inverted = array<i1: false, true>, thresholds = array<i32: 2580, -1>} : tensor<1x2xi32> -> tensor<1x2xi1>
  %w2 = bnn.constant dense<false> : tensor<2x2xi1>
  %q = bnn.xnor_dense %t, %w2 : (tensor<1x2xi1>, tensor<2x2xi1>) -> tensor<1x2xi32>
  // CHECK: bnn.popcount_affine %{{.*}} {bias = array<f32: 5.000000e-01, -5.000000e-01>, fan_in = 2 : i64, scale = array<f32: 1.000000e+00, 2.000000e+00>} : tensor<1x2xi32> -> tensor<1x2xf32>
  %y = bnn.popcount_affine %q {bias = array<f32: 0.5, -0.5>, fan_in = 2 : i64, scale = array<f32: 1.0, 2.0>} : tensor<1x2xi32> -> tensor<1x2xf32>
  %k = bnn.constant dense<true> : tensor<32x32x7xi1>
  // CHECK: bnn.xnor_conv %{{.*}}, %{{.*}} {dilations = array<i64: 1>, group = 1 : i64, strides = array<i64: 1>} : (tensor<1x32x171xi1>, tensor<32x32x7xi1>) -> tensor<1x32x165xi32>
  %r = bnn.xnor_conv %c, %k {dilations = array<i64: 1>, group = 1 : i64, strides = array<i64: 1>} : (tensor<1x32x171xi1>, tensor<32x32x7xi1>) -> tensor<1x32x165xi32>
  %s = bnn.threshold %r {fan_in = 224 : i64, inverted = array<i1: false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false>, thresholds = array<i32: 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112, 112>} : tensor<1x32x165xi32> -> tensor<1x32x165xi1>
  return %y, %s : tensor<1x2xf32>, tensor<1x32x165xi1>
}

// CHECK-LABEL: func @onnx_coverage_ops
func.func @onnx_coverage_ops(%x: tensor<2x3x4xf32>, %g: tensor<4xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x1xf32>, tensor<2x5x6xf32>, tensor<2x3x2xf32>, tensor<2x2x4xf32>, tensor<2x3x4xf32>) {
  // CHECK: bnn.sqrt %{{.*}} : tensor<2x3x4xf32>
  %0 = bnn.sqrt %x : tensor<2x3x4xf32>
  // CHECK: bnn.erf %{{.*}} : tensor<2x3x4xf32>
  %1 = bnn.erf %0 : tensor<2x3x4xf32>
  // CHECK: bnn.leaky_relu %{{.*}} {alpha = 0.00999999977 : f32} : tensor<2x3x4xf32>
  %2 = bnn.leaky_relu %1 {alpha = 0.01 : f32} : tensor<2x3x4xf32>
  // CHECK: bnn.selu %{{.*}} {alpha = 1.670000e+00 : f32, gamma = 1.050000e+00 : f32} : tensor<2x3x4xf32>
  %3 = bnn.selu %2 {alpha = 1.67 : f32, gamma = 1.05 : f32} : tensor<2x3x4xf32>
  // CHECK: bnn.pow %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %4 = bnn.pow %3, %g : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  // CHECK: bnn.max %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %5 = bnn.max %4, %g : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  // CHECK: bnn.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %6 = bnn.layer_norm %5, %g, %g {axis = 2 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  // CHECK: bnn.reduce_mean %{{.*}} {axes = array<i64: 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x3x1xf32>
  %7 = bnn.reduce_mean %6 {axes = array<i64: 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x3x1xf32>
  // CHECK: bnn.pad %{{.*}} {mode = "reflect", pads = array<i64: 0, 1, 1, 0, 1, 1>, value = 0.000000e+00 : f32} : tensor<2x3x4xf32> -> tensor<2x5x6xf32>
  %8 = bnn.pad %x {mode = "reflect", pads = array<i64: 0, 1, 1, 0, 1, 1>, value = 0.0 : f32} : tensor<2x3x4xf32> -> tensor<2x5x6xf32>
  // CHECK: bnn.slice %{{.*}} {starts = array<i64: 0, 0, 3>, steps = array<i64: 1, 1, -2>} : tensor<2x3x4xf32> -> tensor<2x3x2xf32>
  %9 = bnn.slice %x {starts = array<i64: 0, 0, 3>, steps = array<i64: 1, 1, -2>} : tensor<2x3x4xf32> -> tensor<2x3x2xf32>
  // CHECK: bnn.gather %{{.*}} {axis = 1 : i64, indices = array<i64: 2, 0>} : tensor<2x3x4xf32> -> tensor<2x2x4xf32>
  %10 = bnn.gather %x {axis = 1 : i64, indices = array<i64: 2, 0>} : tensor<2x3x4xf32> -> tensor<2x2x4xf32>
  // CHECK: bnn.log_softmax %{{.*}} {axis = 2 : i64} : tensor<2x3x4xf32>
  %11 = bnn.log_softmax %x {axis = 2 : i64} : tensor<2x3x4xf32>
  return %6, %7, %8, %9, %10, %11 : tensor<2x3x4xf32>, tensor<2x3x1xf32>, tensor<2x5x6xf32>, tensor<2x3x2xf32>, tensor<2x2x4xf32>, tensor<2x3x4xf32>
}

// CHECK-LABEL: func @resampling_ops
func.func @resampling_ops(%x: tensor<1x4x3x3xf32>, %w: tensor<4x3x3x3xf32>) -> (tensor<1x6x7x7xf32>, tensor<1x4x6x6xf32>, tensor<1x1x3x3xi64>, tensor<1x4x3x3xf32>) {
  // CHECK: bnn.conv_transpose %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 1, 1>, pads = array<i64: 1, 1, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<1x6x7x7xf32>
  %0 = bnn.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 1, 1>, pads = array<i64: 1, 1, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<1x6x7x7xf32>
  // CHECK: bnn.resize %{{.*}} {coordinate_mode = "asymmetric", cubic_coeff_a = -7.500000e-01 : f32, exclude_outside = false, mode = "nearest", nearest_mode = "floor", scales = array<f64: 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00>} : tensor<1x4x3x3xf32> -> tensor<1x4x6x6xf32>
  %1 = bnn.resize %x {coordinate_mode = "asymmetric", cubic_coeff_a = -0.75 : f32, exclude_outside = false, mode = "nearest", nearest_mode = "floor", scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : tensor<1x4x3x3xf32> -> tensor<1x4x6x6xf32>
  // CHECK: bnn.arg_max %{{.*}} {axis = 1 : i64, keepdims = true, min = false, select_last_index = false} : tensor<1x4x3x3xf32> -> tensor<1x1x3x3xi64>
  %2 = bnn.arg_max %x {axis = 1 : i64, keepdims = true, min = false, select_last_index = false} : tensor<1x4x3x3xf32> -> tensor<1x1x3x3xi64>
  // CHECK: bnn.hardmax %{{.*}} {axis = 1 : i64} : tensor<1x4x3x3xf32>
  %3 = bnn.hardmax %x {axis = 1 : i64} : tensor<1x4x3x3xf32>
  return %0, %1, %2, %3 : tensor<1x6x7x7xf32>, tensor<1x4x6x6xf32>, tensor<1x1x3x3xi64>, tensor<1x4x3x3xf32>
}
