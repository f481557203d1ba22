// Area, energy and latency estimates from the chip's cost model. The
// defaults are derived in docs/cost-model.md; most scale Horowitz's 45 nm,
// 0.9 V figures (ISSCC 2014, "Computing's energy problem") to the paper's
// 130 nm process at 1.2 V by (130 / 45) * (1.2 / 0.9)^2 = 5.14 (energy goes
// with C V^2, capacitance with the feature size).

#include "hafnia/runtime/CostModel.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "hafnia/runtime/Program.h"
#include "hafnia/runtime/Simulator.h"

namespace hafnia {

const CostModel &DefaultCostModel() {
  static const CostModel *defaults = [] {
    auto *cost = new CostModel;
    // A bit line of 32 cells and the sense node, ~20 fF, charged to 1.2 V.
    cost->set_sense_energy_fj(30);
    // One cycle of a 100 MHz controller, for rows and digital operations.
    cost->set_row_read_latency_ns(10);
    cost->set_digital_op_latency_ns(10);
    // A 16-bit integer addition: 0.05 pJ at 45 nm.
    cost->set_popcount_add_energy_pj(0.26);
    // f32 multiply (3.7 pJ) and add (0.9 pJ); int8 multiply (0.2 pJ) and
    // 32-bit add (0.1 pJ), at 45 nm.
    cost->set_mac_fp32_energy_pj(23.6);
    cost->set_mac_int8_energy_pj(1.54);
    // An f32 addition (0.9 pJ at 45 nm): the digital core computes in f32.
    cost->set_digital_op_energy_pj(4.6);
    // A 64-bit read from an 8 KiB SRAM (10 pJ at 45 nm), one word a cycle.
    cost->set_memory_read_energy_pj_per_byte(6.4);
    cost->set_memory_read_latency_ns_per_byte(1.25);
    // A 1 us pulse at 1 V with a 100 uA compliance.
    cost->set_program_energy_pj_per_device(100);
    // An access transistor wide enough for the forming current, ~60 F^2 at
    // F = 130 nm; a 2T2R cell is two of them.
    cost->set_cell_1t1r_area_um2(1.0);
    cost->set_cell_2t2r_area_um2(2.0);
    // A PCSA with its XNOR (~14 transistors), ~10 6T SRAM cells of 2.5 um^2.
    cost->set_sense_amplifier_area_um2(25);
    // Row decoder, 32 word-line and programming drivers and a 32-input
    // popcount tree.
    cost->set_array_periphery_area_um2(3000);
    // 8,192 6T cells of 2.5 um^2 and half as much again of periphery.
    cost->set_digital_memory_area_um2_per_kib(30000);
    // Per code bit of an ECC decoder, about five gates: log2(n) / 2 XOR2s
    // of the syndrome tree, the correcting XOR, a share of the syndrome
    // decoder and the XNOR with the input; an XOR2 is ~10 um^2 at 130 nm
    // and switches ~5 fF at 1.2 V (half of them toggling). The tree's
    // depth, ~10 gates of ~0.1 ns, and its wires: 2 ns after a row read.
    cost->set_ecc_decoder_area_um2_per_code_bit(50);
    cost->set_ecc_decoder_energy_fj_per_code_bit(20);
    cost->set_ecc_decoder_latency_ns(2);
    return cost;
  }();
  return *defaults;
}

CostModel CostOf(const ChipConfig &chip) {
  CostModel cost = DefaultCostModel();
  // Every field is `optional`: MergeFrom copies exactly the ones set.
  cost.MergeFrom(chip.cost());
  return cost;
}

absl::Status ValidateCostModel(const CostModel &cost) {
  const google::protobuf::Descriptor *descriptor = cost.GetDescriptor();
  const google::protobuf::Reflection *reflection = cost.GetReflection();
  for (int f = 0; f < descriptor->field_count(); ++f) {
    const google::protobuf::FieldDescriptor *field = descriptor->field(f);
    if (!reflection->HasField(cost, field))
      continue;
    double value = reflection->GetDouble(cost, field);
    if (!(std::isfinite(value) && value >= 0))
      return absl::InvalidArgumentError(
          absl::StrCat("field 'cost.", field->name(),
                       "' must be finite and >= 0, got ", value));
  }
  return absl::OkStatus();
}

namespace {

constexpr double kUm2PerMm2 = 1e6;

AreaEstimate::Parts AreaOf(const ChipConfig &chip, const CostModel &cost,
                           double arrays, double digital_bytes) {
  double rows = chip.array().rows(), columns = chip.array().columns();
  double cell = chip.cell() == CELL_1T1R ? cost.cell_1t1r_area_um2()
                                         : cost.cell_2t2r_area_um2();
  AreaEstimate::Parts parts;
  parts.set_cells_mm2(arrays * rows * columns * cell / kUm2PerMm2);
  parts.set_sense_amplifiers_mm2(arrays * columns *
                                 cost.sense_amplifier_area_um2() / kUm2PerMm2);
  parts.set_array_periphery_mm2(arrays * cost.array_periphery_area_um2() /
                                kUm2PerMm2);
  parts.set_digital_memory_mm2(digital_bytes / 1024 *
                               cost.digital_memory_area_um2_per_kib() /
                               kUm2PerMm2);
  parts.set_total_mm2(parts.cells_mm2() + parts.sense_amplifiers_mm2() +
                      parts.array_periphery_mm2() + parts.digital_memory_mm2());
  return parts;
}

// Operations of the binary layers' digital side: a row's popcount added to
// a neuron's sum.
bool AddsPopcounts(const Instruction &instruction) {
  return instruction.has_xnor_read() || instruction.has_accumulate() ||
         instruction.has_collect();
}

void Add(LayerCost &total, const LayerCost &add) {
  total.set_array_energy_pj(total.array_energy_pj() + add.array_energy_pj());
  total.set_digital_energy_pj(total.digital_energy_pj() +
                              add.digital_energy_pj());
  total.set_memory_energy_pj(total.memory_energy_pj() + add.memory_energy_pj());
  total.set_energy_pj(total.energy_pj() + add.energy_pj());
  total.set_latency_ns(total.latency_ns() + add.latency_ns());
}

} // namespace

AreaEstimate EstimateArea(const ChipConfig &chip, uint64_t arrays_used,
                          uint64_t digital_bytes_used) {
  CostModel cost = CostOf(chip);
  AreaEstimate area;
  *area.mutable_chip() =
      AreaOf(chip, cost, chip.arrays(), chip.digital_memory_bytes());
  *area.mutable_used() = AreaOf(chip, cost, arrays_used, digital_bytes_used);
  return area;
}

absl::StatusOr<InferenceCost> EstimateInferenceCost(const Program &program) {
  Simulator::Options options;
  options.reference_kernels = true;
  absl::StatusOr<std::unique_ptr<Simulator>> simulator =
      Simulator::Create(program, options);
  if (!simulator.ok())
    return simulator.status();
  std::vector<SimulationStats> stats = (*simulator)->InstructionStats();

  const ChipConfig &chip = program.chip();
  CostModel cost = CostOf(chip);
  double mac_energy = chip.real_precision() == REAL_INT8
                          ? cost.mac_int8_energy_pj()
                          : cost.mac_fp32_energy_pj();
  double columns = chip.array().columns();
  // Per sample: a run of a batch reads the parameters once for all of it.
  double per_sample = 1.0 / SamplesPerRun(program);

  // Layers in the order their first instruction runs.
  InferenceCost result;
  std::map<std::string, LayerCost *> layers;
  auto layer = [&](const std::string &name) {
    LayerCost *&entry = layers[name];
    if (!entry) {
      entry = result.add_layers();
      entry->set_layer(name);
    }
    return entry;
  };
  for (int i = 0; i < program.instructions_size(); ++i) {
    const SimulationStats &s = stats[i];
    if (!s.row_reads() && !s.digital_ops() && !s.digital_macs())
      continue;
    const Instruction &instruction = program.instructions(i);
    LayerCost add;
    add.set_array_energy_pj(s.row_reads() * columns * cost.sense_energy_fj() /
                            1000);
    add.set_digital_energy_pj(s.digital_macs() * mac_energy +
                              s.digital_ops() *
                                  (AddsPopcounts(instruction)
                                       ? cost.popcount_add_energy_pj()
                                       : cost.digital_op_energy_pj()));
    add.set_energy_pj(add.array_energy_pj() + add.digital_energy_pj());
    add.set_latency_ns(s.row_reads() * cost.row_read_latency_ns() +
                       (s.digital_macs() + s.digital_ops()) *
                           cost.digital_op_latency_ns());
    Add(*layer(instruction.layer()), add);
  }
  // What each layer stores in the digital memory, as the mapping report
  // counts it, read once per run.
  for (const LayerMapping &mapping : program.report().layers()) {
    if (!mapping.digital_bytes())
      continue;
    LayerCost add;
    add.set_memory_energy_pj(mapping.digital_bytes() *
                             cost.memory_read_energy_pj_per_byte());
    add.set_energy_pj(add.memory_energy_pj());
    add.set_latency_ns(mapping.digital_bytes() *
                       cost.memory_read_latency_ns_per_byte());
    Add(*layer(mapping.name()), add);
  }
  LayerCost *total = result.mutable_total();
  total->set_layer("total");
  for (LayerCost &entry : *result.mutable_layers()) {
    entry.set_array_energy_pj(entry.array_energy_pj() * per_sample);
    entry.set_digital_energy_pj(entry.digital_energy_pj() * per_sample);
    entry.set_memory_energy_pj(entry.memory_energy_pj() * per_sample);
    entry.set_energy_pj(entry.energy_pj() * per_sample);
    entry.set_latency_ns(entry.latency_ns() * per_sample);
    Add(*total, entry);
  }
  // Every device of the rows a program uses (padding columns too: they are
  // read) is programmed once.
  double devices_per_cell = chip.cell() == CELL_1T1R ? 1 : 2;
  double devices = 0;
  for (const ArrayImage &image : program.arrays())
    devices += image.rows_used() * columns * devices_per_cell;
  result.set_programming_energy_pj(devices *
                                   cost.program_energy_pj_per_device());
  return result;
}

EccCost EstimateEccCost(const Program &program, EccCode ecc,
                        double row_reads_per_inference) {
  const ChipConfig &chip = program.chip();
  CostModel cost = CostOf(chip);
  const EccCodeInfo &info = InfoOf(ecc);
  double columns = chip.array().columns(), rows = chip.array().rows();
  double ratio = DevicesPerBit(ecc);
  EccCost result;
  double bits_read = row_reads_per_inference * columns;
  result.set_words_decoded(bits_read / info.data_bits);
  result.set_decoder_energy_pj(result.words_decoded() * info.code_bits *
                               cost.ecc_decoder_energy_fj_per_code_bit() /
                               1000);
  result.set_parity_sense_energy_pj(bits_read * (ratio - 1) *
                                    cost.sense_energy_fj() / 1000);
  result.set_decoder_latency_ns(row_reads_per_inference *
                                cost.ecc_decoder_latency_ns());
  double devices = 0;
  for (const ArrayImage &image : program.arrays())
    devices +=
        StoredDevices(ecc, static_cast<int64_t>(image.rows_used() * columns));
  result.set_programming_energy_pj(devices *
                                   cost.program_energy_pj_per_device());
  double arrays = program.arrays_size();
  // A row's words are decoded side by side; a word wider than a row is
  // decoded once its rows are read, by one decoder per array.
  uint64_t per_array = std::max<uint64_t>(
      1, (chip.array().columns() + info.data_bits - 1) / info.data_bits);
  result.set_decoders(per_array * static_cast<uint64_t>(arrays));
  result.set_cells_mm2(arrays * rows * columns * ratio *
                       cost.cell_1t1r_area_um2() / kUm2PerMm2);
  result.set_sense_amplifiers_mm2(arrays * columns * ratio *
                                  cost.sense_amplifier_area_um2() / kUm2PerMm2);
  result.set_decoders_mm2(result.decoders() * info.code_bits *
                          cost.ecc_decoder_area_um2_per_code_bit() /
                          kUm2PerMm2);
  result.set_cells_2t2r_mm2(arrays * rows * columns *
                            cost.cell_2t2r_area_um2() / kUm2PerMm2);
  result.set_sense_amplifiers_2t2r_mm2(
      arrays * columns * cost.sense_amplifier_area_um2() / kUm2PerMm2);
  return result;
}

} // namespace hafnia
