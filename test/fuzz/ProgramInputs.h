// Inputs of a program's own shapes for the fuzz targets' simulations: a
// fixed pattern of both signs (the values do not matter, every shape must
// run).

#ifndef HAFNIA_TEST_FUZZ_PROGRAMINPUTS_H
#define HAFNIA_TEST_FUZZ_PROGRAMINPUTS_H

#include <vector>

#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Tensor.h"

namespace hafnia {

inline std::vector<Tensor> ProgramInputs(const Program &program) {
  std::vector<Tensor> inputs;
  for (const TensorBinding &input : program.inputs()) {
    Tensor tensor;
    tensor.shape = ShapeOf(program.buffers(input.buffer()));
    tensor.data.resize(tensor.NumElements());
    for (size_t i = 0; i < tensor.data.size(); ++i)
      tensor.data[i] = static_cast<float>(static_cast<int>(i % 7) - 3) * 0.5f;
    inputs.push_back(std::move(tensor));
  }
  return inputs;
}

} // namespace hafnia

#endif // HAFNIA_TEST_FUZZ_PROGRAMINPUTS_H
