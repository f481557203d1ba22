// The binary domain: binarization, bit max pooling, receptive fields and
// input slices, the arrays' XNOR reads, the digital sums and joins of
// partial popcounts, thresholds and popcount affines; and tiled layers
// computed on whole rows, which give the same popcounts as their tiles. The
// popcounts and the packing of bits run at the host's SIMD level
// (Popcount.h).

#include "kernels/Kernels.h"

#include <algorithm>
#include <cstring>

#include "hafnia/runtime/WindowArithmetic.h"
#include "kernels/Indexing.h"
#include "kernels/Popcount.h"

namespace hafnia {
namespace kernels {

namespace {

// Scratch memory of one thread: packed input rows and their popcounts.
struct BinaryScratch {
  std::vector<uint64_t> packed;
  std::vector<int32_t> counts;
};
BinaryScratch &ThreadScratch() {
  thread_local BinaryScratch scratch;
  return scratch;
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

} // namespace

namespace {

// `buffer`'s value as the field lines `at` of an input `width` positions
// wide: sized, the padding positions of every line and the line of padding
// set, the spare bytes zero; the rows' own positions are left to the
// caller. Returns the first line.
uint8_t *NewFieldLines(KernelContext &ctx, uint32_t buffer,
                       const FieldLines &at, int64_t width) {
  auto &y = ctx.NewBitsToOverwrite(buffer, at.bytes());
  int64_t c8 = at.channels / 8, padded = at.positions * c8;
  int64_t row_end = (at.pad_begin + width) * c8;
  for (int64_t l = 0; l < at.lines; ++l) {
    uint8_t *line = y.data() + l * at.line_bytes;
    if (l == at.lines - 1) {
      std::memset(line, at.padding, padded);
    } else {
      std::memset(line, at.padding, at.pad_begin * c8);
      std::memset(line + row_end, at.padding, padded - row_end);
    }
    std::memset(line + padded, 0, at.line_bytes - padded);
  }
  return y.data();
}

// Binarize into the field lines of the layer whose fields read the bits.
void BinarizeIntoLines(KernelContext &ctx, const BinarizeToLines &plan) {
  const auto &x = ctx.Real(0);
  Shape xs = ctx.In(0);
  const Instruction &im2col = ctx.program().instructions(plan.im2col);
  FieldLines at = FieldLinesOf(im2col.im2col(), xs);
  auto [batch, channels, height, width] = To4D(xs);
  int64_t c8 = channels / 8;
  thread_local std::vector<float> zeros;
  const float *thresholds = ctx.instruction().binarize().thresholds().data();
  if (ctx.instruction().binarize().thresholds().empty()) {
    zeros.assign(channels, 0.0f);
    thresholds = zeros.data();
  }
  uint8_t *lines = NewFieldLines(ctx, plan.output, at, width);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t ih = 0; ih < height; ++ih)
      BinarizePositions(x.data() + (n * channels * height + ih) * width,
                        height * width, channels, width, thresholds,
                        lines + (n * height + ih) * at.line_bytes +
                            at.pad_begin * c8);
  ctx.AddDigitalOps(x.size());
}

} // namespace

void Binarize(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  if (ctx.plan())
    return BinarizeIntoLines(ctx,
                             static_cast<const BinarizeToLines &>(*ctx.plan()));
  const auto &x = ctx.Real(0);
  auto &y = ctx.NewBitsToOverwrite();
  // The chip's sense amplifier has no zero: a zero reads +1, NaN -1.
  const auto &thresholds = i.binarize().thresholds();
  // Plain pointers and counts: a byte store may alias anything, the
  // vectors' own sizes included, which would keep the loops scalar.
  const float *in = x.data();
  uint8_t *out = y.data();
  if (thresholds.empty()) {
    for (size_t e = 0, n = x.size(); e < n; ++e)
      out[e] = in[e] >= 0;
  } else {
    // Per channel (axis 1) of [batch, channels, inner...].
    Shape xs = ctx.In(0);
    int64_t inner = NumElements(Shape(xs.begin() + 2, xs.end()));
    for (int64_t b = 0; b < xs[0]; ++b)
      for (float threshold : thresholds) {
        for (int64_t k = 0; k < inner; ++k)
          out[k] = in[k] >= threshold;
        in += inner;
        out += inner;
      }
  }
  ctx.AddDigitalOps(x.size());
}

// An OR over each window of bits: +1 wins, the padding never does.
void BitMaxPool(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::BitMaxPool &pool = i.bit_max_pool();
  const auto &x = ctx.Bits(0);
  auto [n_size, channels, height, width] = To4D(ctx.In(0));
  auto [unused_n, unused_c, out_h, out_w] = To4D(ctx.Out());
  Window2D win = To2D(ResolveWindow(pool.window(), ctx.In(0).size() - 2));
  auto &y = ctx.NewBitsToOverwrite();
  auto any = [](uint8_t a, uint8_t b) -> uint8_t { return a | b; };
  PoolWindows(
      x.data(), y.data(), n_size * channels, height, width, out_h, out_w, win,
      uint8_t{0}, any, [](uint8_t v) { return v; },
      [&](int64_t nc, int64_t oh, int64_t ow) {
        uint8_t bits = 0;
        for (int64_t kh = 0; kh < win.kh; ++kh) {
          int64_t ih = WindowInput(oh, kh, win.sh, win.ph, win.dh);
          for (int64_t kw = 0; kw < win.kw; ++kw) {
            int64_t iw = WindowInput(ow, kw, win.sw, win.pw, win.dw);
            if (ih >= 0 && ih < height && iw >= 0 && iw < width)
              bits |= x[(nc * height + ih) * width + iw];
          }
        }
        return bits;
      });
  ctx.AddDigitalOps(y.size() * win.kh * win.kw);
}

void InputSlice(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &x = ctx.Bits(0);
  Shape xs = ctx.In(0), ys = ctx.Out();
  int64_t offset = i.input_slice().offset();
  auto &y = ctx.NewBits();
  for (int64_t b = 0; b < ys[0]; ++b)
    for (int64_t c = 0; c < ys[1]; ++c) {
      int64_t k = offset + c;
      // Columns past the layer's inputs read +1 (see rram.accumulate).
      y[b * ys[1] + c] = k < xs[1] ? x[b * xs[1] + k] : 1;
    }
}

namespace {

// Where an im2col's receptive fields come from: row (n, oh, ow) holds, for
// each of its channels c and taps (kh, kw) in that order, the input bit at
// (n, channel_offset + c, ih, iw), or the padding value outside the input.
struct Im2colGeometry {
  int64_t batch, channels, height, width; // of the input
  Window2D win;
  int64_t pad_w_end, out_h, out_w;
  int64_t channel_offset, field_channels;
  uint8_t padding;
};

Im2colGeometry GeometryOf(const Instruction::Im2col &attrs, const Shape &xs) {
  Im2colGeometry g;
  auto [batch, channels, height, width] = To4D(xs);
  g.batch = batch;
  g.channels = channels;
  g.height = height;
  g.width = width;
  WindowSpec spec = ResolveWindow(attrs.window(), xs.size() - 2);
  g.win = To2D(spec);
  int64_t pad_h =
      spec.kernel.size() == 1 ? 0 : spec.pads_begin[0] + spec.pads_end[0];
  g.pad_w_end = spec.pads_end.back();
  g.out_h = WindowedOutputSize(g.height, g.win.kh, g.win.sh, 0, pad_h, g.win.dh,
                               /*ceil_mode=*/false);
  g.out_w = WindowedOutputSize(g.width, g.win.kw, g.win.sw, 0,
                               g.win.pw + g.pad_w_end, g.win.dw,
                               /*ceil_mode=*/false);
  g.channel_offset = attrs.channel_offset();
  g.field_channels = attrs.channels();
  // The padding reads +1 (the border tables correct for it after a zero
  // padding), or -1 when asked.
  g.padding = attrs.pads_read_minus_one() ? 0 : 1;
  return g;
}

// ORs `count` bits of `bytes` from bit `src_bit` into `dst` from bit
// `dst_bit` (bit k is bit k % 8 of byte k / 8, and so bit k % 64 of word
// k / 64 on little-endian x86-64, as PackBits writes them). Reads up to 8
// bytes past the last bit taken: `bytes` has a spare word.
inline void OrBits(const uint8_t *bytes, int64_t src_bit, int64_t count,
                   uint64_t *dst, int64_t dst_bit) {
  while (count > 0) {
    int64_t n = std::min<int64_t>(count, 56);
    uint64_t chunk;
    std::memcpy(&chunk, bytes + src_bit / 8, sizeof chunk);
    chunk = (chunk >> (src_bit % 8)) & ((uint64_t{1} << n) - 1);
    int64_t word = dst_bit / 64, shift = dst_bit % 64;
    dst[word] |= chunk << shift;
    if (shift + n > 64)
      dst[word + 1] |= chunk >> (64 - shift);
    src_bit += n;
    dst_bit += n;
    count -= n;
  }
}

} // namespace

void Im2col(KernelContext &ctx) {
  const auto &x = ctx.Bits(0);
  Im2colGeometry g = GeometryOf(ctx.instruction().im2col(), ctx.In(0));
  const Window2D &win = g.win;
  int64_t fan_in = g.field_channels * win.kh * win.kw;
  auto &y = ctx.NewBits();
  int64_t row = 0;
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow, ++row) {
        uint8_t *out = y.data() + row * fan_in;
        for (int64_t c = 0; c < g.field_channels; ++c)
          for (int64_t kh = 0; kh < win.kh; ++kh)
            for (int64_t kw = 0; kw < win.kw; ++kw) {
              int64_t ih = WindowInput(oh, kh, win.sh, win.ph, win.dh);
              int64_t iw = WindowInput(ow, kw, win.sw, win.pw, win.dw);
              bool inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width;
              *out++ =
                  inside
                      ? x[((n * g.channels + g.channel_offset + c) * g.height +
                           ih) *
                              g.width +
                          iw]
                      : g.padding;
            }
      }
}

FieldLines FieldLinesOf(const Instruction::Im2col &attrs, const Shape &xs) {
  Im2colGeometry g = GeometryOf(attrs, xs);
  FieldLines lines;
  lines.channels = g.field_channels;
  lines.positions = g.win.pw + g.width + g.pad_w_end;
  lines.pad_begin = g.win.pw;
  int64_t bits = lines.positions * lines.channels;
  lines.line_bytes = ((bits + 63) / 64 + 1) * 8;
  lines.lines = g.batch * g.height + 1;
  lines.padding = g.padding ? 0xff : 0;
  return lines;
}

void GatherFields(const Instruction::Im2col &attrs, const Shape &xs,
                  const uint8_t *lines, int64_t words, uint64_t *out) {
  Im2colGeometry g = GeometryOf(attrs, xs);
  FieldLines at = FieldLinesOf(attrs, xs);
  const Window2D &win = g.win;
  int64_t channels = g.field_channels;
  const uint8_t *padding_line = lines + (at.lines - 1) * at.line_bytes;
  // Taps next to each other along the width make one span per kh.
  int64_t span = win.dw == 1 ? win.kw : 1;
  auto line_of = [&](int64_t n, int64_t oh, int64_t kh) {
    int64_t ih = WindowInput(oh, kh, win.sh, win.ph, win.dh);
    return ih >= 0 && ih < g.height
               ? lines + (n * g.height + ih) * at.line_bytes
               : padding_line;
  };
  if (channels % 8 == 0) {
    // Whole bytes: a line of outputs at a time, the spans copied one after
    // the other from the lines of their taps.
    int64_t c8 = channels / 8;
    thread_local std::vector<const uint8_t *> sources;
    sources.resize(win.kh * (win.kw / span));
    for (int64_t n = 0; n < g.batch; ++n)
      for (int64_t oh = 0; oh < g.out_h; ++oh, out += g.out_w * words) {
        for (int64_t kh = 0, t = 0; kh < win.kh; ++kh)
          for (int64_t kw = 0; kw < win.kw; kw += span, ++t)
            sources[t] = line_of(n, oh, kh) + kw * win.dw * c8;
        GatherSpans(sources.data(), static_cast<int64_t>(sources.size()),
                    span * c8, win.sw * c8, g.out_w, words, out);
      }
    return;
  }
  std::fill(out, out + g.batch * g.out_h * g.out_w * words, 0);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow, out += words)
        for (int64_t kh = 0; kh < win.kh; ++kh) {
          const uint8_t *line = line_of(n, oh, kh);
          // The line's position for input column iw is iw + pw.
          for (int64_t kw = 0; kw < win.kw; kw += span)
            OrBits(line, (ow * win.sw + kw * win.dw) * channels,
                   span * channels, out, (kh * win.kw + kw) * channels);
        }
}

void PackIm2colRows(const Instruction::Im2col &attrs, const Shape &xs,
                    const uint8_t *x, int64_t words, uint64_t *out) {
  Im2colGeometry g = GeometryOf(attrs, xs);
  FieldLines at = FieldLinesOf(attrs, xs);
  int64_t channels = g.field_channels, padded = at.positions * channels;
  // Each input row copied position-major into a line of bytes, one per
  // bit, with the padding on both sides, then packed.
  thread_local std::vector<uint64_t> lines;
  thread_local std::vector<uint8_t> line;
  int64_t line_words = at.line_bytes / 8;
  lines.assign(at.lines * line_words, 0);
  line.assign(padded, g.padding);
  for (int64_t n = 0, r = 0; n < g.batch; ++n)
    for (int64_t ih = 0; ih < g.height; ++ih, ++r) {
      // Locals for the bounds: a byte store may alias any memory, `g`
      // included, which would reload them on every element.
      const int64_t width = g.width, plane = g.height * g.width;
      const uint8_t *in =
          x + ((n * g.channels + g.channel_offset) * g.height + ih) * width;
      uint8_t *to = line.data() + g.win.pw * channels;
      for (int64_t c = 0; c < channels; ++c, in += plane)
        for (int64_t iw = 0; iw < width; ++iw)
          to[iw * channels + c] = in[iw];
      PackBits(line.data(), padded, lines.data() + r * line_words);
    }
  std::fill(line.begin(), line.end(), g.padding);
  PackBits(line.data(), padded, lines.data() + (at.lines - 1) * line_words);
  GatherFields(attrs, xs, reinterpret_cast<const uint8_t *>(lines.data()),
               words, out);
}

void XnorRead(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Simulator::PackedArray &array = ctx.array(i.xnor_read().array());
  const auto &x = ctx.Bits(0);
  Shape xs = ctx.In(0);
  int64_t batch = xs[0], columns = array.columns, rows = array.rows;
  auto &y = ctx.NewCounts();
  // Drive the bit lines: pack each input slice like a row.
  BinaryScratch &scratch = ThreadScratch();
  scratch.packed.resize(batch * array.words);
  for (int64_t b = 0; b < batch; ++b)
    PackBits(x.data() + b * columns, columns,
             scratch.packed.data() + b * array.words);
  XorPopcountGemm(array.bits.data(), rows, scratch.packed.data(), batch,
                  array.words, y.data());
  for (int32_t &count : y)
    count = static_cast<int32_t>(columns) - count;
  ctx.AddRowReads(batch * array.rows_used);
  ctx.AddArrayActivations(batch);
}

void Accumulate(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  auto &y = ctx.NewCounts();
  std::fill(y.begin(), y.end(),
            static_cast<int32_t>(i.accumulate().correction()));
  for (uint32_t input : i.inputs()) {
    const auto &partial = ctx.CountsOf(input);
    for (size_t e = 0; e < y.size(); ++e)
      y[e] += partial[e];
  }
  ctx.AddDigitalOps(y.size() * i.inputs_size());
}

void Collect(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  Shape ys = ctx.Out();
  int64_t rows = ctx.program().chip().array().rows();
  int64_t batch = ctx.In(0)[0];
  int64_t outputs = ys[1];
  int64_t positions = NumElements(ys) / (ys[0] * outputs);
  auto &y = ctx.NewCounts();
  int64_t first = 0;
  for (int k = 0; k < i.inputs_size(); ++k) {
    const auto &tile = ctx.Counts(k);
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

void Threshold(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Threshold &attrs = i.threshold();
  const auto &x = ctx.Counts(0);
  auto &y = ctx.NewBitsToOverwrite();
  ctx.AddDigitalOps(x.size());
  // Per channel, its threshold at every position (the border positions'
  // own), then one comparison per element.
  Shape xs = ctx.In(0);
  int64_t channels = xs[1], inner = NumElements(xs) / (xs[0] * channels);
  int64_t borders = attrs.border_positions_size();
  thread_local std::vector<int32_t> thresholds;
  thresholds.resize(inner);
  const int32_t *in = x.data();
  uint8_t *out = y.data();
  for (int64_t n = 0; n < xs[0]; ++n)
    for (int64_t c = 0; c < channels; ++c, in += inner, out += inner) {
      std::fill(thresholds.begin(), thresholds.end(), attrs.thresholds(c));
      for (int64_t b = 0; b < borders; ++b)
        thresholds[attrs.border_positions(b)] =
            attrs.border_thresholds(c * borders + b);
      const int32_t *t = thresholds.data();
      if (attrs.inverted(c))
        for (int64_t k = 0; k < inner; ++k)
          out[k] = in[k] <= t[k];
      else
        for (int64_t k = 0; k < inner; ++k)
          out[k] = in[k] >= t[k];
    }
}

void PopcountAffine(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::PopcountAffine &attrs = i.popcount_affine();
  const auto &x = ctx.Counts(0);
  auto &y = ctx.NewReal();
  ForEachChannelWithBorder(ctx.In(0), attrs.border_positions(),
                           [&](int64_t e, int64_t c, int64_t border) {
                             // As bnn.popcount_affine: the product, then the
                             // sum, in f32.
                             int64_t offset =
                                 border < 0 ? 0 : attrs.border_offsets(border);
                             float sum = static_cast<float>(
                                 2 * int64_t{x[e]} - attrs.fan_in() - offset);
                             float product = attrs.scale(c) * sum;
                             y[e] = product + attrs.bias(c);
                           });
  ctx.AddDigitalOps(2 * x.size());
}

namespace {

// The rows a tiled layer reads per run, and its output positions.
struct TiledShape {
  int64_t rows, positions;
};
TiledShape ShapeOfTiled(const KernelContext &ctx,
                        const Simulator::FusedLayer &layer) {
  Shape ys = ctx.Out();
  return {layer.rows, NumElements(ys) / (ys[0] * layer.outputs)};
}

// Packs the input rows of every run, one after the other.
void PackRuns(KernelContext *const *runs, int64_t count,
              const Simulator::FusedLayer &layer, int64_t rows,
              std::vector<uint64_t> &packed) {
  packed.resize(count * rows * layer.words);
  for (int64_t k = 0; k < count; ++k) {
    const auto &x = runs[k]->BitsOf(layer.source);
    uint64_t *out = packed.data() + k * rows * layer.words;
    if (layer.im2col >= 0) {
      const Program &program = runs[k]->program();
      const Instruction &im2col = program.instructions(layer.im2col);
      Shape xs = ShapeOf(program.buffers(im2col.inputs(0)));
      if (layer.reads_lines)
        GatherFields(im2col.im2col(), xs, x.data(), layer.words, out);
      else
        PackIm2colRows(im2col.im2col(), xs, x.data(), layer.words, out);
      continue;
    }
    for (int64_t b = 0; b < rows; ++b)
      PackBits(x.data() + b * layer.fan_in, layer.fan_in,
               out + b * layer.words);
  }
}

// ORs `n` bytes of `src` into `dst`: words, then a half word, then bytes
// (a position's bits are 4 or 8 bytes in the common layers).
inline void OrBytes(const uint8_t *src, int64_t n, uint8_t *dst) {
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    uint64_t a, b;
    std::memcpy(&a, src + k, 8);
    std::memcpy(&b, dst + k, 8);
    a |= b;
    std::memcpy(dst + k, &a, 8);
  }
  if (k + 4 <= n) {
    uint32_t a, b;
    std::memcpy(&a, src + k, 4);
    std::memcpy(&b, dst + k, 4);
    a |= b;
    std::memcpy(dst + k, &a, 4);
    k += 4;
  }
  for (; k < n; ++k)
    dst[k] |= src[k];
}

// The limits of the layer's threshold (FusedLayer::limits) on a chip whose
// padding cells `padding_errors` (null: none) read -1: each takes one
// agreement away from its neuron, and moves its limits by one.
const int32_t *LimitsOn(const Simulator::FusedLayer &layer,
                        const int32_t *padding_errors) {
  if (!padding_errors)
    return layer.limits.data();
  thread_local std::vector<int32_t> moved;
  moved.resize(layer.limits.size());
  for (size_t e = 0; e < moved.size(); ++e) {
    int64_t m = static_cast<int64_t>(e) % layer.outputs;
    moved[e] = layer.limits[e] +
               (layer.negate[m] ? padding_errors[m] : -padding_errors[m]);
  }
  return moved.data();
}

// The bit max pooling `pool` of `samples` samples' positions of `bytes`
// bytes each (their bits, as ThresholdRows writes them) into `pooled`: each
// pooled position the OR of its window's positions (the padding never
// wins).
void PoolPositionBits(const Program &program, const Instruction &pool,
                      int64_t samples, int64_t bytes, const uint8_t *bits,
                      std::vector<uint8_t> &pooled) {
  Shape ps = ShapeOf(program.buffers(pool.inputs(0)));
  auto [unused_n, unused_c, in_h, in_w] = To4D(ps);
  auto [unused_pn, unused_pc, out_h, out_w] =
      To4D(ShapeOf(program.buffers(pool.output())));
  Window2D win =
      To2D(ResolveWindow(pool.bit_max_pool().window(), ps.size() - 2));
  pooled.assign(samples * out_h * out_w * bytes, 0);
  for (int64_t n = 0; n < samples; ++n) {
    const uint8_t *in = bits + n * in_h * in_w * bytes;
    for (int64_t oh = 0; oh < out_h; ++oh) {
      uint8_t *out = pooled.data() + (n * out_h + oh) * out_w * bytes;
      for (int64_t kh = 0; kh < win.kh; ++kh) {
        int64_t ih = WindowInput(oh, kh, win.sh, win.ph, win.dh);
        if (ih < 0 || ih >= in_h)
          continue;
        for (int64_t kw = 0; kw < win.kw; ++kw)
          for (int64_t ow = 0; ow < out_w; ++ow) {
            int64_t iw = WindowInput(ow, kw, win.sw, win.pw, win.dw);
            if (iw >= 0 && iw < in_w)
              OrBytes(in + (ih * in_w + iw) * bytes, bytes, out + ow * bytes);
          }
      }
    }
  }
}

// Stores one run's thresholded bits (its rows of ThresholdRows' bits),
// pooled by the layer's bit max pooling when it has one: straight into the
// field lines of the next layer, or as the value's bits, a byte each.
void StoreThresholdBits(KernelContext &ctx, const Simulator::FusedLayer &layer,
                        TiledShape shape, const uint8_t *bits) {
  const Program &program = ctx.program();
  int64_t outputs = layer.outputs, positions = shape.positions;
  int64_t samples = shape.rows / positions, row_bytes = (outputs + 7) / 8;
  ctx.AddDigitalOps(layer.epilogue_ops);
  if (layer.pool >= 0) {
    thread_local std::vector<uint8_t> pooled;
    const Instruction &pool = program.instructions(layer.pool);
    PoolPositionBits(program, pool, samples, row_bytes, bits, pooled);
    bits = pooled.data();
    Shape ys = ShapeOf(program.buffers(pool.output()));
    positions = NumElements(ys) / (ys[0] * ys[1]);
  }
  if (layer.lines_im2col < 0) {
    auto &y =
        ctx.NewBitsToOverwrite(layer.output, samples * outputs * positions);
    for (int64_t n = 0; n < samples; ++n) {
      // Positions x outputs to the outputs' planes.
      uint8_t *out = y.data() + n * outputs * positions;
      const uint8_t *in = bits + n * positions * row_bytes;
      for (int64_t m = 0; m < outputs; ++m, out += positions) {
        int64_t byte = m / 8, shift = m % 8;
        for (int64_t p = 0; p < positions; ++p)
          out[p] = (in[p * row_bytes + byte] >> shift) & 1;
      }
    }
    return;
  }
  const Instruction &im2col = program.instructions(layer.lines_im2col);
  Shape xs = ShapeOf(program.buffers(im2col.inputs(0)));
  FieldLines at = FieldLinesOf(im2col.im2col(), xs);
  auto [unused_n, unused_c, height, width] = To4D(xs);
  // The channels are the outputs, a whole number of bytes (setup checks).
  int64_t c8 = row_bytes;
  uint8_t *lines = NewFieldLines(ctx, layer.output, at, width);
  for (int64_t l = 0; l + 1 < at.lines; ++l)
    std::memcpy(lines + l * at.line_bytes + at.pad_begin * c8,
                bits + l * width * c8, width * c8);
}

// What the chip did for one run of a tiled layer.
void AddTiledStats(KernelContext &ctx, const Simulator::FusedLayer &layer,
                   TiledShape shape) {
  ctx.AddRowReads(shape.rows * layer.row_reads_per_sample);
  ctx.AddArrayActivations(shape.rows * layer.activations_per_sample);
  ctx.AddDigitalOps(shape.rows * layer.digital_ops_per_sample);
}

// Each run's result from its rows' disagreements (rows x outputs per run),
// and what the chip did.
void WriteTiled(KernelContext *const *runs, int64_t count,
                const Simulator::FusedLayer &layer, TiledShape shape,
                const int32_t *disagreements, const int32_t *padding_errors) {
  int32_t fan_in = static_cast<int32_t>(layer.fan_in);
  for (int64_t k = 0; k < count; ++k) {
    KernelContext &ctx = *runs[k];
    const int32_t *counts = disagreements + k * shape.rows * layer.outputs;
    AddTiledStats(ctx, layer, shape);
    if (layer.threshold >= 0) {
      int64_t row_bytes = (layer.outputs + 7) / 8;
      thread_local std::vector<uint8_t> bits;
      bits.resize(shape.rows * row_bytes);
      const int32_t *limits = LimitsOn(layer, padding_errors);
      for (int64_t r = 0; r < shape.rows; r += shape.positions)
        ThresholdRows(counts + r * layer.outputs, shape.positions,
                      layer.outputs, layer.negate.data(), limits,
                      layer.position_classes.data(),
                      bits.data() + r * row_bytes, row_bytes);
      StoreThresholdBits(ctx, layer, shape, bits.data());
      continue;
    }
    auto &y = ctx.NewCountsToOverwrite();
    // Rows x outputs to outputs x positions of each sample, a block of rows
    // at a time: the block's rows stay in the cache while each output's run
    // of positions is written.
    constexpr int64_t kBlock = 16;
    for (int64_t n = 0; n * shape.positions < shape.rows; ++n)
      for (int64_t p0 = 0; p0 < shape.positions; p0 += kBlock) {
        int64_t p1 = std::min(shape.positions, p0 + kBlock);
        const int32_t *rows = counts + (n * shape.positions) * layer.outputs;
        int32_t *out = y.data() + n * layer.outputs * shape.positions;
        for (int64_t m = 0; m < layer.outputs; ++m) {
          int32_t agree = fan_in - (padding_errors ? padding_errors[m] : 0);
          for (int64_t p = p0; p < p1; ++p)
            out[m * shape.positions + p] = agree - rows[p * layer.outputs + m];
        }
      }
  }
}

} // namespace

void TiledLayer(KernelContext &ctx, const Simulator::FusedLayer &layer,
                const uint64_t *weights, const int32_t *padding_errors) {
  KernelContext *one = &ctx;
  TiledLayers(&one, 1, layer, weights, padding_errors);
}

void TiledLayers(KernelContext *const *runs, int64_t count,
                 const Simulator::FusedLayer &layer, const uint64_t *weights,
                 const int32_t *padding_errors) {
  if (count == 0)
    return;
  TiledShape shape = ShapeOfTiled(*runs[0], layer);
  // Every input row of every run packed, then one binary GEMM: each weight
  // row is loaded once for several input rows (a convolution's positions, a
  // batch's samples, the runs' samples).
  BinaryScratch &scratch = ThreadScratch();
  PackRuns(runs, count, layer, shape.rows, scratch.packed);
  int64_t rows = count * shape.rows;
  if (layer.threshold >= 0) {
    // The threshold applied as the GEMM's popcounts come out.
    int64_t row_bytes = (layer.outputs + 7) / 8;
    thread_local std::vector<uint8_t> bits;
    thread_local std::vector<int32_t> classes;
    bits.resize(rows * row_bytes);
    classes.resize(rows);
    for (int64_t r = 0, p = 0; r < rows;
         ++r, p = p + 1 == shape.positions ? 0 : p + 1)
      classes[r] = layer.position_classes[p];
    XorPopcountGemmThreshold(weights, layer.outputs, scratch.packed.data(),
                             rows, layer.words, layer.negate.data(),
                             LimitsOn(layer, padding_errors), classes.data(),
                             bits.data());
    for (int64_t k = 0; k < count; ++k) {
      AddTiledStats(*runs[k], layer, shape);
      StoreThresholdBits(*runs[k], layer, shape,
                         bits.data() + k * shape.rows * row_bytes);
    }
    return;
  }
  scratch.counts.resize(rows * layer.outputs);
  XorPopcountGemm(weights, layer.outputs, scratch.packed.data(), rows,
                  layer.words, scratch.counts.data());
  WriteTiled(runs, count, layer, shape, scratch.counts.data(), padding_errors);
}

void TiledLayersOnSharedInputs(KernelContext *const *runs, int64_t count,
                               const Simulator::FusedLayer &layer,
                               const Simulator::ChipState *chip,
                               int instruction, TiledInputs &shared) {
  if (count == 0)
    return;
  TiledShape shape = ShapeOfTiled(*runs[0], layer);
  int64_t rows = count * shape.rows;
  if (!shared.ready) {
    PackRuns(runs, count, layer, shape.rows, shared.packed);
    shared.disagreements.resize(rows * layer.outputs);
    XorPopcountGemm(layer.weights.data(), layer.outputs, shared.packed.data(),
                    rows, layer.words, shared.disagreements.data());
    shared.transposed.resize(rows * layer.words);
    for (int64_t b = 0; b < rows; ++b)
      for (int64_t w = 0; w < layer.words; ++w)
        shared.transposed[w * rows + b] = shared.packed[b * layer.words + w];
    shared.ready = true;
  }
  if (!chip)
    return WriteTiled(runs, count, layer, shape, shared.disagreements.data(),
                      nullptr);
  const uint64_t *weights = chip->fused_weights[instruction].data();
  const int32_t *padding = chip->fused_padding_errors[instruction].data();
  const auto &flipped = chip->fused_flipped_words[instruction];
  BinaryScratch &scratch = ThreadScratch();
  scratch.counts.resize(rows * layer.outputs);
  int32_t *counts = scratch.counts.data();
  // Few words differ from the error-free rows: popcount(x ^ w ^ f) is
  // popcount(x ^ w) + popcount(f) - 2 popcount((x ^ w) & f), word by
  // flipped word. Many: the whole GEMM on the chip's rows.
  if (static_cast<int64_t>(flipped.size()) * 2 >= layer.outputs * layer.words) {
    XorPopcountGemm(weights, layer.outputs, shared.packed.data(), rows,
                    layer.words, counts);
    return WriteTiled(runs, count, layer, shape, counts, padding);
  }
  std::copy(shared.disagreements.begin(),
            shared.disagreements.begin() + rows * layer.outputs, counts);
  CorrectFlippedWords(shared.transposed.data(), rows, flipped.data(),
                      static_cast<int64_t>(flipped.size()), counts,
                      layer.outputs);
  WriteTiled(runs, count, layer, shape, counts, padding);
}

void BuildTiledRows(const Simulator::FusedLayer &layer,
                    const std::vector<Simulator::PackedArray> &arrays,
                    int64_t columns, std::vector<uint64_t> &weights,
                    std::vector<int32_t> &padding_errors) {
  weights.assign(layer.outputs * layer.words, 0);
  padding_errors.assign(layer.outputs, 0);
  int64_t neuron = 0;
  for (size_t t = 0; t < layer.row_tiles.size(); ++t) {
    int64_t used = layer.rows_used[t];
    for (auto [array_index, tile] : layer.row_tiles[t]) {
      const Simulator::PackedArray &array = arrays[array_index];
      for (int64_t r = 0; r < used; ++r)
        for (int64_t c = 0; c < columns; ++c) {
          uint64_t bit = (array.bits[r * array.words + c / 64] >> (c % 64)) & 1;
          int64_t k = tile * columns + c;
          int64_t at = layer.BitOf(k);
          if (k < layer.fan_in)
            weights[(neuron + r) * layer.words + at / 64] |= bit << (at % 64);
          else
            // A padding cell reads a +1 input: it agrees unless flipped.
            padding_errors[neuron + r] += bit == 0;
        }
    }
    neuron += used;
  }
}

} // namespace kernels

int64_t XnorPopcount(const uint64_t *row, const uint64_t *input, int64_t words,
                     int64_t columns) {
  // Unused high bits are zero on both sides, so XOR leaves them zero.
  return columns - kernels::XorPopcount(row, input, words);
}

} // namespace hafnia
