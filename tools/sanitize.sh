#!/usr/bin/env bash
# Builds the tools with clang-19, AddressSanitizer and UndefinedBehavior-
# Sanitizer (in build-asan/ or $HAFNIA_ASAN_BUILD_DIR) and runs the lit tests
# and the catalogue of bad inputs on them (issue 13). Not part of CI: the
# build takes about 15 minutes on 2 cores the first time.
#
#   tools/sanitize.sh            build, then lit and the catalogue
#   tools/sanitize.sh --build    build only
#   tools/sanitize.sh catalogue  the catalogue only (after a build)
#   tools/sanitize.sh lit [PATH...]  lit only, on test/ or on PATHs under it
#
# Every sanitizer report goes to a file in BUILD/sanitizer-logs/ (so that a
# report from a command a test expects to fail, `not hafnia-compile ...`,
# is not lost); the script fails if any was written, and prints them.
# Leaks are checked (detect_leaks=1); UBSan stops at the first report.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HAFNIA_ASAN_BUILD_DIR:-$root/build-asan}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
tools=(hafnia-compile hafnia-sim hafnia-inspect hafnia-translate hafnia-opt)

usage() {
  sed -n '7,10p' "$0" | sed 's/^# *//' >&2
  exit 2
}
command -v clang++-19 >/dev/null || {
  echo "sanitize.sh: clang++-19 is missing: apt-get install clang-19 libclang-rt-19-dev (tools/setup.sh)" >&2
  exit 1
}

build_tools() {
  local flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
    -DCMAKE_SHARED_LINKER_FLAGS="$flags" -DHAFNIA_BUILD_PYTHON=OFF \
    >/dev/null
  local log=$build/sanitize-build.log
  if ! cmake --build "$build" --target "${tools[@]}" >"$log" 2>&1; then
    grep -v '^\[' "$log" >&2 || true
    echo "sanitize.sh: building the tools in $build failed" >&2
    exit 1
  fi
}

logs=$build/sanitizer-logs
sanitized() {
  mkdir -p "$logs"
  rm -f "$logs"/report.*
  # log_path: one file per process that reports (report.PID).
  # allow_user_poisoning=0: LLVM's headers poison BumpPtrAllocator slabs in
  # our ASan-built code, Debian's LLVM and MLIR libraries do not unpoison
  # them; a shared allocator would read as use-after-poison.
  ASAN_OPTIONS="detect_leaks=1:allow_user_poisoning=0:log_path=$logs/report:${ASAN_OPTIONS:-}" \
    UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/report:${UBSAN_OPTIONS:-}" \
    PATH="$build/bin:$PATH" "$@"
}
check_reports() {
  local reports
  reports=$(find "$logs" -name 'report.*' -type f | sort)
  if [ -n "$reports" ]; then
    echo "sanitize.sh: $(echo "$reports" | wc -l) sanitizer report(s) after $1:" >&2
    for r in $reports; do
      echo "--- $r" >&2
      head -40 "$r" >&2
    done
    return 1
  fi
  echo "sanitize.sh: $1: no sanitizer report"
}

run_catalogue() {
  local work=$build/catalogue
  rm -rf "$work" && mkdir -p "$work"
  local status=0
  sanitized hafnia-compile "$root/test/models/digits/digits_binarized_classifier.onnx" \
    -o "$work/good.hfp" >/dev/null 2>&1
  sanitized /usr/bin/python3 "$root/test/Runtime/malformed/make_malformed.py" \
    --program "$work/good.hfp" --proto-dir "$root/runtime/proto" "$work/cases"
  sanitized /usr/bin/python3 "$root/test/Runtime/malformed/check_malformed.py" \
    "$work/cases/cases.json" "$work/good.hfp" || status=1
  check_reports "the catalogue" || status=1
  return $status
}

run_lit() {
  local status=0 paths=("$@")
  [ ${#paths[@]} -gt 0 ] || paths=("$build/test")
  sanitized /usr/bin/python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv \
    --timeout=1800 "${paths[@]}" || status=1
  check_reports "lit" || status=1
  return $status
}

case ${1:-all} in
  --build) build_tools ;;
  catalogue) run_catalogue ;;
  lit)
    shift
    run_lit "$@"
    ;;
  all)
    build_tools
    status=0
    run_catalogue || status=1
    run_lit || status=1
    exit $status
    ;;
  *) usage ;;
esac
