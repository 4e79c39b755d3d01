#!/usr/bin/env bash
# Fails if any C/C++ source differs from what clang-format (the repo's
# .clang-format, Debian's clang-format 14) would write. Fix with:
#   clang-format -i $(git ls-files '*.cc' '*.h' '*.c')
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cc' '*.h' '*.c' | grep -v '^test/fixtures/')
else
  mapfile -t files < <(find agent collectors test -name '*.cc' -o -name '*.h' -o -name '*.c' |
                       grep -v '^test/fixtures/')
fi
clang-format --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files clean"
