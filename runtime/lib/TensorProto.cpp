// ONNX TensorProto .pb files, as the ONNX test suites ship inputs and
// references.

#include "hafnia/runtime/TensorProto.h"

#include <utility>

#include "TensorBytes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/stubs/logging.h"
#include "hafnia/proto/onnx_tensor.pb.h"
#include "hafnia/runtime/FileIO.h"

namespace hafnia {

using tensor_io::CountElements;
using tensor_io::DoubleFromBits;
using tensor_io::FloatFromBits;
using tensor_io::LoadLittleEndian;
using tensor_io::WithPath;

namespace {

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

} // namespace

absl::StatusOr<Tensor> ReadTensorProto(const std::string &path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok())
    return bytes.status();
  return DecodeTensorProtoBytes(*bytes, path);
}

absl::StatusOr<Tensor> DecodeTensorProtoBytes(absl::string_view bytes,
                                              absl::string_view path) {
  OnnxTensor proto;
  // Protobuf's own log of a failed parse would be a second error line.
  google::protobuf::LogSilencer quiet;
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an ONNX TensorProto (the bytes do not parse "
                           "as a protobuf message)"));
  absl::StatusOr<Tensor> tensor = DecodeTensorProto(proto);
  if (!tensor.ok())
    return WithPath(path, tensor.status());
  return tensor;
}

} // namespace hafnia
