// Estimates of silicon area, and of energy and latency per inference, from
// the chip's cost model (chip.proto's CostModel; docs/cost-model.md). The
// estimates are linear in what the simulator counts (SimulationStats), which
// does not depend on the values computed, so one error-free run of one
// batch gives them.

#ifndef HAFNIA_RUNTIME_COSTMODEL_H
#define HAFNIA_RUNTIME_COSTMODEL_H

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "hafnia/proto/chip.pb.h"
#include "hafnia/proto/program.pb.h"
#include "hafnia/proto/report.pb.h"
#include "hafnia/runtime/Ecc.h"

namespace hafnia {

// Every field of CostModel at its default: assumptions for a 130 nm process
// at 1.2 V, derived field by field in docs/cost-model.md.
const CostModel &DefaultCostModel();

// The costs of `chip`: the fields its cost block sets, the defaults for the
// others.
CostModel CostOf(const ChipConfig &chip);

// Checks that every field `cost` sets is finite and >= 0; the error names
// the field (as "cost.<field>").
absl::Status ValidateCostModel(const CostModel &cost);

// The area of `chip` as configured, and of the `arrays_used` arrays and
// `digital_bytes_used` bytes of digital memory a program uses.
AreaEstimate EstimateArea(const ChipConfig &chip, uint64_t arrays_used,
                          uint64_t digital_bytes_used);

// Energy and latency of one inference (one sample) of `program` on its
// chip, by layer and in total, and the energy of programming its arrays.
// Runs one batch of zeros through the reference kernels (which count every
// instruction's operations where it is), so it fails only where
// Simulator::Create does.
absl::StatusOr<InferenceCost> EstimateInferenceCost(const Program &program);

// What storing the read cells of `program`'s arrays as code words of `ecc`
// in 1T1R devices adds, at `row_reads_per_inference` row reads: decoding
// and the parity devices' sensing per inference, the decoders' delay, the
// programming of the code words, and the area of the arrays used so stored
// against 2T2R cells.
EccCost EstimateEccCost(const Program &program, EccCode ecc,
                        double row_reads_per_inference);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_COSTMODEL_H
