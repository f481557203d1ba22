// Size limits that compiler and runtime both enforce, so that a model the
// compiler accepts is a program the runtime accepts. Dependency-free.

#ifndef HAFNIA_RUNTIME_LIMITS_H
#define HAFNIA_RUNTIME_LIMITS_H

#include <cstdint>

namespace hafnia {

// The most elements a tensor (a model's tensor, a program's buffer) may
// have: 2^31, 8 GiB of float32. No real model needs more, and a corrupt
// shape must not make a tool allocate gigabytes. For buffers the bound holds
// for the product of the non-zero dimensions, so any product of some of
// them is within it too.
constexpr int64_t kMaxTensorElements = int64_t{1} << 31;

// Window attributes (kernel, strides, pads, dilations), pads, group counts
// and fan-ins above this are refused before any shape arithmetic: with
// dimensions of at most 2^31, the sums and products of two stay far inside
// int64.
constexpr int64_t kMaxAttribute = int64_t{1} << 31;

// A transposed convolution's strides, dilations and output padding above
// this are refused: its output size multiplies the input size by them.
constexpr int64_t kMaxTransposedStep = int64_t{1} << 20;

} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIMITS_H
