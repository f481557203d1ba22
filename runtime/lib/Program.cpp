// Reading, writing and disassembling program files.

#include "hafnia/runtime/Program.h"

#include <zlib.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/stubs/logging.h"
#include "hafnia/runtime/FileIO.h"

namespace hafnia {
namespace {

constexpr char kMagic[8] = {'\x89', 'H', 'F', 'P', '\r', '\n', '\x1a', '\n'};
constexpr size_t kHeaderSize = 24;

template <typename T> void AppendLittleEndian(std::string &out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

template <typename T>
T ReadLittleEndian(absl::string_view bytes, size_t offset) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<T>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  return value;
}

uint32_t Crc32(absl::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes sizes as uInt: feed large payloads in chunks.
  while (!bytes.empty()) {
    size_t chunk = std::min<size_t>(bytes.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef *>(bytes.data()),
                static_cast<uInt>(chunk));
    bytes.remove_prefix(chunk);
  }
  return static_cast<uint32_t>(crc);
}

std::string TypeName(const Program &program, uint32_t buffer) {
  if (buffer >= static_cast<uint32_t>(program.buffers_size()))
    return "?";
  const Buffer &b = program.buffers(buffer);
  const char *type = b.type() == F32 ? "f32" : b.type() == BIT ? "bit" : "i32";
  return absl::StrCat(type, "[", absl::StrJoin(b.shape(), ","), "]");
}

// One field's value for the disassembly.
std::string FormatValue(const google::protobuf::Message &message,
                        const google::protobuf::FieldDescriptor *field,
                        int index);

// `name=value` for every field of an instruction's operation: scalars always
// (zero is a value too), optional ones when set, repeated ones as lists when
// they are not empty.
std::string FormatFields(const google::protobuf::Message &message) {
  const google::protobuf::Descriptor *descriptor = message.GetDescriptor();
  const google::protobuf::Reflection *reflection = message.GetReflection();
  std::vector<std::string> parts;
  for (int f = 0; f < descriptor->field_count(); ++f) {
    const google::protobuf::FieldDescriptor *field = descriptor->field(f);
    if (field->is_repeated()) {
      if (!reflection->FieldSize(message, field))
        continue;
      std::vector<std::string> values;
      for (int i = 0; i < reflection->FieldSize(message, field); ++i)
        values.push_back(FormatValue(message, field, i));
      parts.push_back(
          absl::StrCat(field->name(), "=[", absl::StrJoin(values, ","), "]"));
    } else if (!field->has_presence() || reflection->HasField(message, field)) {
      parts.push_back(
          absl::StrCat(field->name(), "=", FormatValue(message, field, -1)));
    }
  }
  return absl::StrJoin(parts, " ");
}

std::string FormatValue(const google::protobuf::Message &message,
                        const google::protobuf::FieldDescriptor *field,
                        int index) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection *r = message.GetReflection();
  bool repeated = index >= 0;
  switch (field->cpp_type()) {
  case FieldDescriptor::CPPTYPE_INT32:
    return absl::StrCat(repeated ? r->GetRepeatedInt32(message, field, index)
                                 : r->GetInt32(message, field));
  case FieldDescriptor::CPPTYPE_INT64:
    return absl::StrCat(repeated ? r->GetRepeatedInt64(message, field, index)
                                 : r->GetInt64(message, field));
  case FieldDescriptor::CPPTYPE_UINT32:
    return absl::StrCat(repeated ? r->GetRepeatedUInt32(message, field, index)
                                 : r->GetUInt32(message, field));
  case FieldDescriptor::CPPTYPE_UINT64:
    return absl::StrCat(repeated ? r->GetRepeatedUInt64(message, field, index)
                                 : r->GetUInt64(message, field));
  case FieldDescriptor::CPPTYPE_FLOAT:
    return absl::StrCat(repeated ? r->GetRepeatedFloat(message, field, index)
                                 : r->GetFloat(message, field));
  case FieldDescriptor::CPPTYPE_DOUBLE:
    return absl::StrCat(repeated ? r->GetRepeatedDouble(message, field, index)
                                 : r->GetDouble(message, field));
  case FieldDescriptor::CPPTYPE_BOOL:
    return (repeated ? r->GetRepeatedBool(message, field, index)
                     : r->GetBool(message, field))
               ? "true"
               : "false";
  case FieldDescriptor::CPPTYPE_ENUM:
    return (repeated ? r->GetRepeatedEnum(message, field, index)
                     : r->GetEnum(message, field))
        ->name();
  case FieldDescriptor::CPPTYPE_STRING:
    return absl::StrCat("\"",
                        repeated ? r->GetRepeatedString(message, field, index)
                                 : r->GetString(message, field),
                        "\"");
  case FieldDescriptor::CPPTYPE_MESSAGE:
    return absl::StrCat(
        "{",
        FormatFields(repeated ? r->GetRepeatedMessage(message, field, index)
                              : r->GetMessage(message, field)),
        "}");
  }
  return "?";
}

} // namespace

std::string PackBits(const std::vector<bool> &bits) {
  std::string packed((bits.size() + 7) / 8, '\0');
  for (size_t i = 0; i < bits.size(); ++i)
    if (bits[i])
      packed[i / 8] |= static_cast<char>(1 << (i % 8));
  return packed;
}

std::string SerializeProgram(const Program &program) {
  std::string payload;
  program.SerializeToString(&payload);
  std::string bytes(kMagic, sizeof(kMagic));
  AppendLittleEndian<uint32_t>(bytes, kProgramFormatVersion);
  AppendLittleEndian<uint64_t>(bytes, payload.size());
  AppendLittleEndian<uint32_t>(bytes, Crc32(payload));
  bytes += payload;
  return bytes;
}

absl::StatusOr<Program> ParseProgram(absl::string_view bytes,
                                     absl::string_view source) {
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  if (bytes.size() < kHeaderSize ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    return error(
        "not a Hafnia program (.hfp): the header is missing; compile one "
        "with hafnia-compile model.onnx -o model.hfp");
  uint32_t version = ReadLittleEndian<uint32_t>(bytes, 8);
  if (version != kProgramFormatVersion)
    return error(absl::StrCat(
        "program format version ", version, ", this runtime reads version ",
        kProgramFormatVersion, ": recompile the model with this Hafnia"));
  uint64_t size = ReadLittleEndian<uint64_t>(bytes, 12);
  absl::string_view payload = bytes.substr(kHeaderSize);
  if (payload.size() != size)
    return error(absl::StrCat("the file is truncated or has trailing bytes: "
                              "the header announces ",
                              size, " bytes of program, the file holds ",
                              payload.size()));
  if (Crc32(payload) != ReadLittleEndian<uint32_t>(bytes, 20))
    return error("the program is corrupt: its CRC-32 does not match");
  Program program;
  {
    // Protobuf logs why a parse fails (e.g. a string that is not UTF-8) on
    // stderr: the error below is the one line the user sees.
    google::protobuf::LogSilencer quiet;
    if (!program.ParseFromArray(payload.data(),
                                static_cast<int>(payload.size())))
      return error("the program does not parse although its checksum "
                   "matches (a damaged field, or a name that is not UTF-8)");
  }
  if (absl::Status status = ValidateProgram(program); !status.ok())
    return error(status.message());
  return program;
}

absl::StatusOr<Program> ReadProgram(const std::string &path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok())
    return bytes.status();
  return ParseProgram(*bytes, path);
}

int64_t SamplesPerRun(const Program &program) {
  if (program.inputs_size() == 0 || program.outputs_size() == 0)
    return 1;
  const Buffer &output = program.buffers(program.outputs(0).buffer());
  return output.shape_size() == 0 ? 1 : output.shape(0);
}

absl::Status WriteProgram(const std::string &path, const Program &program) {
  return WriteFileAtomically(path, SerializeProgram(program));
}

std::string Disassemble(const Program &program) {
  const ChipConfig &chip = program.chip();
  std::string text = absl::StrCat(
      "; ", program.model(), " for chip '", chip.name(), "': ", chip.arrays(),
      " arrays of ", chip.array().rows(), "x", chip.array().columns(), ", ",
      program.arrays_size(), " programmed, ", program.constants_size(),
      " real constants, ", program.instructions_size(), " instructions\n");
  for (const TensorBinding &input : program.inputs())
    absl::StrAppend(&text, "input %", input.buffer(), " \"", input.name(),
                    "\" : ", TypeName(program, input.buffer()), "\n");
  for (int i = 0; i < program.instructions_size(); ++i) {
    const Instruction &instruction = program.instructions(i);
    const google::protobuf::Reflection *reflection =
        instruction.GetReflection();
    const google::protobuf::FieldDescriptor *op =
        reflection->GetOneofFieldDescriptor(
            instruction, Instruction::descriptor()->FindOneofByName("op"));
    std::string attributes =
        op ? FormatFields(reflection->GetMessage(instruction, op)) : "";
    std::vector<std::string> inputs;
    for (uint32_t input : instruction.inputs())
      inputs.push_back(absl::StrCat("%", input));
    absl::StrAppend(
        &text, absl::StrFormat("%4d", i), "  %", instruction.output(), " = ",
        op ? op->name() : "?", " ", absl::StrJoin(inputs, ", "),
        attributes.empty() ? "" : absl::StrCat(" {", attributes, "}"), " : ",
        TypeName(program, instruction.output()), "  ; ", instruction.layer(),
        "\n");
  }
  for (const TiledLayer &layer : program.tiled_layers())
    absl::StrAppend(
        &text, "tiled_layer \"", layer.layer(), "\" instructions ",
        layer.first_instruction(), "-", layer.collect(), " from %",
        layer.source(), " {fan_in=", layer.fan_in(),
        " outputs=", layer.outputs(), " correction=", layer.correction(),
        "} : ", layer.row_tiles_size(), "x",
        layer.row_tiles_size() ? layer.row_tiles(0).tiles_size() : 0,
        " tiles\n");
  for (const TensorBinding &output : program.outputs())
    absl::StrAppend(&text, "output %", output.buffer(), " \"", output.name(),
                    "\"\n");
  return text;
}

} // namespace hafnia
