// Plans of the real kernels: convolutions on oneDNN (with a following batch
// norm folded into the weights and bias, and a ReLU or Clip after it run as
// the primitive's post-op; pointwise ones on few positions on the project's
// kernel, PointwiseConv.cpp), batch norms as a per-channel scale and
// shift.
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
  std::vector<float> src, dst, columns;
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

// A reorder between two layouts, or none when they are the same; false for
// one that would need a scratchpad (executions share the reorder).
bool MakeReorder(const dnnl::memory::desc &from, const dnnl::memory::desc &to,
                 std::optional<dnnl::reorder> &into) {
  into.reset();
  if (from == to)
    return true;
  try {
    OneThread one;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::reorder::primitive_desc r(Engine(), from, Engine(), to, attr);
    if (r.scratchpad_desc().get_size() != 0)
      return false;
    into = dnnl::reorder(r);
  } catch (const dnnl::error &) {
    return false;
  }
  return true;
}

// oneDNN's reference implementations are orders of magnitude slower than
// its optimized ones (and than the plain kernels): a primitive that only
// has one is not used.
bool IsReference(const dnnl::primitive_desc_base &pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

// The format tag of a layout, among those oneDNN's kernels for f32 write;
// `fallback` when it is none of them.
Tag FormatOf(const dnnl::memory::desc &layout, Tag fallback) {
  for (Tag tag : {Tag::nChw16c, Tag::nChw8c, Tag::nhwc, Tag::nchw})
    if (layout == dnnl::memory::desc(layout.dims(), kF32, tag))
      return tag;
  return fallback;
}

// Fills the descriptions a plan shares, its input and output in the
// program's layout until PlanRealKernels chains it; false when a reorder
// is missing.
bool SetLayouts(LibraryPlan &plan, const dnnl::primitive_desc &pd,
                const dnnl::memory::desc &library_src, const Dims &src_dims,
                const Dims &dst_dims) {
  plan.primitive_src = pd.src_desc();
  plan.library_src = library_src;
  plan.library_dst = pd.dst_desc();
  plan.scratchpad = pd.scratchpad_desc();
  plan.input_layout = dnnl::memory::desc(src_dims, kF32, Tag::nchw);
  plan.output_layout = dnnl::memory::desc(dst_dims, kF32, Tag::nchw);
  return MakeReorder(plan.input_layout, plan.library_src, plan.to_library) &&
         MakeReorder(plan.library_dst, plan.output_layout, plan.from_library);
}

// The weights ([filter, channel, kh, kw]) and bias of `conv` with the batch
// norm `bn` (or null) folded in.
void FoldedWeights(const Instruction &conv, const Instruction *bn,
                   const std::vector<std::vector<float>> &constants,
                   int64_t filters, std::vector<float> &weights,
                   std::vector<float> &bias) {
  weights = constants[conv.inputs(1)];
  bias.assign(filters, 0.0f);
  if (conv.inputs_size() == 3)
    bias = constants[conv.inputs(2)];
  if (!bn)
    return;
  std::vector<float> scale, shift;
  FoldBatchNorm(*bn, constants, scale, shift);
  int64_t taps = static_cast<int64_t>(weights.size()) / filters;
  for (int64_t m = 0; m < filters; ++m) {
    for (int64_t t = 0; t < taps; ++t)
      weights[m * taps + t] *= scale[m];
    bias[m] = bias[m] * scale[m] + shift[m];
  }
}

// Whether the plan of a 2-D convolution folds its width into its channels
// (MakeConvPlan), reading NHWC: a window as wide as the input and unpadded
// along it, one output column.
bool FoldsWidth(const Program &program, const Instruction &conv) {
  Shape xs = ShapeOf(program.buffers(conv.inputs(0)));
  Shape ys = ShapeOf(program.buffers(conv.output()));
  if (xs.size() != 4 || ys.size() != 4)
    return false;
  WindowSpec spec = ResolveWindow(conv.conv().window(), 2);
  Window2D win = To2D(spec);
  int64_t width = xs[3];
  return conv.conv().group() == 1 && width > 1 && win.kw == width &&
         win.dw == 1 && win.pw == 0 && spec.pads_end.back() == 0 && ys[3] == 1;
}

// The activation a plan absorbs, as oneDNN's post-op or the GEMM's pass:
// ReLU, Clip to [low, high], or the Sigmoid of a SiLU (x * sigmoid(x), whose
// Mul the plan absorbs too: oneDNN's swish). [low, high] is also the clamp
// a ReLU or Clip is: [0, inf] for ReLU.
struct Absorbed {
  bool relu, swish;
  float low, high;
};
Absorbed AbsorbedActivation(const Instruction &activation) {
  const Instruction::Activation &a = activation.activation();
  bool relu = a.kind() == Instruction::Activation::RELU;
  return {relu, a.kind() == Instruction::Activation::SIGMOID,
          relu          ? 0.0f
          : a.has_min() ? a.min()
                        : -std::numeric_limits<float>::infinity(),
          a.has_max() ? a.max() : std::numeric_limits<float>::infinity()};
}

// The convolution `conv` (absorbing `bn` and `activation`, either may be
// null) as im2col and sgemm writing NHWC; null when its columns would not
// fit a bounded scratch.
std::shared_ptr<GemmConvPlan>
MakeGemmConvPlan(const Program &program, const Instruction &conv,
                 const Instruction *bn, const Instruction *activation,
                 const std::vector<std::vector<float>> &constants) {
  Shape xs = ShapeOf(program.buffers(conv.inputs(0)));
  Shape ys = ShapeOf(program.buffers(conv.output()));
  if ((xs.size() != 3 && xs.size() != 4) || conv.conv().group() != 1 ||
      NumElements(xs) == 0 || NumElements(ys) == 0 ||
      (activation && AbsorbedActivation(*activation).swish))
    return nullptr;
  auto plan = std::make_shared<GemmConvPlan>();
  auto [n_size, channels, height, width] = To4D(xs);
  auto [unused, filters, out_h, out_w] = To4D(ys);
  plan->n_size = n_size;
  plan->channels = channels;
  plan->height = height;
  plan->width = width;
  plan->filters = filters;
  plan->out_h = out_h;
  plan->out_w = out_w;
  plan->window = To2D(ResolveWindow(conv.conv().window(), xs.size() - 2));
  const Window2D &win = plan->window;
  int64_t taps = plan->channels * win.kh * win.kw;
  int64_t rows = plan->n_size * plan->out_h * plan->out_w;
  constexpr int64_t kMaxColumnBytes = int64_t{64} << 20;
  if (rows * taps * static_cast<int64_t>(sizeof(float)) > kMaxColumnBytes)
    return nullptr;
  std::vector<float> weights;
  FoldedWeights(conv, bn, constants, plan->filters, weights, plan->bias);
  plan->weights.resize(weights.size());
  for (int64_t m = 0; m < plan->filters; ++m)
    for (int64_t t = 0; t < taps; ++t)
      plan->weights[t * plan->filters + m] = weights[m * taps + t];
  if (activation) {
    Absorbed a = AbsorbedActivation(*activation);
    plan->activation = a.relu ? GemmConvPlan::Activation::kRelu
                              : GemmConvPlan::Activation::kClip;
    plan->low = a.low;
    plan->high = a.high;
  }
  plan->output = activation ? activation->output()
                 : bn       ? bn->output()
                            : conv.output();
  plan->macs =
      ConvMacs(plan->n_size, plan->filters, plan->channels, plan->out_h,
               plan->out_w, plan->height, plan->width, win);
  plan->ops = NumElements(ys) * ((bn ? 1 : 0) + (activation ? 1 : 0));
  Dims src_dims{plan->n_size, plan->channels, plan->height, plan->width};
  Dims dst_dims{plan->n_size, plan->filters, plan->out_h, plan->out_w};
  plan->input_layout = dnnl::memory::desc(src_dims, kF32, Tag::nchw);
  plan->primitive_src = plan->library_src = plan->input_layout;
  plan->output_layout = dnnl::memory::desc(dst_dims, kF32, Tag::nchw);
  plan->library_dst = dnnl::memory::desc(dst_dims, kF32, Tag::nhwc);
  if (!MakeReorder(plan->library_dst, plan->output_layout, plan->from_library))
    return nullptr;
  return plan;
}

// A oneDNN convolution for `conv`, absorbing `bn`, `activation` and, when
// the activation is a SiLU's Sigmoid, the SiLU's Mul `silu_mul` (any may be
// null); null when the library cannot run it. `chained`: its input
// or its output is another plan's, kept in the library's layout between
// the two; `input` is then the layout its producer writes (or null).
std::shared_ptr<LibraryPlan>
MakeConvPlan(const Program &program, const Instruction &conv,
             const Instruction *bn, const Instruction *activation,
             const Instruction *silu_mul,
             const std::vector<std::vector<float>> &constants, bool chained,
             const dnnl::memory::desc *input) {
  Shape xs = ShapeOf(program.buffers(conv.inputs(0)));
  Shape ys = ShapeOf(program.buffers(conv.output()));
  if (xs.size() != 3 && xs.size() != 4)
    return nullptr;
  auto [n_size, channels, height, width] = To4D(xs);
  auto [unused, filters, out_h, out_w] = To4D(ys);
  WindowSpec spec = ResolveWindow(conv.conv().window(), xs.size() - 2);
  Window2D win = To2D(spec);
  int64_t group = conv.conv().group();
  int64_t group_channels = channels / group, group_filters = filters / group;
  if (NumElements(xs) == 0 || NumElements(ys) == 0)
    return nullptr;
  bool one_d = spec.kernel.size() == 1;
  int64_t pad_end_h = one_d ? 0 : spec.pads_end[0];
  int64_t pad_end_w = spec.pads_end.back();

  std::vector<float> weights, bias;
  FoldedWeights(conv, bn, constants, filters, weights, bias);

  auto plan = std::make_shared<ConvPlan>();
  plan->output = silu_mul     ? silu_mul->output()
                 : activation ? activation->output()
                 : bn         ? bn->output()
                              : conv.output();
  plan->macs = ConvMacs(n_size, filters, group_channels, out_h, out_w, height,
                        width, win);
  plan->ops = NumElements(ys) *
              ((bn ? 1 : 0) + (activation ? 1 : 0) + (silu_mul ? 1 : 0));

  Dims src_dims{n_size, channels, height, width};
  Dims dst_dims{n_size, filters, out_h, out_w};
  // A window as wide as the input and unpadded along it (EEG's 1 x 4 over
  // a width of 4) is a kh x 1 convolution of the width folded into the
  // channels, on the input in NHWC: channel w * C + c of the folded input
  // is channel c at column w. The library's kernels for a window over the
  // whole width are many times slower.
  bool fold_width = FoldsWidth(program, conv);
  // Which layouts the primitive reads and writes, by a fixed rule (never a
  // timing, so that results are reproducible; docs/performance.md has the
  // measurements behind it). oneDNN's blocked direct kernels (its choice of
  // layout, Tag::any) are the faster ones in a chain, which keeps values in
  // their layout, and for 1-D, grouped, depthwise and k x k convolutions
  // despite the two reorders of a convolution alone; for one alone with a
  // 2-D window one wide along an axis (pointwise, 30 x 1) its plain-layout
  // (GEMM) kernel is. In a chain, a convolution reads what its producer
  // writes as it is, and writes the same format, when the library has a
  // kernel for it (so a chain has no reorder, but where a kernel needs
  // another layout, as a folded width does); an input of fewer channels
  // than a SIMD block in the program's layout is read as it is (the
  // library's direct kernels for first layers, which write its blocked
  // format).
  bool blocked =
      chained || group > 1 || height == 1 || (win.kh > 1 && win.kw > 1);
  struct Choice {
    bool fold;
    dnnl::memory::desc src;
    Tag dst;
  };
  auto plain = [&](Tag tag) { return dnnl::memory::desc(src_dims, kF32, tag); };
  std::vector<Choice> choices;
  if (fold_width)
    choices.push_back({true,
                       dnnl::memory::desc({n_size, width * channels, height, 1},
                                          kF32, Tag::nhwc),
                       Tag::any});
  if (blocked && input) {
    choices.push_back({false, *input, FormatOf(*input, Tag::any)});
    choices.push_back({false, *input, Tag::any});
  }
  if (blocked && !input && channels < 16)
    choices.push_back({false, plain(Tag::nchw), Tag::any});
  if (blocked)
    choices.push_back({false, plain(Tag::any), Tag::any});
  choices.push_back({false, plain(Tag::nchw), Tag::nchw});

  try {
    OneThread one;
    dnnl::memory::desc bias_md({filters}, kF32, Tag::a);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (activation) {
      Absorbed a = AbsorbedActivation(*activation);
      dnnl::post_ops ops;
      if (a.relu)
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      else if (a.swish)
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
      else
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, a.low, a.high);
      attr.set_post_ops(ops);
    }
    for (const Choice &choice : choices) {
      Dims weight_dims =
          choice.fold ? Dims{filters, width * channels, win.kh, 1}
          : group > 1
              ? Dims{group, group_filters, group_channels, win.kh, win.kw}
              : Dims{filters, channels, win.kh, win.kw};
      dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference,
          dnnl::algorithm::convolution_direct, choice.src,
          dnnl::memory::desc(weight_dims, kF32, Tag::any), bias_md,
          dnnl::memory::desc(dst_dims, kF32, choice.dst),
          choice.fold ? Dims{win.sh, 1} : Dims{win.sh, win.sw},
          choice.fold ? Dims{win.dh - 1, 0} : Dims{win.dh - 1, win.dw - 1},
          choice.fold ? Dims{win.ph, 0} : Dims{win.ph, win.pw},
          choice.fold ? Dims{pad_end_h, 0} : Dims{pad_end_h, pad_end_w});
      dnnl::convolution_forward::primitive_desc pd(desc, attr, Engine(), true);
      if (!pd || IsReference(pd))
        continue;
      if (!SetLayouts(*plan, pd, choice.fold ? plain(Tag::nhwc) : pd.src_desc(),
                      src_dims, dst_dims))
        continue;
      // The project's kernel where its conditions hold (PointwiseConvPlan).
      if (!choice.fold && !silu_mul && group == 1 && win.kh == 1 &&
          win.kw == 1 && win.sh == 1 && win.sw == 1 && win.ph == 0 &&
          win.pw == 0 && pad_end_h == 0 && pad_end_w == 0 &&
          channels % 16 == 0 && filters % 16 == 0 &&
          n_size * out_h * out_w <= kPointwisePositions &&
          pd.src_desc() == dnnl::memory::desc(src_dims, kF32, Tag::nChw16c) &&
          pd.dst_desc() == dnnl::memory::desc(dst_dims, kF32, Tag::nChw16c) &&
          HostRunsPointwiseConv()) {
        auto pointwise = std::make_shared<PointwiseConvPlan>();
        static_cast<LibraryPlan &>(*pointwise) = *plan;
        pointwise->n_size = n_size;
        pointwise->channels = channels;
        pointwise->filters = filters;
        pointwise->positions = out_h * out_w;
        pointwise->low = -std::numeric_limits<float>::infinity();
        pointwise->high = std::numeric_limits<float>::infinity();
        if (activation) {
          Absorbed a = AbsorbedActivation(*activation);
          pointwise->low = a.low;
          pointwise->high = a.high;
        }
        if (PackPointwiseWeights(weights, bias, *pointwise))
          return pointwise;
      }
      plan->primitive = dnnl::convolution_forward(pd);
      std::vector<float> user = weights;
      if (choice.fold)
        for (int64_t m = 0; m < filters; ++m)
          for (int64_t c = 0; c < channels; ++c)
            for (int64_t kh = 0; kh < win.kh; ++kh)
              for (int64_t w = 0; w < width; ++w)
                user[((m * width + w) * channels + c) * win.kh + kh] =
                    weights[((m * channels + c) * win.kh + kh) * width + w];
      dnnl::memory user_weights(
          {weight_dims, kF32, group > 1 ? Tag::goihw : Tag::oihw}, Engine(),
          user.data());
      plan->weights = dnnl::memory(pd.weights_desc(), Engine());
      dnnl::stream &stream = Stream();
      dnnl::reorder(user_weights, plan->weights)
          .execute(stream, user_weights, plan->weights);
      plan->bias = dnnl::memory(bias_md, Engine());
      std::copy(bias.begin(), bias.end(),
                static_cast<float *>(plan->bias.get_data_handle()));
      stream.wait();
      return plan;
    }
  } catch (const dnnl::error &) {
  }
  return nullptr; // the reference kernel runs it
}

// A oneDNN pooling for `pool`, reading `input`, the layout of its
// producer; null when the library cannot compute what the plain kernel
// does.
std::shared_ptr<PoolPlan> MakePoolPlan(const Program &program,
                                       const Instruction &pool,
                                       const dnnl::memory::desc &input) {
  using Kind = Instruction::Pool;
  const Instruction::Pool &attrs = pool.pool();
  Shape xs = ShapeOf(program.buffers(pool.inputs(0)));
  Shape ys = ShapeOf(program.buffers(pool.output()));
  if ((xs.size() != 3 && xs.size() != 4) || NumElements(ys) == 0)
    return nullptr;
  auto [n_size, channels, height, width] = To4D(xs);
  auto [unused_n, unused_c, out_h, out_w] = To4D(ys);
  bool global =
      attrs.kind() == Kind::GLOBAL_AVERAGE || attrs.kind() == Kind::GLOBAL_MAX;
  bool max = attrs.kind() == Kind::MAX || attrs.kind() == Kind::GLOBAL_MAX;
  if (!global && attrs.kind() != Kind::MAX && attrs.kind() != Kind::AVERAGE)
    return nullptr;
  Window2D win{height, width, 1, 1, 0, 0, 1, 1};
  int64_t end_h = 0, end_w = 0;
  if (!global) {
    WindowSpec spec = ResolveWindow(attrs.window(), xs.size() - 2);
    win = To2D(spec);
    end_h = spec.kernel.size() == 1 ? 0 : spec.pads_end[0];
    end_w = spec.pads_end.back();
  }
  // The padding after the input that gives the program's output size: the
  // explicit pads, and a ceil mode's overhang. The overhang does not count
  // as padding for count_include_pad, as it does in oneDNN.
  auto pad_after = [](int64_t in, int64_t out, int64_t k, int64_t s, int64_t d,
                      int64_t begin, int64_t end) -> int64_t {
    int64_t extent = (k - 1) * d + 1;
    for (int64_t pad = end; pad < end + s; ++pad)
      if (in + begin + pad >= extent &&
          (in + begin + pad - extent) / s + 1 == out)
        return pad;
    return -1;
  };
  int64_t after_h =
      pad_after(height, out_h, win.kh, win.sh, win.dh, win.ph, end_h);
  int64_t after_w =
      pad_after(width, out_w, win.kw, win.sw, win.dw, win.pw, end_w);
  // A window with no tap on the input has nothing to average or take the
  // maximum of (the plain kernel's 0 / 0 and -infinity): not planned.
  auto all_windows_read = [](int64_t in, int64_t out, int64_t k, int64_t s,
                             int64_t d, int64_t begin) {
    for (int64_t o = 0; o < out; ++o) {
      bool reads = false;
      for (int64_t t = 0; t < k && !reads; ++t) {
        int64_t at = o * s + t * d - begin;
        reads = at >= 0 && at < in;
      }
      if (!reads)
        return false;
    }
    return true;
  };
  if (after_h < 0 || after_w < 0 ||
      !all_windows_read(height, out_h, win.kh, win.sh, win.dh, win.ph) ||
      !all_windows_read(width, out_w, win.kw, win.sw, win.dw, win.pw))
    return nullptr;
  bool include_pad = !global && !max && attrs.count_include_pad();
  if (include_pad && (after_h != end_h || after_w != end_w))
    return nullptr;
  auto plan = std::make_shared<PoolPlan>();
  plan->output = pool.output();
  plan->ops = global ? NumElements(xs) : NumElements(ys) * win.kh * win.kw;
  Dims src_dims{n_size, channels, height, width};
  Dims dst_dims{n_size, channels, out_h, out_w};
  try {
    OneThread one;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_v2_forward::desc desc(
        dnnl::prop_kind::forward_inference,
        max           ? dnnl::algorithm::pooling_max
        : include_pad ? dnnl::algorithm::pooling_avg_include_padding
                      : dnnl::algorithm::pooling_avg_exclude_padding,
        input, dnnl::memory::desc(dst_dims, kF32, FormatOf(input, Tag::any)),
        Dims{win.sh, win.sw}, Dims{win.kh, win.kw},
        Dims{win.dh - 1, win.dw - 1}, Dims{win.ph, win.pw},
        Dims{after_h, after_w});
    dnnl::pooling_v2_forward::primitive_desc pd(desc, attr, Engine(), true);
    if (!pd || IsReference(pd) ||
        !SetLayouts(*plan, pd, pd.src_desc(), src_dims, dst_dims))
      return nullptr;
    plan->primitive = dnnl::pooling_v2_forward(pd);
  } catch (const dnnl::error &) {
    return nullptr;
  }
  return plan;
}

// y = activation(y + bias[filter]) over `rows` rows of NHWC. Cloned for
// AVX-512 and AVX2 (GCC function multiversioning picks the host's at load
// time): the pass is a quarter of the convolution's time with SSE2 alone.
__attribute__((target_clones("avx512f", "avx2", "default"))) void
AddBiasAndActivation(const GemmConvPlan &plan, int64_t rows, float *dst) {
  const float *bias = plan.bias.data();
  const int64_t filters = plan.filters;
  const float low = plan.low, high = plan.high;
  for (int64_t r = 0; r < rows; ++r, dst += filters)
    switch (plan.activation) {
    case GemmConvPlan::Activation::kNone:
      for (int64_t m = 0; m < filters; ++m)
        dst[m] += bias[m];
      break;
    case GemmConvPlan::Activation::kRelu:
      for (int64_t m = 0; m < filters; ++m)
        dst[m] = std::max(dst[m] + bias[m], 0.0f);
      break;
    case GemmConvPlan::Activation::kClip:
      for (int64_t m = 0; m < filters; ++m)
        dst[m] = std::min(std::max(dst[m] + bias[m], low), high);
      break;
    }
}

} // namespace

void RunLibraryPlan(KernelContext &ctx, const LibraryPlan &plan) {
  const auto &x = ctx.Real(0);
  auto &y = ctx.NewRealToOverwrite(plan.output_size);
  Scratch &scratch = ThreadScratch();
  OneThread one;
  const dnnl::engine &engine = Engine();
  dnnl::stream &stream = Stream();
  float *src =
      const_cast<float *>(plan.link_input ? LinkData(x.data()) : x.data());
  if (plan.to_library) {
    dnnl::memory from(plan.input_layout, engine, src);
    src = Sized(scratch.src, plan.library_src.get_size());
    dnnl::memory to(plan.library_src, engine, src);
    plan.to_library->execute(stream, from, to);
  }
  float *dst = plan.from_library
                   ? Sized(scratch.dst, plan.library_dst.get_size())
               : plan.link_output ? LinkData(y.data())
                                  : y.data();
  dnnl::memory library_dst(plan.library_dst, engine, dst);
  if (const auto *gemm = dynamic_cast<const GemmConvPlan *>(&plan)) {
    RunGemmConv(*gemm, src, dst, scratch.columns);
  } else if (const auto *pointwise =
                 dynamic_cast<const PointwiseConvPlan *>(&plan)) {
    RunPointwiseConv(*pointwise, src, dst);
  } else {
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, dnnl::memory(plan.primitive_src, engine, src)},
        {DNNL_ARG_DST, library_dst},
        {DNNL_ARG_SCRATCHPAD,
         dnnl::memory(plan.scratchpad, engine,
                      Sized(scratch.pad, plan.scratchpad.get_size()))}};
    plan.AddArguments(args);
    plan.primitive.execute(stream, args);
  }
  if (plan.from_library) {
    dnnl::memory to(plan.output_layout, engine, y.data());
    plan.from_library->execute(stream, library_dst, to);
  }
  stream.wait();
  ctx.AddDigitalMacs(plan.macs);
  ctx.AddDigitalOps(plan.ops);
}

void RunEltwisePlan(const EltwisePlan &plan, const float *x, float *y) {
  OneThread one;
  const dnnl::engine &engine = Engine();
  dnnl::stream &stream = Stream();
  plan.primitive.execute(
      stream, {{DNNL_ARG_SRC,
                dnnl::memory(plan.layout, engine, const_cast<float *>(x))},
               {DNNL_ARG_DST, dnnl::memory(plan.layout, engine, y)}});
  stream.wait();
}

void RunGemmConv(const GemmConvPlan &plan, const float *src, float *dst,
                 std::vector<float> &columns) {
  const Window2D &win = plan.window;
  int64_t taps = plan.channels * win.kh * win.kw;
  int64_t rows = plan.n_size * plan.out_h * plan.out_w;
  // The columns as a (channel, kh, kw) x (n, oh, ow) matrix: row (c, kh, kw)
  // holds the input under that tap at every output, zero on padding. Along
  // a row the copies are contiguous runs (one run of whole input rows for
  // a unit-stride window as wide as its output, as EEG's 30 x 1).
  const int64_t channels = plan.channels, height = plan.height,
                width = plan.width, out_h = plan.out_h, out_w = plan.out_w;
  float *column = Sized(columns, rows * taps * sizeof(float));
  float *out = column;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t kh = 0; kh < win.kh; ++kh) {
      auto [oh_first, oh_last] =
          WindowInsideOutputs(out_h, win.sh, kh * win.dh - win.ph, height);
      for (int64_t kw = 0; kw < win.kw; ++kw) {
        auto [ow_first, ow_last] =
            WindowInsideOutputs(out_w, win.sw, kw * win.dw - win.pw, width);
        bool whole_rows = win.sh == 1 && win.sw == 1 && out_w == width &&
                          kw * win.dw == win.pw;
        for (int64_t n = 0; n < plan.n_size; ++n) {
          const float *xc = src + (n * channels + c) * height * width;
          float *end = out + out_h * out_w;
          if (oh_last < oh_first || ow_last < ow_first) {
            std::fill(out, end, 0.0f);
            out = end;
            continue;
          }
          out = std::fill_n(out, oh_first * out_w, 0.0f);
          if (whole_rows) {
            const float *from =
                xc + WindowInput(oh_first, kh, 1, win.ph, win.dh) * width;
            out = std::copy(from, from + (oh_last - oh_first + 1) * width, out);
          } else {
            for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
              const float *xrow =
                  xc + WindowInput(oh, kh, win.sh, win.ph, win.dh) * width +
                  kw * win.dw - win.pw;
              out = std::fill_n(out, ow_first, 0.0f);
              for (int64_t ow = ow_first; ow <= ow_last; ++ow)
                *out++ = xrow[ow * win.sw];
              out = std::fill_n(out, out_w - 1 - ow_last, 0.0f);
            }
          }
          std::fill(out, end, 0.0f);
          out = end;
        }
      }
    }
  Sgemm(true, false, rows, plan.filters, taps, 1.0f, column, rows,
        plan.weights.data(), plan.filters, 0.0f, dst, plan.filters);
  AddBiasAndActivation(plan, rows, dst);
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
  // Who reads each buffer (an instruction once per operand; -1 for a
  // program output or a tiled layer's source).
  std::vector<std::vector<int>> readers(program.buffers_size());
  for (int i = 0; i < count; ++i)
    for (uint32_t input : program.instructions(i).inputs())
      readers[input].push_back(i);
  for (const TensorBinding &output : program.outputs())
    readers[output.buffer()].push_back(-1);
  for (const hafnia::TiledLayer &layer : program.tiled_layers())
    readers[layer.source()].push_back(-1);
  auto same_side = [&](int i, int j) {
    return (i < first_array_read) == (j < first_array_read);
  };
  // The instruction that alone reads `buffer`, as its first operand only,
  // on the same side of the first array read as instruction `i`; or -1.
  auto sole_reader = [&](uint32_t buffer, int i) {
    if (readers[buffer].size() != 1)
      return -1;
    int j = readers[buffer][0];
    if (j < 0 || replaced[j] || tiled[j] || !same_side(i, j))
      return -1;
    return program.instructions(j).inputs(0) == buffer ? j : -1;
  };

  // What may become a library plan: convolutions with constant weights
  // (each with the batch norm and the activation it absorbs), and the
  // poolings of their results. By instruction: the buffer it then writes.
  struct Candidate {
    int bn = -1, activation = -1, silu_mul = -1;
    uint32_t output = 0;
  };
  // The Sigmoid and the Mul of a SiLU of `buffer`, x * sigmoid(x) (its only
  // readers, each once, on the same side as instruction `i`); or -1, -1.
  auto silu = [&](uint32_t buffer, int i) -> std::pair<int, int> {
    const std::vector<int> &r = readers[buffer];
    if (r.size() != 2)
      return {-1, -1};
    for (int t = 0; t < 2; ++t) {
      int s = r[t], m = r[1 - t];
      if (s < 0 || m < 0 || s == m || replaced[s] || replaced[m] || tiled[s] ||
          tiled[m] || !same_side(i, s) || !same_side(i, m))
        continue;
      const Instruction &sigmoid = program.instructions(s);
      const Instruction &mul = program.instructions(m);
      if (!sigmoid.has_activation() ||
          sigmoid.activation().kind() != Instruction::Activation::SIGMOID ||
          !mul.has_elementwise() ||
          mul.elementwise().kind() != Instruction::Elementwise::MUL ||
          mul.inputs_size() != 2 ||
          readers[sigmoid.output()] != std::vector<int>{m} ||
          ShapeOf(program.buffers(mul.output())) !=
              ShapeOf(program.buffers(buffer)))
        continue;
      if ((mul.inputs(0) == buffer && mul.inputs(1) == sigmoid.output()) ||
          (mul.inputs(1) == buffer && mul.inputs(0) == sigmoid.output()))
        return {s, m};
    }
    return {-1, -1};
  };
  std::vector<std::optional<Candidate>> candidates(count);
  std::vector<int> producer(program.buffers_size(), -1);
  for (int i = 0; i < count; ++i) {
    const Instruction &instruction = program.instructions(i);
    if (replaced[i] || tiled[i])
      continue;
    Candidate c;
    c.output = instruction.output();
    if (instruction.has_pool()) {
      if (producer[instruction.inputs(0)] < 0)
        continue;
    } else if (instruction.has_conv()) {
      bool constant = true;
      for (int k = 1; k < instruction.inputs_size(); ++k)
        constant =
            constant && IsConstant(constants, program, instruction.inputs(k));
      if (!constant)
        continue;
      int j = sole_reader(c.output, i);
      if (j >= 0 && program.instructions(j).has_batch_norm() &&
          BatchNormIsConstant(program.instructions(j), program, constants)) {
        c.bn = j;
        c.output = program.instructions(j).output();
      }
      j = sole_reader(c.output, i);
      if (j >= 0 && program.instructions(j).has_activation()) {
        auto kind = program.instructions(j).activation().kind();
        if (kind == Instruction::Activation::RELU ||
            kind == Instruction::Activation::CLIP) {
          c.activation = j;
          c.output = program.instructions(j).output();
        }
      } else if (auto [sigmoid, mul] = silu(c.output, i); sigmoid >= 0) {
        c.activation = sigmoid;
        c.silu_mul = mul;
        c.output = program.instructions(mul).output();
      }
    } else {
      continue;
    }
    candidates[i] = c;
    producer[c.output] = i;
  }
  // A chain link: what instruction i writes only plans read (each once, as
  // its input, on the same side of the first array read); i then keeps it
  // in the library's layout for them.
  auto links = [&](int i, const auto &member) {
    const std::vector<int> &r = readers[candidates[i]->output];
    if (r.empty())
      return false;
    for (int j : r)
      if (j < 0 || !member(j) || !same_side(i, j) ||
          program.instructions(j).inputs(0) != candidates[i]->output ||
          std::count(r.begin(), r.end(), j) != 1)
        return false;
    return true;
  };
  std::vector<bool> links_out(count, false);
  for (int i = 0; i < count; ++i)
    links_out[i] = candidates[i] &&
                   links(i, [&](int j) { return candidates[j].has_value(); });

  // Convolutions whose readers all fold their width, reading NHWC.
  auto writes_nhwc = [&](int i) {
    if (!links_out[i] || !program.instructions(i).has_conv())
      return false;
    for (int j : readers[candidates[i]->output])
      if (!program.instructions(j).has_conv() ||
          !FoldsWidth(program, program.instructions(j)))
        return false;
    return true;
  };

  auto library_plan = [&](int j) -> LibraryPlan * {
    return j < 0 ? nullptr
                 : const_cast<LibraryPlan *>(
                       dynamic_cast<const LibraryPlan *>(plans[j].get()));
  };
  for (int i = 0; i < count; ++i) {
    if (!candidates[i])
      continue;
    const Instruction &instruction = program.instructions(i);
    const Candidate &c = *candidates[i];
    // The layout the producer writes, when it keeps it for its readers.
    int from = producer[instruction.inputs(0)];
    const LibraryPlan *source =
        from >= 0 && links_out[from] ? library_plan(from) : nullptr;
    std::shared_ptr<LibraryPlan> plan;
    if (instruction.has_pool()) {
      if (source)
        plan = MakePoolPlan(program, instruction, source->library_dst);
    } else {
      const Instruction *bn = c.bn >= 0 ? &program.instructions(c.bn) : nullptr;
      const Instruction *activation =
          c.activation >= 0 ? &program.instructions(c.activation) : nullptr;
      const Instruction *silu_mul =
          c.silu_mul >= 0 ? &program.instructions(c.silu_mul) : nullptr;
      if (!source && writes_nhwc(i))
        plan =
            MakeGemmConvPlan(program, instruction, bn, activation, constants);
      if (!plan)
        plan = MakeConvPlan(program, instruction, bn, activation, silu_mul,
                            constants, links_out[i] || source,
                            source ? &source->library_dst : nullptr);
    }
    if (!plan)
      continue;
    for (int absorbed : {c.bn, c.activation, c.silu_mul})
      if (absorbed >= 0) {
        plan->absorbed.push_back(absorbed);
        replaced[absorbed] = true;
      }
    plans[i] = std::move(plan);
  }
  std::vector<bool> linked(count, false);
  // The chains of the plans made: a producer's output stays in the layout
  // it writes, and its readers reorder from that into theirs when they
  // differ (or it is in the program's layout, if the library lacks such a
  // reorder).
  for (int i = 0; i < count; ++i) {
    LibraryPlan *plan = library_plan(i);
    if (!plan || !links(i, [&](int j) { return library_plan(j) != nullptr; }))
      continue;
    const std::vector<int> &r = readers[plan->output];
    std::vector<std::optional<dnnl::reorder>> to(r.size());
    bool direct = true;
    for (size_t k = 0; k < r.size(); ++k)
      direct = direct && MakeReorder(plan->library_dst,
                                     library_plan(r[k])->library_src, to[k]);
    if (!direct)
      continue;
    plan->output_layout = plan->library_dst;
    plan->from_library.reset();
    plan->link_output = true;
    linked[i] = true;
    for (size_t k = 0; k < r.size(); ++k) {
      library_plan(r[k])->input_layout = plan->library_dst;
      library_plan(r[k])->to_library = std::move(to[k]);
      library_plan(r[k])->link_input = true;
    }
  }
  // The values that only plans read (the links of chains) all take the
  // size of the largest of them, so that they share slots by lifetime
  // (SimulatorSetup.cpp shares slots of one type and size): a chain then
  // writes each value into a buffer it has just read, warm in the cache,
  // rather than into one buffer per size, cold (MobileNet's convolutions
  // take 8% less time so; docs/performance.md). A plan writes only the
  // front of such a buffer and its readers read only that, from its first
  // cache line boundary (LinkData).
  int64_t largest_link = 0;
  for (int i = 0; i < count; ++i)
    if (linked[i])
      largest_link = std::max<int64_t>(
          largest_link,
          library_plan(i)->output_layout.get_size() / sizeof(float));
  for (int i = 0; i < count; ++i)
    if (LibraryPlan *plan = library_plan(i))
      plan->output_size = linked[i]
                              ? largest_link + kLinkPad
                              : plan->output_layout.get_size() / sizeof(float);

  for (int i = 0; i < count; ++i) {
    const Instruction &instruction = program.instructions(i);
    if (replaced[i] || tiled[i] || plans[i] || !instruction.has_dense() ||
        instruction.inputs_size() < 2 ||
        constants[instruction.inputs(1)].empty())
      continue;
    const std::vector<float> &rhs = constants[instruction.inputs(1)];
    constexpr size_t kHugePage = size_t(2) << 20;
    size_t bytes = rhs.size() * sizeof(float);
    size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    auto *copy = static_cast<float *>(std::aligned_alloc(kHugePage, rounded));
    if (!copy)
      continue;
    auto plan = std::make_shared<DensePlan>();
    plan->output = instruction.output();
    plan->rhs.reset(copy);
    AdviseHugePages(copy, rounded);
    std::copy(rhs.begin(), rhs.end(), copy);
    plans[i] = std::move(plan);
  }
  // Sigmoids and tanhs on oneDNN's vectorized kernels (EltwisePlan).
  for (int i = 0; i < count; ++i) {
    const Instruction &instruction = program.instructions(i);
    if (replaced[i] || tiled[i] || plans[i] || !instruction.has_activation())
      continue;
    auto kind = instruction.activation().kind();
    if (kind != Instruction::Activation::SIGMOID &&
        kind != Instruction::Activation::TANH)
      continue;
    int64_t elements =
        NumElements(ShapeOf(program.buffers(instruction.output())));
    if (elements == 0)
      continue;
    try {
      OneThread one;
      auto plan = std::make_shared<EltwisePlan>();
      plan->output = instruction.output();
      plan->layout = dnnl::memory::desc({elements}, kF32, Tag::a);
      dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference,
                                       kind == Instruction::Activation::SIGMOID
                                           ? dnnl::algorithm::eltwise_logistic
                                           : dnnl::algorithm::eltwise_tanh,
                                       plan->layout, 0.0f, 0.0f);
      dnnl::eltwise_forward::primitive_desc pd(desc, Engine(), true);
      if (!pd || IsReference(pd))
        continue;
      plan->primitive = dnnl::eltwise_forward(pd);
      plans[i] = std::move(plan);
    } catch (const dnnl::error &) {
    }
  }
  for (int i = 0; i < count; ++i) {
    const Instruction &instruction = program.instructions(i);
    if (!replaced[i] && !tiled[i] && !plans[i] &&
        instruction.has_batch_norm() &&
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
