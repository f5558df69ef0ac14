#!/bin/bash
# IPv4 fragments end to end, and the fragment table's caps in --stats: a BACnet/IP Who-Is
# cut into three 8-byte fragments (scapy) is reassembled and dissected; with
# ipfrag.max_datagrams = 1 a second incomplete datagram evicts the first (frag_cap), an
# incomplete one is dropped after ipfrag.timeout seconds of packet time, and one left at
# the end is counted as held. Run with two workers: the reassembled datagram must reach
# the worker that owns its flow.
set -uo pipefail
BIN=$1
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

/usr/bin/python3 - "$T/frag.pcap" <<'PY' || { echo "FAIL: scapy"; exit 1; }
import sys
from scapy.all import IP, UDP, Ether, Raw, fragment, wrpcap
WHOIS = bytes.fromhex("810b000c0120ffff00ff1008")  # BVLC original-broadcast, NPDU, Who-Is


def frags(src, ipid, t):
    p = (Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
         IP(src=src, dst="10.9.0.255", id=ipid) / UDP(sport=47808, dport=47808) / Raw(WHOIS))
    out = fragment(p, fragsize=8)  # 20 bytes of UDP: three fragments
    for i, f in enumerate(out):
        f.time = t + i * 0.001
    return out


pk = frags("10.9.0.1", 1, 1000.0)          # A: complete
pk += frags("10.9.0.2", 2, 1001.0)[:1]     # B: first fragment only
pk += frags("10.9.0.3", 3, 1002.0)[:1]     # C: evicts B (the cap is one datagram)
pk += frags("10.9.0.4", 4, 1010.0)         # D: complete; C has waited 8 s > 5 s by now
pk += frags("10.9.0.5", 5, 1011.0)[:2]     # E: two of three, still held at the end
wrpcap(sys.argv[1], pk)
PY
printf 'ipfrag.max_datagrams = 1\nipfrag.timeout = 5\n' >"$T/frag.conf"
"$BIN" -r "$T/frag.pcap" -c "$T/frag.conf" -w 2 --redis none --events "$T/ev" \
    --stats "$T/st" 2>"$T/err" && ok || bad "run failed: $(cat "$T/err")"

/usr/bin/python3 - "$T/st" "$T/ev" <<'PY' && ok || bad "fragment figures"
import json, sys
st = json.load(open(sys.argv[1]))
ev = [json.loads(l) for l in open(sys.argv[2])]
f = st["ipfrag"]
want = {"fragments": 10, "reassembled": 2, "dropped_cap": 1, "timeouts": 1, "overlaps": 0,
        "too_large": 0, "held": 1}
got = {k: f[k] for k in want}
bac = sorted(e["src_ip"] for e in ev if e.get("event") == "bacnet.who_is")
cap = [e["src_ip"] for e in ev if e.get("event") == "decoder.frag_cap"]
checks = [(got == want, "ipfrag %s, want %s" % (got, want)),
          (f["held_bytes"] > 0, "held_bytes %d > 0" % f["held_bytes"]),
          (bac == ["10.9.0.1", "10.9.0.4"], "Who-Is from the reassembled datagrams: %s" % bac),
          (cap == ["10.9.0.3"], "frag_cap event on the fragment that hit the cap: %s" % cap),
          (st["decoder"].get("frag_cap") == 1, "decoder.frag_cap %s" % st["decoder"])]
for good, what in checks:
    print(("ok   " if good else "FAIL ") + what)
sys.exit(0 if all(g for g, _ in checks) else 1)
PY
echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
