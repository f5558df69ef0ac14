#!/usr/bin/env bash
# bench/redis_capture.sh: the capture path's packets/s with Redis up and with Redis
# down (every alert spooled), issue 5: spooling must not slow the capture path.
#
#   bench/redis_capture.sh OTSENSOR PCAP [RUNS]
#       starts its own redis-server (no persistence) on a free loopback port, runs
#       `OTSENSOR -r PCAP -w 2 -R rules/otsensor` with alert aggregation off (so every
#       alert of the shipped rules goes to Redis) once into that Redis and once at a
#       closed port (Redis down: alerts spooled), best of RUNS (default 3) each, and
#       prints packets/s, alerts and where they went, and the ratio down/up.
#   bench/redis_capture.sh run URL SPOOLDIR OTSENSOR ARGS...
#       one run with a fresh spool directory (what bench/run.sh times for its rows).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

if [ "${1:-}" = run ]; then
    url=$2 spool=$3
    shift 3
    rm -rf -- "$spool"
    exec "$@" --redis "$url" --spool "$spool"
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# redis_capture_start DIR: a redis-server for the bench; sets REDIS_PORT and REDIS_PIDFILE
redis_capture_start() {
    REDIS_PORT=$(free_port)
    REDIS_PIDFILE=$1/redis.pid
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$1" \
        --logfile "$1/redis.log" --daemonize yes --pidfile "$REDIS_PIDFILE" || return 1
    for _ in $(seq 100); do
        redis-cli -p "$REDIS_PORT" PING >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}
redis_capture_stop() { [ -f "${REDIS_PIDFILE:-}" ] && kill "$(cat "$REDIS_PIDFILE")" 2>/dev/null; }

# "redis" counters of a --stats file: alerts delivered spooled
redis_counts() {
    grep -o '"redis":{[^{]*' "$1" | tail -n1 |
        sed 's/.*"alerts":\([0-9]*\).*"delivered":\([0-9]*\).*"spooled":\([0-9]*\).*/\1 \2 \3/'
}

# sourced by run.sh for its rows: stop here
[ "${BASH_SOURCE[0]}" != "$0" ] && return 0

OTSENSOR=${1:?usage: redis_capture.sh OTSENSOR PCAP [RUNS]}
PCAP=${2:?usage: redis_capture.sh OTSENSOR PCAP [RUNS]}
RUNS=${3:-3}
T=$(mktemp -d)
trap 'redis_capture_stop; rm -rf "$T"' EXIT
redis_capture_start "$T" || { echo "redis-server did not start" >&2; exit 1; }
CLOSED=$(free_port) # nothing listens there
printf 'alerts.aggregate_window = 0\n' >"$T/noagg.conf"
echo "capture $PCAP; otsensor -w 2, shipped rules, aggregation off; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A PPS
for mode in up down; do
    if [ $mode = up ]; then url=redis://127.0.0.1:$REDIS_PORT; else url=redis://127.0.0.1:$CLOSED; fi
    best=""
    for ((r = 1; r <= RUNS; r++)); do
        t0=$(date +%s%N)
        "$0" run "$url" "$T/spool-$mode" "$OTSENSOR" -r "$PCAP" -w 2 -c "$T/noagg.conf" \
            -R "$ROOT/rules/otsensor" --sensor-name "bench-$mode" --stats "$T/$mode.st" \
            2>"$T/$mode.err" || { echo "$mode: otsensor failed: $(tail -n2 "$T/$mode.err")"; exit 1; }
        t1=$(date +%s%N)
        if [ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ]; then best=$((t1 - t0)); fi
    done
    pk=$(grep -o '"packets_processed":[0-9]*' "$T/$mode.st" | tail -n1 | cut -d: -f2)
    read -r al de sp < <(redis_counts "$T/$mode.st")
    PPS[$mode]=$(awk -v p="$pk" -v w="$best" 'BEGIN{printf "%.0f", p/(w/1e9)}')
    printf 'Redis %-4s: %s packets in %.3f s (best of %d): %s packets/s; %s alerts, %s delivered to Redis, %s spooled\n' \
        "$mode" "$pk" "$(awk -v w="$best" 'BEGIN{print w/1e9}')" "$RUNS" "${PPS[$mode]}" "$al" "$de" "$sp"
done
awk -v u="${PPS[up]}" -v d="${PPS[down]}" 'BEGIN{printf "down/up packets/s: %.3f\n", d/u}'
