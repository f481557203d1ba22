#!/usr/bin/env bash
# Builds the fuzz targets with clang-19, libFuzzer, ASan and UBSan (the
# runtime only, in build-fuzz/ or $HAFNIA_FUZZ_BUILD_DIR) and runs one.
#
#   tools/fuzz.sh TARGET SECONDS [libFuzzer flags]   fuzz for SECONDS
#   tools/fuzz.sh TARGET --runs=N [libFuzzer flags]  N executions
#   tools/fuzz.sh --build                            build only
#
# TARGET is program or tensor (test/fuzz/). New inputs go to
# BUILD/corpus-TARGET (the committed seeds in test/fuzz/corpus/TARGET are
# only read); a crash is saved as BUILD/artifacts/TARGET-crash-*, to replay
# with BUILD/bin/hafnia-fuzz-TARGET FILE. docs/development.md says more.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_FUZZ_BUILD_DIR:-$root/build-fuzz}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}

usage() {
  sed -n '5,7p' "$0" | sed 's/^# *//' >&2
  exit 2
}
[ $# -ge 1 ] || usage

command -v clang++-19 >/dev/null || {
  echo "fuzz.sh: clang++-19 is missing: apt-get install clang-19 libclang-rt-19-dev (tools/setup.sh)" >&2
  exit 1
}
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DCMAKE_CXX_FLAGS="$sanitizers -fsanitize=fuzzer-no-link" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" \
  -DHAFNIA_BUILD_COMPILER=OFF -DHAFNIA_BUILD_PYTHON=OFF -DHAFNIA_FUZZ=ON \
  >/dev/null
cmake --build "$build" --target hafnia-fuzz-program hafnia-fuzz-tensor \
  | grep -v '^\[' || true
[ "$1" = --build ] && exit 0

target=$1
shift
case $target in program | tensor) ;; *) usage ;; esac
[ $# -ge 1 ] || usage
limit=()
case $1 in
  --runs=*) limit=("-runs=${1#--runs=}") ;;
  [0-9]*) limit=("-max_total_time=$1") ;;
  *) usage ;;
esac
shift
mkdir -p "$build/corpus-$target" "$build/artifacts"
binary=$(find "$build" -name "hafnia-fuzz-$target" -type f -perm -u+x | head -1)
# Leaks are checked too (detect_leaks is on): nothing here leaks by design.
exec "$binary" "${limit[@]}" -timeout=30 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" "$@" \
  "$build/corpus-$target" "$root/test/fuzz/corpus/$target"
