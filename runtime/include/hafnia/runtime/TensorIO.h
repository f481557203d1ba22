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

// Splits `tensor`, a batch of samples along its first axis, into chunks of
// `shape` (a program input's: its first axis is the program's batch; a
// scalar input, shape [], takes a scalar and runs once); fails,
// naming `source` and the input `name`, when the shapes do not fit.
absl::StatusOr<std::vector<Tensor>>
SplitBatch(const Tensor &tensor, const std::string &source,
           const std::string &name, const std::vector<int64_t> &shape);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_TENSORIO_H
