// The binary domain: binarization, bit max pooling, receptive fields and
// input slices, the arrays' XNOR reads, the digital sums and joins of
// partial popcounts, thresholds and popcount affines; and tiled layers
// computed on whole rows, which give the same popcounts as their tiles. The
// popcounts and the packing of bits run at the host's SIMD level
// (Popcount.h).

#include "kernels/Kernels.h"

#include <algorithm>

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

void Binarize(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const auto &x = ctx.Real(0);
  auto &y = ctx.NewBits();
  // The chip's sense amplifier has no zero: a zero reads +1, NaN -1.
  const auto &thresholds = i.binarize().thresholds();
  if (thresholds.empty()) {
    for (size_t e = 0; e < x.size(); ++e)
      y[e] = x[e] >= 0;
  } else {
    // Per channel (axis 1) of [batch, channels, inner...].
    Shape xs = ctx.In(0);
    int64_t inner = NumElements(Shape(xs.begin() + 2, xs.end()));
    for (int64_t b = 0, e = 0; b < xs[0]; ++b)
      for (float threshold : thresholds)
        for (int64_t k = 0; k < inner; ++k, ++e)
          y[e] = x[e] >= threshold;
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
  auto &y = ctx.NewBits();
  for (int64_t nc = 0; nc < n_size * channels; ++nc)
    for (int64_t oh = 0; oh < out_h; ++oh)
      for (int64_t ow = 0; ow < out_w; ++ow) {
        uint8_t any = 0;
        for (int64_t kh = 0; kh < win.kh; ++kh) {
          int64_t ih = WindowInput(oh, kh, win.sh, win.ph, win.dh);
          for (int64_t kw = 0; kw < win.kw; ++kw) {
            int64_t iw = WindowInput(ow, kw, win.sw, win.pw, win.dw);
            if (ih >= 0 && ih < height && iw >= 0 && iw < width)
              any |= x[(nc * height + ih) * width + iw];
          }
        }
        y[(nc * out_h + oh) * out_w + ow] = any;
      }
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

void Im2col(KernelContext &ctx) {
  const Instruction &i = ctx.instruction();
  const Instruction::Im2col &attrs = i.im2col();
  const auto &x = ctx.Bits(0);
  Shape xs = ctx.In(0);
  auto [n_size, channels, height, width] = To4D(xs);
  WindowSpec spec = ResolveWindow(attrs.window(), xs.size() - 2);
  Window2D win = To2D(spec);
  int64_t pad_h =
      spec.kernel.size() == 1 ? 0 : spec.pads_begin[0] + spec.pads_end[0];
  int64_t pad_w = spec.pads_begin.back() + spec.pads_end.back();
  int64_t out_h = WindowedOutputSize(height, win.kh, win.sh, 0, pad_h, win.dh,
                                     /*ceil_mode=*/false);
  int64_t out_w = WindowedOutputSize(width, win.kw, win.sw, 0, pad_w, win.dw,
                                     /*ceil_mode=*/false);
  int64_t fan_in = attrs.channels() * win.kh * win.kw;
  uint8_t padding = attrs.pads_read_minus_one() ? 0 : 1;
  auto &y = ctx.NewBits();
  int64_t row = 0;
  for (int64_t n = 0; n < n_size; ++n)
    for (int64_t oh = 0; oh < out_h; ++oh)
      for (int64_t ow = 0; ow < out_w; ++ow, ++row) {
        uint8_t *out = y.data() + row * fan_in;
        for (int64_t c = 0; c < attrs.channels(); ++c)
          for (int64_t kh = 0; kh < win.kh; ++kh)
            for (int64_t kw = 0; kw < win.kw; ++kw) {
              int64_t ih = WindowInput(oh, kh, win.sh, win.ph, win.dh);
              int64_t iw = WindowInput(ow, kw, win.sw, win.pw, win.dw);
              // The padding reads +1 (the border tables correct for it
              // after a zero padding), or -1 when asked.
              bool inside = ih >= 0 && ih < height && iw >= 0 && iw < width;
              *out++ = inside ? x[((n * channels + attrs.channel_offset() + c) *
                                       height +
                                   ih) *
                                      width +
                                  iw]
                              : padding;
            }
      }
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
  auto &y = ctx.NewBits();
  ForEachChannelWithBorder(
      ctx.In(0), attrs.border_positions(),
      [&](int64_t e, int64_t c, int64_t border) {
        int32_t threshold =
            border < 0 ? attrs.thresholds(c) : attrs.border_thresholds(border);
        y[e] = attrs.inverted(c) ? x[e] <= threshold : x[e] >= threshold;
      });
  ctx.AddDigitalOps(x.size());
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
  int64_t rows =
      NumElements(ShapeOf(ctx.program().buffers(layer.source))) / layer.fan_in;
  Shape ys = ctx.Out();
  return {rows, NumElements(ys) / (ys[0] * layer.outputs)};
}

// Packs the input rows of every run, one after the other.
void PackRuns(KernelContext *const *runs, int64_t count,
              const Simulator::FusedLayer &layer, int64_t rows,
              std::vector<uint64_t> &packed) {
  packed.resize(count * rows * layer.words);
  for (int64_t k = 0; k < count; ++k) {
    const auto &x = runs[k]->BitsOf(layer.source);
    uint64_t *out = packed.data() + k * rows * layer.words;
    for (int64_t b = 0; b < rows; ++b)
      PackBits(x.data() + b * layer.fan_in, layer.fan_in,
               out + b * layer.words);
  }
}

// Each run's result from its rows' disagreements (rows x outputs per run),
// and what the chip did.
void WriteTiled(KernelContext *const *runs, int64_t count,
                const Simulator::FusedLayer &layer, TiledShape shape,
                const int32_t *disagreements, const int32_t *padding_errors) {
  int32_t fan_in = static_cast<int32_t>(layer.fan_in);
  for (int64_t k = 0; k < count; ++k) {
    KernelContext &ctx = *runs[k];
    auto &y = ctx.NewCountsToOverwrite();
    const int32_t *counts = disagreements + k * shape.rows * layer.outputs;
    for (int64_t b = 0; b < shape.rows; ++b) {
      int64_t n = b / shape.positions, p = b % shape.positions;
      const int32_t *row = counts + b * layer.outputs;
      int32_t *out = y.data() + n * layer.outputs * shape.positions + p;
      for (int64_t m = 0; m < layer.outputs; ++m)
        out[m * shape.positions] =
            fan_in - row[m] - (padding_errors ? padding_errors[m] : 0);
    }
    ctx.AddRowReads(shape.rows * layer.row_reads_per_sample);
    ctx.AddArrayActivations(shape.rows * layer.activations_per_sample);
    ctx.AddDigitalOps(shape.rows * layer.digital_ops_per_sample);
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
  scratch.counts.resize(count * shape.rows * layer.outputs);
  XorPopcountGemm(weights, layer.outputs, scratch.packed.data(),
                  count * shape.rows, layer.words, scratch.counts.data());
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

} // namespace kernels

int64_t XnorPopcount(const uint64_t *row, const uint64_t *input, int64_t words,
                     int64_t columns) {
  // Unused high bits are zero on both sides, so XOR leaves them zero.
  return columns - kernels::XorPopcount(row, input, words);
}

} // namespace hafnia
