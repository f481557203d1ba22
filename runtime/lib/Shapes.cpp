// Shape arithmetic shared by the validator and the kernels.

#include "hafnia/runtime/Shapes.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace hafnia {

int64_t NumElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

int64_t WindowedSize(int64_t input, int64_t kernel, int64_t stride,
                     int64_t pad_begin, int64_t pad_end, int64_t dilation,
                     bool ceil_mode) {
  int64_t span = input + pad_begin + pad_end - (dilation * (kernel - 1) + 1);
  if (span < 0)
    return -1;
  int64_t size = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // ONNX drops a last ceil-mode window that would start in the end padding.
  if (ceil_mode && (size - 1) * stride >= input + pad_begin)
    --size;
  return size;
}

WindowSpec ResolveWindow(const Window &window, size_t spatial) {
  WindowSpec spec;
  spec.kernel.assign(window.kernel().begin(), window.kernel().end());
  spec.strides.assign(spatial, 1);
  spec.pads_begin.assign(spatial, 0);
  spec.pads_end.assign(spatial, 0);
  spec.dilations.assign(spatial, 1);
  for (size_t i = 0; i < spatial; ++i) {
    if (window.strides_size() == static_cast<int>(spatial))
      spec.strides[i] = window.strides(i);
    if (window.dilations_size() == static_cast<int>(spatial))
      spec.dilations[i] = window.dilations(i);
    if (window.pads_size() == static_cast<int>(2 * spatial)) {
      spec.pads_begin[i] = window.pads(i);
      spec.pads_end[i] = window.pads(i + spatial);
    }
  }
  return spec;
}

absl::StatusOr<std::vector<int64_t>>
WindowedShape(const std::vector<int64_t> &input, const Window &window,
              bool ceil_mode) {
  if (input.size() < 3)
    return absl::InvalidArgumentError("has no spatial axes");
  size_t spatial = input.size() - 2;
  auto sized = [&](int size, size_t expected) {
    return size == 0 || size == static_cast<int>(expected);
  };
  if (window.kernel_size() != static_cast<int>(spatial) ||
      !sized(window.strides_size(), spatial) ||
      !sized(window.dilations_size(), spatial) ||
      !sized(window.pads_size(), 2 * spatial))
    return absl::InvalidArgumentError(absl::StrCat(
        "has a window that does not have ", spatial, " spatial axes"));
  WindowSpec spec = ResolveWindow(window, spatial);
  std::vector<int64_t> output;
  for (size_t i = 0; i < spatial; ++i) {
    if (spec.kernel[i] < 1 || spec.strides[i] < 1 || spec.dilations[i] < 1 ||
        spec.pads_begin[i] < 0 || spec.pads_end[i] < 0)
      return absl::InvalidArgumentError("has a window with invalid sizes");
    int64_t size = WindowedSize(input[i + 2], spec.kernel[i], spec.strides[i],
                                spec.pads_begin[i], spec.pads_end[i],
                                spec.dilations[i], ceil_mode);
    if (size < 1)
      return absl::InvalidArgumentError(
          "has a window that does not fit its input");
    output.push_back(size);
  }
  return output;
}

absl::StatusOr<std::vector<int64_t>>
BroadcastShape(const std::vector<int64_t> &a, const std::vector<int64_t> &b) {
  std::vector<int64_t> result(std::max(a.size(), b.size()));
  for (size_t i = 0; i < result.size(); ++i) {
    int64_t x = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t y = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (x != y && x != 1 && y != 1)
      return absl::InvalidArgumentError("has operands that do not broadcast");
    result[result.size() - 1 - i] = x == 1 ? y : x;
  }
  return result;
}

absl::StatusOr<std::vector<int64_t>>
DenseShape(const std::vector<int64_t> &lhs, const std::vector<int64_t> &rhs,
           bool transpose_lhs, bool transpose_rhs, bool has_bias,
           const std::vector<int64_t> &bias) {
  if (transpose_lhs || transpose_rhs || has_bias) {
    if (lhs.size() != 2 || rhs.size() != 2)
      return absl::InvalidArgumentError("has a Gemm of non-matrices");
    int64_t m = transpose_lhs ? lhs[1] : lhs[0];
    int64_t k = transpose_lhs ? lhs[0] : lhs[1];
    int64_t k2 = transpose_rhs ? rhs[1] : rhs[0];
    int64_t n = transpose_rhs ? rhs[0] : rhs[1];
    if (k != k2)
      return absl::InvalidArgumentError("contracts mismatched dimensions");
    std::vector<int64_t> result = {m, n};
    if (has_bias) {
      auto broadcast = BroadcastShape(result, bias);
      if (!broadcast.ok() || *broadcast != result)
        return absl::InvalidArgumentError(
            "has a bias that does not broadcast to the result");
    }
    return result;
  }
  if (lhs.empty() || rhs.empty())
    return absl::InvalidArgumentError("multiplies scalars");
  std::vector<int64_t> a = lhs, b = rhs;
  if (a.size() == 1)
    a.insert(a.begin(), 1);
  if (b.size() == 1)
    b.push_back(1);
  if (a.back() != b[b.size() - 2])
    return absl::InvalidArgumentError("contracts mismatched dimensions");
  auto batch = BroadcastShape(std::vector<int64_t>(a.begin(), a.end() - 2),
                              std::vector<int64_t>(b.begin(), b.end() - 2));
  if (!batch.ok())
    return batch.status();
  std::vector<int64_t> result = *batch;
  if (lhs.size() > 1)
    result.push_back(a[a.size() - 2]);
  if (rhs.size() > 1)
    result.push_back(b.back());
  return result;
}

} // namespace hafnia
