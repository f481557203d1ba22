#!/usr/bin/env bash
# Installs every Debian package Hafnia's build and tests need. Idempotent:
# when everything is installed it only asks dpkg, which takes a second.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  python3-onnx python3-numpy
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
# Only LLVM 19: a newer libmlir (e.g. libmlir-22) conflicts with it.
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
