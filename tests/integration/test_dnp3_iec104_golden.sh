#!/bin/bash
# DNP3 and IEC 104 golden captures: every PDU event of the real binary against
# tshark's decode of the same capture (tests/data/golden/*.tshark.txt, made with
# the command in their first line). DNP3: time, source port, link addresses,
# application function and sequence of each reassembled fragment. IEC 104:
# time, source port and, per APDU, I (type, cause, common address), S, or U
# (function); for the malformed nDPI capture only the I-format type ids. Also
# checks that responses name what they answer (request_func / request_cot).
set -uo pipefail
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
for spec in dnp3:dnp3-select-operate dnp3:dnp3-file-list-directory \
            iec104:iec104-090813-diverse iec104_types:iec104-ndpi-malformed; do
    kind=${spec%%:*}
    cap=${spec#*:}
    if ! "$BIN" -r "$OTS_SOURCE_DIR/tests/data/$cap.pcap" --events "$T/$cap.jsonl" -w 2 \
        --redis none 2>"$T/err"; then
        echo "FAIL: $cap: otsensor exited non-zero: $(cat "$T/err")"
        fails=$((fails + 1))
        continue
    fi
    /usr/bin/python3 - "$kind" "$T/$cap.jsonl" "$OTS_SOURCE_DIR/tests/data/golden/$cap.tshark.txt" <<'PY' ||
import datetime, json, sys
kind, events, golden = sys.argv[1:4]
ours, paired = [], 0
for line in open(events):
    e = json.loads(line)
    proto = "dnp3" if kind == "dnp3" else "iec104"
    if e["proto"] != proto:
        continue
    t = datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    at = f'{int(t.timestamp()) * 1000000 + t.microsecond} {e["src_port"]}'
    p = e[proto]
    if "request_func" in p or "request_cot" in p:
        paired += 1
        assert p["latency_us"] >= 0
    if kind == "dnp3":
        if e["code"] is not None:
            ours.append(f'{at} {p["src"]} {p["dst"]} {e["code"]} {p["al"]["seq"]}')
    elif kind == "iec104_types":
        if e["code"] is not None:
            ours.append(f'{at} I {e["code"]}')
    elif p.get("apci") == "I" and e["code"] is not None:
        ours.append(f'{at} I {e["code"]} {p["cot"]} {p["ca"]}')
    elif p.get("apci") == "S":
        ours.append(f'{at} S')
    elif p.get("apci") == "U":
        ours.append(f'{at} U {p.get("u", "-")}')
want = [l.strip() for l in open(golden) if l.strip() and not l.startswith("#")]
if sorted(ours) != sorted(want):
    missing = sorted(set(want) - set(ours))[:5]
    extra = sorted(set(ours) - set(want))[:5]
    print(f"mismatch: ours {len(ours)} tshark {len(want)}; missing {missing} extra {extra}")
    sys.exit(1)
if paired == 0:
    print("no response names its request")
    sys.exit(1)
print(f"{len(ours)} PDUs match tshark, {paired} answers paired")
PY
        { echo "FAIL: $cap"; fails=$((fails + 1)); }
done
[ $fails -eq 0 ]
