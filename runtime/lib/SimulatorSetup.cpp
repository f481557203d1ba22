// Setting up a simulator from a program: validating it, programming the
// arrays, decoding the constants, reading the tiled layers the emitter
// recorded (computed on whole rows), and planning the runs: a slot for every
// value computed at run time, the end of the prefix that errors cannot
// change, and the last instruction that reads each slot.

#include <algorithm>
#include <limits>
#include <map>

#include "Execution.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Shapes.h"
#include "hafnia/runtime/Simulator.h"
#include "kernels/Kernels.h"

namespace hafnia {

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Create(Program program,
                                                             Options options) {
  // Everything below, and every kernel, trusts what the validator checks:
  // an in-memory caller gets an error, never an out-of-bounds read.
  if (absl::Status status = ValidateProgram(program); !status.ok())
    return status;
  std::unique_ptr<Simulator> simulator(new Simulator(std::move(program)));
  const Program &p = simulator->program_;
  const ChipConfig &chip = p.chip();
  int64_t rows = chip.array().rows(), columns = chip.array().columns();
  int64_t words = (columns + 63) / 64;
  simulator->arrays_.resize(chip.arrays());
  simulator->programming_cycles_.assign(chip.arrays(), 0);
  // Programming: every array the program uses receives its image once.
  for (const ArrayImage &image : p.arrays()) {
    PackedArray &array = simulator->arrays_[image.array()];
    array.rows = rows;
    array.columns = columns;
    array.words = words;
    array.rows_used = image.rows_used();
    array.bits.assign(rows * words, 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < columns; ++c)
        if (GetBit(image.bits(), r * columns + c))
          array.bits[r * words + c / 64] |= uint64_t{1} << (c % 64);
    ++simulator->programming_cycles_[image.array()];
  }
  simulator->constants_.resize(p.buffers_size());
  for (const Constant &constant : p.constants())
    simulator->constants_[constant.buffer()] = RealConstantValues(constant);
  simulator->bit_constants_.resize(p.buffers_size());
  for (const BitConstant &constant : p.bit_constants()) {
    int64_t count = NumElements(ShapeOf(p.buffers(constant.buffer())));
    std::vector<uint8_t> &bits = simulator->bit_constants_[constant.buffer()];
    bits.resize(count);
    for (int64_t e = 0; e < count; ++e)
      bits[e] = GetBit(constant.bits(), e);
  }
  simulator->fused_.resize(p.instructions_size());
  simulator->replaced_.assign(p.instructions_size(), false);
  if (options.fuse_layers)
    simulator->ReadTiledLayers(/*thresholds=*/!options.reference_kernels);
  // Everything before the first array read is the same on every
  // programming of the chip; RunPrefix computes it once.
  simulator->prefix_end_ = p.instructions_size();
  std::vector<bool> tiled(p.instructions_size(), false);
  for (int i = 0; i < p.instructions_size(); ++i)
    tiled[i] = simulator->fused_[i] != nullptr;
  for (int i = 0; i < p.instructions_size(); ++i)
    if (!simulator->replaced_[i] &&
        (tiled[i] || p.instructions(i).has_xnor_read())) {
      simulator->prefix_end_ = i;
      break;
    }
  // Real kernels planned once (and the instructions they absorb marked
  // replaced), on the same side of the prefix's end.
  simulator->reference_kernels_ = options.reference_kernels;
  if (options.reference_kernels)
    simulator->plans_.resize(p.instructions_size());
  else {
    simulator->plans_ =
        kernels::PlanRealKernels(p, simulator->constants_, tiled,
                                 simulator->prefix_end_, simulator->replaced_);
    simulator->PlanBinarizeIntoLines();
  }
  // A storage slot for every input and every value an instruction that runs
  // computes (a plan's: the last absorbed instruction's); constants have
  // none.
  // A zero-size result (a [1,0] input, zero channels) has nothing to
  // compute, and kernels divide by its extents: it does not run, and its
  // slot stays empty.
  for (int i = 0; i < p.instructions_size(); ++i)
    if (!simulator->replaced_[i] &&
        NumElements(ShapeOf(p.buffers(p.instructions(i).output()))) != 0)
      simulator->schedule_.push_back(i);
  // Slots by lifetime: a value takes the slot of one of the same type and
  // size whose last reader ran before it (so a run's buffers stay few and
  // warm in the cache, and each slot always holds one size, which runs that
  // reuse the buffers of earlier ones rely on). Values on the two sides of
  // the prefix's end never share one: the prefix keeps whole slots.
  std::vector<int> last_read(p.buffers_size(), -1);
  for (int i = 0; i < p.instructions_size(); ++i) {
    if (simulator->replaced_[i])
      continue;
    for (uint32_t input : p.instructions(i).inputs())
      last_read[input] = std::max(last_read[input], i);
    if (simulator->fused_[i])
      last_read[simulator->fused_[i]->source] =
          std::max(last_read[simulator->fused_[i]->source], i);
  }
  for (const TensorBinding &output : p.outputs())
    last_read[output.buffer()] = std::numeric_limits<int>::max();
  for (const TensorBinding &input : p.inputs())
    simulator->inputs_in_place_.push_back(last_read[input.buffer()] <
                                          simulator->prefix_end_);
  simulator->slots_.assign(p.buffers_size(), -1);
  std::map<std::pair<int, int64_t>, std::vector<int64_t>> free_slots;
  struct Live {
    int last_read;
    int64_t slot;
    std::pair<int, int64_t> kind;
  };
  std::vector<Live> live;
  auto place = [&](uint32_t buffer, int at, int64_t size) {
    // Slots whose values nothing from `at` on reads become free.
    for (size_t k = 0; k < live.size();)
      if (live[k].last_read < at) {
        free_slots[live[k].kind].push_back(live[k].slot);
        live[k] = live.back();
        live.pop_back();
      } else {
        ++k;
      }
    std::pair<int, int64_t> kind{p.buffers(buffer).type(), size};
    std::vector<int64_t> &same = free_slots[kind];
    int64_t slot;
    if (same.empty()) {
      slot = simulator->slot_count_++;
      simulator->last_use_.push_back(-1);
    } else {
      // The most recently freed: its buffer is the likeliest in the cache.
      slot = same.back();
      same.pop_back();
    }
    simulator->slots_[buffer] = slot;
    simulator->last_use_[slot] =
        std::max(simulator->last_use_[slot], last_read[buffer]);
    live.push_back({last_read[buffer], slot, kind});
  };
  auto elements = [&](uint32_t buffer) {
    return NumElements(ShapeOf(p.buffers(buffer)));
  };
  for (const TensorBinding &input : p.inputs())
    place(input.buffer(), -1, elements(input.buffer()));
  for (int i = 0; i < p.instructions_size(); ++i) {
    if (i == simulator->prefix_end_) {
      free_slots.clear();
      live.erase(std::remove_if(live.begin(), live.end(),
                                [&](const Live &l) { return l.last_read < i; }),
                 live.end());
    }
    if (simulator->replaced_[i])
      continue;
    // A plan writes the last absorbed instruction's output, maybe in the
    // library's layout.
    const kernels::Plan *plan = simulator->plans_[i].get();
    uint32_t output = simulator->WrittenBy(i);
    int64_t size = elements(output);
    if (plan && plan->output_size >= 0)
      size = plan->output_size;
    if (const FusedLayer *layer = simulator->fused_[i].get();
        layer && layer->lines_im2col >= 0) {
      const Instruction &im2col = p.instructions(layer->lines_im2col);
      size = kernels::FieldLinesOf(im2col.im2col(),
                                   ShapeOf(p.buffers(im2col.inputs(0))))
                 .bytes();
    }
    place(output, i, size);
  }
  simulator->store_ = std::make_shared<ValueStore>(simulator->slot_count_);
  return simulator;
}

namespace {

// How many instructions read each buffer (an output counts as one).
std::vector<int> ReadersOf(const Program &program) {
  std::vector<int> readers(program.buffers_size(), 0);
  for (const Instruction &instruction : program.instructions())
    for (uint32_t input : instruction.inputs())
      ++readers[input];
  for (const TensorBinding &output : program.outputs())
    ++readers[output.buffer()];
  return readers;
}

// The one instruction that reads each buffer, where one alone does and the
// buffer is not an output (-1 otherwise).
std::vector<int> OnlyReaders(const Program &program) {
  std::vector<int> readers = ReadersOf(program);
  std::vector<int> only_reader(program.buffers_size(), -1);
  for (int i = 0; i < program.instructions_size(); ++i)
    for (uint32_t input : program.instructions(i).inputs())
      only_reader[input] = readers[input] == 1 ? i : -1;
  return only_reader;
}

} // namespace

void Simulator::ReadTiledLayers(bool thresholds) {
  int64_t columns = program_.chip().array().columns();
  // Which instruction writes each buffer, and how many read it: an im2col
  // whose fields only its layer's slices read is packed by the layer.
  std::vector<int> writer(program_.buffers_size(), -1);
  for (int i = 0; i < program_.instructions_size(); ++i)
    writer[program_.instructions(i).output()] = i;
  std::vector<int> readers = ReadersOf(program_);
  for (const TiledLayer &tiled : program_.tiled_layers()) {
    auto layer = std::make_unique<FusedLayer>();
    layer->source = tiled.source();
    layer->fan_in = tiled.fan_in();
    layer->outputs = tiled.outputs();
    layer->words = (tiled.fan_in() + 63) / 64;
    layer->rows =
        NumElements(ShapeOf(program_.buffers(tiled.source()))) / tiled.fan_in();
    int fields = writer[tiled.source()];
    int slices = 0;
    for (uint32_t i = tiled.first_instruction(); i < tiled.collect(); ++i)
      for (uint32_t input : program_.instructions(i).inputs())
        slices += input == tiled.source();
    if (fields >= 0 && program_.instructions(fields).has_im2col() &&
        readers[tiled.source()] == slices) {
      const Instruction::Im2col &im2col =
          program_.instructions(fields).im2col();
      layer->im2col = fields;
      layer->source = program_.instructions(fields).inputs(0);
      layer->taps = NumElements(std::vector<int64_t>(
          im2col.window().kernel().begin(), im2col.window().kernel().end()));
      layer->field_channels = im2col.channels();
      replaced_[fields] = true;
    }
    for (const TiledLayer::RowTile &row : tiled.row_tiles()) {
      std::vector<std::pair<uint32_t, int64_t>> tiles;
      for (const TiledLayer::Tile &tile : row.tiles()) {
        tiles.push_back({tile.array(), tile.column_tile()});
        // What the chip does for this tile, per input row.
        layer->row_reads_per_sample += arrays_[tile.array()].rows_used;
        ++layer->activations_per_sample;
        layer->digital_ops_per_sample += arrays_[tile.array()].rows;
      }
      layer->row_tiles.push_back(std::move(tiles));
      layer->rows_used.push_back(row.rows_used());
    }
    std::vector<int32_t> no_padding_errors;
    kernels::BuildTiledRows(*layer, arrays_, columns, layer->weights,
                            no_padding_errors);
    // The slices, reads and sums before the collect are not run.
    for (uint32_t i = tiled.first_instruction(); i < tiled.collect(); ++i)
      replaced_[i] = true;
    fused_[tiled.collect()] = std::move(layer);
  }
  if (thresholds)
    FuseThresholds();
}

Simulator::FusedLayer *Simulator::LinesReader(int instruction,
                                              int64_t channels) const {
  if (instruction < 0 || channels % 8 != 0 ||
      !program_.instructions(instruction).has_im2col())
    return nullptr;
  const Instruction::Im2col &im2col =
      program_.instructions(instruction).im2col();
  if (im2col.channel_offset() != 0 || im2col.channels() != channels)
    return nullptr;
  for (const std::unique_ptr<FusedLayer> &layer : fused_)
    if (layer && layer->im2col == instruction)
      return layer.get();
  return nullptr;
}

void Simulator::PlanBinarizeIntoLines() {
  std::vector<int> only_reader = OnlyReaders(program_);
  for (int i = 0; i < prefix_end_; ++i) {
    const Instruction &binarize = program_.instructions(i);
    if (!binarize.has_binarize() || replaced_[i] || plans_[i])
      continue;
    std::vector<int64_t> xs = ShapeOf(program_.buffers(binarize.inputs(0)));
    int reader = only_reader[binarize.output()];
    FusedLayer *layer = LinesReader(reader, xs[1]);
    if (!layer)
      continue;
    auto plan = std::make_shared<kernels::BinarizeToLines>();
    plan->output = binarize.output();
    plan->output_size =
        kernels::FieldLinesOf(program_.instructions(reader).im2col(), xs)
            .bytes();
    plan->im2col = reader;
    layer->reads_lines = true;
    plans_[i] = std::move(plan);
  }
}

void Simulator::FuseThresholds() {
  std::vector<int> only_reader = OnlyReaders(program_);
  for (int c = 0; c < program_.instructions_size(); ++c) {
    FusedLayer *layer = fused_[c].get();
    uint32_t counts = program_.instructions(c).output();
    int t = layer ? only_reader[counts] : -1;
    if (t < 0 || !program_.instructions(t).has_threshold())
      continue;
    const Instruction &threshold = program_.instructions(t);
    const Instruction::Threshold &attrs = threshold.threshold();
    std::vector<int64_t> shape = ShapeOf(program_.buffers(counts));
    int64_t outputs = layer->outputs;
    int64_t positions = NumElements(shape) / (shape[0] * outputs);
    int64_t borders = attrs.border_positions_size();
    layer->threshold = t;
    layer->output = threshold.output();
    layer->epilogue_ops = NumElements(shape);
    replaced_[t] = true;
    // fan_in - disagreements >= t: at most fan_in - t disagreements; where
    // inverted, fan_in - disagreements <= t: -disagreements <= t - fan_in.
    layer->negate.resize(outputs);
    layer->limits.resize((1 + borders) * outputs);
    for (int64_t m = 0; m < outputs; ++m) {
      bool inverted = attrs.inverted(m);
      layer->negate[m] = inverted ? -1 : 0;
      auto limit = [&](int64_t value) {
        int64_t most = inverted ? value - layer->fan_in : layer->fan_in - value;
        return static_cast<int32_t>(
            std::clamp<int64_t>(most, std::numeric_limits<int32_t>::min() + 1,
                                std::numeric_limits<int32_t>::max()));
      };
      layer->limits[m] = limit(attrs.thresholds(m));
      for (int64_t b = 0; b < borders; ++b)
        layer->limits[(1 + b) * outputs + m] =
            limit(attrs.border_thresholds(m * borders + b));
    }
    layer->position_classes.assign(positions, 0);
    for (int64_t b = 0; b < borders; ++b)
      layer->position_classes[attrs.border_positions(b)] =
          static_cast<int32_t>(1 + b);
    // A bit max pooling that alone reads the bits pools them as they are
    // stored.
    uint32_t value = threshold.output();
    int next = only_reader[value];
    if (next >= 0 && program_.instructions(next).has_bit_max_pool()) {
      const Instruction &pool = program_.instructions(next);
      std::vector<int64_t> kernel(pool.bit_max_pool().window().kernel().begin(),
                                  pool.bit_max_pool().window().kernel().end());
      layer->pool = next;
      layer->epilogue_ops +=
          NumElements(ShapeOf(program_.buffers(pool.output()))) *
          NumElements(kernel);
      replaced_[next] = true;
      value = pool.output();
      next = only_reader[value];
    }
    layer->output = value;
    // Straight into the next layer's field lines where it can read them.
    if (FusedLayer *reader = LinesReader(next, outputs)) {
      layer->lines_im2col = next;
      reader->reads_lines = true;
    }
  }
}

uint32_t Simulator::WrittenBy(int instruction) const {
  if (const kernels::Plan *plan = plans_[instruction].get())
    return plan->output;
  if (const FusedLayer *layer = fused_[instruction].get();
      layer && layer->threshold >= 0)
    return layer->output;
  return program_.instructions(instruction).output();
}

} // namespace hafnia
