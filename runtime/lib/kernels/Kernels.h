// The simulator's kernels: one function per instruction, in four families,
// each in a file of its own so that one family can be replaced (by a BLAS or
// oneDNN call, by SIMD code chosen for the host CPU) without touching the
// others or the simulator:
//
//   RealKernels.cpp         convolutions, dense layers, normalizations
//   ElementwiseKernels.cpp  activations, elementwise ops, softmax, pooling,
//                           reductions, arg max and hard max
//   LayoutKernels.cpp       reshape, transpose, concat, pad, slice, gather,
//                           resize
//   BinaryKernels.cpp       binarize, bit max pool, im2col, input slices,
//                           XNOR reads, accumulate, collect, threshold,
//                           popcount affine, and tiled layers on whole rows
//
// A kernel reads its operands and writes its result through a
// KernelContext, adds what it did to the run's statistics, and trusts
// ValidateProgram for its shapes and indices. A real kernel may have a Plan,
// made once per program (weights laid out for oneDNN, batch norm folded
// into a scale and a shift, the activation that follows it absorbed).
// Private to the runtime.

#ifndef HAFNIA_RUNTIME_LIB_KERNELS_KERNELS_H
#define HAFNIA_RUNTIME_LIB_KERNELS_KERNELS_H

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "hafnia/proto/program.pb.h"
#include "hafnia/proto/report.pb.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"

namespace hafnia {
namespace kernels {

using Shape = std::vector<int64_t>;

// What a kernel computes once per program rather than once per run. A plan
// may absorb the instructions that follow its own (a batch norm, then an
// activation, whose intermediate values nothing else reads): it then writes
// the output of the last of them, adds their statistics, and they are not
// run.
class Plan {
public:
  virtual ~Plan() = default;
  // The buffer the planned kernel writes.
  uint32_t output = 0;
  // The floats its slot holds, when not the buffer's element count (a value
  // kept in oneDNN's layout, its channels padded to whole blocks); or -1.
  int64_t output_size = -1;
  // Indices of the instructions it absorbs, in order.
  std::vector<int> absorbed;
};
using Plans = std::vector<std::shared_ptr<const Plan>>;

// The plan of a binarization whose bits only the fields of one fused layer
// read, all their channels, a whole number of bytes per position: the bits
// are written as that layer's field lines (FieldLines, below), which the
// layer then gathers its fields from, instead of a byte per bit.
struct BinarizeToLines : Plan {
  int im2col = -1;
};

// The bytes to reserve for a value of `bytes`: as many, or for a value of a
// huge page (2 MiB) or more, whole huge pages less one small page (room for
// the allocator's header), so that its block can be a mapping of whole huge
// pages, which the kernel aligns to them.
size_t ValueCapacity(size_t bytes);
// Asks the kernel to back the pages of [data, data + bytes) with huge pages
// when they are first touched (Linux transparent huge pages, whose default
// mode backs only such memory); nothing for a block under a huge page, or
// elsewhere. The values of a run stream through their buffers: with small
// pages a large one costs a TLB miss every 4 KiB (MobileNet takes 1-2% less
// time with its chain's two buffers on huge pages; docs/performance.md).
void AdviseHugePages(void *data, size_t bytes);

// Makes room for `count` elements in a value's buffer that is about to be
// overwritten: a buffer too small is replaced by one of ValueCapacity,
// advised onto huge pages before anything touches it (its contents are
// dropped).
template <typename T> void ReserveValue(std::vector<T> &value, size_t count) {
  if (value.capacity() >= count)
    return;
  std::vector<T> fresh;
  fresh.reserve(ValueCapacity(count * sizeof(T)) / sizeof(T));
  AdviseHugePages(fresh.data(), fresh.capacity() * sizeof(T));
  value.swap(fresh);
}

// The values of one run, by slot: reals, bits or popcounts.
struct RunValues {
  std::vector<std::vector<float>> reals;
  std::vector<std::vector<uint8_t>> bits;
  std::vector<std::vector<int32_t>> counts;
};

// What the kernels of one run share: the program, the chip's arrays as the
// sense amplifiers read them, the constants (the same in every run), where
// each computed buffer lives, the values and the statistics.
struct RunState {
  const Program &program;
  const std::vector<Simulator::PackedArray> &arrays;
  // By buffer; empty for buffers that are not constants.
  const std::vector<std::vector<float>> &constants;
  const std::vector<std::vector<uint8_t>> &bit_constants;
  // By buffer: the slot of `values` that holds it, or -1 for constants.
  const std::vector<int64_t> &slots;
  // By instruction; null for kernels without a plan.
  const Plans &plans;
  // Convolutions and dense layers on the reference loops (no plans).
  bool reference_kernels;
  RunValues &values;
  SimulationStats &stats;
  // Inputs read where the caller holds them, not copied into their slots:
  // (buffer, its value).
  std::vector<std::pair<uint32_t, const std::vector<float> *>> input_views;
};

// One instruction's view of a run: its operands, its result and the
// statistics.
class KernelContext {
public:
  KernelContext(RunState &state, const Instruction &instruction,
                const Plan *plan = nullptr)
      : state_(state), instruction_(instruction), plan_(plan),
        output_(plan ? plan->output : instruction.output()) {}

  const Instruction &instruction() const { return instruction_; }
  const Plan *plan() const { return plan_; }
  bool reference_kernels() const { return state_.reference_kernels; }
  const Program &program() const { return state_.program; }
  const Simulator::PackedArray &array(uint32_t index) const {
    return state_.arrays[index];
  }

  // Operand `k` of the instruction.
  const std::vector<float> &Real(int k) const {
    return RealOf(instruction_.inputs(k));
  }
  const std::vector<uint8_t> &Bits(int k) const {
    return BitsOf(instruction_.inputs(k));
  }
  const std::vector<int32_t> &Counts(int k) const {
    return CountsOf(instruction_.inputs(k));
  }
  Shape In(int k) const {
    return ShapeOf(program().buffers(instruction_.inputs(k)));
  }
  // The shape of the instruction's output (that of what a plan writes too:
  // the instructions it absorbs work element by element).
  Shape Out() const {
    return ShapeOf(program().buffers(instruction_.output()));
  }

  // Any buffer's value (an input or a constant, for reals and bits).
  const std::vector<float> &RealOf(uint32_t buffer) const {
    int64_t slot = state_.slots[buffer];
    if (slot < 0)
      return state_.constants[buffer];
    for (const auto &[input, view] : state_.input_views)
      if (input == buffer)
        return *view;
    return state_.values.reals[slot];
  }
  const std::vector<uint8_t> &BitsOf(uint32_t buffer) const {
    int64_t slot = state_.slots[buffer];
    return slot < 0 ? state_.bit_constants[buffer] : state_.values.bits[slot];
  }
  const std::vector<int32_t> &CountsOf(uint32_t buffer) const {
    return state_.values.counts[state_.slots[buffer]];
  }

  // The result, sized by its buffer's shape and zeroed.
  std::vector<float> &NewReal() { return New(state_.values.reals); }
  // The result, sized, for a kernel that writes every element: the values
  // it holds are left (no zero fill).
  std::vector<float> &NewRealToOverwrite() {
    return Overwrite(state_.values.reals);
  }
  // The same, `count` floats (a plan's output_size).
  std::vector<float> &NewRealToOverwrite(int64_t count) {
    auto &out = state_.values.reals[state_.slots[output_]];
    ReserveValue(out, count);
    out.resize(count);
    return out;
  }
  std::vector<int32_t> &NewCountsToOverwrite() {
    return Overwrite(state_.values.counts);
  }
  std::vector<uint8_t> &NewBitsToOverwrite() {
    return Overwrite(state_.values.bits);
  }
  std::vector<uint8_t> &NewBits() { return New(state_.values.bits); }
  std::vector<int32_t> &NewCounts() { return New(state_.values.counts); }
  // The bits of `buffer`, `count` of them, for a kernel that writes them
  // all (a fused layer writing what its threshold gives).
  std::vector<uint8_t> &NewBitsToOverwrite(uint32_t buffer, int64_t count) {
    auto &out = state_.values.bits[state_.slots[buffer]];
    out.resize(count);
    return out;
  }

  void AddDigitalOps(uint64_t n) {
    state_.stats.set_digital_ops(state_.stats.digital_ops() + n);
  }
  void AddDigitalMacs(uint64_t n) {
    state_.stats.set_digital_macs(state_.stats.digital_macs() + n);
  }
  void AddRowReads(uint64_t n) {
    state_.stats.set_row_reads(state_.stats.row_reads() + n);
  }
  void AddArrayActivations(uint64_t n) {
    state_.stats.set_array_activations(state_.stats.array_activations() + n);
  }

private:
  template <typename T>
  std::vector<T> &Overwrite(std::vector<std::vector<T>> &of) {
    auto &out = of[state_.slots[output_]];
    int64_t count = NumElements(ShapeOf(program().buffers(output_)));
    ReserveValue(out, count);
    out.resize(count);
    return out;
  }
  template <typename T> std::vector<T> &New(std::vector<std::vector<T>> &of) {
    auto &out = of[state_.slots[output_]];
    int64_t count = NumElements(ShapeOf(program().buffers(output_)));
    ReserveValue(out, count);
    out.assign(count, T{0});
    return out;
  }

  RunState &state_;
  const Instruction &instruction_;
  const Plan *plan_;
  uint32_t output_;
};

// Runs the kernel of the context's instruction.
void RunKernel(KernelContext &ctx);

// Real: the digital core's multiply-accumulate kernels, in f32 as ONNX
// defines them (not in ONNX's summation order: see docs/performance.md).
// Conv runs its plan's oneDNN convolution; without a plan, and Reference*
// always, the plain loops that sum each output's terms in (channel, tap)
// order, which the unit tests compare the library against.
void Conv(KernelContext &ctx);
void ConvTranspose(KernelContext &ctx);
void Dense(KernelContext &ctx);
void BatchNorm(KernelContext &ctx);
void LayerNorm(KernelContext &ctx);
void ReferenceConv(KernelContext &ctx);
void ReferenceDense(KernelContext &ctx);

// Plans for the real kernels of `program` (by instruction): convolutions on
// oneDNN with a following batch norm folded into their weights and a ReLU,
// Clip or SiLU after it fused; sigmoids and tanhs on oneDNN; batch norms as
// one multiply-add per element. An instruction a plan absorbs is marked in
// `replaced`. Instructions are absorbed only within the same side of
// `first_array_read` (the prefix that trials share, or the rest).
// `constants` by buffer, as the simulator's.
Plans PlanRealKernels(const Program &program,
                      const std::vector<std::vector<float>> &constants,
                      const std::vector<bool> &tiled, int first_array_read,
                      std::vector<bool> &replaced);

// Elementwise and pooling.
void Activation(KernelContext &ctx);
void Elementwise(KernelContext &ctx);
void Softmax(KernelContext &ctx);
void Pool(KernelContext &ctx);
void Reduce(KernelContext &ctx);
void ArgMax(KernelContext &ctx);
void Hardmax(KernelContext &ctx);

// Layout: values moved, not computed (Resize interpolates).
void Reshape(KernelContext &ctx);
void Transpose(KernelContext &ctx);
void Concat(KernelContext &ctx);
void Pad(KernelContext &ctx);
void Slice(KernelContext &ctx);
void Gather(KernelContext &ctx);
void Resize(KernelContext &ctx);

// Binary: the arrays and the digital logic around them.
void Binarize(KernelContext &ctx);
void BitMaxPool(KernelContext &ctx);
void InputSlice(KernelContext &ctx);
void Im2col(KernelContext &ctx);
// The rows Im2col would write for input `x` of shape `xs`, packed into rows
// of `words` words with their bits in the order of FusedLayer::BitOf (a
// window's channels and neighbouring taps are then whole runs of bits of a
// position-major copy of the input, its field lines below).
void PackIm2colRows(const Instruction::Im2col &attrs, const Shape &xs,
                    const uint8_t *x, int64_t words, uint64_t *out);
// The position-major copy of an im2col's input (of shape `xs`) that its
// fields are gathered from: for each sample and input row, a line of the
// row's positions with the padding positions on both sides, the field
// channels of a position as consecutive bits (channel c of position q at
// bit q * channels + c; bit k is bit k % 8 of byte k / 8); then one line
// of padding alone. Lines are `line_bytes` apart: whole words and a spare
// one, which the gathering may read.
struct FieldLines {
  // Positions per line, the padding's included, and those before the row.
  int64_t channels, positions, pad_begin, line_bytes, lines;
  uint8_t padding; // a byte of padding bits
  int64_t bytes() const { return lines * line_bytes; }
};
FieldLines FieldLinesOf(const Instruction::Im2col &attrs, const Shape &xs);
// PackIm2colRows from the field lines of its input.
void GatherFields(const Instruction::Im2col &attrs, const Shape &xs,
                  const uint8_t *lines, int64_t words, uint64_t *out);
void XnorRead(KernelContext &ctx);
void Accumulate(KernelContext &ctx);
void Collect(KernelContext &ctx);
void Threshold(KernelContext &ctx);
void PopcountAffine(KernelContext &ctx);

// A tiled layer on whole rows: the result of its collect (the context's
// instruction) from its source bits, with `weights` (outputs x words) the
// layer's rows and `padding_errors` (by neuron; null for none) the padding
// cells that read -1.
void TiledLayer(KernelContext &ctx, const Simulator::FusedLayer &layer,
                const uint64_t *weights, const int32_t *padding_errors);
// The same layer of `count` runs at once (each context the layer's collect
// in its own run, on the same chip): one binary GEMM over all their rows.
void TiledLayers(KernelContext *const *runs, int64_t count,
                 const Simulator::FusedLayer &layer, const uint64_t *weights,
                 const int32_t *padding_errors);

// The packed input rows of a group of runs' tiled layer when they are the
// same on every chip (the layer reads a value of the shared prefix), and
// their disagreements with the error-free rows: computed by the first call,
// reused by the calls for the other chips.
struct TiledInputs {
  bool ready = false;
  std::vector<uint64_t> packed;
  // The same words, words x rows, for CorrectFlippedWords.
  std::vector<uint64_t> transposed;
  std::vector<int32_t> disagreements;
};
// TiledLayers on `chip` (null: error-free) for the runs of `shared`: the
// error-free popcounts corrected word by flipped word when few words
// differ, the binary GEMM on the packed rows otherwise.
void TiledLayersOnSharedInputs(KernelContext *const *runs, int64_t count,
                               const Simulator::FusedLayer &layer,
                               const Simulator::ChipState *chip,
                               int instruction, TiledInputs &shared);

// The whole rows of a tiled layer from `arrays`, and per neuron the padding
// cells that read -1 instead of +1 (each takes one from the popcount).
void BuildTiledRows(const Simulator::FusedLayer &layer,
                    const std::vector<Simulator::PackedArray> &arrays,
                    int64_t columns, std::vector<uint64_t> &weights,
                    std::vector<int32_t> &padding_errors);

} // namespace kernels
} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIB_KERNELS_KERNELS_H
