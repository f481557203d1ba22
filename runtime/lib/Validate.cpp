// Validation of programs: everything the simulator relies on is checked here,
// once, before anything runs, so that a corrupt or foreign file is an error
// and never an out-of-bounds access.

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Limits.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"

namespace hafnia {
namespace {

using Shape = std::vector<int64_t>;

// Buffers above kMaxTensorElements and attributes above kMaxAttribute are
// refused (Limits.h).

// a * b, or nullopt when it overflows int64.
std::optional<int64_t> CheckedProduct(int64_t a, int64_t b) {
  int64_t product;
  if (__builtin_mul_overflow(a, b, &product))
    return std::nullopt;
  return product;
}

// a + b saturating at UINT64_MAX, for the memory estimate.
uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  uint64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}
uint64_t SaturatingProduct(uint64_t a, uint64_t b) {
  uint64_t product;
  return __builtin_mul_overflow(a, b, &product) ? UINT64_MAX : product;
}

std::string ShapeText(const Shape &shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

// Checks one instruction against the buffers it reads and writes.
class InstructionChecker {
public:
  InstructionChecker(const Program &program, int index,
                     const std::set<uint32_t> &arrays)
      : program_(program), instruction_(program.instructions(index)),
        index_(index), arrays_(arrays) {}

  absl::Status Check() {
    for (uint32_t input : instruction_.inputs())
      if (input >= static_cast<uint32_t>(program_.buffers_size()))
        return Error(absl::StrCat("reads buffer ", input, " of ",
                                  program_.buffers_size()));
    if (instruction_.output() >= static_cast<uint32_t>(program_.buffers_size()))
      return Error(absl::StrCat("writes buffer ", instruction_.output(), " of ",
                                program_.buffers_size()));
    switch (instruction_.op_case()) {
    case Instruction::kConv:
      return CheckConv();
    case Instruction::kDense:
      return CheckDense();
    case Instruction::kBatchNorm:
      return CheckBatchNorm();
    case Instruction::kActivation:
      return CheckActivation();
    case Instruction::kPool:
      return CheckPool();
    case Instruction::kSoftmax:
      return CheckSoftmax();
    case Instruction::kElementwise:
      return CheckElementwise();
    case Instruction::kReshape:
      return CheckReshape();
    case Instruction::kBitMaxPool:
      return CheckBitMaxPool();
    case Instruction::kTranspose:
      return CheckTranspose();
    case Instruction::kConcat:
      return CheckConcat();
    case Instruction::kPad:
      return CheckPad();
    case Instruction::kReduce:
      return CheckReduce();
    case Instruction::kLayerNorm:
      return CheckLayerNorm();
    case Instruction::kSlice:
      return CheckSliceOp();
    case Instruction::kGather:
      return CheckGatherOp();
    case Instruction::kConvTranspose:
      return CheckConvTranspose();
    case Instruction::kResize:
      return CheckResize();
    case Instruction::kArgMax:
      return CheckArgMax();
    case Instruction::kHardmax:
      return CheckHardmax();
    case Instruction::kBinarize:
      return CheckBinarize();
    case Instruction::kInputSlice:
      return CheckInputSlice();
    case Instruction::kIm2Col:
      return CheckIm2col();
    case Instruction::kXnorRead:
      return CheckXnorRead();
    case Instruction::kAccumulate:
      return CheckAccumulate();
    case Instruction::kCollect:
      return CheckCollect();
    case Instruction::kThreshold:
      return CheckThreshold();
    case Instruction::kPopcountAffine:
      return CheckPopcountAffine();
    case Instruction::OP_NOT_SET:
      break;
    }
    return Error("has no operation (written by a newer Hafnia?)");
  }

private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("instruction ", index_, " (layer '", instruction_.layer(),
                     "') ", what));
  }
  const Buffer &In(int i) const {
    return program_.buffers(instruction_.inputs(i));
  }
  Shape InShape(int i) const {
    return Shape(In(i).shape().begin(), In(i).shape().end());
  }
  const Buffer &Out() const { return program_.buffers(instruction_.output()); }
  Shape OutShape() const {
    return Shape(Out().shape().begin(), Out().shape().end());
  }

  absl::Status Operands(int minimum, int maximum, ElementType input,
                        ElementType output) const {
    int count = instruction_.inputs_size();
    if (count < minimum || count > maximum)
      return Error(absl::StrCat(
          "has ", count, " operands, expects ", minimum,
          minimum == maximum ? "" : absl::StrCat(" to ", maximum)));
    for (int i = 0; i < count; ++i)
      if (In(i).type() != input)
        return Error(
            absl::StrCat("operand ", i, " has the wrong element type"));
    if (Out().type() != output)
      return Error("writes a buffer of the wrong element type");
    return absl::OkStatus();
  }

  absl::Status ExpectOut(const Shape &expected) const {
    if (OutShape() != expected)
      return Error(absl::StrCat("writes a buffer of shape ",
                                ShapeText(OutShape()), ", expected ",
                                ShapeText(expected)));
    return absl::OkStatus();
  }

  // Every attribute of `window` within [-kMaxAttribute, kMaxAttribute], so
  // the shape arithmetic on it cannot overflow (its signs are checked by
  // WindowedShape and ConvTransposeShape).
  absl::Status CheckWindowRange(const Window &window) const {
    for (const auto *values : {&window.kernel(), &window.strides(),
                               &window.pads(), &window.dilations()})
      for (int64_t value : *values)
        if (value > kMaxAttribute || value < -kMaxAttribute)
          return Error(absl::StrCat("has a window attribute of ", value,
                                    ", beyond the limit of ", kMaxAttribute));
    return absl::OkStatus();
  }

  template <typename T>
  absl::Status Expect(const absl::StatusOr<T> &value) const {
    if (!value.ok())
      return Error(value.status().message());
    return absl::OkStatus();
  }

  absl::Status CheckConv() {
    if (auto s = Operands(2, 3, F32, F32); !s.ok())
      return s;
    const Instruction::Conv &conv = instruction_.conv();
    Shape input = InShape(0), weight = InShape(1);
    if (input.size() != 3 && input.size() != 4)
      return Error("expects a 1-D or 2-D convolution input");
    if (weight.size() != input.size())
      return Error("has a weight of the wrong rank");
    int64_t group = conv.group(), channels = input[1], filters = weight[0];
    if (group < 1 || group > kMaxAttribute || channels % group ||
        filters % group || weight[1] * group != channels)
      return Error("has a group count that does not divide its channels");
    if (instruction_.inputs_size() == 3 && InShape(2) != Shape{filters})
      return Error("has a bias of the wrong shape");
    Shape kernel(weight.begin() + 2, weight.end());
    if (Shape(conv.window().kernel().begin(), conv.window().kernel().end()) !=
        kernel)
      return Error("has a window that does not match its weight");
    if (auto s = CheckWindowRange(conv.window()); !s.ok())
      return s;
    auto spatial = WindowedShape(input, conv.window(), false);
    if (auto s = Expect(spatial); !s.ok())
      return s;
    Shape expected = {input[0], filters};
    expected.insert(expected.end(), spatial->begin(), spatial->end());
    return ExpectOut(expected);
  }

  absl::Status CheckConvTranspose() {
    if (auto s = Operands(2, 3, F32, F32); !s.ok())
      return s;
    const Instruction::ConvTranspose &conv = instruction_.conv_transpose();
    if (conv.group() > kMaxAttribute)
      return Error("has a group count that does not divide its channels");
    if (auto s = CheckWindowRange(conv.window()); !s.ok())
      return s;
    auto expected = ConvTransposeShape(InShape(0), InShape(1),
                                       instruction_.conv_transpose());
    if (auto s = Expect(expected); !s.ok())
      return s;
    if (instruction_.inputs_size() == 3 && InShape(2) != Shape{(*expected)[1]})
      return Error("has a bias of the wrong shape");
    return ExpectOut(*expected);
  }

  absl::Status CheckResize() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    if (absl::Status s =
            CheckResizeShape(InShape(0), OutShape(), instruction_.resize());
        !s.ok())
      return Error(s.message());
    return absl::OkStatus();
  }

  absl::Status CheckArgMax() {
    if (auto s = Operands(1, 1, F32, I64); !s.ok())
      return s;
    auto expected = ArgMaxShape(InShape(0), instruction_.arg_max());
    if (auto s = Expect(expected); !s.ok())
      return s;
    return ExpectOut(*expected);
  }

  absl::Status CheckHardmax() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    Shape input = InShape(0);
    int64_t axis = instruction_.hardmax().axis();
    if (axis < 0 || axis >= static_cast<int64_t>(input.size()))
      return Error("has an axis outside its input's rank");
    return ExpectOut(input);
  }

  absl::Status CheckDense() {
    if (auto s = Operands(2, 3, F32, F32); !s.ok())
      return s;
    const Instruction::Dense &dense = instruction_.dense();
    Shape bias;
    if (instruction_.inputs_size() == 3)
      bias = InShape(2);
    auto expected = DenseShape(InShape(0), InShape(1), dense.transpose_lhs(),
                               dense.transpose_rhs(),
                               instruction_.inputs_size() == 3, bias);
    if (auto s = Expect(expected); !s.ok())
      return s;
    return ExpectOut(*expected);
  }

  absl::Status CheckBatchNorm() {
    if (auto s = Operands(5, 5, F32, F32); !s.ok())
      return s;
    Shape input = InShape(0);
    if (input.size() < 2)
      return Error("expects an input with channels");
    for (int i = 1; i < 5; ++i)
      if (InShape(i) != Shape{input[1]})
        return Error("has per-channel parameters of the wrong shape");
    return ExpectOut(input);
  }

  absl::Status CheckActivation() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    auto kind = instruction_.activation().kind();
    if (kind == Instruction::Activation::KIND_UNSPECIFIED ||
        !Instruction::Activation::Kind_IsValid(kind))
      return Error("has no activation kind this runtime knows");
    return ExpectOut(InShape(0));
  }

  absl::Status CheckPool() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    const Instruction::Pool &pool = instruction_.pool();
    Shape input = InShape(0);
    if (input.size() != 3 && input.size() != 4)
      return Error("expects a 1-D or 2-D pooling input");
    Shape expected = {input[0], input[1]};
    if (pool.kind() == Instruction::Pool::GLOBAL_AVERAGE ||
        pool.kind() == Instruction::Pool::GLOBAL_MAX) {
      expected.resize(input.size(), 1);
      return ExpectOut(expected);
    }
    if (pool.kind() == Instruction::Pool::KIND_UNSPECIFIED ||
        !Instruction::Pool::Kind_IsValid(pool.kind()))
      return Error("has no pooling kind");
    if (auto s = CheckWindowRange(pool.window()); !s.ok())
      return s;
    auto spatial = WindowedShape(input, pool.window(), pool.ceil_mode());
    if (auto s = Expect(spatial); !s.ok())
      return s;
    expected.insert(expected.end(), spatial->begin(), spatial->end());
    return ExpectOut(expected);
  }

  absl::Status CheckSoftmax() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    int64_t axis = instruction_.softmax().axis();
    if (axis < 0 || axis >= static_cast<int64_t>(InShape(0).size()))
      return Error("has a softmax axis out of range");
    return ExpectOut(InShape(0));
  }

  absl::Status CheckElementwise() {
    if (auto s = Operands(2, 2, F32, F32); !s.ok())
      return s;
    auto kind = instruction_.elementwise().kind();
    if (kind == Instruction::Elementwise::KIND_UNSPECIFIED ||
        !Instruction::Elementwise::Kind_IsValid(kind))
      return Error("has no elementwise kind this runtime knows");
    auto expected = BroadcastShape(InShape(0), InShape(1));
    if (auto s = Expect(expected); !s.ok())
      return s;
    return ExpectOut(*expected);
  }

  absl::Status CheckBitMaxPool() {
    if (auto s = Operands(1, 1, BIT, BIT); !s.ok())
      return s;
    const Instruction::BitMaxPool &pool = instruction_.bit_max_pool();
    Shape input = InShape(0);
    if (input.size() != 3 && input.size() != 4)
      return Error("expects a 1-D or 2-D pooling input");
    if (auto s = CheckWindowRange(pool.window()); !s.ok())
      return s;
    auto spatial = WindowedShape(input, pool.window(), pool.ceil_mode());
    if (auto s = Expect(spatial); !s.ok())
      return s;
    Shape expected = {input[0], input[1]};
    expected.insert(expected.end(), spatial->begin(), spatial->end());
    return ExpectOut(expected);
  }

  absl::Status CheckReshape() {
    // Reals stay reals and bits bits.
    ElementType type = instruction_.inputs_size() ? In(0).type() : F32;
    if (auto s =
            Operands(1, 1, type == BIT ? BIT : F32, type == BIT ? BIT : F32);
        !s.ok())
      return s;
    if (NumElements(InShape(0)) != NumElements(OutShape()))
      return Error("reshapes to a different number of elements");
    return absl::OkStatus();
  }

  absl::Status CheckTranspose() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    Shape input = InShape(0), expected;
    const auto &permutation = instruction_.transpose().permutation();
    std::vector<bool> seen(input.size(), false);
    if (permutation.size() != static_cast<int>(input.size()))
      return Error("has a permutation of the wrong size");
    for (int64_t axis : permutation) {
      if (axis < 0 || axis >= static_cast<int64_t>(input.size()) || seen[axis])
        return Error("has an invalid permutation");
      seen[axis] = true;
      expected.push_back(input[axis]);
    }
    return ExpectOut(expected);
  }

  absl::Status CheckConcat() {
    if (auto s = Operands(1, 1 << 20, F32, F32); !s.ok())
      return s;
    Shape expected = InShape(0);
    int64_t axis = instruction_.concat().axis();
    if (axis < 0 || axis >= static_cast<int64_t>(expected.size()))
      return Error("has a concat axis out of range");
    for (int i = 1; i < instruction_.inputs_size(); ++i) {
      Shape shape = InShape(i);
      if (shape.size() != expected.size())
        return Error("concatenates tensors of different ranks");
      for (size_t d = 0; d < shape.size(); ++d) {
        if (static_cast<int64_t>(d) == axis)
          expected[d] += shape[d];
        else if (shape[d] != expected[d])
          return Error("concatenates tensors that differ off the axis");
      }
    }
    return ExpectOut(expected);
  }

  absl::Status CheckPad() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    for (int64_t pad : instruction_.pad().pads())
      if (pad > kMaxAttribute)
        return Error(absl::StrCat("has a pad of ", pad,
                                  ", beyond the limit of ", kMaxAttribute));
    auto expected = PadShape(InShape(0), instruction_.pad());
    if (auto s = Expect(expected); !s.ok())
      return s;
    return ExpectOut(*expected);
  }

  absl::Status CheckReduce() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    auto expected = ReduceShape(InShape(0), instruction_.reduce());
    if (auto s = Expect(expected); !s.ok())
      return s;
    return ExpectOut(*expected);
  }

  absl::Status CheckLayerNorm() {
    if (auto s = Operands(2, 3, F32, F32); !s.ok())
      return s;
    Shape input = InShape(0);
    int64_t axis = instruction_.layer_norm().axis();
    if (axis < 0 || axis >= static_cast<int64_t>(input.size()))
      return Error("has a normalization axis out of range");
    Shape normalized(input.begin() + axis, input.end());
    for (int i = 1; i < instruction_.inputs_size(); ++i) {
      auto broadcast = BroadcastShape(normalized, InShape(i));
      if (!broadcast.ok() || *broadcast != normalized)
        return Error("has a scale or bias that does not broadcast to the "
                     "normalized shape");
    }
    return ExpectOut(input);
  }

  absl::Status CheckSliceOp() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    if (absl::Status s =
            CheckSlice(InShape(0), OutShape(), instruction_.slice());
        !s.ok())
      return Error(s.message());
    return absl::OkStatus();
  }

  absl::Status CheckGatherOp() {
    if (auto s = Operands(1, 1, F32, F32); !s.ok())
      return s;
    if (absl::Status s =
            CheckGather(InShape(0), OutShape(), instruction_.gather());
        !s.ok())
      return Error(s.message());
    return absl::OkStatus();
  }

  absl::Status CheckBinarize() {
    if (auto s = Operands(1, 1, F32, BIT); !s.ok())
      return s;
    Shape input = InShape(0);
    int thresholds = instruction_.binarize().thresholds_size();
    if (thresholds && (input.size() < 2 || input[1] != thresholds))
      return Error(absl::StrCat("has ", thresholds,
                                " thresholds, not one per input channel"));
    return ExpectOut(input);
  }

  absl::Status CheckInputSlice() {
    if (auto s = Operands(1, 1, BIT, BIT); !s.ok())
      return s;
    Shape input = InShape(0);
    int64_t offset = instruction_.input_slice().offset();
    if (input.size() != 2 || offset < 0 || offset >= input[1])
      return Error("slices outside its B x K input");
    return ExpectOut({input[0], program_.chip().array().columns()});
  }

  absl::Status CheckIm2col() {
    if (auto s = Operands(1, 1, BIT, BIT); !s.ok())
      return s;
    const Instruction::Im2col &im2col = instruction_.im2col();
    Shape input = InShape(0);
    if (input.size() != 3 && input.size() != 4)
      return Error("expects 1-D or 2-D convolution input bits");
    int64_t offset = im2col.channel_offset(), channels = im2col.channels();
    if (offset < 0 || channels < 1 || offset > input[1] ||
        channels > input[1] - offset)
      return Error("reads channels outside its input");
    if (auto s = CheckWindowRange(im2col.window()); !s.ok())
      return s;
    auto spatial = WindowedShape(input, im2col.window(), false);
    if (auto s = Expect(spatial); !s.ok())
      return s;
    // Overflow-safe: a product beyond int64 cannot match the output buffer.
    std::optional<int64_t> fan_in = channels, patches = input[0];
    for (int64_t k : im2col.window().kernel())
      if (fan_in)
        fan_in = CheckedProduct(*fan_in, k);
    for (int64_t size : *spatial)
      if (patches)
        patches = CheckedProduct(*patches, size);
    if (!fan_in || !patches)
      return Error("has more patches or a larger fan-in than any buffer");
    return ExpectOut({*patches, *fan_in});
  }

  absl::Status CheckXnorRead() {
    if (auto s = Operands(1, 1, BIT, I32); !s.ok())
      return s;
    if (!arrays_.count(instruction_.xnor_read().array()))
      return Error(absl::StrCat("reads array ",
                                instruction_.xnor_read().array(),
                                ", which the program does not program"));
    Shape input = InShape(0);
    if (input.size() != 2 || input[1] != program_.chip().array().columns())
      return Error("reads input slices of the wrong width");
    return ExpectOut({input[0], program_.chip().array().rows()});
  }

  absl::Status CheckAccumulate() {
    if (auto s = Operands(1, 1 << 20, I32, I32); !s.ok())
      return s;
    for (int i = 1; i < instruction_.inputs_size(); ++i)
      if (InShape(i) != InShape(0))
        return Error("accumulates partial popcounts of different shapes");
    if (instruction_.accumulate().correction() > 0)
      return Error("has a positive correction");
    return ExpectOut(InShape(0));
  }

  absl::Status CheckCollect() {
    if (auto s = Operands(1, 1 << 20, I32, I32); !s.ok())
      return s;
    const auto &rows_used = instruction_.collect().rows_used();
    if (rows_used.size() != instruction_.inputs_size())
      return Error("has one rows_used entry per row tile missing");
    Shape tile = InShape(0);
    int64_t rows = program_.chip().array().rows(), outputs = 0;
    if (tile.size() != 2 || tile[1] != rows)
      return Error("collects row tiles of the wrong shape");
    for (int i = 0; i < instruction_.inputs_size(); ++i) {
      if (InShape(i) != tile)
        return Error("collects row tiles of different shapes");
      if (rows_used[i] < 1 || rows_used[i] > rows)
        return Error("uses more rows than an array has");
      outputs += rows_used[i];
    }
    Shape out = OutShape();
    if (out.size() < 2 || out[1] != outputs ||
        out[0] * NumElements(Shape(out.begin() + 2, out.end())) != tile[0])
      return Error("collects into a buffer of the wrong shape");
    return absl::OkStatus();
  }

  absl::Status CheckThreshold() {
    if (auto s = Operands(1, 1, I32, BIT); !s.ok())
      return s;
    const Instruction::Threshold &threshold = instruction_.threshold();
    Shape input = InShape(0);
    if (input.size() < 2 || threshold.thresholds_size() != input[1] ||
        threshold.inverted_size() != input[1] || threshold.fan_in() < 1 ||
        threshold.fan_in() > kMaxAttribute)
      return Error("has thresholds that do not match its channels");
    for (int32_t value : threshold.thresholds())
      if (value < -1 || value > threshold.fan_in() + 1)
        return Error("has a threshold outside [-1, fan_in + 1]");
    for (int32_t value : threshold.border_thresholds())
      if (value < -1 || value > threshold.fan_in() + 1)
        return Error("has a border threshold outside [-1, fan_in + 1]");
    if (auto s = CheckBorder(input, threshold.border_positions(),
                             threshold.border_thresholds_size());
        !s.ok())
      return s;
    return ExpectOut(input);
  }

  absl::Status CheckPopcountAffine() {
    if (auto s = Operands(1, 1, I32, F32); !s.ok())
      return s;
    const Instruction::PopcountAffine &affine = instruction_.popcount_affine();
    Shape input = InShape(0);
    if (input.size() < 2 || affine.scale_size() != input[1] ||
        affine.bias_size() != input[1] || affine.fan_in() < 1 ||
        affine.fan_in() > kMaxAttribute)
      return Error("has an affine that does not match its channels");
    if (auto s = CheckBorder(input, affine.border_positions(),
                             affine.border_offsets_size());
        !s.ok())
      return s;
    return ExpectOut(input);
  }

  // Border positions increasing within a channel's spatial size, and one
  // table entry per channel and border position.
  absl::Status
  CheckBorder(const Shape &input,
              const google::protobuf::RepeatedField<int64_t> &positions,
              int table) const {
    int64_t spatial =
        input[0] * input[1] ? NumElements(input) / (input[0] * input[1]) : 0;
    for (int i = 0; i < positions.size(); ++i)
      if (positions[i] < 0 || positions[i] >= spatial ||
          (i > 0 && positions[i] <= positions[i - 1]))
        return Error("has border positions outside its output or unsorted");
    if (table != input[1] * positions.size())
      return Error("has a border table that does not match its channels and "
                   "border positions");
    return absl::OkStatus();
  }

  const Program &program_;
  const Instruction &instruction_;
  int index_;
  const std::set<uint32_t> &arrays_;
};

// The tiled layers, after everything else is valid: each names a range of
// instructions that is exactly its slices, reads, sums and collect, over
// arrays and column tiles that cover the layer once per row tile, with the
// padding correction, and read by nothing outside but through the collect.
class TiledLayerChecker {
public:
  explicit TiledLayerChecker(const Program &program)
      : program_(program), producer_(program.buffers_size(), -1),
        owner_(program.instructions_size(), -1) {
    for (int i = 0; i < program.instructions_size(); ++i)
      producer_[program.instructions(i).output()] = i;
  }

  absl::Status Check() {
    int64_t previous_end = -1;
    for (int n = 0; n < program_.tiled_layers_size(); ++n) {
      if (absl::Status s = CheckLayer(n, previous_end); !s.ok())
        return s;
      previous_end = program_.tiled_layers(n).collect();
    }
    // Only a collect's result leaves its layer.
    for (int i = 0; i < program_.instructions_size(); ++i)
      for (uint32_t input : program_.instructions(i).inputs())
        if (absl::Status s =
                CheckEscape(input, owner_[i], absl::StrCat("instruction ", i));
            !s.ok())
          return s;
    for (const TensorBinding &output : program_.outputs())
      if (absl::Status s =
              CheckEscape(output.buffer(), -1,
                          absl::StrCat("output '", output.name(), "'"));
          !s.ok())
        return s;
    return absl::OkStatus();
  }

private:
  absl::Status Error(int n, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("tiled layer ", n, " ('", program_.tiled_layers(n).layer(),
                     "'): ", what));
  }

  // The instruction of layer `n` that writes `buffer` with operation `op`,
  // or -1.
  int Member(int n, uint32_t buffer, Instruction::OpCase op) const {
    int i = producer_[buffer];
    return i >= 0 && owner_[i] == n && program_.instructions(i).op_case() == op
               ? i
               : -1;
  }

  absl::Status CheckLayer(int n, int64_t previous_end) {
    const TiledLayer &layer = program_.tiled_layers(n);
    int64_t count = program_.instructions_size();
    if (layer.collect() >= count ||
        !program_.instructions(layer.collect()).has_collect())
      return Error(n, absl::StrCat("collect ", layer.collect(),
                                   " is not a collect instruction"));
    if (static_cast<int64_t>(layer.first_instruction()) <= previous_end ||
        layer.first_instruction() > layer.collect())
      return Error(n,
                   absl::StrCat("first_instruction ", layer.first_instruction(),
                                " is not after the previous tiled layer "
                                "and at most its collect"));
    for (uint32_t i = layer.first_instruction(); i <= layer.collect(); ++i)
      owner_[i] = n;
    if (layer.source() >= static_cast<uint32_t>(program_.buffers_size()))
      return Error(n, absl::StrCat("source ", layer.source(), " is not one of ",
                                   program_.buffers_size(), " buffers"));
    const Buffer &source = program_.buffers(layer.source());
    int source_producer = producer_[layer.source()];
    if (source.type() != BIT || source.shape_size() != 2 ||
        source.shape(1) != layer.fan_in() || layer.fan_in() < 1 ||
        (source_producer >= 0 && owner_[source_producer] == n))
      return Error(n, absl::StrCat("source ", layer.source(),
                                   " is not B x fan_in (", layer.fan_in(),
                                   ") bits computed before the layer"));
    int64_t columns = program_.chip().array().columns();
    int64_t column_tiles = (layer.fan_in() + columns - 1) / columns;
    if (layer.correction() != -(column_tiles * columns - layer.fan_in()))
      return Error(n, absl::StrCat("correction ", layer.correction(),
                                   " is not minus the ",
                                   column_tiles * columns - layer.fan_in(),
                                   " padded columns"));
    const Instruction &collect = program_.instructions(layer.collect());
    if (layer.row_tiles_size() != collect.inputs_size())
      return Error(n, absl::StrCat("has ", layer.row_tiles_size(),
                                   " row_tiles, its collect joins ",
                                   collect.inputs_size()));
    std::set<int> members = {static_cast<int>(layer.collect())};
    int64_t outputs = 0;
    for (int r = 0; r < layer.row_tiles_size(); ++r) {
      const TiledLayer::RowTile &row = layer.row_tiles(r);
      std::string where = absl::StrCat("row_tiles[", r, "]");
      if (row.rows_used() != collect.collect().rows_used(r))
        return Error(n, absl::StrCat(where, ".rows_used ", row.rows_used(),
                                     " is not its collect's ",
                                     collect.collect().rows_used(r)));
      outputs += row.rows_used();
      int sum = Member(n, collect.inputs(r), Instruction::kAccumulate);
      if (sum < 0 || !members.insert(sum).second)
        return Error(n, absl::StrCat(where, " is not summed by an accumulate "
                                            "of its own in the layer"));
      const Instruction &accumulate = program_.instructions(sum);
      if (accumulate.accumulate().correction() != layer.correction())
        return Error(n, absl::StrCat(where, ": instruction ", sum,
                                     " has correction ",
                                     accumulate.accumulate().correction(),
                                     ", the layer ", layer.correction()));
      if (row.tiles_size() != column_tiles ||
          accumulate.inputs_size() != column_tiles)
        return Error(
            n, absl::StrCat(where, " has ", row.tiles_size(),
                            " tiles and sums ", accumulate.inputs_size(),
                            ", the layer has ", column_tiles, " column tiles"));
      std::vector<bool> seen(column_tiles, false);
      for (int t = 0; t < row.tiles_size(); ++t) {
        const TiledLayer::Tile &tile = row.tiles(t);
        std::string at = absl::StrCat(where, ".tiles[", t, "]");
        if (tile.column_tile() >= column_tiles || seen[tile.column_tile()])
          return Error(n, absl::StrCat(at, ".column_tile ", tile.column_tile(),
                                       " is not a column tile of ",
                                       column_tiles, " not yet read"));
        seen[tile.column_tile()] = true;
        int read = Member(n, accumulate.inputs(t), Instruction::kXnorRead);
        if (read < 0 || !members.insert(read).second)
          return Error(n, absl::StrCat(at, " is not read by an xnor_read of "
                                           "its own in the layer"));
        if (program_.instructions(read).xnor_read().array() != tile.array())
          return Error(
              n, absl::StrCat(at, ".array ", tile.array(), " is not array ",
                              program_.instructions(read).xnor_read().array(),
                              " that instruction ", read, " reads"));
        int slice = Member(n, program_.instructions(read).inputs(0),
                           Instruction::kInputSlice);
        if (slice < 0 ||
            program_.instructions(slice).inputs(0) != layer.source() ||
            program_.instructions(slice).input_slice().offset() !=
                tile.column_tile() * columns)
          return Error(n, absl::StrCat(at, " does not read column tile ",
                                       tile.column_tile(),
                                       " of the source through an "
                                       "input_slice in the layer"));
        members.insert(slice);
      }
    }
    if (outputs != layer.outputs())
      return Error(n, absl::StrCat("outputs ", layer.outputs(),
                                   " is not the row tiles' ", outputs));
    if (static_cast<int64_t>(members.size()) !=
        layer.collect() - layer.first_instruction() + 1)
      return Error(n, absl::StrCat("instructions ", layer.first_instruction(),
                                   " to ", layer.collect(), " hold ",
                                   layer.collect() - layer.first_instruction() +
                                       1 - members.size(),
                                   " that are not the layer's"));
    return absl::OkStatus();
  }

  // A buffer read by `reader` (of tiled layer `reader_layer`, or -1) is not
  // an intermediate result of another tiled layer.
  absl::Status CheckEscape(uint32_t buffer, int reader_layer,
                           absl::string_view reader) const {
    int i = producer_[buffer];
    if (i < 0 || owner_[i] < 0 || owner_[i] == reader_layer ||
        program_.tiled_layers(owner_[i]).collect() == static_cast<uint32_t>(i))
      return absl::OkStatus();
    return Error(owner_[i], absl::StrCat(reader, " reads buffer ", buffer,
                                         " that instruction ", i,
                                         " computes inside the layer"));
  }

  const Program &program_;
  // By buffer: the instruction that writes it, or -1.
  std::vector<int> producer_;
  // By instruction: the tiled layer it belongs to, or -1.
  std::vector<int> owner_;
};

} // namespace

SimulatorMemory EstimateSimulatorMemory(const Program &program) {
  SimulatorMemory memory;
  // Values (reals, bits, counts and constants by slot or buffer) and the
  // vectors that hold them, per buffer; plans and fused records per
  // instruction.
  constexpr uint64_t kPerBuffer = 8 * sizeof(std::vector<float>);
  constexpr uint64_t kPerInstruction = 32;
  for (const Buffer &buffer : program.buffers()) {
    uint64_t elements = 1;
    for (int64_t dim : buffer.shape())
      elements = SaturatingProduct(elements, dim < 0 ? 0 : uint64_t(dim));
    uint64_t width = buffer.type() == BIT ? 1 : buffer.type() == I64 ? 8 : 4;
    memory.buffers = SaturatingAdd(
        memory.buffers,
        SaturatingAdd(SaturatingProduct(elements, width), kPerBuffer));
  }
  memory.buffers = SaturatingAdd(
      memory.buffers,
      SaturatingProduct(program.instructions_size(), kPerInstruction));
  const ChipConfig &chip = program.chip();
  // The table of every array of the chip (its cycles and flips too), and
  // each programmed array's rows packed into 64-bit words, twice.
  uint64_t words = (uint64_t{chip.array().columns()} + 63) / 64;
  uint64_t image = SaturatingProduct(chip.array().rows(), words * 8);
  memory.arrays = SaturatingAdd(
      SaturatingProduct(chip.arrays(), 3 * sizeof(std::vector<uint64_t>) + 64),
      SaturatingProduct(program.arrays_size(), 2 * image));
  for (const TiledLayer &layer : program.tiled_layers()) {
    uint64_t row =
        ((layer.fan_in() < 0 ? 0 : uint64_t(layer.fan_in())) + 63) / 64 * 8;
    memory.tiled_layers = SaturatingAdd(
        memory.tiled_layers,
        SaturatingProduct(
            2 * (layer.outputs() < 0 ? 0 : uint64_t(layer.outputs())), row));
  }
  return memory;
}

absl::Status ValidateProgram(const Program &program) {
  if (program.format_version() != kProgramFormatVersion)
    return absl::InvalidArgumentError(
        absl::StrCat("program format version ", program.format_version(),
                     ", this runtime reads version ", kProgramFormatVersion));
  if (absl::Status status = ValidateChipConfig(program.chip()); !status.ok())
    return absl::InvalidArgumentError(absl::StrCat("chip: ", status.message()));
  for (int i = 0; i < program.buffers_size(); ++i) {
    const Buffer &buffer = program.buffers(i);
    if (buffer.type() != F32 && buffer.type() != BIT && buffer.type() != I32 &&
        buffer.type() != I64)
      return absl::InvalidArgumentError(
          absl::StrCat("buffer ", i, " has no element type"));
    // The product of the non-zero dimensions, so that a zero dimension
    // does not let the others grow without bound.
    int64_t elements = 1;
    for (int64_t dim : buffer.shape()) {
      if (dim < 0 || (dim > 0 && elements > kMaxTensorElements / dim))
        return absl::InvalidArgumentError(absl::StrCat(
            "buffer ", i, " ('", buffer.name(), "') has shape ",
            ShapeText(Shape(buffer.shape().begin(), buffer.shape().end())),
            ": dimensions must be >= 0 with at most ", kMaxTensorElements,
            " elements"));
      if (dim > 0)
        elements *= dim;
    }
  }
  auto valid_buffer = [&](uint32_t buffer) {
    return buffer < static_cast<uint32_t>(program.buffers_size());
  };

  // What is defined before the first instruction runs.
  std::vector<bool> defined(program.buffers_size(), false);
  auto define = [&](uint32_t buffer, absl::string_view what) -> absl::Status {
    if (!valid_buffer(buffer))
      return absl::InvalidArgumentError(absl::StrCat(
          what, " refers to buffer ", buffer, " of ", program.buffers_size()));
    if (defined[buffer])
      return absl::InvalidArgumentError(
          absl::StrCat(what, " writes buffer ", buffer, ", already written"));
    defined[buffer] = true;
    return absl::OkStatus();
  };
  for (const TensorBinding &input : program.inputs()) {
    if (auto s = define(input.buffer(), "input '" + input.name() + "'");
        !s.ok())
      return s;
    if (program.buffers(input.buffer()).type() != F32)
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(), "' is not a real tensor"));
  }
  for (int i = 0; i < program.constants_size(); ++i) {
    const Constant &constant = program.constants(i);
    if (auto s = define(constant.buffer(), absl::StrCat("constant ", i));
        !s.ok())
      return s;
    const Buffer &buffer = program.buffers(constant.buffer());
    int64_t bytes =
        NumElements(Shape(buffer.shape().begin(), buffer.shape().end())) *
        (constant.int8() ? 1 : 4);
    if (buffer.type() != F32 ||
        static_cast<int64_t>(constant.data().size()) != bytes)
      return absl::InvalidArgumentError(absl::StrCat(
          "constant ", i, " ('", buffer.name(), "') holds ",
          constant.data().size(), " bytes, its buffer needs ", bytes));
    if (constant.channel_scales_size() &&
        (!constant.int8() || buffer.shape_size() == 0 ||
         constant.channel_scales_size() != buffer.shape(0)))
      return absl::InvalidArgumentError(absl::StrCat(
          "constant ", i, " ('", buffer.name(), "') has ",
          constant.channel_scales_size(),
          " channel scales: int8 data needs one per slice of axis 0"));
  }
  for (int i = 0; i < program.bit_constants_size(); ++i) {
    const BitConstant &constant = program.bit_constants(i);
    if (auto s = define(constant.buffer(), absl::StrCat("bit constant ", i));
        !s.ok())
      return s;
    const Buffer &buffer = program.buffers(constant.buffer());
    int64_t bits =
        NumElements(Shape(buffer.shape().begin(), buffer.shape().end()));
    if (buffer.type() != BIT ||
        static_cast<int64_t>(constant.bits().size()) != (bits + 7) / 8)
      return absl::InvalidArgumentError(
          absl::StrCat("bit constant ", i, " does not match its buffer"));
  }

  const ChipConfig &chip = program.chip();
  std::set<uint32_t> arrays;
  int64_t cells = int64_t{chip.array().rows()} * chip.array().columns();
  for (const ArrayImage &image : program.arrays()) {
    if (image.array() >= chip.arrays())
      return absl::InvalidArgumentError(absl::StrCat(
          "array image for array ", image.array(), " of layer '", image.layer(),
          "', but the chip has ", chip.arrays(), " arrays"));
    if (!arrays.insert(image.array()).second)
      return absl::InvalidArgumentError(
          absl::StrCat("array ", image.array(), " is programmed twice"));
    if (static_cast<int64_t>(image.bits().size()) != (cells + 7) / 8 ||
        image.rows_used() < 1 || image.rows_used() > chip.array().rows() ||
        image.columns_used() < 1 ||
        image.columns_used() > chip.array().columns())
      return absl::InvalidArgumentError(absl::StrCat(
          "array image for array ", image.array(), " of layer '", image.layer(),
          "' does not match the ", chip.array().rows(), "x",
          chip.array().columns(), " array"));
  }

  for (int i = 0; i < program.instructions_size(); ++i) {
    const Instruction &instruction = program.instructions(i);
    if (absl::Status status = InstructionChecker(program, i, arrays).Check();
        !status.ok())
      return status;
    for (uint32_t input : instruction.inputs())
      if (!defined[input])
        return absl::InvalidArgumentError(absl::StrCat(
            "instruction ", i, " (layer '", instruction.layer(),
            "') reads buffer ", input, " before anything writes it"));
    if (auto s = define(instruction.output(), absl::StrCat("instruction ", i));
        !s.ok())
      return s;
  }
  if (program.outputs_size() == 0)
    return absl::InvalidArgumentError("the program has no outputs");
  for (const TensorBinding &output : program.outputs()) {
    if (!valid_buffer(output.buffer()) || !defined[output.buffer()] ||
        (program.buffers(output.buffer()).type() != F32 &&
         program.buffers(output.buffer()).type() != I64))
      return absl::InvalidArgumentError(
          absl::StrCat("output '", output.name(),
                       "' is not a real or index tensor the program "
                       "computes"));
  }
  if (absl::Status status = TiledLayerChecker(program).Check(); !status.ok())
    return status;
  // Last, on a program known to be consistent, and before the simulator
  // allocates anything.
  if (SimulatorMemory memory = EstimateSimulatorMemory(program);
      memory.total() > kMaxSimulatorMemoryBytes)
    return absl::InvalidArgumentError(absl::StrFormat(
        "the program needs %.2f GiB of simulator memory (%d bytes: buffers "
        "%d, arrays %d, tiled layers %d), above the limit of %d GiB: compile "
        "it with a smaller batch (--batch) or for a smaller model",
        memory.total() / double(uint64_t{1} << 30), memory.total(),
        memory.buffers, memory.arrays, memory.tiled_layers,
        kMaxSimulatorMemoryBytes >> 30));
  return absl::OkStatus();
}

} // namespace hafnia
