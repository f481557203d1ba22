// Helpers the tensor file formats share: little-endian decoding (bytes on
// disk are little-endian in .npy and TensorProto alike; they are decoded byte
// by byte so the code does not depend on the host's byte order), element
// counts, shapes and bytes as messages show them. Private to the runtime.

#ifndef HAFNIA_RUNTIME_LIB_TENSORBYTES_H
#define HAFNIA_RUNTIME_LIB_TENSORBYTES_H

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hafnia {
namespace tensor_io {

uint64_t LoadLittleEndian(const char *bytes, int size);
float FloatFromBits(uint32_t bits);
double DoubleFromBits(uint64_t bits);
// IEEE half precision; every half is exactly representable as a float.
float FloatFromHalfBits(uint16_t bits);
void AppendLittleEndian32(uint32_t value, std::string &out);

// The number of elements of `shape`; an error for a negative dimension or a
// product that does not fit in int64.
absl::StatusOr<int64_t> CountElements(const std::vector<int64_t> &shape);

// Python's repr of a shape tuple, as in .npy headers: (), (3,), (2, 3).
std::string PythonShape(const std::vector<int64_t> &shape);

// `text` for a message: printable ASCII as is, other bytes as \xNN, so a
// binary file does not garble the terminal.
std::string Printable(absl::string_view text);

// `status` with its message prefixed by `path`.
absl::Status WithPath(absl::string_view path, const absl::Status &status);

} // namespace tensor_io
} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIB_TENSORBYTES_H
