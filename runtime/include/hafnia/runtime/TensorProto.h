// ONNX TensorProto .pb files: the ONNX test suites' inputs and references.
// Errors name the file and say what is wrong and what was expected.

#ifndef HAFNIA_RUNTIME_TENSORPROTO_H
#define HAFNIA_RUNTIME_TENSORPROTO_H

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hafnia/runtime/Tensor.h"

namespace hafnia {

// Reads an ONNX TensorProto .pb file: FLOAT from float_data or raw_data;
// DOUBLE, INT64 and INT32 (typed field or raw_data) converted to float.
// External data, other types and a data size that does not match the dims
// are errors.
absl::StatusOr<Tensor> ReadTensorProto(const std::string &path);
// The same from the file's bytes (`source` names them in errors; at most
// kMaxInputFileBytes, as ReadFile allows).
absl::StatusOr<Tensor> DecodeTensorProtoBytes(absl::string_view bytes,
                                              absl::string_view source);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_TENSORPROTO_H
