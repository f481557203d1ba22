// RUN: hafnia-opt %s --bnn-print-signs -split-input-file -verify-diagnostics -o /dev/null

// The signs each real value can take. Zero counts where it is a regular
// value (what a ReLU gives for every negative input, or a constant), not
// where a sum cancels by coincidence.

func.func @activations(%x: tensor<1x4xf32>) {
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.relu')}}
  %r = bnn.relu %x : tensor<1x4xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.sigmoid')}}
  %s = bnn.sigmoid %x : tensor<1x4xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.softmax')}}
  %m = bnn.softmax %x {axis = 1 : i64} : tensor<1x4xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.hard_sigmoid')}}
  %h = bnn.hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<1x4xf32>
  // Tanh and Sign keep the signs of their input.
  // expected-remark @+1 {{signs: negative|positive}}
  %t = bnn.tanh %x : tensor<1x4xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.relu')}}
  %g = bnn.sign %r : tensor<1x4xf32>
  return
}

// -----

func.func @clips(%x: tensor<1x4xf32>) {
  // expected-remark @+1 {{signs: negative|positive}}
  %a = bnn.clip %x {max = 1.0 : f32, min = -1.0 : f32} : tensor<1x4xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.clip')}}
  %b = bnn.clip %x {max = 6.0 : f32, min = 0.0 : f32} : tensor<1x4xf32>
  // expected-remark @+1 {{signs: positive (non-negative from 'bnn.clip')}}
  %c = bnn.clip %x {min = 0.5 : f32} : tensor<1x4xf32>
  // expected-remark @+1 {{signs: negative|zero}}
  %d = bnn.clip %x {max = 0.0 : f32} : tensor<1x4xf32>
  return
}

// -----

// Pooling, reshapes and concatenation keep the signs; sums, products and
// batch norms combine them with the signs of their constants.
func.func @combinations(%x: tensor<1x2x4xf32>) {
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.relu')}}
  %r = bnn.relu %x : tensor<1x2x4xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.relu')}}
  %p = bnn.average_pool %r {ceil_mode = false, count_include_pad = true, kernel_shape = array<i64: 2>, pads = array<i64: 1, 1>, strides = array<i64: 2>} : tensor<1x2x4xf32> -> tensor<1x2x3xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.relu')}}
  %f = bnn.flatten %p {axis = 1 : i64} : tensor<1x2x3xf32> -> tensor<1x6xf32>
  %pos = bnn.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
  %neg = bnn.constant dense<-1.0> : tensor<1xf32>
  // expected-remark @+1 {{signs: positive (non-negative from 'bnn.relu')}}
  %a = bnn.add %f, %pos : (tensor<1x6xf32>, tensor<6xf32>) -> tensor<1x6xf32>
  // expected-remark @+1 {{signs: negative|zero}}
  %n = bnn.mul %f, %neg : (tensor<1x6xf32>, tensor<1xf32>) -> tensor<1x6xf32>
  // expected-remark @+1 {{signs: negative|positive}}
  %s = bnn.sub %f, %pos : (tensor<1x6xf32>, tensor<6xf32>) -> tensor<1x6xf32>
  // A non-negative weight keeps a dense layer of non-negative inputs so.
  %w = bnn.constant dense<0.5> : tensor<6x3xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.relu')}}
  %d = bnn.dense %f, %w : (tensor<1x6xf32>, tensor<6x3xf32>) -> tensor<1x3xf32>
  %g = bnn.constant dense<1.0> : tensor<2xf32>
  %m = bnn.constant dense<0.5> : tensor<2xf32>
  // expected-remark @+1 {{signs: negative|positive}}
  %b = bnn.batch_norm %r, %g, %g, %m, %g {epsilon = 1.0e-05 : f32} : tensor<1x2x4xf32>, tensor<2xf32>
  // expected-remark @+1 {{signs: negative|zero}}
  %o = bnn.mul %r, %neg : (tensor<1x2x4xf32>, tensor<1xf32>) -> tensor<1x2x4xf32>
  // expected-remark @+1 {{signs: negative|zero|positive}}
  %c = bnn.concat %r, %o {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x4x4xf32>
  return
}

// -----

// Operators of real exports: square roots, exponentials and absolute values
// are never negative; leaky ReLUs keep signs; a negation flips them; a
// maximum with a non-negative value is non-negative.
func.func @more_operators(%x: tensor<1x4xf32>) {
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.exp')}}
  %e = bnn.exp %x : tensor<1x4xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.abs')}}
  %a = bnn.abs %x : tensor<1x4xf32>
  // expected-remark @+1 {{signs: negative|zero}}
  %n = bnn.neg %a : tensor<1x4xf32>
  // expected-remark @+1 {{signs: negative|positive}}
  %l = bnn.leaky_relu %x {alpha = 0.01 : f32} : tensor<1x4xf32>
  // expected-remark @+1 {{signs: zero|positive (non-negative from 'bnn.exp')}}
  %m = bnn.max %l, %e : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}
