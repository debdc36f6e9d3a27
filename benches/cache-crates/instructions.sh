#!/usr/bin/env bash
# Instructions per operation under callgrind: repeatable where times on a
# shared machine are not (they count no cache miss: a hit at 1 M buckets
# costs far more time than its instructions say).
#
# Usage: ./instructions.sh [CANDIDATE...]   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked
bin=target/release/cache-crates
candidates=("$@")
[[ ${#candidates[@]} -gt 0 ]] || candidates=(papaya-clock quick_cache moka papaya-s3fifo papaya-clock-foldhash quick_cache-foldhash)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '| candidate | hit, 1 bucket | hit, 1 M buckets | miss+insert at capacity 10 k |\n|---|---:|---:|---:|\n'
for candidate in "${candidates[@]}"; do
    row="| $candidate"
    for spec in hit1:100000 hit1m:100000 miss:20000; do
        case=${spec%%:*} n=${spec##*:}
        if [[ $case == miss && $candidate == *foldhash ]]; then row+=" | –"; continue; fi
        valgrind --tool=callgrind --callgrind-out-file="$dir/out" \
            --toggle-collect='*measured*' "$bin" instr "$candidate" "$case" "$n" 2>/dev/null
        total=$(grep -E '^(summary|totals):' "$dir/out" | head -n1 | awk '{print $2}')
        row+=" | $(awk -v t="$total" -v n="$n" 'BEGIN { printf "%.0f", t / n }')"
    done
    echo "$row |"
done
