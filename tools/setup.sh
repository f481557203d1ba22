#!/usr/bin/env bash
# Installs every Debian package Hafnia's build and tests need. Idempotent:
# when everything is installed it only asks dpkg, which takes a second.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  python3-onnx python3-numpy python3-torch python3-torchvision
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$package")
done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  # Only LLVM 19: a newer libmlir (e.g. libmlir-22) conflicts with it.
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The reference executor of the end-to-end tests, outside the repository
# (~113 MB); the variable skips a post-install download that fails here.
# node and npm must be on PATH (Debian's nodejs and npm, or another install).
if [ ! -d /opt/hafnia-ort/node_modules/onnxruntime-node ]; then
  echo "setup: installing onnxruntime-node into /opt/hafnia-ort" >&2
  $sudo mkdir -p /opt/hafnia-ort
  (cd /opt/hafnia-ort &&
    ONNXRUNTIME_NODE_INSTALL=skip $sudo npm install --silent onnxruntime-node@1.30.0)
fi
