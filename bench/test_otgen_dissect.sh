#!/usr/bin/env bash
# otgen writes what the dissectors of reference see as valid traffic: tshark dissects every
# OT protocol with no malformed packet and no warning or error, and ndpiReader classifies
# each protocol. Skipped (77) when neither tool is installed.
set -euo pipefail
otgen=$1 dir=$2
have_tshark=$(command -v tshark || true)
have_ndpi=$(command -v ndpiReader || true)
if [ -z "$have_tshark" ] && [ -z "$have_ndpi" ]; then
    echo "SKIP: neither tshark nor ndpiReader installed"
    exit 77
fi
mkdir -p "$dir"
f=$dir/dissect.pcap
"$otgen" -o "$f" -n 20000 -s 3 >/dev/null
fail=0
if [ -n "$have_tshark" ]; then
    phs=$(tshark -r "$f" -q -z io,phs 2>/dev/null)
    for p in mbtcp modbus dnp3 iec60870_104 iec60870_asdu s7comm cotp tpkt enip cip cipio \
        dns ntp tls http; do
        grep -qE "^ *$p +frames:" <<<"$phs" || { echo "FAIL: tshark sees no $p"; fail=1; }
    done
    bad=$(tshark -r "$f" -Y '_ws.malformed || _ws.expert.severity >= "warning"' \
        -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
        2>/dev/null | wc -l)
    [ "$bad" = 0 ] || { echo "FAIL: $bad malformed or warned frames"; fail=1; }
    echo "tshark: all protocols dissected, $bad malformed/warned frames"
fi
if [ -n "$have_ndpi" ]; then
    det=$(ndpiReader -i "$f" 2>/dev/null | sed -n '/^Detected protocols/,/^$/p')
    for p in Modbus DNP3 IEC60870 s7comm EthernetIP DNS TLS HTTP NTP; do
        grep -qE "^[[:space:]]+$p " <<<"$det" || { echo "FAIL: ndpiReader found no $p"; fail=1; }
    done
    echo "ndpiReader: $(grep -cE '^[[:space:]]+[A-Za-z0-9]+ +packets:' <<<"$det") protocols detected"
fi
exit $fail
