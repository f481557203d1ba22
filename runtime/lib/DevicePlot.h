// Log-log SVG plots of bit-error rates against programming cycles, shared
// by hafnia-device's curve and fit (DeviceCurve.cpp, DeviceFit.cpp), and
// the decade grid that hafnia-sim's sweep plot draws too.

#ifndef HAFNIA_RUNTIME_DEVICEPLOT_H
#define HAFNIA_RUNTIME_DEVICEPLOT_H

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hafnia {

struct PlotSeries {
  std::string label;
  std::string color;
  // (cycles, BER); cycles below 1 are drawn at 1, BERs <= 0 are left out.
  std::vector<std::pair<double, double>> points;
  // A line through the points, or a marker at each.
  bool line = true;
};

// Cycles on a log axis from the decade below the smallest (at least 1) to
// the decade above the largest; BER on a log axis over the decades the
// series span. `title` is escaped; a series without a label has no legend.
std::string BerAgainstCyclesSvg(const std::string &title,
                                const std::vector<PlotSeries> &series);

// The colours of the cells, as in hafnia-sim's sweep plots.
constexpr const char *kColor1T1R = "#e15759";
constexpr const char *kColor2T2R = "#4e79a7";

// The vertical grid lines of a log x axis, labelled 1e<d>, at every
// `step`-th decade d from `first` to `last`, over a plot `height` high from
// `top`; `px` maps a value to its x coordinate. Shared with hafnia-sim's
// sweep plot (ErrorReport.cpp).
void AppendDecadeGrid(std::string &svg, int first, int last, int step,
                      const std::function<double(double)> &px, int top,
                      int height);

// Cycle counts for a smooth curve from `lowest` to `highest` (20 per decade
// of log10(cycles), and both ends), at least 1.
std::vector<double> SmoothCycles(double lowest, double highest);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_DEVICEPLOT_H
