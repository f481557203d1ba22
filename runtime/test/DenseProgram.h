// A program of one binary dense layer, tiled onto arrays as
// convert-bnn-to-rram tiles it, for the runtime's tests and benchmarks.

#ifndef HAFNIA_RUNTIME_TEST_DENSEPROGRAM_H
#define HAFNIA_RUNTIME_TEST_DENSEPROGRAM_H

#include <algorithm>
#include <random>
#include <vector>

#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Program.h"

namespace hafnia {

// Builds a program of one binary dense layer, tiled as convert-bnn-to-rram
// does, that outputs the real dot products 2 * popcount - K.
class DenseProgram {
public:
  DenseProgram(int64_t batch, int64_t outputs, int64_t fan_in, int64_t rows,
               int64_t columns, std::mt19937 &random)
      : outputs_(outputs), fan_in_(fan_in) {
    std::bernoulli_distribution coin(0.5);
    weights_.resize(outputs * fan_in);
    for (size_t i = 0; i < weights_.size(); ++i)
      weights_[i] = coin(random);

    absl::StatusOr<ChipConfig> chip = LoadChipConfig("default");
    *program_.mutable_chip() = *chip;
    program_.mutable_chip()->mutable_array()->set_rows(rows);
    program_.mutable_chip()->mutable_array()->set_columns(columns);
    program_.set_format_version(kProgramFormatVersion);

    uint32_t input = AddBuffer({batch, fan_in}, F32);
    program_.add_inputs()->set_buffer(input);
    program_.mutable_inputs(0)->set_name("x");
    uint32_t bits = Add({input}, {batch, fan_in}, BIT).output();
    program_.mutable_instructions(0)->mutable_binarize();

    int64_t row_tiles = (outputs + rows - 1) / rows;
    int64_t column_tiles = (fan_in + columns - 1) / columns;
    // Recorded as the emitter records it.
    TiledLayer *tiled = program_.add_tiled_layers();
    tiled->set_layer("fc");
    tiled->set_source(bits);
    tiled->set_fan_in(fan_in);
    tiled->set_outputs(outputs);
    tiled->set_correction(-(column_tiles * columns - fan_in));
    tiled->set_first_instruction(program_.instructions_size());
    std::vector<uint32_t> slices;
    for (int64_t c = 0; c < column_tiles; ++c) {
      Instruction &slice = Add({bits}, {batch, columns}, BIT);
      slice.mutable_input_slice()->set_offset(c * columns);
      slices.push_back(slice.output());
    }
    std::vector<uint32_t> row_sums;
    Instruction::Collect collect;
    uint32_t array = 0;
    for (int64_t r = 0; r < row_tiles; ++r) {
      std::vector<uint32_t> partials;
      TiledLayer::RowTile *row = tiled->add_row_tiles();
      row->set_rows_used(std::min(rows, outputs - r * rows));
      for (int64_t c = 0; c < column_tiles; ++c, ++array) {
        TiledLayer::Tile *tile = row->add_tiles();
        tile->set_array(array);
        tile->set_column_tile(c);
        ArrayImage *image = program_.add_arrays();
        image->set_array(array);
        image->set_rows_used(std::min(rows, outputs - r * rows));
        image->set_columns_used(std::min(columns, fan_in - c * columns));
        std::vector<bool> cells(rows * columns, true);
        for (int64_t i = 0; i < image->rows_used(); ++i)
          for (int64_t j = 0; j < image->columns_used(); ++j)
            cells[i * columns + j] =
                weights_[(r * rows + i) * fan_in + c * columns + j];
        image->set_bits(PackBits(cells));
        Instruction &read = Add({slices[c]}, {batch, rows}, I32);
        read.mutable_xnor_read()->set_array(array);
        partials.push_back(read.output());
      }
      Instruction &sum = Add(partials, {batch, rows}, I32);
      sum.mutable_accumulate()->set_correction(
          -(column_tiles * columns - fan_in));
      row_sums.push_back(sum.output());
      collect.add_rows_used(std::min(rows, outputs - r * rows));
    }
    tiled->set_collect(program_.instructions_size());
    Instruction &gathered = Add(row_sums, {batch, outputs}, I32);
    *gathered.mutable_collect() = collect;
    Instruction &affine = Add({gathered.output()}, {batch, outputs}, F32);
    affine.mutable_popcount_affine()->set_fan_in(fan_in);
    for (int64_t m = 0; m < outputs; ++m) {
      affine.mutable_popcount_affine()->add_scale(1.0f);
      affine.mutable_popcount_affine()->add_bias(0.0f);
    }
    // A chip with enough arrays for this layer.
    program_.mutable_chip()->set_arrays(
        std::max<uint32_t>(array, program_.chip().arrays()));
    program_.add_outputs()->set_buffer(affine.output());
    program_.mutable_outputs(0)->set_name("y");
  }

  Program &program() { return program_; }

  // The scalar reference: sum over k of sign(x) * w.
  std::vector<float> Reference(const std::vector<float> &x,
                               int64_t batch) const {
    std::vector<float> y(batch * outputs_, 0.0f);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t m = 0; m < outputs_; ++m) {
        int64_t sum = 0;
        for (int64_t k = 0; k < fan_in_; ++k) {
          int xs = x[b * fan_in_ + k] >= 0 ? 1 : -1;
          int ws = weights_[m * fan_in_ + k] ? 1 : -1;
          sum += xs * ws;
        }
        y[b * outputs_ + m] = static_cast<float>(sum);
      }
    return y;
  }

private:
  uint32_t AddBuffer(std::vector<int64_t> shape, ElementType type) {
    Buffer *buffer = program_.add_buffers();
    for (int64_t dim : shape)
      buffer->add_shape(dim);
    buffer->set_type(type);
    return program_.buffers_size() - 1;
  }
  Instruction &Add(const std::vector<uint32_t> &inputs,
                   std::vector<int64_t> shape, ElementType type) {
    Instruction *instruction = program_.add_instructions();
    instruction->set_layer("fc");
    for (uint32_t input : inputs)
      instruction->add_inputs(input);
    instruction->set_output(AddBuffer(shape, type));
    return *instruction;
  }

  Program program_;
  std::vector<bool> weights_;
  int64_t outputs_, fan_in_;
};

} // namespace hafnia

#endif // HAFNIA_RUNTIME_TEST_DENSEPROGRAM_H
