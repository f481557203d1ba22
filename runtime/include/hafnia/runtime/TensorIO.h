// Tensor files of the simulator: NumPy .npy (inputs, labels, outputs) and
// ONNX TensorProto .pb (the ONNX test suite's inputs and references), plus
// the whole-file reads and atomic writes every runtime output goes through.
//
// Errors name the file and say what is wrong and what was expected.

#ifndef HAFNIA_RUNTIME_TENSORIO_H
#define HAFNIA_RUNTIME_TENSORIO_H

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hafnia {

// A dense float32 tensor, row-major.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
  // Indices (an ArgMax output): whole numbers, written as '<i8'.
  bool int64 = false;
  // The product of shape (1 for rank 0).
  int64_t NumElements() const;
};

// Reads a NumPy .npy file: format versions 1.0, 2.0 and 3.0, C order only.
// '<f4' is taken as is; '<f2', '<f8', the integer types ('|i1', '<i2',
// '<i4', '<i8', '|u1', '<u2', '<u4', '<u8') and '|b1' are converted to float
// (64-bit integers beyond 2^24 round). Big-endian data, Fortran order and
// other dtypes are errors. Bytes after the data are ignored, as NumPy does.
absl::StatusOr<Tensor> ReadNpy(const std::string &path);

// Reads class labels from a 1-D .npy of any integer dtype, '|b1', or a float
// dtype holding whole numbers; other floats are an error naming the element.
absl::StatusOr<std::vector<int64_t>> ReadNpyLabels(const std::string &path);

// Writes a float32 '<f4' .npy (int64 '<i8' for an index tensor), format 1.0
// with the header NumPy writes (the same bytes as numpy.save), through
// WriteFileAtomically.
absl::Status WriteNpy(const std::string &path, const Tensor &tensor);

// Reads an ONNX TensorProto .pb file: FLOAT from float_data or raw_data;
// DOUBLE, INT64 and INT32 (typed field or raw_data) converted to float.
// External data, other types and a data size that does not match the dims
// are errors.
absl::StatusOr<Tensor> ReadTensorProto(const std::string &path);

// ReadNpy for ".npy", ReadTensorProto for ".pb" (any letter case); another
// extension is an error.
absl::StatusOr<Tensor> ReadTensor(const std::string &path);

// Splits `tensor`, a batch of samples along its first axis, into chunks of
// `shape` (a program input's: its first axis is the program's batch; a
// scalar input, shape [], takes a scalar and runs once); fails,
// naming `source` and the input `name`, when the shapes do not fit.
absl::StatusOr<std::vector<Tensor>>
SplitBatch(const Tensor &tensor, const std::string &source,
           const std::string &name, const std::vector<int64_t> &shape);

// Writes `contents` to a new temporary file in the directory of `path`,
// flushes it to disk and renames it over `path`: readers see the old file or
// the whole new one, never a part. On failure the temporary is removed and
// `path` is untouched. Every output file of the runtime goes through here.
absl::Status WriteFileAtomically(const std::string &path,
                                 absl::string_view contents);

// Reads a whole file as bytes; NotFound naming the path when it is missing.
absl::StatusOr<std::string> ReadFile(const std::string &path);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_TENSORIO_H
