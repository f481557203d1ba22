#!/usr/bin/env bash
# Installs every Debian package Hafnia's build and tests need. Idempotent:
# when everything is installed it only asks dpkg, which takes a second.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  # The simulator's real-valued convolutions and dense layers (oneDNN).
  libdnnl-dev
  python3-onnx python3-numpy
  # The Python module (python/) and its tests and walk-through.
  pybind11-dev python3-dev python3-pytest python3-matplotlib
  # A one-node Slurm cluster for the cluster-sweep test (test/cluster).
  slurm-wlm munge
  # PyTorch exports generated at test time (test/models/*.py).
  python3-torch python3-torchvision
  # The fuzz targets (tools/fuzz.sh): clang with libFuzzer and sanitizers.
  clang-19 libclang-rt-19-dev libomp-19-dev
)

# onnxruntime from npm is the tests' independent reference executor (it
# ships no C headers: test/models/digits/reference/run_onnxruntime.js calls
# it from node). ONNXRUNTIME_NODE_INSTALL=skip stops a post-install download
# that fails offline; the CPU library ships in the package.
ort_dir=/opt/hafnia-ort
install_onnxruntime() {
  [ -d "$ort_dir/node_modules/onnxruntime-node" ] && return 0
  echo "setup: installing onnxruntime-node@1.30.0 into $ort_dir" >&2
  $sudo mkdir -p "$ort_dir"
  (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip $sudo npm install --silent \
    --no-audit --no-fund onnxruntime-node@1.30.0 >/dev/null)
}

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
# node and npm for onnxruntime: Debian's, unless the machine has them.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  # Only LLVM 19: a newer libmlir (e.g. libmlir-22) conflicts with it.
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
install_onnxruntime
