// hafnia-sim: run a compiled program (.hfp) on the simulated chip, with or
// without the bit errors of its RRAM cells. A driver over the engine of
// hafnia/runtime/Trials.h: flags, files and printing.
//
//   hafnia-sim model.hfp --input x.npy [--labels y.npy] [--output out.npy]
//       [--threads=T] [--report=FILE.json]
//       [--cell=2T2R|1T1R [--ecc=CODE]] [--cycles=N | --ber=P |
//       --ber-table=F.csv] [--trials=K] [--seed=S]
//       [--sweep-cycles=N,... [--sweep-cells=SETTING,... [--equal-devices]]
//       | --sweep-ber=P,...] [--sweep-svg=FILE.svg]
//       [--shard=K/N [--shard-samples] --report=part-K.json]
//       [--chunk-samples=N]
//       [--sensitivity [--sensitivity-arrays=N]]
//   hafnia-sim merge part-*.json [--report=FILE.json] [--sweep-svg=FILE.svg]

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/ErrorReport.h"
#include "hafnia/runtime/FileIO.h"
#include "hafnia/runtime/MappingReport.h"
#include "hafnia/runtime/Npy.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Trials.h"

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
ABSL_FLAG(std::string, ecc, "",
          "Store the weights as code words of this code in 1T1R devices "
          "(with --cell=1T1R): hamming-7-4, secded-13-8, secded-22-16, "
          "secded-39-32 or secded-72-64");
ABSL_FLAG(std::string, sweep_cells, "",
          "With --sweep-cycles: comma-separated cell settings side by side, "
          "2T2R, 1T1R or 1T1R+CODE (e.g. 2T2R,1T1R,1T1R+hamming-7-4)");
ABSL_FLAG(bool, equal_devices, false,
          "With --sweep-cells: refuse a setting that takes more devices than "
          "2T2R cells (2 per weight bit) and report the device budget");
ABSL_FLAG(std::string, sweep_svg, "",
          "Plot the sweep's accuracy and agreement as SVG");
ABSL_FLAG(std::string, shard, "",
          "K/N: run the K-th of N parts (0 <= K < N) and write it to "
          "--report, for hafnia-sim merge (default: from SLURM_ARRAY_TASK_*)");
ABSL_FLAG(bool, shard_samples, false,
          "Parts split the samples instead of the (point, trial) pairs");
ABSL_FLAG(bool, allow_nonfinite_inputs, false,
          "Run inputs holding NaN or infinities instead of refusing them");
ABSL_FLAG(bool, sensitivity, false,
          "Inject the errors (--cycles or --ber) into one layer at a time, "
          "then one array at a time in the most sensitive layers, and report "
          "the drops in agreement and accuracy");
ABSL_FLAG(std::optional<int>, sensitivity_arrays, std::nullopt,
          "With --sensitivity: the arrays of this many most sensitive layers "
          "are run one at a time (0: none; default 2)");
ABSL_FLAG(int64_t, chunk_samples, 1024,
          "Samples read and held at a time (the .npy inputs are streamed); "
          "the results are the same for any count");

namespace {

int Fail(absl::string_view message) {
  std::cerr << "hafnia-sim: error: " << message << "\n";
  return 1;
}

// A number flag, if given; the engine checks its range.
std::optional<double> NumberFlag(const std::string &text, bool *bad) {
  double value;
  if (text.empty())
    return std::nullopt;
  *bad = !absl::SimpleAtod(text, &value);
  return value;
}

// A comma-separated list of numbers, or nullopt if one does not parse.
std::optional<std::vector<double>> ListFlag(const std::string &text) {
  std::vector<double> values;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    double value;
    if (!absl::SimpleAtod(item, &value))
      return std::nullopt;
    values.push_back(value);
  }
  return values;
}

// The part to run: --shard, else a Slurm job array's task (told on stderr).
std::optional<hafnia::Shard> ShardFlag(std::string *error) {
  std::string text = absl::GetFlag(FLAGS_shard);
  const char *task = getenv("SLURM_ARRAY_TASK_ID");
  const char *count = getenv("SLURM_ARRAY_TASK_COUNT");
  const char *min = getenv("SLURM_ARRAY_TASK_MIN");
  hafnia::Shard shard;
  shard.samples = absl::GetFlag(FLAGS_shard_samples);
  if (text.empty() && task && count) {
    int64_t id, n, first = 0;
    if (!absl::SimpleAtoi(task, &id) || !absl::SimpleAtoi(count, &n) ||
        (min && !absl::SimpleAtoi(min, &first)) || id < first || n < 1) {
      *error = "SLURM_ARRAY_TASK_ID, _COUNT and _MIN do not make a part";
      return std::nullopt;
    }
    text = absl::StrCat(id - first, "/", n);
    std::cerr << "hafnia-sim: part " << text << " of the Slurm job array "
              << "(SLURM_ARRAY_TASK_ID=" << task << ")\n";
  }
  if (text.empty())
    return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &shard.index) ||
      !absl::SimpleAtoi(parts[1], &shard.count)) {
    *error = "--shard must be K/N with 0 <= K < N, got '" + text + "'";
    return std::nullopt;
  }
  return shard;
}

// Writes --report, and --sweep-svg and --output when there is what they
// hold, then prints the report as text. The files are all prepared first and
// renamed last: an interrupted run leaves the old set or the new one.
int Finish(const google::protobuf::Message &report, const std::string &text,
           const hafnia::SweepReport *sweep, const hafnia::Tensor *output) {
  std::string path = absl::GetFlag(FLAGS_report),
              svg = absl::GetFlag(FLAGS_sweep_svg),
              npy = absl::GetFlag(FLAGS_output);
  hafnia::OutputFiles files;
  absl::Status status;
  if (!npy.empty() && output) {
    absl::StatusOr<std::string> bytes = hafnia::EncodeNpy(*output);
    status = bytes.ok() ? files.Prepare(npy, *bytes) : bytes.status();
  }
  if (status.ok() && !path.empty()) {
    absl::StatusOr<std::string> json = hafnia::ReportToJson(report);
    status = json.ok() ? files.Prepare(path, *json) : json.status();
  }
  if (status.ok() && !svg.empty() && sweep)
    status = files.Prepare(svg, hafnia::SweepToSvg(*sweep));
  if (status.ok())
    status = files.Commit();
  if (!status.ok())
    return Fail(status.message());
  std::cout << text;
  return 0;
}

// hafnia-sim merge PART... [--report=FILE] [--sweep-svg=FILE]: the report of
// the whole run, as one machine writes it.
int Merge(const std::vector<char *> &arguments) {
  std::vector<hafnia::PartReport> parts;
  std::vector<std::string> sources(arguments.begin() + 2, arguments.end());
  if (sources.empty())
    return Fail("give the parts: hafnia-sim merge part-*.json");
  for (const std::string &source : sources) {
    absl::StatusOr<std::string> json = hafnia::ReadFile(source);
    if (!json.ok())
      return Fail(json.status().message());
    hafnia::PartReport &part = parts.emplace_back();
    if (!google::protobuf::util::JsonStringToMessage(*json, &part).ok())
      return Fail(source + ": not a part of a run (write parts with "
                           "hafnia-sim --shard=K/N --report=FILE)");
  }
  absl::StatusOr<hafnia::MergedReport> merged =
      hafnia::MergeParts(parts, sources);
  if (!merged.ok())
    return Fail(merged.status().message());
  if (merged->sweep)
    return Finish(*merged->sweep, hafnia::FormatSweep(*merged->sweep),
                  &*merged->sweep, nullptr);
  return Finish(*merged->simulation,
                hafnia::FormatSimulationReport(*merged->simulation), nullptr,
                nullptr);
}

} // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage(
      "Runs a compiled program on the simulated RRAM chip.\nUsage: hafnia-sim "
      "model.hfp --input x.npy [--labels y.npy] [--output out.npy] "
      "[--threads=T] [--report=FILE.json] [--cell=2T2R|1T1R [--ecc=CODE]] "
      "[--cycles=N | --ber=P | --ber-table=F.csv] [--trials=K] [--seed=S] "
      "[--sweep-cycles=N,... [--sweep-cells=SETTING,... [--equal-devices]] | "
      "--sweep-ber=P,...] [--sweep-svg=FILE.svg] "
      "[--sensitivity [--sensitivity-arrays=N]]");
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
  if (arguments.size() >= 2 && std::string(arguments[1]) == "merge")
    return Merge(arguments);
  if (arguments.size() != 2)
    return Fail("give exactly one program: hafnia-sim model.hfp --input x.npy");
  std::string shard_error;
  std::optional<hafnia::Shard> shard = ShardFlag(&shard_error);
  if (!shard_error.empty())
    return Fail(shard_error);
  if (shard && (absl::GetFlag(FLAGS_report).empty() ||
                !absl::GetFlag(FLAGS_output).empty() ||
                !absl::GetFlag(FLAGS_sweep_svg).empty()))
    return Fail("a part (--shard) is written to --report, for hafnia-sim "
                "merge: give --report=part-K.json, without --output and "
                "--sweep-svg");

  // The options as the engine takes them; it checks their ranges.
  hafnia::TrialOptions options;
  options.program_name = arguments[1];
  options.threads = absl::GetFlag(FLAGS_threads);
  options.trials = absl::GetFlag(FLAGS_trials);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.allow_nonfinite_inputs = absl::GetFlag(FLAGS_allow_nonfinite_inputs);
  options.chunk_samples = absl::GetFlag(FLAGS_chunk_samples);
  bool bad = false;
  options.cycles = NumberFlag(absl::GetFlag(FLAGS_cycles), &bad);
  if (bad)
    return Fail("--cycles must be a non-negative number, got '" +
                absl::GetFlag(FLAGS_cycles) + "'");
  options.ber = NumberFlag(absl::GetFlag(FLAGS_ber), &bad);
  if (bad)
    return Fail("--ber must be a probability in [0, 1], got '" +
                absl::GetFlag(FLAGS_ber) + "'");
  if (!absl::GetFlag(FLAGS_ber_table).empty()) {
    absl::StatusOr<hafnia::BerTable> table =
        hafnia::BerTable::Load(absl::GetFlag(FLAGS_ber_table));
    if (!table.ok())
      return Fail(table.status().message());
    options.ber_table = *std::move(table);
  }
  if (!absl::GetFlag(FLAGS_cell).empty()) {
    std::optional<hafnia::CellType> cell =
        hafnia::ParseCellType(absl::GetFlag(FLAGS_cell));
    if (!cell)
      return Fail("--cell must be 2T2R or 1T1R, got '" +
                  absl::GetFlag(FLAGS_cell) + "'");
    options.cell = *cell;
  }
  if (!absl::GetFlag(FLAGS_ecc).empty()) {
    absl::StatusOr<hafnia::EccCode> code = hafnia::ParseEccOption(
        absl::GetFlag(FLAGS_ecc), hafnia::OptionNames::kFlags);
    if (!code.ok())
      return Fail(code.status().message());
    options.ecc = *code;
  }
  hafnia::SweepOptions sweep;
  static_cast<hafnia::RunOptions &>(sweep) = options;
  sweep.cell = options.cell;
  std::string sweep_cycles = absl::GetFlag(FLAGS_sweep_cycles),
              sweep_ber = absl::GetFlag(FLAGS_sweep_ber);
  std::optional<std::vector<double>> cycle_list = ListFlag(sweep_cycles),
                                     ber_list = ListFlag(sweep_ber);
  if (!cycle_list)
    return Fail("--sweep-cycles must be comma-separated non-negative "
                "numbers, got '" +
                sweep_cycles + "'");
  if (!ber_list)
    return Fail("--sweep-ber must be comma-separated probabilities, got '" +
                sweep_ber + "'");
  sweep.cycles = *cycle_list;
  sweep.ber = *ber_list;
  for (absl::string_view item : absl::StrSplit(absl::GetFlag(FLAGS_sweep_cells),
                                               ',', absl::SkipEmpty())) {
    absl::StatusOr<hafnia::CellSetting> setting =
        hafnia::ParseCellSetting(item, hafnia::OptionNames::kFlags);
    if (!setting.ok())
      return Fail(setting.status().message());
    sweep.cells.push_back(*setting);
  }
  sweep.equal_devices = absl::GetFlag(FLAGS_equal_devices);
  bool sweeping = !sweep_cycles.empty() || !sweep_ber.empty();
  if (sweeping && (options.cycles || options.ber))
    return Fail("a sweep sets the cycles or BER itself: drop --cycles and "
                "--ber");
  bool sensitivity = absl::GetFlag(FLAGS_sensitivity);
  if (sensitivity &&
      (sweeping || shard || !absl::GetFlag(FLAGS_output).empty()))
    return Fail("--sensitivity is a run of its own: give it without "
                "--sweep-cycles, --sweep-ber, --shard and --output");
  if (!sensitivity && absl::GetFlag(FLAGS_sensitivity_arrays))
    return Fail("--sensitivity-arrays chooses the layers of --sensitivity: "
                "give --sensitivity too");
  if (sensitivity && options.ecc)
    return Fail("--sensitivity measures the layers on plain cells: give it "
                "without --ecc");
  if (sweeping && options.ecc)
    return Fail("--ecc is for a single run: sweep codes with "
                "--sweep-cells=1T1R+CODE,...");
  if (!sweeping && (!sweep.cells.empty() || sweep.equal_devices))
    return Fail(
        absl::StrCat(sweep.cells.empty() ? "--equal-devices" : "--sweep-cells",
                     " compares cells at cycle counts: give "
                     "--sweep-cycles"));

  absl::StatusOr<hafnia::Program> program = hafnia::ReadProgram(arguments[1]);
  if (!program.ok())
    return Fail(program.status().message());
  absl::StatusOr<std::unique_ptr<hafnia::Simulator>> simulator =
      hafnia::Simulator::Create(*std::move(program));
  if (!simulator.ok())
    return Fail(simulator.status().message());

  hafnia::Dataset data;
  data.sources =
      absl::StrSplit(absl::GetFlag(FLAGS_input), ',', absl::SkipEmpty());
  int inputs = (*simulator)->program().inputs_size();
  if (data.sources.size() != static_cast<size_t>(inputs))
    return Fail(absl::StrCat("the program takes ", inputs,
                             " input(s): give as many files to --input, got ",
                             data.sources.size()));
  // Read as the engine needs them, a chunk of samples at a time.
  for (const std::string &file : data.sources) {
    absl::StatusOr<std::unique_ptr<hafnia::TensorReader>> reader =
        hafnia::OpenTensor(file);
    if (!reader.ok())
      return Fail(reader.status().message());
    data.readers.push_back(*std::move(reader));
  }
  if (!absl::GetFlag(FLAGS_labels).empty()) {
    data.labels_source = absl::GetFlag(FLAGS_labels);
    absl::StatusOr<std::vector<int64_t>> labels =
        hafnia::ReadNpyLabels(data.labels_source);
    if (!labels.ok())
      return Fail(labels.status().message());
    data.labels = *std::move(labels);
  }

  if (sensitivity) {
    hafnia::SensitivityOptions sensitivity_options;
    static_cast<hafnia::TrialOptions &>(sensitivity_options) = options;
    sensitivity_options.array_layers =
        absl::GetFlag(FLAGS_sensitivity_arrays).value_or(2);
    absl::StatusOr<hafnia::SensitivityReport> report =
        hafnia::Sensitivity(**simulator, data, sensitivity_options);
    if (!report.ok())
      return Fail(report.status().message());
    return Finish(*report, hafnia::FormatSensitivity(*report), nullptr,
                  nullptr);
  }

  if (shard) {
    absl::StatusOr<hafnia::PartReport> part =
        sweeping ? hafnia::SweepPart(**simulator, data, sweep, *shard)
                 : hafnia::SimulatePart(**simulator, data, options, *shard);
    if (!part.ok())
      return Fail(part.status().message());
    return Finish(*part,
                  absl::StrCat("part ", shard->index, " of ", shard->count,
                               ": ", part->trials_size(), " trial(s) on ",
                               part->samples(), " sample(s), written to ",
                               absl::GetFlag(FLAGS_report), "\n"),
                  nullptr, nullptr);
  }

  if (sweeping) {
    bool progress = isatty(STDERR_FILENO);
    if (progress)
      sweep.progress = [](size_t step, size_t steps) {
        std::cerr << absl::StrFormat("\rsweep step %d of %d", step, steps)
                  << std::flush;
      };
    absl::StatusOr<hafnia::SweepReport> report =
        hafnia::Sweep(**simulator, data, sweep);
    if (progress)
      std::cerr << "\n";
    if (!report.ok())
      return Fail(report.status().message());
    return Finish(*report, hafnia::FormatSweep(*report), &*report, nullptr);
  }

  absl::StatusOr<hafnia::Simulation> simulation =
      hafnia::Simulate(**simulator, data, options);
  if (!simulation.ok())
    return Fail(simulation.status().message());
  return Finish(simulation->report,
                hafnia::FormatSimulationReport(simulation->report), nullptr,
                &simulation->outputs[0]);
}
