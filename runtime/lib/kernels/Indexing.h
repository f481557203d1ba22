// Index arithmetic the kernels share: row-major strides, broadcasting,
// iteration over positions and channels, and 1-D or 2-D windows viewed as
// 2-D. Private to the runtime.

#ifndef HAFNIA_RUNTIME_LIB_KERNELS_INDEXING_H
#define HAFNIA_RUNTIME_LIB_KERNELS_INDEXING_H

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/WindowArithmetic.h"

namespace hafnia {
namespace kernels {

using Shape = std::vector<int64_t>;

// Row-major strides.
inline Shape Strides(const Shape &shape) {
  Shape strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

// Strides of `shape` broadcast to `result` (0 along broadcast axes).
inline Shape BroadcastStrides(const Shape &shape, const Shape &result) {
  Shape own = Strides(shape), strides(result.size(), 0);
  size_t offset = result.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] != 1)
      strides[offset + i] = own[i];
  return strides;
}

// Calls `body(output index, a offset, b offset)` over a broadcast result.
template <typename Body>
void ForEachBroadcast(const Shape &result, const Shape &a_strides,
                      const Shape &b_strides, Body body) {
  int64_t count = NumElements(result);
  size_t rank = result.size();
  std::vector<int64_t> index(rank, 0);
  int64_t a = 0, b = 0;
  for (int64_t i = 0; i < count; ++i) {
    body(i, a, b);
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
      if (++index[d] < result[d]) {
        a += a_strides[d];
        b += b_strides[d];
        break;
      }
      a -= a_strides[d] * (result[d] - 1);
      b -= b_strides[d] * (result[d] - 1);
      index[d] = 0;
    }
  }
}

// ForEachBroadcast by rows: calls `body(output index, a offset, b offset,
// length, a step, b step)` for runs of `length` consecutive outputs whose
// operands advance by their steps (0 or 1) from one output to the next.
// Axes along which both operands are laid out as the result (or both
// broadcast) are merged first, so that a same-shape or a per-channel
// operation runs in long rows.
template <typename Body>
void ForEachBroadcastRow(const Shape &result, const Shape &a_strides,
                         const Shape &b_strides, Body body) {
  Shape shape, as, bs;
  for (size_t d = 0; d < result.size(); ++d) {
    if (result[d] == 1)
      continue;
    if (!shape.empty() && as.back() == a_strides[d] * result[d] &&
        bs.back() == b_strides[d] * result[d]) {
      shape.back() *= result[d];
      as.back() = a_strides[d];
      bs.back() = b_strides[d];
      continue;
    }
    shape.push_back(result[d]);
    as.push_back(a_strides[d]);
    bs.push_back(b_strides[d]);
  }
  if (shape.empty()) { // a single element
    shape = {1};
    as = bs = {0};
  }
  int64_t length = shape.back(), a_step = as.back(), b_step = bs.back();
  shape.back() = 1;
  ForEachBroadcast(shape, as, bs, [&](int64_t row, int64_t a, int64_t b) {
    body(row * length, a, b, length, a_step, b_step);
  });
}

// Calls `body(index, position)` for every element of `shape` in row-major
// order, `position` holding its coordinates.
template <typename Body> void ForEachPosition(const Shape &shape, Body body) {
  int64_t count = NumElements(shape);
  Shape position(shape.size(), 0);
  for (int64_t e = 0; e < count; ++e) {
    body(e, static_cast<const Shape &>(position));
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      if (++position[d] < shape[d])
        break;
      position[d] = 0;
    }
  }
}

// Views a 1-D or 2-D window as 2-D: 1-D axes get a leading axis of size 1.
struct Window2D {
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
};
inline Window2D To2D(const WindowSpec &spec) {
  if (spec.kernel.size() == 1)
    return {1, spec.kernel[0],     1, spec.strides[0],
            0, spec.pads_begin[0], 1, spec.dilations[0]};
  return {spec.kernel[0],    spec.kernel[1],     spec.strides[0],
          spec.strides[1],   spec.pads_begin[0], spec.pads_begin[1],
          spec.dilations[0], spec.dilations[1]};
}
// N, C, H, W of a 1-D (H = 1) or 2-D tensor shape.
inline std::array<int64_t, 4> To4D(const Shape &shape) {
  if (shape.size() == 3)
    return {shape[0], shape[1], 1, shape[2]};
  return {shape[0], shape[1], shape[2], shape[3]};
}

// A pooling of a [N, C, H, W] tensor `x` (N * C = `planes`) into `y`:
// each output whose window lies wholly inside the input is `init` reduced
// with `reduce(acc, tap)` over its taps in (kh, kw) order and then
// `finish`ed, computed row by row with the taps outermost (the inner loop
// runs over output columns, so it vectorizes); each other output is
// `border(plane, oh, ow)`.
template <typename T, typename Reduce, typename Finish, typename Border>
void PoolWindows(const T *x, T *y, int64_t planes, int64_t height,
                 int64_t width, int64_t out_h, int64_t out_w,
                 const Window2D &win, T init, Reduce reduce, Finish finish,
                 Border border) {
  // The outputs [lo, hi) along one axis whose taps are all inside.
  // From the first output whose first tap is inside to the last whose last
  // tap is.
  auto inside = [](int64_t outputs, int64_t size, int64_t kernel,
                   int64_t stride, int64_t pad, int64_t dilation) {
    int64_t lo = std::min(
        outputs, WindowInsideOutputs(outputs, stride, -pad, size).first);
    int64_t last = WindowInsideOutputs(outputs, stride,
                                       (kernel - 1) * dilation - pad, size)
                       .second;
    return std::pair<int64_t, int64_t>{lo, std::max(lo, last + 1)};
  };
  auto [h_lo, h_hi] = inside(out_h, height, win.kh, win.sh, win.ph, win.dh);
  auto [w_lo, w_hi] = inside(out_w, width, win.kw, win.sw, win.pw, win.dw);
  // The window in locals: stores of bytes may alias any memory, a
  // reference's target included, and would reload it at every element.
  const int64_t kh_size = win.kh, kw_size = win.kw, sh = win.sh, sw = win.sw;
  const int64_t dh = win.dh, dw = win.dw, ph = win.ph, pw = win.pw;
  for (int64_t plane = 0; plane < planes; ++plane)
    for (int64_t oh = 0; oh < out_h; ++oh) {
      T *out = y + (plane * out_h + oh) * out_w;
      if (oh < h_lo || oh >= h_hi) {
        for (int64_t ow = 0; ow < out_w; ++ow)
          out[ow] = border(plane, oh, ow);
        continue;
      }
      for (int64_t ow = 0; ow < w_lo; ++ow)
        out[ow] = border(plane, oh, ow);
      for (int64_t ow = w_hi; ow < out_w; ++ow)
        out[ow] = border(plane, oh, ow);
      std::fill(out + w_lo, out + w_hi, init);
      for (int64_t kh = 0; kh < kh_size; ++kh)
        for (int64_t kw = 0; kw < kw_size; ++kw) {
          // The tap of output w_lo; the next output's is a stride along.
          const T *in = x + (plane * height + oh * sh - ph + kh * dh) * width +
                        w_lo * sw - pw + kw * dw;
          for (int64_t ow = w_lo, t = 0; ow < w_hi; ++ow, t += sw)
            out[ow] = reduce(out[ow], in[t]);
        }
      for (int64_t ow = w_lo; ow < w_hi; ++ow)
        out[ow] = finish(out[ow]);
    }
}

// Calls body(element, channel) over a tensor whose channel axis is 1, without
// a division per element.
template <typename Body>
void ForEachChannel(const std::vector<int64_t> &shape, Body body) {
  int64_t channels = shape[1];
  int64_t inner = NumElements(shape) / (shape[0] * channels);
  int64_t e = 0;
  for (int64_t n = 0; n < shape[0]; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k = 0; k < inner; ++k, ++e)
        body(e, c);
}

} // namespace kernels
} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIB_KERNELS_INDEXING_H
