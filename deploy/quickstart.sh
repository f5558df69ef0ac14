#!/bin/bash
# Quick start: installs what is needed, builds otsensor, and runs it on a bundled
# Modbus capture, printing its events and then its statistics.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/deploy/install-deps.sh"
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release -DOTS_TESTS=OFF >/dev/null
cmake --build "$ROOT/build" -j"$(nproc)" >/dev/null
CAP="$ROOT/tests/data/corpus/icsnpp-modbus/modbus_example.pcap"
echo "== otsensor -r $CAP --events - --stats - -w 2 --redis none" >&2
"$ROOT/build/otsensor" -r "$CAP" --events - --stats - -w 2 --redis none
