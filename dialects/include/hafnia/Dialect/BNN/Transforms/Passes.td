//===- Passes.td - Passes of the bnn dialect ---------------*- tablegen -*-===//

#ifndef HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_TD
#define HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DetectClassifierPass : Pass<"bnn-detect-classifier", "::mlir::func::FuncOp"> {
  let summary = "Mark the dense layers of the network's classifier";
  let description = [{
    The classifier is the dense layers (`bnn.dense`) that come after the last
    convolution, pooling, flatten or reshape: the part the paper binarizes
    to keep accuracy while saving most of the memory. A network without any
    of those is all classifier. Its ops (the dense layers with their
    normalizations and activations) get the unit attribute `bnn.classifier`,
    and a remark names the dense layers.

    Before:
    ```mlir
    %f = bnn.flatten %x {axis = 1 : i64} : tensor<1x32x161xf32> -> tensor<1x5152xf32>
    %y = bnn.dense %f, %w, %b {transpose_rhs = true} : (...) -> tensor<1x75xf32>
    ```
    After:
    ```mlir
    %f = bnn.flatten %x {axis = 1 : i64} : tensor<1x32x161xf32> -> tensor<1x5152xf32>
    %y = bnn.dense %f, %w, %b {bnn.classifier, transpose_rhs = true} : (...) -> tensor<1x75xf32>
    ```
  }];
}

def PrintSignsPass : Pass<"bnn-print-signs", "::mlir::func::FuncOp"> {
  let summary = "Report which signs each real value can take (a remark per op)";
  let description = [{
    Runs the sign analysis that `bnn-binarize` relies on and reports, for the
    real result of every op but constants, the signs it can take (negative,
    zero, positive) and, where it cannot be negative, the op that made it
    so. The analysis is a sparse forward dataflow analysis: `relu`,
    `hard_sigmoid`, `sigmoid`, `softmax` and `clip` with a non-negative
    minimum remove negative values; pooling, reshapes and averages keep the
    signs of their input; sums, products and batch normalization combine
    the signs of their operands and constants; anything else may take any
    sign. It is for tests and for reading why a layer was refused.

    ```mlir
    %r = bnn.relu %x : tensor<1x4xf32>   // remark: signs: zero|positive (non-negative from 'relu')
    ```
  }];
}

def FuseLayerNormPass : Pass<"bnn-fuse-layer-norm", "::mlir::func::FuncOp"> {
  let summary = "Recognize a decomposed layer normalization as one op";
  let description = [{
    Exporters before opset 17 (PyTorch's `nn.LayerNorm` at opset 13) write a
    layer normalization as `ReduceMean`, `Sub`, `Pow(2)`, `ReduceMean`,
    `Add(epsilon)`, `Sqrt`, `Div`, then `Mul` by the scale and `Add` of the
    bias. This pass turns the whole chain into one `bnn.layer_norm` (one
    instruction instead of nine on the digital core) where the reductions
    run over the same trailing axes with `keepdims`, the exponent is 2 and
    epsilon, scale and bias are constants of the normalized shape. The
    result differs from the decomposed chain only by f32 rounding.

    Before:
    ```mlir
    %m = bnn.reduce_mean %x {axes = array<i64: 2>, keepdims = true} : tensor<1x4x8xf32> -> tensor<1x4x1xf32>
    %d = bnn.sub %x, %m : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
    %p = bnn.pow %d, %two : (tensor<1x4x8xf32>, tensor<f32>) -> tensor<1x4x8xf32>
    %v = bnn.reduce_mean %p {axes = array<i64: 2>, keepdims = true} : tensor<1x4x8xf32> -> tensor<1x4x1xf32>
    %e = bnn.add %v, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
    %s = bnn.sqrt %e : tensor<1x4x1xf32>
    %n = bnn.div %d, %s : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
    %y = bnn.mul %n, %gamma : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
    %z = bnn.add %y, %beta : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
    ```
    After:
    ```mlir
    %z = bnn.layer_norm %x, %gamma, %beta {axis = 2 : i64, epsilon = ...}
        : (tensor<1x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
    ```
  }];
}

def BinarizePass : Pass<"bnn-binarize", "::mlir::func::FuncOp"> {
  let summary = "Turn dense and convolution layers into XNOR-popcount layers";
  let description = [{
    `mode=classifier` binarizes the layers `bnn-detect-classifier` marked;
    `mode=all` every convolution and dense layer; `mode=none` nothing. In
    both modes the first layer of the network, the one that reads the raw
    input, stays real unless `binarize-first-layer` is set (BNN practice; it
    also keeps an MLP's input layer real when the whole MLP is classifier).

    A binarized layer reads `bnn.binarize` of its input (looking through
    activations that keep the sign: `Sign`, `Tanh`, `Clip` around zero),
    multiplies by binary weights in `bnn.xnor_dense` or `bnn.xnor_conv`,
    and turns the popcounts back into the layer's real output with
    `bnn.popcount_affine` (bias, Gemm's alpha and beta, weight scale).

    The sign analysis (`bnn-print-signs`) guards the input: where it can
    never be negative (it comes through a ReLU, a sigmoid, a softmax, a
    pooling of those, ...), every bit would be +1 and the layer's output the
    same for every input, so the pass fails with an error naming the layer
    and the op that makes the input non-negative. Where a `Sign` looked
    through can see an exact zero (a Sign after a ReLU), ONNX gives 0 and
    the chip +1: a warning says so.

    Weights that are all +1/-1, or `Sign` of a constant, are taken
    exactly (a model trained binarized); other weights become their signs
    scaled per neuron by their mean magnitude, with a warning naming the
    layer: accuracy drops, and the simulator measures how much. Layers the
    chip cannot hold exactly (a padded convolution, a batched matrix
    product, a weight computed at run time) stay real, with a warning.

    Before:
    ```mlir
    %s = bnn.sign %x : tensor<1x75xf32>
    %y = bnn.dense %s, %w, %b {bnn.classifier, transpose_rhs = true}
        : (tensor<1x75xf32>, tensor<2x75xf32>, tensor<2xf32>) -> tensor<1x2xf32>
    ```
    After (`%w` all +1/-1):
    ```mlir
    %xb = bnn.binarize %x : tensor<1x75xf32> -> tensor<1x75xi1>
    %wb = bnn.constant dense<...> : tensor<2x75xi1>
    %p = bnn.xnor_dense %xb, %wb : (tensor<1x75xi1>, tensor<2x75xi1>) -> tensor<1x2xi32>
    %y = bnn.popcount_affine %p {bias = array<f32: ...>, fan_in = 75 : i64,
                                 scale = array<f32: 1.0, 1.0>}
        : tensor<1x2xi32> -> tensor<1x2xf32>
    ```
  }];
  let options = [
    // The values, their help and the default are hafnia-compile's
    // --binarize too (hafnia/Dialect/BNN/Transforms/Passes.h).
    Option<"mode", "mode", "::hafnia::bnn::BinarizeMode",
           "::hafnia::bnn::kDefaultBinarizeMode",
           "Which layers to binarize",
           [{::hafnia::bnn::getBinarizeModeValues()}]>,
    Option<"binarizeFirstLayer", "binarize-first-layer", "bool", "false",
           "Binarize the first layer too (the one reading the model input)">,
  ];
}

def FoldThresholdsPass : Pass<"bnn-fold-thresholds", "::mlir::func::FuncOp"> {
  let summary = "Fold bias, batch norm and sign into integer popcount thresholds";
  let description = [{
    Where the output of a binary layer (`bnn.popcount_affine`) reaches a
    `bnn.binarize` through per-channel affine steps (batch normalization,
    multiplication or addition by per-channel constants), the whole chain is
    one monotone function of the popcount, so the sign it feeds is a
    comparison of the popcount with an integer: `bnn.threshold`. The
    threshold of each channel is found by evaluating the chain in f32
    exactly as the ops compute it, so it reproduces the float decision for
    every popcount; a negative scale flips the comparison, a zero scale
    gives a constant output. A binary layer that no sign follows (a
    classifier's last layer) keeps its popcount affine and what follows on
    the digital core.

    Before:
    ```mlir
    %y = bnn.popcount_affine %p {bias = array<f32: 0.0>, fan_in = 75 : i64,
                                 scale = array<f32: 1.0>} : tensor<1x1xi32> -> tensor<1x1xf32>
    %n = bnn.batch_norm %y, %g, %b, %m, %v {epsilon = 1.0e-05 : f32} : tensor<1x1xf32>, tensor<1xf32>
    %s = bnn.binarize %n : tensor<1x1xf32> -> tensor<1x1xi1>
    ```
    After:
    ```mlir
    %s = bnn.threshold %p {fan_in = 75 : i64, inverted = array<i1: false>,
                           thresholds = array<i32: 40>} : tensor<1x1xi32> -> tensor<1x1xi1>
    ```
  }];
}

#endif // HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_TD
