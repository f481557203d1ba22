// Tensors: reading one in the format its extension names, and splitting a
// batch into a program's input chunks. The formats are in Npy.cpp and
// TensorProto.cpp, the file access in FileIO.cpp.

#include "hafnia/runtime/TensorIO.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace hafnia {

int64_t Tensor::NumElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
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
