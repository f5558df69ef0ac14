#!/bin/bash
# content on the PDU payload in the running engine: a rule using content, offset, depth,
# nocase, distance and within fires on the OPC UA Hello of a real capture; near misses
# (case, a window one byte short) do not. Offsets checked by hand against the bytes:
# "HELF" @0, endpoint URL "opc.tcp://localhost:4840/freeopcua/server/" @32.
set -uo pipefail
BIN=$1
D="$OTS_SOURCE_DIR/tests/data/corpus/icsnpp-opcua-binary"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

cat >"$T/c.rules" <<'R'
alert opcua any any -> any any (msg:"hello to freeopcua"; content:"F"; offset:3; depth:1; content:"OPC.TCP://"; nocase; distance:24; within:14; content:"freeopcua"; distance:15; within:10; sid:1000001;)
alert opcua any any -> any any (msg:"case differs"; content:"F"; offset:3; depth:1; content:"OPC.TCP://"; distance:24; within:14; sid:1000002;)
alert opcua any any -> any any (msg:"within one short"; content:"F"; offset:3; depth:1; content:"opc.tcp://"; distance:24; within:13; sid:1000003;)
alert opcua any any -> any any (msg:"depth one short"; content:"freeopcua"; depth:65; sid:1000004;)
alert opcua any any -> any any (msg:"depth exact"; content:"freeopcua"; depth:66; sid:1000005;)
alert opcua any any -> any any (msg:"negated"; content:"HEL"; depth:3; content:!"freeopcua"; sid:1000006;)
alert tcp any any -> any any (msg:"engine events carry no payload"; content:!"zzzz"; sid:1000007;)
R
# one alert line per match: aggregation off
printf 'alerts.aggregate_window = 0\n' >"$T/noagg.conf"
"$BIN" -c "$T/noagg.conf" -r "$D/python_opcua-client-server_minimal.pcap" -R "$T/c.rules" --alerts "$T/a.json" \
    --events "$T/e.json" --redis none -w 2 2>"$T/err" || bad "run: $(cat "$T/err")"
count() { grep -c "\"id\":\"$1\"" "$T/a.json"; }
hellos=$(grep -c '"event":"opcua.hello"' "$T/e.json")
[ "$hellos" -ge 1 ] && ok || bad "capture has no opcua.hello"
[ "$(count 1000001)" = "$hellos" ] && ok || bad "content rule: $(count 1000001) alerts, $hellos hellos"
[ "$(count 1000005)" = "$hellos" ] && ok || bad "depth exact: $(count 1000005) alerts"
for sid in 1000002 1000003 1000004 1000006; do
    [ "$(count $sid)" = 0 ] && ok || bad "near miss $sid fired $(count $sid) times"
done
# a negated content alone matches every PDU with a payload, never a payload-less flow event
pdus=$(grep -c '"transport":"tcp","proto":"opcua"' "$T/e.json")
[ "$(count 1000007)" = "$pdus" ] && ok || bad "negated-only: $(count 1000007) alerts, $pdus PDUs"

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
