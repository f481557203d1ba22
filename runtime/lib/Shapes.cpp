// Shape arithmetic shared by the validator and the kernels.

#include "hafnia/runtime/Shapes.h"

#include "hafnia/runtime/Limits.h"
#include "hafnia/runtime/WindowArithmetic.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace hafnia {

int64_t NumElements(const std::vector<int64_t> &shape) {
  // Saturates instead of overflowing: a shape beyond int64 is beyond every
  // limit a caller checks it against.
  int64_t count = 1;
  for (int64_t dim : shape)
    if (__builtin_mul_overflow(count, dim, &count))
      return std::numeric_limits<int64_t>::max();
  return count;
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
        spec.pads_begin[i] < 0 || spec.pads_end[i] < 0 ||
        std::max({spec.kernel[i], spec.strides[i], spec.dilations[i],
                  spec.pads_begin[i], spec.pads_end[i], input[i + 2]}) >
            kMaxAttribute)
      return absl::InvalidArgumentError("has a window with invalid sizes");
    int64_t size = WindowedOutputSize(
        input[i + 2], spec.kernel[i], spec.strides[i], spec.pads_begin[i],
        spec.pads_end[i], spec.dilations[i], ceil_mode);
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

absl::StatusOr<std::vector<int64_t>> PadShape(const std::vector<int64_t> &input,
                                              const Instruction::Pad &pad) {
  size_t rank = input.size();
  if (pad.pads_size() != static_cast<int>(2 * rank))
    return absl::InvalidArgumentError("has pads of the wrong length");
  if (pad.mode() == Instruction::Pad::MODE_UNSPECIFIED ||
      !Instruction::Pad::Mode_IsValid(pad.mode()))
    return absl::InvalidArgumentError("has no padding mode");
  std::vector<int64_t> output;
  for (size_t i = 0; i < rank; ++i) {
    int64_t begin = pad.pads(i), end = pad.pads(i + rank);
    if (begin < 0 || end < 0)
      return absl::InvalidArgumentError("has negative pads");
    if (std::max({begin, end, input[i]}) > kMaxAttribute)
      return absl::InvalidArgumentError("has pads too large");
    if ((begin || end) &&
        ((pad.mode() == Instruction::Pad::REFLECT &&
          (begin >= input[i] || end >= input[i])) ||
         (pad.mode() == Instruction::Pad::EDGE && input[i] == 0)))
      return absl::InvalidArgumentError(
          "pads more than its input has to reflect or repeat");
    output.push_back(input[i] + begin + end);
  }
  return output;
}

absl::StatusOr<std::vector<int64_t>>
ReduceShape(const std::vector<int64_t> &input,
            const Instruction::Reduce &reduce) {
  if (reduce.kind() == Instruction::Reduce::KIND_UNSPECIFIED ||
      !Instruction::Reduce::Kind_IsValid(reduce.kind()))
    return absl::InvalidArgumentError("has no reduction kind");
  std::vector<bool> reduced(input.size(), false);
  int64_t previous = -1;
  for (int64_t axis : reduce.axes()) {
    if (axis <= previous || axis >= static_cast<int64_t>(input.size()))
      return absl::InvalidArgumentError(
          "has reduction axes that are not sorted, distinct axes");
    reduced[axis] = true;
    previous = axis;
  }
  std::vector<int64_t> output;
  for (size_t i = 0; i < input.size(); ++i) {
    if (!reduced[i])
      output.push_back(input[i]);
    else if (reduce.keepdims())
      output.push_back(1);
  }
  return output;
}

absl::Status CheckSlice(const std::vector<int64_t> &input,
                        const std::vector<int64_t> &output,
                        const Instruction::Slice &slice) {
  size_t rank = input.size();
  if (output.size() != rank || slice.starts_size() != static_cast<int>(rank) ||
      slice.steps_size() != static_cast<int>(rank))
    return absl::InvalidArgumentError(
        "has a slice that does not have one start and step per axis");
  for (size_t d = 0; d < rank; ++d) {
    int64_t start = slice.starts(d), step = slice.steps(d);
    if (step == 0)
      return absl::InvalidArgumentError("has a slice step of 0");
    if (output[d] == 0)
      continue;
    // Overflow-safe: |step| * (count - 1) must stay inside the axis.
    if (start < 0 || start >= input[d] ||
        (output[d] - 1) >
            (step > 0 ? (input[d] - 1 - start) / step : start / -step))
      return absl::InvalidArgumentError("slices outside its input");
  }
  return absl::OkStatus();
}

absl::Status CheckGather(const std::vector<int64_t> &input,
                         const std::vector<int64_t> &output,
                         const Instruction::Gather &gather) {
  int64_t rank = input.size(), axis = gather.axis();
  int64_t index_rank = static_cast<int64_t>(output.size()) - rank + 1;
  if (axis < 0 || axis >= rank || index_rank < 0)
    return absl::InvalidArgumentError("has a gather axis out of range");
  int64_t count = NumElements(std::vector<int64_t>(
      output.begin() + axis, output.begin() + axis + index_rank));
  std::vector<int64_t> expected(input.begin(), input.begin() + axis);
  expected.insert(expected.end(), output.begin() + axis,
                  output.begin() + axis + index_rank);
  expected.insert(expected.end(), input.begin() + axis + 1, input.end());
  if (expected != output || gather.indices_size() != count)
    return absl::InvalidArgumentError(
        "has indices that do not match its output");
  for (int64_t index : gather.indices())
    if (index < 0 || index >= input[axis])
      return absl::InvalidArgumentError("has an index out of range");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>>
ConvTransposeShape(const std::vector<int64_t> &input,
                   const std::vector<int64_t> &weight,
                   const Instruction::ConvTranspose &conv) {
  if (input.size() != 3 && input.size() != 4)
    return absl::InvalidArgumentError(
        "expects a 1-D or 2-D transposed convolution input");
  if (weight.size() != input.size())
    return absl::InvalidArgumentError("has a weight of the wrong rank");
  int64_t group = conv.group(), channels = input[1];
  if (group < 1 || channels % group || weight[0] != channels)
    return absl::InvalidArgumentError(
        "has a group count or weight that does not match its channels");
  size_t spatial = input.size() - 2;
  const Window &window = conv.window();
  if (window.kernel_size() != static_cast<int>(spatial) ||
      !std::equal(window.kernel().begin(), window.kernel().end(),
                  weight.begin() + 2))
    return absl::InvalidArgumentError(
        "has a window that does not match its weight");
  if (conv.output_padding_size() != 0 &&
      conv.output_padding_size() != static_cast<int>(spatial))
    return absl::InvalidArgumentError("has output padding of the wrong length");
  if ((window.strides_size() && window.strides_size() != int(spatial)) ||
      (window.dilations_size() && window.dilations_size() != int(spatial)) ||
      (window.pads_size() && window.pads_size() != int(2 * spatial)))
    return absl::InvalidArgumentError("has a window of the wrong length");
  WindowSpec spec = ResolveWindow(window, spatial);
  int64_t filters;
  if (__builtin_mul_overflow(weight[1], group, &filters) ||
      filters > kMaxAttribute)
    return absl::InvalidArgumentError("has too many output channels");
  std::vector<int64_t> output = {input[0], filters};
  for (size_t i = 0; i < spatial; ++i) {
    int64_t extra = conv.output_padding_size() ? conv.output_padding(i) : 0;
    if (spec.strides[i] < 1 || spec.dilations[i] < 1 ||
        spec.pads_begin[i] < 0 || spec.pads_end[i] < 0 || extra < 0 ||
        spec.kernel[i] < 1 || spec.strides[i] > kMaxTransposedStep ||
        spec.dilations[i] > kMaxTransposedStep || extra > kMaxTransposedStep ||
        std::max({spec.kernel[i], spec.pads_begin[i], spec.pads_end[i],
                  input[i + 2]}) > kMaxAttribute)
      return absl::InvalidArgumentError(
          "has a non-positive or too large stride, dilation, kernel or pad");
    int64_t size = TransposedOutputSize(
        input[i + 2], spec.kernel[i], spec.strides[i], spec.pads_begin[i],
        spec.pads_end[i], spec.dilations[i], extra);
    if (size < 1)
      return absl::InvalidArgumentError("gives no output positions");
    output.push_back(size);
  }
  return output;
}

absl::Status CheckResizeShape(const std::vector<int64_t> &input,
                              const std::vector<int64_t> &output,
                              const Instruction::Resize &resize) {
  if (input.size() != output.size() ||
      resize.scales_size() != static_cast<int>(input.size()))
    return absl::InvalidArgumentError(
        "expects an output of its input's rank and one scale per axis");
  for (size_t i = 0; i < input.size(); ++i)
    if (input[i] < 1 || output[i] < 1 || !(resize.scales(i) > 0) ||
        !std::isfinite(resize.scales(i)))
      return absl::InvalidArgumentError(
          "expects non-empty axes and positive, finite scales");
  if (resize.mode() == Instruction::Resize::MODE_UNSPECIFIED ||
      !Instruction::Resize::Mode_IsValid(resize.mode()) ||
      resize.coordinate_mode() ==
          Instruction::Resize::COORDINATE_MODE_UNSPECIFIED ||
      !Instruction::Resize::CoordinateMode_IsValid(resize.coordinate_mode()) ||
      resize.nearest_mode() == Instruction::Resize::NEAREST_MODE_UNSPECIFIED ||
      !Instruction::Resize::NearestMode_IsValid(resize.nearest_mode()))
    return absl::InvalidArgumentError("has an unknown resize mode");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>>
ArgMaxShape(const std::vector<int64_t> &input,
            const Instruction::ArgMax &arg_max) {
  int64_t axis = arg_max.axis();
  if (axis < 0 || axis >= static_cast<int64_t>(input.size()))
    return absl::InvalidArgumentError("has an axis outside its input's rank");
  if (input[axis] > (int64_t{1} << 24))
    return absl::InvalidArgumentError(
        "has an axis longer than 2^24, whose indices f32 cannot hold");
  std::vector<int64_t> output = input;
  if (arg_max.keepdims())
    output[axis] = 1;
  else
    output.erase(output.begin() + axis);
  return output;
}

} // namespace hafnia
