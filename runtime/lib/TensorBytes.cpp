// Helpers the tensor file formats share.

#include "TensorBytes.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace hafnia {
namespace tensor_io {

uint64_t LoadLittleEndian(const char *bytes, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i)
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

float FloatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

double DoubleFromBits(uint64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

float FloatFromHalfBits(uint16_t bits) {
  const bool negative = bits & 0x8000;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31)
    magnitude = mantissa == 0 ? std::numeric_limits<float>::infinity()
                              : std::numeric_limits<float>::quiet_NaN();
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return negative ? -magnitude : magnitude;
}

void AppendLittleEndian32(uint32_t value, std::string &out) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

absl::StatusOr<int64_t> CountElements(const std::vector<int64_t> &shape) {
  for (int64_t dim : shape)
    if (dim < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("dimension ", dim, " is negative"));
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim == 0)
      return 0;
    if (count > std::numeric_limits<int64_t>::max() / dim)
      return absl::InvalidArgumentError(
          "the number of elements overflows 64 bits");
    count *= dim;
  }
  return count;
}

std::string PythonShape(const std::vector<int64_t> &shape) {
  if (shape.size() == 1)
    return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

std::string Printable(absl::string_view text) {
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f)
      out.push_back(c);
    else
      absl::StrAppendFormat(&out, "\\x%02x", byte);
  }
  return out;
}

absl::Status WithPath(absl::string_view path, const absl::Status &status) {
  return absl::Status(status.code(),
                      absl::StrCat(path, ": ", status.message()));
}

} // namespace tensor_io
} // namespace hafnia
