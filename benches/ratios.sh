#!/usr/bin/env bash
# Runs the layer benchmarks RUNS times (default 3) and prints, per request
# kind, the median time of the bare service, tower-s3-cors and tower-http,
# each layer's added cost over bare, and the ratio of the two added costs
# (the issue's target: at most 0.25). Ratios come from the same run.
#
# Usage: benches/ratios.sh [RUNS]            run the benches, then summarize
#        benches/ratios.sh FILE...           summarize saved `cargo bench --bench layer` outputs
set -euo pipefail
cd "$(dirname "$0")/.."

files=()
if [[ $# -gt 0 && -f $1 ]]; then
    files=("$@")
else
    runs=${1:-3}
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    for run in $(seq "$runs"); do
        echo "run $run of $runs: cargo bench --bench layer" >&2
        cargo bench -q --bench layer >"$out/run$run.txt" 2>&1
        files+=("$out/run$run.txt")
    done
fi

# One line per (run, benchmark): "run group bench ns", the median estimate.
for i in "${!files[@]}"; do
    awk -v run="$i" '
        /^[a-z0-9_]+\/[a-z0-9_]+/ { name = $1 }
        /time:/ {
            sub(/.*\[/, ""); v = $3; u = $4
            f = (u == "ps") ? 0.001 : (u == "ns") ? 1 : (u == "µs" || u == "us") ? 1000 : (u == "ms") ? 1e6 : 1e9
            split(name, p, "/"); printf "%s %s %s %.2f\n", run, p[1], p[2], v * f
        }' "${files[$i]}"
done | awk -v runs="${#files[@]}" '
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        key = $2 SUBSEP $3; t[key] = t[key] " " $4
        if (!($2 in seen)) { seen[$2] = 1; order[++groups] = $2 }
        if (!(key in seen_bench)) { seen_bench[key] = 1; benches[$2] = benches[$2] " " $3 }
        run_t[$1, $2, $3] = $4
    }
    END {
        printf "medians of %d runs, ns per request; ratio = s3cors added / tower_http added, per run, then its median\n", runs
        for (g = 1; g <= groups; g++) {
            grp = order[g]
            printf "\n%s\n", grp
            n = split(benches[grp], b, " ")
            for (i = 1; i <= n; i++) {
                m = median(t[grp, b[i]])
                printf "  %-18s %8.1f", b[i], m
                if ((grp, "bare") in t && b[i] != "bare") printf "   added %7.1f", m - median(t[grp, "bare"])
                printf "\n"
            }
            if ((grp, "bare") in t && (grp, "s3cors") in t && (grp, "tower_http") in t) {
                ratios = ""
                for (r = 0; r < runs; r++) {
                    base = run_t[r, grp, "bare"]
                    ratios = ratios " " (run_t[r, grp, "s3cors"] - base) / (run_t[r, grp, "tower_http"] - base)
                }
                printf "  ratio (target <= 0.25): %.2f   (runs:%s)\n", median(ratios), ratios
            }
            if ((grp, "s3cors_1") in t && (grp, "s3cors_100") in t)
                printf "  100 rules / 1 rule (target <= 1.5): %.2f\n", median(t[grp, "s3cors_100"]) / median(t[grp, "s3cors_1"])
        }
    }'
