// The simulation engine: batches, the shared array-free prefix, the thread
// pool, Monte Carlo trials and sweeps, and the reports they fill.

#include "hafnia/runtime/Trials.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/CostModel.h"
#include "hafnia/runtime/ErrorReport.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "zlib.h"

namespace hafnia {
namespace {

// An option as the caller spells it: "--ber-table" or "ber_table". The swept
// values are flags of their own on the command line (--sweep-ber) and the
// keyword arguments of sweep() in Python (ber).
std::string Name(OptionNames names, absl::string_view flag) {
  if (names == OptionNames::kFlags)
    return absl::StrCat("--", flag);
  absl::ConsumePrefix(&flag, "sweep-");
  return absl::StrReplaceAll(flag, {{"-", "_"}});
}

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

bool IsProbability(double p) { return p >= 0 && p <= 1; }
bool IsCycleCount(double n) { return n >= 0 && std::isfinite(n); }

absl::Status ValidateRunOptions(const RunOptions &options) {
  if (options.threads < 1)
    return Invalid(Name(options.names, "threads") + " must be at least 1");
  if (options.trials < 1)
    return Invalid(Name(options.names, "trials") + " must be at least 1");
  if (options.chunk_samples < 1)
    return Invalid(Name(options.names, "chunk-samples") +
                   " must be at least 1");
  return absl::OkStatus();
}

absl::Status Validate(const TrialOptions &options) {
  if (absl::Status status = ValidateRunOptions(options); !status.ok())
    return status;
  OptionNames names = options.names;
  if (options.cycles && !IsCycleCount(*options.cycles))
    return Invalid(absl::StrFormat("%s must be a non-negative number, got '%g'",
                                   Name(names, "cycles"), *options.cycles));
  if (options.ber) {
    if (!IsProbability(*options.ber))
      return Invalid(
          absl::StrFormat("%s must be a probability in [0, 1], got '%g'",
                          Name(names, "ber"), *options.ber));
    if (options.cycles || options.ber_table)
      return Invalid(absl::StrCat(Name(names, "ber"),
                                  " sets the bit-error rate itself: give it "
                                  "without ",
                                  Name(names, "cycles"), " and ",
                                  Name(names, "ber-table")));
  }
  if (options.ber_table && !options.cycles)
    return Invalid(absl::StrCat(
        Name(names, "ber-table"), " is read at a cycle count: give ",
        names == OptionNames::kFlags ? "--cycles (or --sweep-cycles)"
                                     : "cycles"));
  if (options.ecc && !options.cycles && !options.ber)
    return Invalid(absl::StrCat(Name(names, "ecc"),
                                " stores code words that the errors flip: "
                                "give ",
                                Name(names, "cycles"), " or ",
                                Name(names, "ber")));
  return absl::OkStatus();
}

absl::Status Validate(const SweepOptions &options) {
  if (absl::Status status = ValidateRunOptions(options); !status.ok())
    return status;
  OptionNames names = options.names;
  std::string cycles = Name(names, "sweep-cycles"),
              ber = Name(names, "sweep-ber");
  if (!options.cycles.empty() && !options.ber.empty())
    return Invalid(absl::StrCat("sweep ", cycles, " or ", ber, ", not both"));
  if (options.cycles.empty() && options.ber.empty())
    return Invalid(absl::StrCat("a sweep needs ", cycles, " or ", ber));
  for (double n : options.cycles)
    if (!IsCycleCount(n))
      return Invalid(absl::StrFormat(
          "%s must be non-negative numbers, got '%g'", cycles, n));
  for (double p : options.ber)
    if (!IsProbability(p))
      return Invalid(absl::StrFormat(
          "%s must be probabilities in [0, 1], got '%g'", ber, p));
  if (options.ber_table && options.cycles.empty())
    return Invalid(absl::StrCat(Name(names, "ber-table"),
                                " is read at cycle counts: sweep ", cycles));
  std::string cells = Name(names, "sweep-cells");
  if (!options.cells.empty() && options.cycles.empty())
    return Invalid(absl::StrCat(cells,
                                " compares cells at cycle counts: "
                                "sweep ",
                                cycles));
  if (!options.cells.empty() && options.cell != CELL_TYPE_UNSPECIFIED)
    return Invalid(
        absl::StrCat(cells, " names the cells: drop ", Name(names, "cell")));
  for (size_t i = 0; i < options.cells.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (SettingName(options.cells[i]) == SettingName(options.cells[j]))
        return Invalid(absl::StrCat(cells, ": ", SettingName(options.cells[i]),
                                    " is given twice"));
  if (options.equal_devices && options.cells.empty())
    return Invalid(absl::StrCat(Name(names, "equal-devices"),
                                " compares the settings of ", cells,
                                ": give them"));
  return absl::OkStatus();
}

// The error for the non-finite `value` at element `index` of an input of
// `shape`, naming the sample and the element.
absl::Status NonFiniteError(float value, int64_t index,
                            const std::vector<int64_t> &shape,
                            const std::string &source, const std::string &name,
                            OptionNames names) {
  int64_t samples = shape.empty() ? 1 : shape[0];
  int64_t per_sample =
      std::max<int64_t>(samples ? NumElements(shape) / samples : 1, 1);
  return Invalid(absl::StrCat(
      source, ": input '", name, "' holds ",
      std::isnan(value) ? "NaN" : (value > 0 ? "+inf" : "-inf"), " (sample ",
      index / per_sample, ", element ", index % per_sample,
      "); give finite numbers, or ", Name(names, "allow-nonfinite-inputs"),
      " to run them as they are"));
}

// The first element of `data` that is NaN or infinite, or -1.
int64_t FirstNonFinite(const std::vector<float> &data) {
  auto bad = std::find_if(data.begin(), data.end(),
                          [](float v) { return !std::isfinite(v); });
  return bad == data.end() ? -1 : bad - data.begin();
}

// Calls work(i) for i in [0, count) on `threads` threads and gathers the
// values in index order. The first failure by index is returned, so what a run
// reports does not depend on the thread count.
template <typename Work>
auto ParallelMap(size_t count, int threads, const Work &work) -> absl::StatusOr<
    std::vector<typename std::invoke_result_t<Work, size_t>::value_type>> {
  using Result = std::invoke_result_t<Work, size_t>;
  std::vector<std::optional<Result>> results(count);
  std::atomic<size_t> next{0};
  auto loop = [&] {
    for (size_t i = next++; i < count; i = next++)
      results[i].emplace(work(i));
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(threads, count); ++t)
    pool.emplace_back(loop);
  loop();
  for (std::thread &thread : pool)
    thread.join();
  std::vector<typename Result::value_type> values;
  values.reserve(count);
  for (std::optional<Result> &result : results) {
    if (!result->ok())
      return result->status();
    values.push_back(*std::move(*result));
  }
  return values;
}

// An output of several batches as RunSuffixes stacks it, [batches, shape...],
// joined along the output's first axis instead: a single batch's output as
// it is, a scalar output of several batches stacked into a vector, one per
// batch.
void JoinBatches(Tensor &stacked) {
  int64_t batches = stacked.shape[0];
  stacked.shape.erase(stacked.shape.begin());
  if (batches == 1)
    return;
  if (stacked.shape.empty())
    stacked.shape = {batches};
  else
    stacked.shape[0] *= batches;
}

uint64_t Sum(const std::vector<uint64_t> &counts) {
  uint64_t sum = 0;
  for (uint64_t count : counts)
    sum += count;
  return sum;
}

// A data set split into the program's batches and run a chunk of batches
// at a time, so that a run holds a bounded number of samples' values: each
// chunk's inputs are read, their array-free prefix computed once (errors
// cannot change it) and run on the error-free chip, which trials are
// compared with, then on every trial's chip.
class Engine {
public:
  // Checks the data set against the program (in the order the checks have
  // always been made: each input's values, then its shape, then the
  // labels), for batches [first, last) of the data set, or all of them.
  static absl::StatusOr<std::unique_ptr<Engine>>
  Create(const Simulator &simulator, const Dataset &data,
         const RunOptions &options, std::optional<Shard> batch_shard) {
    OptionNames names = options.names;
    auto engine = std::unique_ptr<Engine>(new Engine(simulator, options));
    const Program &p = simulator.program();
    size_t given =
        data.readers.empty() ? data.inputs.size() : data.readers.size();
    if (given != static_cast<size_t>(p.inputs_size()))
      return Invalid(absl::StrCat("the program takes ", p.inputs_size(),
                                  " input(s), got ", given));
    for (size_t k = 0; k < given; ++k) {
      Input &input = engine->inputs_.emplace_back();
      if (data.readers.empty()) {
        input.owned = ReaderOf(data.inputs[k]);
        input.reader = input.owned.get();
      } else {
        input.reader = data.readers[k].get();
      }
      input.source = k < data.sources.size() && !data.sources[k].empty()
                         ? data.sources[k]
                         : absl::StrCat("input ", k);
      input.name = p.inputs(k).name();
      const Buffer &buffer = p.buffers(p.inputs(k).buffer());
      input.shape.assign(buffer.shape().begin(), buffer.shape().end());
      input.elements = NumElements(input.shape);
    }
    // A program without inputs (all constants) runs once.
    int64_t batches = p.inputs_size() == 0 ? 1 : 0;
    for (size_t k = 0; k < given; ++k) {
      const Input &input = engine->inputs_[k];
      absl::StatusOr<int64_t> count = CountBatches(
          input.reader->shape(), input.source, input.name, input.shape);
      absl::Status status = count.status();
      if (status.ok() && k > 0 && *count != batches)
        status = Invalid("the inputs hold different numbers of samples");
      // A value that is not finite in this input or one before it is
      // reported first.
      if (!status.ok())
        return engine->NonFiniteFirst(k + 1, status);
      batches = *count;
    }
    engine->batches_ = batches;
    const Buffer &output = p.buffers(p.outputs(0).buffer());
    int64_t per_batch = SamplesPerRun(p);
    int64_t total = per_batch * batches;
    int64_t first = 0, last = batches;
    if (batch_shard) {
      first = batches * batch_shard->index / batch_shard->count;
      last = batches * (batch_shard->index + 1) / batch_shard->count;
    }
    engine->first_ = first;
    engine->last_ = last;
    engine->first_sample_ = first * per_batch;
    engine->samples_ = (last - first) * per_batch;
    engine->chunk_ = std::max<int64_t>(1, options.chunk_samples /
                                              std::max<int64_t>(per_batch, 1));

    if (data.labels) {
      absl::Status status;
      if (p.inputs_size() == 0)
        status = Invalid(absl::StrCat(Name(names, "labels"),
                                      ": the program has no inputs, so no "
                                      "samples to label"));
      else if (output.shape_size() == 0)
        status = Invalid(absl::StrCat(
            Name(names, "labels"), ": the program's first output '",
            p.outputs(0).name(),
            "' is a scalar, not scores over classes: accuracy needs one "
            "score per class"));
      else if (static_cast<int64_t>(data.labels->size()) != total)
        status = Invalid(absl::StrCat(data.labels_source, " holds ",
                                      data.labels->size(), " labels for ",
                                      total, " samples"));
      int64_t classes =
          NumElements(ShapeOf(output)) / std::max<int64_t>(per_batch, 1);
      for (size_t s = 0; status.ok() && s < data.labels->size(); ++s)
        if ((*data.labels)[s] < 0 || (*data.labels)[s] >= classes)
          status = Invalid(
              absl::StrCat(data.labels_source, ": label ", (*data.labels)[s],
                           " of sample ", s, " is not one of the program's ",
                           classes, " classes [0, ", classes, ")"));
      if (!status.ok())
        return engine->NonFiniteFirst(given, status);
      engine->labels_.emplace(data.labels->begin() + engine->first_sample_,
                              data.labels->begin() + engine->first_sample_ +
                                  engine->samples_);
    }
    // Values outside this part's batches are checked too (they are read
    // only for that).
    if (!options.allow_nonfinite_inputs && (first > 0 || last < batches))
      for (size_t k = 0; k < given; ++k)
        for (auto [begin, end] :
             {std::pair{int64_t{0}, first}, std::pair{last, batches}})
          for (int64_t b = begin; b < end; ++b) {
            absl::StatusOr<bool> finite = engine->BatchIsFinite(k, b);
            if (!finite.ok())
              return finite.status();
            if (!*finite)
              return engine->NonFiniteFirst(k + 1, absl::OkStatus());
          }
    engine->stats_.set_programming_cycles(Sum(simulator.programming_cycles()));
    engine->cells_read_ = Sum(simulator.CellsRead());
    return engine;
  }

  // The error-free run and the trials of `units` (point, trial) at the
  // points' bit-error rates, with the flips of each array when `per_array`,
  // into `part`; with `outputs`, the outputs of the first unit (of the
  // error-free run without units). `on_step` is told of each point as its
  // trials start on a chunk, as the step chunk * rates.size() + point of
  // chunks * rates.size().
  absl::Status Run(const std::vector<BitErrors> &rates,
                   const std::vector<std::optional<EccCode>> &codes,
                   const std::vector<std::pair<uint32_t, uint32_t>> &units,
                   uint64_t seed, bool per_array, PartReport &part,
                   std::vector<Tensor> *outputs,
                   const std::function<void(size_t, size_t)> &on_step) {
    for (auto [point, trial] : units) {
      TrialCounts *counts = part.add_trials();
      counts->set_point(point);
      counts->set_trial(trial);
    }
    if (per_array)
      part.mutable_array_flips()->Resize(simulator_.program().arrays_size(), 0);
    std::vector<Tensor> ideal, first_unit;
    // A part without batches still programs its trials' chips (their flips
    // are counted): one empty chunk.
    int64_t chunks =
        std::max<int64_t>(1, (last_ - first_ + chunk_ - 1) / chunk_);
    // With several chunks the trials' chips are kept for the next chunk,
    // when they fit in memory; else programmed again (the same chip: its
    // random stream depends only on the seed and the trial).
    std::vector<std::unique_ptr<Simulator::ChipState>> kept(units.size());
    bool keep = chunks > 1;
    int64_t done = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t begin = first_ + c * chunk_,
              end = std::min(last_, begin + chunk_);
      absl::StatusOr<std::vector<std::shared_ptr<const Simulator::Prefix>>>
          prefixes = Prefixes(begin, end);
      if (!prefixes.ok())
        return prefixes.status();
      absl::StatusOr<std::vector<std::vector<Tensor>>> error_free =
          RunAll(*prefixes, {nullptr}, &stats_);
      if (!error_free.ok())
        return error_free.status();
      std::vector<Tensor> &chunk_ideal = (*error_free)[0];
      std::vector<int64_t> predicted = chunk_ideal.empty()
                                           ? std::vector<int64_t>()
                                           : Predict(Joined(chunk_ideal[0]));
      ideal_predictions_.insert(ideal_predictions_.end(), predicted.begin(),
                                predicted.end());
      if (outputs && units.empty())
        Append(ideal, chunk_ideal);
      for (size_t first = 0; first < units.size();) {
        uint32_t point = units[first].first;
        size_t last = first;
        while (last < units.size() && units[last].first == point)
          ++last;
        if (on_step)
          on_step(c * rates.size() + point, chunks * rates.size());
        std::vector<std::unique_ptr<Simulator::ChipState>> programmed;
        std::vector<const Simulator::ChipState *> chips;
        for (size_t u = first; u < last; ++u) {
          if (kept[u]) {
            chips.push_back(kept[u].get());
            continue;
          }
          std::mt19937_64 random = TrialEngine(seed, units[u].second);
          programmed.push_back(
              simulator_.ProgramWithErrors(rates[point], codes[point], random));
          chips.push_back(programmed.back().get());
          if (c == 0) {
            const std::vector<uint64_t> &flips =
                Simulator::Flips(*programmed.back());
            part.mutable_trials(u)->set_flipped(Sum(flips));
            part.mutable_trials(u)->set_device_flips(
                Sum(programmed.back()->device_flips));
            part.mutable_trials(u)->set_uncorrectable_words(
                Sum(programmed.back()->uncorrectable_words));
            if (per_array)
              for (size_t i = 0; i < flips.size(); ++i)
                part.set_array_flips(i, part.array_flips(i) + flips[i]);
            keep = keep && KeepChip(*programmed.back(), units.size());
          }
        }
        absl::StatusOr<std::vector<std::vector<Tensor>>> runs =
            RunAll(*prefixes, chips, nullptr);
        if (!runs.ok())
          return runs.status();
        for (size_t u = first; u < last; ++u) {
          std::vector<Tensor> &run = (*runs)[u - first];
          if (run.empty())
            continue;
          TrialCounts *counts = part.mutable_trials(u);
          std::vector<int64_t> trial_predicted = Predict(Joined(run[0]));
          counts->set_agreeing(counts->agreeing() +
                               Same(trial_predicted, predicted));
          if (labels_)
            counts->set_correct(counts->correct() +
                                Same(trial_predicted, *labels_, done));
          if (outputs && u == 0)
            Append(first_unit, run);
        }
        if (keep && c + 1 < chunks)
          for (size_t u = first, k = 0; u < last; ++u)
            if (!kept[u])
              kept[u] = std::move(programmed[k++]);
        first = last;
      }
      done += static_cast<int64_t>(predicted.size());
    }
    if (outputs) {
      *outputs = units.empty() ? std::move(ideal) : std::move(first_unit);
      for (Tensor &output : *outputs)
        JoinBatches(output);
    }
    FillIdeal(part);
    return absl::OkStatus();
  }

private:
  // A program input and what it is read from.
  struct Input {
    TensorReader *reader = nullptr;
    std::unique_ptr<TensorReader> owned;
    std::string source, name;
    // The program's input shape, its batch, and its element count.
    std::vector<int64_t> shape;
    int64_t elements = 0;
  };

  Engine(const Simulator &simulator, const RunOptions &options)
      : simulator_(simulator), threads_(options.threads),
        check_finite_(!options.allow_nonfinite_inputs), names_(options.names) {}

  // Agreeing elements of `a` and `b` from `offset` on.
  static uint64_t Same(const std::vector<int64_t> &a,
                       const std::vector<int64_t> &b, int64_t offset = 0) {
    uint64_t same = 0;
    for (size_t i = 0; i < a.size(); ++i)
      same += a[i] == b[offset + i];
    return same;
  }

  // An output of a chunk's batches, stacked as RunSuffixes stacks them,
  // joined as the output of these batches alone (for Predict).
  static Tensor Joined(Tensor stacked) {
    JoinBatches(stacked);
    return stacked;
  }

  // Appends a chunk's stacked outputs to `all`'s.
  static void Append(std::vector<Tensor> &all, std::vector<Tensor> &chunk) {
    if (all.empty()) {
      all = std::move(chunk);
      return;
    }
    for (size_t o = 0; o < all.size(); ++o) {
      all[o].shape[0] += chunk[o].shape[0];
      all[o].data.insert(all[o].data.end(), chunk[o].data.begin(),
                         chunk[o].data.end());
    }
  }

  // Whether the chips of every unit fit in memory, judged by one of them.
  static bool KeepChip(const Simulator::ChipState &chip, size_t units) {
    constexpr uint64_t kKeptChipBytes = uint64_t{256} << 20;
    uint64_t bytes = chip.arrays.size() * sizeof(Simulator::PackedArray);
    for (const Simulator::PackedArray &array : chip.arrays)
      bytes += array.bits.size() * sizeof(uint64_t);
    for (const auto &weights : chip.fused_weights)
      bytes += weights.size() * sizeof(uint64_t) + sizeof(weights);
    for (const auto &padding : chip.fused_padding_errors)
      bytes += padding.size() * sizeof(int32_t) + sizeof(padding);
    for (const auto &words : chip.fused_flipped_words)
      bytes += words.size() * sizeof(words[0]) + sizeof(words);
    return bytes * units <= kKeptChipBytes;
  }

  // Batch `b` of input `k`.
  absl::StatusOr<Tensor> ReadBatch(size_t k, int64_t b) const {
    const Input &input = inputs_[k];
    Tensor tensor{input.shape, std::vector<float>(input.elements)};
    if (absl::Status status = input.reader->Read(
            b * input.elements, input.elements, tensor.data.data());
        !status.ok())
      return status;
    return tensor;
  }

  absl::StatusOr<bool> BatchIsFinite(size_t k, int64_t b) const {
    absl::StatusOr<Tensor> batch = ReadBatch(k, b);
    if (!batch.ok())
      return batch.status();
    return FirstNonFinite(batch->data) < 0;
  }

  // `otherwise`, unless one of the first `inputs` inputs holds a value that
  // is not finite (and that is refused): then the error of the first such
  // value of the first such input, as if every input had been checked in
  // order before anything else.
  absl::Status NonFiniteFirst(size_t inputs, absl::Status otherwise) const {
    if (!check_finite_)
      return otherwise;
    for (size_t k = 0; k < inputs; ++k) {
      const Input &input = inputs_[k];
      // Only inputs of the program's shapes are read (a shape error of an
      // earlier input was returned before).
      absl::StatusOr<int64_t> count = CountBatches(
          input.reader->shape(), input.source, input.name, input.shape);
      if (!count.ok())
        continue;
      for (int64_t b = 0; b < *count; ++b) {
        absl::StatusOr<Tensor> batch = ReadBatch(k, b);
        if (!batch.ok())
          return batch.status();
        int64_t bad = FirstNonFinite(batch->data);
        if (bad >= 0)
          return NonFiniteError(batch->data[bad], b * input.elements + bad,
                                input.reader->shape(), input.source, input.name,
                                names_);
      }
    }
    return otherwise;
  }

  // The prefixes of batches [begin, end), each read and run by one thread.
  absl::StatusOr<std::vector<std::shared_ptr<const Simulator::Prefix>>>
  Prefixes(int64_t begin, int64_t end) const {
    std::vector<uint8_t> finite(end - begin, 1);
    auto prefixes = ParallelMap(end - begin, threads_, [&](size_t i) {
      using Result = absl::StatusOr<std::shared_ptr<const Simulator::Prefix>>;
      std::vector<Tensor> batch;
      for (size_t k = 0; k < inputs_.size(); ++k) {
        absl::StatusOr<Tensor> tensor = ReadBatch(k, begin + i);
        if (!tensor.ok())
          return Result(tensor.status());
        if (check_finite_ && FirstNonFinite(tensor->data) >= 0)
          finite[i] = 0;
        batch.push_back(*std::move(tensor));
      }
      return simulator_.RunPrefix(batch);
    });
    if (std::find(finite.begin(), finite.end(), 0) != finite.end())
      return NonFiniteFirst(inputs_.size(), absl::OkStatus());
    return prefixes;
  }

  // Every batch of `prefixes` on each of `chips` (null: error-free), the
  // outputs stacked along a new first axis by chip; statistics summed. No
  // outputs without batches.
  absl::StatusOr<std::vector<std::vector<Tensor>>>
  RunAll(const std::vector<std::shared_ptr<const Simulator::Prefix>> &prefixes,
         const std::vector<const Simulator::ChipState *> &chips,
         SimulationStats *stats) const {
    std::vector<std::vector<Tensor>> stacked(chips.size());
    if (prefixes.empty())
      return stacked;
    // Contiguous pieces of the batches, a few per thread; the results are
    // put together in order, so they do not depend on the thread count.
    size_t pieces = std::min<size_t>(
        prefixes.size(), threads_ == 1 ? 1 : static_cast<size_t>(threads_) * 4);
    std::vector<SimulationStats> piece_stats(pieces);
    auto outputs = ParallelMap(pieces, threads_, [&](size_t k) {
      size_t begin = prefixes.size() * k / pieces,
             end = prefixes.size() * (k + 1) / pieces;
      std::vector<const Simulator::Prefix *> part;
      for (size_t b = begin; b < end; ++b)
        part.push_back(prefixes[b].get());
      return simulator_.RunSuffixes(part, chips,
                                    stats ? &piece_stats[k] : nullptr);
    });
    if (!outputs.ok())
      return outputs.status();
    if (stats)
      for (const SimulationStats &s : piece_stats)
        AddStats(*stats, s);
    for (size_t c = 0; c < chips.size(); ++c) {
      stacked[c] = std::move((*outputs)[0][c]);
      for (size_t k = 1; k < pieces; ++k)
        Append(stacked[c], (*outputs)[k][c]);
    }
    return stacked;
  }

  // The error-free run's part of `part`.
  void FillIdeal(PartReport &part) const {
    part.set_labelled(labels_.has_value());
    part.set_first_sample(first_sample_);
    part.set_samples(samples_);
    *part.mutable_stats() = stats_;
    if (labels_)
      part.set_ideal_correct(Same(ideal_predictions_, *labels_));
    for (int64_t predicted : ideal_predictions_)
      part.add_ideal_predictions(predicted);
    part.set_cells_read(cells_read_);
  }

  const Simulator &simulator_;
  int threads_;
  bool check_finite_;
  OptionNames names_;
  std::vector<Input> inputs_;
  // Batches in the data set, those of this part, and per chunk.
  int64_t batches_ = 0, first_ = 0, last_ = 0, chunk_ = 1;
  SimulationStats stats_;
  int64_t first_sample_ = 0, samples_ = 0;
  std::vector<int64_t> ideal_predictions_;
  std::optional<std::vector<int64_t>> labels_;
  uint64_t cells_read_ = 0;
};

// The bit errors of `cell` after `cycles`: from the BER table when there
// is one, else from the chip's device model.
absl::StatusOr<BitErrors> RateAt(const RunOptions &options,
                                 const ChipConfig &chip, CellType cell,
                                 double cycles) {
  if (options.ber_table)
    return options.ber_table->Lookup(cell, cycles);
  return BitErrors::FromDevice(chip.device(), cell, cycles);
}

// CRC-32 and size of the program's bytes.
std::string Digest(const Program &program) {
  std::string bytes = SerializeProgram(program);
  uLong crc = crc32(0L, reinterpret_cast<const Bytef *>(bytes.data()),
                    static_cast<uInt>(bytes.size()));
  return absl::StrFormat("crc32:%08x size:%d", crc, bytes.size());
}

// 1T1R devices holding code words (--ecc, --sweep-cells): what the
// skeletons say of them and what the trials found.

// The code of each point of a skeleton (none without errors).
std::vector<std::optional<EccCode>> CodesOf(const SimulationReport &report) {
  if (!report.trials())
    return {};
  return {report.has_ecc() ? ParseEccCode(report.ecc().code()) : std::nullopt};
}
std::vector<std::optional<EccCode>> CodesOf(const SweepReport &sweep) {
  std::vector<std::optional<EccCode>> codes;
  for (const SweepPoint &point : sweep.points())
    codes.push_back(point.has_ecc() ? ParseEccCode(point.ecc().code())
                                    : std::nullopt);
  return codes;
}

double RowReadsPerInference(const Simulator &simulator) {
  uint64_t row_reads = 0;
  for (const SimulationStats &stats : simulator.InstructionStats())
    row_reads += stats.row_reads();
  return static_cast<double>(row_reads) /
         std::max<int64_t>(1, SamplesPerRun(simulator.program()));
}

// The fields of `ecc` that no count changes, for `trials` trials at
// `rate`; returns the expected rate of cells wrong after decoding.
double FillEccSkeleton(EccSummary &ecc, const Simulator &simulator,
                       const BitErrors &rate, EccCode code, int trials) {
  const EccCodeInfo &info = InfoOf(code);
  ecc.set_code(info.name);
  ecc.set_code_bits(info.code_bits);
  ecc.set_data_bits(info.data_bits);
  ecc.set_detects_double_errors(info.detects_double_errors);
  Simulator::EccExpectation stored = simulator.ExpectedEccErrors(rate, code);
  uint64_t cells = Sum(simulator.CellsRead());
  double wrong = 0, uncorrectable = 0;
  for (size_t a = 0; a < stored.devices.size(); ++a) {
    wrong += stored.wrong_bits[a];
    uncorrectable += stored.uncorrectable_words[a];
  }
  ecc.set_devices(Sum(stored.devices));
  ecc.set_words(Sum(stored.words));
  ecc.set_devices_per_bit(cells ? static_cast<double>(ecc.devices()) / cells
                                : DevicesPerBit(code));
  ecc.mutable_raw_ber()->set_expected(rate.rates().Mean());
  ecc.set_expected_uncorrectable_words(uncorrectable * trials);
  return cells ? wrong / cells : 0;
}

template <typename Results>
void FillEccObserved(EccSummary &ecc, const Results &results, int trials) {
  ecc.mutable_raw_ber()->set_observed(
      ecc.devices() ? static_cast<double>(results.device_flips) /
                          (static_cast<double>(ecc.devices()) * trials)
                    : 0);
  ecc.set_uncorrectable_words(results.uncorrectable_words);
}

// A sweep over cell settings at every cycle count, setting after setting;
// with --equal-devices a setting that takes more devices than 2T2R cells
// is refused.
absl::StatusOr<std::pair<SweepReport, std::vector<BitErrors>>>
SettingsSkeleton(const Simulator &simulator, const SweepOptions &options,
                 SweepReport sweep) {
  const Program &p = simulator.program();
  uint64_t cells = Sum(simulator.CellsRead());
  sweep.set_equal_devices(options.equal_devices);
  if (options.equal_devices)
    sweep.set_device_budget(2 * cells);
  std::vector<BitErrors> rates;
  for (const CellSetting &setting : options.cells) {
    std::string name = SettingName(setting);
    // 2T2R: two devices a cell, 1T1R one, a code its words' devices.
    uint64_t devices = setting.cell == CELL_2T2R ? 2 * cells : cells;
    if (setting.ecc) {
      devices = 0;
      for (uint64_t stored :
           simulator.ExpectedEccErrors(0.0, *setting.ecc).devices)
        devices += stored;
    }
    if (options.equal_devices && devices > 2 * cells)
      return Invalid(absl::StrCat(
          Name(options.names, "equal-devices"), ": ", name, " stores the ",
          cells, " cells read in ", devices, " devices, more than 2T2R's ",
          2 * cells, "; drop it from ", Name(options.names, "sweep-cells"),
          " or compare without ", Name(options.names, "equal-devices")));
    for (double n : options.cycles) {
      absl::StatusOr<BitErrors> rate =
          RateAt(options, p.chip(), setting.cell, n);
      if (!rate.ok())
        return rate.status();
      SweepPoint *point = sweep.add_points();
      point->set_cell(setting.cell);
      point->set_cycles(n);
      point->set_setting(name);
      point->set_devices(devices);
      point->set_devices_per_bit(cells ? static_cast<double>(devices) / cells
                                       : 0);
      point->mutable_ber()->set_expected(
          setting.ecc ? FillEccSkeleton(*point->mutable_ecc(), simulator, *rate,
                                        *setting.ecc, options.trials)
                      : simulator.ExpectedBer(*rate));
      rates.push_back(*rate);
    }
  }
  return std::make_pair(std::move(sweep), std::move(rates));
}

// A part: the error-free run of its samples and its trials. Single runs are
// the one part of one shard, so that merged and single reports are written
// by the same code.
absl::StatusOr<PartReport>
RunPart(const Simulator &simulator, const Dataset &data,
        const RunOptions &options, const std::vector<BitErrors> &rates,
        const std::vector<std::optional<EccCode>> &codes, bool per_array,
        const Shard &shard, std::vector<Tensor> *outputs,
        const std::function<void(size_t, size_t)> &on_step = nullptr) {
  if (shard.count < 1 || shard.index >= shard.count)
    return Invalid(absl::StrFormat("%s must be K/N with 0 <= K < N, got %d/%d",
                                   Name(options.names, "shard"), shard.index,
                                   shard.count));
  absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(
      simulator, data, options,
      shard.samples ? std::optional<Shard>(shard) : std::nullopt);
  if (!engine.ok())
    return engine.status();
  PartReport part;
  part.set_shard(shard.index);
  part.set_shards(shard.count);
  part.set_shard_samples(shard.samples);
  part.set_program_digest(Digest(simulator.program()));
  // The (point, trial) pairs in order; without sample sharding each part
  // takes a contiguous range of them.
  std::vector<std::pair<uint32_t, uint32_t>> units;
  for (uint32_t point = 0; point < rates.size(); ++point)
    for (int trial = 0; trial < options.trials; ++trial)
      units.push_back({point, static_cast<uint32_t>(trial)});
  if (!shard.samples)
    units = std::vector<std::pair<uint32_t, uint32_t>>(
        units.begin() + units.size() * shard.index / shard.count,
        units.begin() + units.size() * (shard.index + 1) / shard.count);
  if (absl::Status status = (*engine)->Run(rates, codes, units, options.seed,
                                           per_array, part, outputs, on_step);
      !status.ok())
    return status;
  return part;
}

// The report of a single run with every field no count changes, and the
// bit-error rate of its one point (none without errors).
absl::StatusOr<std::pair<SimulationReport, std::vector<BitErrors>>>
SimulationSkeleton(const Simulator &simulator, const TrialOptions &options) {
  const Program &p = simulator.program();
  SimulationReport report;
  report.set_program(options.program_name);
  absl::StatusOr<InferenceCost> cost = EstimateInferenceCost(p);
  if (!cost.ok())
    return cost.status();
  *report.mutable_cost() = *std::move(cost);
  if (!options.cycles && !options.ber)
    return std::make_pair(report, std::vector<BitErrors>());
  CellType cell =
      options.cell == CELL_TYPE_UNSPECIFIED ? p.chip().cell() : options.cell;
  absl::StatusOr<BitErrors> rate =
      options.ber ? absl::StatusOr<BitErrors>(*options.ber)
                  : RateAt(options, p.chip(), cell, *options.cycles);
  if (!rate.ok())
    return rate.status();
  if (options.ecc && cell != CELL_1T1R)
    return Invalid(absl::StrCat(
        Name(options.names, "ecc"),
        " stores code words in 1T1R devices, the cells here are ",
        CellName(cell), ": give ", Name(options.names, "cell"), "=1T1R"));
  report.set_cell(cell);
  report.set_cycles(options.cycles.value_or(0));
  report.set_ber_source(options.ber         ? "--ber"
                        : options.ber_table ? options.ber_table->source()
                                            : "device model");
  report.set_trials(options.trials);
  report.set_seed(options.seed);
  report.mutable_ber()->set_expected(simulator.ExpectedBer(*rate));
  std::vector<uint64_t> cells = simulator.CellsRead();
  std::vector<double> expected = simulator.ExpectedFlips(*rate);
  if (options.ecc) {
    // The cells read wrong after decoding are what the flips count.
    Simulator::EccExpectation stored =
        simulator.ExpectedEccErrors(*rate, *options.ecc);
    expected = stored.wrong_bits;
    report.mutable_ber()->set_expected(FillEccSkeleton(
        *report.mutable_ecc(), simulator, *rate, *options.ecc, options.trials));
    *report.mutable_ecc()->mutable_cost() =
        EstimateEccCost(p, *options.ecc, RowReadsPerInference(simulator));
  }
  std::map<std::string, FlipCount> layers;
  for (const ArrayImage &image : p.arrays()) {
    FlipCount *array = report.add_array_flips();
    array->set_layer(image.layer());
    array->set_array(image.array());
    array->set_cells(cells[image.array()]);
    array->set_expected(expected[image.array()] * options.trials);
    FlipCount &layer = layers[image.layer()];
    layer.set_layer(image.layer());
    layer.set_cells(layer.cells() + array->cells());
    layer.set_expected(layer.expected() + array->expected());
  }
  for (const auto &[name, layer] : layers)
    *report.add_layer_flips() = layer;
  return std::make_pair(report, std::vector<BitErrors>{*rate});
}

// The sweep's report with every field no count changes, and the bit-error
// rate of each point.
absl::StatusOr<std::pair<SweepReport, std::vector<BitErrors>>>
SweepSkeleton(const Simulator &simulator, const SweepOptions &options) {
  const Program &p = simulator.program();
  bool over_cycles = !options.cycles.empty();
  SweepReport sweep;
  sweep.set_program(options.program_name);
  sweep.set_parameter(over_cycles ? "cycles" : "ber");
  sweep.set_trials(options.trials);
  sweep.set_seed(options.seed);
  // Over cycles both cells, each at every count; over BERs any cell.
  std::vector<BitErrors> rates;
  if (!options.cells.empty())
    return SettingsSkeleton(simulator, options, std::move(sweep));
  if (over_cycles) {
    for (CellType cell : {CELL_1T1R, CELL_2T2R})
      for (double n : options.cycles) {
        absl::StatusOr<BitErrors> rate = RateAt(options, p.chip(), cell, n);
        if (!rate.ok())
          return rate.status();
        SweepPoint *point = sweep.add_points();
        point->set_cell(cell);
        point->set_cycles(n);
        point->mutable_ber()->set_expected(simulator.ExpectedBer(*rate));
        rates.push_back(*rate);
      }
  } else {
    for (double rate : options.ber) {
      sweep.add_points()->mutable_ber()->set_expected(rate);
      rates.push_back(rate);
    }
  }
  return std::make_pair(sweep, rates);
}

// What the parts of a run found together.
struct Totals {
  bool labelled = false;
  uint64_t samples = 0, ideal_correct = 0, cells_read = 0;
  SimulationStats stats;
  // By (point, trial): counts summed over the parts' samples.
  std::map<std::pair<uint32_t, uint32_t>, TrialCounts> trials;
  // By the program's arrays, over all trials (single runs).
  std::vector<uint64_t> array_flips;
};

// Sums parts that belong together: the samples of sample shards, the
// trials of trial shards (each of which ran every sample error-free).
Totals Combine(const std::vector<const PartReport *> &parts) {
  Totals totals;
  for (const PartReport *part : parts) {
    if (part->shard_samples() || part->shard() == 0) {
      totals.labelled = part->labelled();
      totals.samples += part->samples();
      totals.ideal_correct += part->ideal_correct();
      totals.cells_read = part->cells_read();
      uint64_t programming = part->stats().programming_cycles();
      AddStats(totals.stats, part->stats());
      totals.stats.set_programming_cycles(programming);
    }
    // Sample parts program the same chips: their flips count once.
    if (!part->shard_samples() || part->shard() == 0) {
      totals.array_flips.resize(std::max<size_t>(totals.array_flips.size(),
                                                 part->array_flips_size()));
      for (int i = 0; i < part->array_flips_size(); ++i)
        totals.array_flips[i] += part->array_flips(i);
    }
    for (const TrialCounts &counts : part->trials()) {
      TrialCounts &total = totals.trials[{counts.point(), counts.trial()}];
      total.set_agreeing(total.agreeing() + counts.agreeing());
      total.set_correct(total.correct() + counts.correct());
      // A trial programs one chip, whatever samples a part runs on it.
      total.set_flipped(counts.flipped());
      total.set_device_flips(counts.device_flips());
      total.set_uncorrectable_words(counts.uncorrectable_words());
    }
  }
  return totals;
}

// Per trial of `point`, the fraction of agreeing and of correct samples,
// and the cells flipped over all trials.
struct PointResults {
  std::vector<double> agreement, accuracy;
  uint64_t flipped = 0, device_flips = 0, uncorrectable_words = 0;
};
PointResults ResultsOf(const Totals &totals, uint32_t point, int trials) {
  PointResults results;
  double samples = static_cast<double>(totals.samples);
  for (int t = 0; t < trials; ++t) {
    const TrialCounts &counts = totals.trials.at({point, t});
    results.agreement.push_back(samples ? counts.agreeing() / samples : 1.0);
    if (totals.labelled)
      results.accuracy.push_back(samples ? counts.correct() / samples : 1.0);
    results.flipped += counts.flipped();
    results.device_flips += counts.device_flips();
    results.uncorrectable_words += counts.uncorrectable_words();
  }
  return results;
}

double ObservedBer(const Totals &totals, const PointResults &results,
                   int trials) {
  return totals.cells_read ? static_cast<double>(results.flipped) /
                                 (totals.cells_read * trials)
                           : 0;
}

SimulationReport Assemble(SimulationReport report, const Totals &totals) {
  report.set_samples(totals.samples);
  *report.mutable_stats() = totals.stats;
  if (totals.labelled) {
    report.set_accuracy(static_cast<double>(totals.ideal_correct) /
                        totals.samples);
    report.set_correct(totals.ideal_correct);
  }
  if (report.trials() == 0)
    return report;
  PointResults results = ResultsOf(totals, 0, report.trials());
  report.mutable_ber()->set_observed(
      ObservedBer(totals, results, report.trials()));
  std::map<std::string, uint64_t> by_layer;
  for (int i = 0; i < report.array_flips_size(); ++i) {
    FlipCount &array = *report.mutable_array_flips(i);
    array.set_observed(i < static_cast<int>(totals.array_flips.size())
                           ? totals.array_flips[i]
                           : 0);
    by_layer[array.layer()] += array.observed();
  }
  for (FlipCount &layer : *report.mutable_layer_flips())
    layer.set_observed(by_layer[layer.layer()]);
  *report.mutable_agreement_with_ideal() = Summarize(results.agreement);
  *report.mutable_accuracy_trials() = Summarize(results.accuracy);
  if (report.has_ecc())
    FillEccObserved(*report.mutable_ecc(), results, report.trials());
  return report;
}

SweepReport Assemble(SweepReport sweep, const Totals &totals) {
  sweep.set_samples(totals.samples);
  if (totals.labelled)
    sweep.set_ideal_accuracy(static_cast<double>(totals.ideal_correct) /
                             totals.samples);
  for (int p = 0; p < sweep.points_size(); ++p) {
    SweepPoint &point = *sweep.mutable_points(p);
    PointResults results = ResultsOf(totals, p, sweep.trials());
    point.mutable_ber()->set_observed(
        ObservedBer(totals, results, sweep.trials()));
    *point.mutable_agreement_with_ideal() = Summarize(results.agreement);
    *point.mutable_accuracy() = Summarize(results.accuracy);
    if (point.has_ecc())
      FillEccObserved(*point.mutable_ecc(), results, sweep.trials());
  }
  return sweep;
}

} // namespace

std::string SettingName(const CellSetting &setting) {
  std::string name = CellName(setting.cell);
  if (setting.ecc)
    absl::StrAppend(&name, "+", InfoOf(*setting.ecc).name);
  return name;
}

absl::StatusOr<EccCode> ParseEccOption(absl::string_view text,
                                       OptionNames names) {
  std::optional<EccCode> code = ParseEccCode(text);
  if (!code)
    return Invalid(absl::StrCat(Name(names, "ecc"), ": unknown code '", text,
                                "'; known codes: ", EccCodeNames()));
  return *code;
}

absl::StatusOr<CellSetting> ParseCellSetting(absl::string_view text,
                                             OptionNames names) {
  std::string flag = Name(names, "sweep-cells");
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('+', 1));
  std::optional<CellType> cell = ParseCellType(parts.first);
  if (!cell)
    return Invalid(absl::StrCat(flag, ": unknown setting '", text,
                                "'; give 2T2R, 1T1R or 1T1R+CODE with CODE "
                                "one of ",
                                EccCodeNames()));
  CellSetting setting{*cell, std::nullopt};
  if (text.find('+') == absl::string_view::npos)
    return setting;
  std::optional<EccCode> code = ParseEccCode(parts.second);
  if (!code)
    return Invalid(absl::StrCat(flag, ": unknown code '", parts.second,
                                "' in '", text,
                                "'; known codes: ", EccCodeNames()));
  if (*cell != CELL_1T1R)
    return Invalid(absl::StrCat(flag, ": '", text,
                                "': code words are stored in 1T1R devices, "
                                "give 1T1R+",
                                parts.second));
  setting.ecc = code;
  return setting;
}

std::vector<int64_t> Predict(const Tensor &output) {
  int64_t samples = output.shape.empty() ? 1 : output.shape[0];
  int64_t classes = samples ? output.data.size() / samples : 0;
  std::vector<int64_t> predicted(samples);
  for (int64_t s = 0; s < samples; ++s) {
    const float *row = output.data.data() + s * classes;
    predicted[s] = std::max_element(row, row + classes) - row;
  }
  return predicted;
}

absl::StatusOr<PartReport> SimulatePart(const Simulator &simulator,
                                        const Dataset &data,
                                        const TrialOptions &options,
                                        const Shard &shard) {
  if (absl::Status status = Validate(options); !status.ok())
    return status;
  auto skeleton = SimulationSkeleton(simulator, options);
  if (!skeleton.ok())
    return skeleton.status();
  absl::StatusOr<PartReport> part =
      RunPart(simulator, data, options, skeleton->second,
              CodesOf(skeleton->first), true, shard, nullptr);
  if (part.ok())
    *part->mutable_simulation() = std::move(skeleton->first);
  return part;
}

absl::StatusOr<PartReport> SweepPart(const Simulator &simulator,
                                     const Dataset &data,
                                     const SweepOptions &options,
                                     const Shard &shard) {
  if (absl::Status status = Validate(options); !status.ok())
    return status;
  auto skeleton = SweepSkeleton(simulator, options);
  if (!skeleton.ok())
    return skeleton.status();
  absl::StatusOr<PartReport> part =
      RunPart(simulator, data, options, skeleton->second,
              CodesOf(skeleton->first), false, shard, nullptr);
  if (part.ok())
    *part->mutable_sweep() = std::move(skeleton->first);
  return part;
}

absl::StatusOr<Simulation> Simulate(const Simulator &simulator,
                                    const Dataset &data,
                                    const TrialOptions &options) {
  if (absl::Status status = Validate(options); !status.ok())
    return status;
  auto skeleton = SimulationSkeleton(simulator, options);
  if (!skeleton.ok())
    return skeleton.status();
  Simulation simulation;
  absl::StatusOr<PartReport> part =
      RunPart(simulator, data, options, skeleton->second,
              CodesOf(skeleton->first), true, Shard(), &simulation.outputs);
  if (!part.ok())
    return part.status();
  simulation.report = Assemble(std::move(skeleton->first), Combine({&*part}));
  return simulation;
}

absl::StatusOr<SweepReport> Sweep(const Simulator &simulator,
                                  const Dataset &data,
                                  const SweepOptions &options) {
  if (absl::Status status = Validate(options); !status.ok())
    return status;
  auto skeleton = SweepSkeleton(simulator, options);
  if (!skeleton.ok())
    return skeleton.status();
  std::function<void(size_t, size_t)> on_step;
  if (options.progress)
    on_step = [&](size_t step, size_t steps) {
      options.progress(step + 1, steps);
    };
  absl::StatusOr<PartReport> part =
      RunPart(simulator, data, options, skeleton->second,
              CodesOf(skeleton->first), false, Shard(), nullptr, on_step);
  if (!part.ok())
    return part.status();
  return Assemble(std::move(skeleton->first), Combine({&*part}));
}

namespace {

// The sensitivity entry of `point`: what its trials found against the
// error-free run.
SensitivityEntry SensitivityOf(const Totals &totals, uint32_t point,
                               int trials) {
  SensitivityEntry entry;
  PointResults results = ResultsOf(totals, point, trials);
  entry.set_flipped(results.flipped);
  *entry.mutable_agreement_with_ideal() = Summarize(results.agreement);
  entry.set_agreement_drop(1 - entry.agreement_with_ideal().mean());
  if (totals.labelled) {
    *entry.mutable_accuracy() = Summarize(results.accuracy);
    double ideal = totals.samples ? static_cast<double>(totals.ideal_correct) /
                                        totals.samples
                                  : 1.0;
    entry.set_accuracy_drop(ideal - entry.accuracy().mean());
  }
  return entry;
}

} // namespace

absl::StatusOr<SensitivityReport>
Sensitivity(const Simulator &simulator, const Dataset &data,
            const SensitivityOptions &options) {
  if (absl::Status status = Validate(options); !status.ok())
    return status;
  OptionNames names = options.names;
  if (!options.cycles && !options.ber)
    return Invalid(absl::StrCat("sensitivity injects errors: give ",
                                Name(names, "cycles"), " or ",
                                Name(names, "ber")));
  if (options.array_layers < 0)
    return Invalid(absl::StrCat(Name(names, names == OptionNames::kFlags
                                                ? "sensitivity-arrays"
                                                : "array-layers"),
                                " must be at least 0"));
  auto skeleton = SimulationSkeleton(simulator, options);
  if (!skeleton.ok())
    return skeleton.status();
  const SimulationReport &base = skeleton->first;
  const BitErrors &errors = skeleton->second[0];
  SensitivityReport report;
  report.set_program(options.program_name);
  report.set_cell(base.cell());
  report.set_cycles(base.cycles());
  report.set_ber_source(base.ber_source());
  report.set_trials(options.trials);
  report.set_seed(options.seed);
  report.set_ber(errors.rates().Mean());

  // The layers on arrays in program order, with their arrays.
  const Program &p = simulator.program();
  std::vector<std::string> layers;
  std::map<std::string, std::vector<uint32_t>> arrays_of;
  for (const ArrayImage &image : p.arrays()) {
    std::vector<uint32_t> &arrays = arrays_of[image.layer()];
    if (arrays.empty())
      layers.push_back(image.layer());
    arrays.push_back(image.array());
  }
  std::vector<uint64_t> cells = simulator.CellsRead();
  auto cells_of = [&](const std::vector<uint32_t> &arrays) {
    uint64_t sum = 0;
    for (uint32_t array : arrays)
      sum += cells[array];
    return sum;
  };

  // Every array, then each layer alone.
  std::vector<BitErrors> rates = {errors};
  for (const std::string &layer : layers)
    rates.push_back(errors.ConfinedTo(arrays_of[layer]));
  absl::StatusOr<PartReport> part =
      RunPart(simulator, data, options, rates,
              std::vector<std::optional<EccCode>>(rates.size()), false, Shard(),
              nullptr);
  if (!part.ok())
    return part.status();
  Totals totals = Combine({&*part});
  report.set_samples(totals.samples);
  if (totals.labelled)
    report.set_ideal_accuracy(totals.samples
                                  ? static_cast<double>(totals.ideal_correct) /
                                        totals.samples
                                  : 1.0);
  *report.mutable_all_arrays() = SensitivityOf(totals, 0, options.trials);
  report.mutable_all_arrays()->set_arrays(p.arrays_size());
  report.mutable_all_arrays()->set_cells(Sum(cells));
  for (size_t l = 0; l < layers.size(); ++l) {
    SensitivityEntry &entry = *report.add_layers();
    entry = SensitivityOf(totals, l + 1, options.trials);
    entry.set_layer(layers[l]);
    entry.set_arrays(arrays_of[layers[l]].size());
    entry.set_cells(cells_of(arrays_of[layers[l]]));
  }
  std::vector<int> order(layers.size());
  for (size_t l = 0; l < order.size(); ++l)
    order[l] = l;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const SensitivityEntry &x = report.layers(a), &y = report.layers(b);
    if (x.agreement_drop() != y.agreement_drop())
      return x.agreement_drop() > y.agreement_drop();
    return x.accuracy_drop() > y.accuracy_drop();
  });
  for (int l : order)
    report.add_ranking(layers[l]);

  // One array at a time in the most sensitive layers.
  size_t top = std::min<size_t>(options.array_layers, layers.size());
  report.set_array_layers(top);
  std::vector<BitErrors> array_rates;
  std::vector<std::pair<std::string, uint32_t>> array_points;
  for (size_t r = 0; r < top; ++r)
    for (uint32_t array : arrays_of[layers[order[r]]]) {
      array_rates.push_back(errors.ConfinedTo({array}));
      array_points.push_back({layers[order[r]], array});
    }
  if (array_rates.empty())
    return report;
  part = RunPart(simulator, data, options, array_rates,
                 std::vector<std::optional<EccCode>>(array_rates.size()), false,
                 Shard(), nullptr);
  if (!part.ok())
    return part.status();
  totals = Combine({&*part});
  for (size_t a = 0; a < array_points.size(); ++a) {
    SensitivityEntry &entry = *report.add_arrays();
    entry = SensitivityOf(totals, a, options.trials);
    entry.set_layer(array_points[a].first);
    entry.set_array(array_points[a].second);
    entry.set_arrays(1);
    entry.set_cells(cells[array_points[a].second]);
  }
  return report;
}

std::string FormatSensitivity(const SensitivityReport &report) {
  std::string text = absl::StrFormat(
      "sensitivity of %s: %d sample(s), %d trial(s) per layer and array, "
      "%s BER %.3g (%s%s)\n",
      report.program(), report.samples(), report.trials(),
      CellName(report.cell()), report.ber(), report.ber_source(),
      report.ber_source() == "--ber"
          ? ""
          : absl::StrFormat(", %g cycles", report.cycles()));
  bool labelled = report.has_ideal_accuracy();
  if (labelled)
    absl::StrAppendFormat(&text, "error-free accuracy %.4f\n",
                          report.ideal_accuracy());
  std::map<std::string, int> rank;
  for (int r = 0; r < report.ranking_size(); ++r)
    rank[report.ranking(r)] = r + 1;
  // Names padded to the longest, an array's "LAYER array K".
  size_t width = 13;
  for (const SensitivityEntry &layer : report.layers())
    width = std::max(width, layer.layer().size());
  for (const SensitivityEntry &array : report.arrays())
    width = std::max(width, array.layer().size() + 7 +
                                absl::StrCat(array.array()).size());
  auto row = [&](const std::string &name, const std::string &rank_text,
                 const SensitivityEntry &entry) {
    absl::StrAppendFormat(&text, "  %-*s %4s %6d %10d %10d %10.4f", width, name,
                          rank_text, entry.arrays(), entry.cells(),
                          entry.flipped(), entry.agreement_drop());
    if (labelled)
      absl::StrAppendFormat(&text, " %10.4f", entry.accuracy_drop());
    text += "\n";
  };
  auto header = [&](const char *first, const char *second) {
    absl::StrAppendFormat(&text, "  %-*s %4s %6s %10s %10s %10s", width, first,
                          second, "arrays", "cells", "flipped", "agr. drop");
    if (labelled)
      absl::StrAppendFormat(&text, " %10s", "acc. drop");
    text += "\n";
  };
  text += "errors in one layer at a time (flips over all trials; drops: "
          "mean over trials against the error-free chip):\n";
  header("layer", "rank");
  for (const SensitivityEntry &layer : report.layers())
    row(layer.layer(), absl::StrCat(rank[layer.layer()]), layer);
  row("(every array)", "", report.all_arrays());
  if (report.arrays_size() > 0) {
    absl::StrAppendFormat(&text,
                          "errors in one array at a time, in the %d most "
                          "sensitive layer(s):\n",
                          report.array_layers());
    header("layer", "");
    for (const SensitivityEntry &array : report.arrays())
      row(absl::StrCat(array.layer(), " array ", array.array()), "", array);
  }
  return text;
}

absl::StatusOr<MergedReport>
MergeParts(const std::vector<PartReport> &parts,
           const std::vector<std::string> &sources) {
  if (parts.empty())
    return Invalid("no parts to merge");
  const PartReport &first = parts[0];
  std::string skeleton = first.has_sweep()
                             ? first.sweep().SerializeAsString()
                             : first.simulation().SerializeAsString();
  std::vector<const PartReport *> by_shard(first.shards(), nullptr);
  std::vector<std::string> source_of(first.shards());
  for (size_t i = 0; i < parts.size(); ++i) {
    const PartReport &part = parts[i];
    const std::string &source = i < sources.size() ? sources[i] : "part";
    if (part.shards() != first.shards() ||
        part.shard_samples() != first.shard_samples())
      return Invalid(absl::StrCat(source, ": a part of a run split ",
                                  part.shards(), " ways, not ", first.shards(),
                                  " as ", sources[0]));
    if (part.program_digest() != first.program_digest())
      return Invalid(absl::StrCat(
          source, ": a part of another program (", part.program_digest(),
          ", not ", first.program_digest(), " as ", sources[0], ")"));
    std::string own = part.has_sweep() ? part.sweep().SerializeAsString()
                                       : part.simulation().SerializeAsString();
    if (part.has_sweep() != first.has_sweep() || own != skeleton)
      return Invalid(absl::StrCat(
          source, ": a part of a run with other options than ", sources[0]));
    if (part.shard() >= first.shards())
      return Invalid(absl::StrCat(source, ": shard ", part.shard(),
                                  " of a run split ", first.shards(), " ways"));
    if (by_shard[part.shard()])
      return Invalid(absl::StrCat(source, ": shard ", part.shard(),
                                  " is given twice (also ",
                                  source_of[part.shard()], ")"));
    by_shard[part.shard()] = &part;
    source_of[part.shard()] = source;
  }
  for (uint32_t k = 0; k < first.shards(); ++k)
    if (!by_shard[k])
      return Invalid(
          absl::StrCat("shard ", k, " of ", first.shards(), " is missing"));
  Totals totals = Combine(by_shard);
  MergedReport merged;
  if (first.has_sweep())
    merged.sweep = Assemble(first.sweep(), totals);
  else
    merged.simulation = Assemble(first.simulation(), totals);
  return merged;
}

} // namespace hafnia
