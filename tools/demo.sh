#!/usr/bin/env bash
# The main job, end to end, on the bundled ECG example (test/models/ecg/): a
# network trained with PyTorch on real ECG (MIT-BIH record 208) to detect an
# inverted electrode, in the paper's three variants. It sets up and builds,
# compiles the model with a binarized classifier for the default chip's 32x32
# 2T2R arrays, prints the memory-mapping report, and simulates the test set
# on the error-free chip, on 2T2R cells with the default error model, and
# the real-weights model for comparison.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_BUILD_DIR:-$root/build}
ecg=$root/test/models/ecg
out=$build/examples
"$root/tools/setup.sh"
"$root/tools/build.sh" >/dev/null
mkdir -p "$out"

echo "== hafnia-compile ecg_binarized_classifier.onnx -o ecg.hfp"
"$build/bin/hafnia-compile" "$ecg/ecg_binarized_classifier.onnx" \
  -o "$out/ecg.hfp" --report-svg="$out/ecg.report.svg"
echo
echo "== hafnia-sim ecg.hfp on 2T2R cells after 1e6 programming cycles, 20 trials"
"$build/bin/hafnia-sim" "$out/ecg.hfp" --input "$ecg/ecg_test_x.npy" \
  --labels "$ecg/ecg_test_y.npy" --cell=2T2R --cycles=1e6 --trials=20 \
  --threads=2
echo
echo "== the same on 1T1R cells"
"$build/bin/hafnia-sim" "$out/ecg.hfp" --input "$ecg/ecg_test_x.npy" \
  --labels "$ecg/ecg_test_y.npy" --cell=1T1R --cycles=1e6 --trials=20 \
  --threads=2 | sed -n '2,6p'
echo
echo "== the real-weights model (--binarize=none) for comparison"
"$build/bin/hafnia-compile" "$ecg/ecg_float.onnx" --binarize=none \
  -o "$out/ecg-real.hfp" | tail -n 3
"$build/bin/hafnia-sim" "$out/ecg-real.hfp" --input "$ecg/ecg_test_x.npy" \
  --labels "$ecg/ecg_test_y.npy" --threads=2 | sed -n '1,2p'
