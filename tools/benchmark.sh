#!/usr/bin/env bash
# Runs the simulator's benchmarks (docs/performance.md):
#  1. binarized dense layers against the XNOR-popcount roofline of this host
#     (the dispatched SIMD kernel alone; per SIMD level);
#  2. whole inferences, one sample each, of the ECG float, ECG binarized
#     classifier, ECG all-binarized, EEG float and MobileNet V1 models, next
#     to onnxruntime from npm on the same ONNX files, interleaved (ROUNDS
#     rounds), with the ratio Hafnia / onnxruntime of each round; then
#     whole batches of BATCH samples (default 16): the programs compiled with
#     --batch=BATCH (one run holds the batch) against onnxruntime running
#     the same batch, in samples/s;
#  3. the error sweep: 20 trials of 1T1R errors over 1,000 inputs of the
#     paper's ECG model with a binarized classifier, and 2 cells x 4 cycle
#     counts x 20 trials, one thread (wall time);
#  4. streaming: hafnia-sim's peak RSS for the same 20 trials on 1,000 and
#     on 10,000 inputs.
# THREADS (default 1) is the thread count of both sides. BASELINE=DIR (a
# build directory of another commit) adds that build's inferences/s and
# sweep times, measured in the same rounds.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_BUILD_DIR:-$root/build}
work=$build/benchmarks
rounds=${ROUNDS:-3}
threads=${THREADS:-1}
batch=${BATCH:-16}
"$root/tools/setup.sh"
"$root/tools/build.sh" >/dev/null
mkdir -p "$work"
models=$root/test/models
[ -f "$work/mobilenet_v1.onnx" ] && [ -f "$work/ecg_binarized.onnx" ] ||
  /usr/bin/python3 "$models/generate_paper_models.py" --out "$work" \
    --only ecg_binarized,mobilenet_v1 >/dev/null
compile() { # NAME ONNX BINARIZE [BATCH]
  [ -f "$work/$1.hfp" ] && [ "$work/$1.hfp" -nt "$build/bin/hafnia-compile" ] ||
    "$build/bin/hafnia-compile" "$2" --binarize="$3" ${4:+--batch="$4"} \
      --chip="$root/configs/large.textproto" -o "$work/$1.hfp" >/dev/null 2>&1
}
declare -A onnx=(
  [ecg_float]=$models/ecg/ecg_float.onnx
  [ecg_binarized_classifier]=$models/ecg/ecg_binarized_classifier.onnx
  [ecg_all_binarized]=$models/ecg/ecg_all_binarized.onnx
  [mnist_all_binarized]=$models/mnist/mnist_all_binarized.onnx
  [eeg_float]=$models/eeg/eeg_float.onnx
  [mobilenet_v1]=$work/mobilenet_v1.onnx)
declare -A binarize=([ecg_float]=none [ecg_binarized_classifier]=classifier
  [ecg_all_binarized]=all [mnist_all_binarized]=all [eeg_float]=none
  [mobilenet_v1]=none)
names="ecg_float ecg_binarized_classifier ecg_all_binarized mnist_all_binarized eeg_float mobilenet_v1"
for name in $names; do
  compile "$name" "${onnx[$name]}" "${binarize[$name]}"
  compile "$name.b$batch" "${onnx[$name]}" "${binarize[$name]}" "$batch"
done
compile ecg_table2 "$work/ecg_binarized.onnx" classifier

echo "== binary dense layers and the roofline (bin_MAC/s)"
"$build/runtime/hafnia-benchmarks" --benchmark_filter='Dense|Roofline' \
  --benchmark_min_time=0.5 2>/dev/null | grep BM_ |
  awk '{printf "%-48s %s %s\n", $1, $(NF-1), $NF}'

ort=/opt/hafnia-ort/node_modules/onnxruntime-node
echo "== whole inferences, $threads thread(s), inferences/s (round: hafnia ort ratio)"
rate() { # BUILD PROGRAM: inferences/s
  HAFNIA_BENCH_PROGRAM=$2 "$1/runtime/hafnia-benchmarks" \
    --benchmark_filter="BM_Program/real_time/threads:$threads\$" \
    --benchmark_min_time=1 2>/dev/null | grep -o 'inferences/s=[0-9.]*[kM]*' |
    sed 's/inferences\/s=//; s/k$/*1000/; s/M$/*1000000/' | bc -l
}
for round in $(seq "$rounds"); do
  for name in $names; do
    h=$(rate "$build" "$work/$name.hfp")
    o=nan
    [ -d "$ort" ] && o=$(node "$root/tools/bench/onnxruntime_benchmark.js" \
      "${onnx[$name]}" --threads="$threads" --seconds=1 | awk '{print $2}')
    line=$(printf "%d %-26s hafnia %9.1f  onnxruntime %9.1f  ratio %6.3fx" \
      "$round" "$name" "$h" "$o" "$(echo "$h / $o" | bc -l)")
    if [ -n "${BASELINE:-}" ]; then
      b=$(rate "$BASELINE" "$work/$name.hfp")
      line+=$(printf "  baseline %9.1f  ratio %6.3fx" "$b" "$(echo "$b / $o" | bc -l)")
    fi
    echo "$line"
  done
done

echo "== whole batches of $batch, $threads thread(s), samples/s (round: hafnia ort ratio)"
for round in $(seq "$rounds"); do
  for name in $names; do
    # (inferences/s times the batch: BM_Program's samples/s, which a
    # BASELINE build may predate.)
    h=$(echo "$(rate "$build" "$work/$name.b$batch.hfp") * $batch" | bc -l)
    o=nan
    [ -d "$ort" ] && o=$(node "$root/tools/bench/onnxruntime_benchmark.js" \
      "${onnx[$name]}" --threads="$threads" --seconds=2 --batch="$batch" |
      awk '{print $2}')
    line=$(printf "%d %-26s hafnia %9.1f  onnxruntime %9.1f  ratio %6.3fx" \
      "$round" "$name" "$h" "$o" "$(echo "$h / $o" | bc -l)")
    if [ -n "${BASELINE:-}" ]; then
      b=$(echo "$(rate "$BASELINE" "$work/$name.b$batch.hfp") * $batch" | bc -l)
      line+=$(printf "  baseline %9.1f  ratio %6.3fx" "$b" "$(echo "$b / $o" | bc -l)")
    fi
    echo "$line"
  done
done

echo "== error sweep, paper ECG model (Table II), binarized classifier, 1,000 inputs, $threads thread(s)"
/usr/bin/python3 - "$work/ecg_sweep_x.npy" <<'PY'
import sys, numpy as np
np.save(sys.argv[1], np.random.default_rng(0).standard_normal((1000, 12, 750)).astype(np.float32))
PY
[ -f "$work/ecg_sweep_x10k.npy" ] || /usr/bin/python3 - "$work/ecg_sweep_x10k.npy" <<'PY'
import sys, numpy as np
np.save(sys.argv[1], np.random.default_rng(1).standard_normal((10000, 12, 750)).astype(np.float32))
PY
for sim in "$build/bin/hafnia-sim" ${BASELINE:+"$BASELINE/bin/hafnia-sim"}; do
  echo "-- $sim"
for round in $(seq "$rounds"); do
  /usr/bin/time -f "$round trials: %e s wall, %M KB peak" "$sim" \
    "$work/ecg_table2.hfp" --input "$work/ecg_sweep_x.npy" --cell=1T1R \
    --cycles=1e6 --trials=20 --threads="$threads" >/dev/null
  /usr/bin/time -f "$round sweep 2 cells x 4 cycle counts x 20 trials: %e s wall, %M KB peak" \
    "$sim" "$work/ecg_table2.hfp" --input "$work/ecg_sweep_x.npy" \
    --sweep-cycles=1e4,1e5,1e6,1e7 --trials=20 --threads="$threads" >/dev/null
done
done

echo "== streaming: peak RSS of 20 trials, 1,000 and 10,000 inputs, $threads thread(s)"
for sim in "$build/bin/hafnia-sim" ${BASELINE:+"$BASELINE/bin/hafnia-sim"}; do
  for x in ecg_sweep_x ecg_sweep_x10k; do
    /usr/bin/time -f "$x: %e s wall, %M KB peak" "$sim" "$work/ecg_table2.hfp" \
      --input "$work/$x.npy" --cell=1T1R --cycles=1e6 --trials=20 \
      --threads="$threads" >/dev/null
  done
done
