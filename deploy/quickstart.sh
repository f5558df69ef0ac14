#!/bin/bash
# Quick start: installs what is needed, builds otsensor, starts a local Redis (on
# port 6390, data in build/quickstart), and runs the sensor with the shipped OT
# rules on a bundled capture: alerts go to Redis and to the terminal, then the
# statistics, then what a SIEM connector would read from the Redis stream.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/deploy/install-deps.sh"
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release -DOTS_TESTS=OFF >/dev/null
cmake --build "$ROOT/build" -j"$(nproc)" >/dev/null
Q="$ROOT/build/quickstart"
mkdir -p "$Q"
PORT=6390
if ! redis-cli -p $PORT ping >/dev/null 2>&1; then
    redis-server --port $PORT --bind 127.0.0.1 --dir "$Q" --appendonly yes --save "" \
        --daemonize yes --logfile "$Q/redis.log"
    for _ in $(seq 50); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
CAP="$ROOT/tests/data/corpus/ICS-Security-Tools/EthernetIP/cip_stop_plc.pcap"
echo "== otsensor -r $(basename "$CAP") -R rules/otsensor --redis redis://127.0.0.1:$PORT --alerts - --stats -" >&2
"$ROOT/build/otsensor" -r "$CAP" -R "$ROOT/rules/otsensor" -w 2 --sensor-name quickstart \
    --redis "redis://127.0.0.1:$PORT" --spool "$Q/spool" --alerts - --stats -
echo "== redis: XLEN otsensor:alerts:quickstart = $(redis-cli -p $PORT XLEN otsensor:alerts:quickstart)" >&2
echo "== redis: newest alert in the stream" >&2
redis-cli -p $PORT XREVRANGE otsensor:alerts:quickstart + - COUNT 1
echo "== (Redis keeps running on 127.0.0.1:$PORT; stop it with: redis-cli -p $PORT shutdown)" >&2
