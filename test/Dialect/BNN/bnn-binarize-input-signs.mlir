// RUN: hafnia-opt %s --bnn-binarize=mode=classifier -split-input-file -verify-diagnostics -o /dev/null
// RUN: hafnia-opt %s --bnn-binarize=mode=all -split-input-file -verify-diagnostics -o /dev/null

// bnn-binarize refuses a layer whose input can never be negative: every bit
// would be +1 and the output the same for every input. The error names the
// layer and the op that makes its input non-negative. The first layer stays
// real, so each case has one in front.

// A ReLU CNN's features reach the classifier through pooling and Flatten.
func.func @relu_pool_flatten(%x: tensor<1x2x4xf32>) -> tensor<1x2xf32> {
  %w0 = bnn.constant dense<1.0> : tensor<2x2x1xf32>
  %c = bnn.conv %x, %w0 {dilations = array<i64: 1>, group = 1 : i64, pads = array<i64: 0, 0>, strides = array<i64: 1>} : (tensor<1x2x4xf32>, tensor<2x2x1xf32>) -> tensor<1x2x4xf32> loc("conv")
  %r = bnn.relu %c : tensor<1x2x4xf32> loc("/features/relu/Relu")
  %p = bnn.max_pool %r {ceil_mode = false, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x2x4xf32> -> tensor<1x2x2xf32>
  %f = bnn.flatten %p {axis = 1 : i64} : tensor<1x2x2xf32> -> tensor<1x4xf32>
  %w = bnn.constant dense<[[1.0, -1.0, 1.0, 1.0], [-1.0, 1.0, 1.0, -1.0]]> : tensor<2x4xf32>
  // expected-error @+1 {{'bnn.dense' layer: its input is never negative (because of '/features/relu/Relu', bnn.relu), so sign binarization would read +1 for every input and give the same output for all of them; pass calibration inputs (--calibration=x.npy) to binarize each feature at a threshold chosen from its values, or retrain with a Sign after a batch norm, as binarized networks do}}
  %y = bnn.dense %f, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Global average pooling of ReLU features (ResNet, MobileNet), squeezed.
func.func @global_average(%x: tensor<1x2x2x2xf32>) -> tensor<1x2xf32> {
  %w0 = bnn.constant dense<1.0> : tensor<2x2x1x1xf32>
  %c = bnn.conv %x, %w0 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x2x2xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x2x2xf32>
  %r = bnn.clip %c {max = 6.0 : f32, min = 0.0 : f32} : tensor<1x2x2x2xf32> loc("relu6")
  %g = bnn.global_average_pool %r : tensor<1x2x2x2xf32> -> tensor<1x2x1x1xf32>
  %s = bnn.squeeze %g {axes = array<i64: 2, 3>} : tensor<1x2x1x1xf32> -> tensor<1x2xf32>
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  // expected-error @+1 {{'bnn.dense' layer: its input is never negative (because of 'relu6', bnn.clip)}}
  %y = bnn.dense %s, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// A Sign after a ReLU gives 0 or +1 in ONNX, +1 everywhere on the chip.
func.func @sign_after_relu(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  %h = bnn.dense %x, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %r = bnn.relu %h {bnn.classifier} : tensor<1x2xf32> loc("relu")
  %s = bnn.sign %r {bnn.classifier} : tensor<1x2xf32>
  // expected-error @+1 {{'bnn.dense' layer: its input is never negative (because of 'relu', bnn.relu)}}
  %y = bnn.dense %s, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// A softmax, a sigmoid, or a product of non-negative values.
func.func @sigmoid_times_softmax(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  %h = bnn.dense %x, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %a = bnn.sigmoid %h {bnn.classifier} : tensor<1x2xf32> loc("sigmoid")
  %b = bnn.softmax %h {axis = 1 : i64, bnn.classifier} : tensor<1x2xf32>
  %m = bnn.mul %a, %b {bnn.classifier} : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32>
  // expected-error @+1 {{'bnn.dense' layer: its input is never negative (because of 'sigmoid', bnn.sigmoid)}}
  %y = bnn.dense %m, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// A batch norm after the ReLU (its shift can be negative) makes sign
// binarization meaningful again: no error, no warning.
func.func @batch_norm_after_relu(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  %h = bnn.dense %x, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %r = bnn.relu %h {bnn.classifier} : tensor<1x2xf32>
  %g = bnn.constant dense<1.0> : tensor<2xf32>
  %b = bnn.constant dense<0.0> : tensor<2xf32>
  %m = bnn.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %n = bnn.batch_norm %r, %g, %b, %m, %g {epsilon = 1.0e-05 : f32, bnn.classifier} : tensor<1x2xf32>, tensor<2xf32>
  %s = bnn.sign %n {bnn.classifier} : tensor<1x2xf32>
  %y = bnn.dense %s, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// A Sign whose input can be exactly zero but also negative: ONNX and the
// chip disagree on the zeros, which a warning says.
func.func @sign_of_zeros(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = bnn.constant dense<[[1.0, -1.0], [-1.0, -1.0]]> : tensor<2x2xf32>
  %h = bnn.dense %x, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %r = bnn.relu %h {bnn.classifier} : tensor<1x2xf32>
  %c = bnn.constant dense<[0.0, -1.0]> : tensor<2xf32>
  %m = bnn.mul %r, %c {bnn.classifier} : (tensor<1x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %s = bnn.sign %m {bnn.classifier} : tensor<1x2xf32> loc("/classifier/act/Sign")
  // expected-warning @+1 {{'bnn.dense' layer: the input of Sign '/classifier/act/Sign' can be exactly zero, where ONNX's Sign gives 0 and the chip +1; the outputs differ from the ONNX model's wherever it is}}
  %y = bnn.dense %s, %w {bnn.classifier, transpose_rhs = true} : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
