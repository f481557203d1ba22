// hafnia-sim: run a compiled program (.hfp) on the simulated chip, with or
// without the bit errors of its RRAM cells.
//
//   hafnia-sim model.hfp --input x.npy [--labels y.npy] [--output out.npy]
//       [--threads=T] [--report=FILE.json]
//       [--cell=2T2R|1T1R] [--cycles=N | --ber=P | --ber-table=F.csv]
//       [--trials=K] [--seed=S]
//       [--sweep-cycles=N,... | --sweep-ber=P,...] [--sweep-svg=FILE.svg]

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/ErrorReport.h"
#include "hafnia/runtime/MappingReport.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"
#include "hafnia/runtime/TensorIO.h"

ABSL_FLAG(std::string, input, "",
          "Inputs: .npy (a batch along the first axis) or ONNX TensorProto "
          ".pb files, comma-separated for a program with several inputs");
ABSL_FLAG(std::string, labels, "",
          "Class labels (.npy of integers, one per sample) for accuracy");
ABSL_FLAG(std::string, output, "",
          "Write the first output as .npy (of trial 0 when simulating errors)");
ABSL_FLAG(int, threads, 1,
          "Samples run in parallel; the results are the same for any count");
ABSL_FLAG(std::string, report, "", "Write the report as JSON");
ABSL_FLAG(std::string, cell, "",
          "Cell type of the arrays: 2T2R or 1T1R (default: the chip's)");
ABSL_FLAG(std::string, cycles, "",
          "Programming cycles the devices have seen: the error model gives "
          "the bit-error rate (or --ber-table does)");
ABSL_FLAG(std::string, ber, "", "A bit-error rate to use as it is");
ABSL_FLAG(std::string, ber_table, "",
          "A measured BER-versus-cycles table (CSV; docs/device-model.md), "
          "read at --cycles");
ABSL_FLAG(int, trials, 10,
          "Monte Carlo trials with errors: each programs a fresh chip");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the trials' random streams");
ABSL_FLAG(std::string, sweep_cycles, "",
          "Comma-separated cycle counts: 1T1R and 2T2R side by side");
ABSL_FLAG(std::string, sweep_ber, "", "Comma-separated bit-error rates");
ABSL_FLAG(std::string, sweep_svg, "",
          "Plot the sweep's accuracy and agreement as SVG");

namespace {

using hafnia::Tensor;

int Fail(absl::string_view message) {
  std::cerr << "hafnia-sim: error: " << message << "\n";
  return 1;
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

// The first output of every chunk, joined along the batch axis.
// A scalar output of several runs is stacked into a vector, one per run.
Tensor JoinFirstOutputs(const std::vector<std::vector<Tensor>> &outputs) {
  if (outputs.size() == 1)
    return outputs[0][0];
  Tensor joined;
  joined.int64 = outputs[0][0].int64;
  bool scalar = outputs[0][0].shape.empty();
  for (const std::vector<Tensor> &chunk : outputs) {
    if (joined.shape.empty()) {
      joined.shape = scalar ? std::vector<int64_t>{0} : chunk[0].shape;
      joined.shape[0] = 0;
    }
    joined.shape[0] += scalar ? 1 : chunk[0].shape[0];
    joined.data.insert(joined.data.end(), chunk[0].data.begin(),
                       chunk[0].data.end());
  }
  return joined;
}

// The predicted class of each sample: argmax over the first output's rest.
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

double Agreement(const std::vector<int64_t> &a, const std::vector<int64_t> &b) {
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i)
    same += a[i] == b[i];
  return a.empty() ? 1.0 : static_cast<double>(same) / a.size();
}

std::optional<std::vector<double>> ParseList(const std::string &text) {
  std::vector<double> values;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    double value;
    if (!absl::SimpleAtod(item, &value) || value < 0)
      return std::nullopt;
    values.push_back(value);
  }
  return values;
}

// What the trials of one error setting found.
struct TrialResults {
  std::vector<double> agreement, accuracy;
  std::vector<uint64_t> flips; // by array, summed over trials
  Tensor first_output;         // of trial 0
};

class Runner {
public:
  Runner(const hafnia::Simulator &simulator,
         std::vector<std::shared_ptr<const hafnia::Simulator::Prefix>> prefixes,
         int threads)
      : simulator_(simulator), prefixes_(std::move(prefixes)),
        threads_(threads) {}

  // Every chunk on `chip` (null: error-free); statistics summed in order.
  absl::StatusOr<Tensor> RunAll(const hafnia::Simulator::ChipState *chip,
                                hafnia::SimulationStats *stats) const {
    std::vector<hafnia::SimulationStats> chunk_stats(prefixes_.size());
    auto outputs = ParallelMap(prefixes_.size(), threads_, [&](size_t c) {
      return simulator_.RunSuffix(*prefixes_[c], chip, &chunk_stats[c]);
    });
    if (!outputs.ok())
      return outputs.status();
    if (stats)
      for (const hafnia::SimulationStats &s : chunk_stats)
        hafnia::AddStats(*stats, s);
    return JoinFirstOutputs(*outputs);
  }

  absl::StatusOr<TrialResults>
  RunTrials(double ber, int trials, uint64_t seed,
            const std::vector<int64_t> &ideal,
            const std::vector<int64_t> *labels) const {
    TrialResults results;
    results.flips.assign(simulator_.CellsRead().size(), 0);
    for (int t = 0; t < trials; ++t) {
      std::mt19937_64 random = hafnia::TrialEngine(seed, t);
      auto chip = simulator_.ProgramWithErrors(ber, random);
      const std::vector<uint64_t> &flips = hafnia::Simulator::Flips(*chip);
      for (size_t a = 0; a < flips.size(); ++a)
        results.flips[a] += flips[a];
      absl::StatusOr<Tensor> output = RunAll(chip.get(), nullptr);
      if (!output.ok())
        return output.status();
      std::vector<int64_t> predicted = Predict(*output);
      results.agreement.push_back(Agreement(predicted, ideal));
      if (labels)
        results.accuracy.push_back(Agreement(predicted, *labels));
      if (t == 0)
        results.first_output = *std::move(output);
    }
    return results;
  }

private:
  const hafnia::Simulator &simulator_;
  std::vector<std::shared_ptr<const hafnia::Simulator::Prefix>> prefixes_;
  int threads_;
};

// The bit-error rate for `cell` after `cycles`, from --ber, the BER table or
// the device model, and where it came from.
struct BerSetting {
  std::optional<double> fixed;
  std::optional<hafnia::BerTable> table;
  std::string table_path;
};

absl::StatusOr<double> BerFor(const BerSetting &setting,
                              const hafnia::ChipConfig &chip,
                              hafnia::CellType cell, double cycles) {
  if (setting.fixed)
    return *setting.fixed;
  if (setting.table)
    return setting.table->Lookup(cell, cycles);
  return hafnia::BitErrorRate(chip.device(), cell, cycles);
}

std::string SourceOf(const BerSetting &setting) {
  if (setting.fixed)
    return "--ber";
  if (setting.table)
    return setting.table_path;
  return "device model";
}

absl::Status WriteJson(const std::string &path,
                       const google::protobuf::Message &message) {
  absl::StatusOr<std::string> json = hafnia::ReportToJson(message);
  if (!json.ok())
    return json.status();
  return hafnia::WriteFileAtomically(path, *json);
}

} // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage(
      "Runs a compiled program on the simulated RRAM chip.\nUsage: hafnia-sim "
      "model.hfp --input x.npy [--labels y.npy] [--output out.npy] "
      "[--threads=T] [--report=FILE.json] [--cell=2T2R|1T1R] [--cycles=N | "
      "--ber=P | --ber-table=F.csv] [--trials=K] [--seed=S] "
      "[--sweep-cycles=N,... | --sweep-ber=P,...] [--sweep-svg=FILE.svg]");
  // The documented flags use dashes (--ber-table); Abseil's names cannot.
  std::vector<std::string> normalized(argv, argv + argc);
  for (std::string &argument : normalized)
    if (argument.rfind("--", 0) == 0)
      std::replace(argument.begin() + 2,
                   argument.begin() +
                       std::min(argument.find('='), argument.size()),
                   '-', '_');
  std::vector<char *> pointers;
  for (std::string &argument : normalized)
    pointers.push_back(argument.data());
  std::vector<char *> arguments = absl::ParseCommandLine(
      static_cast<int>(pointers.size()), pointers.data());
  if (arguments.size() != 2)
    return Fail("give exactly one program: hafnia-sim model.hfp --input x.npy");
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 1)
    return Fail("--threads must be at least 1");
  int trials = absl::GetFlag(FLAGS_trials);
  if (trials < 1)
    return Fail("--trials must be at least 1");

  // The error setting, checked before anything runs.
  BerSetting ber_setting;
  std::optional<double> cycles;
  if (!absl::GetFlag(FLAGS_cycles).empty()) {
    double value;
    if (!absl::SimpleAtod(absl::GetFlag(FLAGS_cycles), &value) || value < 0)
      return Fail("--cycles must be a non-negative number, got '" +
                  absl::GetFlag(FLAGS_cycles) + "'");
    cycles = value;
  }
  if (!absl::GetFlag(FLAGS_ber).empty()) {
    double value;
    if (!absl::SimpleAtod(absl::GetFlag(FLAGS_ber), &value) || value < 0 ||
        value > 1)
      return Fail("--ber must be a probability in [0, 1], got '" +
                  absl::GetFlag(FLAGS_ber) + "'");
    if (cycles || !absl::GetFlag(FLAGS_ber_table).empty())
      return Fail("--ber sets the bit-error rate itself: give it without "
                  "--cycles and --ber-table");
    ber_setting.fixed = value;
  }
  if (!absl::GetFlag(FLAGS_ber_table).empty()) {
    ber_setting.table_path = absl::GetFlag(FLAGS_ber_table);
    absl::StatusOr<hafnia::BerTable> table =
        hafnia::BerTable::Load(ber_setting.table_path);
    if (!table.ok())
      return Fail(table.status().message());
    ber_setting.table = *std::move(table);
    if (!cycles && absl::GetFlag(FLAGS_sweep_cycles).empty())
      return Fail("--ber-table is read at a cycle count: give --cycles (or "
                  "--sweep-cycles)");
  }
  std::optional<std::vector<double>> sweep_cycles, sweep_ber;
  if (!absl::GetFlag(FLAGS_sweep_cycles).empty()) {
    sweep_cycles = ParseList(absl::GetFlag(FLAGS_sweep_cycles));
    if (!sweep_cycles || sweep_cycles->empty())
      return Fail("--sweep-cycles must be comma-separated non-negative "
                  "numbers, got '" +
                  absl::GetFlag(FLAGS_sweep_cycles) + "'");
  }
  if (!absl::GetFlag(FLAGS_sweep_ber).empty()) {
    sweep_ber = ParseList(absl::GetFlag(FLAGS_sweep_ber));
    if (!sweep_ber || sweep_ber->empty() ||
        std::any_of(sweep_ber->begin(), sweep_ber->end(),
                    [](double p) { return p > 1; }))
      return Fail("--sweep-ber must be comma-separated probabilities, got '" +
                  absl::GetFlag(FLAGS_sweep_ber) + "'");
  }
  if (sweep_cycles && sweep_ber)
    return Fail("sweep --sweep-cycles or --sweep-ber, not both");
  bool sweeping = sweep_cycles || sweep_ber;
  if (sweeping && (cycles || ber_setting.fixed))
    return Fail("a sweep sets the cycles or BER itself: drop --cycles and "
                "--ber");
  bool errors = sweeping || cycles || ber_setting.fixed;

  absl::StatusOr<hafnia::Program> program = hafnia::ReadProgram(arguments[1]);
  if (!program.ok())
    return Fail(program.status().message());
  absl::StatusOr<std::unique_ptr<hafnia::Simulator>> created =
      hafnia::Simulator::Create(*std::move(program));
  if (!created.ok())
    return Fail(created.status().message());
  const hafnia::Simulator &simulator = **created;
  const hafnia::Program &p = simulator.program();

  hafnia::CellType cell = p.chip().cell();
  if (!absl::GetFlag(FLAGS_cell).empty()) {
    std::string name = absl::GetFlag(FLAGS_cell);
    if (name == "2T2R")
      cell = hafnia::CELL_2T2R;
    else if (name == "1T1R")
      cell = hafnia::CELL_1T1R;
    else
      return Fail("--cell must be 2T2R or 1T1R, got '" + name + "'");
  }

  // Inputs, split into the program's batches.
  std::vector<std::string> files =
      absl::StrSplit(absl::GetFlag(FLAGS_input), ',', absl::SkipEmpty());
  if (files.size() != static_cast<size_t>(p.inputs_size()))
    return Fail(absl::StrCat("the program takes ", p.inputs_size(),
                             " input(s): give as many files to --input, got ",
                             files.size()));
  std::vector<std::vector<Tensor>> chunks;
  // A program without inputs (all constants) runs once.
  if (p.inputs_size() == 0)
    chunks.emplace_back();
  for (size_t k = 0; k < files.size(); ++k) {
    absl::StatusOr<Tensor> tensor = hafnia::ReadTensor(files[k]);
    if (!tensor.ok())
      return Fail(tensor.status().message());
    const hafnia::Buffer &buffer = p.buffers(p.inputs(k).buffer());
    absl::StatusOr<std::vector<Tensor>> split = hafnia::SplitBatch(
        *tensor, files[k], p.inputs(k).name(),
        std::vector<int64_t>(buffer.shape().begin(), buffer.shape().end()));
    if (!split.ok())
      return Fail(split.status().message());
    if (k > 0 && split->size() != chunks.size())
      return Fail("the input files hold different numbers of samples");
    chunks.resize(split->size());
    for (size_t c = 0; c < split->size(); ++c)
      chunks[c].push_back(std::move((*split)[c]));
  }

  // The array-free part of every run, once: errors cannot change it.
  auto prefixes = ParallelMap(chunks.size(), threads, [&](size_t c) {
    return simulator.RunPrefix(chunks[c]);
  });
  if (!prefixes.ok())
    return Fail(prefixes.status().message());
  Runner runner(simulator, *std::move(prefixes), threads);

  hafnia::SimulationReport report;
  report.set_program(arguments[1]);
  report.set_threads(threads);
  absl::StatusOr<Tensor> ideal = runner.RunAll(nullptr, report.mutable_stats());
  if (!ideal.ok())
    return Fail(ideal.status().message());
  uint64_t programmed = 0;
  for (uint64_t count : simulator.programming_cycles())
    programmed += count;
  report.mutable_stats()->set_programming_cycles(programmed);
  // A program without inputs, or with a scalar output, ran once.
  int64_t samples =
      p.inputs_size() == 0 || ideal->shape.empty() ? 1 : ideal->shape[0];
  report.set_samples(samples);
  std::vector<int64_t> ideal_predictions = Predict(*ideal);

  std::optional<std::vector<int64_t>> labels;
  if (!absl::GetFlag(FLAGS_labels).empty() && p.inputs_size() == 0)
    return Fail("--labels: the program has no inputs, so no samples to label");
  if (!absl::GetFlag(FLAGS_labels).empty()) {
    absl::StatusOr<std::vector<int64_t>> read =
        hafnia::ReadNpyLabels(absl::GetFlag(FLAGS_labels));
    if (!read.ok())
      return Fail(read.status().message());
    if (static_cast<int64_t>(read->size()) != samples)
      return Fail(absl::StrCat(absl::GetFlag(FLAGS_labels), " holds ",
                               read->size(), " labels for ", samples,
                               " samples"));
    labels = *std::move(read);
    double accuracy = Agreement(ideal_predictions, *labels);
    report.set_accuracy(accuracy);
    report.set_correct(static_cast<uint64_t>(std::llround(accuracy * samples)));
  }
  const std::vector<int64_t> *label_pointer = labels ? &*labels : nullptr;
  std::vector<uint64_t> cells = simulator.CellsRead();
  uint64_t total_cells = 0;
  for (uint64_t count : cells)
    total_cells += count;

  if (sweeping) {
    hafnia::SweepReport sweep;
    sweep.set_program(arguments[1]);
    sweep.set_parameter(sweep_cycles ? "cycles" : "ber");
    sweep.set_samples(samples);
    sweep.set_trials(trials);
    sweep.set_seed(absl::GetFlag(FLAGS_seed));
    if (labels)
      sweep.set_ideal_accuracy(report.accuracy());
    std::vector<std::pair<hafnia::CellType, double>> points;
    if (sweep_cycles) {
      for (hafnia::CellType c : {hafnia::CELL_1T1R, hafnia::CELL_2T2R})
        for (double n : *sweep_cycles)
          points.push_back({c, n});
    } else {
      for (double rate : *sweep_ber)
        points.push_back({cell, rate});
    }
    bool progress = isatty(STDERR_FILENO);
    for (size_t i = 0; i < points.size(); ++i) {
      auto [point_cell, value] = points[i];
      absl::StatusOr<double> rate =
          sweep_cycles ? BerFor(ber_setting, p.chip(), point_cell, value)
                       : absl::StatusOr<double>(value);
      if (!rate.ok())
        return Fail(rate.status().message());
      if (progress)
        std::cerr << absl::StrFormat("\rsweep point %d of %d", i + 1,
                                     points.size())
                  << std::flush;
      absl::StatusOr<TrialResults> results =
          runner.RunTrials(*rate, trials, absl::GetFlag(FLAGS_seed),
                           ideal_predictions, label_pointer);
      if (!results.ok())
        return Fail(results.status().message());
      hafnia::SweepPoint *point = sweep.add_points();
      point->set_cell(sweep_cycles
                          ? (point_cell == hafnia::CELL_1T1R ? "1T1R" : "2T2R")
                          : "any");
      point->set_cycles(sweep_cycles ? value : 0);
      point->mutable_ber()->set_expected(*rate);
      uint64_t flipped = 0;
      for (uint64_t count : results->flips)
        flipped += count;
      point->mutable_ber()->set_observed(
          total_cells ? static_cast<double>(flipped) / (total_cells * trials)
                      : 0);
      *point->mutable_agreement_with_ideal() =
          hafnia::Summarize(results->agreement);
      *point->mutable_accuracy() = hafnia::Summarize(results->accuracy);
    }
    if (progress)
      std::cerr << "\n";
    if (!absl::GetFlag(FLAGS_report).empty())
      if (absl::Status status = WriteJson(absl::GetFlag(FLAGS_report), sweep);
          !status.ok())
        return Fail(status.message());
    if (!absl::GetFlag(FLAGS_sweep_svg).empty())
      if (absl::Status status = hafnia::WriteFileAtomically(
              absl::GetFlag(FLAGS_sweep_svg), hafnia::SweepToSvg(sweep));
          !status.ok())
        return Fail(status.message());
    std::cout << hafnia::FormatSweep(sweep);
    return 0;
  }

  Tensor written = *ideal;
  if (errors) {
    absl::StatusOr<double> rate =
        BerFor(ber_setting, p.chip(), cell, cycles.value_or(0));
    if (!rate.ok())
      return Fail(rate.status().message());
    absl::StatusOr<TrialResults> results =
        runner.RunTrials(*rate, trials, absl::GetFlag(FLAGS_seed),
                         ideal_predictions, label_pointer);
    if (!results.ok())
      return Fail(results.status().message());
    report.set_cell(cell == hafnia::CELL_1T1R ? "1T1R" : "2T2R");
    report.set_cycles(cycles.value_or(0));
    report.set_ber_source(SourceOf(ber_setting));
    report.set_trials(trials);
    report.set_seed(absl::GetFlag(FLAGS_seed));
    report.mutable_ber()->set_expected(*rate);
    uint64_t flipped = 0;
    std::map<std::string, hafnia::FlipCount> layers;
    for (const hafnia::ArrayImage &image : p.arrays()) {
      hafnia::FlipCount *array = report.add_array_flips();
      array->set_layer(image.layer());
      array->set_array(image.array());
      array->set_cells(cells[image.array()]);
      array->set_expected(*rate * cells[image.array()] * trials);
      array->set_observed(results->flips[image.array()]);
      flipped += results->flips[image.array()];
      hafnia::FlipCount &layer = layers[image.layer()];
      layer.set_layer(image.layer());
      layer.set_cells(layer.cells() + array->cells());
      layer.set_expected(layer.expected() + array->expected());
      layer.set_observed(layer.observed() + array->observed());
    }
    for (const auto &[name, layer] : layers)
      *report.add_layer_flips() = layer;
    report.mutable_ber()->set_observed(
        total_cells ? static_cast<double>(flipped) / (total_cells * trials)
                    : 0);
    *report.mutable_agreement_with_ideal() =
        hafnia::Summarize(results->agreement);
    *report.mutable_accuracy_trials() = hafnia::Summarize(results->accuracy);
    written = std::move(results->first_output);
  }

  if (!absl::GetFlag(FLAGS_output).empty())
    if (absl::Status status =
            hafnia::WriteNpy(absl::GetFlag(FLAGS_output), written);
        !status.ok())
      return Fail(status.message());
  if (!absl::GetFlag(FLAGS_report).empty())
    if (absl::Status status = WriteJson(absl::GetFlag(FLAGS_report), report);
        !status.ok())
      return Fail(status.message());
  std::cout << hafnia::FormatSimulationReport(report);
  return 0;
}
