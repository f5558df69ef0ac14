#!/bin/bash
# The receive-window check of TCP reassembly on a real capture: in fuzz-72.pcap the
# server's frame 12 carries a sequence number far beyond the client's advertised window
# (tshark: its seq minus the client's last ack is more than the client's window; no
# window scaling, the server's SYN has no option). The sensor raises one
# stream.beyond_window for it and counts it; no other capture of the corpus raises one.
set -uo pipefail
BIN=$1
D="$OTS_SOURCE_DIR/tests/data/corpus/ICS-Security-Tools/bro/modbus"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

# tshark: the server segments that start beyond the client's window edge (the furthest
# ack + window of the client's packets with ACK so far: an edge never moves back), in
# frame order
WANT=$(tshark -r "$D/fuzz-72.pcap" -o tcp.relative_sequence_numbers:FALSE -T fields \
    -e frame.time_epoch -e tcp.srcport -e tcp.seq -e tcp.ack -e tcp.window_size_value \
    -e tcp.len -e tcp.flags.ack 2>/dev/null | awk '
    $2 == 2582 && $7 == 1 {
        e = ($4 + $5) % 4294967296
        if (!known || ((e - edge + 4294967296) % 4294967296) - 1 < 2147483647) edge = e
        known = 1
    }
    $2 == 502 && $6 > 0 && known {
        d = ($3 - edge + 4294967296) % 4294967296
        if (d > 0 && d < 2147483648) printf "%.6f\n", $1
    }')
[ "$(echo "$WANT" | grep -c .)" -ge 1 ] && ok || bad "tshark finds no beyond-window segment"

"$BIN" -r "$D/fuzz-72.pcap" -w 1 --redis none --events "$T/ev" --stats "$T/st" 2>"$T/err" ||
    bad "run: $(cat "$T/err")"
/usr/bin/python3 - "$T/ev" "$T/st" "$WANT" <<'PY' && ok || bad "fuzz-72 beyond_window"
import datetime, json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
bw = [e for e in evs if e["event"] == "stream.beyond_window"]
want = [float(x) for x in sys.argv[3].split()]
def t(e):
    return datetime.datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
assert [round(t(e), 6) for e in bw] == want, ([e["ts"] for e in bw], want)
for e in bw:
    assert (e["src_ip"], e["src_port"]) == ("166.161.16.230", 502), e
    assert e["anomalies"] == ["stream.beyond_window"], e
st = json.loads(open(sys.argv[2]).read().splitlines()[-1])
assert st["reassembly"]["beyond_window"] == len(want), st["reassembly"]
PY

n=0
while IFS= read -r p; do
    [ "$(basename "$p")" = fuzz-72.pcap ] && continue
    "$BIN" -r "$p" -w 1 --redis none --stats "$T/st2" 2>/dev/null
    k=$(grep -o '"beyond_window":[0-9]*' "$T/st2" | tail -n1 | cut -d: -f2)
    [ "$k" = 0 ] || bad "$p: beyond_window ${k:-?}"
    n=$((n + 1))
done < <(find "$OTS_SOURCE_DIR/tests/data/corpus" -name '*.pcap*' | sort)
[ "$n" -ge 50 ] && ok || bad "only $n corpus captures"

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
