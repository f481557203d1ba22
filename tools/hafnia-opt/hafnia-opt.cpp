//===- hafnia-opt.cpp - mlir-opt with Hafnia's dialects and passes --------===//

#include "hafnia/Conversion/Passes.h"
#include "hafnia/Dialect/BNN/IR/BNNDialect.h"
#include "hafnia/Dialect/BNN/Transforms/Passes.h"
#include "hafnia/Dialect/RRAM/IR/RRAMDialect.h"
#include "hafnia/Dialect/RRAM/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerTransformsPasses();
  hafnia::bnn::registerBNNPasses();
  hafnia::registerConversionPasses();
  hafnia::rram::registerRRAMPasses();
  mlir::DialectRegistry registry;
  registry.insert<hafnia::bnn::BNNDialect, hafnia::rram::RRAMDialect,
                  mlir::func::FuncDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Hafnia optimizer driver\n", registry));
}
