//===- Passes.h - Passes of the bnn dialect ---------------------*- C++ -*-===//

#ifndef HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_H
#define HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/Support/CommandLine.h"

#include <optional>
#include <string>

namespace hafnia::bnn {

/// Which layers `bnn-binarize` turns into XNOR-popcount layers.
enum class BinarizeMode { None, Classifier, All };

/// The mode of bnn-binarize and hafnia-compile when none is given: the
/// paper's strategy.
constexpr BinarizeMode kDefaultBinarizeMode = BinarizeMode::Classifier;

/// The name of a mode, as the pass option `mode` and hafnia-compile's
/// `--binarize` spell it: "none", "classifier" or "all".
llvm::StringRef stringifyBinarizeMode(BinarizeMode mode);

/// The mode of a name of stringifyBinarizeMode; nullopt for another name.
std::optional<BinarizeMode> symbolizeBinarizeMode(llvm::StringRef name);

/// The values (names and help) of an llvm::cl option of BinarizeMode: the
/// one parser of bnn-binarize's `mode` and hafnia-compile's `--binarize`.
llvm::cl::ValuesClass getBinarizeModeValues();

/// The unit attribute `bnn-detect-classifier` puts on classifier layers.
constexpr llvm::StringLiteral kClassifierAttrName = "bnn.classifier";

/// What calibration data say of a layer's input, for bnn-binarize: a
/// dictionary of three f32 arrays, one value per input channel (axis 1):
/// `thresholds` (the bits are input >= threshold), and `low` and `high`, the
/// mean input below and at or above it.
constexpr llvm::StringLiteral kCalibrationAttrName = "bnn.calibration";

/// How often a Sign's input was exactly zero on calibration data (where
/// ONNX and the chip disagree): a dictionary of two i64, `zeros` and
/// `values`, on the layer the Sign feeds.
constexpr llvm::StringLiteral kSignZerosAttrName = "bnn.sign_zeros";

class ValueSigns;

/// The binarization-eligibility rule of bnn-binarize, shared with the advice
/// of rram-allocate-arrays, in two halves. First: whether `mode` selects a
/// conv or dense `layer` (`firstLayer`: the one that reads the model's input,
/// which stays real unless `binarizeFirstLayer`).
bool isSelectedForBinarization(mlir::Operation *layer, BinarizeMode mode,
                               bool binarizeFirstLayer, bool firstLayer);

/// Second: why the arrays cannot hold a selected `layer` exactly, so that it
/// stays real (the reason, as bnn-binarize's warning says it: a batched
/// product, a weight or bias computed at run time); nullopt when they can.
std::optional<std::string> getBinarizationObstacle(mlir::Operation *layer);

/// The conv and dense layers bnn-binarize turns into binary layers (unless
/// getBinarizationObstacle finds that the chip cannot hold one), in program
/// order.
llvm::SmallVector<mlir::Operation *>
getLayersToBinarize(mlir::func::FuncOp function, BinarizeMode mode,
                    bool binarizeFirstLayer);

/// Whether a layer's input bits need thresholds from calibration data: its
/// input is not already a sign (of a model trained binarized), or it is one
/// that can never be negative.
bool needsCalibration(mlir::Operation *layer, const ValueSigns &signs);

/// The Sign through which a layer reads its input, when that Sign's input
/// can be exactly zero (the warning of bnn-binarize); null otherwise.
mlir::Operation *getZeroSign(mlir::Operation *layer, const ValueSigns &signs);

#define GEN_PASS_DECL
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"

} // namespace hafnia::bnn

#endif // HAFNIA_DIALECT_BNN_TRANSFORMS_PASSES_H
