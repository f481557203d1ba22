#!/usr/bin/env bash
# Sets up, builds and runs every test; ends with ctest's summary line.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_BUILD_DIR:-$root/build}
"$root/tools/setup.sh"
"$root/tools/build.sh"
ctest --test-dir "$build" --output-on-failure -j 2
