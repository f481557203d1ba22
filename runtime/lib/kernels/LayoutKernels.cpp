// Kernels that move values rather than compute them: reshape, transpose,
// concat, pad, slice, gather; and resize, which interpolates.

#include "kernels/Kernels.h"

#include <algorithm>
#include <cmath>

#include "kernels/Indexing.h"

namespace hafnia {
namespace kernels {

namespace {

// The input positions and weights that one output index of one axis reads:
// ONNX's coordinate transformation, then its nearest, linear or cubic
// neighbours, read at the edge when they fall outside.
struct Taps {
  std::vector<int64_t> index;
  std::vector<double> weight;
  int64_t count = 0; // taps per output index
};
Taps ResizeTaps(const Instruction::Resize &r, int64_t in, int64_t out,
                double scale) {
  using R = Instruction::Resize;
  Taps taps;
  taps.count = r.mode() == R::NEAREST ? 1 : r.mode() == R::LINEAR ? 2 : 4;
  for (int64_t x = 0; x < out; ++x) {
    double xo;
    switch (r.coordinate_mode()) {
    case R::PYTORCH_HALF_PIXEL:
      xo = out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
      break;
    case R::ALIGN_CORNERS:
      xo = out > 1 ? x * static_cast<double>(in - 1) / (out - 1) : 0.0;
      break;
    case R::ASYMMETRIC:
      xo = x / scale;
      break;
    case R::TF_HALF_PIXEL_FOR_NN:
      xo = (x + 0.5) / scale;
      break;
    default: // HALF_PIXEL
      xo = (x + 0.5) / scale - 0.5;
      break;
    }
    auto clamp = [&](int64_t k) {
      return std::min<int64_t>(std::max<int64_t>(k, 0), in - 1);
    };
    if (r.mode() == R::NEAREST) {
      double base = std::floor(xo), frac = xo - base;
      int64_t k = static_cast<int64_t>(base);
      switch (r.nearest_mode()) {
      case R::ROUND_PREFER_CEIL:
        k += frac >= 0.5 ? 1 : 0;
        break;
      case R::FLOOR:
        break;
      case R::CEIL:
        k += frac > 0 ? 1 : 0;
        break;
      default: // ROUND_PREFER_FLOOR
        k += frac > 0.5 ? 1 : 0;
        break;
      }
      taps.index.push_back(clamp(k));
      taps.weight.push_back(1.0);
      continue;
    }
    double base = std::floor(xo), t = xo - base;
    int64_t k0 = static_cast<int64_t>(base);
    if (r.mode() == R::LINEAR) {
      taps.index.push_back(clamp(k0));
      taps.index.push_back(clamp(k0 + 1));
      taps.weight.push_back(1.0 - t);
      taps.weight.push_back(t);
      continue;
    }
    double a = r.cubic_coeff_a();
    auto near = [&](double d) { // |d| <= 1
      return ((a + 2) * d - (a + 3)) * d * d + 1;
    };
    auto far = [&](double d) { // 1 < |d| < 2
      return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
    };
    double w[4] = {far(t + 1), near(t), near(1 - t), far(2 - t)};
    double sum = 0;
    for (int j = 0; j < 4; ++j) {
      int64_t k = k0 - 1 + j;
      if (r.exclude_outside() && (k < 0 || k >= in))
        w[j] = 0;
      sum += w[j];
    }
    for (int j = 0; j < 4; ++j) {
      taps.index.push_back(clamp(k0 - 1 + j));
      taps.weight.push_back(r.exclude_outside() ? w[j] / sum : w[j]);
    }
  }
  return taps;
}

} // namespace

void Reshape(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  if (ctx.program().buffers(i.output()).type() == BIT)
    ctx.NewBits() = ctx.Bits(0);
  else
    ctx.NewReal() = ctx.Real(0);
}

void Transpose(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0), ys = ctx.Out();
  Shape x_strides = Strides(xs), permuted(ys.size());
  for (size_t d = 0; d < ys.size(); ++d)
    permuted[d] = x_strides[i.transpose().permutation(d)];
  auto &y = ctx.NewReal();
  ForEachBroadcast(ys, permuted, permuted,
                   [&](int64_t out, int64_t xi, int64_t) { y[out] = x[xi]; });
}

void Concat(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  Shape ys = ctx.Out();
  int64_t axis = i.concat().axis();
  int64_t inner = 1;
  for (size_t d = axis + 1; d < ys.size(); ++d)
    inner *= ys[d];
  int64_t outer = NumElements(ys) / (ys[axis] * inner);
  auto &y = ctx.NewReal();
  int64_t offset = 0;
  for (int k = 0; k < i.inputs_size(); ++k) {
    const auto &x = ctx.Real(k);
    int64_t block = ctx.In(k)[axis] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::copy(x.begin() + o * block, x.begin() + (o + 1) * block,
                y.begin() + o * ys[axis] * inner + offset);
    offset += block;
  }
}

void Pad(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Pad &pad = i.pad();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0), ys = ctx.Out();
  size_t rank = xs.size();
  Shape x_strides = Strides(xs);
  auto &y = ctx.NewReal();
  ForEachPosition(ys, [&](int64_t e, const Shape &position) {
    int64_t from = 0;
    bool outside = false;
    for (size_t d = 0; d < rank; ++d) {
      int64_t k = position[d] - pad.pads(d), n = xs[d];
      if (k < 0 || k >= n) {
        if (pad.mode() == Instruction::Pad::CONSTANT)
          outside = true;
        else if (pad.mode() == Instruction::Pad::EDGE)
          k = k < 0 ? 0 : n - 1;
        else // REFLECT: pads are smaller than the axis.
          k = k < 0 ? -k : 2 * (n - 1) - k;
      }
      from += k * x_strides[d];
    }
    y[e] = outside ? pad.value() : x[from];
  });
  ctx.AddDigitalOps(y.size());
}

void Slice(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Slice &slice = i.slice();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0), ys = ctx.Out();
  size_t rank = xs.size();
  Shape x_strides = Strides(xs);
  auto &y = ctx.NewReal();
  ForEachPosition(ys, [&](int64_t e, const Shape &position) {
    int64_t from = 0;
    for (size_t d = 0; d < rank; ++d)
      from += (slice.starts(d) + position[d] * slice.steps(d)) * x_strides[d];
    y[e] = x[from];
  });
}

void Gather(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Gather &gather = i.gather();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0);
  int64_t axis = gather.axis(), dim = xs[axis];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= xs[d];
  for (size_t d = axis + 1; d < xs.size(); ++d)
    inner *= xs[d];
  auto &y = ctx.NewReal();
  int64_t e = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t index : gather.indices()) {
      const float *from = x.data() + (o * dim + index) * inner;
      std::copy(from, from + inner, y.begin() + e);
      e += inner;
    }
}

// Separable: each output element is the weighted sum of the product of
// its axes' taps, accumulated in double in row-major tap order.
void Resize(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Resize &r = i.resize();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0), ys = ctx.Out();
  size_t rank = xs.size();
  std::vector<Taps> axes;
  for (size_t d = 0; d < rank; ++d)
    axes.push_back(ResizeTaps(r, xs[d], ys[d], r.scales(d)));
  Shape in_strides = Strides(xs);
  auto &y = ctx.NewReal();
  std::vector<int64_t> out_index(rank, 0), tap(rank, 0);
  int64_t taps_per_output = 1;
  for (const Taps &t : axes)
    taps_per_output *= t.count;
  for (size_t e = 0; e < y.size(); ++e) {
    double sum = 0;
    std::fill(tap.begin(), tap.end(), 0);
    for (int64_t k = 0; k < taps_per_output; ++k) {
      double weight = 1;
      int64_t offset = 0;
      for (size_t d = 0; d < rank; ++d) {
        int64_t at = out_index[d] * axes[d].count + tap[d];
        weight *= axes[d].weight[at];
        offset += axes[d].index[at] * in_strides[d];
      }
      if (weight != 0)
        sum += weight * x[offset];
      for (size_t d = rank; d-- > 0;) {
        if (++tap[d] < axes[d].count)
          break;
        tap[d] = 0;
      }
    }
    y[e] = static_cast<float>(sum);
    for (size_t d = rank; d-- > 0;) {
      if (++out_index[d] < ys[d])
        break;
      out_index[d] = 0;
    }
  }
  ctx.AddDigitalOps(y.size() * taps_per_output);
}

} // namespace kernels
} // namespace hafnia
