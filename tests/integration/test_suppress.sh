#!/bin/bash
# The suppression file end to end: --check reports its errors as file:line:col and exits
# 1; on a real capture a suppressed sid raises nothing, an address-scoped suppression
# drops only that address's alerts, and every other rule's alerts are unchanged.
set -uo pipefail
BIN=$1
R="$OTS_SOURCE_DIR/rules/otsensor"
PCAP="$OTS_SOURCE_DIR/tests/data/corpus/icsnpp-modbus/modbus_example.pcap"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

printf 'suppress gen_id 1, sig_id 9100002\nsuppress gen_id 1, sig_id 9100002, track by_sorc, ip 1.2.3.4\n' >"$T/bad.config"
"$BIN" -R "$R" --suppress "$T/bad.config" --check 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.config:2:42: track must be by_src, by_dst or by_either" "$T/err" && ok ||
    bad "bad suppression file: rc=$rc $(cat "$T/err")"
"$BIN" -R "$R" --suppress "$T/missing.config" --check 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && ok || bad "missing suppression file accepted"

run() { # run OUT [SUPPRESS]
    "$BIN" -r "$PCAP" -R "$R" ${2:+--suppress "$2"} --alerts "$T/$1" --redis none -w 2 2>"$T/err" ||
        bad "run $1: $(cat "$T/err")"
}
run base.json
counts() { /usr/bin/python3 -c '
import json, sys, collections
c = collections.Counter((a["rule"]["id"], a["source"]["ip"]) for a in map(json.loads, open(sys.argv[1])))
for k, v in sorted(c.items()): print(k[0], k[1], v)' "$1"; }
counts "$T/base.json" >"$T/base.txt"
# the most frequent (sid, source) pair is the one to suppress
read -r SID SRC _ < <(sort -k3 -n -r "$T/base.txt" | head -1)
[ -n "${SID:-}" ] && ok || bad "the capture raised no alert"
printf '# all alerts of one rule\nsuppress gen_id 1, sig_id %s\n' "$SID" >"$T/s1.config"
"$BIN" -R "$R" --suppress "$T/s1.config" --check >/dev/null 2>&1 && ok || bad "--check with a good file"
run s1.json "$T/s1.config"
counts "$T/s1.json" >"$T/s1.txt"
grep -v "^$SID " "$T/base.txt" | diff - "$T/s1.txt" >/dev/null && ok ||
    bad "suppress sid $SID: $(diff "$T/base.txt" "$T/s1.txt")"
printf 'suppress gen_id 1, sig_id %s, track by_src, ip [%s]\n' "$SID" "$SRC" >"$T/s2.config"
run s2.json "$T/s2.config"
counts "$T/s2.json" >"$T/s2.txt"
grep -v "^$SID $SRC " "$T/base.txt" | diff - "$T/s2.txt" >/dev/null && ok ||
    bad "suppress sid $SID from $SRC: $(diff "$T/base.txt" "$T/s2.txt")"
# another address: nothing is suppressed
printf 'suppress gen_id 1, sig_id %s, track by_either, ip 192.0.2.0/24\n' "$SID" >"$T/s3.config"
run s3.json "$T/s3.config"
counts "$T/s3.json" | diff "$T/base.txt" - >/dev/null && ok || bad "suppression of another address changed alerts"

# SIGHUP re-reads the suppression file with the rules: a bad one is refused with
# file:line:col (the running set stays), a good one is taken up
OTGEN="$OTS_BUILD_DIR/bench/otgen"
if [ -x "$OTGEN" ] && "$OTGEN" -o "$T/cap.pcap" -n 1500000 -s 3 >/dev/null 2>&1; then
    # otgen writes Modbus FC 16 and FC 6: 9100004 is suppressed, 9100002 must still alert
    printf 'suppress gen_id 1, sig_id 9100004\n' >"$T/live.config"
    mkfifo "$T/tail.pcap" # an empty capture after both reloads (lib.sh: feed_fifo)
    "$BIN" -r "$T/cap.pcap" -r "$T/tail.pcap" -w 2 --redis none -R "$R" \
        --suppress "$T/live.config" --alerts "$T/live.json" 2>"$T/err" &
    pid=$!
    sleep 0.3
    printf 'suppress gen_id 1, sig_id 9100004\nsuppress gen_id 1 sig_id 2\n' >"$T/live.config"
    kill -HUP $pid
    wait_log "$T/err" "reload failed"
    sleep 0.2
    printf 'suppress gen_id 1, sig_id 9100004\n' >"$T/live.config"
    kill -HUP $pid
    wait_log "$T/err" "SIGHUP: [0-9]* rules loaded"
    feed_fifo $pid "$T/tail.pcap"
    wait $pid
    rc=$?
    [ $rc -eq 0 ] && ok || bad "live run exit $rc"
    grep -q "live.config:2:17: gen_id must be a number from 0 to 4294967295" "$T/err" &&
        grep -q "reload failed; the running rules stay in force" "$T/err" && ok ||
        bad "bad suppression file on SIGHUP not reported: $(cat "$T/err")"
    grep -q "SIGHUP: [0-9]* rules loaded" "$T/err" && ok || bad "good reload not logged: $(cat "$T/err")"
    grep -q '"id":"9100002"' "$T/live.json" && ! grep -q '"id":"9100004"' "$T/live.json" && ok ||
        bad "live run: 9100004 not suppressed or 9100002 missing"
else
    bad "otgen missing or failed: cannot test SIGHUP"
fi

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
