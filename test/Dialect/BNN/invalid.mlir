// RUN: hafnia-opt %s -split-input-file -verify-diagnostics

func.func @conv_rank(%x: tensor<1x2x3x4x5xf32>, %w: tensor<1x2x1x1x1xf32>) {
  // expected-error @+1 {{expects a 1-D (N x C x L) or 2-D (N x C x H x W) input, got rank 5}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1, 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0, 0, 0>, strides = array<i64: 1, 1, 1>} : (tensor<1x2x3x4x5xf32>, tensor<1x2x1x1x1xf32>) -> tensor<1x1x3x4x5xf32>
  return
}

// -----

func.func @conv_group(%x: tensor<1x6x8xf32>, %w: tensor<4x2x3xf32>) {
  // expected-error @+1 {{expects group (4) to divide the input channels (6) and the filters (4)}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1>, group = 4 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x6x8xf32>, tensor<4x2x3xf32>) -> tensor<1x4x6xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<1x6x8xf32>, %w: tensor<4x2x3xf32>) {
  // expected-error @+1 {{expects 6 input channels per filter (channels / group), got 2}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x6x8xf32>, tensor<4x2x3xf32>) -> tensor<1x4x6xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x2x8xf32>, %w: tensor<4x2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{expects a bias of 4 elements}}
  %0 = bnn.conv %x, %w, %b {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x8xf32>, tensor<4x2x3xf32>, tensor<3xf32>) -> tensor<1x4x6xf32>
  return
}

// -----

func.func @conv_pads(%x: tensor<1x2x8xf32>, %w: tensor<4x2x3xf32>) {
  // expected-error @+1 {{expects 2 pads (all begins, then all ends), got 1}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0>, strides = array<i64: 1>} : (tensor<1x2x8xf32>, tensor<4x2x3xf32>) -> tensor<1x4x6xf32>
  return
}

// -----

func.func @conv_stride(%x: tensor<1x2x8xf32>, %w: tensor<4x2x3xf32>) {
  // expected-error @+1 {{expects positive kernel sizes, strides and dilations}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 0>} : (tensor<1x2x8xf32>, tensor<4x2x3xf32>) -> tensor<1x4x6xf32>
  return
}

// -----

func.func @conv_negative_pad(%x: tensor<1x2x8xf32>, %w: tensor<4x2x3xf32>) {
  // expected-error @+1 {{expects non-negative pads}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: -1, 0>, strides = array<i64: 1>} : (tensor<1x2x8xf32>, tensor<4x2x3xf32>) -> tensor<1x4x6xf32>
  return
}

// -----

func.func @conv_window(%x: tensor<1x2x2xf32>, %w: tensor<4x2x3xf32>) {
  // expected-error @+1 {{window of spatial axis 0 does not fit in the padded input}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x2xf32>, tensor<4x2x3xf32>) -> tensor<1x4x1xf32>
  return
}

// -----

func.func @conv_result(%x: tensor<1x2x8xf32>, %w: tensor<4x2x3xf32>) {
  // expected-error @+1 {{expects result shape 1x4x6, got 1x4x8}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x8xf32>, tensor<4x2x3xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @conv_weight_rank(%x: tensor<1x2x8xf32>, %w: tensor<4x2xf32>) {
  // expected-error @+1 {{expects a weight of rank 3 (M x C/group x kernel), got rank 2}}
  %0 = bnn.conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x8xf32>, tensor<4x2xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @real_only(%x: tensor<2x3xi32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit float values}}
  %0 = bnn.relu %x : tensor<2x3xi32>
  return
}

// -----

func.func @static_only(%x: tensor<?x3xf32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit float values}}
  %0 = bnn.relu %x : tensor<?x3xf32>
  return
}

// -----

func.func @dense_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+1 {{contracts 3 lhs columns with 4 rhs rows}}
  %0 = bnn.dense %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return
}

// -----

func.func @dense_transpose_rank(%a: tensor<2x2x3xf32>, %b: tensor<4x3xf32>) {
  // expected-error @+1 {{with a transpose or a bias expects rank-2 operands (the Gemm form)}}
  %0 = bnn.dense %a, %b {transpose_rhs = true} : (tensor<2x2x3xf32>, tensor<4x3xf32>) -> tensor<2x2x4xf32>
  return
}

// -----

func.func @dense_bias(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<3xf32>) {
  // expected-error @+1 {{expects a bias that broadcasts to 2x4, got 3}}
  %0 = bnn.dense %a, %b, %c : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @dense_batch(%a: tensor<2x4x3xf32>, %b: tensor<5x3x2xf32>) {
  // expected-error @+1 {{has batch dimensions that do not broadcast}}
  %0 = bnn.dense %a, %b : (tensor<2x4x3xf32>, tensor<5x3x2xf32>) -> tensor<2x4x2xf32>
  return
}

// -----

func.func @dense_result(%a: tensor<3xf32>, %b: tensor<3x2xf32>) {
  // expected-error @+1 {{expects result shape 2, got 1x2}}
  %0 = bnn.dense %a, %b : (tensor<3xf32>, tensor<3x2xf32>) -> tensor<1x2xf32>
  return
}

// -----

func.func @batch_norm_channels(%x: tensor<1x4x8xf32>, %p: tensor<3xf32>) {
  // expected-error @+1 {{expects per-channel parameters of 4 elements, got 3}}
  %0 = bnn.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-05 : f32} : tensor<1x4x8xf32>, tensor<3xf32>
  return
}

// -----

func.func @batch_norm_epsilon(%x: tensor<1x4xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{expects a non-negative epsilon}}
  %0 = bnn.batch_norm %x, %p, %p, %p, %p {epsilon = -1.0 : f32} : tensor<1x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_rank(%x: tensor<4xf32>, %p: tensor<4xf32>) {
  // expected-error @+1 {{expects an input with a channel axis (rank >= 2)}}
  %0 = bnn.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-05 : f32} : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @clip_bounds(%x: tensor<4xf32>) {
  // expected-error @+1 {{expects min <= max, got min = 1.000000e+00 and max = -1.000000e+00}}
  %0 = bnn.clip %x {max = -1.0 : f32, min = 1.0 : f32} : tensor<4xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<1x2xf32>) {
  // expected-error @+1 {{expects axis in [0, 2), got -1}}
  %0 = bnn.softmax %x {axis = -1 : i64} : tensor<1x2xf32>
  return
}

// -----

func.func @max_pool_result(%x: tensor<1x3x7xf32>) {
  // expected-error @+1 {{expects result shape 1x3x3, got 1x3x4}}
  %0 = bnn.max_pool %x {ceil_mode = false, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x3x7xf32> -> tensor<1x3x4xf32>
  return
}

// -----

func.func @average_pool_kernel(%x: tensor<1x3x7xf32>) {
  // expected-error @+1 {{expects one kernel size, stride and dilation per spatial axis (1)}}
  %0 = bnn.average_pool %x {ceil_mode = false, count_include_pad = false, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x3x7xf32> -> tensor<1x3x3xf32>
  return
}

// -----

func.func @global_pool(%x: tensor<1x3x7xf32>) {
  // expected-error @+1 {{expects result shape 1x3x1, got 1x3}}
  %0 = bnn.global_average_pool %x : tensor<1x3x7xf32> -> tensor<1x3xf32>
  return
}

// -----

func.func @broadcast(%a: tensor<2x3xf32>, %b: tensor<2xf32>) {
  // expected-error @+1 {{operands don't have broadcast-compatible shapes}}
  %0 = bnn.add %a, %b : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot reshape 2x3 into 7: the element counts differ}}
  %0 = bnn.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return
}

// -----

func.func @flatten_result(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{expects result shape 6x4, got 2x12}}
  %0 = bnn.flatten %x {axis = 2 : i64} : tensor<2x3x4xf32> -> tensor<2x12xf32>
  return
}

// -----

func.func @flatten_axis(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expects axis in [0, 2], got 3}}
  %0 = bnn.flatten %x {axis = 3 : i64} : tensor<2x3xf32> -> tensor<6x1xf32>
  return
}

// -----

func.func @transpose_permutation(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expects a permutation of 0..1}}
  %0 = bnn.transpose %x {permutation = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @squeeze_size(%x: tensor<2x1xf32>) {
  // expected-error @+1 {{cannot squeeze dimension 0 of size 2}}
  %0 = bnn.squeeze %x {axes = array<i64: 0>} : tensor<2x1xf32> -> tensor<1xf32>
  return
}

// -----

func.func @squeeze_sorted(%x: tensor<1x1xf32>) {
  // expected-error @+1 {{expects sorted, distinct axes}}
  %0 = bnn.squeeze %x {axes = array<i64: 1, 0>} : tensor<1x1xf32> -> tensor<f32>
  return
}

// -----

func.func @unsqueeze_axis(%x: tensor<2xf32>) {
  // expected-error @+1 {{expects axes in [0, 2), got 2}}
  %0 = bnn.unsqueeze %x {axes = array<i64: 2>} : tensor<2xf32> -> tensor<2x1xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<1x2xf32>, %b: tensor<2x3xf32>) {
  // expected-error @+1 {{expects inputs to agree on every dimension but 1, they differ on 0}}
  %0 = bnn.concat %a, %b {axis = 1 : i64} : (tensor<1x2xf32>, tensor<2x3xf32>) -> tensor<1x5xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<1x2xf32>, %b: tensor<2xf32>) {
  // expected-error @+1 {{expects inputs of equal rank}}
  %0 = bnn.concat %a, %b {axis = 0 : i64} : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @constant_type() {
  // expected-error @+1 {{failed to verify that all of {value, result} have same type}}
  %0 = "bnn.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<3xf32>
  return
}

// -----

func.func @binarize_type(%x: tensor<2xf32>) {
  // expected-error @+1 {{result #0 must be statically shaped tensor of 1-bit signless integer values}}
  %0 = bnn.binarize %x : tensor<2xf32> -> tensor<2xi32>
  return
}

// -----

func.func @xnor_dense_fan_in(%x: tensor<1x8xi1>, %w: tensor<2x9xi1>) {
  // expected-error @+1 {{expects 9 input bits per sample (the weight's K), got 8}}
  %0 = bnn.xnor_dense %x, %w : (tensor<1x8xi1>, tensor<2x9xi1>) -> tensor<1x2xi32>
  return
}

// -----

func.func @xnor_dense_result(%x: tensor<1x8xi1>, %w: tensor<2x8xi1>) {
  // expected-error @+1 {{expects result shape 1x2, got 1x3}}
  %0 = bnn.xnor_dense %x, %w : (tensor<1x8xi1>, tensor<2x8xi1>) -> tensor<1x3xi32>
  return
}

// -----

func.func @xnor_dense_real(%x: tensor<1x8xf32>, %w: tensor<2x8xi1>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 1-bit signless integer values}}
  %0 = bnn.xnor_dense %x, %w : (tensor<1x8xf32>, tensor<2x8xi1>) -> tensor<1x2xi32>
  return
}

// -----

func.func @xnor_conv_result(%x: tensor<1x2x8xi1>, %w: tensor<4x2x3xi1>) {
  // expected-error @+1 {{expects result shape 1x4x6, got 1x4x8}}
  %0 = bnn.xnor_conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, strides = array<i64: 1>} : (tensor<1x2x8xi1>, tensor<4x2x3xi1>) -> tensor<1x4x8xi32>
  return
}

// -----

func.func @xnor_conv_channels(%x: tensor<1x2x8xi1>, %w: tensor<4x3x3xi1>) {
  // expected-error @+1 {{expects 2 input channels per filter (channels / group), got 3}}
  %0 = bnn.xnor_conv %x, %w {dilations = array<i64: 1>, group = 1 : i64, strides = array<i64: 1>} : (tensor<1x2x8xi1>, tensor<4x3x3xi1>) -> tensor<1x4x6xi32>
  return
}

// -----

func.func @threshold_range(%p: tensor<1x2xi32>) {
  // expected-error @+1 {{threshold 10 of channel 1 lies outside [-1, fan_in + 1] = [-1, 9]}}
  %0 = bnn.threshold %p {fan_in = 8 : i64, inverted = array<i1: false, false>, thresholds = array<i32: 4, 10>} : tensor<1x2xi32> -> tensor<1x2xi1>
  return
}

// -----

func.func @threshold_channels(%p: tensor<1x2xi32>) {
  // expected-error @+1 {{expects one value per channel (2), got 3}}
  %0 = bnn.threshold %p {fan_in = 8 : i64, inverted = array<i1: false, false, false>, thresholds = array<i32: 4, 4, 4>} : tensor<1x2xi32> -> tensor<1x2xi1>
  return
}

// -----

func.func @threshold_fan_in(%x: tensor<1x8xi1>, %w: tensor<2x8xi1>) {
  %p = bnn.xnor_dense %x, %w : (tensor<1x8xi1>, tensor<2x8xi1>) -> tensor<1x2xi32>
  // expected-error @+1 {{has fan_in 9 but its popcounts count 8 inputs}}
  %0 = bnn.threshold %p {fan_in = 9 : i64, inverted = array<i1: false, false>, thresholds = array<i32: 4, 4>} : tensor<1x2xi32> -> tensor<1x2xi1>
  return
}

// -----

func.func @popcount_affine_channels(%p: tensor<1x2xi32>) {
  // expected-error @+1 {{expects one value per channel (2), got 1}}
  %0 = bnn.popcount_affine %p {bias = array<f32: 0.0>, fan_in = 8 : i64, scale = array<f32: 1.0, 1.0>} : tensor<1x2xi32> -> tensor<1x2xf32>
  return
}

// -----

func.func @popcount_affine_fan_in(%p: tensor<1x2xi32>) {
  // expected-error @+1 {{expects a positive fan_in, got 0}}
  %0 = bnn.popcount_affine %p {bias = array<f32: 0.0, 0.0>, fan_in = 0 : i64, scale = array<f32: 1.0, 1.0>} : tensor<1x2xi32> -> tensor<1x2xf32>
  return
}

// -----

func.func @pad_count(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expects 4 pads (all begins, then all ends), got 2}}
  %0 = bnn.pad %x {mode = "constant", pads = array<i64: 1, 1>, value = 0.0 : f32} : tensor<2x3xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @pad_mode(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expects mode constant, reflect or edge, got 'wrap'}}
  %0 = bnn.pad %x {mode = "wrap", pads = array<i64: 0, 1, 0, 1>, value = 0.0 : f32} : tensor<2x3xf32> -> tensor<2x5xf32>
  return
}

// -----

func.func @pad_reflect(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{reflects 3 elements of axis 1, which has only 3}}
  %0 = bnn.pad %x {mode = "reflect", pads = array<i64: 0, 3, 0, 0>, value = 0.0 : f32} : tensor<2x3xf32> -> tensor<2x6xf32>
  return
}

// -----

func.func @pad_result(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expects result shape 2x5, got 2x6}}
  %0 = bnn.pad %x {mode = "edge", pads = array<i64: 0, 1, 0, 1>, value = 0.0 : f32} : tensor<2x3xf32> -> tensor<2x6xf32>
  return
}

// -----

func.func @reduce_axes(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expects sorted, distinct axes}}
  %0 = bnn.reduce_sum %x {axes = array<i64: 1, 0>, keepdims = false} : tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @reduce_result(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expects result shape 2x1, got 2}}
  %0 = bnn.reduce_max %x {axes = array<i64: 1>, keepdims = true} : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<2x3x4xf32>, %g: tensor<3xf32>) {
  // expected-error @+1 {{expects scale and bias that broadcast to the normalized shape 4, got 3}}
  %0 = bnn.layer_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x3x4xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @layer_norm_axis(%x: tensor<2x3x4xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{expects axis in [0, 3), got 3}}
  %0 = bnn.layer_norm %x, %g {axis = 3 : i64, epsilon = 1.0e-05 : f32} : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @slice_bounds(%x: tensor<2x5xf32>) {
  // expected-error @+1 {{reads outside axis 1 of size 5 (elements 3 to 7)}}
  %0 = bnn.slice %x {starts = array<i64: 0, 3>, steps = array<i64: 1, 2>} : tensor<2x5xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @slice_step(%x: tensor<2x5xf32>) {
  // expected-error @+1 {{expects non-zero steps}}
  %0 = bnn.slice %x {starts = array<i64: 0, 0>, steps = array<i64: 1, 0>} : tensor<2x5xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @gather_index(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{index 3 is out of range for axis 1 of size 3}}
  %0 = bnn.gather %x {axis = 1 : i64, indices = array<i64: 3>} : tensor<2x3xf32> -> tensor<2x1xf32>
  return
}

// -----

func.func @gather_count(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expects 2 indices for result dimensions 1..1, got 1}}
  %0 = bnn.gather %x {axis = 1 : i64, indices = array<i64: 0>} : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @global_max_pool_result(%x: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{expects result shape 1x4x1x1, got 1x4x3x1}}
  %0 = bnn.global_max_pool %x : tensor<1x4x3x3xf32> -> tensor<1x4x3x1xf32>
  return
}

// -----

func.func @conv_transpose_shape(%x: tensor<1x4x3x3xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{expects result shape 1x6x6x6, got 1x6x5x5}}
  %0 = bnn.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 2 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 1, 1, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<1x6x5x5xf32>
  return
}

// -----

func.func @conv_transpose_weight(%x: tensor<1x4x3x3xf32>, %w: tensor<3x3x3x3xf32>) {
  // expected-error @+1 {{expects a weight of 4 input channels, got 3}}
  %0 = bnn.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, output_padding = array<i64: 0, 0>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x3x3xf32>, tensor<3x3x3x3xf32>) -> tensor<1x3x5x5xf32>
  return
}

// -----

func.func @resize_scales(%x: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{expects one scale per axis (4), got 2}}
  %0 = bnn.resize %x {coordinate_mode = "asymmetric", cubic_coeff_a = -0.75 : f32, exclude_outside = false, mode = "nearest", nearest_mode = "floor", scales = array<f64: 2.0, 2.0>} : tensor<1x4x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @resize_mode(%x: tensor<1x4x3x3xf32>) {
  // expected-error @+1 {{expects mode nearest, linear or cubic, got 'area'}}
  %0 = bnn.resize %x {coordinate_mode = "asymmetric", cubic_coeff_a = -0.75 : f32, exclude_outside = false, mode = "area", nearest_mode = "floor", scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : tensor<1x4x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @arg_max_shape(%x: tensor<2x5xf32>) {
  // expected-error @+1 {{expects result shape 2, got 2x1}}
  %0 = bnn.arg_max %x {axis = 1 : i64, keepdims = false, min = false, select_last_index = false} : tensor<2x5xf32> -> tensor<2x1xi64>
  return
}

// -----

func.func @hardmax_axis(%x: tensor<2x5xf32>) {
  // expected-error @+1 {{expects axis in [0, 2), got 2}}
  %0 = bnn.hardmax %x {axis = 2 : i64} : tensor<2x5xf32>
  return
}
