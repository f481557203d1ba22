//===- PrintSigns.cpp - Report the sign analysis as remarks ---------------===//

#include "hafnia/Dialect/BNN/Analysis/SignAnalysis.h"
#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"

#include "mlir/IR/TypeUtilities.h"

namespace hafnia::bnn {
#define GEN_PASS_DEF_PRINTSIGNSPASS
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"
} // namespace hafnia::bnn

using namespace mlir;
using namespace hafnia::bnn;

namespace {

struct PrintSignsPass : hafnia::bnn::impl::PrintSignsPassBase<PrintSignsPass> {
  void runOnOperation() override {
    ValueSigns signs(getOperation());
    getOperation().walk([&](Operation *op) {
      if (op->getNumResults() != 1 || isa<ConstantOp>(op) ||
          !isa<FloatType>(getElementTypeOrSelf(op->getResult(0))))
        return;
      std::string text;
      llvm::raw_string_ostream os(text);
      signs.lookup(op->getResult(0)).print(os);
      op->emitRemark() << "signs: " << text;
    });
  }
};

} // namespace
