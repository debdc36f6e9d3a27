#!/usr/bin/env bash
# What the `metrics` feature and shadows cost the layer (benches/observe.rs),
# against the same build without the feature: instructions per request
# (callgrind, both binaries copied to one path in turn, since counts
# depend on the binary's path) and times from interleaved runs of the two
# binaries in turn (each run itself interleaves its cases' batches).
#
# Usage: benches/observe.sh [RUNS]     (default 5; ROUNDS and BATCH as in
#                                       benches/interleaved.rs, default 200 x 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
export ROUNDS=${ROUNDS:-200} BATCH=${BATCH:-1000}

build() {
    cargo bench --bench observe --no-run --message-format=json "$@" 2>/dev/null \
        | grep -o '"executable":"[^"]*observe[^"]*"' | tail -n1 | cut -d'"' -f4
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$(build)" "$dir/off"
cp "$(build --features metrics)" "$dir/on"

cases="get/plain get/shadowed preflight/plain preflight/shadowed get/buckets"
if command -v valgrind >/dev/null; then
    times=2000
    printf '%-22s %14s %14s\n' "instructions/request" "metrics off" "metrics on"
    declare -A count
    for build in off on; do
        cp "$dir/$build" "$dir/observe"
        extra=""
        [[ $build == on ]] && extra="get/bucket_labels"
        for case in $cases $extra; do
            out="$dir/cg.out"
            valgrind --tool=callgrind --toggle-collect='*observe*measured*' \
                --callgrind-out-file="$out" "$dir/observe" "$case" "$times" >/dev/null 2>&1
            total=$(grep -E '^(summary|totals):' "$out" | head -n1 | awk '{print $2}')
            count[$build/$case]=$((total / times))
        done
    done
    for case in $cases get/bucket_labels; do
        printf '%-22s %14s %14s\n' "$case" "${count[off/$case]:-}" "${count[on/$case]:-}"
    done
    echo
else
    echo "(no valgrind: instruction counts skipped; apt-get install -y valgrind)"
fi

echo "times: $runs runs of each build in turn, lowest batch of each run (ns per request)"
for run in $(seq "$runs"); do
    "$dir/off" | sed -n 's/^\([a-z_/]*\) *lowest *\([0-9.]*\).*/off \1 \2/p'
    "$dir/on" | sed -n 's/^\([a-z_/]*\) *lowest *\([0-9.]*\).*/on \1 \2/p'
done | tee "$dir/times" >/dev/null
python3 - "$dir/times" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    build, case, ns = line.split()
    runs.setdefault((build, case), []).append(float(ns))
med = {key: statistics.median(values) for key, values in runs.items()}
for (build, case), values in sorted(runs.items()):
    print(f"{build:<3} {case:<20} median {med[build, case]:7.1f}   runs " + " ".join(f"{v:.1f}" for v in values))
def diff(a, b):
    # The median of the per-run differences: each pair of runs ran back to back.
    return statistics.median(x - y for x, y in zip(runs[a], runs[b]))
print()
for kind in ("get", "preflight"):
    print(f"{kind:<9} metrics on - off, no shadow:    {diff(('on', kind + '/plain'), ('off', kind + '/plain')):+6.1f} ns")
    print(f"{kind:<9} shadow - none, metrics on:      {diff(('on', kind + '/shadowed'), ('on', kind + '/plain')):+6.1f} ns")
    print(f"{kind:<9} shadow stored, metrics off:     {diff(('off', kind + '/shadowed'), ('off', kind + '/plain')):+6.1f} ns")
if ("on", "get/bucket_labels") in runs:
    print(f"get       per-bucket counters, metrics on: {diff(('on', 'get/bucket_labels'), ('on', 'get/buckets')):+6.1f} ns (against Buckets without them)")
PY
