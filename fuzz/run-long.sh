#!/bin/sh
# The long campaign: each libFuzzer target given runs SECONDS (default 600) from its in-tree
# corpus, one after another; inputs that add coverage are then merged into the in-tree corpus.
# A finding stops the campaign with its reproducer. One line of figures per target, for
# bench/README.md. Usage: run-long.sh BUILD_DIR [TARGET...]   (targets: fuzz_sse, fuzz_http, …)
set -eu
build=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
seconds=${SHOAL_FUZZ_SECONDS:-600}
[ $# -gt 0 ] || set -- $(cd "$build/fuzz" && ls fuzz_* | grep -v '\.p$')
for name in "$@"; do
    corpus="$here/corpus/${name#fuzz_}"
    scratch=$(mktemp -d)
    "$build/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$scratch/" "$scratch" "$corpus" \
        2>"$scratch/log" || {
        tail -n 60 "$scratch/log"
        ls "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* "$scratch"/oom-* 2>/dev/null
        echo "$name: FAILED (reproducer kept in $scratch)"
        exit 1
    }
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$scratch/log")
    cov=$(grep -o 'cov: [0-9]*' "$scratch/log" | tail -n 1)
    before=$(ls "$corpus" | wc -l)
    "$build/fuzz/$name" -merge=1 "$corpus" "$scratch" >/dev/null 2>&1
    after=$(ls "$corpus" | wc -l)
    echo "$name: ${seconds} s clean, $runs runs, $cov, peak RSS $rss MB, corpus $before -> $after"
    rm -rf "$scratch"
done
