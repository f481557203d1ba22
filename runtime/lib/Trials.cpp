// The simulation engine: batches, the shared array-free prefix, the thread
// pool, Monte Carlo trials and sweeps, and the reports they fill.

#include "hafnia/runtime/Trials.h"

#include <algorithm>
#include <atomic>
#include <cmath>
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

// Output `k` of every batch, joined along the first axis; a scalar output of
// several runs is stacked into a vector, one per run.
Tensor JoinOutputs(const std::vector<std::vector<Tensor>> &batches, size_t k) {
  if (batches.size() == 1)
    return batches[0][k];
  Tensor joined;
  joined.int64 = batches[0][k].int64;
  bool scalar = batches[0][k].shape.empty();
  for (const std::vector<Tensor> &batch : batches) {
    if (joined.shape.empty()) {
      joined.shape = scalar ? std::vector<int64_t>{0} : batch[k].shape;
      joined.shape[0] = 0;
    }
    joined.shape[0] += scalar ? 1 : batch[k].shape[0];
    joined.data.insert(joined.data.end(), batch[k].data.begin(),
                       batch[k].data.end());
  }
  return joined;
}

double Agreement(const std::vector<int64_t> &a, const std::vector<int64_t> &b) {
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i)
    same += a[i] == b[i];
  return a.empty() ? 1.0 : static_cast<double>(same) / a.size();
}

uint64_t Sum(const std::vector<uint64_t> &counts) {
  uint64_t sum = 0;
  for (uint64_t count : counts)
    sum += count;
  return sum;
}

// What the trials of one error setting found.
struct TrialResults {
  std::vector<double> agreement, accuracy;
  std::vector<uint64_t> flips; // by array, summed over trials
  std::vector<Tensor> outputs; // of trial 0
};

// A data set split into the program's batches, with the array-free prefix
// of every batch run once (errors cannot change it) and the error-free run
// that trials are compared with.
class Engine {
public:
  static absl::StatusOr<std::unique_ptr<Engine>>
  Create(const Simulator &simulator, const Dataset &data,
         const RunOptions &options) {
    int threads = options.threads;
    OptionNames names = options.names;
    auto engine = std::unique_ptr<Engine>(new Engine(simulator, threads));
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
    auto prefixes = ParallelMap(batches.size(), threads, [&](size_t c) {
      return simulator.RunPrefix(batches[c]);
    });
    if (!prefixes.ok())
      return prefixes.status();
    engine->prefixes_ = *std::move(prefixes);

    absl::StatusOr<std::vector<Tensor>> ideal =
        engine->RunAll(nullptr, &engine->stats_);
    if (!ideal.ok())
      return ideal.status();
    engine->ideal_ = *std::move(ideal);
    engine->stats_.set_programming_cycles(Sum(simulator.programming_cycles()));
    // A program without inputs, or with a scalar output, ran once.
    const Tensor &first = engine->ideal_[0];
    engine->samples_ =
        p.inputs_size() == 0 || first.shape.empty() ? 1 : first.shape[0];
    engine->ideal_predictions_ = Predict(first);

    if (data.labels) {
      if (p.inputs_size() == 0)
        return Invalid(absl::StrCat(Name(names, "labels"),
                                    ": the program has no inputs, so no "
                                    "samples to label"));
      if (static_cast<int64_t>(data.labels->size()) != engine->samples_)
        return Invalid(absl::StrCat(data.labels_source, " holds ",
                                    data.labels->size(), " labels for ",
                                    engine->samples_, " samples"));
      int64_t classes =
          engine->samples_ ? first.NumElements() / engine->samples_ : 0;
      for (size_t s = 0; s < data.labels->size(); ++s)
        if ((*data.labels)[s] < 0 || (*data.labels)[s] >= classes)
          return Invalid(absl::StrCat(data.labels_source, ": label ",
                                      (*data.labels)[s], " of sample ", s,
                                      " is not one of the program's ", classes,
                                      " classes [0, ", classes, ")"));
      engine->labels_ = data.labels;
    }
    engine->cells_ = simulator.CellsRead();
    return engine;
  }

  const SimulationStats &stats() const { return stats_; }
  int64_t samples() const { return samples_; }
  const std::vector<Tensor> &ideal() const { return ideal_; }
  const std::vector<uint64_t> &cells() const { return cells_; }
  std::optional<double> IdealAccuracy() const {
    if (!labels_)
      return std::nullopt;
    return Agreement(ideal_predictions_, *labels_);
  }

  absl::StatusOr<TrialResults> RunTrials(double ber, int trials,
                                         uint64_t seed) const {
    TrialResults results;
    results.flips.assign(cells_.size(), 0);
    for (int t = 0; t < trials; ++t) {
      std::mt19937_64 random = TrialEngine(seed, t);
      std::unique_ptr<Simulator::ChipState> chip =
          simulator_.ProgramWithErrors(ber, random);
      const std::vector<uint64_t> &flips = Simulator::Flips(*chip);
      for (size_t a = 0; a < flips.size(); ++a)
        results.flips[a] += flips[a];
      absl::StatusOr<std::vector<Tensor>> outputs = RunAll(chip.get(), nullptr);
      if (!outputs.ok())
        return outputs.status();
      std::vector<int64_t> predicted = Predict((*outputs)[0]);
      results.agreement.push_back(Agreement(predicted, ideal_predictions_));
      if (labels_)
        results.accuracy.push_back(Agreement(predicted, *labels_));
      if (t == 0)
        results.outputs = *std::move(outputs);
    }
    return results;
  }

  // The expected and observed bit-error rates of `trials` trials at `ber`.
  BerSummary Ber(double ber, const TrialResults &results, int trials) const {
    BerSummary summary;
    summary.set_expected(ber);
    uint64_t read = Sum(cells_);
    summary.set_observed(
        read ? static_cast<double>(Sum(results.flips)) / (read * trials) : 0);
    return summary;
  }

private:
  Engine(const Simulator &simulator, int threads)
      : simulator_(simulator), threads_(threads) {}

  // Every batch on `chip` (null: error-free); statistics summed in order.
  absl::StatusOr<std::vector<Tensor>> RunAll(const Simulator::ChipState *chip,
                                             SimulationStats *stats) const {
    std::vector<SimulationStats> batch_stats(prefixes_.size());
    auto outputs = ParallelMap(prefixes_.size(), threads_, [&](size_t c) {
      return simulator_.RunSuffix(*prefixes_[c], chip, &batch_stats[c]);
    });
    if (!outputs.ok())
      return outputs.status();
    if (stats)
      for (const SimulationStats &s : batch_stats)
        AddStats(*stats, s);
    std::vector<Tensor> joined;
    for (size_t k = 0; k < (*outputs)[0].size(); ++k)
      joined.push_back(JoinOutputs(*outputs, k));
    return joined;
  }

  const Simulator &simulator_;
  int threads_;
  std::vector<std::shared_ptr<const Simulator::Prefix>> prefixes_;
  SimulationStats stats_;
  std::vector<Tensor> ideal_;
  int64_t samples_ = 0;
  std::vector<int64_t> ideal_predictions_;
  std::optional<std::vector<int64_t>> labels_;
  std::vector<uint64_t> cells_;
};

// The engine for `data`, once `options` are checked.
template <typename Options>
absl::StatusOr<std::unique_ptr<Engine>> Prepare(const Simulator &simulator,
                                                const Dataset &data,
                                                const Options &options) {
  if (absl::Status status = Validate(options); !status.ok())
    return status;
  return Engine::Create(simulator, data, options);
}

// The bit-error rate of `cell` after `cycles`: from the BER table when there
// is one, else from the chip's device model.
absl::StatusOr<double> RateAt(const RunOptions &options, const ChipConfig &chip,
                              CellType cell, double cycles) {
  if (options.ber_table)
    return options.ber_table->Lookup(cell, cycles);
  return BitErrorRate(chip.device(), cell, cycles);
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

absl::StatusOr<Simulation> Simulate(const Simulator &simulator,
                                    const Dataset &data,
                                    const TrialOptions &options) {
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Prepare(simulator, data, options);
  if (!engine.ok())
    return engine.status();
  const Program &p = simulator.program();

  Simulation simulation;
  SimulationReport &report = simulation.report;
  report.set_program(options.program_name);
  report.set_samples((*engine)->samples());
  *report.mutable_stats() = (*engine)->stats();
  if (std::optional<double> accuracy = (*engine)->IdealAccuracy()) {
    report.set_accuracy(*accuracy);
    report.set_correct(
        static_cast<uint64_t>(std::llround(*accuracy * report.samples())));
  }
  if (!options.cycles && !options.ber) {
    simulation.outputs = (*engine)->ideal();
    return simulation;
  }

  CellType cell =
      options.cell == CELL_TYPE_UNSPECIFIED ? p.chip().cell() : options.cell;
  absl::StatusOr<double> rate =
      options.ber ? absl::StatusOr<double>(*options.ber)
                  : RateAt(options, p.chip(), cell, *options.cycles);
  if (!rate.ok())
    return rate.status();
  absl::StatusOr<TrialResults> results =
      (*engine)->RunTrials(*rate, options.trials, options.seed);
  if (!results.ok())
    return results.status();
  report.set_cell(cell);
  report.set_cycles(options.cycles.value_or(0));
  report.set_ber_source(options.ber         ? "--ber"
                        : options.ber_table ? options.ber_table->source()
                                            : "device model");
  report.set_trials(options.trials);
  report.set_seed(options.seed);
  *report.mutable_ber() = (*engine)->Ber(*rate, *results, options.trials);
  const std::vector<uint64_t> &cells = (*engine)->cells();
  std::map<std::string, FlipCount> layers;
  for (const ArrayImage &image : p.arrays()) {
    FlipCount *array = report.add_array_flips();
    array->set_layer(image.layer());
    array->set_array(image.array());
    array->set_cells(cells[image.array()]);
    array->set_expected(*rate * cells[image.array()] * options.trials);
    array->set_observed(results->flips[image.array()]);
    FlipCount &layer = layers[image.layer()];
    layer.set_layer(image.layer());
    layer.set_cells(layer.cells() + array->cells());
    layer.set_expected(layer.expected() + array->expected());
    layer.set_observed(layer.observed() + array->observed());
  }
  for (const auto &[name, layer] : layers)
    *report.add_layer_flips() = layer;
  *report.mutable_agreement_with_ideal() = Summarize(results->agreement);
  *report.mutable_accuracy_trials() = Summarize(results->accuracy);
  simulation.outputs = std::move(results->outputs);
  return simulation;
}

absl::StatusOr<SweepReport> Sweep(const Simulator &simulator,
                                  const Dataset &data,
                                  const SweepOptions &options) {
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Prepare(simulator, data, options);
  if (!engine.ok())
    return engine.status();
  const Program &p = simulator.program();
  bool over_cycles = !options.cycles.empty();

  SweepReport sweep;
  sweep.set_program(options.program_name);
  sweep.set_parameter(over_cycles ? "cycles" : "ber");
  sweep.set_samples((*engine)->samples());
  sweep.set_trials(options.trials);
  sweep.set_seed(options.seed);
  if (std::optional<double> accuracy = (*engine)->IdealAccuracy())
    sweep.set_ideal_accuracy(*accuracy);

  // Over cycles both cells, each at every count; over BERs the given cell.
  std::vector<std::pair<CellType, double>> points;
  if (over_cycles) {
    for (CellType cell : {CELL_1T1R, CELL_2T2R})
      for (double n : options.cycles)
        points.push_back({cell, n});
  } else {
    CellType cell =
        options.cell == CELL_TYPE_UNSPECIFIED ? p.chip().cell() : options.cell;
    for (double rate : options.ber)
      points.push_back({cell, rate});
  }
  for (size_t i = 0; i < points.size(); ++i) {
    auto [cell, value] = points[i];
    absl::StatusOr<double> rate = over_cycles
                                      ? RateAt(options, p.chip(), cell, value)
                                      : absl::StatusOr<double>(value);
    if (!rate.ok())
      return rate.status();
    if (options.progress)
      options.progress(i + 1, points.size());
    absl::StatusOr<TrialResults> results =
        (*engine)->RunTrials(*rate, options.trials, options.seed);
    if (!results.ok())
      return results.status();
    SweepPoint *point = sweep.add_points();
    point->set_cell(over_cycles ? cell : CELL_TYPE_UNSPECIFIED);
    point->set_cycles(over_cycles ? value : 0);
    *point->mutable_ber() = (*engine)->Ber(*rate, *results, options.trials);
    *point->mutable_agreement_with_ideal() = Summarize(results->agreement);
    *point->mutable_accuracy() = Summarize(results->accuracy);
  }
  return sweep;
}

} // namespace hafnia
