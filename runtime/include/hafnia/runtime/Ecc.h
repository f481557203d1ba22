// Error-correcting codes for weights stored in 1T1R devices, the
// alternative the paper's 2T2R cells are compared with: a Hamming code
// (single-error correction) and extended Hamming codes (SECDED: single-error
// correction, double-error detection). docs/device-model.md.
//
// The codes are built positionally: code positions 1..m, the parity bits at
// the powers of two, each covering the positions whose index has its bit
// set, the data bits at the other positions in order; a SECDED code adds an
// overall parity bit. A word's syndrome is the XOR of the indices of its set
// positions, zero for a codeword. The codes are linear, so what decoding
// does to a word depends only on which of its bits flipped, not on the data.

#ifndef HAFNIA_RUNTIME_ECC_H
#define HAFNIA_RUNTIME_ECC_H

#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace hafnia {

enum class EccCode {
  kHamming74,
  kSecded138,
  kSecded2216,
  kSecded3932,
  kSecded7264,
};

struct EccCodeInfo {
  EccCode code;
  // As --ecc spells it: "hamming-7-4", "secded-13-8", ...
  const char *name;
  int code_bits;
  int data_bits;
  // An extended code: double errors are detected, not miscorrected.
  bool detects_double_errors;
};

// Every code, in the order the options list them.
const std::vector<EccCodeInfo> &EccCodes();
const EccCodeInfo &InfoOf(EccCode code);
// The code `name` spells, or nullopt.
std::optional<EccCode> ParseEccCode(absl::string_view name);
// "hamming-7-4, secded-13-8, ...", for error messages.
std::string EccCodeNames();
// 1T1R devices per stored weight bit: code bits over data bits (2T2R: 2).
double DevicesPerBit(EccCode code);

// A word of up to 72 code bits; bit b is code bit b (SECDED: bit 0 is the
// overall parity, bit i the code position i; Hamming: bit i is position
// i + 1).
using CodeWord = std::bitset<72>;

// The code word that stores `data` (bit j of `data` is data bit j).
CodeWord Encode(EccCode code, uint64_t data);

struct DecodedWord {
  uint64_t data = 0;
  // The decoder found an error it cannot correct (a SECDED double error, or
  // a syndrome that names no position of a shortened code): the data are
  // delivered as read, uncorrected.
  bool uncorrectable = false;
};
// What the decoder delivers for `word` as read.
DecodedWord Decode(EccCode code, const CodeWord &word);

// The data bits that are wrong after decoding a word read with the code
// bits `flipped` flipped (distinct, in [0, code_bits)), as a mask over the
// data bits, and whether the decoder flagged the word uncorrectable.
DecodedWord DecodeErrors(EccCode code, const std::vector<int> &flipped);

// Exact rates when every code bit flips independently with probability
// `p`, from the distribution of (syndrome, parity) computed bit by bit.
struct DecodedRates {
  // Probability that a data bit is wrong after decoding.
  double data_ber = 0;
  // Probability that the decoder flags a word uncorrectable.
  double uncorrectable_words = 0;
};
DecodedRates DecodedRatesAt(EccCode code, double p);
// The same for the code shortened to its first `data_bits` data bits (the
// others are known zeros and not stored; a syndrome naming one of them is
// flagged uncorrectable).
DecodedRates DecodedRatesAt(EccCode code, double p, int data_bits);

// A block of `bits` weight bits (one array's read cells in row-major order)
// stored as code words in 1T1R devices: consecutive words of the code's
// data bits, the last one shortened to the bits left. Its devices, in word
// order, each word's stored code bits in code-bit order.
int64_t StoredWords(EccCode code, int64_t bits);
int64_t StoredDevices(EccCode code, int64_t bits);

// One programming of such a block: each device flips with `plus` when it
// stores a 1 and with `minus` when it stores a 0 (the 1T1R read error
// rates), the words are decoded, and the data bits wrong after decoding are
// the block's errors. `bit(i)` is the block's stored bit i.
struct StoredBlockErrors {
  // Data bits wrong after decoding, sorted.
  std::vector<int64_t> wrong_bits;
  uint64_t device_flips = 0;
  // Words the decoder flagged uncorrectable (used as read).
  uint64_t uncorrectable_words = 0;
};
StoredBlockErrors SampleStoredBlock(EccCode code, int64_t bits,
                                    const std::function<bool(int64_t)> &bit,
                                    double plus, double minus,
                                    std::mt19937_64 &random);
// The same with the devices that flip given: `flipped`, sorted and
// distinct, in [0, StoredDevices(code, bits)).
StoredBlockErrors DecodeStoredBlock(EccCode code, int64_t bits,
                                    const std::vector<int64_t> &flipped);

// Expected data bits wrong after decoding and uncorrectable words of such a
// block when every device flips with `p`.
struct ExpectedBlockErrors {
  double wrong_bits = 0;
  double uncorrectable_words = 0;
};
ExpectedBlockErrors ExpectedStoredBlock(EccCode code, int64_t bits, double p);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_ECC_H
