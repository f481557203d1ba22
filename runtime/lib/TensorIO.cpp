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

absl::StatusOr<std::unique_ptr<TensorReader>>
OpenTensor(const std::string &path) {
  if (absl::EndsWithIgnoreCase(path, ".npy"))
    return OpenNpy(path);
  absl::StatusOr<Tensor> tensor = ReadTensor(path);
  if (!tensor.ok())
    return tensor.status();
  // The reader owns the tensor it reads.
  struct Owning : TensorReader {
    explicit Owning(Tensor t) : tensor(std::move(t)) {}
    const std::vector<int64_t> &shape() const override { return tensor.shape; }
    absl::Status Read(int64_t first, int64_t count, float *out) override {
      std::copy(tensor.data.begin() + first,
                tensor.data.begin() + first + count, out);
      return absl::OkStatus();
    }
    Tensor tensor;
  };
  return std::unique_ptr<TensorReader>(new Owning(*std::move(tensor)));
}

std::unique_ptr<TensorReader> ReaderOf(const Tensor &tensor) {
  struct InMemory : TensorReader {
    explicit InMemory(const Tensor &t) : tensor(t) {}
    const std::vector<int64_t> &shape() const override { return tensor.shape; }
    absl::Status Read(int64_t first, int64_t count, float *out) override {
      std::copy(tensor.data.begin() + first,
                tensor.data.begin() + first + count, out);
      return absl::OkStatus();
    }
    const Tensor &tensor;
  };
  return std::make_unique<InMemory>(tensor);
}

// Checks that a tensor of `tensor_shape` splits into chunks of the program's
// input shape and counts them.
absl::StatusOr<int64_t> CountBatches(const std::vector<int64_t> &tensor_shape,
                                     const std::string &source,
                                     const std::string &name,
                                     const std::vector<int64_t> &shape) {
  // A scalar input has no batch axis: the program runs once on it.
  if (shape.empty()) {
    if (!tensor_shape.empty())
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": input '", name, "' has shape [",
                       absl::StrJoin(tensor_shape, ","),
                       "], the program expects a scalar (shape [])"));
    return 1;
  }
  std::vector<int64_t> sample(shape.begin() + 1, shape.end());
  if (tensor_shape.size() == shape.size() && !tensor_shape.empty() &&
      tensor_shape[0] == 0 &&
      std::equal(sample.begin(), sample.end(), tensor_shape.begin() + 1))
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": input '", name, "' holds no samples (shape [",
        absl::StrJoin(tensor_shape, ","), "]): give at least one"));
  if (tensor_shape.size() != shape.size() ||
      !std::equal(sample.begin(), sample.end(), tensor_shape.begin() + 1) ||
      shape[0] == 0 || tensor_shape[0] == 0 || tensor_shape[0] % shape[0])
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": input '", name, "' has shape [",
        absl::StrJoin(tensor_shape, ","), "], the program expects [N*",
        shape[0], ",", absl::StrJoin(sample, ","),
        "] (a batch of samples along the first axis)"));
  // Samples without elements (a [1,0] input) split into no chunks: there is
  // nothing to run.
  int64_t chunk = 1;
  for (int64_t dim : shape)
    chunk *= dim;
  return chunk == 0 ? 0 : tensor_shape[0] / shape[0];
}

// Splits `tensor`, a batch of samples, into chunks of the program's input
// shape; fails when the shapes do not fit.
absl::StatusOr<std::vector<Tensor>>
SplitBatch(const Tensor &tensor, const std::string &source,
           const std::string &name, const std::vector<int64_t> &shape) {
  absl::StatusOr<int64_t> batches =
      CountBatches(tensor.shape, source, name, shape);
  if (!batches.ok())
    return batches.status();
  if (shape.empty())
    return std::vector<Tensor>{tensor};
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
