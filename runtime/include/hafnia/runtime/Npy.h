// NumPy .npy files: inputs, labels and outputs. Errors name the file and say
// what is wrong and what was expected.

#ifndef HAFNIA_RUNTIME_NPY_H
#define HAFNIA_RUNTIME_NPY_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hafnia/runtime/Tensor.h"

namespace hafnia {

// Reads a NumPy .npy file: format versions 1.0, 2.0 and 3.0, C order only.
// '<f4' is taken as is; '<f2', '<f8', the integer types ('|i1', '<i2',
// '<i4', '<i8', '|u1', '<u2', '<u4', '<u8') and '|b1' are converted to float
// (64-bit integers beyond 2^24 round). Big-endian data, Fortran order and
// other dtypes are errors. Bytes after the data are ignored, as NumPy does.
absl::StatusOr<Tensor> ReadNpy(const std::string &path);
// The same file read a range of elements at a time, so that it need not fit
// in memory (hafnia-sim streams its inputs): the header is read and checked
// when it is opened, with ReadNpy's errors, and the data converted as ReadNpy
// converts it when it is read. Without ReadFile's size limit.
absl::StatusOr<std::unique_ptr<TensorReader>> OpenNpy(const std::string &path);
// ReadNpy from the file's bytes (`source` names them in errors).
absl::StatusOr<Tensor> DecodeNpy(absl::string_view bytes,
                                 absl::string_view source);

// Reads class labels from a 1-D .npy of any integer dtype, '|b1', or a float
// dtype holding whole numbers; other floats are an error naming the element.
absl::StatusOr<std::vector<int64_t>> ReadNpyLabels(const std::string &path);
absl::StatusOr<std::vector<int64_t>> DecodeNpyLabels(absl::string_view bytes,
                                                     absl::string_view source);

// Writes a float32 '<f4' .npy (int64 '<i8' for an index tensor), format 1.0
// with the header NumPy writes (the same bytes as numpy.save), through
// WriteFileAtomically.
absl::Status WriteNpy(const std::string &path, const Tensor &tensor);
// The bytes WriteNpy writes (for OutputFiles::Prepare).
absl::StatusOr<std::string> EncodeNpy(const Tensor &tensor);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_NPY_H
