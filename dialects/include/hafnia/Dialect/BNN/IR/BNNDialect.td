//===- BNNDialect.td - The bnn dialect ---------------------*- tablegen -*-===//
//
// The hardware-independent, tensor-level dialect that ONNX models are imported
// into and that binarization works on.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_DIALECT_BNN_IR_BNNDIALECT_TD
#define HAFNIA_DIALECT_BNN_IR_BNNDIALECT_TD

include "mlir/IR/OpBase.td"

def BNN_Dialect : Dialect {
  let name = "bnn";
  let cppNamespace = "::hafnia::bnn";
  let summary = "Tensor-level neural networks, real-valued and binarized";
  let description = [{
    The `bnn` dialect holds a neural network as imported from ONNX: one op per
    supported ONNX operator, on statically shaped tensors. It is independent of
    the chip: binarization, threshold folding and the mapping onto 2T2R arrays
    work on it before the network is lowered to the `rram` dialect.

    Conventions shared by all ops:

    * Tensors are channel-first (`N x C x spatial...`), as in ONNX.
    * Windowed ops (convolution, pooling) take one stride and one dilation per
      spatial axis and `pads` in ONNX order: all begin pads, then all end pads.
      `auto_pad` is resolved into explicit pads at import.
    * Every shape is static; the importer binds a symbolic batch dimension.
    * An op's location is the name of the ONNX node it came from, so that
      diagnostics name the node at fault.
    * Binary values are `i1` tensors, 1 encoding +1 and 0 encoding -1; the
      chip's sense amplifier reads a zero sign input as +1, and so does
      `bnn.binarize`. XNOR products are counted as `i32` popcounts: with `N`
      inputs, `sum(w * x) = 2 * popcount - N`.
  }];
  let hasConstantMaterializer = 1;
}

class BNN_Op<string mnemonic, list<Trait> traits = []>
    : Op<BNN_Dialect, mnemonic, traits>;

// Real-valued activations and weights: statically shaped f32 tensors.
def BNN_RealTensor : StaticShapeTensorOf<[F32]>;

// Binary activations and weights: one i1 per value, 1 for +1 and 0 for -1.
def BNN_BitTensor : StaticShapeTensorOf<[I1]>;

// Popcounts of XNOR products: the number of agreeing input/weight pairs.
def BNN_PopcountTensor : StaticShapeTensorOf<[I32]>;

// Ops that move values without computing keep real values real and bits
// bits (a flatten between a binary layer and the next, a max pool of signs).
def BNN_RealOrBitTensor : StaticShapeTensorOf<[F32, I1]>;

#endif // HAFNIA_DIALECT_BNN_IR_BNNDIALECT_TD
