// Speed of the simulator (Google Benchmark; docs/performance.md has results).
//
// BM_BinaryDense/N/L runs a binarized dense layer of N x N weights tiled
// onto 32 x 32 arrays through the simulator (one sample), at SIMD level L
// (0 scalar popcnt, 1 AVX2, 2 AVX-512 VPOPCNTDQ; levels the host lacks are
// skipped). BM_XnorPopcountRoofline/N/L/B is the fastest XNOR-popcount this
// host can do over the same packed weights at that level: the dispatched
// binary GEMM kernel alone, for B inputs per weight load (B = 1: the GEMV a
// single sample needs). Both report binary multiply-accumulates per second
// (bin_MAC/s).
// BM_Program times whole inferences of a compiled program given by the
// HAFNIA_BENCH_PROGRAM environment variable (tools/benchmark.sh sets it):
// inferences/s counts runs of the program, samples/s the samples they hold
// (the first input's first dimension: a program compiled with --batch=B
// runs B samples at once).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>

#include "../test/DenseProgram.h"
#include "hafnia/runtime/Simulator.h"
#include "kernels/Popcount.h"

namespace hafnia {
namespace {

// Sets the SIMD level of argument `k`; false (and the benchmark skipped)
// when the host does not have it.
bool UseLevel(benchmark::State &state, int k) {
  auto level = static_cast<kernels::SimdLevel>(state.range(k));
  if (kernels::SetSimdLevel(level) != level) {
    state.SkipWithError("the host lacks this SIMD level");
    return false;
  }
  state.SetLabel(kernels::SimdLevelName(level));
  return true;
}

// The simulator of `key`, made by the first of a benchmark's threads to ask
// (`make` returns it or why it cannot be made) and shared by the others and
// by later runs: threads that each made or replaced it would race. Null,
// with `error` set, when it could not be made.
template <typename Make>
const Simulator *SharedSimulator(int64_t key, Make make, std::string &error) {
  static std::mutex mutex;
  static std::map<int64_t, absl::StatusOr<std::unique_ptr<Simulator>>> made;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = made.find(key);
  if (it == made.end())
    it = made.emplace(key, make()).first;
  if (!it->second.ok()) {
    error = std::string(it->second.status().message());
    return nullptr;
  }
  return it->second->get();
}

void BM_BinaryDense(benchmark::State &state) {
  int64_t n = state.range(0);
  if (!UseLevel(state, 1))
    return;
  std::string error;
  const Simulator *simulator = SharedSimulator(
      n,
      [n] {
        std::mt19937 random(1);
        DenseProgram dense(1, n, n, 32, 32, random);
        return Simulator::Create(dense.program());
      },
      error);
  if (!simulator) {
    state.SkipWithError(error.c_str());
    return;
  }
  Tensor x{{1, n}, std::vector<float>(n, 1.0f)};
  for (int64_t i = 0; i < n; i += 3)
    x.data[i] = -1.0f;
  for (auto _ : state) {
    SimulationStats stats;
    auto y = simulator->Run({x}, &stats);
    benchmark::DoNotOptimize(y);
  }
  state.counters["bin_MAC/s"] =
      benchmark::Counter(static_cast<double>(n) * n * state.iterations(),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BinaryDense)
    ->ArgsProduct({{1024, 4096}, {0, 1, 2}})
    ->ThreadRange(1, 2)
    ->UseRealTime();

void BM_XnorPopcountRoofline(benchmark::State &state) {
  int64_t n = state.range(0), words = (n + 63) / 64, batch = state.range(2);
  if (!UseLevel(state, 1))
    return;
  std::mt19937_64 random(2);
  std::vector<uint64_t> weights(n * words), inputs(batch * words);
  for (uint64_t &word : weights)
    word = random();
  for (uint64_t &word : inputs)
    word = random();
  std::vector<int32_t> output(batch * n);
  for (auto _ : state) {
    kernels::XorPopcountGemm(weights.data(), n, inputs.data(), batch, words,
                             output.data());
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  state.counters["bin_MAC/s"] = benchmark::Counter(
      static_cast<double>(n) * n * batch * state.iterations(),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_XnorPopcountRoofline)
    ->ArgsProduct({{1024, 4096}, {0, 1, 2}, {1, 8}});

void BM_Program(benchmark::State &state) {
  const char *path = std::getenv("HAFNIA_BENCH_PROGRAM");
  if (!path) {
    state.SkipWithError("set HAFNIA_BENCH_PROGRAM to a compiled program");
    return;
  }
  std::string error;
  const Simulator *simulator = SharedSimulator(
      0,
      [path]() -> absl::StatusOr<std::unique_ptr<Simulator>> {
        absl::StatusOr<Program> program = ReadProgram(path);
        if (!program.ok())
          return program.status();
        return Simulator::Create(*std::move(program));
      },
      error);
  if (!simulator) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<Tensor> inputs;
  for (const TensorBinding &input : simulator->program().inputs()) {
    const Buffer &buffer = simulator->program().buffers(input.buffer());
    std::vector<int64_t> shape(buffer.shape().begin(), buffer.shape().end());
    int64_t count = 1;
    for (int64_t dim : shape)
      count *= dim;
    inputs.push_back(Tensor{shape, std::vector<float>(count, 0.5f)});
  }
  for (auto _ : state) {
    SimulationStats stats;
    auto outputs = simulator->Run(inputs, &stats);
    benchmark::DoNotOptimize(outputs);
  }
  state.counters["inferences/s"] =
      benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
  int64_t batch =
      inputs.empty() || inputs[0].shape.empty() ? 1 : inputs[0].shape[0];
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * batch,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Program)->ThreadRange(1, 2)->UseRealTime();

} // namespace
} // namespace hafnia

BENCHMARK_MAIN();
