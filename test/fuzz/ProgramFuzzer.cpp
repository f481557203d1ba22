// libFuzzer target (b) of issue 13: a program file through loading,
// validation, disassembly, the reports and simulation with and without bit
// errors. The input is a program payload (a serialized hafnia.Program, what
// follows the 24-byte header): the harness wraps it in a valid header and
// CRC-32, so mutations reach the validator instead of stopping at the
// checksum. The raw bytes are parsed as a whole file too, for the header.

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ProgramInputs.h"
#include "google/protobuf/stubs/logging.h"
#include "hafnia/runtime/MappingReport.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"

namespace {

// Programs larger than this validate but do not run: the fuzzer looks for
// crashes, not for slow convolutions (the validator's own memory bound is
// tested on its own).
constexpr uint64_t kMaxSimulatedBytes = uint64_t{1} << 20;
constexpr int64_t kMaxSimulatedElements = int64_t{1} << 14;

void Simulate(const hafnia::Program &program, bool fuse) {
  hafnia::Simulator::Options options;
  options.fuse_layers = fuse;
  auto simulator = hafnia::Simulator::Create(program, options);
  if (!simulator.ok())
    __builtin_trap(); // ParseProgram validated it: Create must accept it.
  std::vector<hafnia::Tensor> inputs = hafnia::ProgramInputs(program);
  hafnia::SimulationStats stats;
  auto outputs = (*simulator)->Run(inputs, &stats);
  if (!outputs.ok())
    __builtin_trap(); // Inputs of the program's own shapes must run.
  std::mt19937_64 random(1);
  auto chip = (*simulator)->ProgramWithErrors(0.1, random);
  auto prefix = (*simulator)->RunPrefix(inputs);
  if (!prefix.ok())
    __builtin_trap();
  auto with_errors = (*simulator)->RunSuffix(**prefix, chip.get(), &stats);
  if (!with_errors.ok())
    __builtin_trap();
  (void)(*simulator)->CellsRead();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char *>(data), size);
  // As a whole file: the header's checks.
  (void)hafnia::ParseProgram(bytes, "fuzz.hfp");

  // As a payload under a valid header.
  hafnia::Program carrier;
  {
    google::protobuf::LogSilencer quiet;
    if (!carrier.ParseFromArray(data, static_cast<int>(size)))
      return 0;
  }
  std::string file = hafnia::SerializeProgram(carrier);
  absl::StatusOr<hafnia::Program> program =
      hafnia::ParseProgram(file, "fuzz.hfp");
  if (!program.ok())
    return 0;
  (void)hafnia::Disassemble(*program);
  (void)hafnia::FormatMappingReport(program->report());
  (void)hafnia::ReportToJson(program->report());
  (void)hafnia::MappingReportToSvg(program->report());

  int64_t elements = 0;
  for (const hafnia::Buffer &buffer : program->buffers())
    elements += hafnia::NumElements(hafnia::ShapeOf(buffer));
  if (hafnia::EstimateSimulatorMemory(*program).total() > kMaxSimulatedBytes ||
      elements > kMaxSimulatedElements)
    return 0;
  Simulate(*program, /*fuse=*/true);
  Simulate(*program, /*fuse=*/false);
  return 0;
}
