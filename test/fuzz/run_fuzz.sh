#!/bin/sh
# ctest driver for one libFuzzer target (IBPATH_FUZZ builds).
#   run_fuzz.sh replay BINARY CORPUS_DIR ARTIFACT_DIR
#       runs every seed once (files are passed one by one: libFuzzer runs
#       each file once and exits)
#   run_fuzz.sh fuzz BINARY CORPUS_DIR ARTIFACT_DIR SECONDS
#       fuzzes for SECONDS from a fresh copy of the seeds, so the in-repo
#       corpus never grows; a crash leaves its input in ARTIFACT_DIR (add it to
#       test/fuzz/corpus/<target>/ once the parser is fixed)
set -eu
mode=$1 bin=$2 corpus=$3 artifacts=$4
mkdir -p "$artifacts"
case "$mode" in
  replay)
    exec "$bin" -rss_limit_mb=512 -timeout=10 -artifact_prefix="$artifacts/" "$corpus"/* ;;
  fuzz)
    seconds=$5
    work=$(mktemp -d "${TMPDIR:-/tmp}/ibpath-fuzz.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    cp "$corpus"/* "$work"/
    # test/fuzz/dict/<target>.dict: tokens the parser compares against.
    dict=$(dirname "$0")/dict/$(basename "$corpus").dict
    set --
    if [ -f "$dict" ]; then set -- -dict="$dict"; fi
    "$bin" -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$@" "$work" ;;
  *) echo "usage: $0 replay|fuzz BINARY CORPUS ARTIFACTS [SECONDS]" >&2; exit 2 ;;
esac
