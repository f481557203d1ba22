#!/usr/bin/env bash
# Builds the fuzz targets with clang-19, libFuzzer, ASan and UBSan (in
# build-fuzz/ or $HAFNIA_FUZZ_BUILD_DIR) and runs one.
#
#   tools/fuzz.sh TARGET SECONDS [libFuzzer flags]   fuzz for SECONDS
#   tools/fuzz.sh TARGET --runs=N [libFuzzer flags]  N executions
#   tools/fuzz.sh --build [TARGET...]                build only (all targets)
#   tools/fuzz.sh --no-build TARGET ...              run what is built
#
# TARGET is onnx, program or tensor (test/fuzz/). New inputs go to
# BUILD/corpus-TARGET (the committed seeds in test/fuzz/corpus/TARGET are
# only read); a crash is saved as BUILD/artifacts/TARGET-crash-*, to replay
# with BUILD/test/fuzz/hafnia-fuzz-TARGET FILE. docs/development.md says
# more. The onnx target links the compiler (LLVM and MLIR 19 as Debian
# ships them, not instrumented; Hafnia's code and ONNX's headers are).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_FUZZ_BUILD_DIR:-$root/build-fuzz}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
all_targets=(onnx program tensor)

usage() {
  sed -n '5,8p' "$0" | sed 's/^# *//' >&2
  exit 2
}
[ $# -ge 1 ] || usage

command -v clang++-19 >/dev/null || {
  echo "fuzz.sh: clang++-19 is missing: apt-get install clang-19 libclang-rt-19-dev (tools/setup.sh)" >&2
  exit 1
}

build_targets() {
  local targets=("$@") names=() t
  for t in "${targets[@]}"; do
    case $t in onnx | program | tensor) names+=("hafnia-fuzz-$t") ;; *) usage ;; esac
  done
  local sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_CXX_FLAGS="$sanitizers -fsanitize=fuzzer-no-link" \
    -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" \
    -DHAFNIA_BUILD_COMPILER=ON -DHAFNIA_BUILD_PYTHON=OFF -DHAFNIA_FUZZ=ON \
    >/dev/null
  # The log (warnings too) stays in the build; a failure prints it without
  # ninja's progress lines.
  local log=$build/fuzz-build.log
  if ! cmake --build "$build" --target "${names[@]}" >"$log" 2>&1; then
    grep -v '^\[' "$log" >&2 || true
    echo "fuzz.sh: building ${names[*]} in $build failed" >&2
    exit 1
  fi
}

if [ "$1" = --build ]; then
  shift
  [ $# -ge 1 ] || set -- "${all_targets[@]}"
  build_targets "$@"
  exit
fi
prebuilt=0
if [ "$1" = --no-build ]; then
  prebuilt=1
  shift
fi

target=${1:-}
case $target in onnx | program | tensor) ;; *) usage ;; esac
shift
[ $# -ge 1 ] || usage
[ $prebuilt = 1 ] || build_targets "$target"
limit=()
case $1 in
  --runs=*) limit=("-runs=${1#--runs=}") ;;
  [0-9]*) limit=("-max_total_time=$1") ;;
  *) usage ;;
esac
shift
extra=()
# ONNX's operator names, attributes and protobuf field tags.
if [ "$target" = onnx ]; then
  extra=("-dict=$root/test/fuzz/onnx.dict")
fi
mkdir -p "$build/corpus-$target" "$build/artifacts"
binary=$build/test/fuzz/hafnia-fuzz-$target
[ -x "$binary" ] || {
  echo "fuzz.sh: $binary is not built (tools/fuzz.sh --build $target)" >&2
  exit 1
}
# Leaks are checked too (detect_leaks is on): nothing here leaks by design.
# Fixed findings (test/fuzz/findings/TARGET) are seeds too.
seeds=("$root/test/fuzz/corpus/$target")
[ -d "$root/test/fuzz/findings/$target" ] && seeds+=("$root/test/fuzz/findings/$target")
exec "$binary" "${limit[@]}" -timeout=30 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
  "${extra[@]}" "$@" "$build/corpus-$target" "${seeds[@]}"
