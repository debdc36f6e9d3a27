#!/usr/bin/env bash
# Instructions per request for every case of benches/instructions.rs,
# counted by callgrind: repeatable on a noisy shared machine where times are
# not. Needs valgrind (`apt-get install -y valgrind`).
#
# Usage: benches/instructions.sh [CASE...]   (default: the cases of the targets)
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
    set -- bare/get_origin s3cors/get_origin tower_http/get_origin \
        bare/get_origin_cloned s3cors/get_origin_cloned tower_http/get_origin_cloned \
        bare/preflight_2_names s3cors/preflight_2_names tower_http/preflight_2_names \
        bare/preflight_2_names_cloned s3cors/preflight_2_names_cloned tower_http/preflight_2_names_cloned \
        bare/get_no_origin s3cors/get_no_origin s3cors_s3_exact/get_no_origin tower_http/get_no_origin \
        s3cors_100_rules/get_origin
fi

times=2000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-40s %12s\n' case "instr/request"
for case in "$@"; do
    file="$out/${case//\//_}.out"
    valgrind --tool=callgrind --toggle-collect='*instructions*measured*' \
        --callgrind-out-file="$file" "$bin" "$case" "$times" >/dev/null 2>&1
    total=$(grep -E '^(summary|totals):' "$file" | head -n1 | awk '{print $2}')
    printf '%-40s %12d\n' "$case" $((total / times))
done
