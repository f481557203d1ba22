// libFuzzer target (c) of issue 13: the tensor readers on any bytes: .npy
// (inputs and labels) and ONNX TensorProto. A .npy that decodes must encode
// and decode back to the same shape and values.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "hafnia/runtime/Npy.h"
#include "hafnia/runtime/TensorProto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char *>(data), size);
  (void)hafnia::DecodeNpyLabels(bytes, "fuzz.npy");
  (void)hafnia::DecodeTensorProtoBytes(bytes, "fuzz.pb");
  absl::StatusOr<hafnia::Tensor> tensor = hafnia::DecodeNpy(bytes, "fuzz.npy");
  if (!tensor.ok())
    return 0;
  if (static_cast<int64_t>(tensor->data.size()) != tensor->NumElements())
    __builtin_trap();
  absl::StatusOr<std::string> encoded = hafnia::EncodeNpy(*tensor);
  if (!encoded.ok())
    __builtin_trap();
  absl::StatusOr<hafnia::Tensor> again =
      hafnia::DecodeNpy(*encoded, "fuzz-again.npy");
  if (!again.ok() || again->shape != tensor->shape ||
      again->data.size() != tensor->data.size() ||
      (!again->data.empty() &&
       std::memcmp(again->data.data(), tensor->data.data(),
                   again->data.size() * sizeof(float)) != 0))
    __builtin_trap();
  return 0;
}
