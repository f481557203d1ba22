//===- RRAMDialect.td - The rram dialect -------------------*- tablegen -*-===//
//
// The chip level: one op per thing the 2T2R RRAM chip does.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_DIALECT_RRAM_IR_RRAMDIALECT_TD
#define HAFNIA_DIALECT_RRAM_IR_RRAMDIALECT_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/OpBase.td"

def RRAM_Dialect : Dialect {
  let name = "rram";
  let cppNamespace = "::hafnia::rram";
  let summary = "Binary layers tiled onto 2T2R RRAM arrays";
  let description = [{
    The `rram` dialect is one-to-one with what the chip does. Binary weights
    live in arrays of `rows x columns` 2T2R cells (`rram.tile` programs one
    array with a tile of a layer's weight matrix: `rows` neurons by
    `columns` inputs). Reading an array XNORs every row with an input slice
    of `columns` bits in the sense amplifiers and counts the agreeing bits
    per row (`rram.xnor_read`); the digital core sums the partial popcounts
    of a neuron's column tiles (`rram.accumulate`), gathers the layer's rows
    (`rram.collect`), and runs thresholds and the real-valued layers (the
    `bnn` ops, which stay as they are).

    The chip is a module attribute, `rram.target`, which passes read
    instead of repeating options:

    ```mlir
    module attributes {rram.target = #rram.target<rows = 32, columns = 32,
        arrays = 1024, digital_memory_bytes = 16777216, real_bits = 32>} {...}
    ```
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// The module attribute holding the chip.
    static constexpr ::llvm::StringLiteral kTargetAttrName = "rram.target";
  }];
}

def RRAM_TargetAttr : AttrDef<RRAM_Dialect, "Target"> {
  let mnemonic = "target";
  let summary = "The chip: array geometry, array count, digital memory";
  let description = [{
    `rows` x `columns` cells per array, `arrays` arrays, the digital core's
    memory for real-valued parameters and the bits of each (32 for float,
    8 for int8). Set by `hafnia-compile` from the chip configuration.
  }];
  let parameters = (ins "uint32_t":$rows, "uint32_t":$columns,
                        "uint32_t":$arrays, "uint64_t":$digital_memory_bytes,
                        "uint32_t":$real_bits);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def RRAM_TileType : TypeDef<RRAM_Dialect, "Tile"> {
  let mnemonic = "tile";
  let summary = "An array programmed with a tile of a layer's weights";
}

class RRAM_Op<string mnemonic, list<Trait> traits = []>
    : Op<RRAM_Dialect, mnemonic, traits>;

def RRAM_BitTensor : StaticShapeTensorOf<[I1]>;
def RRAM_PopcountTensor : StaticShapeTensorOf<[I32]>;

#endif // HAFNIA_DIALECT_RRAM_IR_RRAMDIALECT_TD
