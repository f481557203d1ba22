#!/usr/bin/env bash
# Sets up, builds, and runs Hafnia on a bundled example: a network trained
# with PyTorch on real handwritten digits with a binarized classifier
# (test/models/digits/). It prints the binarized bnn IR with its layer table,
# then maps the network onto the default chip's 32x32 2T2R arrays and prints
# the memory-mapping report (also written as JSON and SVG to build/examples/).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_BUILD_DIR:-$root/build}
model=$root/test/models/digits/digits_binarized_classifier.onnx
"$root/tools/setup.sh"
"$root/tools/build.sh" >/dev/null
mkdir -p "$build/examples"
"$build/bin/hafnia-compile" "$model" --emit=bnn
echo
"$build/bin/hafnia-compile" "$model" -o "$build/examples/digits.rram.mlir" \
  --report="$build/examples/digits.report.json" \
  --report-svg="$build/examples/digits.report.svg"
