#!/usr/bin/env bash
# A fleet under load: one etcd (Debian's etcd-server) and three instances
# of the bucket server (examples/bucket-server, release build, feature
# etcd) sharing bucket CORS through it, all on loopback. wrk sends allowed
# preflights to each instance at once while a loop sends PUT ?cors changes
# to the first one; every change is a document with a new
# Access-Control-Max-Age, so that the preflights stay allowed and the
# answers say which document an instance serves.
#
# Reports req/s (and p99 latency, non-2xx answers) per instance, and the
# propagation of the changes: from the answer to the PUT on instance 1 to
# the first preflight answer of instance 2 (and 3) that shows the change,
# polled back to back over a keep-alive connection (so the resolution is
# one request's round trip); p50/p99/max over the changes.
#
# The instances run on all cores, as wrk and etcd do: on a small machine
# they compete, which is what a fleet on one box looks like, not what one
# instance can do alone (benches/load.sh measures that).
#
# etcd keeps its data under the system's temporary directory and syncs its
# log to disk on every write, as in production: a disk busy with other work
# makes some writes take seconds, and PUT ?cors then gets 503 after the
# store's 2 s timeout (counted in the report, with etcd's own warnings).
# ETCD_DATA=/dev/shm keeps etcd's data in memory instead, which takes the
# disk out of the figures.
#
# Usage: benches/fleet.sh   (DURATION=10s CONNECTIONS=16 CHANGES=200
#                            PAUSE_MS=10 BASE_PORT=3101 ETCD_PORT=23791
#                            ETCD_DATA=<temporary directory>)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
CHANGES=${CHANGES:-200}
PAUSE_MS=${PAUSE_MS:-10}
BASE_PORT=${BASE_PORT:-3101}
ETCD_PORT=${ETCD_PORT:-23791}
ETCD_DATA=${ETCD_DATA:-}
HOST=127.0.0.1 # loopback only, always
INSTANCES=3
ORIGIN=https://app.example.com

seconds=${DURATION%s}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 5 || seconds > 300)); then
    echo "DURATION must be 5s to 300s (got $DURATION)" >&2
    exit 2
fi

# command:Debian package, installed when missing
missing=()
for need in wrk:wrk etcd:etcd-server protoc:protobuf-compiler python3:python3; do
    command -v "${need%%:*}" >/dev/null || missing+=("${need#*:}")
done
if ((${#missing[@]})); then
    echo "installing ${missing[*]} (Debian packages)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "building example-bucket-server (release, --features etcd)" >&2
cargo build --release -q -p example-bucket-server --features etcd
bin=target/release/example-bucket-server

tmp=$(mktemp -d)
etcd_data=$(mktemp -d ${ETCD_DATA:+-p "$ETCD_DATA"})
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp" "$etcd_data"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# etcd answers its /health with "true".
etcd_healthy() {
    local answer
    answer=$({ exec 3<>"/dev/tcp/$HOST/$ETCD_PORT"; } 2>/dev/null &&
        printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$HOST" >&3 &&
        timeout 2 cat <&3) || return 1
    [[ $answer == *'"health":"true"'* ]]
}

echo "starting etcd on $HOST:$ETCD_PORT" >&2
etcd --name fleet --data-dir "$etcd_data" \
    --listen-client-urls "http://$HOST:$ETCD_PORT" \
    --advertise-client-urls "http://$HOST:$ETCD_PORT" \
    --listen-peer-urls "http://$HOST:$((ETCD_PORT + 1))" \
    --initial-advertise-peer-urls "http://$HOST:$((ETCD_PORT + 1))" \
    --initial-cluster "fleet=http://$HOST:$((ETCD_PORT + 1))" \
    >"$tmp/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
    etcd_healthy && break
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.1
done
if ! etcd_healthy; then
    echo "etcd did not start:" >&2
    tail -20 "$tmp/etcd.log" >&2
    exit 1
fi

store="etcd://$HOST:$ETCD_PORT/fleet-bench"
ports=()
for i in $(seq "$INSTANCES"); do
    port=$((BASE_PORT + i - 1))
    ports+=("$port")
    "$bin" --listen "$HOST:$port" --store "$store" --bucket demo \
        >"$tmp/instance-$i.out" 2>"$tmp/instance-$i.err" &
    pids+=($!)
done
for i in $(seq "$INSTANCES"); do
    for _ in $(seq 100); do
        grep -q '^listening on http://' "$tmp/instance-$i.out" 2>/dev/null && break
        sleep 0.1
    done
    if ! grep -q '^listening on http://' "$tmp/instance-$i.out"; then
        echo "instance $i did not start:" >&2
        cat "$tmp/instance-$i.err" >&2
        exit 1
    fi
done

cat >"$tmp/preflight.lua" <<LUA
wrk.method = "OPTIONS"
wrk.path = "/demo/object"
wrk.headers["Origin"] = "$ORIGIN"
wrk.headers["Access-Control-Request-Method"] = "PUT"
LUA

# The changes and their propagation: PUT ?cors on the first instance, then
# poll the others until each shows the change. Stops at CHANGES changes or
# at the deadline, whichever comes first.
cat >"$tmp/changes.py" <<'PY'
import http.client
import sys
import time

origin, changes, pause, deadline = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
writer, *others = (int(port) for port in sys.argv[5:])


def document(n):
    return ('[{"AllowedOrigins": ["%s"], "AllowedMethods": ["PUT", "GET"], '
            '"AllowedHeaders": ["*"], "MaxAgeSeconds": %d}]' % (origin, n))


class Instance:
    def __init__(self, port):
        self.port = port
        self.connection = None
        self.polls = 0

    def request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                response.body = response.read()
                return response
            except (OSError, http.client.HTTPException):
                self.connection = None
                if attempt == 2:
                    raise

    def max_age(self):
        self.polls += 1
        response = self.request("OPTIONS", "/demo/object",
                                headers={"Origin": origin, "Access-Control-Request-Method": "PUT"})
        value = response.getheader("access-control-max-age")
        return int(value) if response.status == 200 and value else None


def put(instance, n):
    """The status of PUT ?cors with document n."""
    return instance.request("PUT", "/demo?cors", body=document(n)).status


a = Instance(writer)
polled = [Instance(port) for port in others]
if put(a, 0) != 200:
    sys.exit("the first PUT ?cors failed")
for instance in polled:
    while instance.max_age() != 0:
        time.sleep(0.001)
print("ready", flush=True)
sys.stdin.readline()  # go

for instance in polled:
    instance.polls = 0
started = time.monotonic()
puts, seen, everyone, missed, done = [], {i.port: [] for i in polled}, [], 0, 0
failed = {}  # status -> count: a store that does not answer in time gives 503
for n in range(1, changes + 1):
    if time.monotonic() > deadline:
        break
    sent = time.monotonic()
    status = put(a, n)
    answered = time.monotonic()
    puts.append(answered - sent)
    done += 1
    if status != 200:
        failed[status] = failed.get(status, 0) + 1
        continue
    waiting = list(polled)
    while waiting:
        for instance in list(waiting):
            if instance.max_age() == n:
                seen[instance.port].append(time.monotonic() - answered)
                waiting.remove(instance)
        if waiting and time.monotonic() - answered > 5:
            missed += len(waiting)
            break
    if not waiting:
        everyone.append(time.monotonic() - answered)
    time.sleep(pause)


def line(name, values):
    values = sorted(values)
    if not values:
        return "%-34s (none)" % name
    pick = lambda p: values[max(1, -(-len(values) * p // 100)) - 1] * 1000
    return "%-34s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms" % (name, pick(50), pick(99), values[-1] * 1000)


print("%d changes sent to instance 1 (port %d); failed: %s; %d not seen within 5 s"
      % (done, writer, ", ".join("%d x %d" % (count, status) for status, count in failed.items()) or "none", missed))
print(line("PUT ?cors answered", puts))
for index, instance in enumerate(polled, start=2):
    print(line("seen by instance %d (port %d)" % (index, instance.port), seen[instance.port]))
print(line("seen by all", everyone))
took = time.monotonic() - started
print("the polls are load too: %s (not counted by wrk)" % ", ".join(
    "instance %d answered %.0f polls/s" % (index, instance.polls / took)
    for index, instance in enumerate(polled, start=2)))
PY

go=$tmp/go
mkfifo "$go"
deadline=$(python3 -c "import time; print(time.monotonic() + $seconds - 1)")
# The changer waits for "go" after its first change has reached everyone.
python3 "$tmp/changes.py" "$ORIGIN" "$CHANGES" "$(awk -v p="$PAUSE_MS" 'BEGIN {print p / 1000}')" \
    "$deadline" "${ports[@]}" <"$go" >"$tmp/changes.out" 2>&1 &
changer=$!
pids+=("$changer")
exec 4>"$go"
for _ in $(seq 100); do
    grep -q '^ready' "$tmp/changes.out" 2>/dev/null && break
    kill -0 "$changer" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q '^ready' "$tmp/changes.out"; then
    echo "the change loop did not start:" >&2
    cat "$tmp/changes.out" >&2
    exit 1
fi

echo "wrk: $DURATION, $CONNECTIONS connections, 1 thread per instance, all at once;" \
    "$CHANGES changes (${PAUSE_MS} ms apart) to instance 1 meanwhile" >&2
load=$(cut -d' ' -f1-3 /proc/loadavg)
wrk_pids=()
for i in $(seq "$INSTANCES"); do
    wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$tmp/preflight.lua" \
        "http://$HOST:${ports[i - 1]}/" >"$tmp/wrk-$i.out" 2>&1 &
    wrk_pids+=($!)
    pids+=($!)
done
sleep 0.5 # wrk is under way
echo go >&4
exec 4>&-
for pid in "${wrk_pids[@]}"; do
    wait "$pid"
done
wait "$changer" || {
    echo "the change loop failed:" >&2
    cat "$tmp/changes.out" >&2
    for i in $(seq "$INSTANCES"); do
        echo "--- instance $i, stderr:" >&2
        tail -5 "$tmp/instance-$i.err" >&2
    done
    exit 1
}

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "machine: $(nproc) cores, $cpu; load average just before wrk: $load"
echo "etcd $(etcd --version | awk 'NR == 1 {print $3}'), data in $(df --output=fstype "$etcd_data" | tail -1) ($(dirname "$etcd_data"))"
echo
printf '%-10s %6s %12s %10s %9s\n' instance port req/s p99 non-2xx
for i in $(seq "$INSTANCES"); do
    out=$(cat "$tmp/wrk-$i.out")
    r=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
    p=$(awk '$1 == "99%" {print $2}' <<<"$out")
    n=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    errors=$(awk '/Socket errors/ {print}' <<<"$out")
    printf '%-10s %6s %12s %10s %9s\n' "$i" "${ports[i - 1]}" "$r" "$p" "${n:-0}"
    if [[ -n $errors ]]; then
        echo "  instance $i: $errors" >&2
    fi
done
echo
grep -v '^ready' "$tmp/changes.out"
slow=$(grep -c 'took too long' "$tmp/etcd.log" || true)
sync=$(grep -o 'sync duration of [0-9.]*[a-z]*' "$tmp/etcd.log" | awk '{print $4}' | paste -sd ' ' - || true)
echo "etcd's warnings: $slow requests took too long (over 100 ms); slow disk syncs (over 1 s): ${sync:-none}"
