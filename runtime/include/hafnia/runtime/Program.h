// The program file (.hfp): reading, writing, validating and disassembling.
//
// A file is a 24-byte header followed by a serialized hafnia.Program:
//   bytes 0-7    magic "\x89HFP\r\n\x1a\n" (catches text-mode transfers)
//   bytes 8-11   format version, little-endian uint32 (kProgramFormatVersion)
//   bytes 12-19  payload size in bytes, little-endian uint64
//   bytes 20-23  CRC-32 (zlib) of the payload, little-endian uint32

#ifndef HAFNIA_RUNTIME_PROGRAM_H
#define HAFNIA_RUNTIME_PROGRAM_H

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hafnia/proto/program.pb.h"

namespace hafnia {

// Bumped whenever program.proto changes meaning; a runtime reads only its own.
constexpr uint32_t kProgramFormatVersion = 1;

// The file bytes of a program: header and payload.
std::string SerializeProgram(const Program &program);

// Parses file bytes (from `source`, for messages) and validates the program.
absl::StatusOr<Program> ParseProgram(absl::string_view bytes,
                                     absl::string_view source);

absl::StatusOr<Program> ReadProgram(const std::string &path);

// Writes through a temporary file and a rename: never a half-written file.
absl::Status WriteProgram(const std::string &path, const Program &program);

// Checks everything the simulator relies on: format version, chip, buffer
// shapes and types, constant sizes, array images and indices, and for every
// instruction its operands (count, types, shapes, bounds) and that each input
// is defined before it is read. Errors name the instruction and its layer.
absl::Status ValidateProgram(const Program &program);

// Packs bits LSB first: bit i goes to byte i / 8, bit i % 8.
std::string PackBits(const std::vector<bool> &bits);
inline bool GetBit(absl::string_view packed, int64_t index) {
  return (static_cast<uint8_t>(packed[index / 8]) >> (index % 8)) & 1;
}

// The shape of a buffer.
inline std::vector<int64_t> ShapeOf(const Buffer &buffer) {
  return std::vector<int64_t>(buffer.shape().begin(), buffer.shape().end());
}

// The values of a real constant: f32 data as stored, int8 data dequantized as
// the f32 product of the scale (of its slice of axis 0, with channel_scales)
// and the int8 value.
inline std::vector<float> RealConstantValues(const Constant &constant) {
  const std::string &data = constant.data();
  std::vector<float> values;
  if (constant.int8()) {
    values.resize(data.size());
    size_t channels = constant.channel_scales_size();
    size_t slice = channels ? data.size() / channels : 0;
    for (size_t e = 0; e < data.size(); ++e)
      values[e] =
          (channels ? constant.channel_scales(e / slice) : constant.scale()) *
          static_cast<int8_t>(data[e]);
  } else {
    values.resize(data.size() / 4);
    std::memcpy(values.data(), data.data(), values.size() * sizeof(float));
  }
  return values;
}

// The instruction stream as text, one instruction per line.
std::string Disassemble(const Program &program);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_PROGRAM_H
