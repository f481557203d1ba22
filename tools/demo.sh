#!/usr/bin/env bash
# Sets up, builds, and runs Hafnia on a bundled example: a network trained
# with PyTorch on real handwritten digits with a binarized classifier
# (test/models/digits/), imported into the bnn dialect, its classifier turned
# into XNOR-popcount layers with integer thresholds, summarized layer by layer.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_BUILD_DIR:-$root/build}
"$root/tools/setup.sh"
"$root/tools/build.sh" >/dev/null
"$build/bin/hafnia-compile" \
  "$root/test/models/digits/digits_binarized_classifier.onnx" --emit=bnn
