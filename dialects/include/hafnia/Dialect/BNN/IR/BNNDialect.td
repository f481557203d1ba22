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
  }];
  let hasConstantMaterializer = 1;
}

class BNN_Op<string mnemonic, list<Trait> traits = []>
    : Op<BNN_Dialect, mnemonic, traits>;

// Real-valued activations and weights: statically shaped f32 tensors.
def BNN_RealTensor : StaticShapeTensorOf<[F32]>;

#endif // HAFNIA_DIALECT_BNN_IR_BNNDIALECT_TD
