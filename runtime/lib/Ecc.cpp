// Hamming and extended Hamming (SECDED) codes, built positionally (Ecc.h).

#include "hafnia/runtime/Ecc.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "hafnia/runtime/DeviceModel.h"

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
  // By code position: its data bit, or -1 for a parity position.
  std::vector<int> data_index;
};

const Layout &LayoutOf(EccCode code) {
  static const std::vector<Layout> layouts = [] {
    std::vector<Layout> all;
    for (const EccCodeInfo &info : EccCodes()) {
      Layout layout;
      layout.extended = info.detects_double_errors;
      layout.m = info.code_bits - (layout.extended ? 1 : 0);
      layout.data_index.assign(layout.m + 1, -1);
      for (int position = 1; position <= layout.m; ++position) {
        if ((position & (position - 1)) == 0) {
          ++layout.parity_bits;
        } else {
          layout.data_index[position] = layout.data_positions.size();
          layout.data_positions.push_back(position);
        }
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
// or flag the word uncorrectable. Of a code shortened to `data_bits` data
// bits, a position of a removed data bit is no correction.
struct Correction {
  int position = 0;
  bool uncorrectable = false;
};
Correction CorrectionFor(const Layout &layout, int syndrome, int parity,
                         int data_bits) {
  Correction correction;
  if (layout.extended && parity == 0) {
    // An even number of errors: none, or two (detected).
    correction.uncorrectable = syndrome != 0;
    return correction;
  }
  // A single error, or for a plain Hamming code any number: the syndrome
  // names the position (0 with odd parity: the overall parity bit itself).
  if (syndrome > layout.m || layout.data_index[syndrome] >= data_bits)
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

namespace {

// Decode of a word of the code shortened to `data_bits` data bits.
DecodedWord DecodeShortened(EccCode code, const CodeWord &word, int data_bits) {
  const Layout &layout = LayoutOf(code);
  int syndrome = 0;
  for (int position = 1; position <= layout.m; ++position)
    if (word.test(BitOf(layout, position)))
      syndrome ^= position;
  Correction correction = CorrectionFor(
      layout, syndrome, static_cast<int>(word.count() % 2), data_bits);
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

} // namespace

DecodedWord Decode(EccCode code, const CodeWord &word) {
  return DecodeShortened(code, word, InfoOf(code).data_bits);
}

DecodedWord DecodeErrors(EccCode code, const std::vector<int> &flipped) {
  // Linear code: decoding the error pattern alone gives the data errors.
  CodeWord errors;
  for (int bit : flipped)
    errors.flip(bit);
  return Decode(code, errors);
}

DecodedRates DecodedRatesAt(EccCode code, double p) {
  return DecodedRatesAt(code, p, InfoOf(code).data_bits);
}

DecodedRates DecodedRatesAt(EccCode code, double p, int data_bits) {
  const Layout &layout = LayoutOf(code);
  // Removed data bits never flip.
  auto stored = [&](int position) {
    return position == 0 || layout.data_index[position] < data_bits;
  };
  const int syndromes = 1 << layout.parity_bits;
  // P(syndrome, parity) over the code bits other than `skip` (-1: none).
  auto distribution = [&](int skip) {
    std::vector<double> states(2 * syndromes, 0.0), next(2 * syndromes);
    states[0] = 1;
    for (int position = layout.extended ? 0 : 1; position <= layout.m;
         ++position) {
      if (position == skip || !stored(position))
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
      if (CorrectionFor(layout, s, q, data_bits).uncorrectable)
        rates.uncorrectable_words += all[2 * s + q];
  // Data bit j is wrong when exactly one of "it flipped" and "the decoder
  // flips it" holds.
  double wrong = 0;
  for (int j = 0; j < data_bits; ++j) {
    int position = layout.data_positions[j];
    std::vector<double> others = distribution(position);
    for (int s = 0; s < syndromes; ++s)
      for (int q = 0; q < 2; ++q) {
        double here = others[2 * s + q];
        if (CorrectionFor(layout, s, q, data_bits).position == position)
          wrong += here * (1 - p);
        if (CorrectionFor(layout, s ^ position, q ^ 1, data_bits).position !=
            position)
          wrong += here * p;
      }
  }
  rates.data_ber = wrong / data_bits;
  return rates;
}

int64_t StoredWords(EccCode code, int64_t bits) {
  int64_t k = InfoOf(code).data_bits;
  return (bits + k - 1) / k;
}

int64_t StoredDevices(EccCode code, int64_t bits) {
  const EccCodeInfo &info = InfoOf(code);
  return bits + StoredWords(code, bits) * (info.code_bits - info.data_bits);
}

namespace {

// Where a block's devices lie: word w's at w * code_bits on, the code bits
// it stores in order (all of them; of the shortened last word its parity
// and remaining data bits).
struct BlockLayout {
  int n = 0, k = 0;
  int64_t words = 0;
  int last_data = 0;
  std::vector<int> full, last;

  BlockLayout(EccCode code, int64_t bits) {
    const EccCodeInfo &info = InfoOf(code);
    const Layout &layout = LayoutOf(code);
    n = info.code_bits;
    k = info.data_bits;
    words = StoredWords(code, bits);
    last_data = static_cast<int>(bits - (words - 1) * k);
    auto stored_bits = [&](int data_bits) {
      std::vector<int> stored;
      for (int b = 0; b < n; ++b) {
        int position = layout.extended ? b : b + 1;
        if (position == 0 || layout.data_index[position] < data_bits)
          stored.push_back(b);
      }
      return stored;
    };
    full = stored_bits(k);
    last = stored_bits(last_data);
  }
  int64_t WordOf(int64_t device) const {
    return std::min(device / n, words - 1);
  }
  int DataBitsOf(int64_t word) const {
    return word == words - 1 ? last_data : k;
  }
  // The code bit device `device` of word `word` stores.
  int CodeBitOf(int64_t device, int64_t word) const {
    return (word == words - 1 ? last : full)[device - word * n];
  }
};

} // namespace

StoredBlockErrors DecodeStoredBlock(EccCode code, int64_t bits,
                                    const std::vector<int64_t> &flipped) {
  StoredBlockErrors errors;
  errors.device_flips = flipped.size();
  if (bits == 0)
    return errors;
  const BlockLayout block(code, bits);
  // Each word with flipped devices: its error pattern decoded (the code is
  // linear, so the data bits do not matter).
  for (size_t first = 0; first < flipped.size();) {
    int64_t word = block.WordOf(flipped[first]);
    int data_bits = block.DataBitsOf(word);
    CodeWord pattern;
    size_t next = first;
    for (; next < flipped.size() && block.WordOf(flipped[next]) == word; ++next)
      pattern.flip(block.CodeBitOf(flipped[next], word));
    DecodedWord decoded = DecodeShortened(code, pattern, data_bits);
    errors.uncorrectable_words += decoded.uncorrectable;
    for (int j = 0; j < data_bits; ++j)
      if ((decoded.data >> j) & 1)
        errors.wrong_bits.push_back(word * block.k + j);
    first = next;
  }
  return errors;
}

StoredBlockErrors SampleStoredBlock(EccCode code, int64_t bits,
                                    const std::function<bool(int64_t)> &bit,
                                    double plus, double minus,
                                    std::mt19937_64 &random) {
  if (bits == 0)
    return StoredBlockErrors();
  const BlockLayout block(code, bits);
  const double most = std::max(plus, minus);
  std::vector<int64_t> flipped =
      SampleFlips(StoredDevices(code, bits), most, random);
  if (plus != minus) {
    // Candidates at the larger rate, each kept with its stored value's rate
    // over the larger one (as ProgramWithErrors thins cells); a word is
    // encoded when one of its devices is a candidate.
    std::vector<int64_t> kept;
    int64_t word = -1;
    CodeWord encoded;
    for (int64_t device : flipped) {
      int64_t w = block.WordOf(device);
      if (w != word) {
        word = w;
        uint64_t data = 0;
        for (int j = 0; j < block.DataBitsOf(w); ++j)
          data |= static_cast<uint64_t>(bit(w * block.k + j)) << j;
        encoded = Encode(code, data);
      }
      double rate = encoded.test(block.CodeBitOf(device, w)) ? plus : minus;
      if (rate < most) {
        double u = static_cast<double>(random() >> 11) * 0x1p-53;
        if (!(u * most < rate))
          continue;
      }
      kept.push_back(device);
    }
    flipped.swap(kept);
  }
  return DecodeStoredBlock(code, bits, flipped);
}

ExpectedBlockErrors ExpectedStoredBlock(EccCode code, int64_t bits, double p) {
  const int k = InfoOf(code).data_bits;
  ExpectedBlockErrors expected;
  const int64_t words = StoredWords(code, bits);
  if (words == 0)
    return expected;
  int last_data = static_cast<int>(bits - (words - 1) * k);
  DecodedRates full = DecodedRatesAt(code, p);
  DecodedRates last = DecodedRatesAt(code, p, last_data);
  expected.wrong_bits =
      (words - 1) * k * full.data_ber + last_data * last.data_ber;
  expected.uncorrectable_words =
      (words - 1) * full.uncorrectable_words + last.uncorrectable_words;
  return expected;
}

} // namespace hafnia
