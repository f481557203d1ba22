#!/usr/bin/env bash
# Compiles MODEL twice with the same flags, to a program and with
# --emit=onnx, runs the program with hafnia-sim (error-free) and the ONNX
# model with onnxruntime on the same INPUTS, and compares the outputs
# (--exact or --rtol R, see compare_outputs.py).
#
# Usage: check_emit_onnx.sh PYTHON DIR NAME MODEL INPUTS.npy COMPARE [FLAGS...]
#   COMPARE is "exact" or a relative tolerance such as 1e-5.
set -euo pipefail
python=$1 dir=$2 name=$3 model=$4 inputs=$5 compare=$6
shift 6
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runner=$here/../models/digits/reference/run_onnxruntime.js
hafnia-compile "$model" "$@" -o "$dir/$name.hfp" > /dev/null 2>&1
hafnia-compile "$model" "$@" --emit=onnx -o "$dir/$name.onnx" > /dev/null 2> "$dir/$name.err" ||
  { grep -v remark "$dir/$name.err" >&2; exit 1; }
# Some inputs hold NaNs on purpose, to compare the NaN rules of both.
hafnia-sim "$dir/$name.hfp" --input "$inputs" --output "$dir/$name.sim.npy" \
  --allow-nonfinite-inputs > /dev/null
node "$runner" "$dir/$name.onnx" "$inputs" "$dir/$name.ort.npy" 2> "$dir/$name.ort.err" ||
  { cat "$dir/$name.ort.err" >&2; exit 1; }
if [ "$compare" = exact ]; then
  mode=(--exact)
else
  mode=(--rtol "$compare")
fi
if result=$("$python" "$here/compare_outputs.py" "$dir/$name.sim.npy" "$dir/$name.ort.npy" "${mode[@]}"); then
  echo "$name: $result"
else
  echo "$name: $result" >&2
  exit 1
fi
