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
      // The last this thread returned, else the last returned.
      auto own = std::find_if(free_.rbegin(), free_.rend(), [](const auto &f) {
        return f.first == std::this_thread::get_id();
      });
      auto taken =
          own != free_.rend() ? std::prev(own.base()) : free_.end() - 1;
      std::unique_ptr<kernels::RunValues> values = std::move(taken->second);
      free_.erase(taken);
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
  free_.emplace_back(std::this_thread::get_id(), std::move(values));
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

void Execution::RunTogether(Execution *const *runs, int64_t count, int begin,
                            int end,
                            std::map<int, kernels::TiledInputs> *shared) {
  if (count == 0)
    return;
  const Execution &first = *runs[0];
  std::vector<kernels::KernelContext> contexts;
  std::vector<kernels::KernelContext *> pointers(count);
  contexts.reserve(count);
  for (auto next = std::lower_bound(first.schedule_.begin(),
                                    first.schedule_.end(), begin);
       next != first.schedule_.end() && *next < end; ++next) {
    int i = *next;
    const Simulator::FusedLayer *layer = first.fused_[i].get();
    if (!layer) {
      for (int64_t k = 0; k < count; ++k) {
        Execution &run = *runs[k];
        kernels::KernelContext ctx(run.state_,
                                   run.state_.program.instructions(i),
                                   run.state_.plans[i].get());
        kernels::RunKernel(ctx);
      }
      continue;
    }
    contexts.clear();
    for (int64_t k = 0; k < count; ++k) {
      Execution &run = *runs[k];
      contexts.emplace_back(run.state_, run.state_.program.instructions(i),
                            run.state_.plans[i].get());
      pointers[k] = &contexts.back();
    }
    const Simulator::ChipState *chip = first.chip_;
    if (shared)
      if (auto inputs = shared->find(i); inputs != shared->end()) {
        kernels::TiledLayersOnSharedInputs(pointers.data(), count, *layer, chip,
                                           i, inputs->second);
        continue;
      }
    kernels::TiledLayers(pointers.data(), count, *layer,
                         chip ? chip->fused_weights[i].data()
                              : layer->weights.data(),
                         chip ? chip->fused_padding_errors[i].data() : nullptr);
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
    // An input only the prefix reads is read where the caller holds it.
    if (inputs_in_place_[k])
      execution.ViewInput(binding.buffer(), inputs[k].data);
    else
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

absl::StatusOr<std::vector<std::vector<Tensor>>>
Simulator::RunSuffixes(const std::vector<const Prefix *> &prefixes,
                       const std::vector<const ChipState *> &chips,
                       SimulationStats *stats) const {
  int64_t count = static_cast<int64_t>(prefixes.size());
  std::vector<std::vector<Tensor>> outputs(chips.size());
  for (std::vector<Tensor> &of_chip : outputs)
    for (const TensorBinding &binding : program_.outputs()) {
      const Buffer &buffer = program_.buffers(binding.buffer());
      Tensor &tensor = of_chip.emplace_back();
      tensor.shape = ShapeOf(buffer);
      tensor.data.reserve(count * NumElements(tensor.shape));
      tensor.shape.insert(tensor.shape.begin(), count);
      tensor.int64 = buffer.type() == I64;
    }
  // Runs in groups whose tiled layers read a few hundred rows together: the
  // GEMM loads each weight row once per group, and a group's values stay in
  // cache. The groups' values move from chip to chip (the suffix writes
  // every value it reads, so a run on the next chip starts where the last
  // left its buffers).
  int64_t rows = 1;
  for (int i : schedule_)
    if (i >= prefix_end_ && fused_[i])
      rows = std::max(
          rows, NumElements(ShapeOf(program_.buffers(fused_[i]->source))) /
                    std::max<int64_t>(fused_[i]->fan_in, 1));
  constexpr int64_t kGroupRows = 256;
  int64_t group = std::max<int64_t>(1, kGroupRows / rows);
  // The tiled layers that read a value of the prefix (not one the suffix
  // computes) read the same inputs on every chip.
  std::vector<bool> computed(program_.buffers_size(), false);
  for (int i : schedule_)
    if (i >= prefix_end_)
      computed[WrittenBy(i)] = true;
  std::vector<int> shared_layers;
  if (chips.size() > 1)
    for (int i : schedule_)
      if (i >= prefix_end_ && fused_[i] && !computed[fused_[i]->source])
        shared_layers.push_back(i);
  SimulationStats total;
  std::vector<kernels::RunValues> values(std::min(group, count));
  std::vector<SimulationStats> run_stats(values.size());
  std::vector<std::unique_ptr<Execution>> runs(values.size());
  std::vector<Execution *> pointers(values.size());
  for (int64_t first = 0; first < count; first += group) {
    int64_t size = std::min(group, count - first);
    std::map<int, kernels::TiledInputs> shared;
    for (int i : shared_layers)
      shared[i];
    for (size_t c = 0; c < chips.size(); ++c) {
      for (int64_t k = 0; k < size; ++k) {
        const Prefix &prefix = *prefixes[first + k];
        if (c == 0)
          values[k] = prefix.values;
        if (stats)
          run_stats[k] = prefix.stats;
        runs[k] = std::make_unique<Execution>(
            program_, arrays_, chips[c], constants_, bit_constants_, fused_,
            schedule_, plans_, reference_kernels_, slots_, *store_, nullptr,
            run_stats[k]);
        // Swapped in and out, so that the store gets back values of the
        // program's slot count.
        std::swap(runs[k]->values(), values[k]);
        pointers[k] = runs[k].get();
      }
      Execution::RunTogether(pointers.data(), size, prefix_end_,
                             program_.instructions_size(), &shared);
      for (int64_t k = 0; k < size; ++k) {
        for (int o = 0; o < program_.outputs_size(); ++o) {
          const std::vector<float> &value =
              runs[k]->Output(program_.outputs(o).buffer());
          std::vector<float> &data = outputs[c][o].data;
          data.insert(data.end(), value.begin(), value.end());
        }
        if (stats) {
          SimulationStats &s = run_stats[k];
          s.set_estimated_cycles(s.row_reads() + s.digital_macs() +
                                 s.digital_ops());
          AddStats(total, s);
        }
        std::swap(values[k], runs[k]->values());
      }
    }
  }
  if (stats)
    AddStats(*stats, total);
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
