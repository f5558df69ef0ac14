#!/bin/bash
# The correlation stage's first-sight, liveness and UDP scan events end to end, with the
# default rules (docs/events.md, "Correlation events"):
#  - GOOSE: real frames (goose_icsnpp.pcap, goose_demo.pcap) in a derived capture where
#    a publisher falls silent (tests/integration/gaps_pcaps.py): goose_publisher.ttl_expired where
#    tshark's gaps exceed twice the timeAllowedtoLive, goose_publisher.new per (MAC,
#    APPID, gocbRef), the gocbRef from a second MAC flagged (alert 9108110, high);
#    the unmodified capture has no expiry;
#  - MMS: mms.new_client once per (client, server) of tshark's initiate requests;
#  - flow.new_intra_zone once per (src, dst, transport, port) inside a zone;
#  - correlate.learning_period silences the new-* events (not the spoof);
#  - a generated UDP sweep answered by ICMP port-unreachable raises scan.vertical, one
#    never answered scan.horizontal; answered UDP polling (generated, BACnet corpus)
#    raises no scan;
#  - -w 4 gives the same multiset of these events as -w 1.
set -uo pipefail
BIN=$1
D="$OTS_SOURCE_DIR/tests/data"
RULES="$OTS_SOURCE_DIR/rules/otsensor"
GEN="$OTS_SOURCE_DIR/tests/integration/gaps_pcaps.py"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"
run() { # pcap workers out-prefix extra...
    local pcap=$1 w=$2 out=$3
    shift 3
    "$BIN" -r "$pcap" -w "$w" -R "$RULES" --redis none --events "$out.events" \
        --alerts "$out.alerts" "$@" 2>"$out.err" || bad "run $pcap -w $w: $(cat "$out.err")"
}
NEWEV='goose_publisher.ttl_expired goose_publisher.new mms.new_client flow.new_intra_zone scan.vertical scan.horizontal'

# ---- GOOSE ----
/usr/bin/python3 "$GEN" goose "$D/goose_icsnpp.pcap" "$D/goose_demo.pcap" "$T/goose.pcap" ||
    bad "gaps_pcaps.py goose"
# tshark's view: time, source MAC, APPID, gocbRef, TTL of every frame
for p in goose_icsnpp:"$D/goose_icsnpp.pcap" derived:"$T/goose.pcap"; do
    tshark -r "${p#*:}" -T fields -e frame.time_epoch -e eth.src -e goose.appid -e goose.gocbRef \
        -e goose.timeAllowedtoLive 2>/dev/null >"$T/${p%%:*}.tsv"
    run "${p#*:}" 2 "$T/${p%%:*}"
    /usr/bin/python3 - "$T/${p%%:*}.tsv" "$T/${p%%:*}.events" "$T/${p%%:*}.alerts" "${p%%:*}" <<'PY' && ok || bad "GOOSE on ${p%%:*}"
import collections, datetime, json, sys
tsv, evp, alp, name = sys.argv[1:]
pubs = collections.defaultdict(list)
rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
for t, mac, appid, ref, ttl in rows:
    pubs[(mac, int(appid, 16), ref)].append((round(float(t) * 1e6), int(ttl)))
end = max(t for v in pubs.values() for t, _ in v)
# expected expiries: a gap beyond 2 x the previous frame's TTL, the silence after the last
# frame only when later frames show the time passed
want = collections.Counter()
for (mac, appid, ref), fr in pubs.items():
    fr.sort()
    for (t, ttl), nxt in zip(fr, [x for x, _ in fr[1:]] + [end]):
        if nxt > t + 2 * ttl * 1000:
            want[(mac, ref, t + 2 * ttl * 1000, t)] += 1
events = [json.loads(l) for l in open(evp)]
def us(ts):
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(d.timestamp() * 1e6)
got = collections.Counter((e["src_mac"], e["goose_publisher"]["gocb_ref"], us(e["ts"]), e["goose_publisher"]["last_message_us"])
                          for e in events if e["event"] == "goose_publisher.ttl_expired")
assert got == want, (got, want)
assert (name == "goose_icsnpp") == (len(want) == 0), want  # the original has none
news = [e for e in events if e["event"] == "goose_publisher.new"]
assert sorted((e["goose_publisher"]["mac"], e["goose_publisher"]["appid"], e["goose_publisher"]["gocb_ref"]) for e in news) == sorted(pubs), news
firstmac = {}
for mac, appid, ref in sorted(pubs, key=lambda k: pubs[k][0][0]):
    firstmac.setdefault(ref, mac)
for e in news:
    g = e["goose_publisher"]
    assert g["spoof"] == (firstmac[g["gocb_ref"]] != g["mac"]), e
    assert g.get("known_mac") == (firstmac[g["gocb_ref"]] if g["spoof"] else None), e
alerts = [json.loads(l) for l in open(alp)]
ids = collections.Counter(a["rule"]["id"] for a in alerts)
nspoof = sum(e["goose_publisher"]["spoof"] for e in news)
assert ids["9108106"] == len(want) and ids["9108107"] == len(news) - nspoof and ids["9108110"] == nspoof, ids
for a in alerts:
    if a["rule"]["id"] == "9108106":
        assert a["iec62443"]["fr"] == ["FR7"] and a["iso27032"]["threat"] == ["TC.OBS.STATE"], a
    if a["rule"]["id"] == "9108110":
        assert a["event"]["severity"] == 3 and a["iso27032"]["threat"] == ["TC.HCK.SPOOF"], a
if name == "derived":
    assert len(want) == 2 and nspoof == 1, (want, nspoof)
PY
done

# ---- MMS ----
for m in mms_ndpi_iso9506_1.pcap mms_iec61850_read.pcap; do
    tshark -r "$D/$m" -Y mms.initiate_RequestPDU_element -T fields -e ip.src -e ip.dst 2>/dev/null |
        sort -u >"$T/mms.want"
    run "$D/$m" 2 "$T/mms"
    /usr/bin/python3 - "$T/mms.want" "$T/mms.events" "$T/mms.alerts" <<'PY' && ok || bad "MMS new client on $m"
import json, sys
want = sorted(tuple(l.split()) for l in open(sys.argv[1]) if l.strip())
ev = [json.loads(l) for l in open(sys.argv[2])]
got = sorted((e["mms"]["client"], e["mms"]["server"]) for e in ev if e["event"] == "mms.new_client")
assert want and got == want, (got, want)
al = [json.loads(l) for l in open(sys.argv[3])]
assert sum(a["rule"]["id"] == "9108014" for a in al) == len(want)
PY
done

# ---- flow.new_intra_zone ----
MB="$D/modbus_testdata_part1.pcap"
printf 'zone PLANT 10.0.0.0/24 sl 2\n' >"$T/zones.conf"
run "$MB" 2 "$T/iz" -Z "$T/zones.conf"
/usr/bin/python3 - "$T/iz.events" "$T/iz.alerts" <<'PY' && ok || bad "flow.new_intra_zone"
import ipaddress, json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
net = ipaddress.ip_network("10.0.0.0/24")
inz = lambda a: a is not None and ipaddress.ip_address(a) in net
want = {(e["src_ip"], e["dst_ip"], e["transport"], e["dst_port"]) for e in ev
        if e["event"] == "flow.new" and inz(e.get("src_ip")) and inz(e.get("dst_ip"))}
got = [(e["src_ip"], e["dst_ip"], e["transport"], e["flow"]["port"]) for e in ev
       if e["event"] == "flow.new_intra_zone"]
assert len(want) > 1 and sorted(got) == sorted(want), (len(got), len(want))
assert all(e["flow"]["zone"] == "PLANT" for e in ev if e["event"] == "flow.new_intra_zone")
al = [json.loads(l) for l in open(sys.argv[2])]
assert sum(a["rule"]["id"] == "9190004" for a in al) == len(want)
PY

# ---- learning period ----
printf 'correlate.learning_period = 3600\n' >"$T/learn.conf"
run "$T/goose.pcap" 2 "$T/lg" -c "$T/learn.conf"
run "$D/mms_iec61850_read.pcap" 2 "$T/lm" -c "$T/learn.conf"
run "$MB" 2 "$T/lz" -c "$T/learn.conf" -Z "$T/zones.conf"
/usr/bin/python3 - "$T/lg.events" "$T/lm.events" "$T/lz.events" <<'PY' && ok || bad "learning period"
import json, sys
ev = [json.loads(l) for p in sys.argv[1:] for l in open(p)]
new = [e for e in ev if e["event"] in ("goose_publisher.new", "mms.new_client", "flow.new_intra_zone")]
assert len(new) == 1 and new[0]["goose_publisher"]["spoof"] is True, new
assert sum(e["event"] == "goose_publisher.ttl_expired" for e in ev) == 2
PY

# ---- UDP scans ----
/usr/bin/python3 "$GEN" udpscan "$T/udp.pcap" || bad "gaps_pcaps.py udpscan"
# tshark: the ports of 10.9.0.10 that answered the scanner with an ICMP port-unreachable
NUNREACH=$(tshark -r "$T/udp.pcap" -Y "icmp.type == 3 && icmp.code == 3 && ip.src == 10.9.0.10" \
    -T fields -e udp.dstport 2>/dev/null | sort -u | wc -l)
[ "$NUNREACH" = 29 ] && ok || bad "tshark: $NUNREACH unreachable ports"
run "$T/udp.pcap" 2 "$T/udp"
/usr/bin/python3 - "$T/udp.events" "$T/udp.alerts" <<'PY' && ok || bad "UDP scans"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
sc = [e for e in ev if e["proto"] == "scan"]
v = [e for e in sc if e["op"] == "vertical"]
h = [e for e in sc if e["op"] == "horizontal"]
assert len(v) == 1 and len(h) == 1, sc
assert (v[0]["src_ip"], v[0]["dst_ip"], v[0]["transport"], v[0]["scan"]["ports"]) == \
    ("10.9.0.66", "10.9.0.10", "udp", 20), v
assert (h[0]["src_ip"], h[0]["scan"]["port"], h[0]["scan"]["hosts"]) == ("10.9.0.66", 47808, 20), h
assert not [e for e in sc if e["src_ip"] == "10.9.0.5"]
al = [json.loads(l) for l in open(sys.argv[2])]
assert sorted(a["rule"]["id"] for a in al if a["ot"]["event"].startswith("scan.")) == ["9190008", "9190009"]
PY
# answered UDP polling in real captures: no scan
for b in corpus/icsnpp-bacnet/bacnet_example.pcap corpus/nDPI/bacnet.pcap corpus/nDPI/dns.pcap \
    corpus/nDPI/cip_io.pcap; do
    run "$D/$b" 2 "$T/poll"
    grep -q '"proto":"scan"' "$T/poll.events" && bad "scan in $b" || ok
done

# ---- -w 4 and -w 1: the same multiset of these events ----
for p in "$T/goose.pcap" "$T/udp.pcap" "$D/mms_ndpi_iso9506_1.pcap" "$MB"; do
    run "$p" 1 "$T/w1" -Z "$T/zones.conf"
    run "$p" 4 "$T/w4" -Z "$T/zones.conf"
    /usr/bin/python3 - "$T/w1.events" "$T/w4.events" "$NEWEV" "$T/w1.alerts" "$T/w4.alerts" <<'PY' && ok || bad "-w 1 vs -w 4 on $p"
import collections, json, sys
names = set(sys.argv[3].split())
def c(p):
    return collections.Counter(json.dumps(e, sort_keys=True) for e in map(json.loads, open(p))
                               if e["event"] in names)
a, b = c(sys.argv[1]), c(sys.argv[2])
assert sum(a.values()) > 0 and a == b, (sum(a.values()), sum(b.values()))
# and the same alerts from them (rule, time, ends, event fields)
def al(p):
    return collections.Counter(
        json.dumps([x["rule"]["id"], x["@timestamp"], x.get("source"), x.get("destination"),
                    x["ot"], x["otsensor"].get("count")], sort_keys=True)
        for x in map(json.loads, open(p)) if x["ot"]["event"] in names)
a, b = al(sys.argv[4]), al(sys.argv[5])
assert sum(a.values()) > 0 and a == b, (sum(a.values()), sum(b.values()))
PY
done

echo "$pass passed, $fails failed"
[ "$fails" = 0 ]
