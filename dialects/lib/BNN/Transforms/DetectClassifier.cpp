//===- DetectClassifier.cpp - Mark the classifier's dense layers ----------===//

#include "hafnia/Dialect/BNN/IR/BNNOps.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"

#include "llvm/ADT/STLExtras.h"

namespace hafnia::bnn {
#define GEN_PASS_DEF_DETECTCLASSIFIERPASS
#include "hafnia/Dialect/BNN/Transforms/Passes.h.inc"
} // namespace hafnia::bnn

using namespace mlir;
using namespace hafnia::bnn;

namespace {

/// Ops after which the feature extractor ends: spatial structure is consumed.
bool isFeatureBoundary(Operation *op) {
  return isa<ConvOp, MaxPoolOp, AveragePoolOp, GlobalAveragePoolOp, FlattenOp,
             ReshapeOp>(op);
}

std::string describeLayer(DenseOp dense) {
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto name = dyn_cast<NameLoc>(dense.getLoc()))
    os << "'" << name.getName().getValue() << "' ";
  auto weight = dense.getRhs().getType();
  os << "(";
  llvm::interleave(weight.getShape(), os, "x");
  os << ")";
  return text;
}

struct DetectClassifierPass
    : hafnia::bnn::impl::DetectClassifierPassBase<DetectClassifierPass> {
  void runOnOperation() override {
    // The body of a function is in execution order: whatever follows the last
    // boundary is computed from the flattened features.
    Block &body = getOperation().getBody().front();
    auto boundary = llvm::find_if(llvm::reverse(body), [](Operation &op) {
      return isFeatureBoundary(&op);
    });
    auto start = boundary == body.rend() ? body.begin()
                                         : std::next(boundary.getReverse());
    SmallVector<DenseOp> layers;
    for (Operation &op : llvm::make_range(start, body.end()))
      if (auto dense = dyn_cast<DenseOp>(op))
        layers.push_back(dense);
    // The dense layers and their normalizations and activations: everything
    // computed after the boundary but constants and the return.
    if (!layers.empty())
      for (Operation &op : llvm::make_range(start, body.end()))
        if (!isa<ConstantOp>(op) && !op.hasTrait<OpTrait::IsTerminator>())
          op.setAttr(kClassifierAttrName, UnitAttr::get(&getContext()));
    InFlightDiagnostic remark = emitRemark(getOperation().getLoc());
    if (layers.empty()) {
      remark << "no classifier: no dense layer follows the last convolution, "
                "pooling, flatten or reshape";
      return;
    }
    remark << "classifier of " << layers.size() << " dense layer(s): ";
    llvm::interleaveComma(
        layers, remark, [&](DenseOp dense) { remark << describeLayer(dense); });
  }
};

} // namespace
