#!/bin/bash
# Live capture from two interfaces, as a TAP's two half-duplex feeds: each direction
# of a Modbus session is replayed (tcpreplay) into its own veth pair and otsensor
# listens on the two far ends. The flow must be seen once, with both directions
# (responses paired with their requests), no ring drops, and SIGTERM must drain and
# exit 0. Needs root (veth) — CI runs as root; elsewhere the test says it skipped.
set -uo pipefail
BIN=$1
CAP="$OTS_SOURCE_DIR/tests/data/corpus/nDPI/modbus.pcap"
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v tcpreplay >/dev/null; then
    echo "skipped: needs root, iproute2 and tcpreplay"
    exit 0
fi
T=$(mktemp -d)
A0=otsA$$ A1=otsa$$ B0=otsB$$ B1=otsb$$
cleanup() {
    ip link del "$A0" 2>/dev/null
    ip link del "$B0" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
for pair in "$A0 $A1" "$B0 $B1"; do
    set -- $pair
    ip link add "$1" type veth peer name "$2" || { echo "FAIL: cannot create veth"; exit 1; }
    for i in "$1" "$2"; do
        sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1" 2>/dev/null
        ip link set "$i" up
    done
done
# one tcpreplay sends each direction out of its own interface, in capture order
# (tcpprep --port: the side on the well-known port is the server)
tcpprep --port --pcap="$CAP" --cachefile="$T/cache" || { echo "FAIL: tcpprep"; exit 1; }
"$BIN" -i "$A1" -i "$B1" -f "tcp port 502" -w 2 --redis none --events "$T/ev.json" \
    --stats "$T/st.json" 2>"$T/err" &
pid=$!
sleep 2
# the capture spans 23 s; replay it 8x faster
tcpreplay -q -x 8 --cachefile="$T/cache" -i "$A0" -I "$B0" "$CAP" >/dev/null 2>&1 ||
    echo "FAIL: tcpreplay"
sleep 1
kill -TERM $pid
wait $pid
rc=$?
fails=0
[ $rc -eq 0 ] || { echo "FAIL: exit $rc after SIGTERM: $(cat "$T/err")"; fails=1; }
/usr/bin/python3 - "$T/ev.json" "$T/st.json" <<'PY' || fails=1
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
st = json.load(open(sys.argv[2]))
flows = [e for e in evs if e["event"] == "flow.new"]
req = [e for e in evs if e["proto"] == "modbus" and e.get("dir") == "request"]
rsp = [e for e in evs if e["proto"] == "modbus" and e.get("dir") == "response"]
paired = [e for e in rsp if "request_func" in e["modbus"]]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("FAIL:", msg)
        ok = False
check(st["packets"] == 102, "captured %d packets, want 102" % st["packets"])
check(st["ring_drops"] == 0 and st["kernel_drops"] == 0, "drops: %r %r" % (st["ring_drops"], st["kernel_drops"]))
check(len(flows) == 1, "%d flows, want 1 (both feeds merged)" % len(flows))
# tshark: 102 Modbus PDUs, 51 each way; offline, otsensor pairs 47 responses (the
# capture's first responses answer requests sent before it started)
check(len(req) == 51 and len(rsp) == 51, "%d requests, %d responses (want 51/51)" % (len(req), len(rsp)))
check(len(paired) == 47, "%d responses paired with their request across feeds, want 47" % len(paired))
print("live: %d packets, %d flows, %d/%d requests/responses, %d paired" %
      (st["packets"], len(flows), len(req), len(rsp), len(paired)))
sys.exit(0 if ok else 1)
PY
if [ $fails -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fails
