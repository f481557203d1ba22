//===- OnnxExport.h - Programs as standard ONNX models ----------*- C++ -*-===//
//
// Translates a compiled program (runtime/proto/program.proto) into an ONNX
// model of the default domain, opset 17, that computes what the error-free
// chip computes: one ONNX construction per instruction (docs/ISA.md, "The
// program as ONNX"). Bits are float +1/-1 tensors, popcounts float tensors
// (integers, exact below 2^24); an array read is a MatMul of +1/-1 values.
//
//===----------------------------------------------------------------------===//

#ifndef HAFNIA_TARGET_ONNXEXPORT_H
#define HAFNIA_TARGET_ONNXEXPORT_H

#include <optional>
#include <string>

#include "hafnia/proto/program.pb.h"
#include "onnx/onnx_pb.h"

namespace hafnia {

/// The opset of the default domain the exported models import.
constexpr int64_t kExportOpsetVersion = 17;

/// Fills `model` with the ONNX model of `program`, whose graph inputs and
/// outputs have the program's names and shapes. Returns a one-line error
/// naming the instruction and its layer when an instruction has no ONNX
/// translation or the program is invalid; `model` is then incomplete.
std::optional<std::string> exportProgramToOnnx(const Program &program,
                                               onnx::ModelProto &model);

} // namespace hafnia

#endif // HAFNIA_TARGET_ONNXEXPORT_H
