// Shape arithmetic shared by the program validator and the simulator's
// kernels, so that what is checked is what is executed.

#ifndef HAFNIA_RUNTIME_SHAPES_H
#define HAFNIA_RUNTIME_SHAPES_H

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "hafnia/proto/program.pb.h"

namespace hafnia {

int64_t NumElements(const std::vector<int64_t> &shape);

// The spatial output shape of a window over an N x C x spatial... input;
// checks the window's sizes (empty strides, pads and dilations mean 1, 0, 1).
absl::StatusOr<std::vector<int64_t>>
WindowedShape(const std::vector<int64_t> &input, const Window &window,
              bool ceil_mode);

// NumPy broadcasting of two shapes.
absl::StatusOr<std::vector<int64_t>>
BroadcastShape(const std::vector<int64_t> &a, const std::vector<int64_t> &b);

// The result of bnn.dense: Gemm (rank 2, transposes, bias broadcast to the
// result) or NumPy matmul.
absl::StatusOr<std::vector<int64_t>>
DenseShape(const std::vector<int64_t> &lhs, const std::vector<int64_t> &rhs,
           bool transpose_lhs, bool transpose_rhs, bool has_bias,
           const std::vector<int64_t> &bias);

// The result of a pad (non-negative pads, 2 per axis; reflect needs pads
// smaller than the axis).
absl::StatusOr<std::vector<int64_t>> PadShape(const std::vector<int64_t> &input,
                                              const Instruction::Pad &pad);

// The result of a reduction over sorted, distinct axes.
absl::StatusOr<std::vector<int64_t>>
ReduceShape(const std::vector<int64_t> &input,
            const Instruction::Reduce &reduce);

// Checks that a slice of `input` reads inside it and gives `output`.
absl::Status CheckSlice(const std::vector<int64_t> &input,
                        const std::vector<int64_t> &output,
                        const Instruction::Slice &slice);

// Checks that a gather from `input` has its indices in range and gives
// `output`; `outer`, `count` and `inner` are the sizes the kernel loops over.
absl::Status CheckGather(const std::vector<int64_t> &input,
                         const std::vector<int64_t> &output,
                         const Instruction::Gather &gather);

// The result of a transposed convolution of `input` (N x C x spatial) with
// `weight` (C x M/group x kernel).
absl::StatusOr<std::vector<int64_t>>
ConvTransposeShape(const std::vector<int64_t> &input,
                   const std::vector<int64_t> &weight,
                   const Instruction::ConvTranspose &conv);

// Checks a resize from `input` to `output`: same rank, non-empty axes, one
// positive scale per axis, known modes.
absl::Status CheckResizeShape(const std::vector<int64_t> &input,
                              const std::vector<int64_t> &output,
                              const Instruction::Resize &resize);

// The result of an ArgMax; the axis may hold at most 2^24 elements, so that
// every index is exact in f32.
absl::StatusOr<std::vector<int64_t>>
ArgMaxShape(const std::vector<int64_t> &input,
            const Instruction::ArgMax &arg_max);

// Window attributes with defaults filled in, one entry per spatial axis.
struct WindowSpec {
  std::vector<int64_t> kernel, strides, pads_begin, pads_end, dilations;
};
WindowSpec ResolveWindow(const Window &window, size_t spatial);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_SHAPES_H
