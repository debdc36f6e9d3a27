#!/usr/bin/env bash
# Load test of the hyper example (examples/hyper): the same binary with no
# CORS layer (bare), with tower-s3-cors (s3cors) and with tower-http's
# CorsLayer (tower-http), for a GET with Origin and for a preflight, each
# run RUNS times in turn, on loopback only. Prints req/s and p99 latency
# per run and the medians. The shares ("vs bare", "vs static") are taken
# within each run, then their median is printed: the machine's speed drifts
# between runs more than the modes differ within one.
#
# A fourth mode, static-headers, is the floor: bare plus the five headers
# s3cors adds to a matched GET, as constants, and S3's answer to the
# preflight built from constants (200, the CORS headers, Vary; the handler
# is not called), the cost of sending those answers, which no CORS layer
# can avoid. The "vs static" column shows how much of the gap is the
# layer's own work (target: >= 99 %).
#
# On a multi-core machine the server is pinned to CPU 0 with one tokio
# worker and wrk to CPU 1, so the server's own cost per request decides its
# throughput and the two do not fight over a core.
#
# Usage: benches/load.sh            (DURATION=5s CONNECTIONS=32 RUNS=3 PORT=3001)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
RUNS=${RUNS:-3}
PORT=${PORT:-3001}
HOST=127.0.0.1 # loopback only, always
MODES=(bare static-headers s3cors tower-http)
KINDS=(get preflight)

if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

echo "building example-hyper (release)" >&2
cargo build --release -q -p example-hyper
bin=target/release/example-hyper

server_cpu=() wrk_cpu=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
    server_cpu=(taskset -c 0)
    wrk_cpu=(taskset -c 1)
fi

tmp=$(mktemp -d)
server_pid=
stop_server() {
    if [[ -n $server_pid ]]; then
        kill -INT "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

cat >"$tmp/get.lua" <<'LUA'
wrk.method = "GET"
wrk.path = "/"
wrk.headers["Origin"] = "https://app.example.com"
LUA
cat >"$tmp/preflight.lua" <<'LUA'
wrk.method = "OPTIONS"
wrk.path = "/"
wrk.headers["Origin"] = "https://app.example.com"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type,x-amz-date"
LUA

start_server() {
    TOKIO_WORKER_THREADS=1 "${server_cpu[@]}" "$bin" --listen "$HOST:$PORT" --mode "$1" \
        >"$tmp/server.out" 2>"$tmp/server.err" &
    server_pid=$!
    for _ in $(seq 100); do
        if grep -q '^listening on http://' "$tmp/server.out" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "the $1 server did not start:" >&2
    cat "$tmp/server.err" >&2
    exit 1
}

# "1.23ms" -> microseconds
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000; else f = 1
        printf "%.0f", n * f
    }'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A rps p99 per_run
printf '%-10s %-14s %4s %12s %10s\n' kind mode run req/s p99_us
for run in $(seq "$RUNS"); do
    for mode in "${MODES[@]}"; do
        start_server "$mode"
        # A short warm-up, not counted: connections, caches, CPU clocks.
        "${wrk_cpu[@]}" wrk -t1 -c"$CONNECTIONS" -d1s -s "$tmp/get.lua" "http://$HOST:$PORT/" >/dev/null
        for kind in "${KINDS[@]}"; do
            out=$("${wrk_cpu[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency \
                -s "$tmp/$kind.lua" "http://$HOST:$PORT/")
            r=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
            p=$(to_us "$(awk '$1 == "99%" {print $2}' <<<"$out")")
            if grep -q 'Non-2xx' <<<"$out" && [[ $kind != preflight || $mode != bare ]]; then
                echo "warning: $mode $kind got non-2xx answers" >&2
            fi
            rps[$kind,$mode]+="$r "
            per_run[$kind,$mode,$run]=$r
            p99[$kind,$mode]+="$p "
            printf '%-10s %-14s %4s %12s %10s\n' "$kind" "$mode" "$run" "$r" "$p"
        done
        stop_server
    done
done

echo
# median over the runs of mode's req/s as a percentage of other's
share() {
    local kind=$1 mode=$2 other=$3 run list=()
    for run in $(seq "$RUNS"); do
        list+=("$(awk -v r="${per_run[$kind,$mode,$run]}" -v b="${per_run[$kind,$other,$run]}" \
            'BEGIN {printf "%.1f", 100 * r / b}')")
    done
    median "${list[@]}"
}

echo "medians of $RUNS runs ($DURATION each, $CONNECTIONS connections, 1 wrk thread;"
echo "bare answers preflights with the handler's 404)"
printf '%-10s %-14s %12s %10s %9s %11s\n' kind mode req/s p99_us "vs bare" "vs static"
for kind in "${KINDS[@]}"; do
    for mode in "${MODES[@]}"; do
        # shellcheck disable=SC2086 # word splitting of the run lists is wanted
        r=$(median ${rps[$kind,$mode]})
        # shellcheck disable=SC2086
        p=$(median ${p99[$kind,$mode]})
        printf '%-10s %-14s %12s %10s %8s%% %10s%%\n' "$kind" "$mode" "$r" "$p" \
            "$(share "$kind" "$mode" bare)" "$(share "$kind" "$mode" static-headers)"
    done
done
