#!/usr/bin/env bash
# Sets up, builds, and runs Hafnia on a bundled example: a network trained
# with PyTorch on real handwritten digits with a binarized classifier
# (test/models/digits/). It compiles the ONNX model for the default chip's
# 32x32 2T2R arrays, prints the memory-mapping report, and simulates the
# program bit for bit on the 500 bundled test images.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_BUILD_DIR:-$root/build}
digits=$root/test/models/digits
"$root/tools/setup.sh"
"$root/tools/build.sh" >/dev/null
mkdir -p "$build/examples"
echo "== hafnia-compile digits_binarized_classifier.onnx -o digits.hfp"
"$build/bin/hafnia-compile" "$digits/digits_binarized_classifier.onnx" \
  -o "$build/examples/digits.hfp" \
  --report-svg="$build/examples/digits.report.svg"
echo
echo "== hafnia-sim digits.hfp --input digits_test_x.npy --labels digits_test_y.npy"
"$build/bin/hafnia-sim" "$build/examples/digits.hfp" \
  --input "$digits/digits_test_x.npy" --labels "$digits/digits_test_y.npy" \
  --output "$build/examples/digits.logits.npy" --threads=2
