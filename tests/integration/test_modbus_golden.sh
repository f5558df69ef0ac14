#!/bin/bash
# Modbus golden captures: every Modbus event of the real binary (time, source
# port, tid, unit, code, exception) against tshark's decode of the same capture
# (tests/data/golden/*.tshark.txt, made with the filter named in their first
# line). Also checks that the paired responses carry request_func/latency_us.
set -uo pipefail
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
for cap in modbus_example modbus_umas modbus_testdata_part1; do
    if ! "$BIN" -r "$OTS_SOURCE_DIR/tests/data/$cap.pcap" --events "$T/$cap.jsonl" -w 2 \
        --redis none 2>"$T/err"; then
        echo "FAIL: $cap: otsensor exited non-zero: $(cat "$T/err")"
        fails=$((fails + 1))
        continue
    fi
    /usr/bin/python3 - "$T/$cap.jsonl" "$OTS_SOURCE_DIR/tests/data/golden/$cap.tshark.txt" <<'PY' ||
import datetime, json, sys
ours, paired = [], 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["proto"] != "modbus" or e["code"] is None:
        continue
    t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    us = int(t.timestamp()) * 1000000 + t.microsecond
    m = e["modbus"]
    ours.append(f'{us} {e["src_port"]} {m["tid"]} {m["unit"]} {e["code"]} {m.get("exception", "-")}')
    if "request_func" in m:
        paired += 1
        assert m["latency_us"] >= 0
want = [l.strip() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
if sorted(ours) != sorted(want):
    missing = sorted(set(want) - set(ours))[:5]
    extra = sorted(set(ours) - set(want))[:5]
    print(f"mismatch: ours {len(ours)} tshark {len(want)}; missing {missing} extra {extra}")
    sys.exit(1)
if paired == 0:
    print("no paired response")
    sys.exit(1)
print(f"{len(ours)} PDUs match tshark, {paired} responses paired")
PY
        { echo "FAIL: $cap"; fails=$((fails + 1)); }
done
[ $fails -eq 0 ]
