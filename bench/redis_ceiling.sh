#!/usr/bin/env bash
# bench/redis_ceiling.sh: what Redis alone takes on this box, the ceiling for the Redis
# output (bench_redis): redis-benchmark pipelining XADD of a realistic ~700-byte alert
# (MAXLEN ~ 1000000, as the sensor sends it) into a fresh redis-server (no persistence)
# on a free loopback port, with one connection (as the sensor uses) and with 50, and
# without MAXLEN (the sensor sends MAXLEN on the first XADD of each batch only).
# Prints requests/s and Redis's own CPU time per command (INFO cpu), which on a shared
# machine says more than the wall clock: 1e6 / (CPU us per command) is what one idle
# core could do.
#   bench/redis_ceiling.sh [N]      (default N = 500000)
set -euo pipefail
N=${1:-500000}
T=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" \
    --logfile "$T/log" --daemonize yes --pidfile "$T/pid"
trap 'kill "$(cat "$T/pid")" 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" PING >/dev/null 2>&1 && break; sleep 0.05; done
# an alert as the rules write it (bench_redis.c's make_alert)
A='{"@timestamp":"2026-11-27T18:00:00.123456Z","event":{"kind":"alert","dataset":"otsensor.alert","severity":3,"start":"2026-11-27T18:00:00.123456Z","end":"2026-11-27T18:00:00.123456Z"},"rule":{"id":"9000123","name":"Modbus write to a safety PLC from outside its zone","ruleset":"ot","category":"policy-violation"},"source":{"ip":"10.1.2.33","port":40123},"destination":{"ip":"10.9.0.5","port":502},"network":{"transport":"tcp","protocol":"modbus","community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg="},"observer":{"name":"bench","type":"sensor"},"iec62443":{"fr":["FR3"],"sr":["SR 3.1"]},"ot":{"modbus":{"unit_id":1,"address":123,"value":4567},"event":"modbus.write_single_register","op":"write_single_register","code":6},"otsensor":{"count":1,"sensor":"bench"},"message":"write"}'
cpu() { redis-cli -p "$PORT" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/{s+=$2} END{print s}'; }
echo "redis-server $(redis-server --version | grep -o 'v=[0-9.]*'), alert ${#A} bytes, N=$N, load $(cut -d' ' -f1-3 /proc/loadavg)"
# connections, then the XADD's extra arguments ("-" none)
for run in "1 MAXLEN ~ 1000000" "50 MAXLEN ~ 1000000" "50 -"; do
    read -r c trim <<<"$run"
    [ "$trim" = - ] && trim=""
    redis-cli -p "$PORT" DEL s >/dev/null
    c0=$(cpu)
    # shellcheck disable=SC2086
    rps=$(redis-benchmark -p "$PORT" -P 256 -c "$c" -n "$N" -q XADD s $trim '*' alert "$A" |
        tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -n1 | cut -d' ' -f1)
    c1=$(cpu)
    awk -v c="$c" -v r="$rps" -v a="$c0" -v b="$c1" -v n="$N" -v t="${trim:-(no MAXLEN)}" \
        'BEGIN{us=(b-a)*1e6/n; printf "XADD %-18s -P 256 -c %-2d: %8.0f requests/s; Redis %.2f CPU us/command (one idle core: %.0f/s)\n", t, c, r, us, 1e6/us}'
done
