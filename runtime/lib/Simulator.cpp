// The chip simulator. Real-valued layers run on the digital core in f32, as
// ONNX defines them; binary layers run as the arrays do: XNOR of a word line
// with an input slice in the sense amplifiers, popcount per row, partial
// popcounts summed digitally. Every kernel trusts ValidateProgram for its
// shapes and indices.

#include "hafnia/runtime/Simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"

namespace hafnia {

int64_t XnorPopcount(const uint64_t *row, const uint64_t *input, int64_t words,
                     int64_t columns) {
  // Unused high bits are zero on both sides, so XOR leaves them zero.
  int64_t disagreements = 0;
  for (int64_t w = 0; w < words; ++w)
    disagreements += __builtin_popcountll(row[w] ^ input[w]);
  return columns - disagreements;
}

void AddStats(SimulationStats &total, const SimulationStats &add) {
  const google::protobuf::Descriptor *descriptor = total.GetDescriptor();
  const google::protobuf::Reflection *reflection = total.GetReflection();
  for (int f = 0; f < descriptor->field_count(); ++f) {
    const google::protobuf::FieldDescriptor *field = descriptor->field(f);
    reflection->SetUInt64(&total, field,
                          reflection->GetUInt64(total, field) +
                              reflection->GetUInt64(add, field));
  }
}

// The values of one run, by slot: reals, bits or popcounts.
struct RunValues {
  std::vector<std::vector<float>> reals;
  std::vector<std::vector<uint8_t>> bits;
  std::vector<std::vector<int32_t>> counts;
};

class Simulator::Prefix {
public:
  RunValues values;
  SimulationStats stats;
};

namespace {

using Shape = std::vector<int64_t>;

// Row-major strides.
Shape Strides(const Shape &shape) {
  Shape strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

// Strides of `shape` broadcast to `result` (0 along broadcast axes).
Shape BroadcastStrides(const Shape &shape, const Shape &result) {
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

// The values of one run: each buffer holds reals, bits or popcounts.

// Views a 1-D or 2-D window as 2-D: 1-D axes get a leading axis of size 1.
struct Window2D {
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
};
Window2D To2D(const WindowSpec &spec) {
  if (spec.kernel.size() == 1)
    return {1, spec.kernel[0],     1, spec.strides[0],
            0, spec.pads_begin[0], 1, spec.dilations[0]};
  return {spec.kernel[0],    spec.kernel[1],     spec.strides[0],
          spec.strides[1],   spec.pads_begin[0], spec.pads_begin[1],
          spec.dilations[0], spec.dilations[1]};
}
// N, C, H, W of a 1-D (H = 1) or 2-D tensor shape.
std::array<int64_t, 4> To4D(const Shape &shape) {
  if (shape.size() == 3)
    return {shape[0], shape[1], 1, shape[2]};
  return {shape[0], shape[1], shape[2], shape[3]};
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

// ForEachChannel with the entry of a border table (channels x border
// positions) that applies to each element, or -1 away from the border.
template <typename Body>
void ForEachChannelWithBorder(
    const std::vector<int64_t> &shape,
    const google::protobuf::RepeatedField<int64_t> &positions, Body body) {
  // Most layers have no border: no table to build on every run.
  if (positions.empty())
    return ForEachChannel(
        shape, [&](int64_t e, int64_t c) { body(e, c, int64_t{-1}); });
  int64_t channels = shape[1];
  int64_t inner = NumElements(shape) / (shape[0] * channels);
  std::vector<int64_t> border(inner, -1);
  for (int b = 0; b < positions.size(); ++b)
    border[positions[b]] = b;
  int64_t e = 0, borders = positions.size();
  for (int64_t n = 0; n < shape[0]; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k = 0; k < inner; ++k, ++e)
        body(e, c, border[k] < 0 ? -1 : c * borders + border[k]);
}

class Execution {
public:
  Execution(const Program &program,
            const std::vector<Simulator::PackedArray> &arrays,
            const Simulator::ChipState *chip,
            const std::vector<std::vector<float>> &constants,
            const std::vector<std::vector<uint8_t>> &bit_constants,
            const std::vector<std::unique_ptr<Simulator::FusedLayer>> &fused,
            const std::vector<bool> &replaced,
            const std::vector<int64_t> &slots, int64_t slot_count,
            const RunValues *initial, SimulationStats &stats)
      : program_(program), arrays_(chip ? chip->arrays : arrays), chip_(chip),
        constants_(constants), bit_constants_(bit_constants), fused_(fused),
        replaced_(replaced), slots_(slots), stats_(stats) {
    size_t buffers = program.buffers_size();
    // Storage only for what is computed at run time: a layer computed on
    // whole rows leaves thousands of tile buffers without a slot.
    if (initial) {
      values_ = *initial;
    } else {
      values_.reals.resize(slot_count);
      values_.bits.resize(slot_count);
      values_.counts.resize(slot_count);
    }
  }

  void SetInput(uint32_t buffer, const std::vector<float> &data) {
    values_.reals[slots_[buffer]] = data;
  }
  // An output may be an input or a constant (an Identity at import).
  const std::vector<float> &Output(uint32_t buffer) const {
    return Real(buffer);
  }

  // Runs instructions [begin, end).
  void Run(int begin, int end) {
    for (int i = begin; i < end; ++i) {
      if (replaced_[i])
        continue;
      if (fused_[i])
        RunFused(i, *fused_[i]);
      else
        Execute(program_.instructions(i));
    }
  }
  RunValues &values() { return values_; }

private:
  const std::vector<float> &Real(uint32_t buffer) const {
    return slots_[buffer] < 0 ? constants_[buffer]
                              : values_.reals[slots_[buffer]];
  }
  const std::vector<uint8_t> &Bits(uint32_t buffer) const {
    return slots_[buffer] < 0 ? bit_constants_[buffer]
                              : values_.bits[slots_[buffer]];
  }
  Shape In(const Instruction &i, int k) const {
    return ShapeOf(program_.buffers(i.inputs(k)));
  }
  Shape Out(const Instruction &i) const {
    return ShapeOf(program_.buffers(i.output()));
  }
  std::vector<float> &NewReal(const Instruction &i) {
    auto &out = values_.reals[slots_[i.output()]];
    out.assign(NumElements(Out(i)), 0.0f);
    return out;
  }
  std::vector<uint8_t> &NewBits(const Instruction &i) {
    auto &out = values_.bits[slots_[i.output()]];
    out.assign(NumElements(Out(i)), 0);
    return out;
  }
  std::vector<int32_t> &NewCounts(const Instruction &i) {
    auto &out = values_.counts[slots_[i.output()]];
    out.assign(NumElements(Out(i)), 0);
    return out;
  }

  void Execute(const Instruction &i) {
    switch (i.op_case()) {
    case Instruction::kConv:
      return Conv(i);
    case Instruction::kDense:
      return Dense(i);
    case Instruction::kBatchNorm:
      return BatchNorm(i);
    case Instruction::kActivation:
      return Activation(i);
    case Instruction::kPool:
      return Pool(i);
    case Instruction::kSoftmax:
      return Softmax(i);
    case Instruction::kElementwise:
      return Elementwise(i);
    case Instruction::kReshape: {
      if (program_.buffers(i.output()).type() == BIT)
        NewBits(i) = Bits(i.inputs(0));
      else
        NewReal(i) = Real(i.inputs(0));
      return;
    }
    case Instruction::kBitMaxPool:
      return BitMaxPool(i);
    case Instruction::kTranspose:
      return Transpose(i);
    case Instruction::kConcat:
      return Concat(i);
    case Instruction::kPad:
      return Pad(i);
    case Instruction::kReduce:
      return Reduce(i);
    case Instruction::kLayerNorm:
      return LayerNorm(i);
    case Instruction::kSlice:
      return Slice(i);
    case Instruction::kGather:
      return Gather(i);
    case Instruction::kConvTranspose:
      return ConvTranspose(i);
    case Instruction::kResize:
      return Resize(i);
    case Instruction::kArgMax:
      return ArgMax(i);
    case Instruction::kHardmax:
      return Hardmax(i);
    case Instruction::kBinarize:
      return Binarize(i);
    case Instruction::kInputSlice:
      return InputSlice(i);
    case Instruction::kIm2Col:
      return Im2col(i);
    case Instruction::kXnorRead:
      return XnorRead(i);
    case Instruction::kAccumulate:
      return Accumulate(i);
    case Instruction::kCollect:
      return Collect(i);
    case Instruction::kThreshold:
      return Threshold(i);
    case Instruction::kPopcountAffine:
      return PopcountAffine(i);
    case Instruction::OP_NOT_SET:
      return; // refused by ValidateProgram
    }
  }

  void Conv(const Instruction &i) {
    const auto &x = Real(i.inputs(0));
    const auto &w = Real(i.inputs(1));
    const float *bias =
        i.inputs_size() == 3 ? Real(i.inputs(2)).data() : nullptr;
    auto [n_size, channels, height, width] = To4D(In(i, 0));
    auto [unused, filters, out_h, out_w] = To4D(Out(i));
    Shape weight_shape = In(i, 1);
    Window2D win =
        To2D(ResolveWindow(i.conv().window(), weight_shape.size() - 2));
    int64_t group = i.conv().group();
    int64_t group_channels = channels / group, group_filters = filters / group;
    auto &y = NewReal(i);
    uint64_t macs = 0;
    // Output positions ow whose input column lies inside the input, for a
    // kernel column kw: the loop over them is contiguous when the stride is
    // 1, and each output still sums its taps in (c, kh, kw) order.
    auto valid_range = [](int64_t out, int64_t stride, int64_t offset,
                          int64_t size) {
      int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
      int64_t last = size - offset <= 0 ? -1 : (size - 1 - offset) / stride;
      return std::make_pair(first, std::min(last, out - 1));
    };
    for (int64_t n = 0; n < n_size; ++n)
      for (int64_t m = 0; m < filters; ++m) {
        float *ym = y.data() + (n * filters + m) * out_h * out_w;
        std::fill(ym, ym + out_h * out_w, bias ? bias[m] : 0.0f);
        int64_t g = m / group_filters;
        for (int64_t c = 0; c < group_channels; ++c) {
          const float *xc = x.data() + (n * channels + g * group_channels + c) *
                                           height * width;
          const float *wc =
              w.data() + (m * group_channels + c) * win.kh * win.kw;
          for (int64_t kh = 0; kh < win.kh; ++kh) {
            auto [oh_first, oh_last] =
                valid_range(out_h, win.sh, kh * win.dh - win.ph, height);
            for (int64_t kw = 0; kw < win.kw; ++kw) {
              auto [ow_first, ow_last] =
                  valid_range(out_w, win.sw, kw * win.dw - win.pw, width);
              if (ow_last < ow_first)
                continue;
              float weight = wc[kh * win.kw + kw];
              for (int64_t oh = oh_first; oh <= oh_last; ++oh) {
                const float *xrow =
                    xc + (oh * win.sh - win.ph + kh * win.dh) * width +
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
    stats_.set_digital_macs(stats_.digital_macs() + macs);
  }

  // Each input element scatters into the output; every output element sums
  // its contributions in (input channel, input position, kernel tap) order,
  // whatever the thread count.
  void ConvTranspose(const Instruction &i) {
    const auto &x = Real(i.inputs(0));
    const auto &w = Real(i.inputs(1));
    const float *bias =
        i.inputs_size() == 3 ? Real(i.inputs(2)).data() : nullptr;
    auto [n_size, channels, height, width] = To4D(In(i, 0));
    auto [unused, filters, out_h, out_w] = To4D(Out(i));
    const Instruction::ConvTranspose &attrs = i.conv_transpose();
    Window2D win = To2D(ResolveWindow(attrs.window(), In(i, 1).size() - 2));
    int64_t group = attrs.group();
    int64_t group_channels = channels / group, group_filters = filters / group;
    auto &y = NewReal(i);
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
              int64_t oh = ih * win.sh - win.ph + kh * win.dh;
              if (oh < 0 || oh >= out_h)
                continue;
              for (int64_t iw = 0; iw < width; ++iw) {
                float xv = xc[ih * width + iw];
                for (int64_t kw = 0; kw < win.kw; ++kw) {
                  int64_t ow = iw * win.sw - win.pw + kw * win.dw;
                  if (ow < 0 || ow >= out_w)
                    continue;
                  ym[oh * out_w + ow] += xv * wc[kh * win.kw + kw];
                  ++macs;
                }
              }
            }
        }
      }
    stats_.set_digital_macs(stats_.digital_macs() + macs);
  }

  // The input positions and weights that one output index of one axis reads:
  // ONNX's coordinate transformation, then its nearest, linear or cubic
  // neighbours, read at the edge when they fall outside.
  struct Taps {
    std::vector<int64_t> index;
    std::vector<double> weight;
    int64_t count = 0; // taps per output index
  };
  static Taps ResizeTaps(const Instruction::Resize &r, int64_t in, int64_t out,
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

  // Separable: each output element is the weighted sum of the product of
  // its axes' taps, accumulated in double in row-major tap order.
  void Resize(const Instruction &i) {
    const Instruction::Resize &r = i.resize();
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0), ys = Out(i);
    size_t rank = xs.size();
    std::vector<Taps> axes;
    for (size_t d = 0; d < rank; ++d)
      axes.push_back(ResizeTaps(r, xs[d], ys[d], r.scales(d)));
    Shape in_strides = Strides(xs);
    auto &y = NewReal(i);
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
    stats_.set_digital_ops(stats_.digital_ops() + y.size() * taps_per_output);
  }

  // The index of the first (or last) largest (or smallest) element of each
  // line along the axis; as in NumPy, the first NaN is selected.
  void ArgMax(const Instruction &i) {
    const Instruction::ArgMax &attrs = i.arg_max();
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0);
    int64_t axis = attrs.axis(), size = xs[axis], inner = 1;
    for (size_t d = axis + 1; d < xs.size(); ++d)
      inner *= xs[d];
    int64_t outer = size ? NumElements(xs) / (size * inner) : 0;
    auto &y = NewReal(i);
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
    stats_.set_digital_ops(stats_.digital_ops() + x.size());
  }

  void Hardmax(const Instruction &i) {
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0);
    int64_t axis = i.hardmax().axis(), size = xs[axis], inner = 1;
    for (size_t d = axis + 1; d < xs.size(); ++d)
      inner *= xs[d];
    int64_t outer = size ? NumElements(xs) / (size * inner) : 0;
    auto &y = NewReal(i);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        const float *xp = x.data() + o * size * inner + in;
        int64_t best = 0;
        for (int64_t k = 1; k < size; ++k)
          if (xp[k * inner] > xp[best * inner])
            best = k;
        y[o * size * inner + best * inner + in] = 1.0f;
      }
    stats_.set_digital_ops(stats_.digital_ops() + x.size());
  }

  void Dense(const Instruction &i) {
    const Instruction::Dense &attrs = i.dense();
    const auto &a = Real(i.inputs(0));
    const auto &b = Real(i.inputs(1));
    Shape as = In(i, 0), bs = In(i, 1), ys = Out(i);
    auto &y = NewReal(i);
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
        const auto &bias = Real(i.inputs(2));
        Shape bias_strides = BroadcastStrides(In(i, 2), ys);
        ForEachBroadcast(ys, Strides(ys), bias_strides,
                         [&](int64_t out, int64_t, int64_t bi) {
                           y[out] += attrs.beta() * bias[bi];
                         });
      }
      stats_.set_digital_macs(stats_.digital_macs() + m * n * k);
      return;
    }
    // NumPy matmul: vectors become matrices, batch axes broadcast.
    Shape a2 = as, b2 = bs;
    if (a2.size() == 1)
      a2.insert(a2.begin(), 1);
    if (b2.size() == 1)
      b2.push_back(1);
    int64_t m = a2[a2.size() - 2], k = a2.back(), n = b2.back();
    Shape a_batch(a2.begin(), a2.end() - 2), b_batch(b2.begin(), b2.end() - 2);
    Shape batch = *BroadcastShape(a_batch, b_batch);
    Shape a_strides = BroadcastStrides(a_batch, batch);
    Shape b_strides = BroadcastStrides(b_batch, batch);
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
    stats_.set_digital_macs(stats_.digital_macs() +
                            NumElements(batch) * m * n * k);
  }

  void BatchNorm(const Instruction &i) {
    const auto &x = Real(i.inputs(0));
    const auto &scale = Real(i.inputs(1));
    const auto &bias = Real(i.inputs(2));
    const auto &mean = Real(i.inputs(3));
    const auto &variance = Real(i.inputs(4));
    float epsilon = i.batch_norm().epsilon();
    auto &y = NewReal(i);
    ForEachChannel(In(i, 0), [&](int64_t e, int64_t c) {
      // ONNX's formula, step by step, as threshold folding evaluates it.
      y[e] = (x[e] - mean[c]) / std::sqrt(variance[c] + epsilon) * scale[c] +
             bias[c];
    });
    stats_.set_digital_ops(stats_.digital_ops() + x.size());
  }

  void Activation(const Instruction &i) {
    const Instruction::Activation &a = i.activation();
    const auto &x = Real(i.inputs(0));
    auto &y = NewReal(i);
    float lo = a.has_min() ? a.min() : -std::numeric_limits<float>::infinity();
    float hi = a.has_max() ? a.max() : std::numeric_limits<float>::infinity();
    for (size_t e = 0; e < x.size(); ++e) {
      float v = x[e];
      switch (a.kind()) {
      case Instruction::Activation::RELU:
        v = std::max(v, 0.0f);
        break;
      case Instruction::Activation::CLIP:
        v = std::min(std::max(v, lo), hi);
        break;
      case Instruction::Activation::SIGN:
        v = static_cast<float>((v > 0) - (v < 0));
        break;
      case Instruction::Activation::BIPOLAR:
        v = v >= 0 ? 1.0f : -1.0f;
        break;
      case Instruction::Activation::SIGMOID:
        v = 1.0f / (1.0f + std::exp(-v));
        break;
      case Instruction::Activation::HARD_SIGMOID:
        v = std::max(0.0f, std::min(1.0f, a.alpha() * v + a.beta()));
        break;
      case Instruction::Activation::TANH:
        v = std::tanh(v);
        break;
      case Instruction::Activation::SQRT:
        v = std::sqrt(v);
        break;
      case Instruction::Activation::RECIPROCAL:
        v = 1.0f / v;
        break;
      case Instruction::Activation::EXP:
        v = std::exp(v);
        break;
      case Instruction::Activation::LOG:
        v = std::log(v);
        break;
      case Instruction::Activation::NEG:
        v = -v;
        break;
      case Instruction::Activation::ABS:
        v = std::fabs(v);
        break;
      case Instruction::Activation::ERF:
        v = std::erf(v);
        break;
      case Instruction::Activation::SOFTPLUS:
        v = std::log(std::exp(v) + 1.0f);
        break;
      case Instruction::Activation::SOFTSIGN:
        v = v / (1.0f + std::fabs(v));
        break;
      case Instruction::Activation::HARD_SWISH:
        v = v * std::max(0.0f, std::min(1.0f, v / 6.0f + 0.5f));
        break;
      case Instruction::Activation::FLOOR:
        v = std::floor(v);
        break;
      case Instruction::Activation::CEIL:
        v = std::ceil(v);
        break;
      case Instruction::Activation::ROUND:
        // Halves to even, as ONNX (the default rounding mode).
        v = std::nearbyint(v);
        break;
      case Instruction::Activation::SIN:
        v = std::sin(v);
        break;
      case Instruction::Activation::COS:
        v = std::cos(v);
        break;
      case Instruction::Activation::TAN:
        v = std::tan(v);
        break;
      case Instruction::Activation::ASIN:
        v = std::asin(v);
        break;
      case Instruction::Activation::ACOS:
        v = std::acos(v);
        break;
      case Instruction::Activation::ATAN:
        v = std::atan(v);
        break;
      case Instruction::Activation::SINH:
        v = std::sinh(v);
        break;
      case Instruction::Activation::COSH:
        v = std::cosh(v);
        break;
      case Instruction::Activation::ASINH:
        v = std::asinh(v);
        break;
      case Instruction::Activation::ACOSH:
        v = std::acosh(v);
        break;
      case Instruction::Activation::ATANH:
        v = std::atanh(v);
        break;
      case Instruction::Activation::LEAKY_RELU:
        v = v < 0 ? a.alpha() * v : v;
        break;
      case Instruction::Activation::ELU:
        v = v < 0 ? a.alpha() * (std::exp(v) - 1.0f) : v;
        break;
      case Instruction::Activation::SELU:
        v = a.beta() * (v <= 0 ? a.alpha() * (std::exp(v) - 1.0f) : v);
        break;
      case Instruction::Activation::CELU:
        v = std::max(0.0f, v) +
            std::min(0.0f, a.alpha() * (std::exp(v / a.alpha()) - 1.0f));
        break;
      case Instruction::Activation::THRESHOLDED_RELU:
        v = v > a.alpha() ? v : 0.0f;
        break;
      case Instruction::Activation::SHRINK:
        v = v < -a.alpha() ? v + a.beta() : v > a.alpha() ? v - a.beta() : 0;
        break;
      default:
        break;
      }
      y[e] = v;
    }
    stats_.set_digital_ops(stats_.digital_ops() + x.size());
  }

  void Pool(const Instruction &i) {
    const Instruction::Pool &pool = i.pool();
    const auto &x = Real(i.inputs(0));
    auto [n_size, channels, height, width] = To4D(In(i, 0));
    auto &y = NewReal(i);
    if (pool.kind() == Instruction::Pool::GLOBAL_MAX) {
      int64_t area = height * width;
      for (int64_t nc = 0; nc < n_size * channels; ++nc) {
        float peak = -std::numeric_limits<float>::infinity();
        for (int64_t p = 0; p < area; ++p)
          peak = std::max(peak, x[nc * area + p]);
        y[nc] = peak;
      }
      stats_.set_digital_ops(stats_.digital_ops() + x.size());
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
      stats_.set_digital_ops(stats_.digital_ops() + x.size());
      return;
    }
    auto [unused_n, unused_c, out_h, out_w] = To4D(Out(i));
    Shape in_shape = In(i, 0);
    WindowSpec spec = ResolveWindow(pool.window(), in_shape.size() - 2);
    Window2D win = To2D(spec);
    // Padded extent for count_include_pad: the explicit pads count, a
    // ceil-mode overhang past them does not.
    int64_t pad_end_h = spec.kernel.size() == 1 ? 0 : spec.pads_end[0];
    int64_t pad_end_w = spec.pads_end.back();
    bool max = pool.kind() == Instruction::Pool::MAX;
    for (int64_t nc = 0; nc < n_size * channels; ++nc)
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t ow = 0; ow < out_w; ++ow) {
          float acc = max ? -std::numeric_limits<float>::infinity() : 0.0f;
          int64_t valid = 0, padded = 0;
          for (int64_t kh = 0; kh < win.kh; ++kh) {
            int64_t ih = oh * win.sh - win.ph + kh * win.dh;
            for (int64_t kw = 0; kw < win.kw; ++kw) {
              int64_t iw = ow * win.sw - win.pw + kw * win.dw;
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
            acc /=
                static_cast<float>(pool.count_include_pad() ? padded : valid);
          y[(nc * out_h + oh) * out_w + ow] = acc;
        }
    stats_.set_digital_ops(stats_.digital_ops() + y.size() * win.kh * win.kw);
  }

  // An OR over each window of bits: +1 wins, the padding never does.
  void BitMaxPool(const Instruction &i) {
    const Instruction::BitMaxPool &pool = i.bit_max_pool();
    const auto &x = Bits(i.inputs(0));
    auto [n_size, channels, height, width] = To4D(In(i, 0));
    auto [unused_n, unused_c, out_h, out_w] = To4D(Out(i));
    Window2D win = To2D(ResolveWindow(pool.window(), In(i, 0).size() - 2));
    auto &y = NewBits(i);
    for (int64_t nc = 0; nc < n_size * channels; ++nc)
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t ow = 0; ow < out_w; ++ow) {
          uint8_t any = 0;
          for (int64_t kh = 0; kh < win.kh; ++kh) {
            int64_t ih = oh * win.sh - win.ph + kh * win.dh;
            for (int64_t kw = 0; kw < win.kw; ++kw) {
              int64_t iw = ow * win.sw - win.pw + kw * win.dw;
              if (ih >= 0 && ih < height && iw >= 0 && iw < width)
                any |= x[(nc * height + ih) * width + iw];
            }
          }
          y[(nc * out_h + oh) * out_w + ow] = any;
        }
    stats_.set_digital_ops(stats_.digital_ops() + y.size() * win.kh * win.kw);
  }

  void Softmax(const Instruction &i) {
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0);
    int64_t axis = i.softmax().axis();
    int64_t size = xs[axis];
    int64_t inner = 1;
    for (size_t d = axis + 1; d < xs.size(); ++d)
      inner *= xs[d];
    int64_t outer = NumElements(xs) / (size * inner);
    auto &y = NewReal(i);
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
    stats_.set_digital_ops(stats_.digital_ops() + 3 * x.size());
  }

  void Elementwise(const Instruction &i) {
    const auto &a = Real(i.inputs(0));
    const auto &b = Real(i.inputs(1));
    Shape ys = Out(i);
    auto &y = NewReal(i);
    auto kind = i.elementwise().kind();
    ForEachBroadcast(ys, BroadcastStrides(In(i, 0), ys),
                     BroadcastStrides(In(i, 1), ys),
                     [&](int64_t out, int64_t ai, int64_t bi) {
                       float x = a[ai], z = b[bi];
                       switch (kind) {
                       case Instruction::Elementwise::ADD:
                         y[out] = x + z;
                         break;
                       case Instruction::Elementwise::SUB:
                         y[out] = x - z;
                         break;
                       case Instruction::Elementwise::MUL:
                         y[out] = x * z;
                         break;
                       case Instruction::Elementwise::DIV:
                         y[out] = x / z;
                         break;
                       case Instruction::Elementwise::POW:
                         y[out] = std::pow(x, z);
                         break;
                       case Instruction::Elementwise::MAX:
                         y[out] = std::isnan(x) || std::isnan(z)
                                      ? std::numeric_limits<float>::quiet_NaN()
                                      : std::max(x, z);
                         break;
                       case Instruction::Elementwise::MIN:
                         y[out] = std::isnan(x) || std::isnan(z)
                                      ? std::numeric_limits<float>::quiet_NaN()
                                      : std::min(x, z);
                         break;
                       case Instruction::Elementwise::PRELU:
                         y[out] = x < 0 ? z * x : x;
                         break;
                       default:
                         break;
                       }
                     });
    stats_.set_digital_ops(stats_.digital_ops() + y.size());
  }

  void Transpose(const Instruction &i) {
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0), ys = Out(i);
    Shape x_strides = Strides(xs), permuted(ys.size());
    for (size_t d = 0; d < ys.size(); ++d)
      permuted[d] = x_strides[i.transpose().permutation(d)];
    auto &y = NewReal(i);
    ForEachBroadcast(ys, permuted, permuted,
                     [&](int64_t out, int64_t xi, int64_t) { y[out] = x[xi]; });
  }

  void Concat(const Instruction &i) {
    Shape ys = Out(i);
    int64_t axis = i.concat().axis();
    int64_t inner = 1;
    for (size_t d = axis + 1; d < ys.size(); ++d)
      inner *= ys[d];
    int64_t outer = NumElements(ys) / (ys[axis] * inner);
    auto &y = NewReal(i);
    int64_t offset = 0;
    for (int k = 0; k < i.inputs_size(); ++k) {
      const auto &x = Real(i.inputs(k));
      int64_t block = In(i, k)[axis] * inner;
      for (int64_t o = 0; o < outer; ++o)
        std::copy(x.begin() + o * block, x.begin() + (o + 1) * block,
                  y.begin() + o * ys[axis] * inner + offset);
      offset += block;
    }
  }

  void Pad(const Instruction &i) {
    const Instruction::Pad &pad = i.pad();
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0), ys = Out(i);
    size_t rank = xs.size();
    Shape x_strides = Strides(xs);
    auto &y = NewReal(i);
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
    stats_.set_digital_ops(stats_.digital_ops() + y.size());
  }

  void Reduce(const Instruction &i) {
    using Kind = Instruction::Reduce;
    const Instruction::Reduce &reduce = i.reduce();
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0);
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
    auto &y = NewReal(i);
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
        acc[o] =
            std::isnan(v) || std::isnan(acc[o]) ? NAN : std::max(acc[o], v);
        break;
      case Kind::MIN:
        acc[o] =
            std::isnan(v) || std::isnan(acc[o]) ? NAN : std::min(acc[o], v);
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
    stats_.set_digital_ops(stats_.digital_ops() + x.size());
  }

  void LayerNorm(const Instruction &i) {
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0);
    int64_t axis = i.layer_norm().axis();
    Shape normalized(xs.begin() + axis, xs.end());
    int64_t size = NumElements(normalized);
    int64_t groups = size ? static_cast<int64_t>(x.size()) / size : 0;
    // Scale and bias broadcast to the normalized shape.
    std::vector<float> scale(size, 1.0f), bias(size, 0.0f);
    for (int k = 1; k < i.inputs_size(); ++k) {
      const auto &p = Real(i.inputs(k));
      std::vector<float> &into = k == 1 ? scale : bias;
      Shape strides = BroadcastStrides(In(i, k), normalized);
      ForEachBroadcast(
          normalized, strides, strides,
          [&](int64_t e, int64_t pi, int64_t) { into[e] = p[pi]; });
    }
    float epsilon = i.layer_norm().epsilon();
    auto &y = NewReal(i);
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
    stats_.set_digital_ops(stats_.digital_ops() + 3 * x.size());
  }

  void Slice(const Instruction &i) {
    const Instruction::Slice &slice = i.slice();
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0), ys = Out(i);
    size_t rank = xs.size();
    Shape x_strides = Strides(xs);
    auto &y = NewReal(i);
    ForEachPosition(ys, [&](int64_t e, const Shape &position) {
      int64_t from = 0;
      for (size_t d = 0; d < rank; ++d)
        from += (slice.starts(d) + position[d] * slice.steps(d)) * x_strides[d];
      y[e] = x[from];
    });
  }

  void Gather(const Instruction &i) {
    const Instruction::Gather &gather = i.gather();
    const auto &x = Real(i.inputs(0));
    Shape xs = In(i, 0);
    int64_t axis = gather.axis(), dim = xs[axis];
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d)
      outer *= xs[d];
    for (size_t d = axis + 1; d < xs.size(); ++d)
      inner *= xs[d];
    auto &y = NewReal(i);
    int64_t e = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t index : gather.indices()) {
        const float *from = x.data() + (o * dim + index) * inner;
        std::copy(from, from + inner, y.begin() + e);
        e += inner;
      }
  }

  void Binarize(const Instruction &i) {
    const auto &x = Real(i.inputs(0));
    auto &y = NewBits(i);
    // The chip's sense amplifier has no zero: a zero reads +1, NaN -1.
    const auto &thresholds = i.binarize().thresholds();
    if (thresholds.empty()) {
      for (size_t e = 0; e < x.size(); ++e)
        y[e] = x[e] >= 0;
    } else {
      // Per channel (axis 1) of [batch, channels, inner...].
      Shape xs = In(i, 0);
      int64_t inner = NumElements(Shape(xs.begin() + 2, xs.end()));
      for (int64_t b = 0, e = 0; b < xs[0]; ++b)
        for (float threshold : thresholds)
          for (int64_t k = 0; k < inner; ++k, ++e)
            y[e] = x[e] >= threshold;
    }
    stats_.set_digital_ops(stats_.digital_ops() + x.size());
  }

  void InputSlice(const Instruction &i) {
    const auto &x = Bits(i.inputs(0));
    Shape xs = In(i, 0), ys = Out(i);
    int64_t offset = i.input_slice().offset();
    auto &y = NewBits(i);
    for (int64_t b = 0; b < ys[0]; ++b)
      for (int64_t c = 0; c < ys[1]; ++c) {
        int64_t k = offset + c;
        // Columns past the layer's inputs read +1 (see rram.accumulate).
        y[b * ys[1] + c] = k < xs[1] ? x[b * xs[1] + k] : 1;
      }
  }

  void Im2col(const Instruction &i) {
    const Instruction::Im2col &attrs = i.im2col();
    const auto &x = Bits(i.inputs(0));
    Shape xs = In(i, 0);
    auto [n_size, channels, height, width] = To4D(xs);
    WindowSpec spec = ResolveWindow(attrs.window(), xs.size() - 2);
    Window2D win = To2D(spec);
    int64_t pad_h =
        spec.kernel.size() == 1 ? 0 : spec.pads_begin[0] + spec.pads_end[0];
    int64_t pad_w = spec.pads_begin.back() + spec.pads_end.back();
    int64_t out_h = (height + pad_h - win.dh * (win.kh - 1) - 1) / win.sh + 1;
    int64_t out_w = (width + pad_w - win.dw * (win.kw - 1) - 1) / win.sw + 1;
    int64_t fan_in = attrs.channels() * win.kh * win.kw;
    uint8_t padding = attrs.pads_read_minus_one() ? 0 : 1;
    auto &y = NewBits(i);
    int64_t row = 0;
    for (int64_t n = 0; n < n_size; ++n)
      for (int64_t oh = 0; oh < out_h; ++oh)
        for (int64_t ow = 0; ow < out_w; ++ow, ++row) {
          uint8_t *out = y.data() + row * fan_in;
          for (int64_t c = 0; c < attrs.channels(); ++c)
            for (int64_t kh = 0; kh < win.kh; ++kh)
              for (int64_t kw = 0; kw < win.kw; ++kw) {
                int64_t ih = oh * win.sh - win.ph + kh * win.dh;
                int64_t iw = ow * win.sw - win.pw + kw * win.dw;
                // The padding reads +1 (the border tables correct for it
                // after a zero padding), or -1 when asked.
                bool inside = ih >= 0 && ih < height && iw >= 0 && iw < width;
                *out++ = inside
                             ? x[((n * channels + attrs.channel_offset() + c) *
                                      height +
                                  ih) *
                                     width +
                                 iw]
                             : padding;
              }
        }
  }

  void XnorRead(const Instruction &i) {
    const Simulator::PackedArray &array = arrays_[i.xnor_read().array()];
    const auto &x = Bits(i.inputs(0));
    Shape xs = In(i, 0);
    int64_t batch = xs[0], columns = array.columns, rows = array.rows;
    auto &y = NewCounts(i);
    std::vector<uint64_t> packed(array.words);
    for (int64_t b = 0; b < batch; ++b) {
      // Drive the bit lines: pack the input slice like a row.
      std::fill(packed.begin(), packed.end(), 0);
      for (int64_t c = 0; c < columns; ++c)
        packed[c / 64] |= static_cast<uint64_t>(x[b * columns + c] & 1)
                          << (c % 64);
      for (int64_t r = 0; r < rows; ++r)
        y[b * rows + r] = static_cast<int32_t>(
            XnorPopcount(array.bits.data() + r * array.words, packed.data(),
                         array.words, columns));
    }
    stats_.set_row_reads(stats_.row_reads() + batch * array.rows_used);
    stats_.set_array_activations(stats_.array_activations() + batch);
  }

  void Accumulate(const Instruction &i) {
    auto &y = NewCounts(i);
    std::fill(y.begin(), y.end(),
              static_cast<int32_t>(i.accumulate().correction()));
    for (uint32_t input : i.inputs()) {
      const auto &partial = values_.counts[slots_[input]];
      for (size_t e = 0; e < y.size(); ++e)
        y[e] += partial[e];
    }
    stats_.set_digital_ops(stats_.digital_ops() + y.size() * i.inputs_size());
  }

  void Collect(const Instruction &i) {
    Shape ys = Out(i);
    int64_t rows = program_.chip().array().rows();
    int64_t batch = In(i, 0)[0];
    int64_t outputs = ys[1];
    int64_t positions = NumElements(ys) / (ys[0] * outputs);
    auto &y = NewCounts(i);
    int64_t first = 0;
    for (int k = 0; k < i.inputs_size(); ++k) {
      const auto &tile = values_.counts[slots_[i.inputs(k)]];
      int64_t used = i.collect().rows_used(k);
      for (int64_t b = 0; b < batch; ++b) {
        // Row b of a convolution's fields is position b % P of sample b / P.
        int64_t n = b / positions, p = b % positions;
        for (int64_t r = 0; r < used; ++r)
          y[(n * outputs + first + r) * positions + p] = tile[b * rows + r];
      }
      first += used;
    }
  }

  void Threshold(const Instruction &i) {
    const Instruction::Threshold &attrs = i.threshold();
    const auto &x = values_.counts[slots_[i.inputs(0)]];
    auto &y = NewBits(i);
    ForEachChannelWithBorder(
        In(i, 0), attrs.border_positions(),
        [&](int64_t e, int64_t c, int64_t border) {
          int32_t threshold = border < 0 ? attrs.thresholds(c)
                                         : attrs.border_thresholds(border);
          y[e] = attrs.inverted(c) ? x[e] <= threshold : x[e] >= threshold;
        });
    stats_.set_digital_ops(stats_.digital_ops() + x.size());
  }

  void PopcountAffine(const Instruction &i) {
    const Instruction::PopcountAffine &attrs = i.popcount_affine();
    const auto &x = values_.counts[slots_[i.inputs(0)]];
    auto &y = NewReal(i);
    ForEachChannelWithBorder(
        In(i, 0), attrs.border_positions(),
        [&](int64_t e, int64_t c, int64_t border) {
          // As bnn.popcount_affine: the product, then the sum, in f32.
          int64_t offset = border < 0 ? 0 : attrs.border_offsets(border);
          float sum =
              static_cast<float>(2 * int64_t{x[e]} - attrs.fan_in() - offset);
          float product = attrs.scale(c) * sum;
          y[e] = product + attrs.bias(c);
        });
    stats_.set_digital_ops(stats_.digital_ops() + 2 * x.size());
  }

  // A binary layer on whole rows: the collect's result from the source bits.
  void RunFused(int index, const Simulator::FusedLayer &layer) {
    const Instruction &collect = program_.instructions(index);
    const uint64_t *weights =
        chip_ ? chip_->fused_weights[index].data() : layer.weights.data();
    const int32_t *padding_errors =
        chip_ ? chip_->fused_padding_errors[index].data() : nullptr;
    const auto &x = Bits(layer.source);
    int64_t rows =
        NumElements(ShapeOf(program_.buffers(layer.source))) / layer.fan_in;
    Shape ys = Out(collect);
    int64_t positions = NumElements(ys) / (ys[0] * layer.outputs);
    auto &y = NewCounts(collect);
    std::vector<uint64_t> packed(layer.words);
    for (int64_t b = 0; b < rows; ++b) {
      std::fill(packed.begin(), packed.end(), 0);
      const uint8_t *bits = x.data() + b * layer.fan_in;
      for (int64_t w = 0; w < layer.words; ++w) {
        uint64_t word = 0;
        int64_t end = std::min<int64_t>(64, layer.fan_in - w * 64);
        for (int64_t j = 0; j < end; ++j)
          word |= static_cast<uint64_t>(bits[w * 64 + j] & 1) << j;
        packed[w] = word;
      }
      int64_t n = b / positions, p = b % positions;
      for (int64_t m = 0; m < layer.outputs; ++m)
        y[(n * layer.outputs + m) * positions + p] =
            static_cast<int32_t>(XnorPopcount(weights + m * layer.words,
                                              packed.data(), layer.words,
                                              layer.fan_in)) -
            (padding_errors ? padding_errors[m] : 0);
    }
    stats_.set_row_reads(stats_.row_reads() +
                         rows * layer.row_reads_per_sample);
    stats_.set_array_activations(stats_.array_activations() +
                                 rows * layer.activations_per_sample);
    stats_.set_digital_ops(stats_.digital_ops() +
                           rows * layer.digital_ops_per_sample);
  }

  const Program &program_;
  const std::vector<Simulator::PackedArray> &arrays_;
  const Simulator::ChipState *chip_;
  const std::vector<std::vector<float>> &constants_;
  const std::vector<std::vector<uint8_t>> &bit_constants_;
  const std::vector<std::unique_ptr<Simulator::FusedLayer>> &fused_;
  const std::vector<bool> &replaced_;
  const std::vector<int64_t> &slots_;
  SimulationStats &stats_;
  RunValues values_;
};

} // namespace

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Create(Program program,
                                                             Options options) {
  std::unique_ptr<Simulator> simulator(new Simulator(std::move(program)));
  const Program &p = simulator->program_;
  const ChipConfig &chip = p.chip();
  int64_t rows = chip.array().rows(), columns = chip.array().columns();
  int64_t words = (columns + 63) / 64;
  simulator->arrays_.resize(chip.arrays());
  simulator->programming_cycles_.assign(chip.arrays(), 0);
  // Programming: every array the program uses receives its image once.
  for (const ArrayImage &image : p.arrays()) {
    PackedArray &array = simulator->arrays_[image.array()];
    array.rows = rows;
    array.columns = columns;
    array.words = words;
    array.rows_used = image.rows_used();
    array.bits.assign(rows * words, 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < columns; ++c)
        if (GetBit(image.bits(), r * columns + c))
          array.bits[r * words + c / 64] |= uint64_t{1} << (c % 64);
    ++simulator->programming_cycles_[image.array()];
  }
  simulator->constants_.resize(p.buffers_size());
  for (const Constant &constant : p.constants())
    simulator->constants_[constant.buffer()] = RealConstantValues(constant);
  simulator->bit_constants_.resize(p.buffers_size());
  for (const BitConstant &constant : p.bit_constants()) {
    int64_t count = NumElements(ShapeOf(p.buffers(constant.buffer())));
    std::vector<uint8_t> &bits = simulator->bit_constants_[constant.buffer()];
    bits.resize(count);
    for (int64_t e = 0; e < count; ++e)
      bits[e] = GetBit(constant.bits(), e);
  }
  simulator->fused_.resize(p.instructions_size());
  simulator->replaced_.assign(p.instructions_size(), false);
  if (options.fuse_layers)
    simulator->FuseLayers();
  // A storage slot for every input and every value an instruction that runs
  // computes; constants have none.
  simulator->slots_.assign(p.buffers_size(), -1);
  for (const TensorBinding &input : p.inputs())
    simulator->slots_[input.buffer()] = simulator->slot_count_++;
  for (int i = 0; i < p.instructions_size(); ++i)
    if (!simulator->replaced_[i])
      simulator->slots_[p.instructions(i).output()] = simulator->slot_count_++;
  // Everything before the first array read is the same on every
  // programming of the chip; RunPrefix computes it once.
  simulator->prefix_end_ = p.instructions_size();
  for (int i = 0; i < p.instructions_size(); ++i)
    if (!simulator->replaced_[i] &&
        (simulator->fused_[i] || p.instructions(i).has_xnor_read())) {
      simulator->prefix_end_ = i;
      break;
    }
  simulator->last_use_.assign(simulator->slot_count_, -1);
  auto use = [&](uint32_t buffer, int i) {
    int64_t slot = simulator->slots_[buffer];
    if (slot >= 0)
      simulator->last_use_[slot] = std::max(simulator->last_use_[slot], i);
  };
  for (int i = 0; i < p.instructions_size(); ++i) {
    if (simulator->replaced_[i])
      continue;
    for (uint32_t input : p.instructions(i).inputs())
      use(input, i);
    if (simulator->fused_[i])
      use(simulator->fused_[i]->source, i);
  }
  for (const TensorBinding &output : p.outputs())
    use(output.buffer(), std::numeric_limits<int>::max());
  return simulator;
}

void Simulator::FuseLayers() {
  const Program &p = program_;
  int count = p.instructions_size();
  fused_.resize(count);
  replaced_.assign(count, false);
  std::vector<int> producer(p.buffers_size(), -1), uses(p.buffers_size(), 0);
  for (int i = 0; i < count; ++i) {
    producer[p.instructions(i).output()] = i;
    for (uint32_t input : p.instructions(i).inputs())
      ++uses[input];
  }
  for (const TensorBinding &output : p.outputs())
    ++uses[output.buffer()];
  int64_t columns = p.chip().array().columns();
  auto produced_by = [&](uint32_t buffer, Instruction::OpCase op) {
    int i = producer[buffer];
    return i >= 0 && p.instructions(i).op_case() == op ? i : -1;
  };

  for (int i = 0; i < count; ++i) {
    const Instruction &collect = p.instructions(i);
    if (!collect.has_collect())
      continue;
    // The shape of a tiled layer: collect <- accumulates <- reads <- slices
    // of one source, every intermediate read by nothing else.
    std::vector<int> members;
    std::map<int, int> slice_reads;
    std::vector<std::vector<std::pair<uint32_t, int64_t>>> row_tiles;
    int64_t source = -1;
    bool fusable = true;
    for (uint32_t sum : collect.inputs()) {
      int a = produced_by(sum, Instruction::kAccumulate);
      fusable &= a >= 0 && uses[sum] == 1;
      if (!fusable)
        break;
      members.push_back(a);
      std::vector<std::pair<uint32_t, int64_t>> tiles;
      for (uint32_t partial : p.instructions(a).inputs()) {
        int r = produced_by(partial, Instruction::kXnorRead);
        int slice = r >= 0 ? produced_by(p.instructions(r).inputs(0),
                                         Instruction::kInputSlice)
                           : -1;
        fusable &= r >= 0 && uses[partial] == 1 && slice >= 0;
        if (!fusable)
          break;
        const Instruction &s = p.instructions(slice);
        if (source < 0)
          source = s.inputs(0);
        fusable &=
            source == s.inputs(0) && s.input_slice().offset() % columns == 0;
        members.push_back(r);
        ++slice_reads[slice];
        tiles.push_back({p.instructions(r).xnor_read().array(),
                         s.input_slice().offset() / columns});
      }
      if (!fusable)
        break;
      row_tiles.push_back(tiles);
    }
    if (!fusable || source < 0)
      continue;
    int64_t fan_in = p.buffers(source).shape(1);
    int64_t column_tiles = (fan_in + columns - 1) / columns;
    // Every slice is read only by this layer, every row tile reads each
    // column tile once, and the sums take back exactly the padding.
    for (auto [slice, reads] : slice_reads)
      fusable &= uses[p.instructions(slice).output()] == reads;
    for (const auto &tiles : row_tiles) {
      std::set<int64_t> seen;
      for (auto [array, tile] : tiles)
        seen.insert(tile);
      fusable &= static_cast<int64_t>(seen.size()) == column_tiles &&
                 static_cast<int64_t>(tiles.size()) == column_tiles;
    }
    for (int member : members)
      if (p.instructions(member).has_accumulate())
        fusable &= p.instructions(member).accumulate().correction() ==
                   -(column_tiles * columns - fan_in);
    if (!fusable)
      continue;

    auto layer = std::make_unique<FusedLayer>();
    layer->source = source;
    layer->fan_in = fan_in;
    layer->words = (fan_in + 63) / 64;
    layer->row_tiles = row_tiles;
    for (int64_t used : collect.collect().rows_used()) {
      layer->rows_used.push_back(used);
      layer->outputs += used;
    }
    for (const auto &tiles : row_tiles)
      for (auto [array_index, tile] : tiles) {
        // What the chip does for this tile, per input row.
        layer->row_reads_per_sample += arrays_[array_index].rows_used;
        ++layer->activations_per_sample;
        layer->digital_ops_per_sample += arrays_[array_index].rows;
      }
    std::vector<int32_t> no_padding_errors;
    BuildFusedRows(*layer, arrays_, layer->weights, no_padding_errors);
    for (int member : members)
      replaced_[member] = true;
    for (auto [slice, reads] : slice_reads)
      replaced_[slice] = true;
    fused_[i] = std::move(layer);
  }
}

void Simulator::BuildFusedRows(const FusedLayer &layer,
                               const std::vector<PackedArray> &arrays,
                               std::vector<uint64_t> &weights,
                               std::vector<int32_t> &padding_errors) const {
  int64_t columns = program_.chip().array().columns();
  weights.assign(layer.outputs * layer.words, 0);
  padding_errors.assign(layer.outputs, 0);
  int64_t neuron = 0;
  for (size_t t = 0; t < layer.row_tiles.size(); ++t) {
    int64_t used = layer.rows_used[t];
    for (auto [array_index, tile] : layer.row_tiles[t]) {
      const PackedArray &array = arrays[array_index];
      for (int64_t r = 0; r < used; ++r)
        for (int64_t c = 0; c < columns; ++c) {
          uint64_t bit = (array.bits[r * array.words + c / 64] >> (c % 64)) & 1;
          int64_t k = tile * columns + c;
          if (k < layer.fan_in)
            weights[(neuron + r) * layer.words + k / 64] |= bit << (k % 64);
          else
            // A padding cell reads a +1 input: it agrees unless flipped.
            padding_errors[neuron + r] += bit == 0;
        }
    }
    neuron += used;
  }
}

std::unique_ptr<Simulator::ChipState>
Simulator::ProgramWithErrors(double ber, std::mt19937_64 &random) const {
  auto chip = std::make_unique<ChipState>();
  chip->arrays = arrays_;
  chip->flips.assign(arrays_.size(), 0);
  // Arrays in program order, each drawing its flips from the one stream.
  for (const ArrayImage &image : program_.arrays()) {
    PackedArray &array = chip->arrays[image.array()];
    for (int64_t cell :
         SampleFlips(array.rows_used * array.columns, ber, random)) {
      int64_t r = cell / array.columns, c = cell % array.columns;
      array.bits[r * array.words + c / 64] ^= uint64_t{1} << (c % 64);
    }
    chip->flips[image.array()] = 0;
    for (int64_t r = 0; r < array.rows_used; ++r)
      for (int64_t w = 0; w < array.words; ++w)
        chip->flips[image.array()] += __builtin_popcountll(
            array.bits[r * array.words + w] ^
            arrays_[image.array()].bits[r * array.words + w]);
  }
  chip->fused_weights.resize(fused_.size());
  chip->fused_padding_errors.resize(fused_.size());
  for (size_t i = 0; i < fused_.size(); ++i)
    if (fused_[i])
      BuildFusedRows(*fused_[i], chip->arrays, chip->fused_weights[i],
                     chip->fused_padding_errors[i]);
  return chip;
}

const std::vector<uint64_t> &Simulator::Flips(const ChipState &chip) {
  return chip.flips;
}

std::vector<uint64_t> Simulator::CellsRead() const {
  std::vector<uint64_t> cells(arrays_.size(), 0);
  for (const ArrayImage &image : program_.arrays())
    cells[image.array()] =
        arrays_[image.array()].rows_used * arrays_[image.array()].columns;
  return cells;
}

absl::StatusOr<std::shared_ptr<const Simulator::Prefix>>
Simulator::RunPrefix(const std::vector<Tensor> &inputs) const {
  if (inputs.size() != static_cast<size_t>(program_.inputs_size()))
    return absl::InvalidArgumentError(
        absl::StrCat("the program takes ", program_.inputs_size(),
                     " input(s), got ", inputs.size()));
  auto prefix = std::make_shared<Prefix>();
  Execution execution(program_, arrays_, nullptr, constants_, bit_constants_,
                      fused_, replaced_, slots_, slot_count_, nullptr,
                      prefix->stats);
  for (int k = 0; k < program_.inputs_size(); ++k) {
    const TensorBinding &binding = program_.inputs(k);
    Shape expected = ShapeOf(program_.buffers(binding.buffer()));
    if (inputs[k].shape != expected)
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", binding.name(), "' has shape [",
          absl::StrJoin(inputs[k].shape, ","), "], the program expects [",
          absl::StrJoin(expected, ","), "]"));
    execution.SetInput(binding.buffer(), inputs[k].data);
  }
  execution.Run(0, prefix_end_);
  prefix->values = std::move(execution.values());
  // Keep only what the rest of the run reads: trials copy it.
  for (size_t slot = 0; slot < last_use_.size(); ++slot)
    if (last_use_[slot] < prefix_end_) {
      // Move-assign to release the memory (`= {}` would keep it).
      prefix->values.reals[slot] = std::vector<float>();
      prefix->values.bits[slot] = std::vector<uint8_t>();
      prefix->values.counts[slot] = std::vector<int32_t>();
    }
  return std::shared_ptr<const Prefix>(std::move(prefix));
}

absl::StatusOr<std::vector<Tensor>>
Simulator::RunSuffix(const Prefix &prefix, const ChipState *chip,
                     SimulationStats *stats) const {
  SimulationStats run_stats = prefix.stats;
  Execution execution(program_, arrays_, chip, constants_, bit_constants_,
                      fused_, replaced_, slots_, slot_count_, &prefix.values,
                      run_stats);
  execution.Run(prefix_end_, program_.instructions_size());
  std::vector<Tensor> outputs;
  for (const TensorBinding &binding : program_.outputs())
    outputs.push_back(Tensor{ShapeOf(program_.buffers(binding.buffer())),
                             execution.Output(binding.buffer()),
                             program_.buffers(binding.buffer()).type() == I64});
  run_stats.set_estimated_cycles(run_stats.row_reads() +
                                 run_stats.digital_macs() +
                                 run_stats.digital_ops());
  if (stats)
    AddStats(*stats, run_stats);
  return outputs;
}

absl::StatusOr<std::vector<Tensor>>
Simulator::Run(const std::vector<Tensor> &inputs,
               SimulationStats *stats) const {
  absl::StatusOr<std::shared_ptr<const Prefix>> prefix = RunPrefix(inputs);
  if (!prefix.ok())
    return prefix.status();
  return RunSuffix(**prefix, nullptr, stats);
}

} // namespace hafnia
