#!/bin/bash
# Rules end to end: shipped rules load, a bad rule names file:line:col and exits 1,
# attack captures raise the expected alerts with FR/SR/TC, a benign poll raises no
# high or critical alert.
set -uo pipefail
BIN=$1
R="$OTS_SOURCE_DIR/rules/otsensor"
D="$OTS_SOURCE_DIR/tests/data/corpus"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

"$BIN" -R "$R" --check >"$T/out" 2>&1 && grep -q "rules" "$T/out" && ok || bad "--check shipped rules: $(cat "$T/out")"

printf 'alert modbus any any -> any 502 (msg:"x"; modbus: access wrte; sid:1;)\n' >"$T/bad.rules"
"$BIN" -R "$T/bad.rules" --check 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "bad.rules:1:58: modbus access must be read or write" "$T/err" && ok ||
    bad "bad rule: rc=$rc $(cat "$T/err")"

# expect CAPTURE SID FR TC: the capture raises alert SID tagged with FR and TC
expect() {
    "$BIN" -r "$D/$1" -R "$R" --alerts "$T/a.json" --redis none -w 2 2>"$T/err" || {
        bad "$1: exit $? $(cat "$T/err")"
        return
    }
    /usr/bin/python3 - "$T/a.json" "$2" "$3" "$4" <<'PY' && ok || bad "$1: no alert $2 with $3 and $4"
import json, sys
path, sid, fr, tc = sys.argv[1:]
for line in open(path):
    a = json.loads(line)
    if a["rule"]["id"] == sid and fr in a["iec62443"]["fr"] and tc in a["iso27032"]["threat"]:
        sys.exit(0)
sys.exit(1)
PY
}
expect ICS-Security-Tools/EthernetIP/cip_stop_plc.pcap 9105007 FR2 TC.DOS.HALT
expect icsnpp-modbus/modbus_example.pcap 9100002 FR2 TC.HCK.CMD
# protocols added with opcua/iec61850/profinet_dcp/hart_fins.rules (checked with tshark:
# MMS stop (41) and start (40), DCP Set IP, FINS Stop, OPC UA Basic128Rsa15 policy)
expect "ICS-Security-Tools/IEC61850/MMS - Specific Commands/mms-stopRequest.pcap" 9108008 FR2 TC.DOS.HALT
expect "ICS-Security-Tools/IEC61850/MMS - Specific Commands/mms-stopRequest.pcap" 9108009 FR2 TC.HCK.CMD
expect "ICS-Security-Tools/IEC61850/MMS - Specific Commands/mms-initiateDownloadSequence.pcap" 9108005 FR3 TC.HCK.MODIFY
expect ICS-Security-Tools/profinet/PROFINET-RT-DCP/ChangeIPUsingDCP.pcap 9109004 FR3 TC.HCK.MODIFY
expect icsnpp-opcua-binary/open62541_client-server_mainloop.pcap 9107012 FR3 TC.HCK.MODIFY
expect icsnpp-opcua-binary/open62541_client-server_mainloop.pcap 9107010 FR2 TC.HCK.CMD
expect icsnpp-opcua-binary/open62541_client-server_encrypted.pcap 9107002 FR4 TC.VUL.WEAKSEC
expect icsnpp-omron-fins/omron.pcap 9112002 FR2 TC.DOS.HALT
expect icsnpp-hart-ip/hart-ip_all_types_and_commands_sent.pcapng 9111001 FR2 TC.HCK.CMD
expect icsnpp-iec61850-goose/GOOSE.pcap 9108103 FR3 TC.HCK.SPOOF

# the mms:/fins:/sv: keywords on real captures (fields as dissectors/mms.c, fins.c, sv.c
# write them; tshark shows the MMS write to VMD item "mu", two FINS Stop commands and the
# SV stream svID "4001")
cat >"$T/kw.rules" <<'RULES'
alert mms any any -> any any (msg:"by name"; mms: service write; sid:1;)
alert mms any any -> any any (msg:"by code"; mms: service 5; sid:2;)
alert mms any any -> any any (msg:"vmd"; mms: vmd "mu"; sid:3;)
alert mms any any -> any any (msg:"other vmd"; mms: vmd "mx"; sid:4;)
alert fins any any -> any any (msg:"stop"; fins: command 0x0402; flow:to_server; sid:5;)
alert fins any any -> any any (msg:"run"; fins: command 0x0401, response false; sid:6;)
alert sv any any -> any any (msg:"sv"; sv: sv_id "4001", conf_rev 1; sid:7;)
alert sv any any -> any any (msg:"sv other"; sv: sv_id "4002"; sid:8;)
RULES
for c in "ICS-Security-Tools/IEC61850/MMS - Specific Commands/iec61850_write.pcap" \
    icsnpp-omron-fins/omron.pcap icsnpp-iec61850-sv/SV_Normal_Traffic.pcap; do
    "$BIN" -r "$D/$c" -R "$T/kw.rules" --alerts - --redis none 2>/dev/null
done | grep -o '"rule":{"id":"[0-9]*"' | sort | uniq -c | awk '{print $2}' | tr '\n' ' ' >"$T/kw.txt"
[ "$(cat "$T/kw.txt")" = '"rule":{"id":"1" "rule":{"id":"2" "rule":{"id":"3" "rule":{"id":"5" "rule":{"id":"6" "rule":{"id":"7" ' ] &&
    ok || bad "protocol keywords: $(cat "$T/kw.txt")"

# benign polling and normal operation: no high or critical alert
for b in nDPI/modbus.pcap icsnpp-iec61850-sv/SV_Normal_Traffic.pcap \
    icsnpp-opcua-binary/python_opcua-client-server_minimal.pcap \
    ICS-Security-Tools/profinet/PROFINET-RT-DCP/PROFINET-RT.pcap icsnpp-hart-ip/hart-ip.pcap \
    "ICS-Security-Tools/IEC61850/MMS - Specific Commands/iec61850_read.pcap"; do
    "$BIN" -r "$D/$b" -R "$R" --alerts "$T/b.json" --redis none -w 2 2>/dev/null
    /usr/bin/python3 -c "
import json,sys
hi=[a['rule']['name'] for a in map(json.loads, open(sys.argv[1])) if a['event']['severity']>=3]
sys.exit(1 if hi else 0)" "$T/b.json" && ok || bad "benign $b raised high/critical alerts"
done

# alerts from rules reach a real Redis stream, one entry per alert, ids increasing
if command -v redis-server >/dev/null; then
    PORT=$(free_port)
    redis-server --port "$PORT" --bind 127.0.0.1 --dir "$T" --save "" --appendonly yes \
        --appendfsync always --daemonize yes --logfile "$T/redis.log" --pidfile "$T/redis.pid"
    for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    "$BIN" -r "$D/icsnpp-modbus/modbus_example.pcap" -R "$R" --alerts "$T/c.json" -w 2 \
        --sensor-name e2e --redis "redis://127.0.0.1:$PORT" --spool "$T/spool" 2>"$T/err"
    n_file=$(wc -l <"$T/c.json")
    n_redis=$(redis-cli -p "$PORT" XLEN otsensor:alerts:e2e)
    [ "$n_file" -gt 0 ] && [ "$n_file" = "$n_redis" ] && ok ||
        bad "alerts to Redis: $n_file in --alerts, $n_redis in the stream $(cat "$T/err")"
    redis-cli -p "$PORT" SISMEMBER otsensor:sensors e2e | grep -q 1 && ok || bad "sensor not in otsensor:sensors"
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1
else
    bad "redis-server is not installed"
fi

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
