//===- OnnxExport.cpp - Programs as standard ONNX models ------------------===//
//
// Every buffer of the program becomes one ONNX tensor: F32 as it is, BIT as
// float +1/-1, I32 (popcounts) as float. Each instruction becomes the ONNX
// nodes that compute what runtime/lib/Simulator.cpp computes for it, in the
// same f32 operations where the simulator's order of rounding matters
// (batch norm, popcount affine); the binary domain is integer arithmetic on
// floats, exact below 2^24.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Target/OnnxExport.h"

#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/WindowArithmetic.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>

namespace hafnia {
namespace {

using Shape = std::vector<int64_t>;

/// An instruction that has no ONNX translation, with the reason.
struct Unsupported {
  std::string reason;
};

class Exporter {
public:
  Exporter(const Program &program, onnx::ModelProto &model)
      : program(program), model(model), graph(model.mutable_graph()) {}

  std::optional<std::string> run() {
    if (absl::Status status = ValidateProgram(program); !status.ok())
      return "the program is invalid: " + std::string(status.message());
    model.set_ir_version(8); // the IR of opset 17
    model.set_producer_name("hafnia-compile");
    model.set_doc_string("The program compiled by Hafnia for chip '" +
                         program.chip().name() +
                         "', as the error-free chip computes it");
    onnx::OperatorSetIdProto *opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kExportOpsetVersion);
    graph->set_name(program.model().empty() ? "hafnia" : program.model());

    names.resize(program.buffers_size());
    for (int b = 0; b < program.buffers_size(); ++b)
      names[b] = defaultName(b);
    for (const TensorBinding &input : program.inputs()) {
      names[input.buffer()] = input.name();
      addValueInfo(graph->add_input(), input.name(),
                   program.buffers(input.buffer()));
    }
    // An output an instruction computes is named as the program names it;
    // one that is an input or a constant, or a second name of a value, is
    // an Identity.
    std::vector<bool> computed(program.buffers_size(), false);
    for (const Instruction &instruction : program.instructions())
      computed[instruction.output()] = true;
    for (const TensorBinding &output : program.outputs())
      if (computed[output.buffer()] &&
          names[output.buffer()] == defaultName(output.buffer()))
        names[output.buffer()] = output.name();
    for (const Constant &constant : program.constants())
      addRealConstant(constant);
    for (const BitConstant &constant : program.bit_constants())
      addBitConstant(constant);
    for (const ArrayImage &image : program.arrays())
      images[image.array()] = &image;

    for (int i = 0; i < program.instructions_size(); ++i) {
      const Instruction &instruction = program.instructions(i);
      current = i;
      if (std::optional<Unsupported> failure = translate(instruction)) {
        const google::protobuf::FieldDescriptor *kind =
            instruction.GetDescriptor()->FindFieldByNumber(
                instruction.op_case());
        return "instruction " + std::to_string(i) + " (" +
               (kind ? kind->name() : std::string("unset")) + ") of layer '" +
               instruction.layer() +
               "' has no ONNX translation: " + failure->reason;
      }
    }

    for (const TensorBinding &output : program.outputs()) {
      for (const TensorBinding &input : program.inputs())
        if (input.name() == output.name() && input.buffer() != output.buffer())
          return "output '" + output.name() +
                 "' has the name of an input: ONNX names tensors uniquely";
      if (names[output.buffer()] != output.name())
        node("Identity", {names[output.buffer()]}, output.name());
      addValueInfo(graph->add_output(), output.name(),
                   program.buffers(output.buffer()));
    }
    return std::nullopt;
  }

private:
  //===--------------------------------------------------------------------===//
  // Building blocks
  //===--------------------------------------------------------------------===//

  static std::string defaultName(int64_t buffer) {
    return "hafnia/%" + std::to_string(buffer);
  }

  /// Every buffer is a float tensor but an I64 one (arg_max indices), which
  /// is an int64 tensor as ONNX's ArgMax writes it.
  static void addValueInfo(onnx::ValueInfoProto *info, const std::string &name,
                           const Buffer &buffer) {
    info->set_name(name);
    onnx::TypeProto_Tensor *tensor =
        info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(buffer.type() == I64 ? onnx::TensorProto::INT64
                                               : onnx::TensorProto::FLOAT);
    onnx::TensorShapeProto *dims = tensor->mutable_shape();
    for (int64_t dim : ShapeOf(buffer))
      dims->add_dim()->set_dim_value(dim);
  }

  /// A new tensor name for an intermediate result of the current
  /// instruction.
  std::string fresh() {
    return "hafnia/i" + std::to_string(current) + "/" +
           std::to_string(temporaries++);
  }

  /// Adds a node of `op` reading `inputs` and writing `output` (a fresh name
  /// if empty); returns the node.
  onnx::NodeProto *node(const std::string &op,
                        const std::vector<std::string> &inputs,
                        std::string output = "") {
    onnx::NodeProto *n = graph->add_node();
    n->set_op_type(op);
    n->set_name(layer() + "#" + std::to_string(nodes++));
    for (const std::string &input : inputs)
      n->add_input(input);
    n->add_output(output.empty() ? fresh() : output);
    return n;
  }
  const std::string &out(onnx::NodeProto *n) { return n->output(0); }

  std::string layer() const {
    if (current < 0)
      return "hafnia";
    const std::string &name = program.instructions(current).layer();
    return name.empty() ? "instruction" + std::to_string(current) : name;
  }

  static void setInt(onnx::NodeProto *n, const std::string &name,
                     int64_t value) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void setFloat(onnx::NodeProto *n, const std::string &name,
                       float value) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  static void setInts(onnx::NodeProto *n, const std::string &name,
                      const Shape &values) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values)
      a->add_ints(v);
  }
  static void setString(onnx::NodeProto *n, const std::string &name,
                        const std::string &value) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(value);
  }

  onnx::TensorProto *initializer(const std::string &name, const Shape &shape,
                                 int32_t type) {
    onnx::TensorProto *tensor = graph->add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(type);
    for (int64_t dim : shape)
      tensor->add_dims(dim);
    return tensor;
  }
  std::string floats(const Shape &shape, const std::vector<float> &values,
                     std::string name = "") {
    if (name.empty())
      name = fresh();
    initializer(name, shape, onnx::TensorProto::FLOAT)
        ->set_raw_data(
            std::string(reinterpret_cast<const char *>(values.data()),
                        values.size() * sizeof(float)));
    return name;
  }
  std::string scalar(float value) { return floats({}, {value}); }
  std::string ints(const Shape &values) {
    std::string name = fresh();
    initializer(name, {static_cast<int64_t>(values.size())},
                onnx::TensorProto::INT64)
        ->set_raw_data(
            std::string(reinterpret_cast<const char *>(values.data()),
                        values.size() * sizeof(int64_t)));
    return name;
  }
  std::string intTensor(const Shape &shape, const Shape &values) {
    std::string name = fresh();
    initializer(name, shape, onnx::TensorProto::INT64)
        ->set_raw_data(
            std::string(reinterpret_cast<const char *>(values.data()),
                        values.size() * sizeof(int64_t)));
    return name;
  }
  /// Real constants, int8 ones dequantized as the simulator does it (the
  /// f32 product of the scale and the int8 value).
  void addRealConstant(const Constant &constant) {
    floats(ShapeOf(program.buffers(constant.buffer())),
           RealConstantValues(constant), names[constant.buffer()]);
    if (constant.int8())
      graph->mutable_initializer(graph->initializer_size() - 1)
          ->set_doc_string(constant.channel_scales_size()
                               ? "int8 on the chip, one scale per channel"
                               : "int8 on the chip, scale " +
                                     std::to_string(constant.scale()));
  }

  void addBitConstant(const BitConstant &constant) {
    Shape shape = ShapeOf(program.buffers(constant.buffer()));
    std::vector<float> values(NumElements(shape));
    for (size_t e = 0; e < values.size(); ++e)
      values[e] = GetBit(constant.bits(), e) ? 1.0f : -1.0f;
    floats(shape, values, names[constant.buffer()]);
  }

  /// Reshapes a per-channel vector to broadcast along axis 1 of a tensor of
  /// rank `rank`: [C, 1, ...].
  std::string perChannel(const std::string &vector, int64_t channels,
                         size_t rank) {
    if (rank <= 2)
      return vector;
    Shape shape(rank - 1, 1);
    shape[0] = channels;
    return out(node("Reshape", {vector, ints(shape)}));
  }

  /// A per-channel table [C, 1, ...] for a tensor of `shape`, or, with a
  /// border table (channels x border positions), the full [C, inner...]
  /// table in which the border positions take their own values.
  std::string
  channelTable(const Shape &shape, const std::vector<float> &base,
               const google::protobuf::RepeatedField<int64_t> &positions,
               const std::function<float(int64_t)> &border) {
    int64_t channels = shape[1];
    Shape table(shape.begin() + 1, shape.end());
    if (positions.empty()) {
      std::fill(table.begin() + 1, table.end(), 1);
      return floats(table, base);
    }
    int64_t inner = NumElements(table) / channels;
    std::vector<float> values(channels * inner);
    for (int64_t c = 0; c < channels; ++c)
      std::fill(values.begin() + c * inner, values.begin() + (c + 1) * inner,
                base[c]);
    int64_t count = positions.size();
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t b = 0; b < count; ++b)
        values[c * inner + positions[b]] = border(c * count + b);
    return floats(table, values);
  }

  /// +1 where `condition`, -1 elsewhere: bits as floats.
  void bitsOf(const std::string &condition, const std::string &output) {
    node("Where", {condition, scalar(1.0f), scalar(-1.0f)}, output);
  }

  Shape in(const Instruction &i, int k) const {
    return ShapeOf(program.buffers(i.inputs(k)));
  }
  Shape outShape(const Instruction &i) const {
    return ShapeOf(program.buffers(i.output()));
  }
  const std::string &input(const Instruction &i, int k) const {
    return names[i.inputs(k)];
  }
  const std::string &output(const Instruction &i) const {
    return names[i.output()];
  }
  std::vector<std::string> inputs(const Instruction &i) const {
    std::vector<std::string> result;
    for (uint32_t buffer : i.inputs())
      result.push_back(names[buffer]);
    return result;
  }

  static void setWindow(onnx::NodeProto *n, const WindowSpec &spec,
                        bool dilations = true) {
    setInts(n, "kernel_shape", spec.kernel);
    setInts(n, "strides", spec.strides);
    Shape pads = spec.pads_begin;
    pads.insert(pads.end(), spec.pads_end.begin(), spec.pads_end.end());
    setInts(n, "pads", pads);
    if (dilations)
      setInts(n, "dilations", spec.dilations);
  }

  //===--------------------------------------------------------------------===//
  // Instructions
  //===--------------------------------------------------------------------===//

  std::optional<Unsupported> translate(const Instruction &i) {
    switch (i.op_case()) {
    case Instruction::kConv:
      return conv(i);
    case Instruction::kDense:
      return dense(i);
    case Instruction::kBatchNorm:
      return batchNorm(i);
    case Instruction::kActivation:
      return activation(i);
    case Instruction::kPool:
      return pool(i);
    case Instruction::kSoftmax:
      setInt(node(i.softmax().log() ? "LogSoftmax" : "Softmax", inputs(i),
                  output(i)),
             "axis", i.softmax().axis());
      return std::nullopt;
    case Instruction::kElementwise:
      return elementwise(i);
    case Instruction::kReshape:
      node("Reshape", {input(i, 0), ints(outShape(i))}, output(i));
      return std::nullopt;
    case Instruction::kTranspose:
      setInts(node("Transpose", inputs(i), output(i)), "perm",
              Shape(i.transpose().permutation().begin(),
                    i.transpose().permutation().end()));
      return std::nullopt;
    case Instruction::kConcat:
      setInt(node("Concat", inputs(i), output(i)), "axis", i.concat().axis());
      return std::nullopt;
    case Instruction::kPad:
      return pad(i);
    case Instruction::kReduce:
      return reduce(i);
    case Instruction::kLayerNorm:
      return layerNorm(i);
    case Instruction::kSlice:
      return slice(i);
    case Instruction::kGather:
      return gather(i);
    case Instruction::kConvTranspose:
      return convTranspose(i);
    case Instruction::kResize:
      return resize(i);
    case Instruction::kArgMax:
      return argMax(i);
    case Instruction::kHardmax:
      return hardmax(i);
    case Instruction::kBinarize:
      return binarize(i);
    case Instruction::kInputSlice:
      return inputSlice(i);
    case Instruction::kIm2Col:
      return im2col(i);
    case Instruction::kXnorRead:
      return xnorRead(i);
    case Instruction::kAccumulate:
      return accumulate(i);
    case Instruction::kCollect:
      return collect(i);
    case Instruction::kThreshold:
      return threshold(i);
    case Instruction::kPopcountAffine:
      return popcountAffine(i);
    case Instruction::kBitMaxPool: {
      // On +1/-1 values, max is the OR of bits.
      const Instruction::BitMaxPool &p = i.bit_max_pool();
      onnx::NodeProto *n = node("MaxPool", inputs(i), output(i));
      setWindow(n, ResolveWindow(p.window(), in(i, 0).size() - 2));
      setInt(n, "ceil_mode", p.ceil_mode());
      return std::nullopt;
    }
    case Instruction::OP_NOT_SET:
      break;
    }
    return Unsupported{"no operation set"};
  }

  std::optional<Unsupported> conv(const Instruction &i) {
    onnx::NodeProto *n = node("Conv", inputs(i), output(i));
    setWindow(n, ResolveWindow(i.conv().window(), in(i, 1).size() - 2));
    setInt(n, "group", i.conv().group());
    return std::nullopt;
  }

  /// The program's pads are ONNX's (output_shape already resolved into
  /// them), so the output's size is the same formula.
  std::optional<Unsupported> convTranspose(const Instruction &i) {
    const Instruction::ConvTranspose &attrs = i.conv_transpose();
    onnx::NodeProto *n = node("ConvTranspose", inputs(i), output(i));
    setWindow(n, ResolveWindow(attrs.window(), in(i, 1).size() - 2));
    setInt(n, "group", attrs.group());
    if (!attrs.output_padding().empty())
      setInts(
          n, "output_padding",
          Shape(attrs.output_padding().begin(), attrs.output_padding().end()));
    return std::nullopt;
  }

  /// Resize with the program's scales, which ONNX takes as f32; where the
  /// f32 scale would not give the output's size, the sizes instead (ONNX
  /// then computes each scale as out / in, what the importer stored).
  std::optional<Unsupported> resize(const Instruction &i) {
    using R = Instruction::Resize;
    const R &r = i.resize();
    Shape xs = in(i, 0), ys = outShape(i);
    std::vector<float> scales;
    bool sizesNeeded = false;
    for (size_t d = 0; d < xs.size(); ++d) {
      float scale = static_cast<float>(r.scales(d));
      scales.push_back(scale);
      float size = scale * static_cast<float>(xs[d]);
      sizesNeeded |= static_cast<int64_t>(std::floor(size)) != ys[d] ||
                     static_cast<int64_t>(std::floor(
                         static_cast<double>(scale) * xs[d])) != ys[d];
    }
    std::vector<std::string> operands = {input(i, 0), ""};
    if (sizesNeeded) {
      operands.push_back("");
      operands.push_back(ints(ys));
    } else {
      operands.push_back(floats({static_cast<int64_t>(scales.size())}, scales));
    }
    onnx::NodeProto *n = node("Resize", operands, output(i));
    setString(n, "mode",
              r.mode() == R::NEAREST  ? "nearest"
              : r.mode() == R::LINEAR ? "linear"
                                      : "cubic");
    static const std::map<int, const char *> coordinates = {
        {R::HALF_PIXEL, "half_pixel"},
        {R::PYTORCH_HALF_PIXEL, "pytorch_half_pixel"},
        {R::ALIGN_CORNERS, "align_corners"},
        {R::ASYMMETRIC, "asymmetric"},
        {R::TF_HALF_PIXEL_FOR_NN, "tf_half_pixel_for_nn"},
    };
    static const std::map<int, const char *> nearest = {
        {R::ROUND_PREFER_FLOOR, "round_prefer_floor"},
        {R::ROUND_PREFER_CEIL, "round_prefer_ceil"},
        {R::FLOOR, "floor"},
        {R::CEIL, "ceil"},
    };
    auto coordinate = coordinates.find(r.coordinate_mode());
    auto rounding = nearest.find(r.nearest_mode());
    if (coordinate == coordinates.end() || rounding == nearest.end())
      return Unsupported{"an unknown resize mode"};
    setString(n, "coordinate_transformation_mode", coordinate->second);
    setString(n, "nearest_mode", rounding->second);
    setFloat(n, "cubic_coeff_a", r.cubic_coeff_a());
    setInt(n, "exclude_outside", r.exclude_outside());
    return std::nullopt;
  }

  /// ONNX leaves NaN to the runtime; the simulator, as NumPy, selects the
  /// first NaN of a line. Where a line holds one, the result is the ArgMax
  /// of the NaN mask (its first 1), else ArgMax (ArgMin) of the values.
  std::optional<Unsupported> argMax(const Instruction &i) {
    const Instruction::ArgMax &attrs = i.arg_max();
    auto reduction = [&](const char *op, const std::string &x, bool lastIndex) {
      onnx::NodeProto *n = node(op, {x});
      setInt(n, "axis", attrs.axis());
      setInt(n, "keepdims", attrs.keepdims());
      setInt(n, "select_last_index", lastIndex);
      return out(n);
    };
    onnx::NodeProto *mask = node("Cast", {out(node("IsNaN", {input(i, 0)}))});
    setInt(mask, "to", onnx::TensorProto::FLOAT);
    onnx::NodeProto *any = node("ReduceMax", {out(mask)});
    setInts(any, "axes", {attrs.axis()});
    setInt(any, "keepdims", attrs.keepdims());
    std::string firstNan = reduction("ArgMax", out(mask), false);
    std::string plain = reduction(attrs.min() ? "ArgMin" : "ArgMax",
                                  input(i, 0), attrs.select_last_index());
    node("Where",
         {out(node("Greater", {out(any), scalar(0.0f)})), firstNan, plain},
         output(i));
    return std::nullopt;
  }

  /// ONNX's Hardmax selects the first largest element, as the simulator's
  /// `x[k] > x[best]` scan does; NaN, which compares false there, is made
  /// to lose (-inf) except at the first position of a line, where it keeps
  /// the scan at 0 (+inf).
  std::optional<Unsupported> hardmax(const Instruction &i) {
    Shape xs = in(i, 0);
    int64_t axis = i.hardmax().axis();
    Shape shape(xs.size(), 1);
    shape[axis] = xs[axis];
    std::vector<float> fill(xs[axis], -std::numeric_limits<float>::infinity());
    fill[0] = std::numeric_limits<float>::infinity();
    std::string x = out(node("Where", {out(node("IsNaN", {input(i, 0)})),
                                       floats(shape, fill), input(i, 0)}));
    setInt(node("Hardmax", {x}, output(i)), "axis", axis);
    return std::nullopt;
  }

  std::optional<Unsupported> dense(const Instruction &i) {
    const Instruction::Dense &attrs = i.dense();
    // As the simulator: Gemm with transposes or a bias, else NumPy matmul
    // (which has no alpha).
    if (attrs.transpose_lhs() || attrs.transpose_rhs() ||
        i.inputs_size() == 3) {
      onnx::NodeProto *n = node("Gemm", inputs(i), output(i));
      setInt(n, "transA", attrs.transpose_lhs());
      setInt(n, "transB", attrs.transpose_rhs());
      setFloat(n, "alpha", attrs.alpha());
      setFloat(n, "beta", attrs.beta());
      return std::nullopt;
    }
    node("MatMul", inputs(i), output(i));
    return std::nullopt;
  }

  /// The simulator's formula step by step, `(x - mean) / sqrt(variance +
  /// epsilon) * scale + bias` in f32, so that a value next to a binarization
  /// threshold rounds to the same side; BatchNormalization kernels fold it
  /// into one multiply-add.
  std::optional<Unsupported> batchNorm(const Instruction &i) {
    Shape xs = in(i, 0);
    int64_t channels = xs[1];
    auto param = [&](int k) {
      return perChannel(input(i, k), channels, xs.size());
    };
    std::string centered = out(node("Sub", {input(i, 0), param(3)}));
    std::string spread = out(
        node("Sqrt",
             {out(node("Add", {param(4), scalar(i.batch_norm().epsilon())}))}));
    std::string normalized = out(node("Div", {centered, spread}));
    std::string scaled = out(node("Mul", {normalized, param(1)}));
    node("Add", {scaled, param(2)}, output(i));
    return std::nullopt;
  }

  std::optional<Unsupported> activation(const Instruction &i) {
    using A = Instruction::Activation;
    const A &a = i.activation();
    static const std::map<int, const char *> plain = {
        {A::RELU, "Relu"},         {A::SIGN, "Sign"},
        {A::SIGMOID, "Sigmoid"},   {A::TANH, "Tanh"},
        {A::SQRT, "Sqrt"},         {A::RECIPROCAL, "Reciprocal"},
        {A::EXP, "Exp"},           {A::LOG, "Log"},
        {A::NEG, "Neg"},           {A::ABS, "Abs"},
        {A::ERF, "Erf"},           {A::SOFTPLUS, "Softplus"},
        {A::SOFTSIGN, "Softsign"}, {A::HARD_SWISH, "HardSwish"},
        {A::FLOOR, "Floor"},       {A::CEIL, "Ceil"},
        {A::ROUND, "Round"},       {A::SIN, "Sin"},
        {A::COS, "Cos"},           {A::TAN, "Tan"},
        {A::ASIN, "Asin"},         {A::ACOS, "Acos"},
        {A::ATAN, "Atan"},         {A::SINH, "Sinh"},
        {A::COSH, "Cosh"},         {A::ASINH, "Asinh"},
        {A::ACOSH, "Acosh"},       {A::ATANH, "Atanh"},
    };
    if (auto it = plain.find(a.kind()); it != plain.end()) {
      node(it->second, inputs(i), output(i));
      return std::nullopt;
    }
    switch (a.kind()) {
    case A::BIPOLAR:
      bitsOf(out(node("GreaterOrEqual", {input(i, 0), scalar(0.0f)})),
             output(i));
      return std::nullopt;
    case A::CLIP: {
      // An absent bound is an absent input.
      std::vector<std::string> operands = {input(i, 0),
                                           a.has_min() ? scalar(a.min()) : ""};
      if (a.has_max())
        operands.push_back(scalar(a.max()));
      else if (!a.has_min())
        operands.pop_back();
      node("Clip", operands, output(i));
      return std::nullopt;
    }
    case A::HARD_SIGMOID: {
      onnx::NodeProto *n = node("HardSigmoid", inputs(i), output(i));
      setFloat(n, "alpha", a.alpha());
      setFloat(n, "beta", a.beta());
      return std::nullopt;
    }
    case A::LEAKY_RELU:
      setFloat(node("LeakyRelu", inputs(i), output(i)), "alpha", a.alpha());
      return std::nullopt;
    case A::ELU:
      setFloat(node("Elu", inputs(i), output(i)), "alpha", a.alpha());
      return std::nullopt;
    case A::CELU:
      setFloat(node("Celu", inputs(i), output(i)), "alpha", a.alpha());
      return std::nullopt;
    case A::THRESHOLDED_RELU:
      setFloat(node("ThresholdedRelu", inputs(i), output(i)), "alpha",
               a.alpha());
      return std::nullopt;
    case A::SELU: {
      onnx::NodeProto *n = node("Selu", inputs(i), output(i));
      setFloat(n, "alpha", a.alpha());
      setFloat(n, "gamma", a.beta());
      return std::nullopt;
    }
    case A::SHRINK: {
      onnx::NodeProto *n = node("Shrink", inputs(i), output(i));
      setFloat(n, "lambd", a.alpha());
      setFloat(n, "bias", a.beta());
      return std::nullopt;
    }
    default:
      return Unsupported{"activation kind " + std::to_string(a.kind())};
    }
  }

  std::optional<Unsupported> pool(const Instruction &i) {
    const Instruction::Pool &p = i.pool();
    switch (p.kind()) {
    case Instruction::Pool::GLOBAL_AVERAGE:
      node("GlobalAveragePool", inputs(i), output(i));
      return std::nullopt;
    case Instruction::Pool::GLOBAL_MAX:
      node("GlobalMaxPool", inputs(i), output(i));
      return std::nullopt;
    case Instruction::Pool::MAX: {
      onnx::NodeProto *n = node("MaxPool", inputs(i), output(i));
      setWindow(n, ResolveWindow(p.window(), in(i, 0).size() - 2));
      setInt(n, "ceil_mode", p.ceil_mode());
      return std::nullopt;
    }
    case Instruction::Pool::AVERAGE: {
      WindowSpec spec = ResolveWindow(p.window(), in(i, 0).size() - 2);
      for (int64_t d : spec.dilations)
        if (d != 1)
          return Unsupported{"AveragePool has no dilations in opset 17"};
      onnx::NodeProto *n = node("AveragePool", inputs(i), output(i));
      setWindow(n, spec, /*dilations=*/false);
      setInt(n, "ceil_mode", p.ceil_mode());
      setInt(n, "count_include_pad", p.count_include_pad());
      return std::nullopt;
    }
    default:
      return Unsupported{"pool kind " + std::to_string(p.kind())};
    }
  }

  std::optional<Unsupported> elementwise(const Instruction &i) {
    using E = Instruction::Elementwise;
    static const std::map<int, const char *> ops = {
        {E::ADD, "Add"}, {E::SUB, "Sub"}, {E::MUL, "Mul"}, {E::DIV, "Div"},
        {E::POW, "Pow"}, {E::MAX, "Max"}, {E::MIN, "Min"}, {E::PRELU, "PRelu"},
    };
    auto it = ops.find(i.elementwise().kind());
    if (it == ops.end())
      return Unsupported{"elementwise kind " +
                         std::to_string(i.elementwise().kind())};
    node(it->second, inputs(i), output(i));
    return std::nullopt;
  }

  std::optional<Unsupported> pad(const Instruction &i) {
    const Instruction::Pad &p = i.pad();
    const char *mode = p.mode() == Instruction::Pad::REFLECT ? "reflect"
                       : p.mode() == Instruction::Pad::EDGE  ? "edge"
                                                             : "constant";
    std::vector<std::string> operands = {
        input(i, 0), ints(Shape(p.pads().begin(), p.pads().end()))};
    if (p.mode() == Instruction::Pad::CONSTANT ||
        p.mode() == Instruction::Pad::MODE_UNSPECIFIED)
      operands.push_back(scalar(p.value()));
    setString(node("Pad", operands, output(i)), "mode", mode);
    return std::nullopt;
  }

  std::optional<Unsupported> reduce(const Instruction &i) {
    using R = Instruction::Reduce;
    const R &r = i.reduce();
    static const std::map<int, const char *> ops = {
        {R::MEAN, "ReduceMean"},      {R::SUM, "ReduceSum"},
        {R::MAX, "ReduceMax"},        {R::MIN, "ReduceMin"},
        {R::PROD, "ReduceProd"},      {R::L1, "ReduceL1"},
        {R::L2, "ReduceL2"},          {R::SUM_SQUARE, "ReduceSumSquare"},
        {R::LOG_SUM, "ReduceLogSum"}, {R::LOG_SUM_EXP, "ReduceLogSumExp"},
    };
    auto it = ops.find(r.kind());
    if (it == ops.end())
      return Unsupported{"reduce kind " + std::to_string(r.kind())};
    // ONNX reads no axes as all of them; the program as none.
    if (r.axes().empty())
      return Unsupported{"a reduction over no axes"};
    Shape axes(r.axes().begin(), r.axes().end());
    onnx::NodeProto *n;
    if (r.kind() == R::SUM) {
      // Opset 13 moved ReduceSum's axes to an input, the others in 18.
      n = node(it->second, {input(i, 0), ints(axes)}, output(i));
    } else {
      n = node(it->second, inputs(i), output(i));
      setInts(n, "axes", axes);
    }
    setInt(n, "keepdims", r.keepdims());
    return std::nullopt;
  }

  std::optional<Unsupported> layerNorm(const Instruction &i) {
    Shape xs = in(i, 0);
    int64_t axis = i.layer_norm().axis();
    Shape normalized(xs.begin() + axis, xs.end());
    std::vector<std::string> operands = {input(i, 0)};
    // Scale and bias broadcast to the normalized shape, as ONNX kernels
    // want them whole.
    for (int k = 1; k < i.inputs_size(); ++k)
      operands.push_back(
          in(i, k) == normalized
              ? input(i, k)
              : out(node("Expand", {input(i, k), ints(normalized)})));
    onnx::NodeProto *n = node("LayerNormalization", operands, output(i));
    setInt(n, "axis", axis);
    setFloat(n, "epsilon", i.layer_norm().epsilon());
    return std::nullopt;
  }

  std::optional<Unsupported> slice(const Instruction &i) {
    const Instruction::Slice &s = i.slice();
    Shape ys = outShape(i), starts, ends, axes, steps;
    for (size_t d = 0; d < ys.size(); ++d) {
      int64_t start = s.starts(d), step = s.steps(d);
      int64_t end = start + ys[d] * step;
      // A negative end counts from the back in ONNX: past the front is
      // the lowest int64.
      if (step < 0 && end < 0)
        end = std::numeric_limits<int64_t>::min();
      starts.push_back(start);
      ends.push_back(end);
      axes.push_back(d);
      steps.push_back(step);
    }
    node("Slice",
         {input(i, 0), ints(starts), ints(ends), ints(axes), ints(steps)},
         output(i));
    return std::nullopt;
  }

  std::optional<Unsupported> gather(const Instruction &i) {
    const Instruction::Gather &g = i.gather();
    Shape xs = in(i, 0), ys = outShape(i);
    int64_t axis = g.axis();
    int64_t rank = static_cast<int64_t>(ys.size() - xs.size()) + 1;
    Shape indexShape(ys.begin() + axis, ys.begin() + axis + rank);
    setInt(node("Gather",
                {input(i, 0), intTensor(indexShape, Shape(g.indices().begin(),
                                                          g.indices().end()))},
                output(i)),
           "axis", axis);
    return std::nullopt;
  }

  /// x >= 0 (or per channel x >= thresholds[c]) is +1; NaN compares false
  /// and reads -1, as the sense amplifier's rule says.
  std::optional<Unsupported> binarize(const Instruction &i) {
    Shape xs = in(i, 0);
    const auto &thresholds = i.binarize().thresholds();
    std::string limit;
    if (thresholds.empty()) {
      limit = scalar(0.0f);
    } else {
      Shape shape(xs.size() - 1, 1);
      shape[0] = xs[1];
      limit = floats(shape,
                     std::vector<float>(thresholds.begin(), thresholds.end()));
    }
    bitsOf(out(node("GreaterOrEqual", {input(i, 0), limit})), output(i));
    return std::nullopt;
  }

  /// Columns offset .. offset + C of the input; past its end, +1.
  std::optional<Unsupported> inputSlice(const Instruction &i) {
    Shape xs = in(i, 0), ys = outShape(i);
    int64_t offset = i.input_slice().offset();
    int64_t end = std::min(offset + ys[1], xs[1]);
    int64_t padding = offset + ys[1] - std::max(end, offset);
    if (offset >= xs[1]) {
      node("Identity", {floats(ys, std::vector<float>(NumElements(ys), 1.0f))},
           output(i));
      return std::nullopt;
    }
    std::vector<std::string> operands = {input(i, 0), ints({offset}),
                                         ints({end}), ints({1})};
    if (!padding) {
      node("Slice", operands, output(i));
      return std::nullopt;
    }
    std::string columns = out(node("Slice", operands));
    setString(node("Pad", {columns, ints({0, 0, 0, padding}), scalar(1.0f)},
                   output(i)),
              "mode", "constant");
    return std::nullopt;
  }

  /// The receptive fields as one Gather from the flattened input with a +1
  /// column appended, which every padded position reads.
  std::optional<Unsupported> im2col(const Instruction &i) {
    const Instruction::Im2col &attrs = i.im2col();
    Shape xs = in(i, 0);
    int64_t n = xs[0], channels = xs[1];
    bool oneD = xs.size() == 3;
    int64_t height = oneD ? 1 : xs[2], width = xs.back();
    WindowSpec spec = ResolveWindow(attrs.window(), xs.size() - 2);
    // As the simulator's Window2D: 1-D windows have a unit leading axis.
    int64_t kh = oneD ? 1 : spec.kernel[0], kw = spec.kernel.back();
    int64_t sh = oneD ? 1 : spec.strides[0], sw = spec.strides.back();
    int64_t ph = oneD ? 0 : spec.pads_begin[0], pw = spec.pads_begin.back();
    int64_t dh = oneD ? 1 : spec.dilations[0], dw = spec.dilations.back();
    int64_t padH = oneD ? 0 : spec.pads_begin[0] + spec.pads_end[0];
    int64_t padW = spec.pads_begin.back() + spec.pads_end.back();
    int64_t outH = WindowedOutputSize(height, kh, sh, 0, padH, dh, false);
    int64_t outW = WindowedOutputSize(width, kw, sw, 0, padW, dw, false);
    int64_t fanIn = attrs.channels() * kh * kw;
    int64_t area = channels * height * width;
    Shape indices;
    indices.reserve(outH * outW * fanIn);
    for (int64_t oh = 0; oh < outH; ++oh)
      for (int64_t ow = 0; ow < outW; ++ow)
        for (int64_t c = 0; c < attrs.channels(); ++c)
          for (int64_t y = 0; y < kh; ++y)
            for (int64_t x = 0; x < kw; ++x) {
              int64_t ih = WindowInput(oh, y, sh, ph, dh);
              int64_t iw = WindowInput(ow, x, sw, pw, dw);
              bool inside = ih >= 0 && ih < height && iw >= 0 && iw < width;
              indices.push_back(
                  inside
                      ? ((attrs.channel_offset() + c) * height + ih) * width +
                            iw
                      : area);
            }
    std::string flat = out(node("Reshape", {input(i, 0), ints({n, area})}));
    // The padding's column: +1, or -1 when the padding reads -1.
    float padding = attrs.pads_read_minus_one() ? -1.0f : 1.0f;
    std::string ones = floats({n, 1}, std::vector<float>(n, padding));
    onnx::NodeProto *joined = node("Concat", {flat, ones});
    setInt(joined, "axis", 1);
    onnx::NodeProto *fields =
        node("Gather", {out(joined), intTensor({outH * outW, fanIn}, indices)});
    setInt(fields, "axis", 1);
    node("Reshape", {out(fields), ints(outShape(i))}, output(i));
    return std::nullopt;
  }

  /// popcount(XNOR(w, x)) over C columns = (w . x + C) / 2 with +1/-1
  /// values: a MatMul with the array's image, every row of it (a row the
  /// layer does not use is read as the simulator reads it).
  std::optional<Unsupported> xnorRead(const Instruction &i) {
    auto image = images.find(i.xnor_read().array());
    if (image == images.end())
      return Unsupported{"array " + std::to_string(i.xnor_read().array()) +
                         " is not programmed"};
    int64_t rows = program.chip().array().rows();
    int64_t columns = program.chip().array().columns();
    auto weights = arrayWeights.find(image->first);
    if (weights == arrayWeights.end()) {
      // Transposed, [C, R], so that the read is x [B, C] times it.
      std::vector<float> values(columns * rows);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < columns; ++c)
          values[c * rows + r] =
              GetBit(image->second->bits(), r * columns + c) ? 1.0f : -1.0f;
      std::string name = "hafnia/array" + std::to_string(image->first);
      floats({columns, rows}, values, name);
      weights = arrayWeights.emplace(image->first, name).first;
    }
    std::string dot = out(node("MatMul", {input(i, 0), weights->second}));
    std::string twice =
        out(node("Add", {dot, scalar(static_cast<float>(columns))}));
    node("Mul", {twice, scalar(0.5f)}, output(i));
    return std::nullopt;
  }

  std::optional<Unsupported> accumulate(const Instruction &i) {
    int64_t correction = i.accumulate().correction();
    if (!correction) {
      node("Sum", inputs(i), output(i));
      return std::nullopt;
    }
    std::string sum = out(node("Sum", inputs(i)));
    node("Add", {sum, scalar(static_cast<float>(correction))}, output(i));
    return std::nullopt;
  }

  /// The used rows of each row tile, side by side; for a convolution, row
  /// n * P + p of that is [n, :, p] of the result.
  std::optional<Unsupported> collect(const Instruction &i) {
    Shape ys = outShape(i);
    int64_t rows = program.chip().array().rows();
    std::vector<std::string> parts;
    for (int k = 0; k < i.inputs_size(); ++k) {
      int64_t used = i.collect().rows_used(k);
      parts.push_back(used == rows
                          ? input(i, k)
                          : out(node("Slice", {input(i, k), ints({0}),
                                               ints({used}), ints({1})})));
    }
    if (ys.size() == 2) {
      setInt(node("Concat", parts, output(i)), "axis", 1);
      return std::nullopt;
    }
    onnx::NodeProto *joined = node("Concat", parts);
    setInt(joined, "axis", 1);
    int64_t outputs = ys[1], positions = NumElements(ys) / (ys[0] * outputs);
    std::string grouped =
        out(node("Reshape", {out(joined), ints({ys[0], positions, outputs})}));
    onnx::NodeProto *transposed = node("Transpose", {grouped});
    setInts(transposed, "perm", {0, 2, 1});
    node("Reshape", {out(transposed), ints(ys)}, output(i));
    return std::nullopt;
  }

  /// popcount >= threshold, per channel, with the border positions' own
  /// thresholds; where inverted, popcount <= threshold, as -popcount >=
  /// -threshold (negation is exact).
  std::optional<Unsupported> threshold(const Instruction &i) {
    const Instruction::Threshold &attrs = i.threshold();
    Shape xs = in(i, 0);
    int64_t channels = xs[1];
    std::vector<float> sign(channels);
    bool anyInverted = false;
    for (int64_t c = 0; c < channels; ++c) {
      sign[c] = attrs.inverted(c) ? -1.0f : 1.0f;
      anyInverted |= attrs.inverted(c);
    }
    std::vector<float> base(channels);
    for (int64_t c = 0; c < channels; ++c)
      base[c] = sign[c] * static_cast<float>(attrs.thresholds(c));
    int64_t borders = attrs.border_positions_size();
    std::string limit =
        channelTable(xs, base, attrs.border_positions(), [&](int64_t b) {
          return sign[b / borders] *
                 static_cast<float>(attrs.border_thresholds(b));
        });
    std::string counts = input(i, 0);
    if (anyInverted) {
      Shape shape(xs.size() - 1, 1);
      shape[0] = channels;
      counts = out(node("Mul", {counts, floats(shape, sign)}));
    }
    bitsOf(out(node("GreaterOrEqual", {counts, limit})), output(i));
    return std::nullopt;
  }

  /// scale[c] * (2 * popcount - fan_in - offset) + bias[c]: the integer in
  /// exact f32 arithmetic, then the product and the sum, each rounded once
  /// as in the simulator.
  std::optional<Unsupported> popcountAffine(const Instruction &i) {
    const Instruction::PopcountAffine &attrs = i.popcount_affine();
    Shape xs = in(i, 0);
    int64_t channels = xs[1];
    std::vector<float> fanIn(channels, static_cast<float>(attrs.fan_in()));
    std::string subtrahend =
        channelTable(xs, fanIn, attrs.border_positions(), [&](int64_t b) {
          return static_cast<float>(attrs.fan_in() + attrs.border_offsets(b));
        });
    std::string twice = out(node("Mul", {input(i, 0), scalar(2.0f)}));
    std::string centered = out(node("Sub", {twice, subtrahend}));
    Shape shape(xs.size() - 1, 1);
    shape[0] = channels;
    std::string scale = floats(
        shape, std::vector<float>(attrs.scale().begin(), attrs.scale().end()));
    std::string bias = floats(
        shape, std::vector<float>(attrs.bias().begin(), attrs.bias().end()));
    std::string product = out(node("Mul", {centered, scale}));
    node("Add", {product, bias}, output(i));
    return std::nullopt;
  }

  const Program &program;
  onnx::ModelProto &model;
  onnx::GraphProto *graph;
  std::vector<std::string> names;
  std::map<uint32_t, const ArrayImage *> images;
  std::map<uint32_t, std::string> arrayWeights;
  int current = -1;
  int64_t temporaries = 0, nodes = 0;
};

} // namespace

std::optional<std::string> exportProgramToOnnx(const Program &program,
                                               onnx::ModelProto &model) {
  model.Clear();
  return Exporter(program, model).run();
}

} // namespace hafnia
