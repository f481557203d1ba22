//===- SignAnalysis.h - Which signs a real value can take -------*- C++ -*-===//
//
// A sparse forward dataflow analysis over `bnn`: for every real value, the
// signs (negative, zero, positive) it can take. Binarization asks it whether
// a layer's input can be negative (if not, sign binarization gives +1 for
// every input) and whether a Sign's input can be exactly zero (where ONNX's
// Sign gives 0 and the chip +1).
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_DIALECT_BNN_ANALYSIS_SIGNANALYSIS_H
#define HAFNIA_DIALECT_BNN_ANALYSIS_SIGNANALYSIS_H

#include "mlir/Analysis/DataFlow/SparseAnalysis.h"
#include "mlir/Analysis/DataFlowFramework.h"

#include <cstdint>

namespace hafnia::bnn {

/// The signs a value can take: a subset of {negative, zero, positive}. Zero
/// means a regular value, one that whole ranges of inputs give (a ReLU's
/// output) or a constant holds, not a sum that cancels by coincidence. NaN is
/// not tracked (it reads as -1 on the chip, like any negative value).
struct SignRange {
  enum : uint8_t { kNegative = 1, kZero = 2, kPositive = 4, kAny = 7 };
  /// 0 while nothing is known yet (the analysis has not reached the value).
  uint8_t signs = 0;
  /// Where the value cannot be negative: the op that removed the negative
  /// values (a ReLU, a sigmoid, ...), so that diagnostics can name it.
  mlir::Operation *nonNegativeSource = nullptr;

  static SignRange any() { return {kAny, nullptr}; }
  bool isUninitialized() const { return signs == 0; }
  bool canBeNegative() const { return signs & kNegative; }
  bool canBeZero() const { return signs & kZero; }

  static SignRange join(const SignRange &lhs, const SignRange &rhs);
  bool operator==(const SignRange &other) const {
    return signs == other.signs && nonNegativeSource == other.nonNegativeSource;
  }
  void print(llvm::raw_ostream &os) const;
};

class SignLattice : public mlir::dataflow::Lattice<SignRange> {
public:
  using Lattice::Lattice;
};

/// The transfer functions of the bnn ops. Ops it does not know give any sign.
class SignAnalysis
    : public mlir::dataflow::SparseForwardDataFlowAnalysis<SignLattice> {
public:
  using SparseForwardDataFlowAnalysis::SparseForwardDataFlowAnalysis;

  void visitOperation(mlir::Operation *op,
                      llvm::ArrayRef<const SignLattice *> operands,
                      llvm::ArrayRef<SignLattice *> results) override;
  void setToEntryState(SignLattice *lattice) override;
};

/// The signs of every value under `root`, computed once.
class ValueSigns {
public:
  explicit ValueSigns(mlir::Operation *root);
  /// Any sign for a value the analysis did not reach.
  SignRange lookup(mlir::Value value) const;

private:
  mlir::DataFlowSolver solver;
};

} // namespace hafnia::bnn

#endif // HAFNIA_DIALECT_BNN_ANALYSIS_SIGNANALYSIS_H
