// RUN: hafnia-opt %s | FileCheck %s
// RUN: hafnia-opt %s | hafnia-opt | FileCheck %s

// CHECK: module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 8>}
module attributes {rram.target = #rram.target<rows = 2, columns = 4, arrays = 8, digital_memory_bytes = 1024, real_bits = 8>} {
  // CHECK-LABEL: func @ops
  func.func @ops(%x: tensor<1x2x5xi1>) -> tensor<1x2x3xi32> {
    // CHECK: rram.im2col %{{.*}} {channel_offset = 0 : i64, channels = 2 : i64, dilations = array<i64: 1>, kernel_shape = array<i64: 3>, strides = array<i64: 1>} : tensor<1x2x5xi1> -> tensor<3x6xi1>
    %f = rram.im2col %x {channel_offset = 0 : i64, channels = 2 : i64, dilations = array<i64: 1>, kernel_shape = array<i64: 3>, strides = array<i64: 1>} : tensor<1x2x5xi1> -> tensor<3x6xi1>
    // CHECK: rram.input_slice %{{.*}} {offset = 4 : i64} : tensor<3x6xi1> -> tensor<3x4xi1>
    %s0 = rram.input_slice %f {offset = 0 : i64} : tensor<3x6xi1> -> tensor<3x4xi1>
    %s1 = rram.input_slice %f {offset = 4 : i64} : tensor<3x6xi1> -> tensor<3x4xi1>
    // CHECK: rram.tile {array = 7 : i64, column_tile = 1 : i64, columns_used = 2 : i64, image = dense<true> : tensor<2x4xi1>, layer = "conv", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %t0 = rram.tile {array = 6 : i64, column_tile = 0 : i64, columns_used = 4 : i64, image = dense<true> : tensor<2x4xi1>, layer = "conv", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    %t1 = rram.tile {array = 7 : i64, column_tile = 1 : i64, columns_used = 2 : i64, image = dense<true> : tensor<2x4xi1>, layer = "conv", row_tile = 0 : i64, rows_used = 2 : i64} : !rram.tile
    // CHECK: rram.xnor_read %{{.*}}, %{{.*}} : (!rram.tile, tensor<3x4xi1>) -> tensor<3x2xi32>
    %r0 = rram.xnor_read %t0, %s0 : (!rram.tile, tensor<3x4xi1>) -> tensor<3x2xi32>
    %r1 = rram.xnor_read %t1, %s1 : (!rram.tile, tensor<3x4xi1>) -> tensor<3x2xi32>
    // CHECK: rram.accumulate %{{.*}}, %{{.*}} {correction = -2 : i64} : tensor<3x2xi32>
    %a = rram.accumulate %r0, %r1 {correction = -2 : i64} : tensor<3x2xi32>
    // CHECK: rram.collect %{{.*}} {rows_used = array<i64: 2>} : (tensor<3x2xi32>) -> tensor<1x2x3xi32>
    %y = rram.collect %a {rows_used = array<i64: 2>} : (tensor<3x2xi32>) -> tensor<1x2x3xi32>
    return %y : tensor<1x2x3xi32>
  }
}
