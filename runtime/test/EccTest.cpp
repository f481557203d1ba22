#include "hafnia/runtime/Ecc.h"

#include <cmath>
#include <random>

#include "hafnia/runtime/DeviceModel.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

uint64_t DataMask(const EccCodeInfo &info) {
  return info.data_bits == 64 ? ~uint64_t{0}
                              : (uint64_t{1} << info.data_bits) - 1;
}

TEST(EccTest, NamesAndSizes) {
  EXPECT_EQ(EccCodeNames(), "hamming-7-4, secded-13-8, secded-22-16, "
                            "secded-39-32, secded-72-64");
  EXPECT_EQ(ParseEccCode("secded-39-32"), EccCode::kSecded3932);
  EXPECT_EQ(ParseEccCode("hamming-8-4"), std::nullopt);
  for (const EccCodeInfo &info : EccCodes()) {
    EXPECT_EQ(InfoOf(info.code).name, info.name);
    // The data fit: every data word survives encoding and decoding.
    EXPECT_EQ(Decode(info.code, Encode(info.code, DataMask(info))).data,
              DataMask(info));
  }
}

// Every data word of the short codes, and random ones of the long codes,
// decode to themselves, and with any one code bit flipped too.
TEST(EccTest, EverySingleErrorIsCorrected) {
  std::mt19937_64 random(1);
  for (const EccCodeInfo &info : EccCodes()) {
    uint64_t words =
        info.data_bits <= 13 ? uint64_t{1} << info.data_bits : 4000;
    for (uint64_t w = 0; w < words; ++w) {
      uint64_t data = info.data_bits <= 13 ? w : random() & DataMask(info);
      CodeWord word = Encode(info.code, data);
      DecodedWord clean = Decode(info.code, word);
      ASSERT_EQ(clean.data, data) << info.name;
      ASSERT_FALSE(clean.uncorrectable);
      for (int b = 0; b < info.code_bits; ++b) {
        DecodedWord read = Decode(info.code, CodeWord(word).flip(b));
        ASSERT_EQ(read.data, data) << info.name << " bit " << b;
        ASSERT_FALSE(read.uncorrectable) << info.name << " bit " << b;
      }
    }
    // The error pattern alone says the same.
    for (int b = 0; b < info.code_bits; ++b)
      EXPECT_EQ(DecodeErrors(info.code, {b}).data, 0u) << info.name;
  }
}

// Every pair of errors: an extended code flags the word; the plain Hamming
// code cannot tell and miscorrects, so some data bit is always wrong.
TEST(EccTest, EveryDoubleErrorIsDetectedWhereTheCodeCan) {
  for (const EccCodeInfo &info : EccCodes())
    for (int a = 0; a < info.code_bits; ++a)
      for (int b = a + 1; b < info.code_bits; ++b) {
        DecodedWord read = DecodeErrors(info.code, {a, b});
        if (info.detects_double_errors) {
          ASSERT_TRUE(read.uncorrectable) << info.name << " " << a << "," << b;
        } else {
          ASSERT_FALSE(read.uncorrectable);
          ASSERT_NE(read.data, 0u) << info.name << " " << a << "," << b;
        }
      }
}

// The rates from the (syndrome, parity) distribution equal a sum over every
// error pattern of the short codes.
TEST(EccTest, DecodedRatesEqualEveryErrorPatternWeighed) {
  for (EccCode code : {EccCode::kHamming74, EccCode::kSecded138}) {
    const EccCodeInfo &info = InfoOf(code);
    for (double p : {0.001, 0.05, 0.3}) {
      double wrong = 0, flagged = 0;
      for (uint32_t pattern = 0; pattern < (1u << info.code_bits); ++pattern) {
        std::vector<int> flipped;
        for (int b = 0; b < info.code_bits; ++b)
          if ((pattern >> b) & 1)
            flipped.push_back(b);
        double weight = std::pow(p, flipped.size()) *
                        std::pow(1 - p, info.code_bits - flipped.size());
        DecodedWord read = DecodeErrors(code, flipped);
        wrong += weight * __builtin_popcountll(read.data);
        flagged += weight * read.uncorrectable;
      }
      DecodedRates rates = DecodedRatesAt(code, p);
      EXPECT_NEAR(rates.data_ber, wrong / info.data_bits, 1e-12)
          << info.name << " p " << p;
      EXPECT_NEAR(rates.uncorrectable_words, flagged, 1e-12)
          << info.name << " p " << p;
    }
  }
}

// The long codes against a Monte Carlo of independent bit flips, within
// five standard deviations of the binomial counts.
TEST(EccTest, DecodedRatesAgreeWithMonteCarlo) {
  std::mt19937_64 random(7);
  for (EccCode code : {EccCode::kSecded3932, EccCode::kSecded7264}) {
    const EccCodeInfo &info = InfoOf(code);
    const double p = 0.02;
    const int64_t words = 200000;
    std::vector<int64_t> flips = SampleFlips(words * info.code_bits, p, random);
    int64_t wrong = 0, flagged = 0;
    for (size_t f = 0; f < flips.size();) {
      int64_t word = flips[f] / info.code_bits;
      std::vector<int> flipped;
      for (; f < flips.size() && flips[f] / info.code_bits == word; ++f)
        flipped.push_back(static_cast<int>(flips[f] % info.code_bits));
      DecodedWord read = DecodeErrors(code, flipped);
      wrong += __builtin_popcountll(read.data);
      flagged += read.uncorrectable;
    }
    DecodedRates rates = DecodedRatesAt(code, p);
    double bits = static_cast<double>(words) * info.data_bits;
    EXPECT_NEAR(wrong / bits, rates.data_ber,
                5 * std::sqrt(rates.data_ber / bits) + 1e-9)
        << info.name;
    EXPECT_NEAR(static_cast<double>(flagged) / words, rates.uncorrectable_words,
                5 * std::sqrt(rates.uncorrectable_words / words))
        << info.name;
    // At 2% a 72-bit word often holds two errors; at 0.1% correction pays.
    EXPECT_LT(DecodedRatesAt(code, 0.001).data_ber, 0.001 / 5) << info.name;
  }
}

TEST(EccTest, SmallRatesFallQuadratically) {
  for (const EccCodeInfo &info : EccCodes()) {
    double low = DecodedRatesAt(info.code, 1e-4).data_ber;
    double lower = DecodedRatesAt(info.code, 1e-5).data_ber;
    // A tenth of the raw rate gives about a hundredth of the errors.
    EXPECT_NEAR(low / lower, 100, 3) << info.name;
    EXPECT_EQ(DecodedRatesAt(info.code, 0).data_ber, 0);
  }
}

// A shortened word (the last of a block): its rates equal a sum over every
// error pattern of its stored devices, decoded as the simulator decodes
// them (DecodeStoredBlock), and a whole word of a block is the full code.
TEST(EccTest, ShortenedWordRatesEqualEveryErrorPatternWeighed) {
  for (auto [code, data_bits] :
       {std::pair{EccCode::kHamming74, 1}, std::pair{EccCode::kHamming74, 3},
        std::pair{EccCode::kSecded138, 3}, std::pair{EccCode::kSecded138, 6}}) {
    const EccCodeInfo &info = InfoOf(code);
    int64_t devices = StoredDevices(code, data_bits);
    ASSERT_EQ(devices, data_bits + info.code_bits - info.data_bits);
    for (double p : {0.01, 0.2}) {
      double wrong = 0, flagged = 0;
      for (uint32_t pattern = 0; pattern < (1u << devices); ++pattern) {
        std::vector<int64_t> flipped;
        for (int64_t d = 0; d < devices; ++d)
          if ((pattern >> d) & 1)
            flipped.push_back(d);
        double weight = std::pow(p, flipped.size()) *
                        std::pow(1 - p, devices - flipped.size());
        StoredBlockErrors errors = DecodeStoredBlock(code, data_bits, flipped);
        wrong += weight * errors.wrong_bits.size();
        flagged += weight * errors.uncorrectable_words;
      }
      DecodedRates rates = DecodedRatesAt(code, p, data_bits);
      EXPECT_NEAR(rates.data_ber, wrong / data_bits, 1e-12)
          << info.name << " " << data_bits << " " << p;
      EXPECT_NEAR(rates.uncorrectable_words, flagged, 1e-12)
          << info.name << " " << data_bits << " " << p;
      ExpectedBlockErrors block =
          ExpectedStoredBlock(code, info.data_bits + data_bits, p);
      DecodedRates full = DecodedRatesAt(code, p);
      EXPECT_NEAR(block.wrong_bits, info.data_bits * full.data_ber + wrong,
                  1e-12);
    }
  }
}

} // namespace
} // namespace hafnia
