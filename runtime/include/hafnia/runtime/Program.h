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

// The most memory a program may ask the simulator for (one run on one
// thread, see EstimateSimulatorMemory): ValidateProgram refuses a program
// above it before anything is allocated. docs/ISA.md, "Limits".
constexpr uint64_t kMaxSimulatorMemoryBytes = uint64_t{4} << 30; // 4 GiB

// What the simulator allocates for a program whose buffer shapes are valid
// (each with at most 2^31 elements): every buffer's values at their width in
// the simulator (f32, i32 and i64 4 or 8 bytes, bits 1 byte) plus
// bookkeeping per buffer and instruction, the chip's array table, the
// programmed arrays' packed images and the tiled layers' packed rows, both
// twice (the error-free chip and one programming with errors).
struct SimulatorMemory {
  uint64_t buffers = 0, arrays = 0, tiled_layers = 0;
  uint64_t total() const { return buffers + arrays + tiled_layers; }
};
SimulatorMemory EstimateSimulatorMemory(const Program &program);

// Checks everything the simulator relies on: format version, chip, buffer
// shapes and types, constant sizes, array images and indices, and for every
// instruction its operands (count, types, shapes, bounds) and that each input
// is defined before it is read, and the memory bound above. Errors name the
// instruction and its layer.
absl::Status ValidateProgram(const Program &program);

// Samples one run of `program` computes: the first axis of its first output
// (1 for a program without inputs, or with a scalar first output).
int64_t SamplesPerRun(const Program &program);

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
    if (!values.empty()) // data() of an empty vector may be null
      std::memcpy(values.data(), data.data(), values.size() * sizeof(float));
  }
  return values;
}

// The instruction stream as text, one instruction per line.
std::string Disassemble(const Program &program);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_PROGRAM_H
