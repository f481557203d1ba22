#include "hafnia/runtime/CostModel.h"

#include <cmath>
#include <random>

#include "DenseProgram.h"
#include "hafnia/runtime/ChipConfig.h"
#include "hafnia/runtime/Simulator.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

TEST(CostModelTest, ChipFieldsOverrideTheDefaults) {
  ChipConfig chip = *LoadChipConfig("default");
  EXPECT_EQ(CostOf(chip).SerializeAsString(),
            DefaultCostModel().SerializeAsString());
  chip.mutable_cost()->set_sense_energy_fj(7);
  CostModel cost = CostOf(chip);
  EXPECT_EQ(cost.sense_energy_fj(), 7);
  EXPECT_EQ(cost.mac_fp32_energy_pj(), DefaultCostModel().mac_fp32_energy_pj());
  // A field set to 0 is a cost of 0, not the default.
  chip.mutable_cost()->set_program_energy_pj_per_device(0);
  EXPECT_EQ(CostOf(chip).program_energy_pj_per_device(), 0);
  EXPECT_TRUE(ValidateCostModel(DefaultCostModel()).ok());
}

TEST(CostModelTest, NegativeOrNonFiniteCostsAreRefusedByName) {
  for (double bad : {-1.0, std::nan(""), double(INFINITY)}) {
    CostModel cost;
    cost.set_row_read_latency_ns(bad);
    absl::Status status = ValidateCostModel(cost);
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.message().find("'cost.row_read_latency_ns'"),
              std::string::npos)
        << status;
  }
  absl::StatusOr<ChipConfig> chip = ParseChipConfig(
      "name: 'x' array { rows: 32 columns: 32 } arrays: 1 cell: CELL_2T2R "
      "digital_memory_bytes: 1024 real_precision: REAL_FLOAT32 "
      "device { log_window: 2.3 log_sigma: 0.354 } "
      "cost { cell_2t2r_area_um2: -2 }",
      "chip.textproto");
  ASSERT_FALSE(chip.ok());
  EXPECT_NE(chip.status().message().find("'cost.cell_2t2r_area_um2'"),
            std::string::npos)
      << chip.status();
}

TEST(CostModelTest, AreaCountsEveryArrayPartAndTheUsedShare) {
  ChipConfig chip = *LoadChipConfig("default");
  chip.mutable_array()->set_rows(32);
  chip.mutable_array()->set_columns(64);
  chip.set_arrays(10);
  chip.set_digital_memory_bytes(4096);
  chip.set_cell(CELL_1T1R);
  CostModel *cost = chip.mutable_cost();
  cost->set_cell_1t1r_area_um2(1.5);
  cost->set_sense_amplifier_area_um2(20);
  cost->set_array_periphery_area_um2(1000);
  cost->set_digital_memory_area_um2_per_kib(25000);
  AreaEstimate area = EstimateArea(chip, 4, 2048);
  EXPECT_DOUBLE_EQ(area.chip().cells_mm2(), 10 * 32 * 64 * 1.5 / 1e6);
  EXPECT_DOUBLE_EQ(area.chip().sense_amplifiers_mm2(), 10 * 64 * 20 / 1e6);
  EXPECT_DOUBLE_EQ(area.chip().array_periphery_mm2(), 10 * 1000 / 1e6);
  EXPECT_DOUBLE_EQ(area.chip().digital_memory_mm2(), 4 * 25000 / 1e6);
  EXPECT_DOUBLE_EQ(area.chip().total_mm2(),
                   (10 * 32 * 64 * 1.5 + 10 * 64 * 20 + 10 * 1000 + 4 * 25000) /
                       1e6);
  EXPECT_DOUBLE_EQ(area.used().total_mm2(),
                   (4 * 32 * 64 * 1.5 + 4 * 64 * 20 + 4 * 1000 + 2 * 25000) /
                       1e6);
  // The same chip of 2T2R cells: only the cells change.
  chip.set_cell(CELL_2T2R);
  cost->set_cell_2t2r_area_um2(3);
  EXPECT_DOUBLE_EQ(EstimateArea(chip, 4, 2048).chip().cells_mm2(),
                   10 * 32 * 64 * 3 / 1e6);
}

// The statistics instruction by instruction add up to a whole run's, with
// the fast kernels and the reference ones.
TEST(CostModelTest, InstructionStatsSumToTheRunsStats) {
  std::mt19937 random(3);
  DenseProgram dense(/*batch=*/3, /*outputs=*/40, /*fan_in=*/100, 32, 32,
                     random);
  for (bool reference : {false, true}) {
    Simulator::Options options;
    options.reference_kernels = reference;
    auto simulator = *Simulator::Create(dense.program(), options);
    SimulationStats run, summed;
    Tensor x{{3, 100}, std::vector<float>(300, 0.5f)};
    ASSERT_TRUE(simulator->Run({x}, &run).ok());
    for (const SimulationStats &stats : simulator->InstructionStats())
      AddStats(summed, stats);
    run.clear_estimated_cycles();
    EXPECT_EQ(summed.SerializeAsString(), run.SerializeAsString());
  }
}

TEST(CostModelTest, InferenceCostIsLinearInTheCountsPerSample) {
  std::mt19937 random(5);
  DenseProgram dense(/*batch=*/2, /*outputs=*/40, /*fan_in=*/100, 32, 32,
                     random);
  Program &program = dense.program();
  CostModel *cost = program.mutable_chip()->mutable_cost();
  cost->set_sense_energy_fj(10);
  cost->set_row_read_latency_ns(3);
  cost->set_digital_op_latency_ns(2);
  // Popcount additions and other operations at the same price: the digital
  // energy is then the run's operations times that price.
  cost->set_popcount_add_energy_pj(0.5);
  cost->set_digital_op_energy_pj(0.5);
  cost->set_program_energy_pj_per_device(4);
  auto simulator = *Simulator::Create(program);
  SimulationStats run;
  Tensor x{{2, 100}, std::vector<float>(200, -1.0f)};
  ASSERT_TRUE(simulator->Run({x}, &run).ok());

  absl::StatusOr<InferenceCost> estimate = EstimateInferenceCost(program);
  ASSERT_TRUE(estimate.ok()) << estimate.status();
  const LayerCost &total = estimate->total();
  EXPECT_DOUBLE_EQ(total.array_energy_pj(),
                   run.row_reads() * 32 * 10 / 1000.0 / 2);
  EXPECT_DOUBLE_EQ(total.digital_energy_pj(), run.digital_ops() * 0.5 / 2);
  EXPECT_DOUBLE_EQ(total.memory_energy_pj(), 0); // no mapping report
  EXPECT_DOUBLE_EQ(total.energy_pj(),
                   total.array_energy_pj() + total.digital_energy_pj());
  EXPECT_DOUBLE_EQ(total.latency_ns(),
                   (run.row_reads() * 3.0 + run.digital_ops() * 2.0) / 2);
  double layers = 0;
  for (const LayerCost &layer : estimate->layers())
    layers += layer.energy_pj();
  EXPECT_NEAR(layers, total.energy_pj(), 1e-9 * total.energy_pj());
  // 40 rows of 100 inputs on 32 x 32 arrays: 2 row tiles of 32 and 8 rows,
  // 4 column tiles, 32 columns each, 2 devices per 2T2R cell.
  EXPECT_DOUBLE_EQ(estimate->programming_energy_pj(),
                   (32 + 8) * 4 * 32 * 2 * 4.0);

  // Popcount additions priced apart: the binarize and affine operations keep
  // the other price.
  cost->set_popcount_add_energy_pj(0);
  InferenceCost cheaper = *EstimateInferenceCost(program);
  EXPECT_GT(cheaper.total().digital_energy_pj(), 0);
  EXPECT_LT(cheaper.total().digital_energy_pj(), total.digital_energy_pj());
}

// A layer's parameters in the digital memory are read once per run.
TEST(CostModelTest, MemoryEnergyComesFromTheMappingReport) {
  std::mt19937 random(7);
  DenseProgram dense(/*batch=*/4, /*outputs=*/8, /*fan_in=*/16, 32, 32, random);
  Program &program = dense.program();
  LayerMapping *layer = program.mutable_report()->add_layers();
  layer->set_name("thresholds");
  layer->set_digital_bytes(400);
  program.mutable_chip()->mutable_cost()->set_memory_read_energy_pj_per_byte(2);
  InferenceCost estimate = *EstimateInferenceCost(program);
  EXPECT_DOUBLE_EQ(estimate.total().memory_energy_pj(), 400 * 2.0 / 4);
}

} // namespace
} // namespace hafnia
