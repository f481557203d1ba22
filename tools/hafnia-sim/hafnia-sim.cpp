// hafnia-sim: run a compiled program (.hfp) on the simulated chip.
//
//   hafnia-sim model.hfp --input x.npy [--labels y.npy] [--output out.npy]
//              [--threads=T] [--report=FILE.json]

#include <algorithm>
#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"
#include "hafnia/runtime/TensorIO.h"

ABSL_FLAG(std::string, input, "",
          "Inputs: .npy (a batch along the first axis) or ONNX TensorProto "
          ".pb files, comma-separated for a program with several inputs");
ABSL_FLAG(std::string, labels, "",
          "Class labels (.npy of integers, one per sample) for accuracy");
ABSL_FLAG(std::string, output, "", "Write the first output as .npy");
ABSL_FLAG(int, threads, 1,
          "Samples run in parallel; the results are the same for any count");
ABSL_FLAG(std::string, report, "", "Write the simulation report as JSON");

namespace {

using hafnia::Tensor;

int Fail(absl::string_view message) {
  std::cerr << "hafnia-sim: error: " << message << "\n";
  return 1;
}

// Splits `tensor`, a batch of samples, into chunks of the program's input
// shape; fails when the shapes do not fit.
absl::StatusOr<std::vector<Tensor>>
SplitBatch(const Tensor &tensor, const std::string &source,
           const std::string &name, const std::vector<int64_t> &shape) {
  std::vector<int64_t> sample(shape.begin() + 1, shape.end());
  std::string expected =
      absl::StrCat("[N*", shape[0], ",", absl::StrJoin(sample, ","), "]");
  if (tensor.shape.size() != shape.size() ||
      !std::equal(sample.begin(), sample.end(), tensor.shape.begin() + 1) ||
      shape[0] == 0 || tensor.shape[0] % shape[0] != 0 || tensor.shape[0] == 0)
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": input '", name, "' has shape [",
        absl::StrJoin(tensor.shape, ","), "], the program expects ", expected,
        " (a batch of samples along the first axis)"));
  int64_t chunk = hafnia::NumElements(shape);
  std::vector<Tensor> chunks;
  for (int64_t start = 0; start < static_cast<int64_t>(tensor.data.size());
       start += chunk)
    chunks.push_back(
        Tensor{shape, std::vector<float>(tensor.data.begin() + start,
                                         tensor.data.begin() + start + chunk)});
  return chunks;
}

// Prints every statistic, as declared in report.proto.
std::string FormatStats(const hafnia::SimulationStats &stats) {
  std::string text;
  const auto *descriptor = stats.GetDescriptor();
  const auto *reflection = stats.GetReflection();
  for (int f = 0; f < descriptor->field_count(); ++f) {
    const auto *field = descriptor->field(f);
    absl::StrAppend(
        &text, "  ", field->name(),
        std::string(std::max<int>(1, 20 - field->name().size()), ' '),
        reflection->GetUInt64(stats, field), "\n");
  }
  return text;
}

} // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage(
      "Runs a compiled program on the simulated RRAM chip.\nUsage: hafnia-sim "
      "model.hfp --input x.npy [--labels y.npy] [--output out.npy] "
      "[--threads=T] [--report=FILE.json]");
  std::vector<char *> arguments = absl::ParseCommandLine(argc, argv);
  if (arguments.size() != 2)
    return Fail("give exactly one program: hafnia-sim model.hfp --input x.npy");
  int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 1)
    return Fail("--threads must be at least 1");

  absl::StatusOr<hafnia::Program> program = hafnia::ReadProgram(arguments[1]);
  if (!program.ok())
    return Fail(program.status().message());
  absl::StatusOr<std::unique_ptr<hafnia::Simulator>> simulator =
      hafnia::Simulator::Create(*std::move(program));
  if (!simulator.ok())
    return Fail(simulator.status().message());
  const hafnia::Program &p = (*simulator)->program();

  std::vector<std::string> files =
      absl::StrSplit(absl::GetFlag(FLAGS_input), ',', absl::SkipEmpty());
  if (files.size() != static_cast<size_t>(p.inputs_size()))
    return Fail(absl::StrCat("the program takes ", p.inputs_size(),
                             " input(s): give as many files to --input, got ",
                             files.size()));
  // chunks[c][k]: input k of chunk c.
  std::vector<std::vector<Tensor>> chunks;
  for (size_t k = 0; k < files.size(); ++k) {
    absl::StatusOr<Tensor> tensor = hafnia::ReadTensor(files[k]);
    if (!tensor.ok())
      return Fail(tensor.status().message());
    const hafnia::Buffer &buffer = p.buffers(p.inputs(k).buffer());
    absl::StatusOr<std::vector<Tensor>> split = SplitBatch(
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

  // Chunks run in parallel; each keeps its own outputs and statistics, and
  // both are combined in chunk order, so any thread count gives the same.
  std::vector<std::vector<Tensor>> outputs(chunks.size());
  std::vector<hafnia::SimulationStats> stats(chunks.size());
  std::vector<absl::Status> errors(chunks.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t c = next++; c < chunks.size(); c = next++) {
      absl::StatusOr<std::vector<Tensor>> result =
          (*simulator)->Run(chunks[c], &stats[c]);
      if (result.ok())
        outputs[c] = *std::move(result);
      else
        errors[c] = result.status();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::min<int>(threads, chunks.size()); ++t)
    pool.emplace_back(work);
  work();
  for (std::thread &thread : pool)
    thread.join();
  for (const absl::Status &error : errors)
    if (!error.ok())
      return Fail(error.message());

  hafnia::SimulationReport report;
  report.set_program(arguments[1]);
  report.set_threads(threads);
  hafnia::SimulationStats *total = report.mutable_stats();
  for (const hafnia::SimulationStats &s : stats)
    hafnia::AddStats(*total, s);
  uint64_t programmed = 0;
  for (uint64_t cycles : (*simulator)->programming_cycles())
    programmed += cycles;
  total->set_programming_cycles(programmed);

  // The first output of every chunk, joined along the batch axis.
  Tensor first;
  for (const std::vector<Tensor> &chunk : outputs) {
    if (first.shape.empty()) {
      first.shape = chunk[0].shape;
      first.shape[0] = 0;
    }
    first.shape[0] += chunk[0].shape[0];
    first.data.insert(first.data.end(), chunk[0].data.begin(),
                      chunk[0].data.end());
  }
  int64_t samples = first.shape[0];
  report.set_samples(samples);
  if (!absl::GetFlag(FLAGS_labels).empty()) {
    absl::StatusOr<std::vector<int64_t>> labels =
        hafnia::ReadNpyLabels(absl::GetFlag(FLAGS_labels));
    if (!labels.ok())
      return Fail(labels.status().message());
    if (static_cast<int64_t>(labels->size()) != samples)
      return Fail(absl::StrCat(absl::GetFlag(FLAGS_labels), " holds ",
                               labels->size(), " labels for ", samples,
                               " samples"));
    int64_t classes = first.data.size() / samples, correct = 0;
    for (int64_t s = 0; s < samples; ++s) {
      const float *row = first.data.data() + s * classes;
      correct += std::max_element(row, row + classes) - row == (*labels)[s];
    }
    report.set_correct(correct);
    report.set_accuracy(static_cast<double>(correct) / samples);
  }
  if (!absl::GetFlag(FLAGS_output).empty())
    if (absl::Status status =
            hafnia::WriteNpy(absl::GetFlag(FLAGS_output), first);
        !status.ok())
      return Fail(status.message());
  if (!absl::GetFlag(FLAGS_report).empty()) {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(report, &json, options)
             .ok())
      return Fail("cannot print the report as JSON");
    if (absl::Status status =
            hafnia::WriteFileAtomically(absl::GetFlag(FLAGS_report), json);
        !status.ok())
      return Fail(status.message());
  }

  std::cout << "samples             " << samples << "\n";
  if (report.has_accuracy())
    std::cout << "accuracy            "
              << absl::StrFormat("%.4f (%d of %d)", report.accuracy(),
                                 report.correct(), samples)
              << "\n";
  std::cout << "stats\n" << FormatStats(*total);
  return 0;
}
