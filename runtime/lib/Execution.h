// The state of one run of the simulator, shared by the files that make up
// the Simulator class (setup, runs, error injection) and its kernels.
// Private to the runtime.

#ifndef HAFNIA_RUNTIME_LIB_EXECUTION_H
#define HAFNIA_RUNTIME_LIB_EXECUTION_H

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "hafnia/runtime/Simulator.h"
#include "kernels/Kernels.h"

namespace hafnia {

// What RunPrefix keeps for RunSuffix: the values the rest of the run reads,
// and the statistics so far.
class Simulator::Prefix {
public:
  kernels::RunValues values;
  SimulationStats stats;
};

// The values of runs that ended, kept for the next runs of the same
// simulator: a run leases a RunValues whose slots still hold the buffers an
// earlier run sized (each slot always holds values of one size), so a run
// neither allocates nor zero-fills what an earlier one already did. Runs on
// several threads lease distinct RunValues; the store holds at most as many
// as ran at once. Whatever a leased slot holds is stale: every kernel sizes
// and writes its result before any instruction reads it.
class Simulator::ValueStore {
public:
  explicit ValueStore(int64_t slot_count) : slot_count_(slot_count) {}
  std::unique_ptr<kernels::RunValues> Lease();
  void Return(std::unique_ptr<kernels::RunValues> values);

private:
  int64_t slot_count_;
  std::mutex mutex_;
  // With the thread that returned each: a run leases what its own thread
  // left, warm in its core's cache, before what another thread did.
  std::vector<std::pair<std::thread::id, std::unique_ptr<kernels::RunValues>>>
      free_;
};

// One run of a program's instructions on one programming of the chip
// (`chip`, or the error-free arrays when it is null): the values by slot,
// and the tiled layers computed on whole rows instead of the instructions
// they replace.
class Execution {
public:
  Execution(const Program &program,
            const std::vector<Simulator::PackedArray> &arrays,
            const Simulator::ChipState *chip,
            const std::vector<std::vector<float>> &constants,
            const std::vector<std::vector<uint8_t>> &bit_constants,
            const std::vector<std::unique_ptr<Simulator::FusedLayer>> &fused,
            const std::vector<int> &schedule, const kernels::Plans &plans,
            bool reference_kernels, const std::vector<int64_t> &slots,
            Simulator::ValueStore &store, const kernels::RunValues *initial,
            SimulationStats &stats);
  // Gives the values back to the store.
  ~Execution();
  Execution(const Execution &) = delete;
  Execution &operator=(const Execution &) = delete;

  void SetInput(uint32_t buffer, const std::vector<float> &data) {
    state_.values.reals[state_.slots[buffer]] = data;
  }
  // The input read in place: `data` must outlive the run, and no value
  // the run keeps may be it.
  void ViewInput(uint32_t buffer, const std::vector<float> &data) {
    state_.input_views.emplace_back(buffer, &data);
  }
  // An output may be an input or a constant (an Identity at import).
  const std::vector<float> &Output(uint32_t buffer) const {
    int64_t slot = state_.slots[buffer];
    return slot < 0 ? state_.constants[buffer] : state_.values.reals[slot];
  }

  // Runs instructions [begin, end).
  void Run(int begin, int end);
  // Runs instructions [begin, end) of `count` runs of one program on one
  // chip, instruction by instruction: each tiled layer once for all of them
  // (one binary GEMM), the other kernels run by run. The same values and
  // statistics as each run's Run(begin, end). The tiled layers that are
  // keys of `shared` read inputs that are the same on every chip: their
  // packed rows are kept there for the runs of the same samples on the next
  // chip.
  static void RunTogether(Execution *const *runs, int64_t count, int begin,
                          int end, std::map<int, kernels::TiledInputs> *shared);
  kernels::RunValues &values() { return state_.values; }

private:
  Simulator::ValueStore &store_;
  std::unique_ptr<kernels::RunValues> leased_;
  const Simulator::ChipState *chip_;
  const std::vector<std::unique_ptr<Simulator::FusedLayer>> &fused_;
  const std::vector<int> &schedule_;
  kernels::RunState state_;
};

} // namespace hafnia

#endif // HAFNIA_RUNTIME_LIB_EXECUTION_H
