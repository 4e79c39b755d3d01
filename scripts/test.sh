#!/usr/bin/env bash
# Set up and test: installs the Debian packages, builds, and runs every test
# (unit, lab in network namespaces, exposition checks) with CTest.
#
#   scripts/test.sh              plain build in build/
#   scripts/test.sh --sanitize   clang ASan+UBSan build in build-asan/, which is also
#                                the fuzzing build: libFuzzer targets replay their
#                                seeds and fuzz 20 s each (ctest -L fuzz)
#   scripts/test.sh --all        both (what CI runs)
#
# Lab tests create network namespaces and need root; they fail (not skip)
# without it.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=plain
case "${1:-}" in
  "") ;;
  --sanitize) mode=sanitize ;;
  --all) mode=all ;;
  *) echo "usage: $0 [--sanitize|--all]" >&2; exit 2 ;;
esac

./scripts/install-deps.sh

jobs=$(nproc)
run() {  # run <build-dir> <cmake args...>
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIBPATH_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 300)
}

if [ "$mode" = plain ] || [ "$mode" = all ]; then
  run build
fi
if [ "$mode" = sanitize ] || [ "$mode" = all ]; then
  # Leak detection on: every agent the lab starts must also exit (SIGTERM)
  # without a LeakSanitizer report, or its test fails on the exit status.
  # clang, so that the sanitizer build also builds and runs the libFuzzer
  # targets (test/fuzz/): one sanitizer build covers both.
  # A build-asan/ configured by GCC before keeps its compiler: start afresh.
  if [ -f build-asan/CMakeCache.txt ] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang' build-asan/CMakeCache.txt; then
    rm -rf build-asan
  fi
  CC=clang CXX=clang++ \
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=print_stacktrace=1 \
    run build-asan -DIBPATH_SANITIZE=ON -DIBPATH_FUZZ=ON
fi
