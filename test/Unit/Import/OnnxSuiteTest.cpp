//===- OnnxSuiteTest.cpp - Import the ONNX backend test suite -------------===//
//
// Imports every model of Debian's libonnx-testdata and compares the set that
// imports with the committed list test/Import/onnx-suite-importable.txt, so
// that a regression, or a test that newly imports, shows up. Every model that
// does not import must fail with a diagnostic, never silently or by crashing.
// Set HAFNIA_UPDATE_ONNX_SUITE_LIST=1 to rewrite the list after a deliberate
// change.
//
//===----------------------------------------------------------------------===//

#include "SuiteConstantInputs.h"
#include "hafnia/Import/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace {

constexpr const char *kSuites[] = {"node", "pytorch-converted",
                                   "pytorch-operator", "simple"};

/// Test names ("suite/test") of every model in the suite, sorted.
std::vector<std::string> listSuiteModels() {
  std::vector<std::string> names;
  for (const char *suite : kSuites) {
    std::error_code error;
    std::string dir = std::string(HAFNIA_ONNX_TESTDATA) + "/" + suite;
    for (llvm::sys::fs::directory_iterator it(dir, error), end;
         !error && it != end; it.increment(error))
      if (llvm::sys::fs::exists(it->path() + "/model.onnx"))
        names.push_back(std::string(suite) + "/" +
                        llvm::sys::path::filename(it->path()).str());
  }
  std::sort(names.begin(), names.end());
  return names;
}

/// Imports one model; returns the empty string on success, else the error.
std::string importModel(const std::string &name) {
  std::string path =
      std::string(HAFNIA_ONNX_TESTDATA) + "/" + name + "/model.onnx";
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return "cannot read " + path;
  mlir::MLIRContext context;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    diagnostics += diag.str();
    return mlir::success();
  });
  hafnia::OnnxImportOptions options;
  hafnia::test::bindSuiteConstantInputs(
      std::string(HAFNIA_ONNX_TESTDATA) + "/" + name, options);
  auto module =
      hafnia::importOnnxModel((*buffer)->getBuffer(), path, &context, options);
  if (module)
    return "";
  return diagnostics.empty() ? "failed without a diagnostic" : diagnostics;
}

TEST(OnnxSuite, ImportsExactlyTheCommittedList) {
  std::vector<std::string> models = listSuiteModels();
  ASSERT_GT(models.size(), 1000u)
      << "the ONNX test suite is missing from " << HAFNIA_ONNX_TESTDATA
      << "; install Debian's libonnx-testdata (tools/setup.sh does)";

  std::vector<std::string> imported;
  std::map<std::string, std::string> failures;
  for (const std::string &name : models) {
    std::string error = importModel(name);
    if (error.empty())
      imported.push_back(name);
    else
      failures[name] = error;
  }
  for (const auto &[name, error] : failures)
    EXPECT_NE(error, "failed without a diagnostic") << name;

  if (std::getenv("HAFNIA_UPDATE_ONNX_SUITE_LIST")) {
    std::error_code error;
    llvm::raw_fd_ostream os(HAFNIA_SUITE_LIST, error);
    ASSERT_FALSE(error) << error.message();
    os << "# ONNX backend tests (libonnx-testdata 1.12) whose models import.\n"
          "# Maintained by test/Unit/Import/OnnxSuiteTest.cpp.\n";
    for (const std::string &name : imported)
      os << name << "\n";
    return;
  }

  auto list = llvm::MemoryBuffer::getFile(HAFNIA_SUITE_LIST);
  ASSERT_TRUE(list) << "cannot read " << HAFNIA_SUITE_LIST;
  llvm::StringSet<> expected;
  llvm::SmallVector<llvm::StringRef> lines;
  (*list)->getBuffer().split(lines, '\n', -1, false);
  for (llvm::StringRef line : lines)
    if (!line.trim().empty() && !line.starts_with("#"))
      expected.insert(line.trim());

  for (const auto &[name, error] : failures)
    EXPECT_FALSE(expected.contains(name))
        << "regression: " << name << " no longer imports: " << error;
  for (const std::string &name : imported)
    EXPECT_TRUE(expected.contains(name))
        << name << " now imports: add it to " << HAFNIA_SUITE_LIST
        << " (HAFNIA_UPDATE_ONNX_SUITE_LIST=1 rewrites the list)";
  std::cout << imported.size() << " of " << models.size()
            << " suite models import\n";
}

} // namespace
