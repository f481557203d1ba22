// Error injection: programming a fresh chip whose cells flip with their
// read error rates (by stored value, per array when the arrays vary), and
// the counts of cells read, expected to flip and flipped per array.

#include <algorithm>

#include "hafnia/runtime/DeviceModel.h"
#include "hafnia/runtime/Simulator.h"
#include "kernels/Kernels.h"

namespace hafnia {
namespace {

bool Bit(const Simulator::PackedArray &array, int64_t cell) {
  int64_t r = cell / array.columns, c = cell % array.columns;
  return (array.bits[r * array.words + c / 64] >> (c % 64)) & 1;
}

void Flip(Simulator::PackedArray &array, int64_t cell) {
  int64_t r = cell / array.columns, c = cell % array.columns;
  array.bits[r * array.words + c / 64] ^= uint64_t{1} << (c % 64);
}

// Cells storing +1 (bit 1) among the used rows; unused high bits are zero.
uint64_t OnesRead(const Simulator::PackedArray &array) {
  uint64_t ones = 0;
  for (int64_t w = 0; w < array.rows_used * array.words; ++w)
    ones += __builtin_popcountll(array.bits[w]);
  return ones;
}

} // namespace

std::unique_ptr<Simulator::ChipState>
Simulator::ProgramWithErrors(const BitErrors &errors,
                             std::mt19937_64 &random) const {
  auto chip = std::make_unique<ChipState>();
  chip->arrays = arrays_;
  chip->flips.assign(arrays_.size(), 0);
  // Arrays in program order, each drawing its rates (when the arrays vary)
  // and then its flips from the one stream.
  for (const ArrayImage &image : program_.arrays()) {
    PackedArray &array = chip->arrays[image.array()];
    const int64_t cells = array.rows_used * array.columns;
    ReadErrorRates rates = errors.DrawArrayRates(random);
    if (rates.Symmetric()) {
      for (int64_t cell : SampleFlips(cells, rates.plus, random))
        Flip(array, cell);
    } else {
      // Candidates at the larger rate, each kept with its own value's rate
      // over the larger one: every cell flips with its value's rate.
      const double most = std::max(rates.plus, rates.minus);
      for (int64_t cell : SampleFlips(cells, most, random)) {
        double rate = Bit(array, cell) ? rates.plus : rates.minus;
        if (rate < most) {
          double u = static_cast<double>(random() >> 11) * 0x1p-53;
          if (!(u * most < rate))
            continue;
        }
        Flip(array, cell);
      }
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

std::vector<double> Simulator::ExpectedFlips(const BitErrors &errors) const {
  const ReadErrorRates &rates = errors.rates();
  std::vector<double> expected(arrays_.size(), 0);
  for (const ArrayImage &image : program_.arrays()) {
    const PackedArray &array = arrays_[image.array()];
    uint64_t cells = array.rows_used * array.columns;
    if (rates.Symmetric()) {
      expected[image.array()] = rates.plus * cells;
    } else {
      uint64_t ones = OnesRead(array);
      expected[image.array()] =
          rates.plus * ones + rates.minus * (cells - ones);
    }
  }
  return expected;
}

double Simulator::ExpectedBer(const BitErrors &errors) const {
  const ReadErrorRates &rates = errors.rates();
  if (rates.Symmetric())
    return rates.plus;
  double flips = 0;
  uint64_t cells = 0;
  std::vector<double> expected = ExpectedFlips(errors);
  for (const ArrayImage &image : program_.arrays()) {
    flips += expected[image.array()];
    cells += arrays_[image.array()].rows_used * arrays_[image.array()].columns;
  }
  return cells ? flips / cells : rates.Mean();
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
