// Kernels of the digital core that work element by element or over
// windows and lines: activations, binary elementwise ops with broadcasting,
// softmax, pooling, reductions, arg max and hard max.

#include "kernels/Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "hafnia/runtime/WindowArithmetic.h"
#include "kernels/Indexing.h"
#include "kernels/RealPlans.h"

namespace hafnia {
namespace kernels {

void Activation(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Activation &a = i.activation();
  const auto &x = ctx.Real(0);
  auto &y = ctx.NewRealToOverwrite();
  if (const auto *plan = dynamic_cast<const EltwisePlan *>(ctx.plan())) {
    RunEltwisePlan(*plan, x.data(), y.data());
    ctx.AddDigitalOps(x.size());
    return;
  }
  float lo = a.has_min() ? a.min() : -std::numeric_limits<float>::infinity();
  float hi = a.has_max() ? a.max() : std::numeric_limits<float>::infinity();
  // The kind is chosen once per tensor, each a loop of its own that the
  // compiler can vectorize.
  auto map = [&](auto f) {
    for (size_t e = 0; e < x.size(); ++e)
      y[e] = f(x[e]);
  };
  switch (a.kind()) {
  case Instruction::Activation::RELU:
    map([&](float v) { return std::max(v, 0.0f); });
    break;
  case Instruction::Activation::CLIP:
    map([&](float v) { return std::min(std::max(v, lo), hi); });
    break;
  case Instruction::Activation::SIGN:
    map([&](float v) { return static_cast<float>((v > 0) - (v < 0)); });
    break;
  case Instruction::Activation::BIPOLAR:
    map([&](float v) { return v >= 0 ? 1.0f : -1.0f; });
    break;
  case Instruction::Activation::SIGMOID:
    map([&](float v) { return 1.0f / (1.0f + std::exp(-v)); });
    break;
  case Instruction::Activation::HARD_SIGMOID:
    map([&](float v) {
      return std::max(0.0f, std::min(1.0f, a.alpha() * v + a.beta()));
    });
    break;
  case Instruction::Activation::TANH:
    map([&](float v) { return std::tanh(v); });
    break;
  case Instruction::Activation::SQRT:
    map([&](float v) { return std::sqrt(v); });
    break;
  case Instruction::Activation::RECIPROCAL:
    map([&](float v) { return 1.0f / v; });
    break;
  case Instruction::Activation::EXP:
    map([&](float v) { return std::exp(v); });
    break;
  case Instruction::Activation::LOG:
    map([&](float v) { return std::log(v); });
    break;
  case Instruction::Activation::NEG:
    map([&](float v) { return -v; });
    break;
  case Instruction::Activation::ABS:
    map([&](float v) { return std::fabs(v); });
    break;
  case Instruction::Activation::ERF:
    map([&](float v) { return std::erf(v); });
    break;
  case Instruction::Activation::SOFTPLUS:
    map([&](float v) { return std::log(std::exp(v) + 1.0f); });
    break;
  case Instruction::Activation::SOFTSIGN:
    map([&](float v) { return v / (1.0f + std::fabs(v)); });
    break;
  case Instruction::Activation::HARD_SWISH:
    map([&](float v) {
      return v * std::max(0.0f, std::min(1.0f, v / 6.0f + 0.5f));
    });
    break;
  case Instruction::Activation::FLOOR:
    map([&](float v) { return std::floor(v); });
    break;
  case Instruction::Activation::CEIL:
    map([&](float v) { return std::ceil(v); });
    break;
  case Instruction::Activation::ROUND:
    // Halves to even, as ONNX (the default rounding mode).
    map([&](float v) { return std::nearbyint(v); });
    break;
  case Instruction::Activation::SIN:
    map([&](float v) { return std::sin(v); });
    break;
  case Instruction::Activation::COS:
    map([&](float v) { return std::cos(v); });
    break;
  case Instruction::Activation::TAN:
    map([&](float v) { return std::tan(v); });
    break;
  case Instruction::Activation::ASIN:
    map([&](float v) { return std::asin(v); });
    break;
  case Instruction::Activation::ACOS:
    map([&](float v) { return std::acos(v); });
    break;
  case Instruction::Activation::ATAN:
    map([&](float v) { return std::atan(v); });
    break;
  case Instruction::Activation::SINH:
    map([&](float v) { return std::sinh(v); });
    break;
  case Instruction::Activation::COSH:
    map([&](float v) { return std::cosh(v); });
    break;
  case Instruction::Activation::ASINH:
    map([&](float v) { return std::asinh(v); });
    break;
  case Instruction::Activation::ACOSH:
    map([&](float v) { return std::acosh(v); });
    break;
  case Instruction::Activation::ATANH:
    map([&](float v) { return std::atanh(v); });
    break;
  case Instruction::Activation::LEAKY_RELU:
    map([&](float v) { return v < 0 ? a.alpha() * v : v; });
    break;
  case Instruction::Activation::ELU:
    map([&](float v) { return v < 0 ? a.alpha() * (std::exp(v) - 1.0f) : v; });
    break;
  case Instruction::Activation::SELU:
    map([&](float v) {
      return a.beta() * (v <= 0 ? a.alpha() * (std::exp(v) - 1.0f) : v);
    });
    break;
  case Instruction::Activation::CELU:
    map([&](float v) {
      return std::max(0.0f, v) +
             std::min(0.0f, a.alpha() * (std::exp(v / a.alpha()) - 1.0f));
    });
    break;
  case Instruction::Activation::THRESHOLDED_RELU:
    map([&](float v) { return v > a.alpha() ? v : 0.0f; });
    break;
  case Instruction::Activation::SHRINK:
    map([&](float v) {
      return v < -a.alpha() ? v + a.beta() : v > a.alpha() ? v - a.beta() : 0;
    });
    break;
  default:
    map([](float v) { return v; });
    break;
  }
  ctx.AddDigitalOps(x.size());
}

void Elementwise(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &a = ctx.Real(0);
  const auto &b = ctx.Real(1);
  Shape ys = ctx.Out();
  auto &y = ctx.NewRealToOverwrite();
  // The kind is chosen once per tensor, and each row is a loop of its own
  // for whether each operand advances along it or stays (a broadcast), so
  // that the compiler vectorizes it.
  auto map = [&](auto f) {
    ForEachBroadcastRow(ys, BroadcastStrides(ctx.In(0), ys),
                        BroadcastStrides(ctx.In(1), ys),
                        [&](int64_t out, int64_t ai, int64_t bi, int64_t length,
                            int64_t a_step, int64_t b_step) {
                          float *o = y.data() + out;
                          const float *x = a.data() + ai, *z = b.data() + bi;
                          if (a_step && b_step)
                            for (int64_t k = 0; k < length; ++k)
                              o[k] = f(x[k], z[k]);
                          else if (a_step)
                            for (int64_t k = 0; k < length; ++k)
                              o[k] = f(x[k], z[0]);
                          else if (b_step)
                            for (int64_t k = 0; k < length; ++k)
                              o[k] = f(x[0], z[k]);
                          else
                            std::fill(o, o + length, f(x[0], z[0]));
                        });
  };
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  switch (i.elementwise().kind()) {
  case Instruction::Elementwise::ADD:
    map([](float x, float z) { return x + z; });
    break;
  case Instruction::Elementwise::SUB:
    map([](float x, float z) { return x - z; });
    break;
  case Instruction::Elementwise::MUL:
    map([](float x, float z) { return x * z; });
    break;
  case Instruction::Elementwise::DIV:
    map([](float x, float z) { return x / z; });
    break;
  case Instruction::Elementwise::POW:
    map([](float x, float z) { return std::pow(x, z); });
    break;
  case Instruction::Elementwise::MAX:
    map([](float x, float z) {
      return std::isnan(x) || std::isnan(z) ? kNaN : std::max(x, z);
    });
    break;
  case Instruction::Elementwise::MIN:
    map([](float x, float z) {
      return std::isnan(x) || std::isnan(z) ? kNaN : std::min(x, z);
    });
    break;
  case Instruction::Elementwise::PRELU:
    map([](float x, float z) { return x < 0 ? z * x : x; });
    break;
  default: // (refused by Validate.cpp)
    std::fill(y.begin(), y.end(), 0.0f);
    break;
  }
  ctx.AddDigitalOps(y.size());
}

void Softmax(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0);
  int64_t axis = i.softmax().axis();
  int64_t size = xs[axis];
  int64_t inner = 1;
  for (size_t d = axis + 1; d < xs.size(); ++d)
    inner *= xs[d];
  int64_t outer = NumElements(xs) / (size * inner);
  auto &y = ctx.NewReal();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float *xp = x.data() + o * size * inner + in;
      float *yp = y.data() + o * size * inner + in;
      float peak = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < size; ++k)
        peak = std::max(peak, xp[k * inner]);
      float sum = 0;
      for (int64_t k = 0; k < size; ++k)
        sum += yp[k * inner] = std::exp(xp[k * inner] - peak);
      if (i.softmax().log()) {
        float log_sum = std::log(sum);
        for (int64_t k = 0; k < size; ++k)
          yp[k * inner] = xp[k * inner] - peak - log_sum;
        continue;
      }
      for (int64_t k = 0; k < size; ++k)
        yp[k * inner] /= sum;
    }
  ctx.AddDigitalOps(3 * x.size());
}

void Pool(KernelContext &ctx) {
  if (const auto *plan = dynamic_cast<const LibraryPlan *>(ctx.plan()))
    return RunLibraryPlan(ctx, *plan);
  const Instruction &i = ctx.instruction();
  const Instruction::Pool &pool = i.pool();
  const auto &x = ctx.Real(0);
  auto [n_size, channels, height, width] = To4D(ctx.In(0));
  auto &y = ctx.NewRealToOverwrite();
  if (pool.kind() == Instruction::Pool::GLOBAL_MAX) {
    int64_t area = height * width;
    for (int64_t nc = 0; nc < n_size * channels; ++nc) {
      float peak = -std::numeric_limits<float>::infinity();
      for (int64_t p = 0; p < area; ++p)
        peak = std::max(peak, x[nc * area + p]);
      y[nc] = peak;
    }
    ctx.AddDigitalOps(x.size());
    return;
  }
  if (pool.kind() == Instruction::Pool::GLOBAL_AVERAGE) {
    int64_t area = height * width;
    for (int64_t nc = 0; nc < n_size * channels; ++nc) {
      float sum = 0;
      for (int64_t p = 0; p < area; ++p)
        sum += x[nc * area + p];
      y[nc] = sum / static_cast<float>(area);
    }
    ctx.AddDigitalOps(x.size());
    return;
  }
  auto [unused_n, unused_c, out_h, out_w] = To4D(ctx.Out());
  Shape in_shape = ctx.In(0);
  WindowSpec spec = ResolveWindow(pool.window(), in_shape.size() - 2);
  Window2D win = To2D(spec);
  // Padded extent for count_include_pad: the explicit pads count, a
  // ceil-mode overhang past them does not.
  int64_t pad_end_h = spec.kernel.size() == 1 ? 0 : spec.pads_end[0];
  int64_t pad_end_w = spec.pads_end.back();
  bool max = pool.kind() == Instruction::Pool::MAX;
  int64_t taps = win.kh * win.kw;
  // Any window: the taps inside the input, in (kh, kw) order, and the
  // average's divisor.
  auto border = [&](int64_t nc, int64_t oh, int64_t ow) {
    float acc = max ? -std::numeric_limits<float>::infinity() : 0.0f;
    int64_t valid = 0, padded = 0;
    for (int64_t kh = 0; kh < win.kh; ++kh) {
      int64_t ih = WindowInput(oh, kh, win.sh, win.ph, win.dh);
      for (int64_t kw = 0; kw < win.kw; ++kw) {
        int64_t iw = WindowInput(ow, kw, win.sw, win.pw, win.dw);
        bool in_pads = ih >= -win.ph && ih < height + pad_end_h &&
                       iw >= -win.pw && iw < width + pad_end_w;
        padded += in_pads;
        if (ih < 0 || ih >= height || iw < 0 || iw >= width)
          continue;
        float v = x[(nc * height + ih) * width + iw];
        acc = max ? std::max(acc, v) : acc + v;
        ++valid;
      }
    }
    if (!max)
      acc /= static_cast<float>(pool.count_include_pad() ? padded : valid);
    return acc;
  };
  // Windows wholly inside the input (all of them without padding): the same
  // maximum or sum in the same order, every tap counted.
  if (max)
    PoolWindows(
        x.data(), y.data(), n_size * channels, height, width, out_h, out_w, win,
        -std::numeric_limits<float>::infinity(),
        [](float acc, float v) { return std::max(acc, v); },
        [](float acc) { return acc; }, border);
  else
    PoolWindows(
        x.data(), y.data(), n_size * channels, height, width, out_h, out_w, win,
        0.0f, [](float acc, float v) { return acc + v; },
        [&](float acc) { return acc / static_cast<float>(taps); }, border);
  ctx.AddDigitalOps(y.size() * taps);
}

void Reduce(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  using Kind = Instruction::Reduce;
  const Instruction::Reduce &reduce = i.reduce();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0);
  size_t rank = xs.size();
  std::vector<bool> reduced(rank, false);
  for (int64_t axis : reduce.axes())
    reduced[axis] = true;
  // Where each input element goes: the output without the reduced axes.
  Shape kept;
  for (size_t d = 0; d < rank; ++d)
    kept.push_back(reduced[d] ? 1 : xs[d]);
  Shape kept_strides = Strides(kept), to(rank, 0);
  for (size_t d = 0; d < rank; ++d)
    to[d] = reduced[d] ? 0 : kept_strides[d];
  auto &y = ctx.NewReal();
  int64_t group = y.empty() ? 0 : static_cast<int64_t>(x.size() / y.size());
  // Sums in double, in row-major order of the input: the same for any
  // thread count, and no less accurate than the f32 reference.
  std::vector<double> acc(y.size(), 0.0);
  Kind::Kind kind = reduce.kind();
  bool extreme = kind == Kind::MAX || kind == Kind::MIN;
  if (kind == Kind::PROD)
    std::fill(acc.begin(), acc.end(), 1.0);
  if (extreme)
    std::fill(acc.begin(), acc.end(),
              kind == Kind::MAX ? -std::numeric_limits<double>::infinity()
                                : std::numeric_limits<double>::infinity());
  // LOG_SUM_EXP is stabilized by the maximum of each group.
  std::vector<double> peak;
  if (kind == Kind::LOG_SUM_EXP) {
    peak.assign(y.size(), -std::numeric_limits<double>::infinity());
    ForEachBroadcast(xs, to, to, [&](int64_t e, int64_t o, int64_t) {
      peak[o] = std::max(peak[o], static_cast<double>(x[e]));
    });
    for (double &p : peak)
      if (!std::isfinite(p))
        p = 0;
  }
  ForEachBroadcast(xs, to, to, [&](int64_t e, int64_t o, int64_t) {
    double v = x[e];
    switch (kind) {
    case Kind::MAX:
      acc[o] = std::isnan(v) || std::isnan(acc[o]) ? NAN : std::max(acc[o], v);
      break;
    case Kind::MIN:
      acc[o] = std::isnan(v) || std::isnan(acc[o]) ? NAN : std::min(acc[o], v);
      break;
    case Kind::PROD:
      acc[o] *= v;
      break;
    case Kind::L1:
      acc[o] += std::fabs(v);
      break;
    case Kind::L2:
    case Kind::SUM_SQUARE:
      acc[o] += v * v;
      break;
    case Kind::LOG_SUM_EXP:
      acc[o] += std::exp(v - peak[o]);
      break;
    default:
      acc[o] += v;
      break;
    }
  });
  for (size_t o = 0; o < y.size(); ++o) {
    double v = acc[o];
    if (kind == Kind::MEAN)
      v /= static_cast<double>(group);
    else if (kind == Kind::L2)
      v = std::sqrt(v);
    else if (kind == Kind::LOG_SUM)
      v = std::log(v);
    else if (kind == Kind::LOG_SUM_EXP)
      v = std::log(v) + peak[o];
    y[o] = static_cast<float>(v);
  }
  ctx.AddDigitalOps(x.size());
}

// The index of the first (or last) largest (or smallest) element of each
// line along the axis; as in NumPy, the first NaN is selected.
void ArgMax(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::ArgMax &attrs = i.arg_max();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0);
  int64_t axis = attrs.axis(), size = xs[axis], inner = 1;
  for (size_t d = axis + 1; d < xs.size(); ++d)
    inner *= xs[d];
  int64_t outer = size ? NumElements(xs) / (size * inner) : 0;
  auto &y = ctx.NewReal();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float *xp = x.data() + o * size * inner + in;
      int64_t best = 0;
      for (int64_t k = 1; k < size; ++k) {
        float v = xp[k * inner], b = xp[best * inner];
        if (std::isnan(b))
          break;
        bool better = attrs.min() ? v < b : v > b;
        if (better || std::isnan(v) || (v == b && attrs.select_last_index()))
          best = k;
      }
      y[o * inner + in] = static_cast<float>(best);
    }
  ctx.AddDigitalOps(x.size());
}

void Hardmax(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0);
  int64_t axis = i.hardmax().axis(), size = xs[axis], inner = 1;
  for (size_t d = axis + 1; d < xs.size(); ++d)
    inner *= xs[d];
  int64_t outer = size ? NumElements(xs) / (size * inner) : 0;
  auto &y = ctx.NewReal();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float *xp = x.data() + o * size * inner + in;
      int64_t best = 0;
      for (int64_t k = 1; k < size; ++k)
        if (xp[k * inner] > xp[best * inner])
          best = k;
      y[o * size * inner + best * inner + in] = 1.0f;
    }
  ctx.AddDigitalOps(x.size());
}

} // namespace kernels
} // namespace hafnia
