#!/usr/bin/env bash
# Runs the simulator's benchmarks (docs/performance.md): binarized dense
# layers against the bare XNOR-popcount roofline, and whole inferences of the
# paper's ECG model (real weights and binarized classifier), next to
# onnxruntime from npm on the same ONNX files when it is installed in
# /opt/hafnia-ort (see tools/bench/onnxruntime_benchmark.js).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_BUILD_DIR:-$root/build}
work=$build/benchmarks
"$root/tools/setup.sh"
"$root/tools/build.sh" >/dev/null
mkdir -p "$work"
/usr/bin/python3 "$root/test/models/generate_paper_models.py" --out "$work" \
  --only ecg,ecg_binarized >/dev/null
"$build/bin/hafnia-compile" "$work/ecg.onnx" --binarize=none \
  -o "$work/ecg-real.hfp" >/dev/null 2>&1
"$build/bin/hafnia-compile" "$work/ecg_binarized.onnx" \
  -o "$work/ecg-binarized.hfp" >/dev/null 2>&1

"$build/runtime/hafnia-benchmarks" --benchmark_filter='Dense|Roofline'
for program in ecg-real ecg-binarized; do
  echo "== $program.hfp"
  HAFNIA_BENCH_PROGRAM=$work/$program.hfp \
    "$build/runtime/hafnia-benchmarks" --benchmark_filter=BM_Program 2>/dev/null |
    grep BM_
done
if [ -d /opt/hafnia-ort/node_modules/onnxruntime-node ]; then
  for model in ecg ecg_binarized; do
    for threads in 1 2; do
      node "$root/tools/bench/onnxruntime_benchmark.js" "$work/$model.onnx" \
        --threads=$threads
    done
  done
else
  echo "onnxruntime-node is not installed in /opt/hafnia-ort: skipped"
fi
