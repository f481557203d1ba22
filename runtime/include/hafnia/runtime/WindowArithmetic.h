// Window and tiling arithmetic that the compiler and the runtime must agree
// on, in one dependency-free header (C++17 only: no Abseil, LLVM or MLIR) that
// both include, as IREE's schemas/cpu_data.h is shared: the output size of a
// windowed axis (convolutions, pools, im2col), and how a binary layer of
// `outputs` neurons and `fan_in` inputs is cut into tiles of R x C arrays.

#ifndef HAFNIA_RUNTIME_WINDOWARITHMETIC_H
#define HAFNIA_RUNTIME_WINDOWARITHMETIC_H

#include <algorithm>
#include <cstdint>
#include <utility>

namespace hafnia {

// ceil(a / b) for a >= 0 and b > 0.
constexpr int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Input positions one window covers: `kernel` taps spaced by `dilation`.
constexpr int64_t WindowExtent(int64_t kernel, int64_t dilation) {
  return dilation * (kernel - 1) + 1;
}

// Padded input positions that `outputs` windows moved by `stride` span.
constexpr int64_t WindowSpan(int64_t outputs, int64_t kernel, int64_t stride,
                             int64_t dilation) {
  return (outputs - 1) * stride + WindowExtent(kernel, dilation);
}

// The input position that tap `tap` of the window at output position
// `output` reads (negative or past the end: in the padding).
constexpr int64_t WindowInput(int64_t output, int64_t tap, int64_t stride,
                              int64_t pad_begin, int64_t dilation) {
  return output * stride - pad_begin + tap * dilation;
}

// The first and last of `outputs` window positions (moved by `stride`) whose
// tap at `offset` = tap * dilation - pad_begin reads inside an input of
// `size` positions; last < first when none does.
constexpr std::pair<int64_t, int64_t> WindowInsideOutputs(int64_t outputs,
                                                          int64_t stride,
                                                          int64_t offset,
                                                          int64_t size) {
  int64_t first = offset >= 0 ? 0 : CeilDiv(-offset, stride);
  int64_t last = size - offset <= 0 ? -1 : (size - 1 - offset) / stride;
  return {first, std::min(last, outputs - 1)};
}

// Length of one spatial axis after a window of `kernel` taps spaced by
// `dilation`, moved by `stride`, over `input` positions padded by
// `pad_begin` and `pad_end`; ONNX's rule for `ceil_mode` included. Returns -1
// when the window does not fit in the padded input.
constexpr int64_t WindowedOutputSize(int64_t input, int64_t kernel,
                                     int64_t stride, int64_t pad_begin,
                                     int64_t pad_end, int64_t dilation,
                                     bool ceil_mode) {
  int64_t span = input + pad_begin + pad_end - WindowExtent(kernel, dilation);
  if (span < 0)
    return -1;
  int64_t size = (ceil_mode ? CeilDiv(span, stride) : span / stride) + 1;
  // ONNX drops a last ceil-mode window that would start in the end padding.
  if (ceil_mode && (size - 1) * stride >= input + pad_begin)
    --size;
  return size;
}

// Length of an axis after an ONNX `auto_pad = SAME_*` window: one output per
// `stride` inputs, rounded up.
constexpr int64_t SameOutputSize(int64_t input, int64_t stride) {
  return CeilDiv(input, stride);
}

// Length of one spatial axis after a transposed convolution (ONNX
// ConvTranspose): the span of `input` windows, less the pads, plus
// `output_padding` positions at the end. Below 1: no output.
constexpr int64_t TransposedOutputSize(int64_t input, int64_t kernel,
                                       int64_t stride, int64_t pad_begin,
                                       int64_t pad_end, int64_t dilation,
                                       int64_t output_padding) {
  return WindowSpan(input, kernel, stride, dilation) - pad_begin - pad_end +
         output_padding;
}

// Tiles of `size` that cover `total` items (neurons over rows, inputs over
// columns): ceil(total / size).
constexpr int64_t TileCount(int64_t total, int64_t size) {
  return CeilDiv(total, size);
}

// Items of `total` that tile `index` (of `size` each) holds: `size`, or fewer
// in the last tile.
constexpr int64_t TileExtent(int64_t total, int64_t size, int64_t index) {
  return std::min(size, total - index * size);
}

// Columns left unused in the last column tile of a neuron with `fan_in`
// inputs on arrays of `columns` columns: they hold +1 and read +1, adding
// one each to the popcount, which the accumulator takes back.
constexpr int64_t PaddedColumns(int64_t fan_in, int64_t columns) {
  return TileCount(fan_in, columns) * columns - fan_in;
}

} // namespace hafnia

#endif // HAFNIA_RUNTIME_WINDOWARITHMETIC_H
