// Tensor files: .npy and ONNX TensorProto .pb reading, .npy writing, and the
// atomic file writes behind every output of the runtime.
//
// Bytes on disk are little-endian in both formats; they are decoded byte by
// byte so the code does not depend on the host's byte order.

#include "hafnia/runtime/TensorIO.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "hafnia/proto/onnx_tensor.pb.h"

namespace hafnia {
namespace {

// ---------------------------------------------------------------------------
// Little-endian bytes.

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

// IEEE half precision; every half is exactly representable as a float.
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

// ---------------------------------------------------------------------------
// Shapes.

// The number of elements of `shape`; an error for a negative dimension or a
// product that does not fit in int64.
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

// Python's repr of a shape tuple, as in .npy headers: (), (3,), (2, 3).
std::string PythonShape(const std::vector<int64_t> &shape) {
  if (shape.size() == 1)
    return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

// `text` for a message: printable ASCII as is, other bytes as \xNN, so a
// binary file does not garble the terminal.
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

// ---------------------------------------------------------------------------
// The Python literal of a .npy header.

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

const char *KindName(PyValue::Kind kind) {
  switch (kind) {
  case PyValue::kString:
    return "a string";
  case PyValue::kInt:
    return "an integer";
  case PyValue::kBool:
    return "a boolean";
  case PyValue::kNone:
    return "None";
  case PyValue::kTuple:
    return "a tuple";
  case PyValue::kList:
    return "a list";
  case PyValue::kDict:
    return "a dict";
  }
  return "a value";
}

// Recursive descent over strings, integers, True/False/None, tuples, lists
// and dicts with string keys: what numpy.save writes, plus the 'L' suffix of
// integers in files from Python 2. Errors give the offset in the header.
class PyLiteralParser {
public:
  explicit PyLiteralParser(absl::string_view text) : text_(text) {}

  // One value and nothing after it but whitespace.
  absl::StatusOr<PyValue> ParseAll() {
    absl::StatusOr<PyValue> value = ParseValue(/*depth=*/0);
    if (!value.ok())
      return value;
    SkipSpace();
    if (pos_ != text_.size())
      return Error("unexpected text after the dict");
    return value;
  }

private:
  // Deep enough for any header; bounds recursion on hostile input.
  static constexpr int kMaxDepth = 16;

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " at offset ", pos_, " of the header"));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  absl::StatusOr<PyValue> ParseValue(int depth) {
    if (depth > kMaxDepth)
      return Error("nesting too deep");
    SkipSpace();
    if (pos_ == text_.size())
      return Error("unexpected end of the header");
    const char c = text_[pos_];
    if (c == '\'' || c == '"')
      return ParseString();
    if (c == '-' || c == '+' || (c >= '0' && c <= '9'))
      return ParseInt();
    if (c == '(' || c == '[')
      return ParseSequence(depth);
    if (c == '{')
      return ParseDict(depth);
    return ParseWord();
  }

  absl::StatusOr<PyValue> ParseString() {
    const char quote = text_[pos_++];
    PyValue value;
    value.kind = PyValue::kString;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        c = text_[pos_++];
        if (c == 'n')
          c = '\n';
        else if (c == 't')
          c = '\t';
      }
      value.text.push_back(c);
    }
    if (pos_ == text_.size())
      return Error("unterminated string");
    ++pos_;
    return value;
  }

  absl::StatusOr<PyValue> ParseInt() {
    bool negative = false;
    if (text_[pos_] == '-' || text_[pos_] == '+')
      negative = text_[pos_++] == '-';
    if (pos_ == text_.size() || text_[pos_] < '0' || text_[pos_] > '9')
      return Error("expected digits");
    // Accumulate the magnitude as a negative number so INT64_MIN fits.
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_++] - '0';
      if (value < (std::numeric_limits<int64_t>::min() + digit) / 10)
        return Error("integer too large");
      value = value * 10 - digit;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l'))
      ++pos_;
    if (!negative && value == std::numeric_limits<int64_t>::min())
      return Error("integer too large");
    PyValue result;
    result.kind = PyValue::kInt;
    result.integer = negative ? value : -value;
    return result;
  }

  // "(...)" is a tuple when it is empty or has a comma, like in Python;
  // otherwise it is just the value inside. "[...]" is a list.
  absl::StatusOr<PyValue> ParseSequence(int depth) {
    const char open = text_[pos_++];
    const char close = open == '(' ? ')' : ']';
    PyValue sequence;
    sequence.kind = open == '(' ? PyValue::kTuple : PyValue::kList;
    bool saw_comma = false;
    while (!Consume(close)) {
      absl::StatusOr<PyValue> item = ParseValue(depth + 1);
      if (!item.ok())
        return item;
      sequence.items.push_back(*std::move(item));
      if (Consume(','))
        saw_comma = true;
      else if (!Consume(close))
        return Error(
            absl::StrCat("expected ',' or '", std::string(1, close), "'"));
      else
        break;
    }
    if (open == '(' && sequence.items.size() == 1 && !saw_comma)
      return std::move(sequence.items[0]);
    return sequence;
  }

  absl::StatusOr<PyValue> ParseDict(int depth) {
    ++pos_;
    PyValue dict;
    dict.kind = PyValue::kDict;
    while (!Consume('}')) {
      SkipSpace();
      if (pos_ == text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
        return Error("expected a quoted key");
      absl::StatusOr<PyValue> key = ParseString();
      if (!key.ok())
        return key;
      if (!Consume(':'))
        return Error("expected ':' after a key");
      absl::StatusOr<PyValue> value = ParseValue(depth + 1);
      if (!value.ok())
        return value;
      dict.keys.push_back(std::move(key->text));
      dict.items.push_back(*std::move(value));
      if (!Consume(',')) {
        if (!Consume('}'))
          return Error("expected ',' or '}'");
        break;
      }
    }
    return dict;
  }

  absl::StatusOr<PyValue> ParseWord() {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
            text_[pos_] == '_'))
      ++pos_;
    const absl::string_view word = text_.substr(start, pos_ - start);
    PyValue value;
    if (word == "True" || word == "False") {
      value.kind = PyValue::kBool;
      value.boolean = word == "True";
    } else if (word == "None") {
      value.kind = PyValue::kNone;
    } else {
      pos_ = start;
      return Error(absl::StrCat(
          "unexpected '",
          Printable(text_.substr(start, std::max<size_t>(1, word.size()))),
          "'"));
    }
    return value;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// .npy files.

constexpr absl::string_view kNpyMagic("\x93NUMPY", 6);

constexpr const char *kSupportedDtypes =
    "'<f4', '<f8', '<f2', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', "
    "'<u8', '|b1'";

struct NpyDtype {
  enum Kind { kFloat, kSigned, kUnsigned, kBool };
  Kind kind;
  int size; // bytes per element
};

// A parsed .npy file; `data` points into the file's bytes.
struct NpyArray {
  std::string descr;
  NpyDtype dtype;
  std::vector<int64_t> shape;
  int64_t count;
  absl::string_view data;
};

bool HostIsLittleEndian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// Decodes a NumPy type string such as '<f4'; errors say what is supported.
absl::StatusOr<NpyDtype> ParseDescr(absl::string_view descr) {
  char order = '=';
  absl::string_view type = descr;
  if (!type.empty() &&
      absl::string_view("<>|=").find(type[0]) != absl::string_view::npos) {
    order = type[0];
    type.remove_prefix(1);
  }
  auto unsupported = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("dtype '", Printable(descr),
                     "' is not supported; supported: ", kSupportedDtypes,
                     " (convert with e.g. array.astype('<f4'))"));
  };
  if (type.size() != 2)
    return unsupported();
  NpyDtype dtype;
  dtype.size = type[1] - '0';
  switch (type[0]) {
  case 'f':
    dtype.kind = NpyDtype::kFloat;
    if (dtype.size != 2 && dtype.size != 4 && dtype.size != 8)
      return unsupported();
    break;
  case 'i':
  case 'u':
    dtype.kind = type[0] == 'i' ? NpyDtype::kSigned : NpyDtype::kUnsigned;
    if (dtype.size != 1 && dtype.size != 2 && dtype.size != 4 &&
        dtype.size != 8)
      return unsupported();
    break;
  case 'b':
    dtype.kind = NpyDtype::kBool;
    if (dtype.size != 1)
      return unsupported();
    break;
  default:
    return unsupported();
  }
  // Byte order does not apply to single bytes.
  if (dtype.size > 1) {
    if (order == '=')
      order = HostIsLittleEndian() ? '<' : '>';
    if (order == '>')
      return absl::InvalidArgumentError(absl::StrCat(
          "dtype '", descr,
          "' is big-endian, which is not supported: save the array "
          "little-endian, e.g. array.astype('<",
          std::string(type), "')"));
    if (order == '|')
      return unsupported();
  }
  return dtype;
}

// The header text for messages: escaped, and cut if it is long.
std::string QuoteHeader(absl::string_view header) {
  constexpr size_t kMax = 200;
  std::string quoted = Printable(header.substr(0, kMax));
  if (header.size() > kMax)
    absl::StrAppend(&quoted, "...");
  return absl::StrCat("\"", quoted, "\"");
}

// Parses the header of `bytes` and checks the data is all there. Errors are
// prefixed with `path` by the caller.
absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes) {
  if (!absl::StartsWith(bytes, kNpyMagic)) {
    if (absl::StartsWith(bytes, absl::string_view("PK\x03\x04", 4)))
      return absl::InvalidArgumentError(
          "not a .npy file but a zip archive (an .npz?): save one array with "
          "numpy.save");
    return absl::InvalidArgumentError(
        "not a NumPy .npy file: it does not start with the magic bytes "
        "\"\\x93NUMPY\"");
  }
  if (bytes.size() < 8)
    return absl::InvalidArgumentError(
        "truncated .npy file: it ends before the format version");
  const int major = static_cast<uint8_t>(bytes[6]);
  const int minor = static_cast<uint8_t>(bytes[7]);
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported .npy format version ", major, ".", minor,
                     " (expected 1.0, 2.0 or 3.0)"));
  // Version 1.0 has a 2-byte header length, later versions 4 bytes.
  const size_t length_size = major == 1 ? 2 : 4;
  const size_t header_start = 8 + length_size;
  if (bytes.size() < header_start)
    return absl::InvalidArgumentError(
        "truncated .npy file: it ends inside the header length");
  const uint64_t header_size = LoadLittleEndian(bytes.data() + 8, length_size);
  if (bytes.size() - header_start < header_size)
    return absl::InvalidArgumentError(absl::StrCat(
        "truncated .npy file: the header should be ", header_size,
        " bytes but only ", bytes.size() - header_start, " follow"));
  const absl::string_view header = bytes.substr(header_start, header_size);

  auto malformed = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed .npy header: ", what,
                     "; expected a dict like {'descr': "
                     "'<f4', 'fortran_order': False, 'shape': (2, 3), }, got ",
                     QuoteHeader(header)));
  };
  absl::StatusOr<PyValue> dict = PyLiteralParser(header).ParseAll();
  if (!dict.ok())
    return malformed(dict.status().message());
  if (dict->kind != PyValue::kDict)
    return malformed(absl::StrCat("it is ", KindName(dict->kind)));
  const PyValue *descr = nullptr, *fortran_order = nullptr, *shape = nullptr;
  for (size_t i = 0; i < dict->keys.size(); ++i) {
    const std::string &key = dict->keys[i];
    const PyValue **slot = key == "descr"           ? &descr
                           : key == "fortran_order" ? &fortran_order
                           : key == "shape"         ? &shape
                                                    : nullptr;
    if (slot == nullptr)
      return malformed(absl::StrCat("unexpected key '", Printable(key), "'"));
    if (*slot != nullptr)
      return malformed(absl::StrCat("key '", key, "' appears twice"));
    *slot = &dict->items[i];
  }
  if (descr == nullptr || fortran_order == nullptr || shape == nullptr)
    return malformed(absl::StrCat(
        "key '",
        descr == nullptr
            ? "descr"
            : (fortran_order == nullptr ? "fortran_order" : "shape"),
        "' is missing"));

  NpyArray array;
  if (descr->kind == PyValue::kList)
    return absl::InvalidArgumentError(
        absl::StrCat("structured dtypes (records with fields) are not "
                     "supported; supported: ",
                     kSupportedDtypes));
  if (descr->kind != PyValue::kString)
    return malformed(
        absl::StrCat("'descr' is ", KindName(descr->kind), ", not a string"));
  array.descr = descr->text;
  absl::StatusOr<NpyDtype> dtype = ParseDescr(array.descr);
  if (!dtype.ok())
    return dtype.status();
  array.dtype = *dtype;

  if (fortran_order->kind != PyValue::kBool)
    return malformed(absl::StrCat("'fortran_order' is ",
                                  KindName(fortran_order->kind),
                                  ", not True or False"));
  if (fortran_order->boolean)
    return absl::InvalidArgumentError(
        "the array is in Fortran (column-major) order, which is not "
        "supported: save a C-ordered array, e.g. "
        "numpy.save(path, numpy.ascontiguousarray(array))");

  if (shape->kind != PyValue::kTuple)
    return malformed(
        absl::StrCat("'shape' is ", KindName(shape->kind), ", not a tuple"));
  for (const PyValue &dim : shape->items) {
    if (dim.kind != PyValue::kInt)
      return malformed(absl::StrCat("'shape' holds ", KindName(dim.kind),
                                    ", not only integers"));
    array.shape.push_back(dim.integer);
  }
  absl::StatusOr<int64_t> count = CountElements(array.shape);
  if (!count.ok())
    return malformed(absl::StrCat("bad 'shape' ", PythonShape(array.shape),
                                  ": ", count.status().message()));
  array.count = *count;

  // Bytes after the data are allowed: numpy.load ignores them too (several
  // arrays can be saved to one open file).
  const absl::string_view data = bytes.substr(header_start + header_size);
  if (array.count > std::numeric_limits<int64_t>::max() / array.dtype.size)
    return malformed("the data size overflows 64 bits");
  const uint64_t expected = static_cast<uint64_t>(array.count) *
                            static_cast<uint64_t>(array.dtype.size);
  if (data.size() < expected)
    return absl::InvalidArgumentError(
        absl::StrCat("truncated .npy data: shape ", PythonShape(array.shape),
                     " of '", array.descr, "' needs ", expected,
                     " bytes but only ", data.size(), " are present"));
  array.data = data.substr(0, expected);
  return array;
}

// Calls visit(i, value) for every element, with value a double (floats),
// int64_t (signed integers) or uint64_t (unsigned integers and booleans).
template <typename Visit>
void VisitElements(const NpyArray &array, Visit &&visit) {
  const char *data = array.data.data();
  const int size = array.dtype.size;
  for (int64_t i = 0; i < array.count; ++i) {
    const uint64_t bits = LoadLittleEndian(data + i * size, size);
    switch (array.dtype.kind) {
    case NpyDtype::kFloat:
      visit(i, size == 2 ? static_cast<double>(
                               FloatFromHalfBits(static_cast<uint16_t>(bits)))
               : size == 4 ? static_cast<double>(
                                 FloatFromBits(static_cast<uint32_t>(bits)))
                           : DoubleFromBits(bits));
      break;
    case NpyDtype::kSigned: {
      // Sign-extend from `size` bytes.
      const int shift = 64 - 8 * size;
      visit(i, static_cast<int64_t>(bits << shift) >> shift);
      break;
    }
    case NpyDtype::kUnsigned:
      visit(i, bits);
      break;
    case NpyDtype::kBool:
      // NumPy reads any nonzero byte as True.
      visit(i, static_cast<uint64_t>(bits != 0));
      break;
    }
  }
}

absl::Status WithPath(const std::string &path, const absl::Status &status) {
  return absl::Status(status.code(),
                      absl::StrCat(path, ": ", status.message()));
}

// The bytes of a '<f4' .npy file as numpy.save writes them.
absl::StatusOr<std::string> EncodeNpy(const Tensor &tensor) {
  absl::StatusOr<int64_t> count = CountElements(tensor.shape);
  if (!count.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("bad tensor shape ", PythonShape(tensor.shape), ": ",
                     count.status().message()));
  if (static_cast<uint64_t>(*count) != tensor.data.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor shape ", PythonShape(tensor.shape), " has ", *count,
        " elements but the tensor holds ", tensor.data.size(), " values"));

  std::string header = absl::StrCat(
      "{'descr': '", tensor.int64 ? "<i8" : "<f4",
      "', 'fortran_order': False, 'shape': ", PythonShape(tensor.shape), ", }");
  // NumPy leaves room for the first axis to grow to 21 digits, so a header
  // can be rewritten in place while appending; doing the same keeps the
  // files byte-identical to numpy.save's.
  if (!tensor.shape.empty()) {
    const size_t digits = absl::StrCat(tensor.shape[0]).size();
    constexpr size_t kGrowthAxisMaxDigits = 21;
    if (digits < kGrowthAxisMaxDigits)
      header.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  // Spaces and a newline pad magic + version + length + header to a multiple
  // of 64 bytes, so the data is aligned for memory mapping. Version 2.0 (a
  // 4-byte length) only when the header outgrows 2 bytes, as NumPy does.
  constexpr size_t kAlign = 64;
  int major = 1;
  size_t prefix = 10;
  size_t padding = kAlign - (prefix + header.size() + 1) % kAlign;
  if (header.size() + 1 + padding > 0xffff) {
    major = 2;
    prefix = 12;
    padding = kAlign - (prefix + header.size() + 1) % kAlign;
  }
  header.append(padding, ' ');
  header.push_back('\n');

  std::string bytes(kNpyMagic);
  bytes.push_back(static_cast<char>(major));
  bytes.push_back(0);
  const uint32_t header_size = static_cast<uint32_t>(header.size());
  for (size_t i = 0; i < prefix - 8; ++i)
    bytes.push_back(static_cast<char>((header_size >> (8 * i)) & 0xff));
  bytes.reserve(bytes.size() + header.size() +
                (tensor.int64 ? 8 : 4) * tensor.data.size());
  bytes += header;
  if (tensor.int64) {
    for (float value : tensor.data) {
      uint64_t bits = static_cast<uint64_t>(static_cast<int64_t>(value));
      AppendLittleEndian32(static_cast<uint32_t>(bits), bytes);
      AppendLittleEndian32(static_cast<uint32_t>(bits >> 32), bytes);
    }
    return bytes;
  }
  for (float value : tensor.data) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    AppendLittleEndian32(bits, bytes);
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// ONNX TensorProto.

std::string OnnxTypeName(int32_t type) {
  if (OnnxTensor::DataType_IsValid(type))
    return absl::StrCat(
        OnnxTensor::DataType_Name(static_cast<OnnxTensor::DataType>(type)),
        " (", type, ")");
  return absl::StrCat("unknown (", type, ")");
}

// The typed field that holds elements of `type`, and its size.
std::pair<const char *, int> TypedField(const OnnxTensor &proto, int32_t type) {
  switch (type) {
  case OnnxTensor::FLOAT:
    return {"float_data", proto.float_data_size()};
  case OnnxTensor::DOUBLE:
    return {"double_data", proto.double_data_size()};
  case OnnxTensor::INT32:
    return {"int32_data", proto.int32_data_size()};
  case OnnxTensor::INT64:
    return {"int64_data", proto.int64_data_size()};
  }
  return {"", 0};
}

absl::StatusOr<Tensor> DecodeTensorProto(const OnnxTensor &proto) {
  const std::string what = proto.name().empty()
                               ? "the tensor"
                               : absl::StrCat("tensor '", proto.name(), "'");
  if (proto.data_location() == OnnxTensor::EXTERNAL ||
      proto.external_data_size() > 0) {
    std::string location = "another file";
    for (const OnnxTensor::StringStringEntry &entry : proto.external_data())
      if (entry.key() == "location")
        location = absl::StrCat("'", entry.value(), "'");
    return absl::InvalidArgumentError(absl::StrCat(
        what, " keeps its data in ", location,
        " (external data), which is not supported: save it with the data "
        "inside, e.g. onnx.numpy_helper.from_array"));
  }

  const int32_t type = proto.data_type();
  int element_size;
  switch (type) {
  case OnnxTensor::FLOAT:
  case OnnxTensor::INT32:
    element_size = 4;
    break;
  case OnnxTensor::DOUBLE:
  case OnnxTensor::INT64:
    element_size = 8;
    break;
  default:
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has data type ", OnnxTypeName(type),
        ", which is not supported; supported: FLOAT, DOUBLE, INT32, INT64",
        type == OnnxTensor::UNDEFINED ? " (is this an ONNX TensorProto file?)"
                                      : ""));
  }

  Tensor tensor;
  tensor.shape.assign(proto.dims().begin(), proto.dims().end());
  const std::string dims =
      absl::StrCat("[", absl::StrJoin(tensor.shape, ", "), "]");
  absl::StatusOr<int64_t> count = CountElements(tensor.shape);
  if (!count.ok())
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has bad dims ", dims, ": ", count.status().message()));

  // ONNX's checker demands exactly one data field; with two, which one is
  // meant is a guess.
  std::vector<std::string> present;
  if (!proto.raw_data().empty())
    present.push_back("raw_data");
  if (proto.float_data_size() > 0)
    present.push_back("float_data");
  if (proto.double_data_size() > 0)
    present.push_back("double_data");
  if (proto.int32_data_size() > 0)
    present.push_back("int32_data");
  if (proto.int64_data_size() > 0)
    present.push_back("int64_data");
  const auto [field, field_size] = TypedField(proto, type);
  if (present.size() > 1)
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has data in ", absl::StrJoin(present, " and "),
                     "; expected it in one field, ", field, " or raw_data"));
  if (present.size() == 1 && present[0] != "raw_data" && present[0] != field)
    return absl::InvalidArgumentError(
        absl::StrCat(what, " of type ", OnnxTypeName(type), " has its data in ",
                     present[0], "; expected ", field, " or raw_data"));

  if (!proto.raw_data().empty()) {
    const absl::string_view raw = proto.raw_data();
    if (*count > static_cast<int64_t>(raw.size()) / element_size ||
        raw.size() != static_cast<uint64_t>(*count) * element_size)
      return absl::InvalidArgumentError(absl::StrCat(
          what, " has dims ", dims, " (", *count, " elements of ",
          OnnxTypeName(type), ", ", element_size,
          " bytes each) but raw_data holds ", raw.size(), " bytes"));
    tensor.data.resize(*count);
    for (int64_t i = 0; i < *count; ++i) {
      const uint64_t bits =
          LoadLittleEndian(raw.data() + i * element_size, element_size);
      switch (type) {
      case OnnxTensor::FLOAT:
        tensor.data[i] = FloatFromBits(static_cast<uint32_t>(bits));
        break;
      case OnnxTensor::DOUBLE:
        tensor.data[i] = static_cast<float>(DoubleFromBits(bits));
        break;
      case OnnxTensor::INT32:
        tensor.data[i] = static_cast<float>(
            static_cast<int32_t>(static_cast<uint32_t>(bits)));
        break;
      case OnnxTensor::INT64:
        tensor.data[i] = static_cast<float>(static_cast<int64_t>(bits));
        break;
      }
    }
    return tensor;
  }

  if (field_size != *count)
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has dims ", dims, " (", *count, " elements) but ", field,
        " holds ", field_size, " values and raw_data is empty"));
  switch (type) {
  case OnnxTensor::FLOAT:
    tensor.data.assign(proto.float_data().begin(), proto.float_data().end());
    break;
  case OnnxTensor::DOUBLE:
    for (double value : proto.double_data())
      tensor.data.push_back(static_cast<float>(value));
    break;
  case OnnxTensor::INT32:
    for (int32_t value : proto.int32_data())
      tensor.data.push_back(static_cast<float>(value));
    break;
  case OnnxTensor::INT64:
    for (int64_t value : proto.int64_data())
      tensor.data.push_back(static_cast<float>(value));
    break;
  }
  return tensor;
}

// ---------------------------------------------------------------------------
// Files.

// The directory part of `path`, for messages and the temporary file.
std::string DirectoryOf(const std::string &path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

// Closes a file descriptor on every path out of a function.
class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, returning close's result (it can report a failed write).
  int Close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

private:
  int fd_;
};

} // namespace

int64_t Tensor::NumElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

absl::StatusOr<std::string> ReadFile(const std::string &path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT)
      return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::ErrnoToStatus(error, absl::StrCat(path, ": cannot open it"));
  }
  struct stat info;
  if (::fstat(fd.get(), &info) == 0 && S_ISDIR(info.st_mode))
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, expected a file"));
  std::string contents;
  if (::fstat(fd.get(), &info) == 0 && S_ISREG(info.st_mode))
    contents.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot read it"));
    }
    if (n == 0)
      break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  return contents;
}

absl::Status WriteFileAtomically(const std::string &path,
                                 absl::string_view contents) {
  if (path.empty() || path.back() == '/')
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': expected a file name"));
  // A random name, created exclusively, so concurrent writers of the same
  // path never share a temporary. The mode 0666 is narrowed by the umask,
  // giving the permissions of any new file.
  std::random_device random;
  std::string temporary;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 8 && raw_fd < 0; ++attempt) {
    temporary = absl::StrFormat("%s.tmp-%08x%08x", path, random(), random());
    raw_fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    0666);
    if (raw_fd < 0 && errno != EEXIST)
      break;
  }
  if (raw_fd < 0) {
    const int error = errno;
    const std::string directory = DirectoryOf(path);
    if (error == ENOENT)
      return absl::NotFoundError(absl::StrCat("cannot write '", path,
                                              "': directory '", directory,
                                              "' does not exist"));
    return absl::ErrnoToStatus(
        error,
        absl::StrCat("cannot write '", path,
                     "': cannot create a temporary file in '", directory, "'"));
  }
  FileDescriptor fd(raw_fd);
  auto fail = [&](absl::string_view step) {
    const int error = errno;
    if (fd.get() >= 0)
      fd.Close();
    ::unlink(temporary.c_str());
    return absl::ErrnoToStatus(
        error, absl::StrCat("cannot write '", path, "': ", step));
  };

  const char *next = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), next, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail(absl::StrCat("writing '", temporary, "' failed"));
    }
    next += n;
    left -= static_cast<size_t>(n);
  }
  // Without the sync, a crash soon after the rename can leave an empty file
  // under the new name on some file systems.
  if (::fsync(fd.get()) != 0)
    return fail(absl::StrCat("flushing '", temporary, "' failed"));
  if (fd.Close() != 0)
    return fail(absl::StrCat("closing '", temporary, "' failed"));
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    return fail(absl::StrCat("renaming '", temporary, "' to it failed"));
  return absl::OkStatus();
}

absl::StatusOr<Tensor> ReadNpy(const std::string &path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok())
    return bytes.status();
  absl::StatusOr<NpyArray> array = ParseNpy(*bytes);
  if (!array.ok())
    return WithPath(path, array.status());
  Tensor tensor;
  tensor.shape = array->shape;
  tensor.data.resize(array->count);
  VisitElements(*array, [&](int64_t i, auto value) {
    tensor.data[i] = static_cast<float>(value);
  });
  return tensor;
}

absl::StatusOr<std::vector<int64_t>> ReadNpyLabels(const std::string &path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok())
    return bytes.status();
  absl::StatusOr<NpyArray> array = ParseNpy(*bytes);
  if (!array.ok())
    return WithPath(path, array.status());
  if (array->shape.size() != 1)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": labels must be a 1-D array, but the shape is ",
                     PythonShape(array->shape)));
  std::vector<int64_t> labels(array->count);
  absl::Status status;
  VisitElements(*array, [&](int64_t i, auto value) {
    using T = decltype(value);
    if (!status.ok())
      return;
    if constexpr (std::is_same_v<T, double>) {
      // 2^63 is exact as a double; anything from there up does not fit.
      constexpr double kLimit = 9223372036854775808.0;
      if (!(value == std::trunc(value) && value >= -kLimit && value < kLimit))
        status = absl::InvalidArgumentError(absl::StrCat(
            path, ": label ", i, " is ", value, " in a '", array->descr,
            "' array; labels must be whole numbers (class indices)"));
      else
        labels[i] = static_cast<int64_t>(value);
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        status = absl::InvalidArgumentError(
            absl::StrCat(path, ": label ", i, " is ", value,
                         ", too large for a 64-bit signed class index"));
      else
        labels[i] = static_cast<int64_t>(value);
    } else {
      labels[i] = value;
    }
  });
  if (!status.ok())
    return status;
  return labels;
}

absl::Status WriteNpy(const std::string &path, const Tensor &tensor) {
  absl::StatusOr<std::string> bytes = EncodeNpy(tensor);
  if (!bytes.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': ", bytes.status().message()));
  return WriteFileAtomically(path, *bytes);
}

absl::StatusOr<Tensor> ReadTensorProto(const std::string &path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok())
    return bytes.status();
  OnnxTensor proto;
  if (!proto.ParseFromString(*bytes))
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an ONNX TensorProto (the bytes do not parse "
                           "as a protobuf message)"));
  absl::StatusOr<Tensor> tensor = DecodeTensorProto(proto);
  if (!tensor.ok())
    return WithPath(path, tensor.status());
  return tensor;
}

absl::StatusOr<Tensor> ReadTensor(const std::string &path) {
  if (absl::EndsWithIgnoreCase(path, ".npy"))
    return ReadNpy(path);
  if (absl::EndsWithIgnoreCase(path, ".pb"))
    return ReadTensorProto(path);
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": cannot tell the tensor format from the extension; "
                         "expected .npy (NumPy) or .pb (ONNX TensorProto)"));
}

// Splits `tensor`, a batch of samples, into chunks of the program's input
// shape; fails when the shapes do not fit.
absl::StatusOr<std::vector<Tensor>>
SplitBatch(const Tensor &tensor, const std::string &source,
           const std::string &name, const std::vector<int64_t> &shape) {
  // A scalar input has no batch axis: the program runs once on it.
  if (shape.empty()) {
    if (!tensor.shape.empty())
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": input '", name, "' has shape [",
                       absl::StrJoin(tensor.shape, ","),
                       "], the program expects a scalar (shape [])"));
    return std::vector<Tensor>{tensor};
  }
  std::vector<int64_t> sample(shape.begin() + 1, shape.end());
  if (tensor.shape.size() != shape.size() ||
      !std::equal(sample.begin(), sample.end(), tensor.shape.begin() + 1) ||
      shape[0] == 0 || tensor.shape[0] == 0 || tensor.shape[0] % shape[0])
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": input '", name, "' has shape [",
        absl::StrJoin(tensor.shape, ","), "], the program expects [N*",
        shape[0], ",", absl::StrJoin(sample, ","),
        "] (a batch of samples along the first axis)"));
  int64_t chunk = 1;
  for (int64_t dim : shape)
    chunk *= dim;
  std::vector<Tensor> chunks;
  for (int64_t start = 0; start < static_cast<int64_t>(tensor.data.size());
       start += chunk)
    chunks.push_back(
        Tensor{shape, std::vector<float>(tensor.data.begin() + start,
                                         tensor.data.begin() + start + chunk)});
  return chunks;
}

} // namespace hafnia
