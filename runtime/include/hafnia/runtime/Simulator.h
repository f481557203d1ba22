// The chip simulator: programs the arrays of a validated program, then runs
// its instruction stream bit for bit.

#ifndef HAFNIA_RUNTIME_SIMULATOR_H
#define HAFNIA_RUNTIME_SIMULATOR_H

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "hafnia/proto/program.pb.h"
#include "hafnia/proto/report.pb.h"
#include "hafnia/runtime/TensorIO.h"

namespace hafnia {

class Simulator {
public:
  // Programs the arrays of `program`, which must have passed
  // ValidateProgram (ReadProgram and ParseProgram do that).
  struct Options {
    // Compute binary layers on whole rows (FusedLayer); off, every tile is
    // read instruction by instruction. Results and statistics are the same.
    bool fuse_layers = true;
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
    uint32_t source = 0; // the bits all the layer's input slices read
    int64_t fan_in = 0, outputs = 0, words = 0;
    std::vector<uint64_t> weights; // outputs x words
    uint64_t row_reads_per_sample = 0, activations_per_sample = 0,
             digital_ops_per_sample = 0;
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
  // By buffer: where a run keeps its value, or -1 for constants and values
  // no instruction computes.
  std::vector<int64_t> slots_;
  int64_t slot_count_ = 0;

  void FuseLayers();
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
