#!/bin/bash
# The correlation stage end to end, on real captures with the default rules:
#  - a SYN port scan (nDPI synscan.pcap) raises scan.vertical, alert sid 9190009 with
#    FR5/FR6 and TC.HCK.RECON, from the scanner tshark names;
#  - a Modbus write across a read-only conduit raises conduit.operation (sid 9190006),
#    traffic between zones with no conduit conduit.unlisted (sid 9190005);
#  - `-w 4` and `-w 1` give the same multiset of correlation events (corpus captures and
#    a generated plant capture with thousands of flows);
#  - with a real redis-server, the asset hash of the EtherNet/IP device that answered
#    ListIdentity holds the vendor/product/identity tshark decodes, and its roles.
set -uo pipefail
BIN=$1
D="$OTS_SOURCE_DIR/tests/data"
RULES="$OTS_SOURCE_DIR/rules/otsensor"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"
run() { # pcap workers out-prefix extra...
    local pcap=$1 w=$2 out=$3
    shift 3
    "$BIN" -r "$pcap" -w "$w" -R "$RULES" --redis none --events "$out.events" \
        --alerts "$out.alerts" "$@" 2>"$out.err"
}

# ---- scan ----
SCAN="$D/corpus/nDPI/synscan.pcap"
run "$SCAN" 2 "$T/scan" || bad "synscan run failed: $(cat "$T/scan.err")"
# the scanner: the source of the bare SYNs, per tshark
SCANNER=$(tshark -r "$SCAN" -Y "tcp.flags.syn==1 && tcp.flags.ack==0" -T fields -e ip.src \
    2>/dev/null | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
NPORTS=$(tshark -r "$SCAN" -Y "tcp.flags.syn==1 && tcp.flags.ack==0" -T fields -e tcp.dstport \
    2>/dev/null | sort -u | wc -l)
[ -n "$SCANNER" ] && [ "$NPORTS" -ge 20 ] && ok || bad "tshark: scanner '$SCANNER', $NPORTS ports"
/usr/bin/python3 - "$T/scan.alerts" "$SCANNER" <<'PY' && ok || bad "scan alert"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1])]
scan = [a for a in alerts if a["rule"]["id"] == "9190009"]
assert len(scan) == 1, [a["rule"]["id"] for a in alerts]
a = scan[0]
assert a["ot"]["event"] == "scan.vertical", a["ot"]
assert a["source"]["ip"] == sys.argv[2], a["source"]
assert set(a["iec62443"]["fr"]) == {"FR5", "FR6"}, a["iec62443"]
assert "SR 5.1" in a["iec62443"]["sr"] and "SR 6.2" in a["iec62443"]["sr"], a["iec62443"]
assert a["iso27032"]["threat"] == ["TC.HCK.RECON"], a["iso27032"]
assert a["event"]["severity"] == 3, a["event"]
assert a["ot"]["scan"]["ports"] == 20, a["ot"]
# a scan of one host is not a horizontal scan
assert not [x for x in alerts if x["rule"]["id"] == "9190008"]
PY

# ---- -w 4 and -w 1: the same correlation events ----
same_events() { # pcap extra...
    local pcap=$1
    shift
    run "$pcap" 1 "$T/w1" "$@" && run "$pcap" 4 "$T/w4" "$@" || {
        bad "run $pcap: $(cat "$T/w1.err" "$T/w4.err")"
        return
    }
    /usr/bin/python3 - "$T/w1.events" "$T/w4.events" <<'PY' && ok || bad "-w 1 vs -w 4 on $pcap"
import collections, json, sys
def corr(p):
    c = collections.Counter()
    for l in open(p):
        e = json.loads(l)
        if e["proto"] in ("asset", "scan", "conduit"):
            c[json.dumps(e, sort_keys=True)] += 1
    return c
a, b = corr(sys.argv[1]), corr(sys.argv[2])
assert sum(a.values()) > 0
assert a == b, ("only -w 1:", sum((a - b).values()), "only -w 4:", sum((b - a).values()), list(a - b)[:1])
PY
}
same_events "$SCAN"
same_events "$D/EIP-SoftwareUpload.pcap"
# a plant-like capture with thousands of flows (the bench generator): more records per
# worker than one pass of the output thread takes
OTGEN="${OTS_BUILD_DIR:-}/bench/otgen"
if [ -x "$OTGEN" ]; then
    "$OTGEN" -o "$T/plant.pcap" -n 150000 -s 7 >/dev/null || bad "otgen"
    same_events "$T/plant.pcap"
else
    echo "note: $OTGEN not built; plant capture skipped"
fi

# ---- conduits ----
MB="$D/modbus_testdata_part1.pcap"
# tshark: who writes to whom (FC 5 write single coil)
read -r WSRC WDST < <(tshark -r "$MB" -Y "modbus.func_code == 5 && tcp.dstport == 502" \
    -T fields -e ip.src -e ip.dst 2>/dev/null | head -1)
[ "$WSRC" = 10.0.0.9 ] && [ "$WDST" = 10.0.0.3 ] && ok || bad "tshark: writer $WSRC -> $WDST"
cat >"$T/zones.conf" <<EOF
zone HMI $WSRC/32 sl 2
zone PLC $WDST/32 sl 3
zone ENG 10.0.0.57/32 sl 2
zone FIELD 10.0.0.8/32 sl 2
conduit HMI PLC protocols modbus ops read-only
conduit ENG PLC protocols modbus
EOF
run "$MB" 2 "$T/mb" -Z "$T/zones.conf" || bad "zones run: $(cat "$T/mb.err")"
/usr/bin/python3 - "$T/mb.alerts" "$T/mb.events" "$WSRC" "$WDST" <<'PY' && ok || bad "conduit alerts"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1])]
events = [json.loads(l) for l in open(sys.argv[2])]
src, dst = sys.argv[3], sys.argv[4]
op = [a for a in alerts if a["rule"]["id"] == "9190006"]
assert len(op) == 1, len(op)
a = op[0]
assert (a["source"]["ip"], a["destination"]["ip"]) == (src, dst), a
assert a["ot"]["conduit"]["reason"] == "operation" and a["ot"]["conduit"]["op_class"] == "write", a["ot"]
assert a["iec62443"]["zone"] == {"src": "HMI", "dst": "PLC"}, a["iec62443"]
assert a["iec62443"]["conduit"] == "HMI-PLC", a["iec62443"]
assert set(a["iec62443"]["fr"]) == {"FR5", "FR2"} and a["iso27032"]["threat"] == ["TC.HCK.ACCESS"]
# the write itself is in the events, from the same pair
assert any(e["event"] == "modbus.write_single_coil" and e["src_ip"] == src and e["dst_ip"] == dst
           for e in events)
# ENG -> FIELD has no conduit: conduit.unlisted, at most once per (source, destination,
# port) per conduit window (300 s)
un = [a for a in alerts if a["rule"]["id"] == "9190005"]
pairs = {(a["source"]["ip"], a["destination"]["ip"]) for a in un}
assert ("10.0.0.57", "10.0.0.8") in pairs, pairs
assert all(set((a["iec62443"]["zone"]["src"], a["iec62443"]["zone"]["dst"])) == {"ENG", "FIELD"}
           for a in un), un
import datetime
def t(a):
    return datetime.datetime.strptime(a["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
seen = {}
for a in sorted(un, key=t):
    k = (a["source"]["ip"], a["destination"]["ip"], a["destination"]["port"])
    assert k not in seen or t(a) - seen[k] >= 300, (k, a["@timestamp"])
    seen[k] = t(a)
# ENG -> PLC (diagnostics, report server id) rides a conduit without ops limits: no alert
assert not [a for a in alerts if a["rule"]["id"] in ("9190005", "9190006")
            and a["source"]["ip"] == "10.0.0.57" and a["destination"]["ip"] == dst]
PY

# ---- Community ID: events about one flow carry the flow's; scans carry none ----
/usr/bin/python3 - "$T/mb.events" "$T/mb.alerts" "$T/scan.events" <<'PY' && ok || bad "community ids"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
# the flow's own Community ID: its flow.new event (test_community_id checks the hash)
cid = {e["flow_id"]: e["community_id"] for e in ev if e["event"] == "flow.new"}
one = [e for e in ev if e["proto"] in ("asset", "conduit")]
assert {e["event"] for e in one} >= {"asset.new", "conduit.unlisted", "conduit.operation"}, one
for e in one:
    assert e.get("community_id") and e["community_id"] == cid[e["flow_id"]], e
assert len({e["community_id"] for e in one if e["proto"] == "conduit"}) > 1
for a in (json.loads(l) for l in open(sys.argv[2])):
    if a["rule"]["id"] in ("9190005", "9190006"):
        assert a["network"]["community_id"] == cid[a["otsensor"]["flow_id"]], a
scans = [json.loads(l) for l in open(sys.argv[3])]
scans = [e for e in scans if e["proto"] == "scan"]
assert scans and all("community_id" not in e and e["flow_id"] == 0 for e in scans), scans
PY

# ---- the asset inventory in Redis ----
PORT=$(free_port)
redis_start "$PORT" "$T/redis.log" --save "" --appendonly no --dir "$T" || exit 1
ENIP="$D/enip_test1.pcap"
read -r DEV VENDOR NAME SERIAL < <(tshark -r "$ENIP" -Y "enip.command == 0x0063 && enip.lir.name" \
    -T fields -e ip.src -e enip.lir.vendor -e enip.lir.name -e enip.lir.serial 2>/dev/null)
[ "$VENDOR" = 0x0001 ] && [ -n "$NAME" ] && ok || bad "tshark ListIdentity: $DEV $VENDOR $NAME"
"$BIN" -r "$ENIP" -w 2 -R "$RULES" --redis "redis://127.0.0.1:$PORT" --spool "$T/spool" \
    --sensor-name ctest 2>"$T/redis.err" || bad "redis run: $(cat "$T/redis.err")"
rcli() { redis-cli -p "$PORT" --raw "$@"; }
H="otsensor:ctest:asset:$DEV"
[ "$(rcli HGET "$H" product)" = "$NAME" ] && ok || bad "product: $(rcli HGETALL "$H")"
# vendor id 1 is Rockwell Automation/Allen-Bradley in the ODVA list
[ "$(rcli HGET "$H" vendor)" = "Rockwell Automation/Allen-Bradley" ] && ok || bad "vendor"
/usr/bin/python3 - "$(rcli HGET "$H" identity)" "$NAME" "$SERIAL" <<'PY' && ok || bad "identity"
import json, sys
i = json.loads(sys.argv[1])
assert i["product_name"] == sys.argv[2] and i["vendor_id"] == "1", i
assert int(i["serial"], 16) == int(sys.argv[3], 16), i
PY
[ "$(rcli HGET "$H" roles)" = enip_server ] && ok || bad "device roles: $(rcli HGET "$H" roles)"
[ "$(rcli HGET "$H" protocols)" = enip ] && ok || bad "protocols"
# the client that asked
CLIENT=$(tshark -r "$ENIP" -Y "enip.command == 0x0063 && !enip.lir.name" -T fields -e ip.src \
    2>/dev/null | head -1)
[ "$(rcli HGET "otsensor:ctest:asset:$CLIENT" roles)" = enip_client ] && ok ||
    bad "client roles: $(rcli HGETALL "otsensor:ctest:asset:$CLIENT")"
# the sorted set holds every asset, scored by last_seen (ms)
[ "$(rcli ZCARD otsensor:ctest:assets)" = "$(rcli --scan --pattern 'otsensor:ctest:asset:*' | wc -l)" ] &&
    ok || bad "sorted set"
LAST=$(rcli ZSCORE otsensor:ctest:assets "$H")
/usr/bin/python3 -c "
import datetime,sys
t=datetime.datetime.strptime(sys.argv[2],'%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
assert abs(int(float(sys.argv[1]))-int(t.timestamp()*1000))<=1" "$LAST" "$(rcli HGET "$H" last_seen)" &&
    ok || bad "score $LAST vs last_seen"
# asset.new alerts went to the stream too
[ "$(rcli XLEN otsensor:alerts:ctest)" -ge 3 ] && ok || bad "stream"

echo "$pass passed, $fails failed"
[ "$fails" = 0 ]
