#!/bin/bash
# The dissectors' derived events raise their shipped rules through the real binary:
# dnp3 operate_without_select (9101003), critical_without_sa (9101025, with
# dnp3.require_sa), unsolicited_unexpected (9101026), mqtt state_spoof (9110007) on
# captures detector_pcaps.py writes byte by byte; iec104 ioa_sweep (9102022) and
# s7commplus download_suspected (9104008) on corpus captures (see test_iec104.c and
# test_s7comm.c for their tshark checks). Negatives: the defaults raise no
# critical_without_sa, a client's own NDEATH no state_spoof, benign captures none.
set -uo pipefail
BIN=$1
R="$OTS_SOURCE_DIR/rules/otsensor"
D="$OTS_SOURCE_DIR/tests/data"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

/usr/bin/python3 "$OTS_SOURCE_DIR/tests/integration/detector_pcaps.py" "$T" || bad "detector_pcaps.py"
printf 'dnp3.require_sa = yes\n' >"$T/sa.conf"
printf 'iec104.sweep_ioas = 7\niec104.sweep_window_ms = 140000\n' >"$T/sweep.conf"
: >"$T/empty.conf"

# sids CAPTURE CONF: the sids of the derived-event rules CAPTURE raises, sorted, one line
sids() {
    "$BIN" -r "$1" -c "$2" -R "$R" --alerts "$T/a.json" --redis none -w 2 2>"$T/err" ||
        echo "exit $? $(cat "$T/err")"
    /usr/bin/python3 - "$T/a.json" <<'PY'
import json, sys
want = {"9101003", "9101025", "9101026", "9102022", "9104008", "9110007"}
got = {}
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a["rule"]["id"] in want:
        got[a["rule"]["id"]] = a["ot"]["event"]
print(" ".join("%s:%s" % kv for kv in sorted(got.items())))
PY
}

# expect CAPTURE CONF WANT
expect() {
    local got
    got=$(sids "$1" "$2")
    [ "$got" = "$3" ] && ok || bad "$(basename "$1") with $(basename "$2"): got '$got', want '$3'"
}

expect "$T/dnp3.pcap" "$T/empty.conf" \
    "9101003:dnp3.operate_without_select 9101026:dnp3.unsolicited_unexpected"
expect "$T/dnp3.pcap" "$T/sa.conf" \
    "9101003:dnp3.operate_without_select 9101025:dnp3.critical_without_sa 9101026:dnp3.unsolicited_unexpected"
expect "$T/mqtt.pcap" "$T/empty.conf" "9110007:mqtt.state_spoof"
expect "$D/iec104-090813-diverse.pcap" "$T/sweep.conf" "9102022:iec104.ioa_sweep"
expect "$D/iec104-090813-diverse.pcap" "$T/empty.conf" ""
expect "$D/corpus/ICS-Security-Tools/s7/S7-1200-Uploading-OB1-TIAV12.pcap" "$T/empty.conf" \
    "9104008:s7commplus.download_suspected"
# real benign traffic: select-before-operate pairs, unsolicited enabled, S7comm-plus polling
for c in corpus/icsnpp-dnp3/dnp3_example.pcap corpus/suricata-verify/dnp3-eve/input.pcap \
    corpus/nDPI/dnp3.pcap s7comm_plus.pcap corpus/nDPI/s7comm-plus.pcap corpus/nDPI/mqtt.pcap; do
    expect "$D/$c" "$T/empty.conf" ""
done
# the state_spoof alert names the victim node and the flow's client
/usr/bin/python3 - "$T/mqtt.pcap" "$BIN" "$R" <<'PY' && ok || bad "state_spoof alert fields"
import json, subprocess, sys
out = subprocess.run([sys.argv[2], "-r", sys.argv[1], "-R", sys.argv[3], "--alerts", "-",
                      "--redis", "none"], capture_output=True, check=True).stdout
al = [json.loads(l) for l in out.splitlines() if json.loads(l)["rule"]["id"] == "9110007"]
assert len(al) == 1, al
a = al[0]
assert a["source"]["ip"] == "10.8.1.1" and a["ot"]["mqtt"]["target"] == "line2", a
assert a["ot"]["mqtt"]["topic"] == "spBv1.0/plant/NDEATH/line2" and a["event"]["severity"] == 2, a
PY
# event: names them as well as op: does (rules/event_names.c)
printf 'alert dnp3 any any -> any any (msg:"x"; event:dnp3.operate_without_select; sid:1;)\n' >"$T/ev.rules"
n=$("$BIN" -r "$T/dnp3.pcap" -c "$T/empty.conf" -R "$T/ev.rules" --alerts - --redis none 2>"$T/err" | wc -l)
[ "$n" = 1 ] && ok || bad "event:dnp3.operate_without_select: $n alerts $(cat "$T/err")"
echo "$pass passed, $fails failed"
[ "$fails" = 0 ]
