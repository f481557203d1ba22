// Error injection: programming a fresh chip whose cells flip with a bit
// error rate, and the counts of cells read and flipped per array.

#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Simulator.h"
#include "kernels/Kernels.h"

namespace hafnia {

std::unique_ptr<Simulator::ChipState>
Simulator::ProgramWithErrors(double ber, std::mt19937_64 &random) const {
  auto chip = std::make_unique<ChipState>();
  chip->arrays = arrays_;
  chip->flips.assign(arrays_.size(), 0);
  // Arrays in program order, each drawing its flips from the one stream.
  for (const ArrayImage &image : program_.arrays()) {
    PackedArray &array = chip->arrays[image.array()];
    for (int64_t cell :
         SampleFlips(array.rows_used * array.columns, ber, random)) {
      int64_t r = cell / array.columns, c = cell % array.columns;
      array.bits[r * array.words + c / 64] ^= uint64_t{1} << (c % 64);
    }
    chip->flips[image.array()] = 0;
    for (int64_t r = 0; r < array.rows_used; ++r)
      for (int64_t w = 0; w < array.words; ++w)
        chip->flips[image.array()] += __builtin_popcountll(
            array.bits[r * array.words + w] ^
            arrays_[image.array()].bits[r * array.words + w]);
  }
  chip->fused_weights.resize(fused_.size());
  chip->fused_padding_errors.resize(fused_.size());
  for (size_t i = 0; i < fused_.size(); ++i)
    if (fused_[i])
      kernels::BuildTiledRows(
          *fused_[i], chip->arrays, program_.chip().array().columns(),
          chip->fused_weights[i], chip->fused_padding_errors[i]);
  return chip;
}

const std::vector<uint64_t> &Simulator::Flips(const ChipState &chip) {
  return chip.flips;
}

std::vector<uint64_t> Simulator::CellsRead() const {
  std::vector<uint64_t> cells(arrays_.size(), 0);
  for (const ArrayImage &image : program_.arrays())
    cells[image.array()] =
        arrays_[image.array()].rows_used * arrays_[image.array()].columns;
  return cells;
}

} // namespace hafnia
