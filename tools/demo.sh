#!/usr/bin/env bash
# Sets up, builds, and runs Hafnia on a bundled example: the paper's ECG
# network (Table II), generated with random weights, imported into the bnn
# dialect and summarized layer by layer.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_BUILD_DIR:-$root/build}
"$root/tools/setup.sh"
"$root/tools/build.sh" >/dev/null
mkdir -p "$build/examples"
/usr/bin/python3 "$root/test/models/generate_paper_models.py" \
  --out "$build/examples" --only ecg >/dev/null
"$build/bin/hafnia-compile" "$build/examples/ecg.onnx" --emit=bnn
