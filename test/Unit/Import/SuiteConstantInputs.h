//===- SuiteConstantInputs.h - Shape operands the suite passes as inputs --===//
//
// The backend suite's Resize and Upsample tests pass `scales` and `sizes` as
// graph inputs with their values in each test data set. A user of Hafnia
// knows these values when compiling and gives them with --constant-input;
// the suite tests do the same: an input that is a Resize's roi, scales or
// sizes, or an Upsample's scales, and holds the same value in every data
// set, is bound to that value (OnnxImportOptions::constantInputs).
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_TEST_UNIT_IMPORT_SUITECONSTANTINPUTS_H
#define HAFNIA_TEST_UNIT_IMPORT_SUITECONSTANTINPUTS_H

#include "hafnia/Import/OnnxImporter.h"

#include "onnx/onnx_pb.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <map>
#include <set>
#include <string>

namespace hafnia::test {

/// Binds the shape operands of `dir`'s model that its data sets give as
/// inputs; returns the names of the model's graph inputs (initializers
/// excepted) by their index k, the data sets' `input_k.pb`.
inline std::map<std::string, int>
bindSuiteConstantInputs(const std::string &dir, OnnxImportOptions &options) {
  std::map<std::string, int> indices;
  auto buffer = llvm::MemoryBuffer::getFile(dir + "/model.onnx");
  onnx::ModelProto model;
  if (!buffer || !model.ParseFromString((*buffer)->getBuffer().str()))
    return indices;
  std::set<std::string> initializers;
  for (const onnx::TensorProto &tensor : model.graph().initializer())
    initializers.insert(tensor.name());
  for (const onnx::ValueInfoProto &input : model.graph().input())
    if (!initializers.count(input.name()))
      indices.emplace(input.name(), static_cast<int>(indices.size()));
  std::set<std::string> operands;
  for (const onnx::NodeProto &node : model.graph().node()) {
    if (!node.domain().empty())
      continue;
    int first = node.op_type() == "Resize"     ? 1
                : node.op_type() == "Upsample" ? 1
                                               : node.input_size();
    for (int k = first; k < node.input_size(); ++k)
      if (!node.input(k).empty() && indices.count(node.input(k)))
        operands.insert(node.input(k));
  }
  for (const std::string &name : operands) {
    std::string file = "/input_" + std::to_string(indices.at(name)) + ".pb";
    std::string value;
    bool constant = true;
    int sets = 0;
    for (;; ++sets) {
      std::string data = dir + "/test_data_set_" + std::to_string(sets);
      if (!llvm::sys::fs::exists(data))
        break;
      auto bytes = llvm::MemoryBuffer::getFile(data + file, /*IsText=*/false);
      if (!bytes || (sets && (*bytes)->getBuffer() != value)) {
        constant = false;
        break;
      }
      value = (*bytes)->getBuffer().str();
    }
    if (constant && sets)
      options.constantInputs.emplace_back(name, value);
  }
  return indices;
}

} // namespace hafnia::test

#endif // HAFNIA_TEST_UNIT_IMPORT_SUITECONSTANTINPUTS_H
