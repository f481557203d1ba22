//===- SignAnalysis.cpp - Which signs a real value can take ---------------===//

#include "hafnia/Dialect/BNN/Analysis/SignAnalysis.h"

#include "hafnia/Dialect/BNN/IR/BNNOps.h"

#include "mlir/Analysis/DataFlow/ConstantPropagationAnalysis.h"
#include "mlir/Analysis/DataFlow/DeadCodeAnalysis.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace hafnia::bnn;

namespace {

using Signs = uint8_t;
constexpr Signs kNeg = SignRange::kNegative, kZero = SignRange::kZero,
                kPos = SignRange::kPositive, kAny = SignRange::kAny;

/// The sign classes -1, 0, +1 of a set, and back.
Signs bitOf(int sign) { return sign < 0 ? kNeg : sign == 0 ? kZero : kPos; }
template <typename Fn> Signs forEachSign(Signs set, Fn fn) {
  Signs result = 0;
  for (int sign : {-1, 0, 1})
    if (set & bitOf(sign))
      result |= fn(sign);
  return result;
}
/// `fn(a, b)` over every pair of classes of `lhs` and `rhs`.
template <typename Fn> Signs forEachPair(Signs lhs, Signs rhs, Fn fn) {
  return forEachSign(lhs, [&](int a) {
    return forEachSign(rhs, [&](int b) { return fn(a, b); });
  });
}

/// Terms of opposite signs can cancel only by coincidence: zero is tracked
/// where it is a regular value (a ReLU's, a constant's), not a rounding event.
Signs addSigns(Signs lhs, Signs rhs) {
  return forEachPair(lhs, rhs, [](int a, int b) {
    return a * b < 0 ? Signs(kNeg | kPos) : bitOf(a + b);
  });
}
Signs negateSigns(Signs set) {
  return forEachSign(set, [](int a) { return bitOf(-a); });
}
Signs mulSigns(Signs lhs, Signs rhs) {
  return forEachPair(lhs, rhs, [](int a, int b) { return bitOf(a * b); });
}
Signs divSigns(Signs lhs, Signs rhs) {
  // Dividing by zero gives an infinity or NaN.
  return forEachPair(lhs, rhs,
                     [](int a, int b) { return b == 0 ? kAny : bitOf(a * b); });
}
/// max(x, c) and min(x, c) for a constant `c` of sign class `bound`: classes
/// are ordered like the values in them.
Signs maxSigns(Signs set, int bound) {
  return forEachSign(set, [&](int a) { return bitOf(std::max(a, bound)); });
}
Signs minSigns(Signs set, int bound) {
  return forEachSign(set, [&](int a) { return bitOf(std::min(a, bound)); });
}
int signOf(float value) { return value < 0 ? -1 : value == 0 ? 0 : 1; }
/// A sum of any number of terms, each of signs `terms`.
Signs sumSigns(Signs terms) {
  Signs sum = terms;
  for (Signs next = sum | addSigns(sum, sum); next != sum;
       next = sum | addSigns(sum, sum))
    sum = next;
  return sum;
}

Signs constantSigns(ConstantOp constant) {
  auto values = constant.getValue();
  if (!values.getElementType().isF32())
    return kAny;
  if (values.isSplat())
    return bitOf(signOf(values.getSplatValue<float>()));
  Signs result = 0;
  for (float value : values.getValues<float>()) {
    result |= bitOf(signOf(value));
    if (result == kAny)
      break;
  }
  return result;
}

} // namespace

SignRange SignRange::join(const SignRange &lhs, const SignRange &rhs) {
  SignRange result;
  result.signs = lhs.signs | rhs.signs;
  if (!result.canBeNegative())
    result.nonNegativeSource =
        lhs.nonNegativeSource ? lhs.nonNegativeSource : rhs.nonNegativeSource;
  return result;
}

void SignRange::print(llvm::raw_ostream &os) const {
  if (isUninitialized()) {
    os << "<unknown>";
    return;
  }
  SmallVector<StringRef, 3> names;
  if (signs & kNegative)
    names.push_back("negative");
  if (signs & kZero)
    names.push_back("zero");
  if (signs & kPositive)
    names.push_back("positive");
  llvm::interleave(names, os, "|");
  if (nonNegativeSource)
    os << " (non-negative from '" << getLayerName(nonNegativeSource) << "')";
}

void SignAnalysis::setToEntryState(SignLattice *lattice) {
  // A model input: either sign; exact zeros are not known to be regular.
  propagateIfChanged(lattice, lattice->join(SignRange{kNeg | kPos, nullptr}));
}

void SignAnalysis::visitOperation(Operation *op,
                                  ArrayRef<const SignLattice *> operands,
                                  ArrayRef<SignLattice *> results) {
  SmallVector<Signs> in;
  for (const SignLattice *operand : operands) {
    // Wait until every operand is known; the solver comes back then.
    if (operand->getValue().isUninitialized())
      return;
    in.push_back(operand->getValue().signs);
  }
  auto bound = [](std::optional<APFloat> value) {
    return signOf(value->convertToFloat());
  };
  Signs signs =
      llvm::TypeSwitch<Operation *, Signs>(op)
          .Case([&](ConstantOp constant) { return constantSigns(constant); })
          .Case([&](ReluOp) { return maxSigns(in[0], 0); })
          .Case([&](ClipOp clip) {
            Signs set = in[0];
            if (clip.getMin())
              set = maxSigns(set, bound(clip.getMin()));
            if (clip.getMax())
              set = minSigns(set, bound(clip.getMax()));
            return set;
          })
          // exp underflows to zero in f32, so sigmoid and softmax can be 0.
          .Case<SigmoidOp, SoftmaxOp, HardSigmoidOp>(
              [&](auto) { return kZero | kPos; })
          // Never negative.
          .Case<SqrtOp, AbsOp, ExpOp, SoftplusOp, CoshOp, AcosOp, HardmaxOp,
                ReduceSumSquareOp, ReduceL1Op, ReduceL2Op>(
              [&](auto) { return kZero | kPos; })
          .Case([&](LogSoftmaxOp) { return kNeg | kZero; })
          .Case([&](BipolarOp) { return kNeg | kPos; })
          // The signs of the input, whatever the values: monotone through
          // zero, or picking among the input's elements.
          .Case<TanhOp, SignOp, ErfOp, SoftsignOp, SinhOp, AsinhOp, AtanhOp,
                AtanOp, SeluOp, CeluOp, MaxPoolOp, GlobalMaxPoolOp, ReduceMaxOp,
                ReduceMinOp, ReshapeOp, FlattenOp, TransposeOp, SqueezeOp,
                UnsqueezeOp, SliceOp, GatherOp>([&](auto) { return in[0]; })
          .Case<LeakyReluOp, EluOp>([&](auto op) {
            // alpha * x (or alpha * (exp(x) - 1)) below zero.
            float alpha = op.getAlpha().convertToFloat();
            return alpha > 0 ? in[0] : maxSigns(in[0], 0);
          })
          .Case([&](NegOp) { return negateSigns(in[0]); })
          .Case([&](ReciprocalOp) { return divSigns(kPos, in[0]); })
          .Case<ReduceSumOp, ReduceMeanOp>(
              [&](auto) { return sumSigns(in[0]); })
          .Case([&](MaxOp) {
            return forEachPair(in[0], in[1], [](int a, int b) {
              return bitOf(std::max(a, b));
            });
          })
          .Case([&](MinOp) {
            return forEachPair(in[0], in[1], [](int a, int b) {
              return bitOf(std::min(a, b));
            });
          })
          .Case<AveragePoolOp, GlobalAveragePoolOp>([&](auto) {
            // An average keeps the signs of what it averages.
            return sumSigns(in[0]);
          })
          .Case([&](PadOp pad) {
            // New elements: the constant, or copies of the input's.
            return pad.getMode() == "constant"
                       ? Signs(in[0] |
                               bitOf(signOf(pad.getValue().convertToFloat())))
                       : in[0];
          })
          .Case([&](ConcatOp) {
            Signs set = 0;
            for (Signs operand : in)
              set |= operand;
            return set;
          })
          .Case([&](AddOp) { return addSigns(in[0], in[1]); })
          .Case([&](SubOp) { return addSigns(in[0], negateSigns(in[1])); })
          .Case([&](MulOp) { return mulSigns(in[0], in[1]); })
          .Case([&](DivOp) { return divSigns(in[0], in[1]); })
          .Case([&](BatchNormOp) {
            // scale * (x - mean) / sqrt(variance + epsilon) + bias.
            Signs centered = addSigns(in[0], negateSigns(in[3]));
            return addSigns(mulSigns(centered, in[1]), in[2]);
          })
          .Case([&](DenseOp dense) {
            Signs products =
                mulSigns(mulSigns(in[0], in[1]),
                         bitOf(signOf(dense.getAlpha().convertToFloat())));
            Signs sum = sumSigns(products);
            if (dense.getBias())
              sum = addSigns(
                  sum,
                  mulSigns(in[2],
                           bitOf(signOf(dense.getBeta().convertToFloat()))));
            return sum;
          })
          .Case([&](ConvOp conv) {
            Signs products = mulSigns(in[0], in[1]);
            // Padded positions add zero terms.
            if (llvm::any_of(conv.getPads(), [](int64_t pad) { return pad; }))
              products |= kZero;
            Signs sum = sumSigns(products);
            return conv.getBias() ? addSigns(sum, in[2]) : sum;
          })
          .Default([](Operation *) { return kAny; });

  SignRange range{signs, nullptr};
  if (!range.canBeNegative()) {
    // Name the op that removed the negative values: an operand's source if
    // the operand was already non-negative, else this op.
    for (const SignLattice *operand : operands)
      if (Operation *source = operand->getValue().nonNegativeSource) {
        range.nonNegativeSource = source;
        break;
      }
    if (!range.nonNegativeSource)
      range.nonNegativeSource = op;
  }
  for (SignLattice *result : results) {
    bool real = isa<FloatType>(getElementTypeOrSelf(result->getPoint()));
    propagateIfChanged(result, result->join(real ? range : SignRange::any()));
  }
}

ValueSigns::ValueSigns(Operation *root) {
  // The sparse analyses need the liveness of blocks and constants.
  solver.load<dataflow::DeadCodeAnalysis>();
  solver.load<dataflow::SparseConstantPropagation>();
  solver.load<SignAnalysis>();
  (void)solver.initializeAndRun(root);
}

SignRange ValueSigns::lookup(Value value) const {
  const SignLattice *lattice = solver.lookupState<SignLattice>(value);
  if (!lattice || lattice->getValue().isUninitialized())
    return SignRange::any();
  return lattice->getValue();
}
