#!/bin/sh
# Runs one libFuzzer target briefly from its in-tree corpus; new inputs go to a scratch folder so
# the tree is never written. Usage: run-brief.sh TARGET CORPUS_DIR
set -eu
target=$1
corpus=$2
seconds=${SHOAL_FUZZ_SECONDS:-30}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$scratch/" "$scratch" "$corpus" 2>"$scratch/log" || {
    tail -n 60 "$scratch/log"
    for f in "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-*; do
        [ -e "$f" ] && { echo "reproducer: $f"; od -c "$f" | head -20; }
    done
    exit 1
}
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' "$scratch/log" || true
echo "# $(basename "$target"): 1 passed, 0 failed"
