// The simulator's tensors: dense float32, row-major.

#ifndef HAFNIA_RUNTIME_TENSOR_H
#define HAFNIA_RUNTIME_TENSOR_H

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace hafnia {

// A dense float32 tensor, row-major.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  // Indices (an ArgMax output): whole numbers, written as '<i8'.
  bool int64 = false;
  // The product of shape (1 for rank 0).
  int64_t NumElements() const;
};

// A tensor read a range of its elements at a time, so that a data set need
// not fit in memory (TensorIO.h opens files as readers).
class TensorReader {
public:
  virtual ~TensorReader() = default;
  virtual const std::vector<int64_t> &shape() const = 0;
  // Elements [first, first + count) in row-major order into `out`.
  virtual absl::Status Read(int64_t first, int64_t count, float *out) = 0;
};

} // namespace hafnia

#endif // HAFNIA_RUNTIME_TENSOR_H
