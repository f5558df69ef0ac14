#!/bin/bash
# --rule-profile: the rule impact report. One row per loaded rule, costliest first; each
# rule's alert count equals its alerts in --alerts, totals equal the sums, and
# checks >= matches >= alerts. Needs -R and -r.
set -uo pipefail
BIN=$1
R="$OTS_SOURCE_DIR/rules/otsensor"
D="$OTS_SOURCE_DIR/tests/data/corpus"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

"$BIN" --check -R "$R" --rule-profile 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q -- "--rule-profile needs rules (-R) and a capture (-r)" "$T/err" && ok ||
    bad "--rule-profile without -r: rc=$rc"
nrules=$("$BIN" --check -R "$R" | sed -n 's/.*; \([0-9]*\) rules\($\|;.*\)/\1/p')

for pcap in icsnpp-modbus/modbus_example.pcap icsnpp-dnp3/dnp3_example.pcap \
    ICS-Security-Tools/EthernetIP/cip_stop_plc.pcap; do
    "$BIN" --check -R "$R" -r "$D/$pcap" --rule-profile -w 2 --alerts "$T/a.json" >"$T/p.txt" 2>"$T/err" ||
        { bad "$pcap: exit $? $(cat "$T/err")"; continue; }
    /usr/bin/python3 - "$T/p.txt" "$T/a.json" "$nrules" <<'PY' && ok || bad "$pcap: $(head -3 "$T/p.txt")"
import collections, json, re, sys
prof, alerts, nrules = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(prof).read().splitlines()
m = re.match(r"# rule profile: (\d+) rules, (\d+) events, (\d+) checks, (\d+) matches, "
             r"(\d+) alerts, [0-9.]+ ms matching$", lines[0])
assert m, lines[0]
assert lines[1].split() == ["gid:sid", "checks", "matches", "alerts", "cost_ns", "ns/check", "msg"]
rows = [l.split(None, 6) for l in lines[2:]]
assert len(rows) == nrules == int(m.group(1)), (len(rows), nrules)
got = collections.Counter()
for l in open(alerts):  # an aggregated alert stands for otsensor.count matches
    a = json.loads(l)
    got[a["rule"]["id"]] += a["otsensor"]["count"]
cost = [int(r[4]) for r in rows]
assert cost == sorted(cost, reverse=True), "not sorted by cost"
for r in rows:
    checks, matches, n = int(r[1]), int(r[2]), int(r[3])
    assert checks >= matches >= n, r
    assert n == got.get(r[0].split(":")[1], 0), (r, got)
    assert int(r[5]) == (int(r[4]) // checks if checks else 0), r
assert sum(int(r[3]) for r in rows) == int(m.group(5)) == sum(got.values()) > 0
assert sum(int(r[1]) for r in rows) == int(m.group(3))
assert sum(int(r[2]) for r in rows) >= int(m.group(4))  # matches beyond pass rules
PY
done

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
