// Hamming and extended Hamming (SECDED) codes, built positionally (Ecc.h).

#include "hafnia/runtime/Ecc.h"

#include <algorithm>

#include "absl/strings/str_join.h"

namespace hafnia {
namespace {

// A code's positions: 1..m, parity at the powers of two, data elsewhere.
struct Layout {
  int m = 0;
  // Syndromes lie in [0, 2^parity_bits).
  int parity_bits = 0;
  bool extended = false;
  // Code position of data bit j.
  std::vector<int> data_positions;
};

const Layout &LayoutOf(EccCode code) {
  static const std::vector<Layout> layouts = [] {
    std::vector<Layout> all;
    for (const EccCodeInfo &info : EccCodes()) {
      Layout layout;
      layout.extended = info.detects_double_errors;
      layout.m = info.code_bits - (layout.extended ? 1 : 0);
      for (int position = 1; position <= layout.m; ++position) {
        if ((position & (position - 1)) == 0)
          ++layout.parity_bits;
        else
          layout.data_positions.push_back(position);
      }
      all.push_back(layout);
    }
    return all;
  }();
  return layouts[static_cast<int>(code)];
}

// The code word bit of code position `position` (0: the overall parity of
// an extended code).
int BitOf(const Layout &layout, int position) {
  return layout.extended ? position : position - 1;
}

// What the decoder does for a word with syndrome `syndrome` and overall
// parity `parity` (of an extended code): flip one code position (0: none),
// or flag the word uncorrectable.
struct Correction {
  int position = 0;
  bool uncorrectable = false;
};
Correction CorrectionFor(const Layout &layout, int syndrome, int parity) {
  Correction correction;
  if (layout.extended && parity == 0) {
    // An even number of errors: none, or two (detected).
    correction.uncorrectable = syndrome != 0;
    return correction;
  }
  // A single error, or for a plain Hamming code any number: the syndrome
  // names the position (0 with odd parity: the overall parity bit itself).
  if (syndrome > layout.m)
    correction.uncorrectable = true;
  else
    correction.position = syndrome;
  return correction;
}

} // namespace

const std::vector<EccCodeInfo> &EccCodes() {
  static const std::vector<EccCodeInfo> codes = {
      {EccCode::kHamming74, "hamming-7-4", 7, 4, false},
      {EccCode::kSecded138, "secded-13-8", 13, 8, true},
      {EccCode::kSecded2216, "secded-22-16", 22, 16, true},
      {EccCode::kSecded3932, "secded-39-32", 39, 32, true},
      {EccCode::kSecded7264, "secded-72-64", 72, 64, true},
  };
  return codes;
}

const EccCodeInfo &InfoOf(EccCode code) {
  return EccCodes()[static_cast<int>(code)];
}

std::optional<EccCode> ParseEccCode(absl::string_view name) {
  for (const EccCodeInfo &info : EccCodes())
    if (name == info.name)
      return info.code;
  return std::nullopt;
}

std::string EccCodeNames() {
  std::vector<std::string> names;
  for (const EccCodeInfo &info : EccCodes())
    names.push_back(info.name);
  return absl::StrJoin(names, ", ");
}

double DevicesPerBit(EccCode code) {
  const EccCodeInfo &info = InfoOf(code);
  return static_cast<double>(info.code_bits) / info.data_bits;
}

CodeWord Encode(EccCode code, uint64_t data) {
  const Layout &layout = LayoutOf(code);
  CodeWord word;
  int syndrome = 0;
  for (size_t j = 0; j < layout.data_positions.size(); ++j)
    if ((data >> j) & 1) {
      word.set(BitOf(layout, layout.data_positions[j]));
      syndrome ^= layout.data_positions[j];
    }
  // Each parity bit cancels its share of the syndrome.
  for (int i = 0; i < layout.parity_bits; ++i)
    if ((syndrome >> i) & 1)
      word.set(BitOf(layout, 1 << i));
  if (layout.extended && word.count() % 2)
    word.set(0);
  return word;
}

DecodedWord Decode(EccCode code, const CodeWord &word) {
  const Layout &layout = LayoutOf(code);
  int syndrome = 0;
  for (int position = 1; position <= layout.m; ++position)
    if (word.test(BitOf(layout, position)))
      syndrome ^= position;
  Correction correction =
      CorrectionFor(layout, syndrome, static_cast<int>(word.count() % 2));
  CodeWord corrected = word;
  if (correction.position)
    corrected.flip(BitOf(layout, correction.position));
  DecodedWord decoded;
  decoded.uncorrectable = correction.uncorrectable;
  for (size_t j = 0; j < layout.data_positions.size(); ++j)
    if (corrected.test(BitOf(layout, layout.data_positions[j])))
      decoded.data |= uint64_t{1} << j;
  return decoded;
}

DecodedWord DecodeErrors(EccCode code, const std::vector<int> &flipped) {
  // Linear code: decoding the error pattern alone gives the data errors.
  CodeWord errors;
  for (int bit : flipped)
    errors.flip(bit);
  return Decode(code, errors);
}

DecodedRates DecodedRatesAt(EccCode code, double p) {
  const Layout &layout = LayoutOf(code);
  const int syndromes = 1 << layout.parity_bits;
  // P(syndrome, parity) over the code bits other than `skip` (-1: none).
  auto distribution = [&](int skip) {
    std::vector<double> states(2 * syndromes, 0.0), next(2 * syndromes);
    states[0] = 1;
    for (int position = layout.extended ? 0 : 1; position <= layout.m;
         ++position) {
      if (position == skip)
        continue;
      std::fill(next.begin(), next.end(), 0.0);
      for (int s = 0; s < syndromes; ++s)
        for (int q = 0; q < 2; ++q) {
          double here = states[2 * s + q];
          next[2 * s + q] += here * (1 - p);
          next[2 * (s ^ position) + (q ^ 1)] += here * p;
        }
      states.swap(next);
    }
    return states;
  };
  DecodedRates rates;
  std::vector<double> all = distribution(-1);
  for (int s = 0; s < syndromes; ++s)
    for (int q = 0; q < 2; ++q)
      if (CorrectionFor(layout, s, q).uncorrectable)
        rates.uncorrectable_words += all[2 * s + q];
  // Data bit j is wrong when exactly one of "it flipped" and "the decoder
  // flips it" holds.
  double wrong = 0;
  for (int position : layout.data_positions) {
    std::vector<double> others = distribution(position);
    for (int s = 0; s < syndromes; ++s)
      for (int q = 0; q < 2; ++q) {
        double here = others[2 * s + q];
        if (CorrectionFor(layout, s, q).position == position)
          wrong += here * (1 - p);
        if (CorrectionFor(layout, s ^ position, q ^ 1).position != position)
          wrong += here * p;
      }
  }
  rates.data_ber = wrong / layout.data_positions.size();
  return rates;
}

} // namespace hafnia
