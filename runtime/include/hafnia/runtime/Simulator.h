// The chip simulator: programs the arrays of a validated program, then runs
// its instruction stream bit for bit.

#ifndef HAFNIA_RUNTIME_SIMULATOR_H
#define HAFNIA_RUNTIME_SIMULATOR_H

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "hafnia/proto/program.pb.h"
#include "hafnia/proto/report.pb.h"
#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Ecc.h"
#include "hafnia/runtime/TensorIO.h"

namespace hafnia {

namespace kernels {
class Plan;
} // namespace kernels

class Simulator {
public:
  // Validates `program` (ValidateProgram: a program that fails is an
  // error, whoever built it) and programs its arrays.
  struct Options {
    // Compute the program's tiled layers on whole rows (FusedLayer, from
    // Program.tiled_layers); off, every tile is read instruction by
    // instruction. Results and statistics are the same.
    bool fuse_layers = true;
    // Run convolutions, dense layers and batch norms with the plain
    // reference loops instead of oneDNN and the plans made at setup (folded
    // batch norms, fused activations): the tests compare both. Binary
    // results and all statistics are the same either way.
    bool reference_kernels = false;
  };
  static absl::StatusOr<std::unique_ptr<Simulator>> Create(Program program,
                                                           Options options);
  static absl::StatusOr<std::unique_ptr<Simulator>> Create(Program program) {
    return Create(std::move(program), Options());
  }

  const Program &program() const { return program_; }

  // Runs one batch: `inputs` match the program's inputs in order and shape.
  // Adds what the chip did to `stats`. Safe to call from several threads.
  absl::StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor> &inputs,
                                          SimulationStats *stats) const;

  // The weights of one programming of the chip: every array's cells as the
  // sense amplifiers read them, with the bit errors of this programming, and
  // the fused layers' rows built from them (defined below).
  struct ChipState;
  // Programs a fresh chip on which every cell that is read (used rows, all
  // columns, padding included) flips with its chance under `errors` (a BER
  // converts to one): by its stored value, and per array when the arrays
  // vary (ErrorInjection.cpp).
  std::unique_ptr<ChipState> ProgramWithErrors(const BitErrors &errors,
                                               std::mt19937_64 &random) const;
  // The same with each array's read cells, in row-major order, stored as
  // code words of `ecc` in 1T1R devices (Ecc.h, SampleStoredBlock): every
  // device flips with its chance under `errors` by its stored value, the
  // words are decoded, and the cells still wrong after decoding flip.
  // Without a code, the function above (the same random draws).
  std::unique_ptr<ChipState> ProgramWithErrors(const BitErrors &errors,
                                               std::optional<EccCode> ecc,
                                               std::mt19937_64 &random) const;
  // The chip with the read cells stored as code words of `ecc` and exactly
  // the devices `device_flips` flipped, by the program's arrays in order
  // (each list sorted, in [0, StoredDevices) of the array's read cells):
  // what decoding leaves of chosen errors, for tests.
  std::unique_ptr<ChipState>
  ProgramWithDeviceFlips(EccCode ecc,
                         const std::vector<std::vector<int64_t>> &device_flips,
                         std::mt19937_64 &random) const;
  // What one programming stores and is expected to get wrong with the
  // read cells stored as code words of `ecc`, by array number: devices,
  // words, data bits wrong after decoding and uncorrectable words when
  // every device flips with the mean rate of `errors` (exact when a device
  // errs alike whatever it stores and the arrays do not vary).
  struct EccExpectation {
    std::vector<uint64_t> devices, words;
    std::vector<double> wrong_bits, uncorrectable_words;
  };
  EccExpectation ExpectedEccErrors(const BitErrors &errors, EccCode ecc) const;
  // Cells expected to flip in each array (by array number) on one
  // programming under `errors`, from the stored values of the cells read.
  std::vector<double> ExpectedFlips(const BitErrors &errors) const;
  // The chance that a read cell flips, over the cells the program reads:
  // the rate itself when a cell errs alike whatever it stores.
  double ExpectedBer(const BitErrors &errors) const;
  // Cells flipped in each array of `chip`, in the order of the program's
  // arrays (Program.arrays).
  static const std::vector<uint64_t> &Flips(const ChipState &chip);
  // Cells read in each array (used rows times columns), by array number.
  std::vector<uint64_t> CellsRead() const;

  // What each instruction adds to the statistics in one error-free run of
  // one batch, by instruction number; the statistics do not depend on the
  // values, so the inputs are zeros. Instructions that do not run (replaced
  // by a layer computed on whole rows, or absorbed by a real kernel's plan)
  // add nothing: with Options::reference_kernels every real instruction
  // counts its own operations.
  std::vector<SimulationStats> InstructionStats() const;

  // A run in two parts, so that Monte Carlo trials share what errors cannot
  // change: RunPrefix runs the instructions before the first array read
  // (the real-valued layers that feed the arrays) and keeps what the rest
  // needs; RunSuffix runs the rest on `chip` (null: the error-free chip)
  // and adds the whole run's statistics to `stats`.
  class Prefix;
  // Buffers that ended runs leave for the next ones (private to the
  // runtime, in Execution.h).
  class ValueStore;
  absl::StatusOr<std::shared_ptr<const Prefix>>
  RunPrefix(const std::vector<Tensor> &inputs) const;
  absl::StatusOr<std::vector<Tensor>> RunSuffix(const Prefix &prefix,
                                                const ChipState *chip,
                                                SimulationStats *stats) const;
  // The rest of the run of each of `prefixes` on each of `chips` (null: the
  // error-free chip), as RunSuffix gives it, with the tiled layers of many
  // prefixes computed together (each weight row loaded once for many
  // samples) and the buffers of one chip's runs reused by the next. By chip,
  // every program output with the prefixes' values stacked along a new
  // first axis: [prefixes, output shape...]. The statistics of every run are
  // added to `stats` (null: not counted).
  absl::StatusOr<std::vector<std::vector<Tensor>>>
  RunSuffixes(const std::vector<const Prefix *> &prefixes,
              const std::vector<const ChipState *> &chips,
              SimulationStats *stats) const;

  // Times each array has been programmed.
  const std::vector<uint64_t> &programming_cycles() const {
    return programming_cycles_;
  }

  // One array's weights, each row packed into 64-bit words (bit c of the
  // row is bit c % 64 of word c / 64; unused high bits are zero).
  struct PackedArray {
    int64_t rows = 0, columns = 0, words = 0, rows_used = 0;
    std::vector<uint64_t> bits;
  };

  // A binary layer's reads, computed on whole rows: every neuron's weights
  // across its column tiles as one packed row of `fan_in` bits. Popcounts
  // over the whole row equal the tiles' partial popcounts summed with the
  // padding correction, so the results are identical; the statistics still
  // count every tile's reads.
  struct FusedLayer {
    uint32_t source = 0; // the bits the layer reads
    int64_t fan_in = 0, outputs = 0, words = 0;
    // Input rows per run (a convolution's positions times the batch).
    int64_t rows = 0;
    // The im2col instruction whose rows the layer packs straight from
    // `source` (its input) when nothing else reads the receptive fields;
    // the im2col itself then does not run. -1: `source` holds the rows.
    int im2col = -1;
    // With an im2col, its taps per channel and its channels.
    int64_t taps = 0, field_channels = 0;
    // The bit of a packed row that holds column k of the layer's inputs:
    // k, or with an im2col column k = c * taps + t (channel c, tap t) at
    // t * field_channels + c, the order in which the kernels pack the
    // fields. Popcounts do not depend on the order of the bits; weights
    // and inputs take the same.
    int64_t BitOf(int64_t k) const {
      return taps ? k % taps * field_channels + k / taps : k;
    }
    // The threshold that alone reads the layer's counts, applied as they
    // leave the GEMM, so that only its bits are stored (-1: the counts are
    // written; never with Options::reference_kernels, which count each
    // instruction on its own); the bit max pooling that alone reads the
    // threshold's bits, applied as they are stored (-1: none). `output` is
    // the buffer the layer then writes, the threshold's or the pooling's:
    // as bits, or, when the next layer's fields read it (`lines_im2col`,
    // their im2col), as that layer's field lines (kernels::FieldLines).
    int threshold = -1, pool = -1, lines_im2col = -1;
    uint32_t output = 0;
    // The threshold as ThresholdRows takes it: by output, -1 where it is
    // inverted (0 elsewhere); by class of output position (0: away from the
    // border, 1 + b: border position b) and output, the most disagreements
    // that read +1 (negated where inverted) on a chip without padding
    // errors; and each position's class.
    std::vector<int32_t> negate, limits, position_classes;
    // The threshold's and the pooling's digital operations per run.
    uint64_t epilogue_ops = 0;
    // The layer's source holds the field lines that another fused layer or
    // a binarization wrote, not a byte per bit.
    bool reads_lines = false;
    // Per row tile: its arrays and their column tiles, and its used rows.
    std::vector<std::vector<std::pair<uint32_t, int64_t>>> row_tiles;
    std::vector<int64_t> rows_used;
    // The error-free rows, outputs x words.
    std::vector<uint64_t> weights;
    uint64_t row_reads_per_sample = 0, activations_per_sample = 0,
             digital_ops_per_sample = 0;
  };

  struct ChipState {
    // By array number, only when an instruction reads the arrays themselves
    // (a layer not computed on whole rows); empty otherwise.
    std::vector<PackedArray> arrays;
    // By instruction, for fused layers: rows and flipped padding cells.
    std::vector<std::vector<uint64_t>> fused_weights;
    std::vector<std::vector<int32_t>> fused_padding_errors;
    // By instruction, for fused layers: the words of the rows that differ
    // from the error-free rows (the bits flipped, and what they were).
    struct FlippedWord {
      int64_t neuron, word;
      uint64_t mask, error_free;
    };
    std::vector<std::vector<FlippedWord>> fused_flipped_words;
    // In the order of the program's arrays: cells flipped in this
    // programming.
    std::vector<uint64_t> flips;
    // With a code, in the same order: devices flipped and words the decoder
    // flagged uncorrectable (`flips` counts the cells wrong after decoding).
    std::vector<uint64_t> device_flips, uncorrectable_words;
  };

private:
  explicit Simulator(Program program) : program_(std::move(program)) {}

  Program program_;
  // Indexed by array number; arrays the program does not use are empty.
  std::vector<PackedArray> arrays_;
  std::vector<uint64_t> programming_cycles_;
  // Real constants, dequantized, by buffer (empty for other buffers).
  std::vector<std::vector<float>> constants_;
  std::vector<std::vector<uint8_t>> bit_constants_;
  // By instruction: the fused layer a collect computes, and the reads,
  // slices and sums it replaces.
  std::vector<std::unique_ptr<FusedLayer>> fused_;
  std::vector<bool> replaced_;
  // The instructions that run, in order (those not replaced, with a result
  // that is not empty).
  std::vector<int> schedule_;
  // By instruction: what its real kernel computed at setup (null for none),
  // and whether the reference kernels run instead.
  std::vector<std::shared_ptr<const kernels::Plan>> plans_;
  bool reference_kernels_ = false;
  // By buffer: where a run keeps its value, or -1 for constants and values
  // no instruction computes. Values whose lifetimes do not overlap share a
  // slot.
  std::vector<int64_t> slots_;
  int64_t slot_count_ = 0;
  // The values of ended runs, which later runs reuse.
  std::shared_ptr<ValueStore> store_;

  // ProgramWithErrors, the devices flipped drawn or (with a code) given.
  std::unique_ptr<ChipState>
  ProgramChip(const BitErrors &errors, std::optional<EccCode> ecc,
              const std::vector<std::vector<int64_t>> *device_flips,
              std::mt19937_64 &random) const;

  // Fills fused_ and replaced_ from the program's tiled layers, with the
  // thresholds that alone read them applied by the layers when
  // `thresholds`.
  void ReadTiledLayers(bool thresholds);
  // The thresholds (and bit max poolings) that the fused layers apply.
  void FuseThresholds();
  // Plans for the binarizations that write a fused layer's field lines.
  void PlanBinarizeIntoLines();
  // The fused layer whose fields instruction `instruction` (-1: none) is
  // the im2col of, when they take every one of the `channels` channels of
  // its input and those are whole bytes, so that the input can be kept as
  // the layer's field lines; null otherwise.
  FusedLayer *LinesReader(int instruction, int64_t channels) const;
  // The buffer instruction `instruction` writes when it runs: its own, its
  // plan's or its fused layer's.
  uint32_t WrittenBy(int instruction) const;

  // Instructions before this one read no array.
  int prefix_end_ = 0;
  // By slot: the last instruction that reads it (outputs: never dropped).
  std::vector<int> last_use_;
  // By program input: only instructions of the prefix read it, so a run
  // reads it where the caller holds it instead of copying it.
  std::vector<bool> inputs_in_place_;
};

// Adds every counter of `add` to `total` (the counters are declared once, in
// report.proto).
void AddStats(SimulationStats &total, const SimulationStats &add);

// The number of agreeing bits of two packed rows of `words` words:
// popcount(XNOR) over the `columns` valid bits.
int64_t XnorPopcount(const uint64_t *row, const uint64_t *input, int64_t words,
                     int64_t columns);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_SIMULATOR_H
