// The simulator's tensors: dense float32, row-major.

#ifndef HAFNIA_RUNTIME_TENSOR_H
#define HAFNIA_RUNTIME_TENSOR_H

#include <cstdint>
#include <vector>

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

} // namespace hafnia

#endif // HAFNIA_RUNTIME_TENSOR_H
