#!/usr/bin/env bash
# Set up and test: installs the Debian packages, builds, and runs every test
# (unit, lab in network namespaces, exposition checks) with CTest.
#
#   scripts/test.sh              plain build in build/
#   scripts/test.sh --sanitize   ASan+UBSan build in build-asan/
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
  # detect_leaks: CivetWeb and libnl keep process-lifetime allocations that
  # LeakSanitizer reports at exit; leaks in our code are caught by the unit
  # tests, which run without those libraries' globals.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=print_stacktrace=1 \
    run build-asan -DIBPATH_SANITIZE=ON
fi
