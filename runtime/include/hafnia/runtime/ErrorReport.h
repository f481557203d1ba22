// Error-rate reports of hafnia-sim (report.proto): text tables and, for
// sweeps, an SVG plot of accuracy and agreement with the error-free chip.

#ifndef HAFNIA_RUNTIME_ERRORREPORT_H
#define HAFNIA_RUNTIME_ERRORREPORT_H

#include <string>
#include <vector>

#include "hafnia/proto/report.pb.h"

namespace hafnia {

// Mean, spread (standard deviation), minimum and maximum of `values`.
TrialSummary Summarize(const std::vector<double> &values);

// The simulation report as text: samples, accuracy, the errors and the
// chip's statistics.
std::string FormatSimulationReport(const SimulationReport &report);

std::string FormatSweep(const SweepReport &sweep);

// Accuracy (solid) and agreement with the error-free chip (dashed) against
// the swept parameter on a log axis, one colour per cell type.
std::string SweepToSvg(const SweepReport &sweep);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_ERRORREPORT_H
