// Plans of the real kernels: convolutions on oneDNN (with a following batch
// norm folded into the weights and bias, and a ReLU or Clip after it run as
// the primitive's post-op), batch norms as a per-channel scale and shift.
// oneDNN runs on the calling thread only: the primitives are made, and run,
// with OpenMP limited to one thread, so a result never depends on how many
// threads the simulator uses, and the simulator's threads run samples in
// parallel.

#include "kernels/RealPlans.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "hafnia/runtime/WindowArithmetic.h"
#include "kernels/Indexing.h"

namespace hafnia {
namespace kernels {

namespace {

// OpenMP limited to the calling thread while oneDNN works, the caller's
// setting restored after (an embedding program may use OpenMP itself).
class OneThread {
public:
  OneThread() : saved_(omp_get_max_threads()) {
    if (saved_ != 1)
      omp_set_num_threads(1);
  }
  ~OneThread() {
    if (saved_ != 1)
      omp_set_num_threads(saved_);
  }

private:
  int saved_;
};

const dnnl::engine &Engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream &Stream() {
  thread_local dnnl::stream stream(Engine());
  return stream;
}

// Scratch memory of one thread for the library's layouts.
struct Scratch {
  std::vector<float> src, dst;
  std::vector<uint8_t> pad;
};
Scratch &ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

template <typename T> T *Sized(std::vector<T> &v, size_t bytes) {
  size_t count = (bytes + sizeof(T) - 1) / sizeof(T);
  if (v.size() < count)
    v.resize(count);
  return v.data();
}

using Dims = dnnl::memory::dims;
using Tag = dnnl::memory::format_tag;
constexpr auto kF32 = dnnl::memory::data_type::f32;

bool IsConstant(const std::vector<std::vector<float>> &constants,
                const Program &program, uint32_t buffer) {
  return !constants[buffer].empty() ||
         NumElements(ShapeOf(program.buffers(buffer))) == 0;
}

// The per-channel scale and shift of a batch norm with constant operands.
void FoldBatchNorm(const Instruction &bn,
                   const std::vector<std::vector<float>> &constants,
                   std::vector<float> &scale, std::vector<float> &shift) {
  const auto &gamma = constants[bn.inputs(1)];
  const auto &beta = constants[bn.inputs(2)];
  const auto &mean = constants[bn.inputs(3)];
  const auto &variance = constants[bn.inputs(4)];
  double epsilon = bn.batch_norm().epsilon();
  scale.resize(gamma.size());
  shift.resize(gamma.size());
  for (size_t c = 0; c < gamma.size(); ++c) {
    double s = gamma[c] / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    scale[c] = static_cast<float>(s);
    shift[c] = static_cast<float>(beta[c] - mean[c] * s);
  }
}

bool BatchNormIsConstant(const Instruction &bn, const Program &program,
                         const std::vector<std::vector<float>> &constants) {
  for (int k = 1; k < 5; ++k)
    if (!IsConstant(constants, program, bn.inputs(k)))
      return false;
  return true;
}

// Multiply-accumulates of the reference convolution: every (output, tap)
// pair whose input lies inside the input.
uint64_t ConvMacs(int64_t n_size, int64_t filters, int64_t group_channels,
                  int64_t out_h, int64_t out_w, int64_t height, int64_t width,
                  const Window2D &win) {
  auto valid = [](int64_t out, int64_t stride, int64_t offset, int64_t size) {
    auto [first, last] = WindowInsideOutputs(out, stride, offset, size);
    return std::max<int64_t>(0, last - first + 1);
  };
  uint64_t taps = 0;
  for (int64_t kh = 0; kh < win.kh; ++kh) {
    int64_t rows = valid(out_h, win.sh, kh * win.dh - win.ph, height);
    for (int64_t kw = 0; kw < win.kw; ++kw)
      taps += rows * valid(out_w, win.sw, kw * win.dw - win.pw, width);
  }
  return taps * n_size * filters * group_channels;
}

// A oneDNN convolution for `conv`, absorbing `bn` and `activation` (either
// may be null); null when the library cannot run it.
std::shared_ptr<ConvPlan>
MakeConvPlan(const Program &program, const Instruction &conv,
             const Instruction *bn, const Instruction *activation,
             const std::vector<std::vector<float>> &constants) {
  Shape xs = ShapeOf(program.buffers(conv.inputs(0)));
  Shape ws = ShapeOf(program.buffers(conv.inputs(1)));
  Shape ys = ShapeOf(program.buffers(conv.output()));
  if (xs.size() != 3 && xs.size() != 4)
    return nullptr;
  auto [n_size, channels, height, width] = To4D(xs);
  auto [unused, filters, out_h, out_w] = To4D(ys);
  WindowSpec spec = ResolveWindow(conv.conv().window(), xs.size() - 2);
  Window2D win = To2D(spec);
  int64_t group = conv.conv().group();
  int64_t group_channels = channels / group, group_filters = filters / group;
  int64_t taps = group_channels * win.kh * win.kw;
  if (NumElements(xs) == 0 || NumElements(ys) == 0)
    return nullptr;

  // Weights and bias with the batch norm folded in.
  std::vector<float> weights = constants[conv.inputs(1)];
  std::vector<float> bias(filters, 0.0f);
  if (conv.inputs_size() == 3)
    bias = constants[conv.inputs(2)];
  if (bn) {
    std::vector<float> scale, shift;
    FoldBatchNorm(*bn, constants, scale, shift);
    for (int64_t m = 0; m < filters; ++m) {
      for (int64_t t = 0; t < taps; ++t)
        weights[m * taps + t] *= scale[m];
      bias[m] = bias[m] * scale[m] + shift[m];
    }
  }

  auto plan = std::make_shared<ConvPlan>();
  plan->output = activation ? activation->output()
                 : bn       ? bn->output()
                            : conv.output();
  plan->macs = ConvMacs(n_size, filters, group_channels, out_h, out_w, height,
                        width, win);
  plan->absorbed_ops = NumElements(ys) * ((bn ? 1 : 0) + (activation ? 1 : 0));

  bool one_d = spec.kernel.size() == 1;
  Dims src_dims{n_size, channels, height, width};
  Dims dst_dims{n_size, filters, out_h, out_w};
  Dims weight_dims =
      group > 1 ? Dims{group, group_filters, group_channels, win.kh, win.kw}
                : Dims{filters, channels, win.kh, win.kw};
  Dims strides{win.sh, win.sw}, dilations{win.dh - 1, win.dw - 1};
  Dims pad_begin{win.ph, win.pw};
  Dims pad_end = one_d ? Dims{0, spec.pads_end[0]}
                       : Dims{spec.pads_end[0], spec.pads_end[1]};
  // oneDNN's plain-layout (GEMM) convolution is the faster one for 2-D
  // kernels with a window one wide along an axis (pointwise, 30 x 1,
  // 1 x 4); its blocked direct kernels win on 1-D, grouped and depthwise,
  // and k x k convolutions despite the two reorders (docs/performance.md).
  bool blocked = group > 1 || height == 1 || (win.kh > 1 && win.kw > 1);
  Tag layout = blocked ? Tag::any : Tag::nchw;
  try {
    OneThread one;
    dnnl::memory::desc src_md(src_dims, kF32, layout);
    dnnl::memory::desc dst_md(dst_dims, kF32, layout);
    dnnl::memory::desc weight_md(weight_dims, kF32, Tag::any);
    dnnl::memory::desc bias_md({filters}, kF32, Tag::a);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (activation) {
      const Instruction::Activation &a = activation->activation();
      dnnl::post_ops ops;
      if (a.kind() == Instruction::Activation::RELU)
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      else
        ops.append_eltwise(
            1.0f, dnnl::algorithm::eltwise_clip,
            a.has_min() ? a.min() : -std::numeric_limits<float>::infinity(),
            a.has_max() ? a.max() : std::numeric_limits<float>::infinity());
      attr.set_post_ops(ops);
    }
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        src_md, weight_md, bias_md, dst_md, strides, dilations, pad_begin,
        pad_end);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, Engine());
    plan->conv = dnnl::convolution_forward(pd);
    plan->src = dnnl::memory::desc(src_dims, kF32, Tag::nchw);
    plan->dst = dnnl::memory::desc(dst_dims, kF32, Tag::nchw);
    plan->library_src = pd.src_desc();
    plan->library_dst = pd.dst_desc();
    plan->scratchpad = pd.scratchpad_desc();
    // A reorder between two layouts when they differ; false for one that
    // would need a scratchpad (executions share the reorder).
    auto reorder = [](const dnnl::memory::desc &from,
                      const dnnl::memory::desc &to,
                      std::optional<dnnl::reorder> &into) {
      if (from == to)
        return true;
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::reorder::primitive_desc r(Engine(), from, Engine(), to, attr);
      if (r.scratchpad_desc().get_size() != 0)
        return false;
      into = dnnl::reorder(r);
      return true;
    };
    if (!reorder(plan->src, plan->library_src, plan->to_library) ||
        !reorder(plan->library_dst, plan->dst, plan->from_library))
      return nullptr;
    dnnl::memory user_weights(
        {weight_dims, kF32, group > 1 ? Tag::goihw : Tag::oihw}, Engine(),
        weights.data());
    plan->weights = dnnl::memory(pd.weights_desc(), Engine());
    dnnl::stream &stream = Stream();
    dnnl::reorder(user_weights, plan->weights)
        .execute(stream, user_weights, plan->weights);
    plan->bias = dnnl::memory(bias_md, Engine());
    std::copy(bias.begin(), bias.end(),
              static_cast<float *>(plan->bias.get_data_handle()));
    stream.wait();
  } catch (const dnnl::error &) {
    return nullptr; // the reference kernel runs it
  }
  return plan;
}

} // namespace

void RunConv(KernelContext &ctx, const ConvPlan &plan) {
  const auto &x = ctx.Real(0);
  auto &y = ctx.NewRealToOverwrite();
  Scratch &scratch = ThreadScratch();
  OneThread one;
  const dnnl::engine &engine = Engine();
  dnnl::stream &stream = Stream();
  dnnl::memory src(plan.src, engine, const_cast<float *>(x.data()));
  dnnl::memory dst(plan.dst, engine, y.data());
  dnnl::memory library_src = src, library_dst = dst;
  if (plan.to_library) {
    library_src = dnnl::memory(plan.library_src, engine,
                               Sized(scratch.src, plan.library_src.get_size()));
    plan.to_library->execute(stream, src, library_src);
  }
  if (plan.from_library)
    library_dst = dnnl::memory(plan.library_dst, engine,
                               Sized(scratch.dst, plan.library_dst.get_size()));
  dnnl::memory pad(plan.scratchpad, engine,
                   Sized(scratch.pad, plan.scratchpad.get_size()));
  plan.conv.execute(stream, {{DNNL_ARG_SRC, library_src},
                             {DNNL_ARG_WEIGHTS, plan.weights},
                             {DNNL_ARG_BIAS, plan.bias},
                             {DNNL_ARG_DST, library_dst},
                             {DNNL_ARG_SCRATCHPAD, pad}});
  if (plan.from_library)
    plan.from_library->execute(stream, library_dst, dst);
  stream.wait();
  ctx.AddDigitalMacs(plan.macs);
  ctx.AddDigitalOps(plan.absorbed_ops);
}

void Sgemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
           float alpha, const float *a, int64_t lda, const float *b,
           int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    for (int64_t r = 0; r < m; ++r)
      for (int64_t col = 0; col < n; ++col)
        c[r * ldc + col] = beta == 0 ? 0.0f : beta * c[r * ldc + col];
    return;
  }
  OneThread one;
  dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, alpha,
             a, lda, b, ldb, beta, c, ldc);
}

Plans PlanRealKernels(const Program &program,
                      const std::vector<std::vector<float>> &constants,
                      const std::vector<bool> &tiled, int first_array_read,
                      std::vector<bool> &replaced) {
  int count = program.instructions_size();
  Plans plans(count);
  // How many times each buffer is read, and by which instruction last.
  std::vector<int> readers(program.buffers_size(), 0);
  std::vector<int> reader(program.buffers_size(), -1);
  for (int i = 0; i < count; ++i)
    for (uint32_t input : program.instructions(i).inputs()) {
      ++readers[input];
      reader[input] = i;
    }
  for (const TensorBinding &output : program.outputs())
    ++readers[output.buffer()];
  for (const hafnia::TiledLayer &layer : program.tiled_layers())
    ++readers[layer.source()];
  // The instruction that alone reads `buffer` as its first operand, on the
  // same side of the first array read as instruction `i`; or -1.
  auto sole_reader = [&](uint32_t buffer, int i) {
    int j = reader[buffer];
    if (readers[buffer] != 1 || j < 0 || replaced[j] || tiled[j] ||
        (i < first_array_read) != (j < first_array_read))
      return -1;
    const Instruction &next = program.instructions(j);
    for (int k = 1; k < next.inputs_size(); ++k)
      if (next.inputs(k) == buffer)
        return -1;
    return next.inputs(0) == buffer ? j : -1;
  };
  for (int i = 0; i < count; ++i) {
    if (replaced[i] || tiled[i])
      continue;
    const Instruction &instruction = program.instructions(i);
    if (instruction.has_conv()) {
      bool constant = true;
      for (int k = 1; k < instruction.inputs_size(); ++k)
        constant =
            constant && IsConstant(constants, program, instruction.inputs(k));
      if (!constant)
        continue;
      const Instruction *bn = nullptr, *activation = nullptr;
      int bn_index = -1, activation_index = -1;
      uint32_t last = instruction.output();
      int j = sole_reader(last, i);
      if (j >= 0 && program.instructions(j).has_batch_norm() &&
          BatchNormIsConstant(program.instructions(j), program, constants)) {
        bn_index = j;
        bn = &program.instructions(j);
        last = bn->output();
      }
      j = sole_reader(last, i);
      if (j >= 0 && program.instructions(j).has_activation()) {
        auto kind = program.instructions(j).activation().kind();
        if (kind == Instruction::Activation::RELU ||
            kind == Instruction::Activation::CLIP) {
          activation_index = j;
          activation = &program.instructions(j);
        }
      }
      std::shared_ptr<ConvPlan> plan =
          MakeConvPlan(program, instruction, bn, activation, constants);
      if (!plan)
        continue;
      for (int absorbed : {bn_index, activation_index})
        if (absorbed >= 0) {
          plan->absorbed.push_back(absorbed);
          replaced[absorbed] = true;
        }
      plans[i] = std::move(plan);
    } else if (instruction.has_batch_norm() &&
               BatchNormIsConstant(instruction, program, constants)) {
      auto plan = std::make_shared<BatchNormPlan>();
      plan->output = instruction.output();
      FoldBatchNorm(instruction, constants, plan->scale, plan->shift);
      plans[i] = std::move(plan);
    }
  }
  return plans;
}

} // namespace kernels
} // namespace hafnia
