#!/usr/bin/env bash
# Every measurement of this crate, several runs, into results/<time>/.
#
# Usage: ./run.sh [RUNS]        (5 runs by default; about 4 minutes each)
#        ROUNDS=N ./run.sh      batches per case in a run (200)
#
# Runs `hit`, `miss` and `mem-all` RUNS times (in turn, so a burst of load
# on the machine hits one run, not one candidate), `ratio` 3 times, then
# prints the timing table (median over the runs of each case's lowest
# batch, their range, and the median of the runs' median batches).
# Instruction counts: ./instructions.sh.
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-5}
rounds=${ROUNDS:-200}
cargo build --release --locked
bin=target/release/cache-crates
out=results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
{ uname -srm; lscpu | grep -E '^(Model name|CPU\(s\)|L2|L3|Hypervisor)'; nproc; } > "$out/machine.txt"
for run in $(seq "$runs"); do
    echo "run $run of $runs" >&2
    uptime >> "$out/load.txt"
    "$bin" hit "$rounds" > "$out/hit-$run.tsv"
    "$bin" miss "$rounds" > "$out/miss-$run.tsv"
    "$bin" mem-all > "$out/mem-$run.tsv"
done
for run in 1 2 3; do
    "$bin" ratio > "$out/ratio-$run.tsv"
done
"$bin" table "$out"/hit-*.tsv "$out"/miss-*.tsv | tee "$out/timings.md"
echo "results in $out" >&2
