// Error injection: programming a fresh chip whose cells flip with their
// read error rates (by stored value, per array when the arrays vary), the
// flips written straight into the fused layers' rows, and the counts of
// cells read, expected to flip and flipped per array.

#include <algorithm>
#include <map>

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

// The factor on array `index`'s rates: the chip's array_ber_multiplier
// (its quality) times the run's own (a sensitivity run's confinement).
double ArrayScale(const ChipConfig &chip, const BitErrors &errors,
                  uint32_t index) {
  double quality = static_cast<int>(index) < chip.array_ber_multiplier_size()
                       ? chip.array_ber_multiplier(index)
                       : 1;
  return quality * errors.ArrayMultiplier(index);
}

} // namespace

std::unique_ptr<Simulator::ChipState>
Simulator::ProgramWithErrors(const BitErrors &errors,
                             std::mt19937_64 &random) const {
  return ProgramWithErrors(errors, std::nullopt, random);
}

std::unique_ptr<Simulator::ChipState>
Simulator::ProgramWithErrors(const BitErrors &errors,
                             std::optional<EccCode> ecc,
                             std::mt19937_64 &random) const {
  return ProgramChip(errors, ecc, nullptr, random);
}

std::unique_ptr<Simulator::ChipState> Simulator::ProgramWithDeviceFlips(
    EccCode ecc, const std::vector<std::vector<int64_t>> &device_flips,
    std::mt19937_64 &random) const {
  return ProgramChip(0.0, ecc, &device_flips, random);
}

std::unique_ptr<Simulator::ChipState>
Simulator::ProgramChip(const BitErrors &errors, std::optional<EccCode> ecc,
                       const std::vector<std::vector<int64_t>> *device_flips,
                       std::mt19937_64 &random) const {
  auto chip = std::make_unique<ChipState>();
  int64_t columns = program_.chip().array().columns();
  // The arrays themselves only when an instruction reads them (a layer not
  // computed on whole rows): the rows of fused layers take the flips
  // directly.
  bool reads_arrays =
      std::any_of(schedule_.begin(), schedule_.end(), [&](int i) {
        return program_.instructions(i).has_xnor_read();
      });
  if (reads_arrays)
    chip->arrays = arrays_;
  // Where each array's cells land in the fused layers' rows: by array
  // number, the (instruction, first neuron, column tile, rows) of its tiles.
  struct Placement {
    size_t instruction;
    int64_t neuron, tile, rows;
  };
  std::vector<std::pair<uint32_t, Placement>> placements;
  chip->fused_weights.resize(fused_.size());
  chip->fused_padding_errors.resize(fused_.size());
  for (size_t i = 0; i < fused_.size(); ++i) {
    const FusedLayer *layer = fused_[i].get();
    if (!layer)
      continue;
    chip->fused_weights[i] = layer->weights;
    std::vector<int32_t> &padding = chip->fused_padding_errors[i];
    padding.assign(layer->outputs, 0);
    int64_t neuron = 0;
    for (size_t t = 0; t < layer->row_tiles.size(); ++t) {
      int64_t used = layer->rows_used[t];
      for (auto [index, tile] : layer->row_tiles[t]) {
        placements.push_back({index, {i, neuron, tile, used}});
        // The error-free chip's padding cells that read -1 (as
        // BuildTiledRows counts them).
        const PackedArray &array = arrays_[index];
        for (int64_t c = std::max<int64_t>(0, layer->fan_in - tile * columns);
             c < columns; ++c)
          for (int64_t r = 0; r < used; ++r)
            padding[neuron + r] +=
                ((array.bits[r * array.words + c / 64] >> (c % 64)) & 1) == 0;
      }
      neuron += used;
    }
  }
  std::sort(placements.begin(), placements.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  chip->flips.assign(program_.arrays_size(), 0);
  if (ecc) {
    chip->device_flips.assign(program_.arrays_size(), 0);
    chip->uncorrectable_words.assign(program_.arrays_size(), 0);
  }
  // Arrays in program order, each drawing its rates (when the arrays vary)
  // and then its flips from the one stream.
  for (int a = 0; a < program_.arrays_size(); ++a) {
    uint32_t index = program_.arrays(a).array();
    const PackedArray &array = arrays_[index];
    ReadErrorRates rates =
        ScaledRates(errors.DrawArrayRates(random),
                    ArrayScale(program_.chip(), errors, index));
    std::vector<int64_t> cells;
    if (ecc) {
      int64_t bits = array.rows_used * array.columns;
      StoredBlockErrors stored =
          device_flips
              ? DecodeStoredBlock(*ecc, bits, (*device_flips)[a])
              : SampleStoredBlock(
                    *ecc, bits, [&](int64_t cell) { return Bit(array, cell); },
                    rates.plus, rates.minus, random);
      chip->device_flips[a] = stored.device_flips;
      chip->uncorrectable_words[a] = stored.uncorrectable_words;
      cells = std::move(stored.wrong_bits);
    } else if (rates.Symmetric()) {
      cells = SampleFlips(array.rows_used * array.columns, rates.plus, random);
    } else {
      // Candidates at the larger rate, each kept with its own value's rate
      // over the larger one: every cell flips with its value's rate.
      const double most = std::max(rates.plus, rates.minus);
      for (int64_t cell :
           SampleFlips(array.rows_used * array.columns, most, random)) {
        double rate = Bit(array, cell) ? rates.plus : rates.minus;
        if (rate < most) {
          double u = static_cast<double>(random() >> 11) * 0x1p-53;
          if (!(u * most < rate))
            continue;
        }
        cells.push_back(cell);
      }
    }
    // Distinct cells: each one flipped.
    chip->flips[a] = cells.size();
    if (cells.empty())
      continue;
    if (reads_arrays)
      for (int64_t cell : cells)
        Flip(chip->arrays[index], cell);
    auto [begin, end] = std::equal_range(
        placements.begin(), placements.end(),
        std::make_pair(index, Placement{}),
        [](const auto &x, const auto &y) { return x.first < y.first; });
    for (auto it = begin; it != end; ++it) {
      const Placement &place = it->second;
      const FusedLayer &layer = *fused_[place.instruction];
      uint64_t *weights = chip->fused_weights[place.instruction].data();
      int32_t *padding = chip->fused_padding_errors[place.instruction].data();
      for (int64_t cell : cells) {
        int64_t r = cell / array.columns, c = cell % array.columns;
        if (r >= place.rows)
          continue;
        int64_t k = place.tile * columns + c;
        if (k < layer.fan_in) {
          int64_t at = layer.BitOf(k);
          weights[(place.neuron + r) * layer.words + at / 64] ^= uint64_t{1}
                                                                 << (at % 64);
        } else {
          // A padding cell reads a +1 input: it now disagrees if it was +1.
          bool was_one = (array.bits[r * array.words + c / 64] >> (c % 64)) & 1;
          padding[place.neuron + r] += was_one ? 1 : -1;
        }
      }
    }
  }
  // The flipped words of each fused layer's rows.
  chip->fused_flipped_words.resize(fused_.size());
  for (size_t i = 0; i < fused_.size(); ++i) {
    const FusedLayer *layer = fused_[i].get();
    if (!layer)
      continue;
    const uint64_t *error_free = layer->weights.data();
    const uint64_t *weights = chip->fused_weights[i].data();
    for (int64_t m = 0; m < layer->outputs; ++m)
      for (int64_t w = 0; w < layer->words; ++w) {
        int64_t e = m * layer->words + w;
        if (uint64_t mask = weights[e] ^ error_free[e])
          chip->fused_flipped_words[i].push_back(
              {m, w, mask, error_free[e] & mask});
      }
  }
  return chip;
}

std::vector<double> Simulator::ExpectedFlips(const BitErrors &errors) const {
  std::vector<double> expected(arrays_.size(), 0);
  for (const ArrayImage &image : program_.arrays()) {
    const PackedArray &array = arrays_[image.array()];
    ReadErrorRates rates = ScaledRates(
        errors.rates(), ArrayScale(program_.chip(), errors, image.array()));
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
  bool alike = true;
  for (const ArrayImage &image : program_.arrays())
    alike = alike && ArrayScale(program_.chip(), errors, image.array()) == 1;
  if (rates.Symmetric() && alike)
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

Simulator::EccExpectation Simulator::ExpectedEccErrors(const BitErrors &errors,
                                                       EccCode ecc) const {
  EccExpectation expected;
  for (auto *counts : {&expected.devices, &expected.words})
    counts->assign(arrays_.size(), 0);
  expected.wrong_bits.assign(arrays_.size(), 0);
  expected.uncorrectable_words.assign(arrays_.size(), 0);
  // Arrays of one size expect the same: computed once per size.
  std::map<uint64_t, ExpectedBlockErrors> by_cells;
  for (const ArrayImage &image : program_.arrays()) {
    const PackedArray &array = arrays_[image.array()];
    uint64_t cells = array.rows_used * array.columns;
    auto [it, added] = by_cells.try_emplace(cells);
    if (added)
      it->second = ExpectedStoredBlock(ecc, cells, errors.rates().Mean());
    expected.devices[image.array()] = StoredDevices(ecc, cells);
    expected.words[image.array()] = StoredWords(ecc, cells);
    expected.wrong_bits[image.array()] = it->second.wrong_bits;
    expected.uncorrectable_words[image.array()] =
        it->second.uncorrectable_words;
  }
  return expected;
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
