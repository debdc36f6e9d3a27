#!/usr/bin/env bash
# Instructions per request for every case of benches/instructions.rs,
# counted by callgrind: repeatable on a noisy shared machine where times are
# not. Needs valgrind (`apt-get install -y valgrind`).
#
# Counts repeat exactly for one binary at one path; the allocator's paths
# depend on the process's environment (binary path, variables), so compare
# builds by copying both binaries to the same path, and compare services
# within one run.
#
# Usage: benches/instructions.sh [CASE...]   (default: the cases of the targets)
#        KEEP=DIR benches/instructions.sh ... keeps the callgrind files in DIR
#        (for callgrind_annotate)
#
# Each case gets two counts per request: all instructions, and those
# outside the allocator's malloc/free. The path an allocation takes
# depends on the blocks freed before (building the policy, the requests),
# not on the code measured: one service's allocation may take a slow path
# that another's of the same size does not, by 200 instructions and more.
# Between services that allocate as often (ours and the semantic floor:
# none for a GET, one for a preflight), the second count compares the code
# alone; allocations are counted, and asserted, in tests/alloc_counts.rs.
#
# After the counts, tables of the instructions each layer adds over bare,
# and the ratios of tower-s3-cors's to the semantic floor's (S3's CORS
# written by hand for the document; the Origin lookup alone for S3Exact
# without Origin), to the constant floor's (static_headers, or static_vary
# for a request without Origin) and to tower-http's.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    echo "valgrind is needed: apt-get install -y valgrind" >&2
    exit 1
fi

bin=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null \
    | grep -o '"executable":"[^"]*instructions[^"]*"' | tail -n1 | cut -d'"' -f4)
[[ -x "$bin" ]] || { echo "could not build the instructions bench" >&2; exit 1; }

if [[ $# -eq 0 ]]; then
    set -- bare/get_origin static_headers/get_origin semantic/get_origin s3cors/get_origin \
        tower_http/get_origin \
        bare/get_origin_cloned static_headers/get_origin_cloned semantic/get_origin_cloned \
        s3cors/get_origin_cloned tower_http/get_origin_cloned \
        bare/preflight_2_names static_headers/preflight_2_names semantic/preflight_2_names \
        s3cors/preflight_2_names tower_http/preflight_2_names \
        bare/preflight_2_names_cloned static_headers/preflight_2_names_cloned \
        semantic/preflight_2_names_cloned s3cors/preflight_2_names_cloned \
        tower_http/preflight_2_names_cloned \
        bare/get_no_origin static_vary/get_no_origin semantic/get_no_origin s3cors/get_no_origin \
        origin_lookup/get_no_origin s3cors_s3_exact/get_no_origin tower_http/get_no_origin \
        bare/get_origin_ct static_headers/get_origin_ct semantic/get_origin_ct s3cors/get_origin_ct \
        tower_http/get_origin_ct \
        bare/get_no_origin_ct static_vary/get_no_origin_ct semantic/get_no_origin_ct \
        s3cors/get_no_origin_ct origin_lookup/get_no_origin_ct s3cors_s3_exact/get_no_origin_ct \
        tower_http/get_no_origin_ct \
        s3cors_100_rules/get_origin s3cors_wildcard_1/get_origin s3cors_wildcard_100/get_origin
fi

times=2000
out=${KEEP:-$(mktemp -d)}
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$out"' EXIT
mkdir -p "$out"
declare -A all outside
printf '%-40s %12s %12s\n' case "instr/request" "w/o malloc"
for case in "$@"; do
    file="$out/${case//\//_}.out"
    valgrind --tool=callgrind --toggle-collect='*instructions*measured*' \
        --callgrind-out-file="$file" "$bin" "$case" "$times" >/dev/null 2>&1
    total=$(grep -E '^(summary|totals):' "$file" | head -n1 | awk '{print $2}')
    # The allocator's own instructions (malloc, free, realloc, with what
    # they call).
    alloc=$(callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null \
        | { grep -E 'malloc\.c:(malloc|free|realloc|calloc) ' || true; } \
        | awk '{gsub(",", "", $1); sum += $1} END {print sum + 0}')
    all[$case]=$((total / times))
    outside[$case]=$(((total - alloc) / times))
    printf '%-40s %12d %12d\n' "$case" "${all[$case]}" "${outside[$case]}"
done

# Added instructions over bare, against the semantic floor (semantic: S3's
# CORS written by hand for the document; for S3Exact without Origin, the
# Origin lookup alone), the constant floor (static_headers, or static_vary
# for a request without Origin) and tower-http; from the counts named
# (`all` or `outside`).
summary() {
    local -n count=$1
    printf '%-28s %9s %9s %9s %9s %12s %12s %12s\n' request semantic constant ours tower_http \
        "ours/sem" "ours/const" "ours/t_http"
    for case in "${cases[@]}"; do
        [[ $case == s3cors/* || $case == s3cors_s3_exact/* ]] || continue
        request=${case#*/}
        bare=${count[bare/$request]:-}
        [[ -n $bare ]] || continue
        semantic=${count[semantic/$request]:-}
        constant=${count[static_headers/$request]:-${count[static_vary/$request]:-}}
        # Without Origin, S3Exact adds no header: its floors are the Origin
        # lookup and bare itself.
        if [[ $case == s3cors_s3_exact/* ]]; then
            semantic=${count[origin_lookup/$request]:-}
            constant=
        fi
        theirs=${count[tower_http/$request]:-}
        ours=$((count[$case] - bare))
        awk -v name="${case%%/*}/$request" -v ours="$ours" \
            -v semantic="${semantic:+$((semantic - bare))}" \
            -v constant="${constant:+$((constant - bare))}" \
            -v theirs="${theirs:+$((theirs - bare))}" '
            function ratio(floor) { return (floor != "" && floor > 0) ? sprintf("%.2f", ours / floor) : "" }
            BEGIN {
                printf "%-28s %9s %9s %9d %9s %12s %12s %12s\n", name, semantic, constant, ours, theirs,
                    ratio(semantic), ratio(constant), ratio(theirs)
            }'
    done
}
cases=("$@")
echo
echo "added instructions, all of them (tower-http allocates 8 to 11 times per request, we at most once):"
summary all
echo
echo "added instructions outside malloc/free (for the floors, which allocate as often as we do):"
summary outside
