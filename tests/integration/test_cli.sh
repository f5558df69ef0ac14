#!/bin/bash
# Command-line contract (DESIGN §1): exit codes, error lines, damaged captures.
set -uo pipefail
BIN=$1
DATA="$OTS_SOURCE_DIR/tests/data/corpus"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

# --version prints a version and exits 0
"$BIN" --version | grep -q '^otsensor [0-9]' && ok || bad "--version"

# unknown option: usage, exit 1
"$BIN" --no-such-option >/dev/null 2>&1; [ $? -eq 1 ] && ok || bad "unknown option exit"

# no input: exit 1 with a message prefixed "otsensor: "
"$BIN" --redis none 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q '^otsensor: ' "$T/err" && ok || bad "no input: rc=$rc"

# a missing capture file: exit 2, names the file
"$BIN" -r "$T/missing.pcap" --redis none 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "missing.pcap" "$T/err" && ok || bad "missing file: rc=$rc $(cat "$T/err")"

# bad configuration: exit 1, message names file:line:col
printf 'workers = 2\n# comment\nflow.max_flows = lots\n' >"$T/bad.conf"
"$BIN" -c "$T/bad.conf" --check 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.conf:3:18: 'flow.max_flows'" "$T/err" && ok ||
    bad "bad config value: rc=$rc $(cat "$T/err")"
printf 'no_such_key = 1\n' >"$T/bad2.conf"
"$BIN" -c "$T/bad2.conf" --check 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad2.conf:1:1: unknown key 'no_such_key'" "$T/err" && ok ||
    bad "unknown key: rc=$rc $(cat "$T/err")"

# the shipped example configuration is valid
"$BIN" -c "$OTS_SOURCE_DIR/deploy/otsensor.conf" --check >/dev/null 2>"$T/err" && ok ||
    bad "deploy/otsensor.conf --check: $(cat "$T/err")"

# rediss:// is refused with a reason
"$BIN" --redis rediss://127.0.0.1 --check 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "TLS" "$T/err" && ok || bad "rediss: rc=$rc"

# a capture cut in the middle of a packet: what was read is processed and
# flushed, then exit 2 naming the file and the byte offset
SRC="$DATA/icsnpp-modbus/modbus_example.pcap"
head -c 5000 "$SRC" >"$T/cut.pcap"
"$BIN" -r "$T/cut.pcap" -w 2 --redis none --events "$T/ev.json" --stats "$T/st.json" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -q "cut.pcap: capture damaged at byte offset [0-9]" "$T/err" && ok ||
    bad "truncated capture: rc=$rc $(cat "$T/err")"
n=$(grep -c '"event":"flow.new"' "$T/ev.json" || true)
[ "$n" -ge 1 ] && ok || bad "truncated capture: events before the damage were lost"
/usr/bin/python3 -c "
import json,sys
s=json.load(open('$T/st.json'))
sys.exit(0 if s['final'] and 40 < s['packets'] < 100 else 1)" && ok ||
    bad "truncated capture: stats $(cat "$T/st.json" | head -c 300)"

# a file that is not a capture at all
echo "hello" >"$T/text.pcap"
"$BIN" -r "$T/text.pcap" --redis none 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "text.pcap" "$T/err" && ok || bad "not a capture: rc=$rc"

# two files in order, as one run
"$BIN" -r "$SRC" -r "$DATA/icsnpp-dnp3/dnp3_example.pcap" --redis none --stats "$T/st2.json" \
    2>"$T/err" && ok || bad "two files: $(cat "$T/err")"
/usr/bin/python3 -c "
import json,sys
s=json.load(open('$T/st2.json'))
sys.exit(0 if s['packets'] == 100 + 834 else 1)" && ok || bad "two files: packet count"
# the processing interval: set, and inside the process's lifetime
/usr/bin/python3 -c "
import json,sys
s=json.load(open('$T/st2.json'))
sys.exit(0 if 0 < s['processing_us'] <= s['uptime_ms'] * 1000 + 1000 else 1)" && ok ||
    bad "processing_us: $(grep -o '"uptime_ms":[0-9]*,"processing_us":[0-9]*' "$T/st2.json")"

# nothing in the tree may transmit on a capture handle
if grep -rn "pcap_inject\|pcap_sendpacket" "$OTS_SOURCE_DIR/sensor" "$OTS_SOURCE_DIR/dissectors" \
    "$OTS_SOURCE_DIR/rules" "$OTS_SOURCE_DIR/bench" >/dev/null 2>&1; then
    bad "a transmit call appears in the source"
else
    ok
fi

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
