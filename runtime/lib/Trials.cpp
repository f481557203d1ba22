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
#include "absl/strings/strip.h"
#include "hafnia/runtime/ChipConfig.h"
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
  return absl::OkStatus();
}

// Fails, naming the sample and the element, if `input` holds a NaN or an
// infinity.
absl::Status CheckFinite(const Tensor &input, const std::string &source,
                         const std::string &name, OptionNames names) {
  auto bad = std::find_if(input.data.begin(), input.data.end(),
                          [](float v) { return !std::isfinite(v); });
  if (bad == input.data.end())
    return absl::OkStatus();
  int64_t index = bad - input.data.begin();
  int64_t samples = input.shape.empty() ? 1 : input.shape[0];
  int64_t per_sample =
      std::max<int64_t>(samples ? input.NumElements() / samples : 1, 1);
  return Invalid(absl::StrCat(
      source, ": input '", name, "' holds ",
      std::isnan(*bad) ? "NaN" : (*bad > 0 ? "+inf" : "-inf"), " (sample ",
      index / per_sample, ", element ", index % per_sample,
      "); give finite numbers, or ", Name(names, "allow-nonfinite-inputs"),
      " to run them as they are"));
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

// A data set split into the program's batches, with the array-free prefix
// of the batches a part runs computed once (errors cannot change it) and
// their error-free run, which trials are compared with.
class Engine {
public:
  // Runs batches [first, last) of the data set, or all of them (-1).
  static absl::StatusOr<std::unique_ptr<Engine>>
  Create(const Simulator &simulator, const Dataset &data,
         const RunOptions &options, std::optional<Shard> batch_shard) {
    OptionNames names = options.names;
    auto engine =
        std::unique_ptr<Engine>(new Engine(simulator, options.threads));
    const Program &p = simulator.program();
    if (data.inputs.size() != static_cast<size_t>(p.inputs_size()))
      return Invalid(absl::StrCat("the program takes ", p.inputs_size(),
                                  " input(s), got ", data.inputs.size()));
    std::vector<std::vector<Tensor>> batches;
    // A program without inputs (all constants) runs once.
    if (p.inputs_size() == 0)
      batches.emplace_back();
    for (size_t k = 0; k < data.inputs.size(); ++k) {
      std::string source = k < data.sources.size() && !data.sources[k].empty()
                               ? data.sources[k]
                               : absl::StrCat("input ", k);
      if (!options.allow_nonfinite_inputs)
        if (absl::Status status =
                CheckFinite(data.inputs[k], source, p.inputs(k).name(), names);
            !status.ok())
          return status;
      const Buffer &buffer = p.buffers(p.inputs(k).buffer());
      absl::StatusOr<std::vector<Tensor>> split = SplitBatch(
          data.inputs[k], source, p.inputs(k).name(),
          std::vector<int64_t>(buffer.shape().begin(), buffer.shape().end()));
      if (!split.ok())
        return split.status();
      if (k > 0 && split->size() != batches.size())
        return Invalid("the inputs hold different numbers of samples");
      batches.resize(split->size());
      for (size_t c = 0; c < split->size(); ++c)
        batches[c].push_back(std::move((*split)[c]));
    }
    // Every batch holds as many samples as the first output's first axis
    // (a program without inputs, or with a scalar output, runs once).
    const Buffer &output = p.buffers(p.outputs(0).buffer());
    int64_t per_batch =
        p.inputs_size() == 0 || output.shape_size() == 0 ? 1 : output.shape(0);
    int64_t total = per_batch * static_cast<int64_t>(batches.size());
    size_t first = 0, last = batches.size();
    if (batch_shard) {
      first = batches.size() * batch_shard->index / batch_shard->count;
      last = batches.size() * (batch_shard->index + 1) / batch_shard->count;
    }
    engine->first_sample_ = first * per_batch;
    engine->samples_ = (last - first) * per_batch;

    if (data.labels) {
      if (p.inputs_size() == 0)
        return Invalid(absl::StrCat(Name(names, "labels"),
                                    ": the program has no inputs, so no "
                                    "samples to label"));
      if (static_cast<int64_t>(data.labels->size()) != total)
        return Invalid(absl::StrCat(data.labels_source, " holds ",
                                    data.labels->size(), " labels for ", total,
                                    " samples"));
      int64_t classes =
          NumElements(ShapeOf(output)) / std::max<int64_t>(per_batch, 1);
      for (size_t s = 0; s < data.labels->size(); ++s)
        if ((*data.labels)[s] < 0 || (*data.labels)[s] >= classes)
          return Invalid(absl::StrCat(data.labels_source, ": label ",
                                      (*data.labels)[s], " of sample ", s,
                                      " is not one of the program's ", classes,
                                      " classes [0, ", classes, ")"));
      engine->labels_.emplace(data.labels->begin() + engine->first_sample_,
                              data.labels->begin() + engine->first_sample_ +
                                  engine->samples_);
    }

    auto prefixes = ParallelMap(last - first, options.threads, [&](size_t c) {
      return simulator.RunPrefix(batches[first + c]);
    });
    if (!prefixes.ok())
      return prefixes.status();
    engine->prefixes_ = *std::move(prefixes);
    absl::StatusOr<std::vector<std::vector<Tensor>>> ideal =
        engine->RunAll({nullptr}, &engine->stats_);
    if (!ideal.ok())
      return ideal.status();
    engine->ideal_ = std::move((*ideal)[0]);
    engine->stats_.set_programming_cycles(Sum(simulator.programming_cycles()));
    if (!engine->ideal_.empty())
      engine->ideal_predictions_ = Predict(engine->ideal_[0]);
    engine->cells_read_ = Sum(simulator.CellsRead());
    return engine;
  }

  const std::vector<Tensor> &ideal() const { return ideal_; }

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

  // Trials of `units` (point, trial) at the points' bit-error rates, with
  // the flips of each array when `per_array`; with `outputs`, the outputs
  // of the first unit. `on_point` is told of each point as its first trial
  // starts.
  absl::Status
  RunTrials(const std::vector<double> &rates,
            const std::vector<std::pair<uint32_t, uint32_t>> &units,
            uint64_t seed, bool per_array, PartReport &part,
            std::vector<Tensor> *outputs,
            const std::function<void(uint32_t)> &on_point) const {
    // The trials of one point run together: each group of samples runs on
    // one chip after the other, reusing its buffers.
    for (size_t first = 0; first < units.size();) {
      uint32_t point = units[first].first;
      size_t last = first;
      while (last < units.size() && units[last].first == point)
        ++last;
      if (on_point)
        on_point(point);
      std::vector<std::unique_ptr<Simulator::ChipState>> chips;
      std::vector<const Simulator::ChipState *> pointers;
      int first_trial = part.trials_size();
      for (size_t u = first; u < last; ++u) {
        std::mt19937_64 random = TrialEngine(seed, units[u].second);
        chips.push_back(simulator_.ProgramWithErrors(rates[point], random));
        pointers.push_back(chips.back().get());
        TrialCounts *counts = part.add_trials();
        counts->set_point(point);
        counts->set_trial(units[u].second);
        const std::vector<uint64_t> &flips = Simulator::Flips(*chips.back());
        counts->set_flipped(Sum(flips));
        if (per_array) {
          part.mutable_array_flips()->Resize(flips.size(), 0);
          for (size_t i = 0; i < flips.size(); ++i)
            part.set_array_flips(i, part.array_flips(i) + flips[i]);
        }
      }
      absl::StatusOr<std::vector<std::vector<Tensor>>> runs =
          RunAll(pointers, nullptr);
      if (!runs.ok())
        return runs.status();
      for (size_t c = 0; c < runs->size(); ++c) {
        std::vector<Tensor> &run = (*runs)[c];
        if (run.empty())
          continue;
        TrialCounts *counts = part.mutable_trials(first_trial + c);
        std::vector<int64_t> predicted = Predict(run[0]);
        counts->set_agreeing(Same(predicted, ideal_predictions_));
        if (labels_)
          counts->set_correct(Same(predicted, *labels_));
        if (outputs && first_trial + c == 0)
          *outputs = std::move(run);
      }
      first = last;
    }
    return absl::OkStatus();
  }

private:
  Engine(const Simulator &simulator, int threads)
      : simulator_(simulator), threads_(threads) {}

  static uint64_t Same(const std::vector<int64_t> &a,
                       const std::vector<int64_t> &b) {
    uint64_t same = 0;
    for (size_t i = 0; i < a.size(); ++i)
      same += a[i] == b[i];
    return same;
  }

  // Every batch on each of `chips` (null: error-free), the outputs joined
  // by chip; statistics summed. No outputs when the part has no batches.
  absl::StatusOr<std::vector<std::vector<Tensor>>>
  RunAll(const std::vector<const Simulator::ChipState *> &chips,
         SimulationStats *stats) const {
    std::vector<std::vector<Tensor>> joined(chips.size());
    if (prefixes_.empty())
      return joined;
    // Contiguous pieces of the batches, a few per thread; the results are
    // put together in order, so they do not depend on the thread count.
    size_t pieces =
        std::min<size_t>(prefixes_.size(),
                         threads_ == 1 ? 1 : static_cast<size_t>(threads_) * 4);
    std::vector<SimulationStats> piece_stats(pieces);
    auto outputs = ParallelMap(pieces, threads_, [&](size_t k) {
      size_t begin = prefixes_.size() * k / pieces,
             end = prefixes_.size() * (k + 1) / pieces;
      std::vector<const Simulator::Prefix *> part;
      for (size_t b = begin; b < end; ++b)
        part.push_back(prefixes_[b].get());
      return simulator_.RunSuffixes(part, chips,
                                    stats ? &piece_stats[k] : nullptr);
    });
    if (!outputs.ok())
      return outputs.status();
    if (stats)
      for (const SimulationStats &s : piece_stats)
        AddStats(*stats, s);
    for (size_t c = 0; c < chips.size(); ++c) {
      joined[c] = std::move((*outputs)[0][c]);
      for (size_t k = 1; k < pieces; ++k)
        for (size_t o = 0; o < joined[c].size(); ++o) {
          Tensor &into = joined[c][o];
          const Tensor &piece = (*outputs)[k][c][o];
          into.shape[0] += piece.shape[0];
          into.data.insert(into.data.end(), piece.data.begin(),
                           piece.data.end());
        }
      for (Tensor &output : joined[c])
        JoinBatches(output);
    }
    return joined;
  }

  const Simulator &simulator_;
  int threads_;
  std::vector<std::shared_ptr<const Simulator::Prefix>> prefixes_;
  SimulationStats stats_;
  std::vector<Tensor> ideal_;
  int64_t first_sample_ = 0, samples_ = 0;
  std::vector<int64_t> ideal_predictions_;
  std::optional<std::vector<int64_t>> labels_;
  uint64_t cells_read_ = 0;
};

// The bit-error rate of `cell` after `cycles`: from the BER table when there
// is one, else from the chip's device model.
absl::StatusOr<double> RateAt(const RunOptions &options, const ChipConfig &chip,
                              CellType cell, double cycles) {
  if (options.ber_table)
    return options.ber_table->Lookup(cell, cycles);
  return BitErrorRate(chip.device(), cell, cycles);
}

// CRC-32 and size of the program's bytes.
std::string Digest(const Program &program) {
  std::string bytes = SerializeProgram(program);
  uLong crc = crc32(0L, reinterpret_cast<const Bytef *>(bytes.data()),
                    static_cast<uInt>(bytes.size()));
  return absl::StrFormat("crc32:%08x size:%d", crc, bytes.size());
}

// A part: the error-free run of its samples and its trials. Single runs are
// the one part of one shard, so that merged and single reports are written
// by the same code.
absl::StatusOr<PartReport>
RunPart(const Simulator &simulator, const Dataset &data,
        const RunOptions &options, const std::vector<double> &rates,
        bool per_array, const Shard &shard, std::vector<Tensor> *outputs,
        const std::function<void(uint32_t)> &on_point = nullptr) {
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
  (*engine)->FillIdeal(part);
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
  if (outputs)
    *outputs = (*engine)->ideal();
  if (absl::Status status = (*engine)->RunTrials(
          rates, units, options.seed, per_array, part, outputs, on_point);
      !status.ok())
    return status;
  return part;
}

// The report of a single run with every field no count changes, and the
// bit-error rate of its one point (none without errors).
absl::StatusOr<std::pair<SimulationReport, std::vector<double>>>
SimulationSkeleton(const Simulator &simulator, const TrialOptions &options) {
  const Program &p = simulator.program();
  SimulationReport report;
  report.set_program(options.program_name);
  if (!options.cycles && !options.ber)
    return std::make_pair(report, std::vector<double>());
  CellType cell =
      options.cell == CELL_TYPE_UNSPECIFIED ? p.chip().cell() : options.cell;
  absl::StatusOr<double> rate =
      options.ber ? absl::StatusOr<double>(*options.ber)
                  : RateAt(options, p.chip(), cell, *options.cycles);
  if (!rate.ok())
    return rate.status();
  report.set_cell(cell);
  report.set_cycles(options.cycles.value_or(0));
  report.set_ber_source(options.ber         ? "--ber"
                        : options.ber_table ? options.ber_table->source()
                                            : "device model");
  report.set_trials(options.trials);
  report.set_seed(options.seed);
  report.mutable_ber()->set_expected(*rate);
  std::vector<uint64_t> cells = simulator.CellsRead();
  std::map<std::string, FlipCount> layers;
  for (const ArrayImage &image : p.arrays()) {
    FlipCount *array = report.add_array_flips();
    array->set_layer(image.layer());
    array->set_array(image.array());
    array->set_cells(cells[image.array()]);
    array->set_expected(*rate * cells[image.array()] * options.trials);
    FlipCount &layer = layers[image.layer()];
    layer.set_layer(image.layer());
    layer.set_cells(layer.cells() + array->cells());
    layer.set_expected(layer.expected() + array->expected());
  }
  for (const auto &[name, layer] : layers)
    *report.add_layer_flips() = layer;
  return std::make_pair(report, std::vector<double>{*rate});
}

// The sweep's report with every field no count changes, and the bit-error
// rate of each point.
absl::StatusOr<std::pair<SweepReport, std::vector<double>>>
SweepSkeleton(const Simulator &simulator, const SweepOptions &options) {
  const Program &p = simulator.program();
  bool over_cycles = !options.cycles.empty();
  SweepReport sweep;
  sweep.set_program(options.program_name);
  sweep.set_parameter(over_cycles ? "cycles" : "ber");
  sweep.set_trials(options.trials);
  sweep.set_seed(options.seed);
  // Over cycles both cells, each at every count; over BERs any cell.
  std::vector<double> rates;
  if (over_cycles) {
    for (CellType cell : {CELL_1T1R, CELL_2T2R})
      for (double n : options.cycles) {
        absl::StatusOr<double> rate = RateAt(options, p.chip(), cell, n);
        if (!rate.ok())
          return rate.status();
        SweepPoint *point = sweep.add_points();
        point->set_cell(cell);
        point->set_cycles(n);
        point->mutable_ber()->set_expected(*rate);
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
    }
  }
  return totals;
}

// Per trial of `point`, the fraction of agreeing and of correct samples,
// and the cells flipped over all trials.
struct PointResults {
  std::vector<double> agreement, accuracy;
  uint64_t flipped = 0;
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
  }
  return sweep;
}

} // namespace

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
      RunPart(simulator, data, options, skeleton->second, true, shard, nullptr);
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
  absl::StatusOr<PartReport> part = RunPart(
      simulator, data, options, skeleton->second, false, shard, nullptr);
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
      RunPart(simulator, data, options, skeleton->second, true, Shard(),
              &simulation.outputs);
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
  size_t points = skeleton->second.size();
  std::function<void(uint32_t)> on_point;
  if (options.progress)
    on_point = [&](uint32_t point) { options.progress(point + 1, points); };
  absl::StatusOr<PartReport> part =
      RunPart(simulator, data, options, skeleton->second, false, Shard(),
              nullptr, on_point);
  if (!part.ok())
    return part.status();
  return Assemble(std::move(skeleton->first), Combine({&*part}));
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
