//===- BNNOps.td - Operations of the bnn dialect -----------*- tablegen -*-===//

#ifndef HAFNIA_DIALECT_BNN_IR_BNNOPS_TD
#define HAFNIA_DIALECT_BNN_IR_BNNOPS_TD

include "hafnia/Dialect/BNN/IR/BNNDialect.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def BNN_ConstantOp : BNN_Op<"constant", [ConstantLike, Pure,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "A constant tensor (an ONNX initializer or Constant node)";
  let description = [{
    Holds weights, biases and normalization parameters: real (`f32`), or
    binary (`i1`, stored one bit per weight). Large initializers are stored
    once, in the attribute, without further copies.

    ```mlir
    %w = bnn.constant dense<[[1.0, -1.0]]> : tensor<1x2xf32>
    %b = bnn.constant dense<[[true, false]]> : tensor<1x2xi1>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyTypeOf<[BNN_RealTensor, BNN_BitTensor]>:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Convolution and dense layers
//===----------------------------------------------------------------------===//

def BNN_ConvOp : BNN_Op<"conv", [Pure]> {
  let summary = "1-D or 2-D convolution, grouped or depthwise (ONNX Conv)";
  let description = [{
    `output[n, m, p] = bias[m] + sum_{c, k} input[n, g*C/G + c, p*s + k*d - pad]
    * weight[m, c, k]` where `g` is the group of output channel `m`. The input
    is `N x C x L` (1-D) or `N x C x H x W` (2-D); the weight is
    `M x C/group x K...`; the optional bias has `M` elements. Positions in the
    padding read zero. `group = C = M` is a depthwise convolution.

    ```mlir
    %y = bnn.conv %x, %w, %b {dilations = array<i64: 1>, group = 1 : i64,
                              pads = array<i64: 0, 0>, strides = array<i64: 1>}
        : (tensor<1x12x750xf32>, tensor<32x12x13xf32>, tensor<32xf32>)
          -> tensor<1x32x738xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, BNN_RealTensor:$weight,
                   Optional<BNN_RealTensor>:$bias,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def BNN_DenseOp : BNN_Op<"dense", [Pure]> {
  let summary = "Matrix product with optional transposes and bias (ONNX Gemm, MatMul)";
  let description = [{
    `output = alpha * matmul(op(lhs), op(rhs)) + beta * bias`, where `op`
    transposes its operand when `transpose_lhs` / `transpose_rhs` is set.
    With rank-2 operands this is ONNX `Gemm` (the bias broadcasts to the
    result). Any other ranks follow ONNX `MatMul` (NumPy `matmul`): a 1-D lhs is
    a row vector, a 1-D rhs a column vector, and leading batch dimensions
    broadcast; transposes and a bias are then not allowed.

    A PyTorch `Linear` exports as `Gemm` with `transB = 1`, or, without a bias,
    as `MatMul` with an already transposed weight:

    ```mlir
    %y = bnn.dense %x, %w, %b {alpha = 1.0 : f32, beta = 1.0 : f32,
                               transpose_lhs = false, transpose_rhs = true}
        : (tensor<1x5152xf32>, tensor<75x5152xf32>, tensor<75xf32>)
          -> tensor<1x75xf32>
    %z = bnn.dense %y, %v {alpha = 1.0 : f32, beta = 1.0 : f32,
                           transpose_lhs = false, transpose_rhs = false}
        : (tensor<1x75xf32>, tensor<75x2xf32>) -> tensor<1x2xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$lhs, BNN_RealTensor:$rhs,
                   Optional<BNN_RealTensor>:$bias,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs,
                   DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0f">:$beta);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

def BNN_BatchNormOp : BNN_Op<"batch_norm", [Pure,
    AllTypesMatch<["input", "output"]>,
    AllTypesMatch<["scale", "bias", "mean", "variance"]>]> {
  let summary = "Inference batch normalization (ONNX BatchNormalization)";
  let description = [{
    `output = scale * (input - mean) / sqrt(variance + epsilon) + bias`, per
    channel (axis 1). Binarization folds it into popcount thresholds.

    ```mlir
    %y = bnn.batch_norm %x, %gamma, %beta, %mean, %var {epsilon = 1.0e-05 : f32}
        : tensor<1x32x738xf32>, tensor<32xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, BNN_RealTensor:$scale,
                   BNN_RealTensor:$bias, BNN_RealTensor:$mean,
                   BNN_RealTensor:$variance, F32Attr:$epsilon);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict `:`
    type($input) `,` type($scale)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

class BNN_UnaryOp<string mnemonic, list<Trait> traits = []>
    : BNN_Op<mnemonic, !listconcat(traits, [Pure, Elementwise,
                                            SameOperandsAndResultType])> {
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def BNN_ReluOp : BNN_UnaryOp<"relu"> {
  let summary = "Rectified linear unit, max(x, 0) (ONNX Relu)";
  let description = [{
    ```mlir
    %y = bnn.relu %x : tensor<1x40x961x64xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_ClipOp : BNN_UnaryOp<"clip"> {
  let summary = "Clamp to [min, max] (ONNX Clip; hardtanh when -1..1)";
  let description = [{
    A missing bound does not clip on that side. PyTorch's `hardtanh`, the
    activation binarized networks train with, exports as `Clip(-1, 1)`.

    ```mlir
    %y = bnn.clip %x {max = 1.0 : f32, min = -1.0 : f32} : tensor<1x75xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, OptionalAttr<F32Attr>:$min,
                   OptionalAttr<F32Attr>:$max);
  let hasVerifier = 1;
}

def BNN_SignOp : BNN_UnaryOp<"sign"> {
  let summary = "Sign of each element, with ONNX's sign(0) = 0 (ONNX Sign)";
  let description = [{
    Keeps ONNX semantics: -1, 0 or +1. The chip maps 0 to +1; binarization
    replaces this op by `bnn.binarize`, which documents that rule.

    ```mlir
    %y = bnn.sign %x : tensor<1x75xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_BipolarOp : BNN_UnaryOp<"bipolar"> {
  let summary = "+1 where x >= 0, else -1: the chip's sign (QONNX BipolarQuant)";
  let description = [{
    The sign rule of the chip, as a real value: +1 for `x >= 0` (zero
    included), -1 otherwise (NaN too). QONNX's `BipolarQuant(x, scale)`
    imports as this op times the scale; binarization takes it as exactly as a
    `Sign`, and it has no zero to warn about.

    ```mlir
    %y = bnn.bipolar %x : tensor<1x75xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_SigmoidOp : BNN_UnaryOp<"sigmoid"> {
  let summary = "Logistic function 1 / (1 + exp(-x)) (ONNX Sigmoid)";
  let description = [{
    ```mlir
    %y = bnn.sigmoid %x : tensor<1x2xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_HardSigmoidOp : BNN_UnaryOp<"hard_sigmoid"> {
  let summary = "Piecewise-linear sigmoid, max(0, min(1, alpha * x + beta)) (ONNX HardSigmoid)";
  let description = [{
    ```mlir
    %y = bnn.hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32} : tensor<4xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, F32Attr:$alpha, F32Attr:$beta);
}

def BNN_TanhOp : BNN_UnaryOp<"tanh"> {
  let summary = "Hyperbolic tangent (ONNX Tanh)";
  let description = [{
    ```mlir
    %y = bnn.tanh %x : tensor<1x80xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_SqrtOp : BNN_UnaryOp<"sqrt"> {
  let summary = "Square root, sqrt(x) (ONNX Sqrt)";
  let description = [{
    `output = sqrt(x)` elementwise, in f32.

    ```mlir
    %y = bnn.sqrt %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_ReciprocalOp : BNN_UnaryOp<"reciprocal"> {
  let summary = "Reciprocal, 1 / x (ONNX Reciprocal)";
  let description = [{
    `output = 1 / x` elementwise, in f32.

    ```mlir
    %y = bnn.reciprocal %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_ExpOp : BNN_UnaryOp<"exp"> {
  let summary = "Exponential, exp(x) (ONNX Exp)";
  let description = [{
    `output = exp(x)` elementwise, in f32.

    ```mlir
    %y = bnn.exp %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_LogOp : BNN_UnaryOp<"log"> {
  let summary = "Natural logarithm, log(x) (ONNX Log)";
  let description = [{
    `output = log(x)` elementwise, in f32.

    ```mlir
    %y = bnn.log %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_NegOp : BNN_UnaryOp<"neg"> {
  let summary = "Negation, -x (ONNX Neg)";
  let description = [{
    `output = -x` elementwise, in f32.

    ```mlir
    %y = bnn.neg %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_AbsOp : BNN_UnaryOp<"abs"> {
  let summary = "Absolute value, |x| (ONNX Abs)";
  let description = [{
    `output = |x|` elementwise, in f32.

    ```mlir
    %y = bnn.abs %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_ErfOp : BNN_UnaryOp<"erf"> {
  let summary = "Gauss error function, erf(x) (ONNX Erf)";
  let description = [{
    `output = erf(x)` elementwise, in f32. GELU exports as `x * (1 + erf(x / sqrt(2))) / 2`.

    ```mlir
    %y = bnn.erf %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_SoftplusOp : BNN_UnaryOp<"softplus"> {
  let summary = "Softplus, log(exp(x) + 1) (ONNX Softplus)";
  let description = [{
    `output = log(exp(x) + 1)` elementwise, in f32.

    ```mlir
    %y = bnn.softplus %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_SoftsignOp : BNN_UnaryOp<"softsign"> {
  let summary = "Softsign, x / (1 + |x|) (ONNX Softsign)";
  let description = [{
    `output = x / (1 + |x|)` elementwise, in f32.

    ```mlir
    %y = bnn.softsign %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_HardSwishOp : BNN_UnaryOp<"hard_swish"> {
  let summary = "Hard swish, x * max(0, min(1, x / 6 + 1 / 2)), MobileNetV3's activation (ONNX HardSwish)";
  let description = [{
    `output = x * max(0, min(1, x / 6 + 1 / 2)), MobileNetV3's activation` elementwise, in f32.

    ```mlir
    %y = bnn.hard_swish %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_FloorOp : BNN_UnaryOp<"floor"> {
  let summary = "Floor, the largest integer not above x (ONNX Floor)";
  let description = [{
    `output = the largest integer not above x` elementwise, in f32.

    ```mlir
    %y = bnn.floor %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_CeilOp : BNN_UnaryOp<"ceil"> {
  let summary = "Ceiling, the smallest integer not below x (ONNX Ceil)";
  let description = [{
    `output = the smallest integer not below x` elementwise, in f32.

    ```mlir
    %y = bnn.ceil %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_RoundOp : BNN_UnaryOp<"round"> {
  let summary = "Round to nearest, halves to even, as ONNX and NumPy round (ONNX Round)";
  let description = [{
    `output = halves to even, as ONNX and NumPy round` elementwise, in f32.

    ```mlir
    %y = bnn.round %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_SinOp : BNN_UnaryOp<"sin"> {
  let summary = "Sine, sin(x) (ONNX Sin)";
  let description = [{
    `output = sin(x)` elementwise, in f32.

    ```mlir
    %y = bnn.sin %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_CosOp : BNN_UnaryOp<"cos"> {
  let summary = "Cosine, cos(x) (ONNX Cos)";
  let description = [{
    `output = cos(x)` elementwise, in f32.

    ```mlir
    %y = bnn.cos %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_TanOp : BNN_UnaryOp<"tan"> {
  let summary = "Tangent, tan(x) (ONNX Tan)";
  let description = [{
    `output = tan(x)` elementwise, in f32.

    ```mlir
    %y = bnn.tan %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_AsinOp : BNN_UnaryOp<"asin"> {
  let summary = "Arcsine, asin(x) (ONNX Asin)";
  let description = [{
    `output = asin(x)` elementwise, in f32.

    ```mlir
    %y = bnn.asin %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_AcosOp : BNN_UnaryOp<"acos"> {
  let summary = "Arccosine, acos(x) (ONNX Acos)";
  let description = [{
    `output = acos(x)` elementwise, in f32.

    ```mlir
    %y = bnn.acos %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_AtanOp : BNN_UnaryOp<"atan"> {
  let summary = "Arctangent, atan(x) (ONNX Atan)";
  let description = [{
    `output = atan(x)` elementwise, in f32.

    ```mlir
    %y = bnn.atan %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_SinhOp : BNN_UnaryOp<"sinh"> {
  let summary = "Hyperbolic sine, sinh(x) (ONNX Sinh)";
  let description = [{
    `output = sinh(x)` elementwise, in f32.

    ```mlir
    %y = bnn.sinh %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_CoshOp : BNN_UnaryOp<"cosh"> {
  let summary = "Hyperbolic cosine, cosh(x) (ONNX Cosh)";
  let description = [{
    `output = cosh(x)` elementwise, in f32.

    ```mlir
    %y = bnn.cosh %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_AsinhOp : BNN_UnaryOp<"asinh"> {
  let summary = "Inverse hyperbolic sine, asinh(x) (ONNX Asinh)";
  let description = [{
    `output = asinh(x)` elementwise, in f32.

    ```mlir
    %y = bnn.asinh %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_AcoshOp : BNN_UnaryOp<"acosh"> {
  let summary = "Inverse hyperbolic cosine, acosh(x) (ONNX Acosh)";
  let description = [{
    `output = acosh(x)` elementwise, in f32.

    ```mlir
    %y = bnn.acosh %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_AtanhOp : BNN_UnaryOp<"atanh"> {
  let summary = "Inverse hyperbolic tangent, atanh(x) (ONNX Atanh)";
  let description = [{
    `output = atanh(x)` elementwise, in f32.

    ```mlir
    %y = bnn.atanh %x : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
}

def BNN_LeakyReluOp : BNN_UnaryOp<"leaky_relu"> {
  let summary = "Leaky rectifier, x < 0 ? alpha * x : x (ONNX LeakyRelu)";
  let description = [{
    Elementwise, in f32.

    ```mlir
    %y = bnn.leaky_relu %x {alpha = 0.01 : f32} : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, F32Attr:$alpha);
}

def BNN_EluOp : BNN_UnaryOp<"elu"> {
  let summary = "Exponential linear unit, x < 0 ? alpha * (exp(x) - 1) : x (ONNX Elu)";
  let description = [{
    Elementwise, in f32.

    ```mlir
    %y = bnn.elu %x {alpha = 1.0 : f32} : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, F32Attr:$alpha);
}

def BNN_SeluOp : BNN_UnaryOp<"selu"> {
  let summary = "Scaled exponential linear unit, gamma * (x <= 0 ? alpha * (exp(x) - 1) : x) (ONNX Selu)";
  let description = [{
    Elementwise, in f32.

    ```mlir
    %y = bnn.selu %x {alpha = 1.67326 : f32, gamma = 1.0507 : f32} : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, F32Attr:$alpha, F32Attr:$gamma);
}

def BNN_CeluOp : BNN_UnaryOp<"celu"> {
  let summary = "Continuously differentiable ELU, max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) (ONNX Celu)";
  let description = [{
    Elementwise, in f32.

    ```mlir
    %y = bnn.celu %x {alpha = 1.0 : f32} : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, F32Attr:$alpha);
}

def BNN_ThresholdedReluOp : BNN_UnaryOp<"thresholded_relu"> {
  let summary = "Thresholded rectifier, x > alpha ? x : 0 (ONNX ThresholdedRelu)";
  let description = [{
    Elementwise, in f32.

    ```mlir
    %y = bnn.thresholded_relu %x {alpha = 1.0 : f32} : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, F32Attr:$alpha);
}

def BNN_ShrinkOp : BNN_UnaryOp<"shrink"> {
  let summary = "Shrinkage, x < -lambd ? x + bias : x > lambd ? x - bias : 0 (ONNX Shrink)";
  let description = [{
    Elementwise, in f32.

    ```mlir
    %y = bnn.shrink %x {lambd = 0.5 : f32, bias = 0.0 : f32} : tensor<1x16xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, F32Attr:$lambd, F32Attr:$bias);
}

//===----------------------------------------------------------------------===//
// Pooling and softmax
//===----------------------------------------------------------------------===//

def BNN_MaxPoolOp : BNN_Op<"max_pool", [Pure,
    AllElementTypesMatch<["input", "output"]>]> {
  let summary = "1-D or 2-D max pooling (ONNX MaxPool)";
  let description = [{
    Windows of `kernel_shape` elements, spaced by `dilations`, every `strides`
    positions; padded positions never win. With `ceil_mode` the last partial
    window is kept. On bits it is an OR (+1 wins): `sign(max_pool(x)) =
    max_pool(sign(x))`, so binarization moves the sign before the pooling
    and keeps a binary layer's output binary.

    ```mlir
    %y = bnn.max_pool %x {ceil_mode = false, dilations = array<i64: 1>,
                          kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>,
                          strides = array<i64: 2>}
        : tensor<1x32x738xf32> -> tensor<1x32x369xf32>
    ```
  }];
  let arguments = (ins BNN_RealOrBitTensor:$input, DenseI64ArrayAttr:$kernel_shape,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DenseI64ArrayAttr:$dilations, BoolAttr:$ceil_mode);
  let results = (outs BNN_RealOrBitTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_AveragePoolOp : BNN_Op<"average_pool", [Pure]> {
  let summary = "1-D or 2-D average pooling (ONNX AveragePool)";
  let description = [{
    Averages each window; padded positions count in the divisor only when
    `count_include_pad` is set.

    ```mlir
    %y = bnn.average_pool %x {ceil_mode = false, count_include_pad = false,
                              kernel_shape = array<i64: 30, 1>,
                              pads = array<i64: 0, 0, 0, 0>,
                              strides = array<i64: 15, 1>}
        : tensor<1x40x961x1xf32> -> tensor<1x40x63x1xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, DenseI64ArrayAttr:$kernel_shape,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   BoolAttr:$count_include_pad, BoolAttr:$ceil_mode);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_GlobalAveragePoolOp : BNN_Op<"global_average_pool", [Pure]> {
  let summary = "Average over all spatial positions (ONNX GlobalAveragePool)";
  let description = [{
    The spatial dimensions of the result are 1.

    ```mlir
    %y = bnn.global_average_pool %x : tensor<1x1024x7x7xf32> -> tensor<1x1024x1x1xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_SoftmaxOp : BNN_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis (ONNX Softmax, opset 13 semantics)";
  let description = [{
    ```mlir
    %y = bnn.softmax %x {axis = 1 : i64} : tensor<1x2xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, I64Attr:$axis);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def BNN_GlobalMaxPoolOp : BNN_Op<"global_max_pool", [Pure]> {
  let summary = "Maximum over all spatial positions (ONNX GlobalMaxPool)";
  let description = [{
    The spatial dimensions of the result are 1.

    ```mlir
    %y = bnn.global_max_pool %x : tensor<1x64x7x7xf32> -> tensor<1x64x1x1xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_LogSoftmaxOp : BNN_Op<"log_softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Logarithm of the softmax along one axis (ONNX LogSoftmax)";
  let description = [{
    `output = x - max - log(sum(exp(x - max)))` along `axis`.

    ```mlir
    %y = bnn.log_softmax %x {axis = 1 : i64} : tensor<1x10xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, I64Attr:$axis);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization over trailing axes, reductions, padding
//===----------------------------------------------------------------------===//

def BNN_LayerNormOp : BNN_Op<"layer_norm", [Pure]> {
  let summary = "Layer normalization over the axes from `axis` on (ONNX LayerNormalization)";
  let description = [{
    With `mean` and `variance` over axes `axis..rank-1` of each slice:
    `output = (input - mean) / sqrt(variance + epsilon) * scale + bias`;
    `scale` and the optional `bias` broadcast to the normalized shape.

    ```mlir
    %y = bnn.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 9.99999974E-6 : f32}
        : (tensor<1x49x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x49x64xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, BNN_RealTensor:$scale,
                   Optional<BNN_RealTensor>:$bias, I64Attr:$axis,
                   F32Attr:$epsilon);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

class BNN_ReduceOp<string mnemonic, string onnx, string what>
    : BNN_Op<mnemonic, [Pure]> {
  let summary = what # " over `axes` (ONNX " # onnx # ")";
  let description = [{
    `axes` are non-negative, sorted and distinct; with `keepdims` the reduced
    dimensions stay as 1, otherwise they are removed. Elements are combined in
    row-major order, in f32.

    ```mlir
    %y = bnn.}] # mnemonic # [{ %x {axes = array<i64: 2, 3>, keepdims = true}
        : tensor<1x8x4x4xf32> -> tensor<1x8x1x1xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, DenseI64ArrayAttr:$axes,
                   BoolAttr:$keepdims);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_ReduceMeanOp : BNN_ReduceOp<"reduce_mean", "ReduceMean", "Mean">;
def BNN_ReduceSumOp : BNN_ReduceOp<"reduce_sum", "ReduceSum", "Sum">;
def BNN_ReduceMaxOp : BNN_ReduceOp<"reduce_max", "ReduceMax", "Maximum">;
def BNN_ReduceMinOp : BNN_ReduceOp<"reduce_min", "ReduceMin", "Minimum">;
def BNN_ReduceProdOp : BNN_ReduceOp<"reduce_prod", "ReduceProd", "Product">;
def BNN_ReduceL1Op : BNN_ReduceOp<"reduce_l1", "ReduceL1", "Sum of absolute values">;
def BNN_ReduceL2Op : BNN_ReduceOp<"reduce_l2", "ReduceL2", "Euclidean norm">;
def BNN_ReduceSumSquareOp : BNN_ReduceOp<"reduce_sum_square", "ReduceSumSquare", "Sum of squares">;
def BNN_ReduceLogSumOp : BNN_ReduceOp<"reduce_log_sum", "ReduceLogSum", "Logarithm of the sum">;
def BNN_ReduceLogSumExpOp : BNN_ReduceOp<"reduce_log_sum_exp", "ReduceLogSumExp", "Logarithm of the sum of exponentials">;

def BNN_PadOp : BNN_Op<"pad", [Pure]> {
  let summary = "Pad with a constant, a reflection or the edge (ONNX Pad)";
  let description = [{
    `pads` holds the begins of every axis, then the ends, non-negative (a
    negative ONNX pad, a crop, is refused at import). `mode` is `constant`
    (new elements are `value`), `reflect` (mirrored without the edge) or
    `edge` (the edge repeated).

    ```mlir
    %y = bnn.pad %x {mode = "reflect", pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>,
                     value = 0.0 : f32}
        : tensor<1x3x8x8xf32> -> tensor<1x3x10x10xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, DenseI64ArrayAttr:$pads,
                   StrAttr:$mode, F32Attr:$value);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise binary arithmetic
//===----------------------------------------------------------------------===//

class BNN_BinaryOp<string mnemonic, string what>
    : BNN_Op<mnemonic, [Pure, ResultsBroadcastableShape]> {
  let summary = what # " with NumPy broadcasting";
  let arguments = (ins BNN_RealTensor:$lhs, BNN_RealTensor:$rhs);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
}

def BNN_AddOp : BNN_BinaryOp<"add", "Elementwise sum (ONNX Add)"> {
  let description = [{
    A residual connection, or a bias the exporter kept apart:

    ```mlir
    %y = bnn.add %x, %b : (tensor<1x75xf32>, tensor<75xf32>) -> tensor<1x75xf32>
    ```
  }];
}

def BNN_SubOp : BNN_BinaryOp<"sub", "Elementwise difference (ONNX Sub)"> {
  let description = [{
    ```mlir
    %y = bnn.sub %x, %m : (tensor<1x12x750xf32>, tensor<1x12x1xf32>) -> tensor<1x12x750xf32>
    ```
  }];
}

def BNN_MulOp : BNN_BinaryOp<"mul", "Elementwise product (ONNX Mul)"> {
  let description = [{
    ```mlir
    %y = bnn.mul %x, %s : (tensor<1x75xf32>, tensor<1xf32>) -> tensor<1x75xf32>
    ```
  }];
}

def BNN_DivOp : BNN_BinaryOp<"div", "Elementwise quotient (ONNX Div)"> {
  let description = [{
    ```mlir
    %y = bnn.div %x, %s : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
    ```
  }];
}


def BNN_PowOp : BNN_BinaryOp<"pow", "Elementwise power (ONNX Pow)"> {
  let description = [{
    `output = pow(lhs, rhs)` in f32; the decomposed LayerNorm squares with a
    constant exponent 2.

    ```mlir
    %y = bnn.pow %x, %two : (tensor<1x49x64xf32>, tensor<f32>) -> tensor<1x49x64xf32>
    ```
  }];
}

def BNN_MaxOp : BNN_BinaryOp<"max", "Elementwise maximum (ONNX Max, two operands at a time)"> {
  let description = [{
    A variadic ONNX `Max` imports as a chain. NaN propagates.

    ```mlir
    %y = bnn.max %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    ```
  }];
}

def BNN_MinOp : BNN_BinaryOp<"min", "Elementwise minimum (ONNX Min, two operands at a time)"> {
  let description = [{
    A variadic ONNX `Min` imports as a chain. NaN propagates.

    ```mlir
    %y = bnn.min %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    ```
  }];
}

def BNN_PReluOp : BNN_BinaryOp<"prelu", "Parametric rectifier, lhs < 0 ? rhs * lhs : lhs (ONNX PRelu)"> {
  let description = [{
    The slope `rhs` broadcasts to `lhs`.

    ```mlir
    %y = bnn.prelu %x, %slope : (tensor<1x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<1x8x4x4xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def BNN_ReshapeOp : BNN_Op<"reshape", [Pure,
    AllElementTypesMatch<["input", "output"]>]> {
  let summary = "Same elements, new shape (ONNX Reshape)";
  let description = [{
    The new shape is the result type; ONNX's `0` and `-1` entries are resolved
    at import.

    ```mlir
    %y = bnn.reshape %x : tensor<1x32x161xf32> -> tensor<1x5152xf32>
    ```
  }];
  let arguments = (ins BNN_RealOrBitTensor:$input);
  let results = (outs BNN_RealOrBitTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_FlattenOp : BNN_Op<"flatten", [Pure,
    AllElementTypesMatch<["input", "output"]>]> {
  let summary = "Collapse to 2-D around an axis (ONNX Flatten)";
  let description = [{
    The result is `prod(shape[:axis]) x prod(shape[axis:])`. Flatten marks the
    boundary between feature extractor and classifier.

    ```mlir
    %y = bnn.flatten %x {axis = 1 : i64} : tensor<1x40x63x1xf32> -> tensor<1x2520xf32>
    ```
  }];
  let arguments = (ins BNN_RealOrBitTensor:$input, I64Attr:$axis);
  let results = (outs BNN_RealOrBitTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_TransposeOp : BNN_Op<"transpose", [Pure]> {
  let summary = "Permute dimensions (ONNX Transpose)";
  let description = [{
    Result dimension `i` is input dimension `permutation[i]`.

    ```mlir
    %y = bnn.transpose %x {permutation = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_SqueezeOp : BNN_Op<"squeeze", [Pure]> {
  let summary = "Remove dimensions of size 1 (ONNX Squeeze)";
  let description = [{
    `axes` are non-negative and sorted; each names a dimension of size 1.

    ```mlir
    %y = bnn.squeeze %x {axes = array<i64: 2, 3>} : tensor<1x1024x1x1xf32> -> tensor<1x1024xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_UnsqueezeOp : BNN_Op<"unsqueeze", [Pure]> {
  let summary = "Insert dimensions of size 1 (ONNX Unsqueeze)";
  let description = [{
    `axes` are non-negative, sorted positions in the result.

    ```mlir
    %y = bnn.unsqueeze %x {axes = array<i64: 0>} : tensor<3xf32> -> tensor<1x3xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_ConcatOp : BNN_Op<"concat", [Pure]> {
  let summary = "Join tensors along an axis (ONNX Concat)";
  let description = [{
    ```mlir
    %y = bnn.concat %a, %b {axis = 1 : i64}
        : (tensor<1x2xf32>, tensor<1x3xf32>) -> tensor<1x5xf32>
    ```
  }];
  let arguments = (ins Variadic<BNN_RealTensor>:$inputs, I64Attr:$axis);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, results)";
  let hasVerifier = 1;
}

def BNN_SliceOp : BNN_Op<"slice", [Pure]> {
  let summary = "Strided slice with constant parameters (ONNX Slice, Split)";
  let description = [{
    One `starts` and one non-zero `steps` entry per axis: result element `i`
    of axis `d` is input element `starts[d] + i * steps[d]`; the result type
    gives the counts. ONNX's negative, clamped and omitted parameters are
    resolved at import; a `Split` imports as one slice per output.

    ```mlir
    %y = bnn.slice %x {starts = array<i64: 0, 2>, steps = array<i64: 1, -1>}
        : tensor<2x5xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, DenseI64ArrayAttr:$starts,
                   DenseI64ArrayAttr:$steps);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_GatherOp : BNN_Op<"gather", [Pure]> {
  let summary = "Select along an axis with constant indices (ONNX Gather)";
  let description = [{
    The result is `input.shape[:axis] + indices.shape + input.shape[axis+1:]`;
    `indices` holds the row-major, non-negative indices, whose shape is the
    result's dimensions `axis .. axis + rank(result) - rank(input)`.

    ```mlir
    %y = bnn.gather %x {axis = 1 : i64, indices = array<i64: 2, 0>}
        : tensor<1x3x4xf32> -> tensor<1x2x4xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, I64Attr:$axis,
                   DenseI64ArrayAttr:$indices);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_ConvTransposeOp : BNN_Op<"conv_transpose", [Pure]> {
  let summary = "1-D or 2-D transposed convolution, grouped (ONNX ConvTranspose)";
  let description = [{
    Every input element scatters into the output: `output[n, g*M/G + m, i*s
    + k*d - pad_begin] += input[n, g*C/G + c, i] * weight[g*C/G + c, m, k]`
    for the channels `c` of group `g`, plus `bias[m]`. The weight is
    `C x M/group x K...`. Each output axis has `(L - 1) * s - pad_begin -
    pad_end + d * (K - 1) + 1 + output_padding` positions; ONNX's
    `output_shape` and `auto_pad` are resolved into `pads` at import.

    ```mlir
    %y = bnn.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64,
                                    output_padding = array<i64: 1, 1>,
                                    pads = array<i64: 1, 1, 1, 1>,
                                    strides = array<i64: 2, 2>}
        : (tensor<1x8x4x4xf32>, tensor<8x4x3x3xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, BNN_RealTensor:$weight,
                   Optional<BNN_RealTensor>:$bias,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                   DenseI64ArrayAttr:$dilations,
                   DenseI64ArrayAttr:$output_padding, I64Attr:$group);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def BNN_ResizeOp : BNN_Op<"resize", [Pure]> {
  let summary = "Nearest, linear or cubic resampling (ONNX Resize, Upsample)";
  let description = [{
    Every axis `d` is resampled on its own, and the N-D result is the product
    of the 1-D interpolations: output index `x` maps to the input coordinate
    given by `coordinate_mode` (`half_pixel`: `(x + 0.5) / scale - 0.5`;
    `pytorch_half_pixel`: the same, 0 when the output axis has one element;
    `align_corners`: `x * (in - 1) / (out - 1)`; `asymmetric`: `x / scale`;
    `tf_half_pixel_for_nn`: `(x + 0.5) / scale`), with `scales[d]` the
    ONNX scale (`out / in` when the model gives sizes). `mode = "nearest"`
    takes the input element `nearest_mode` rounds to (`round_prefer_floor`,
    `round_prefer_ceil`, `floor`, `ceil`), `linear` interpolates between the
    two neighbours, `cubic` uses four with coefficient `cubic_coeff_a`
    (`exclude_outside` renormalizes the weights inside the input);
    neighbours outside the input read the edge.

    ```mlir
    %y = bnn.resize %x {coordinate_mode = "asymmetric", cubic_coeff_a = -7.5e-01 : f32,
                        exclude_outside = false, mode = "nearest",
                        nearest_mode = "floor", scales = array<f64: 1.0, 1.0, 2.0, 2.0>}
        : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, StrAttr:$mode,
                   StrAttr:$coordinate_mode, StrAttr:$nearest_mode,
                   F32Attr:$cubic_coeff_a, BoolAttr:$exclude_outside,
                   DenseF64ArrayAttr:$scales);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_ArgMaxOp : BNN_Op<"arg_max", [Pure]> {
  let summary = "Index of the largest or smallest element (ONNX ArgMax, ArgMin)";
  let description = [{
    Along `axis`, the index of the largest element (the smallest with `min`),
    the first one unless `select_last_index`; the result is int64, with the
    axis kept as 1 (`keepdims`) or removed. NaN compares as neither larger
    nor smaller.

    ```mlir
    %i = bnn.arg_max %x {axis = 1 : i64, keepdims = false, min = false,
                         select_last_index = false}
        : tensor<2x10xf32> -> tensor<2xi64>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, I64Attr:$axis, BoolAttr:$keepdims,
                   BoolAttr:$min, BoolAttr:$select_last_index);
  let results = (outs StaticShapeTensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_HardmaxOp : BNN_Op<"hardmax", [Pure, SameOperandsAndResultType]> {
  let summary = "One at the first largest element along an axis (ONNX Hardmax)";
  let description = [{
    Along `axis`, 1 at the first largest element, 0 elsewhere (opset-13
    semantics: one axis).

    ```mlir
    %y = bnn.hardmax %x {axis = 1 : i64} : tensor<2x10xf32>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input, I64Attr:$axis);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Binary domain
//===----------------------------------------------------------------------===//

def BNN_BinarizeOp : BNN_Op<"binarize", [Pure, Elementwise,
    SameOperandsAndResultShape]> {
  let summary = "Real tensor to +1/-1 bits, zero giving +1";
  let description = [{
    `output = input >= 0 ? 1 (+1) : 0 (-1)`. Unlike ONNX `Sign`, which gives
    0 for 0, the chip has no zero: its sense amplifier reads +1. This is the
    one place where Hafnia's results may differ from the ONNX model: where an
    input to a sign is exactly zero. NaN gives -1.

    With `thresholds` (one per channel, axis 1), each element is compared
    with its channel's threshold instead: `input >= thresholds[c]`. They
    come from calibration data, for inputs whose sign says little (ReLU
    features are never negative); the digital core compares, and keeps the
    thresholds in its memory.

    ```mlir
    %b = bnn.binarize %x : tensor<1x5152xf32> -> tensor<1x5152xi1>
    %c = bnn.binarize %y {thresholds = array<f32: 0.5, 1.25>} : tensor<1x2xf32> -> tensor<1x2xi1>
    ```
  }];
  let arguments = (ins BNN_RealTensor:$input,
                   OptionalAttr<DenseF32ArrayAttr>:$thresholds);
  let results = (outs BNN_BitTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let builders = [
    OpBuilder<(ins "::mlir::Type":$output, "::mlir::Value":$input), [{
      build($_builder, $_state, output, input, ::mlir::DenseF32ArrayAttr());
    }]>
  ];
}

def BNN_XnorDenseOp : BNN_Op<"xnor_dense", [Pure]> {
  let summary = "Binary dense layer: popcounts of XNOR(input, weight)";
  let description = [{
    `output[b, m] = popcount(XNOR(input[b, :], weight[m, :]))`, the number of
    the `K` input bits that agree with the weight bits of neuron `m`; the
    real-valued dot product is `2 * output - K`. The weight is `M x K`, one
    row per neuron, as a 2T2R array row holds it.

    ```mlir
    %p = bnn.xnor_dense %x, %w : (tensor<1x5152xi1>, tensor<75x5152xi1>) -> tensor<1x75xi32>
    ```
  }];
  let arguments = (ins BNN_BitTensor:$input, BNN_BitTensor:$weight);
  let results = (outs BNN_PopcountTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Inputs per neuron (K).
    int64_t getFanIn() { return getWeight().getType().getDimSize(1); }
  }];
}

def BNN_XnorConvOp : BNN_Op<"xnor_conv", [Pure]> {
  let summary = "Binary convolution: popcounts of XNOR over windows";
  let description = [{
    `output[n, m, p]` counts the input bits of the receptive field of output
    position `p` (group-wise, as in `bnn.conv`) that agree with the weight
    bits of filter `m`, out of `C/group x prod(kernel)`. With `pads`, the
    positions in the padding read +1, as the arrays see them: a zero pad is
    neither +1 nor -1, so the ops that read the popcounts subtract, at each
    border position, what the weights on the padding added (their
    `border_positions`). With `pads_read_minus_one` the padding reads -1: a
    Pad of -1 (or of +1, without it) in front of the convolution, as Larq
    exports `pad_values`, is exact without any correction.

    ```mlir
    %p = bnn.xnor_conv %x, %w {dilations = array<i64: 1>, group = 1 : i64,
                               strides = array<i64: 1>}
        : (tensor<1x32x171xi1>, tensor<32x32x7xi1>) -> tensor<1x32x165xi32>
    ```
  }];
  let arguments = (ins BNN_BitTensor:$input, BNN_BitTensor:$weight,
                   DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                   I64Attr:$group, OptionalAttr<DenseI64ArrayAttr>:$pads,
                   UnitAttr:$pads_read_minus_one);
  let results = (outs BNN_PopcountTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Inputs per output value: C/group x prod(kernel).
    int64_t getFanIn() {
      return getWeight().getType().getNumElements() /
             getWeight().getType().getDimSize(0);
    }
  }];
}

def BNN_ThresholdOp : BNN_Op<"threshold", [Pure, SameOperandsAndResultShape]> {
  let summary = "Popcount compared with a per-channel integer threshold";
  let description = [{
    The binarized neuron `y = sign(popcount - T)`: output bit `c` (channel
    axis 1) is +1 when `popcount >= thresholds[c]`, or, where `inverted[c]`
    is set (a negative batch-norm scale flips the comparison), when
    `popcount <= thresholds[c]`. `fan_in` is the number of inputs counted;
    thresholds lie in `[-1, fan_in + 1]`, so that a constant output (a zero
    batch-norm scale) is expressible.

    After a zero-padded binary convolution, the spatial positions listed in
    `border_positions` (flat indices within a channel) have thresholds of
    their own, `border_thresholds[c * B + b]` for border position `b` of
    `B`: their popcounts include the padding, read as +1.

    ```mlir
    %y = bnn.threshold %p {fan_in = 5152 : i64,
                           inverted = array<i1: false, true>,
                           thresholds = array<i32: 2580, 2571>}
        : tensor<1x2xi32> -> tensor<1x2xi1>
    ```
  }];
  let arguments = (ins BNN_PopcountTensor:$input, I64Attr:$fan_in,
                   DenseI32ArrayAttr:$thresholds, DenseBoolArrayAttr:$inverted,
                   OptionalAttr<DenseI64ArrayAttr>:$border_positions,
                   OptionalAttr<DenseI32ArrayAttr>:$border_thresholds);
  let results = (outs BNN_BitTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def BNN_PopcountAffineOp : BNN_Op<"popcount_affine", [Pure,
    SameOperandsAndResultShape]> {
  let summary = "Popcount back to a real value, with a per-channel affine";
  let description = [{
    `output[.., c, ..] = scale[c] * (2 * input - fan_in) + bias[c]`, computed
    in f32 (the product first, then the sum): the real dot product of the
    binary layer, scaled (for weights binarized after training, by their
    mean magnitude) and biased. It follows every binary layer after
    binarization; threshold folding replaces it where a sign follows, and it
    stays on the digital core where none does (a classifier's last layer).

    After a zero-padded binary convolution, the spatial positions listed in
    `border_positions` (flat indices within a channel) subtract
    `border_offsets[c * B + b]` from `2 * input - fan_in`: the sum of the
    weights that fell on the padding, which the arrays read as +1.

    ```mlir
    %y = bnn.popcount_affine %p {bias = array<f32: 0.5, -0.5>, fan_in = 75 : i64,
                                 scale = array<f32: 1.0, 1.0>}
        : tensor<1x2xi32> -> tensor<1x2xf32>
    ```
  }];
  let arguments = (ins BNN_PopcountTensor:$input, I64Attr:$fan_in,
                   DenseF32ArrayAttr:$scale, DenseF32ArrayAttr:$bias,
                   OptionalAttr<DenseI64ArrayAttr>:$border_positions,
                   OptionalAttr<DenseI32ArrayAttr>:$border_offsets);
  let results = (outs BNN_RealTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

#endif // HAFNIA_DIALECT_BNN_IR_BNNOPS_TD
