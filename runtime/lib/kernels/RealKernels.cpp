// The digital core's multiply-accumulate kernels: convolutions, transposed
// convolutions, dense layers (Gemm and NumPy matmul), batch and layer
// normalization, in f32 as ONNX defines them. Convolutions run on oneDNN
// when they have a plan (RealPlans.cpp), dense layers on oneDNN's sgemm;
// the reference loops sum each output's terms in (channel, tap) order. Every
// kernel runs on the calling thread, so results do not depend on the thread
// count.

#include "kernels/Kernels.h"

#include <algorithm>
#include <cmath>

#include "hafnia/runtime/WindowArithmetic.h"
#include "kernels/Indexing.h"
#include "kernels/RealPlans.h"

namespace hafnia {
namespace kernels {

namespace {

// NumPy matmul: vectors become matrices, batch axes broadcast. The matrix
// sizes, the batch shape and each operand's batch strides.
struct Matmul {
  int64_t m, k, n;
  Shape batch, a_strides, b_strides;
};
Matmul MatmulShapes(const Shape &as, const Shape &bs) {
  Shape a2 = as, b2 = bs;
  if (a2.size() == 1)
    a2.insert(a2.begin(), 1);
  if (b2.size() == 1)
    b2.push_back(1);
  Shape a_batch(a2.begin(), a2.end() - 2), b_batch(b2.begin(), b2.end() - 2);
  Shape batch = *BroadcastShape(a_batch, b_batch);
  return {a2[a2.size() - 2],
          a2.back(),
          b2.back(),
          batch,
          BroadcastStrides(a_batch, batch),
          BroadcastStrides(b_batch, batch)};
}

} // namespace

void Conv(KernelContext &ctx) {
  if (const auto *plan = dynamic_cast<const LibraryPlan *>(ctx.plan()))
    return RunLibraryPlan(ctx, *plan);
  ReferenceConv(ctx);
}

void ReferenceConv(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &x = ctx.Real(0);
  const auto &w = ctx.Real(1);
  const float *bias = i.inputs_size() == 3 ? ctx.Real(2).data() : nullptr;
  auto [n_size, channels, height, width] = To4D(ctx.In(0));
  auto [unused, filters, out_h, out_w] = To4D(ctx.Out());
  Shape weight_shape = ctx.In(1);
  Window2D win =
      To2D(ResolveWindow(i.conv().window(), weight_shape.size() - 2));
  int64_t group = i.conv().group();
  int64_t group_channels = channels / group, group_filters = filters / group;
  auto &y = ctx.NewReal();
  uint64_t macs = 0;
  // Output positions ow whose input column lies inside the input, for a
  // kernel column kw: the loop over them is contiguous when the stride is
  // 1, and each output still sums its taps in (c, kh, kw) order.
  for (int64_t n = 0; n < n_size; ++n)
    for (int64_t m = 0; m < filters; ++m) {
      float *ym = y.data() + (n * filters + m) * out_h * out_w;
      std::fill(ym, ym + out_h * out_w, bias ? bias[m] : 0.0f);
      int64_t g = m / group_filters;
      for (int64_t c = 0; c < group_channels; ++c) {
        const float *xc =
            x.data() + (n * channels + g * group_channels + c) * height * width;
        const float *wc = w.data() + (m * group_channels + c) * win.kh * win.kw;
        for (int64_t kh = 0; kh < win.kh; ++kh) {
          auto [oh_first, oh_last] =
              WindowInsideOutputs(out_h, win.sh, kh * win.dh - win.ph, height);
          for (int64_t kw = 0; kw < win.kw; ++kw) {
            auto [ow_first, ow_last] =
                WindowInsideOutputs(out_w, win.sw, kw * win.dw - win.pw, width);
            if (ow_last < ow_first)
              continue;
            float weight = wc[kh * win.kw + kw];
            for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
              const float *xrow =
                  xc + (WindowInput(oh, kh, win.sh, win.ph, win.dh)) * width +
                  kw * win.dw - win.pw;
              float *yrow = ym + oh * out_w;
              for (int64_t ow = ow_first; ow <= ow_last; ++ow)
                yrow[ow] += weight * xrow[ow * win.sw];
            }
            macs += std::max<int64_t>(0, oh_last - oh_first + 1) *
                    (ow_last - ow_first + 1);
          }
        }
      }
    }
  ctx.AddDigitalMacs(macs);
}

// Each input element scatters into the output; every output element sums
// its contributions in (input channel, input position, kernel tap) order,
// whatever the thread count.
void ConvTranspose(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &x = ctx.Real(0);
  const auto &w = ctx.Real(1);
  const float *bias = i.inputs_size() == 3 ? ctx.Real(2).data() : nullptr;
  auto [n_size, channels, height, width] = To4D(ctx.In(0));
  auto [unused, filters, out_h, out_w] = To4D(ctx.Out());
  const Instruction::ConvTranspose &attrs = i.conv_transpose();
  Window2D win = To2D(ResolveWindow(attrs.window(), ctx.In(1).size() - 2));
  int64_t group = attrs.group();
  int64_t group_channels = channels / group, group_filters = filters / group;
  auto &y = ctx.NewReal();
  uint64_t macs = 0;
  for (int64_t n = 0; n < n_size; ++n)
    for (int64_t m = 0; m < filters; ++m) {
      float *ym = y.data() + (n * filters + m) * out_h * out_w;
      std::fill(ym, ym + out_h * out_w, bias ? bias[m] : 0.0f);
      int64_t g = m / group_filters, mo = m % group_filters;
      for (int64_t c = 0; c < group_channels; ++c) {
        int64_t ci = g * group_channels + c;
        const float *xc = x.data() + (n * channels + ci) * height * width;
        const float *wc =
            w.data() + (ci * group_filters + mo) * win.kh * win.kw;
        for (int64_t ih = 0; ih < height; ++ih)
          for (int64_t kh = 0; kh < win.kh; ++kh) {
            int64_t oh = WindowInput(ih, kh, win.sh, win.ph, win.dh);
            if (oh < 0 || oh >= out_h)
              continue;
            for (int64_t iw = 0; iw < width; ++iw) {
              float xv = xc[ih * width + iw];
              for (int64_t kw = 0; kw < win.kw; ++kw) {
                int64_t ow = WindowInput(iw, kw, win.sw, win.pw, win.dw);
                if (ow < 0 || ow >= out_w)
                  continue;
                ym[oh * out_w + ow] += xv * wc[kh * win.kw + kw];
                ++macs;
              }
            }
          }
      }
    }
  ctx.AddDigitalMacs(macs);
}

void Dense(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Dense &attrs = i.dense();
  const auto &a = ctx.Real(0);
  // A constant right operand from the plan's copy of it.
  const auto *plan = dynamic_cast<const DensePlan *>(ctx.plan());
  const float *b = plan ? plan->rhs.get() : ctx.Real(1).data();
  Shape as = ctx.In(0), bs = ctx.In(1), ys = ctx.Out();
  bool gemm =
      attrs.transpose_lhs() || attrs.transpose_rhs() || i.inputs_size() == 3;
  if (gemm) {
    int64_t m = ys[0], n = ys[1];
    int64_t k = attrs.transpose_lhs() ? as[0] : as[1];
    auto &y = ctx.NewRealToOverwrite();
    float beta = 0;
    if (i.inputs_size() == 3) {
      // C broadcast into Y, then Y = alpha A B + beta Y.
      const auto &bias = ctx.Real(2);
      Shape bias_strides = BroadcastStrides(ctx.In(2), ys);
      ForEachBroadcast(
          ys, Strides(ys), bias_strides,
          [&](int64_t out, int64_t, int64_t bi) { y[out] = bias[bi]; });
      beta = attrs.beta();
    }
    Sgemm(attrs.transpose_lhs(), attrs.transpose_rhs(), m, n, k, attrs.alpha(),
          a.data(), as[1], b, bs[1], beta, y.data(), n);
    ctx.AddDigitalMacs(m * n * k);
    return;
  }
  auto [m, k, n, batch, a_strides, b_strides] = MatmulShapes(as, bs);
  auto &y = ctx.NewRealToOverwrite();
  ForEachBroadcast(
      batch, a_strides, b_strides, [&](int64_t out, int64_t ai, int64_t bi) {
        Sgemm(false, false, m, n, k, 1.0f, a.data() + ai * m * k, k,
              b + bi * k * n, n, 0.0f, y.data() + out * m * n, n);
      });
  ctx.AddDigitalMacs(NumElements(batch) * m * n * k);
}

void ReferenceDense(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Dense &attrs = i.dense();
  const auto &a = ctx.Real(0);
  const auto &b = ctx.Real(1);
  Shape as = ctx.In(0), bs = ctx.In(1), ys = ctx.Out();
  auto &y = ctx.NewReal();
  bool gemm =
      attrs.transpose_lhs() || attrs.transpose_rhs() || i.inputs_size() == 3;
  if (gemm) {
    int64_t m = ys[0], n = ys[1];
    int64_t k = attrs.transpose_lhs() ? as[0] : as[1];
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        float sum = 0;
        for (int64_t j = 0; j < k; ++j) {
          float av = attrs.transpose_lhs() ? a[j * as[1] + r] : a[r * k + j];
          float bv = attrs.transpose_rhs() ? b[c * k + j] : b[j * n + c];
          sum += av * bv;
        }
        y[r * n + c] = attrs.alpha() * sum;
      }
    if (i.inputs_size() == 3) {
      const auto &bias = ctx.Real(2);
      Shape bias_strides = BroadcastStrides(ctx.In(2), ys);
      ForEachBroadcast(ys, Strides(ys), bias_strides,
                       [&](int64_t out, int64_t, int64_t bi) {
                         y[out] += attrs.beta() * bias[bi];
                       });
    }
    ctx.AddDigitalMacs(m * n * k);
    return;
  }
  auto [m, k, n, batch, a_strides, b_strides] = MatmulShapes(as, bs);
  int64_t out_index = 0;
  ForEachBroadcast(batch, a_strides, b_strides,
                   [&](int64_t, int64_t ai, int64_t bi) {
                     const float *ab = a.data() + ai * m * k;
                     const float *bb = b.data() + bi * k * n;
                     for (int64_t r = 0; r < m; ++r)
                       for (int64_t c = 0; c < n; ++c) {
                         float sum = 0;
                         for (int64_t j = 0; j < k; ++j)
                           sum += ab[r * k + j] * bb[j * n + c];
                         y[out_index++] = sum;
                       }
                   });
  ctx.AddDigitalMacs(NumElements(batch) * m * n * k);
}

void BatchNorm(KernelContext &ctx) {
  const auto &x = ctx.Real(0);
  if (const auto *plan = dynamic_cast<const BatchNormPlan *>(ctx.plan())) {
    // One multiply-add per element with the scale and shift of the plan.
    auto &y = ctx.NewRealToOverwrite();
    Shape xs = ctx.In(0);
    int64_t channels = xs[1];
    int64_t inner = NumElements(xs) / (xs[0] * channels);
    const float *in = x.data();
    float *out = y.data();
    for (int64_t n = 0; n < xs[0]; ++n)
      for (int64_t c = 0; c < channels; ++c) {
        float scale = plan->scale[c], shift = plan->shift[c];
        for (int64_t k = 0; k < inner; ++k)
          *out++ = *in++ * scale + shift;
      }
    ctx.AddDigitalOps(x.size());
    return;
  }
  const Instruction &i = ctx.instruction();
  const auto &scale = ctx.Real(1);
  const auto &bias = ctx.Real(2);
  const auto &mean = ctx.Real(3);
  const auto &variance = ctx.Real(4);
  float epsilon = i.batch_norm().epsilon();
  auto &y = ctx.NewReal();
  ForEachChannel(ctx.In(0), [&](int64_t e, int64_t c) {
    // ONNX's formula, step by step, as threshold folding evaluates it.
    y[e] = (x[e] - mean[c]) / std::sqrt(variance[c] + epsilon) * scale[c] +
           bias[c];
  });
  ctx.AddDigitalOps(x.size());
}

void LayerNorm(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0);
  int64_t axis = i.layer_norm().axis();
  Shape normalized(xs.begin() + axis, xs.end());
  int64_t size = NumElements(normalized);
  int64_t groups = size ? static_cast<int64_t>(x.size()) / size : 0;
  // Scale and bias broadcast to the normalized shape.
  std::vector<float> scale(size, 1.0f), bias(size, 0.0f);
  for (int k = 1; k < i.inputs_size(); ++k) {
    const auto &p = ctx.Real(k);
    std::vector<float> &into = k == 1 ? scale : bias;
    Shape strides = BroadcastStrides(ctx.In(k), normalized);
    ForEachBroadcast(normalized, strides, strides,
                     [&](int64_t e, int64_t pi, int64_t) { into[e] = p[pi]; });
  }
  float epsilon = i.layer_norm().epsilon();
  auto &y = ctx.NewReal();
  for (int64_t g = 0; g < groups; ++g) {
    const float *xg = x.data() + g * size;
    float *yg = y.data() + g * size;
    double sum = 0;
    for (int64_t e = 0; e < size; ++e)
      sum += xg[e];
    float mean = static_cast<float>(sum / size);
    double squares = 0;
    for (int64_t e = 0; e < size; ++e) {
      float d = xg[e] - mean;
      squares += static_cast<double>(d) * d;
    }
    float variance = static_cast<float>(squares / size);
    float inverse = 1.0f / std::sqrt(variance + epsilon);
    for (int64_t e = 0; e < size; ++e)
      yg[e] = (xg[e] - mean) * inverse * scale[e] + bias[e];
  }
  ctx.AddDigitalOps(3 * x.size());
}

} // namespace kernels
} // namespace hafnia
