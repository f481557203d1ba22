// hafnia-inspect: what a compiled program (.hfp) holds, from the file alone.
//
//   hafnia-inspect model.hfp [--format=text|json|svg] [--disassemble]

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "hafnia/runtime/MappingReport.h"
#include "hafnia/runtime/Program.h"

ABSL_FLAG(std::string, format, "text",
          "How to print the memory-mapping report: text, json or svg");
ABSL_FLAG(bool, disassemble, false,
          "Print the instruction stream instead of the report");

namespace {

int Fail(absl::string_view message) {
  std::cerr << "hafnia-inspect: error: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  absl::SetProgramUsageMessage(
      "Prints the memory-mapping report or the instruction stream of a "
      "compiled program.\nUsage: hafnia-inspect model.hfp "
      "[--format=text|json|svg] [--disassemble]");
  std::vector<char *> arguments = absl::ParseCommandLine(argc, argv);
  if (arguments.size() != 2)
    return Fail("give exactly one program: hafnia-inspect model.hfp");
  absl::StatusOr<hafnia::Program> program = hafnia::ReadProgram(arguments[1]);
  if (!program.ok())
    return Fail(program.status().message());

  if (absl::GetFlag(FLAGS_disassemble)) {
    std::cout << hafnia::Disassemble(*program);
    return 0;
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format == "text") {
    std::cout << hafnia::FormatMappingReport(program->report());
  } else if (format == "json") {
    absl::StatusOr<std::string> json = hafnia::ReportToJson(program->report());
    if (!json.ok())
      return Fail(json.status().message());
    std::cout << *json;
  } else if (format == "svg") {
    std::cout << hafnia::MappingReportToSvg(program->report());
  } else {
    return Fail("--format must be text, json or svg, got '" + format + "'");
  }
  return 0;
}
