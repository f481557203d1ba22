// The memory-mapping report (report.proto) for people and machines: an
// aligned text table, JSON with the proto's field names, and an SVG picture
// of the arrays.

#ifndef HAFNIA_RUNTIME_MAPPINGREPORT_H
#define HAFNIA_RUNTIME_MAPPINGREPORT_H

#include <string>

#include "absl/status/statusor.h"
#include "hafnia/proto/report.pb.h"

namespace hafnia {

std::string FormatMappingReport(const MappingReport &report);

// Any report as JSON with the proto's field names, every field printed.
absl::StatusOr<std::string>
ReportToJson(const google::protobuf::Message &report);
// ReportToJson written through WriteFileAtomically.
absl::Status WriteReportJson(const std::string &path,
                             const google::protobuf::Message &report);

// Every array of the chip as a square, coloured by the layer it holds and
// shaded by how full it is, with a legend.
std::string MappingReportToSvg(const MappingReport &report);

// "1.2 MiB", "305.8 KiB", "12 B".
std::string FormatBytes(uint64_t bytes);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_MAPPINGREPORT_H
