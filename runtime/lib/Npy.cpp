// NumPy .npy files: reading (tensors and labels) and writing.

#include "hafnia/runtime/Npy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "PyLiteral.h"
#include "TensorBytes.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "hafnia/runtime/FileIO.h"

namespace hafnia {

using tensor_io::AppendLittleEndian32;
using tensor_io::CountElements;
using tensor_io::DoubleFromBits;
using tensor_io::FloatFromBits;
using tensor_io::FloatFromHalfBits;
using tensor_io::KindName;
using tensor_io::LoadLittleEndian;
using tensor_io::ParsePyLiteral;
using tensor_io::Printable;
using tensor_io::PythonShape;
using tensor_io::PyValue;
using tensor_io::WithPath;

namespace {

constexpr absl::string_view kNpyMagic("\x93NUMPY", 6);

constexpr const char *kSupportedDtypes =
    "'<f4', '<f8', '<f2', '|i1', '<i2', '<i4', '<i8', '|u1', '<u2', '<u4', "
    "'<u8', '|b1'";

struct NpyDtype {
  enum Kind { kFloat, kSigned, kUnsigned, kBool };
  Kind kind;
  int size; // bytes per element
};

// A parsed .npy file; `data` points into the file's bytes when they were
// all given, and starts at `data_offset` of the file.
struct NpyArray {
  std::string descr;
  NpyDtype dtype;
  std::vector<int64_t> shape;
  int64_t count;
  uint64_t data_offset = 0;
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

// The bytes of a .npy file's start that ParseNpy needs: the magic, the
// version, the header length and the header.
constexpr size_t kNpyPreamble = 12;
uint64_t NpyHeaderEnd(absl::string_view preamble) {
  if (preamble.size() < 10 || !absl::StartsWith(preamble, kNpyMagic))
    return preamble.size();
  const size_t length_size = static_cast<uint8_t>(preamble[6]) == 1 ? 2 : 4;
  if (preamble.size() < 8 + length_size)
    return preamble.size();
  return 8 + length_size + LoadLittleEndian(preamble.data() + 8, length_size);
}

// Parses the header of a .npy file of `file_size` bytes, of which `bytes`
// are the first (all of them, or at least the header), and checks the data
// is all there. Errors are prefixed with `path` by the caller.
absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes, uint64_t file_size) {
  if (!absl::StartsWith(bytes, kNpyMagic)) {
    if (absl::StartsWith(bytes, absl::string_view("PK\x03\x04", 4)))
      return absl::InvalidArgumentError(
          "not a .npy file but a zip archive (an .npz?): save one array with "
          "numpy.save");
    return absl::InvalidArgumentError(
        "not a NumPy .npy file: it does not start with the magic bytes "
        "\"\\x93NUMPY\"");
  }
  if (file_size < 8)
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
  if (file_size < header_start)
    return absl::InvalidArgumentError(
        "truncated .npy file: it ends inside the header length");
  const uint64_t header_size = LoadLittleEndian(bytes.data() + 8, length_size);
  if (file_size - header_start < header_size)
    return absl::InvalidArgumentError(
        absl::StrCat("truncated .npy file: the header should be ", header_size,
                     " bytes but only ", file_size - header_start, " follow"));
  const absl::string_view header = bytes.substr(header_start, header_size);

  auto malformed = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed .npy header: ", what,
                     "; expected a dict like {'descr': "
                     "'<f4', 'fortran_order': False, 'shape': (2, 3), }, got ",
                     QuoteHeader(header)));
  };
  absl::StatusOr<PyValue> dict = ParsePyLiteral(header);
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
  array.data_offset = header_start + header_size;
  const uint64_t data_size = file_size - array.data_offset;
  if (array.count > std::numeric_limits<int64_t>::max() / array.dtype.size)
    return malformed("the data size overflows 64 bits");
  const uint64_t expected = static_cast<uint64_t>(array.count) *
                            static_cast<uint64_t>(array.dtype.size);
  if (data_size < expected)
    return absl::InvalidArgumentError(
        absl::StrCat("truncated .npy data: shape ", PythonShape(array.shape),
                     " of '", array.descr, "' needs ", expected,
                     " bytes but only ", data_size, " are present"));
  if (bytes.size() == file_size)
    array.data = bytes.substr(array.data_offset, expected);
  return array;
}

// Calls visit(i, value) for every element, with value a double (floats),
// int64_t (signed integers) or uint64_t (unsigned integers and booleans).
template <typename Visit>
void VisitElements(const NpyDtype &dtype, const char *data, int64_t count,
                   Visit &&visit) {
  const int size = dtype.size;
  for (int64_t i = 0; i < count; ++i) {
    const uint64_t bits = LoadLittleEndian(data + i * size, size);
    switch (dtype.kind) {
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

// The bytes of a '<f4' .npy file as numpy.save writes them.
absl::StatusOr<std::string> EncodeNpyBytes(const Tensor &tensor) {
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

} // namespace

absl::StatusOr<std::string> EncodeNpy(const Tensor &tensor) {
  return EncodeNpyBytes(tensor);
}

namespace {

// `count` elements of `dtype` at `data` as floats, as DecodeNpy converts
// them: '<f4' copied as it is on a little-endian host.
void ToFloats(const NpyDtype &dtype, const char *data, int64_t count,
              float *out) {
  if (count == 0)
    return;
  if (dtype.kind == NpyDtype::kFloat && dtype.size == 4 &&
      HostIsLittleEndian()) {
    std::memcpy(out, data, count * sizeof(float));
    return;
  }
  VisitElements(dtype, data, count, [&](int64_t i, auto value) {
    out[i] = static_cast<float>(value);
  });
}

// A .npy file read a range of elements at a time.
class NpyReader : public TensorReader {
public:
  static absl::StatusOr<std::unique_ptr<TensorReader>>
  Open(const std::string &path) {
    absl::StatusOr<std::unique_ptr<InputFile>> file = InputFile::Open(path);
    if (!file.ok())
      return file.status();
    // The header first (its length is in the preamble), then the checks
    // ReadNpy makes on the whole file.
    std::string start(std::min<uint64_t>((*file)->size(), kNpyPreamble), '\0');
    absl::StatusOr<uint64_t> got =
        (*file)->ReadAt(0, start.size(), start.data());
    if (!got.ok())
      return got.status();
    uint64_t end = std::min<uint64_t>((*file)->size(), NpyHeaderEnd(start));
    if (end > start.size()) {
      std::string header(end, '\0');
      got = (*file)->ReadAt(0, end, header.data());
      if (!got.ok())
        return got.status();
      start = std::move(header);
    }
    absl::StatusOr<NpyArray> array = ParseNpy(start, (*file)->size());
    if (!array.ok())
      return WithPath(path, array.status());
    auto reader = std::unique_ptr<NpyReader>(new NpyReader);
    reader->file_ = *std::move(file);
    reader->dtype_ = array->dtype;
    reader->shape_ = array->shape;
    reader->count_ = array->count;
    reader->offset_ = array->data_offset;
    return std::unique_ptr<TensorReader>(std::move(reader));
  }

  const std::vector<int64_t> &shape() const override { return shape_; }

  absl::Status Read(int64_t first, int64_t count, float *out) override {
    if (first < 0 || count < 0 || first > count_ || count > count_ - first)
      return absl::OutOfRangeError(absl::StrCat(
          file_->path(), ": elements [", first, ", ", first + count,
          ") are not all in the array of ", count_));
    uint64_t offset = offset_ + static_cast<uint64_t>(first) * dtype_.size;
    uint64_t bytes = static_cast<uint64_t>(count) * dtype_.size;
    char *into = reinterpret_cast<char *>(out);
    bool direct = dtype_.kind == NpyDtype::kFloat && dtype_.size == 4 &&
                  HostIsLittleEndian();
    if (!direct) {
      buffer_.resize(bytes);
      into = buffer_.data();
    }
    absl::StatusOr<uint64_t> got = file_->ReadAt(offset, bytes, into);
    if (!got.ok())
      return got.status();
    if (*got != bytes)
      return absl::DataLossError(
          absl::StrCat(file_->path(), ": the file became shorter while it "
                                      "was read"));
    if (!direct)
      ToFloats(dtype_, buffer_.data(), count, out);
    return absl::OkStatus();
  }

private:
  NpyReader() = default;
  std::unique_ptr<InputFile> file_;
  NpyDtype dtype_;
  std::vector<int64_t> shape_;
  int64_t count_ = 0;
  uint64_t offset_ = 0;
  std::string buffer_;
};

} // namespace

absl::StatusOr<Tensor> ReadNpy(const std::string &path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok())
    return bytes.status();
  return DecodeNpy(*bytes, path);
}

absl::StatusOr<std::unique_ptr<TensorReader>> OpenNpy(const std::string &path) {
  return NpyReader::Open(path);
}

absl::StatusOr<Tensor> DecodeNpy(absl::string_view bytes,
                                 absl::string_view source) {
  absl::StatusOr<NpyArray> array = ParseNpy(bytes, bytes.size());
  if (!array.ok())
    return WithPath(source, array.status());
  Tensor tensor;
  tensor.shape = array->shape;
  tensor.data.resize(array->count);
  ToFloats(array->dtype, array->data.data(), array->count, tensor.data.data());
  return tensor;
}

absl::StatusOr<std::vector<int64_t>> ReadNpyLabels(const std::string &path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok())
    return bytes.status();
  return DecodeNpyLabels(*bytes, path);
}

absl::StatusOr<std::vector<int64_t>> DecodeNpyLabels(absl::string_view bytes,
                                                     absl::string_view path) {
  absl::StatusOr<NpyArray> array = ParseNpy(bytes, bytes.size());
  if (!array.ok())
    return WithPath(path, array.status());
  if (array->shape.size() != 1)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": labels must be a 1-D array, but the shape is ",
                     PythonShape(array->shape)));
  std::vector<int64_t> labels(array->count);
  absl::Status status;
  VisitElements(
      array->dtype, array->data.data(), array->count,
      [&](int64_t i, auto value) {
        using T = decltype(value);
        if (!status.ok())
          return;
        if constexpr (std::is_same_v<T, double>) {
          // 2^63 is exact as a double; anything from there up does not fit.
          constexpr double kLimit = 9223372036854775808.0;
          if (!(value == std::trunc(value) && value >= -kLimit &&
                value < kLimit))
            status = absl::InvalidArgumentError(absl::StrCat(
                path, ": label ", i, " is ", value, " in a '", array->descr,
                "' array; labels must be whole numbers (class indices)"));
          else
            labels[i] = static_cast<int64_t>(value);
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          if (value >
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
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

} // namespace hafnia
