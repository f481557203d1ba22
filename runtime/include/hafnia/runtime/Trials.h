// The simulation engine: runs a data set through a compiled program on the
// error-free chip and, for Monte Carlo trials, on freshly programmed chips
// with bit errors, and assembles the reports of report.proto. hafnia-sim and
// the Python module are drivers over this; what they report for the same
// options and seed is therefore the same, whatever the thread count.

#ifndef HAFNIA_RUNTIME_TRIALS_H
#define HAFNIA_RUNTIME_TRIALS_H

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hafnia/proto/report.pb.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Ecc.h"
#include "hafnia/runtime/Simulator.h"
#include "hafnia/runtime/TensorIO.h"

namespace hafnia {

// A data set: one tensor per program input, in the program's order, with the
// samples along the first axis (a scalar input takes a scalar and runs once).
struct Dataset {
  std::vector<Tensor> inputs;
  // Or the inputs as readers (OpenTensor), read a chunk of samples at a time
  // (RunOptions::chunk_samples), so that the data set need not fit in memory;
  // when given, `inputs` is not used. Read from several threads at once.
  std::vector<std::shared_ptr<TensorReader>> readers;
  // What each input came from (a file name), for errors; "input K" if empty.
  std::vector<std::string> sources;
  // One class label per sample, for accuracy.
  std::optional<std::vector<int64_t>> labels;
  std::string labels_source = "labels";
};

// How errors spell the options: as hafnia-sim's flags (--ber-table) or as
// the Python API's keyword arguments (ber_table).
enum class OptionNames { kFlags, kKeywords };

// The options shared by single runs and sweeps.
struct RunOptions {
  // Samples run in parallel; the results are the same for any count.
  int threads = 1;
  // Samples held at a time: the inputs are read, and the error-free prefix
  // of the samples computed and kept for the trials, a chunk of this many
  // samples (whole batches of the program, at least one) after the other.
  // Peak memory grows with the chunk, not with the data set; the reports
  // are the same for any chunk size.
  int64_t chunk_samples = 1024;
  // Monte Carlo trials with errors, each on a freshly programmed chip whose
  // random stream depends only on (seed, trial).
  int trials = 10;
  uint64_t seed = 1;
  // A measured BER-versus-cycles table, read at the cycle count instead of
  // the chip's device model.
  std::optional<BerTable> ber_table;
  // Inputs holding NaN or infinities are refused unless this is set (the
  // chip's sense amplifiers would read them as arbitrary bits).
  bool allow_nonfinite_inputs = false;
  // The program's name in the reports (its file).
  std::string program_name;
  OptionNames names = OptionNames::kFlags;
};

// One run: error-free, or with errors when `cycles` or `ber` is set.
struct TrialOptions : RunOptions {
  // The cell type of the arrays; unspecified: the chip's.
  CellType cell = CELL_TYPE_UNSPECIFIED;
  // Programming cycles the devices have seen: the device model (or the BER
  // table) gives the bit-error rate.
  std::optional<double> cycles;
  // A bit-error rate to use as it is (without cycles and a table).
  std::optional<double> ber;
  // Store every array's read cells as code words of this code in 1T1R
  // devices, decoded before the logic (docs/device-model.md); needs a 1T1R
  // cell and errors.
  std::optional<EccCode> ecc;
};

// How the weights are stored in a sweep over cell settings: 2T2R or 1T1R
// cells, or 1T1R devices holding code words.
struct CellSetting {
  CellType cell = CELL_2T2R;
  std::optional<EccCode> ecc;
};
// "2T2R", "1T1R" or "1T1R+secded-72-64".
std::string SettingName(const CellSetting &setting);
// The setting `text` spells; errors name the option (--sweep-cells).
absl::StatusOr<CellSetting> ParseCellSetting(absl::string_view text,
                                             OptionNames names);
// The code `text` names; the error names --ecc and lists the codes.
absl::StatusOr<EccCode> ParseEccOption(absl::string_view text,
                                       OptionNames names);

struct Simulation {
  SimulationReport report;
  // Every output of the program, the batches joined along the first axis
  // (one run of a scalar output per batch stacked into a vector): of the
  // error-free chip, or of trial 0 when there are errors.
  std::vector<Tensor> outputs;
};

absl::StatusOr<Simulation> Simulate(const Simulator &simulator,
                                    const Dataset &data,
                                    const TrialOptions &options);

// A sweep: trials at each of several cycle counts (1T1R and 2T2R side by
// side) or bit-error rates (at `cell`).
struct SweepOptions : RunOptions {
  std::vector<double> cycles;
  std::vector<double> ber;
  CellType cell = CELL_TYPE_UNSPECIFIED;
  // Over cycles: these settings side by side (default 1T1R and 2T2R), in
  // this order.
  std::vector<CellSetting> cells;
  // Compare at equal device count: every setting of `cells` must store the
  // read cells in at most the devices of 2T2R cells (2 per cell); refused
  // otherwise. The report gives each setting's devices and the budget.
  bool equal_devices = false;
  // Called before each point's trials run on each chunk of samples, with the
  // step's number (from 1) and the count of steps (points x chunks; a data
  // set in one chunk: the point's number and the count of points).
  std::function<void(size_t step, size_t steps)> progress;
};

absl::StatusOr<SweepReport> Sweep(const Simulator &simulator,
                                  const Dataset &data,
                                  const SweepOptions &options);

// Sensitivity (hafnia-sim --sensitivity): the trials of a run with errors
// (`cycles` or `ber`), the errors confined to one layer's arrays at a time
// (every other array error-free), then to one array at a time of the
// `array_layers` most sensitive layers; and once in every array, for
// reference. Each confinement runs the same trials (seeds) as Simulate.
struct SensitivityOptions : TrialOptions {
  int array_layers = 2;
};

absl::StatusOr<SensitivityReport>
Sensitivity(const Simulator &simulator, const Dataset &data,
            const SensitivityOptions &options);

// The sensitivity report as text: a table of layers (by program order, with
// their rank), then one of arrays.
std::string FormatSensitivity(const SensitivityReport &report);

// A run split over machines (a Slurm job array): part `index` of `count`.
// Parts take contiguous ranges of the (sweep point, trial) pairs, or with
// `samples` of the samples' batches; a trial programs the chip of (seed,
// trial) in whatever part runs it, so the merged report is the one a single
// run writes, byte for byte.
struct Shard {
  uint32_t index = 0;
  uint32_t count = 1;
  bool samples = false;
};

// The part `shard` of Simulate or Sweep with these options.
absl::StatusOr<PartReport> SimulatePart(const Simulator &simulator,
                                        const Dataset &data,
                                        const TrialOptions &options,
                                        const Shard &shard);
absl::StatusOr<PartReport> SweepPart(const Simulator &simulator,
                                     const Dataset &data,
                                     const SweepOptions &options,
                                     const Shard &shard);

// The report of a whole run from its parts (in any order), of which exactly
// one is set. Parts from another program or other options, a part missing
// or given twice fail with one line naming the part by `sources` (its file).
struct MergedReport {
  std::optional<SimulationReport> simulation;
  std::optional<SweepReport> sweep;
};
absl::StatusOr<MergedReport>
MergeParts(const std::vector<PartReport> &parts,
           const std::vector<std::string> &sources);

// The predicted class of each sample: the argmax over all but the first axis
// of `output` (a scalar output is one sample).
std::vector<int64_t> Predict(const Tensor &output);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_TRIALS_H
