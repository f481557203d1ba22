// The subset of Python literals a .npy header is written in. Private to the
// runtime.

#ifndef HAFNIA_RUNTIME_LIB_PYLITERAL_H
#define HAFNIA_RUNTIME_LIB_PYLITERAL_H

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hafnia {
namespace tensor_io {

// A value of the subset of Python literals a .npy header uses.
struct PyValue {
  enum Kind { kString, kInt, kBool, kNone, kTuple, kList, kDict };
  Kind kind = kNone;
  std::string text;              // kString
  int64_t integer = 0;           // kInt
  bool boolean = false;          // kBool
  std::vector<PyValue> items;    // kTuple, kList; kDict values
  std::vector<std::string> keys; // kDict, parallel to items
};

// "a string", "a tuple", ...: the kind of a value for messages.
const char *KindName(PyValue::Kind kind);

// Parses `text` as one value and nothing after it but whitespace: strings,
// integers, True/False/None, tuples, lists and dicts with string keys (what
// numpy.save writes), plus the 'L' suffix of integers in files from Python
// 2. Errors give the offset in the text.
absl::StatusOr<PyValue> ParsePyLiteral(absl::string_view text);

} // namespace tensor_io
} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIB_PYLITERAL_H
