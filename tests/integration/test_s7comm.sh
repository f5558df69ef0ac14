#!/bin/bash
# S7comm / S7comm-plus golden output: one line per event (source port, proto, dir,
# op, code and key fields), compared as a sorted multiset so that the engine's
# delivery order across directions does not matter. The codes, ROSCTRs, userdata
# groups/sub-functions agree with tshark 4.0 frame by frame; S7comm-plus functions
# with the corpus oracle's byte-computed values. Regenerate with UPDATE=1.
set -uo pipefail
BIN=$1
DATA="$OTS_SOURCE_DIR/tests/data"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0

golden_lines() {
    /usr/bin/python3 - "$1" <<'PY'
import json, sys
KEYS = ["rosctr", "group", "subfunc", "function", "version", "opcode", "pi_service",
        "block_type", "block_number", "szl_id", "szl_index", "order_number", "firmware",
        "module_name", "error"]
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["proto"] not in ("s7comm", "s7commplus"):
        continue
    o = e[e["proto"]]
    extra = " ".join(f"{k}={o[k]}" for k in KEYS if k in o)
    print(e["src_port"], e["proto"], e.get("dir"), e["op"], e["code"], extra,
          ",".join(e["anomalies"]))
PY
}

for pair in icsnpp-s7comm/snap7.pcap:s7comm_snap7 nDPI/s7comm.pcap:s7comm_ndpi \
    ICS-Security-Tools/s7/S7-1200-Uploading-OB1-TIAV12.pcap:s7commplus_s7_1200_upload; do
    cap="$DATA/corpus/${pair%%:*}"
    gold="$DATA/golden/${pair##*:}.txt"
    if ! "$BIN" -r "$cap" -w 2 --redis none --events "$T/ev.json" 2>"$T/err"; then
        echo "FAIL: $cap: $(cat "$T/err")"
        fails=$((fails + 1))
        continue
    fi
    golden_lines "$T/ev.json" | sort >"$T/got.txt"
    if [ "${UPDATE:-0}" = 1 ]; then
        cp "$T/got.txt" "$gold"
    elif ! diff -u "$gold" "$T/got.txt"; then
        echo "FAIL: $cap differs from $gold"
        fails=$((fails + 1))
    fi
done
[ $fails -eq 0 ] && echo "s7comm golden: ok"
exit $fails
