// Tensor files of the simulator: NumPy .npy (inputs, labels, outputs; Npy.h)
// and ONNX TensorProto .pb (the ONNX test suite's inputs and references;
// TensorProto.h), plus the whole-file reads and atomic writes every runtime
// output goes through (FileIO.h). This header includes them all and adds
// reading by extension and batch splitting.
//
// Errors name the file and say what is wrong and what was expected.

#ifndef HAFNIA_RUNTIME_TENSORIO_H
#define HAFNIA_RUNTIME_TENSORIO_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hafnia/runtime/FileIO.h"
#include "hafnia/runtime/Npy.h"
#include "hafnia/runtime/Tensor.h"
#include "hafnia/runtime/TensorProto.h"

namespace hafnia {

// ReadNpy for ".npy", ReadTensorProto for ".pb" (any letter case); another
// extension is an error.
absl::StatusOr<Tensor> ReadTensor(const std::string &path);

// ReadTensor as a reader: a .npy file is read as the reader is asked for its
// elements (OpenNpy), a .pb file whole; the same errors for the same file.
absl::StatusOr<std::unique_ptr<TensorReader>>
OpenTensor(const std::string &path);
// A tensor in memory as a reader (not copied: it must outlive the reader).
std::unique_ptr<TensorReader> ReaderOf(const Tensor &tensor);

// The number of chunks SplitBatch splits a tensor of `tensor_shape` into, and
// its errors, without the data.
absl::StatusOr<int64_t> CountBatches(const std::vector<int64_t> &tensor_shape,
                                     const std::string &source,
                                     const std::string &name,
                                     const std::vector<int64_t> &shape);

// Splits `tensor`, a batch of samples along its first axis, into chunks of
// `shape` (a program input's: its first axis is the program's batch; a
// scalar input, shape [], takes a scalar and runs once); fails,
// naming `source` and the input `name`, when the shapes do not fit.
absl::StatusOr<std::vector<Tensor>>
SplitBatch(const Tensor &tensor, const std::string &source,
           const std::string &name, const std::vector<int64_t> &shape);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_TENSORIO_H
