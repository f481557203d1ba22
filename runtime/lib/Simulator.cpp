// The chip simulator's runs. Real-valued layers run on the digital core in
// f32, as ONNX defines them; binary layers run as the arrays do: XNOR of a
// word line with an input slice in the sense amplifiers, popcount per row,
// partial popcounts summed digitally. The kernels are in kernels/; setting
// up a simulator from a program is in SimulatorSetup.cpp, programming a chip
// with bit errors in ErrorInjection.cpp.

#include "hafnia/runtime/Simulator.h"

#include <algorithm>

#include "Execution.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "hafnia/runtime/Program.h"

namespace hafnia {

void AddStats(SimulationStats &total, const SimulationStats &add) {
  const google::protobuf::Descriptor *descriptor = total.GetDescriptor();
  const google::protobuf::Reflection *reflection = total.GetReflection();
  for (int f = 0; f < descriptor->field_count(); ++f) {
    const google::protobuf::FieldDescriptor *field = descriptor->field(f);
    reflection->SetUInt64(&total, field,
                          reflection->GetUInt64(total, field) +
                              reflection->GetUInt64(add, field));
  }
}

std::unique_ptr<kernels::RunValues> Simulator::ValueStore::Lease() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      std::unique_ptr<kernels::RunValues> values = std::move(free_.back());
      free_.pop_back();
      return values;
    }
  }
  auto values = std::make_unique<kernels::RunValues>();
  values->reals.resize(slot_count_);
  values->bits.resize(slot_count_);
  values->counts.resize(slot_count_);
  return values;
}

void Simulator::ValueStore::Return(std::unique_ptr<kernels::RunValues> values) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(std::move(values));
}

Execution::Execution(
    const Program &program, const std::vector<Simulator::PackedArray> &arrays,
    const Simulator::ChipState *chip,
    const std::vector<std::vector<float>> &constants,
    const std::vector<std::vector<uint8_t>> &bit_constants,
    const std::vector<std::unique_ptr<Simulator::FusedLayer>> &fused,
    const std::vector<int> &schedule, const kernels::Plans &plans,
    bool reference_kernels, const std::vector<int64_t> &slots,
    Simulator::ValueStore &store, const kernels::RunValues *initial,
    SimulationStats &stats)
    : store_(store), leased_(store.Lease()), chip_(chip), fused_(fused),
      schedule_(schedule), state_{program,
                                  chip ? chip->arrays : arrays,
                                  constants,
                                  bit_constants,
                                  slots,
                                  plans,
                                  reference_kernels,
                                  *leased_,
                                  stats} {
  // The slots the prefix kept, copied into buffers the leased values may
  // already hold; the others are written before they are read.
  if (initial) {
    kernels::RunValues &values = *leased_;
    for (size_t slot = 0; slot < initial->reals.size(); ++slot) {
      if (!initial->reals[slot].empty())
        values.reals[slot] = initial->reals[slot];
      if (!initial->bits[slot].empty())
        values.bits[slot] = initial->bits[slot];
      if (!initial->counts[slot].empty())
        values.counts[slot] = initial->counts[slot];
    }
  }
}

Execution::~Execution() { store_.Return(std::move(leased_)); }

void Execution::Run(int begin, int end) {
  // Only the instructions that run: a layer computed on whole rows replaces
  // thousands of reads.
  for (auto next = std::lower_bound(schedule_.begin(), schedule_.end(), begin);
       next != schedule_.end() && *next < end; ++next) {
    int i = *next;
    kernels::KernelContext ctx(state_, state_.program.instructions(i),
                               state_.plans[i].get());
    if (const Simulator::FusedLayer *layer = fused_[i].get())
      kernels::TiledLayer(
          ctx, *layer,
          chip_ ? chip_->fused_weights[i].data() : layer->weights.data(),
          chip_ ? chip_->fused_padding_errors[i].data() : nullptr);
    else
      kernels::RunKernel(ctx);
  }
}

absl::StatusOr<std::shared_ptr<const Simulator::Prefix>>
Simulator::RunPrefix(const std::vector<Tensor> &inputs) const {
  if (inputs.size() != static_cast<size_t>(program_.inputs_size()))
    return absl::InvalidArgumentError(
        absl::StrCat("the program takes ", program_.inputs_size(),
                     " input(s), got ", inputs.size()));
  auto prefix = std::make_shared<Prefix>();
  Execution execution(program_, arrays_, nullptr, constants_, bit_constants_,
                      fused_, schedule_, plans_, reference_kernels_, slots_,
                      *store_, nullptr, prefix->stats);
  for (int k = 0; k < program_.inputs_size(); ++k) {
    const TensorBinding &binding = program_.inputs(k);
    std::vector<int64_t> expected = ShapeOf(program_.buffers(binding.buffer()));
    if (inputs[k].shape != expected)
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", binding.name(), "' has shape [",
          absl::StrJoin(inputs[k].shape, ","), "], the program expects [",
          absl::StrJoin(expected, ","), "]"));
    execution.SetInput(binding.buffer(), inputs[k].data);
  }
  execution.Run(0, prefix_end_);
  // The prefix takes only what the rest of the run reads (trials copy it);
  // the other buffers go back to the store with the execution.
  kernels::RunValues &values = execution.values();
  prefix->values.reals.resize(slot_count_);
  prefix->values.bits.resize(slot_count_);
  prefix->values.counts.resize(slot_count_);
  for (size_t slot = 0; slot < last_use_.size(); ++slot)
    if (last_use_[slot] >= prefix_end_) {
      prefix->values.reals[slot].swap(values.reals[slot]);
      prefix->values.bits[slot].swap(values.bits[slot]);
      prefix->values.counts[slot].swap(values.counts[slot]);
    }
  return std::shared_ptr<const Prefix>(std::move(prefix));
}

absl::StatusOr<std::vector<Tensor>>
Simulator::RunSuffix(const Prefix &prefix, const ChipState *chip,
                     SimulationStats *stats) const {
  SimulationStats run_stats = prefix.stats;
  Execution execution(program_, arrays_, chip, constants_, bit_constants_,
                      fused_, schedule_, plans_, reference_kernels_, slots_,
                      *store_, &prefix.values, run_stats);
  execution.Run(prefix_end_, program_.instructions_size());
  std::vector<Tensor> outputs;
  for (const TensorBinding &binding : program_.outputs())
    outputs.push_back(Tensor{ShapeOf(program_.buffers(binding.buffer())),
                             execution.Output(binding.buffer()),
                             program_.buffers(binding.buffer()).type() == I64});
  run_stats.set_estimated_cycles(run_stats.row_reads() +
                                 run_stats.digital_macs() +
                                 run_stats.digital_ops());
  if (stats)
    AddStats(*stats, run_stats);
  return outputs;
}

absl::StatusOr<std::vector<Tensor>>
Simulator::Run(const std::vector<Tensor> &inputs,
               SimulationStats *stats) const {
  absl::StatusOr<std::shared_ptr<const Prefix>> prefix = RunPrefix(inputs);
  if (!prefix.ok())
    return prefix.status();
  return RunSuffix(**prefix, nullptr, stats);
}

} // namespace hafnia
