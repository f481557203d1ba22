// The statistics of one error-free run, instruction by instruction: what
// the cost model (CostModel.cpp) charges to each layer.

#include "Execution.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"

namespace hafnia {

std::vector<SimulationStats> Simulator::InstructionStats() const {
  std::vector<SimulationStats> by_instruction(program_.instructions_size());
  SimulationStats running;
  Execution execution(program_, arrays_, nullptr, constants_, bit_constants_,
                      fused_, schedule_, plans_, reference_kernels_, slots_,
                      *store_, nullptr, running);
  for (const TensorBinding &input : program_.inputs())
    execution.SetInput(input.buffer(), std::vector<float>(NumElements(ShapeOf(
                                           program_.buffers(input.buffer())))));
  for (int i = 0; i < program_.instructions_size(); ++i) {
    execution.Run(i, i + 1);
    by_instruction[i] = running;
    running.Clear();
  }
  return by_instruction;
}

} // namespace hafnia
