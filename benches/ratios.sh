#!/usr/bin/env bash
# Runs the layer benchmarks RUNS times (default 3) and prints, per request
# kind, the median time of each service (bare, the floor, tower-s3-cors,
# tower-http), each one's added cost over bare, and the targets' ratios,
# each taken within one run and then its median over the runs:
#
# - tower-s3-cors's added cost over the floor's (static_headers: the same
#   headers as constants; target <= 1.25 for a matched GET and preflight);
# - tower-s3-cors's added cost over tower-http's;
# - without Origin: tower-s3-cors's added cost minus static_vary's (one
#   Vary insert; target <= 10 ns) and S3Exact's added cost (target <= 20 ns);
# - 100 rules over 1 rule, exact and wildcard origins (target <= 1.5).
#
# Usage: benches/ratios.sh [RUNS]            run the benches, then summarize
#        OUT=DIR benches/ratios.sh [RUNS]    the same, keeping each run's output in DIR
#        benches/ratios.sh FILE...           summarize saved `cargo bench --bench layer` outputs
set -euo pipefail
cd "$(dirname "$0")/.."

files=()
if [[ $# -gt 0 && -f $1 ]]; then
    files=("$@")
else
    runs=${1:-3}
    out=${OUT:-$(mktemp -d)}
    [[ -n ${OUT:-} ]] || trap 'rm -rf "$out"' EXIT
    mkdir -p "$out"
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
    function has(grp, b) { return ((grp, b) in t) }
    # Median over the runs of (a - bare) / (b - bare), each run its own.
    function ratio(grp, a, b,   r, base, list) {
        list = ""
        for (r = 0; r < runs; r++) {
            base = run_t[r, grp, "bare"]
            list = list " " sprintf("%.3f", (run_t[r, grp, a] - base) / (run_t[r, grp, b] - base))
        }
        return sprintf("%.2f   (runs:%s)", median(list), list)
    }
    # Median over the runs of (a - bare) - (b - bare), in ns.
    function diff(grp, a, b,   r, list) {
        list = ""
        for (r = 0; r < runs; r++) list = list " " sprintf("%.1f", run_t[r, grp, a] - run_t[r, grp, b])
        return sprintf("%.1f ns   (runs:%s)", median(list), list)
    }
    # Median over the runs of a - bare, in ns.
    function added(grp, a) { return diff(grp, a, "bare") }
    function plain(grp, a, b,   r, list) {
        list = ""
        for (r = 0; r < runs; r++) list = list " " sprintf("%.3f", run_t[r, grp, a] / run_t[r, grp, b])
        return sprintf("%.2f   (runs:%s)", median(list), list)
    }
    {
        key = $2 SUBSEP $3; t[key] = t[key] " " $4
        if (!($2 in seen)) { seen[$2] = 1; order[++groups] = $2 }
        if (!(key in seen_bench)) { seen_bench[key] = 1; benches[$2] = benches[$2] " " $3 }
        run_t[$1, $2, $3] = $4
    }
    END {
        printf "medians of %d runs, ns per request; each ratio is taken within a run, then its median printed\n", runs
        for (g = 1; g <= groups; g++) {
            grp = order[g]
            printf "\n%s\n", grp
            n = split(benches[grp], b, " ")
            for (i = 1; i <= n; i++) {
                m = median(t[grp, b[i]])
                printf "  %-22s %8.1f", b[i], m
                if (has(grp, "bare") && b[i] != "bare") printf "   added %7.1f", m - median(t[grp, "bare"])
                printf "\n"
            }
            if (has(grp, "bare") && has(grp, "s3cors")) {
                if (has(grp, "static_headers"))
                    printf "  added: s3cors / static_headers (target <= 1.25): %s\n", ratio(grp, "s3cors", "static_headers")
                if (has(grp, "tower_http"))
                    printf "  added: s3cors / tower_http: %s\n", ratio(grp, "s3cors", "tower_http")
                if (has(grp, "static_vary"))
                    printf "  added: s3cors - static_vary (target <= 10 ns): %s\n", diff(grp, "s3cors", "static_vary")
            }
            if (has(grp, "bare") && has(grp, "s3cors_s3_exact") && has(grp, "static_vary"))
                printf "  added: s3cors_s3_exact (target <= 20 ns): %s\n", added(grp, "s3cors_s3_exact")
            if (has(grp, "s3cors_1") && has(grp, "s3cors_100"))
                printf "  exact origins, 100 rules / 1 rule (target <= 1.5): %s\n", plain(grp, "s3cors_100", "s3cors_1")
            if (has(grp, "s3cors_wildcard_1") && has(grp, "s3cors_wildcard_100"))
                printf "  wildcard origins, 100 rules / 1 rule (target <= 1.5): %s\n", plain(grp, "s3cors_wildcard_100", "s3cors_wildcard_1")
        }
    }'
