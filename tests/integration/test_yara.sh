#!/bin/bash
# YARA on the wire, end to end with the shipped rules (rules/yara) and the default
# rule set: a signature cut over three out-of-order TCP segments matches exactly
# once; a block downloaded over several S7 PDUs is reassembled and matches with its
# block type and number; the TriStation rule fires; YARA metadata sets severity;
# compile errors name file:line; SIGHUP swaps the YARA set under traffic with no
# scan missed or doubled, and a broken set is refused; DNP3 g70v5 file blocks of a
# real capture are scanned as one object. Captures are written by
# yara_pcaps.py (scapy); digests are recomputed here with Python's hashlib.
set -uo pipefail
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
OTGEN="$OTS_BUILD_DIR/bench/otgen"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"
N=150 # flows per eicar_flows capture
/usr/bin/python3 "$HERE/yara_pcaps.py" "$T" $N || { echo "FAIL: yara_pcaps.py"; exit 1; }
mkdir "$T/yara"
cp "$OTS_SOURCE_DIR"/rules/yara/*.yar "$T/yara/"
# a test rule: a marker that only a reassembled block holds whole
cat >"$T/yara/test_marker.yar" <<'EOF'
rule OTS_Test_Split_Marker { strings: $m = "OTS-SPLIT-MARKER" condition: $m }
EOF
RULES="$OTS_SOURCE_DIR/rules/otsensor"

run() { # name pcap [workers]
    "$BIN" -r "$T/$2" -w "${3:-1}" --redis none -R "$RULES" -Y "$T/yara" \
        --events "$T/$1.ev" --alerts "$T/$1.al" --stats "$T/$1.st" 2>"$T/$1.err" ||
        bad "$1: exit $?: $(cat "$T/$1.err")"
}

# 1. EICAR over three out-of-order segments (one retransmitted), 1 and 2 workers
run ooo1 eicar_ooo.pcap 1
run ooo2 eicar_ooo.pcap 2
/usr/bin/python3 - "$T" <<'PY' && ok || bad "EICAR out of order"
import hashlib, json, sys
t = sys.argv[1]
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
stream = b"PUT /test.com HTTP/1.0\r\n\r\n" + EICAR + b"\r\n"
for name in ("ooo1", "ooo2"):
    ev = [json.loads(l) for l in open(f"{t}/{name}.ev")]
    m = [e for e in ev if e["proto"] == "yara"]
    assert len(m) == 1, (name, len(m))
    y = m[0]["yara"]
    assert y["rule"] == "OTS_EICAR_Test_File", y
    assert y["strings"][0]["offset"] == stream.index(EICAR), y["strings"]
    assert y["object"]["type"] == "stream" and y["direction"] == "to_server", y
    assert y["object"]["sha256"] == hashlib.sha256(stream).hexdigest(), y["object"]
    al = [json.loads(l) for l in open(f"{t}/{name}.al")]
    ya = [a for a in al if a["ot"]["event"] == "yara.match"]
    assert len(ya) == 1, len(ya)
    a = ya[0]
    assert a["iec62443"]["fr"] == ["FR3"] and a["iec62443"]["sr"] == ["SR 3.2", "SR 3.4"], a
    assert a["iso27032"]["threat"] == ["TC.MAL.SIG"], a
    assert a["event"]["severity"] == 1, a["event"]  # the YARA rule's severity = "low"
    assert a["otsensor"]["yara"]["rule"] == "OTS_EICAR_Test_File", a["otsensor"]
    assert a["source"]["port"] == 40000 and a["destination"]["port"] == 8080, a
    st = json.load(open(f"{t}/{name}.st"))["yara"]
    assert st["matches"] == 1 and st["streams_scanned"] == 1, st  # the server sent nothing
print("EICAR: one match, offset, digest and alert tags right with -w 1 and -w 2")
PY

# 1b. a flow no dissector reads is scanned past its first segment (EICAR in the
# second), and a window a gap ends is reported with its own flow's addresses
run late eicar_late.pcap
run gap eicar_gap.pcap
/usr/bin/python3 - "$T" <<'PY' && ok || bad "EICAR late in a flow / at a gap"
import json, sys
t = sys.argv[1]
for name, (sip, sport, dip) in (("late", ("10.6.0.1", 41000, "10.6.0.2")),
                                ("gap", ("10.6.1.1", 42000, "10.6.1.2"))):
    ev = [json.loads(l) for l in open(f"{t}/{name}.ev")]
    m = [e for e in ev if e["proto"] == "yara"]
    assert len(m) == 1, (name, m)
    assert m[0]["yara"]["rule"] == "OTS_EICAR_Test_File", (name, m)
    al = [json.loads(l) for l in open(f"{t}/{name}.al")]
    ya = [a for a in al if a["ot"]["event"] == "yara.match"]
    assert len(ya) == 1, (name, ya)
    a = ya[0]
    assert a["source"]["ip"] == sip and a["source"]["port"] == sport, (name, a["source"])
    assert a["destination"]["ip"] == dip and a["destination"]["port"] == 8080, (name, a)
print("EICAR: found in a second segment of an undissected flow; gap scan names its flow")
PY

# 2. S7 block download over two PDUs
run s7 s7_download.pcap
/usr/bin/python3 - "$T" <<'PY' && ok || bad "S7 block download"
import hashlib, json, sys
from scapy.all import rdpcap, Raw, TCP
t = sys.argv[1]
body = b"A" * 40 + b"OTS-SPLIT-MARKER" + b"B" * 40
block = b"\x70\x70\x01\x01\x05\x0a\x03\x7a" + (36 + len(body)).to_bytes(4, "big") + b"\x00" * 24 + body
# the marker is not whole in the TCP stream: only reassembly finds it
up = b"".join(bytes(p[Raw]) for p in rdpcap(f"{t}/s7_download.pcap") if Raw in p and p[TCP].dport == 102)
assert b"OTS-SPLIT-MARKER" not in up
ev = [json.loads(l) for l in open(f"{t}/s7.ev")]
m = [e["yara"] for e in ev if e["proto"] == "yara"]
rules = sorted(y["rule"] for y in m)
assert rules == ["OTS_S7_Stuxnet_Block_Numbers", "OTS_Test_Split_Marker"], rules
for y in m:
    o = y["object"]
    assert o["type"] == "s7comm.block" and o["name"] == "_0A00890P", o
    assert o["block_type"] == "DB" and o["block_number"] == "890", o
    assert o["sha256"] == hashlib.sha256(block).hexdigest() and o["size"] == len(block), o
    assert y["proto"] == "s7comm" and y["direction"] == "to_server", y
mk = [y for y in m if y["rule"] == "OTS_Test_Split_Marker"][0]
assert mk["strings"][0]["offset"] == block.index(b"OTS-SPLIT-MARKER"), mk["strings"]
al = [json.loads(l) for l in open(f"{t}/s7.al")]
ya = [a for a in al if a["ot"]["event"] == "yara.match"]
assert len(ya) == 2, len(ya)
s = [a for a in ya if a["otsensor"]["yara"]["rule"] == "OTS_S7_Stuxnet_Block_Numbers"][0]
assert s["event"]["severity"] == 4 and s["iec62443"]["sr"] == ["SR 3.2", "SR 3.4"], s
assert s["ot"]["yara"]["object"]["block_number"] == "890", s["ot"]
assert s["otsensor"]["yara"]["object_name"] == "_0A00890P", s["otsensor"]
st = json.load(open(f"{t}/s7.st"))["yara"]
assert st["objects_scanned"] == 1 and st["matches"] == 2, st
print("S7: block reassembled over 2 PDUs, DB 890, digest right, 2 rules matched once")
PY

# 3. TriStation: PowerPC code to UDP 1502
run tri tristation.pcap
grep -q '"rule":"OTS_TriStation_PowerPC_Code_Download"' "$T/tri.ev" && ok ||
    bad "TriStation rule did not fire"

# 3b. DNP3 g70v5: the directory listing's two file transport blocks (real capture)
# are one object; a string cut at the block boundary matches once. The digest is
# Python's hashlib over tshark's dnp3.al.file.data of frames 11 and 15.
mkdir "$T/ydnp3"
echo 'rule OTS_Test_DNP3_Split { strings: $s = { 62 4B 65 79 2E 70 65 6D 14 00 17 00 01 00 8F 06 }
  condition: $s and ot_proto == "dnp3" and ot_object_type == "dnp3.file" }' >"$T/ydnp3/d.yar"
"$BIN" -r "$OTS_SOURCE_DIR/tests/data/dnp3-file-list-directory.pcap" --redis none -R "$RULES" \
    -Y "$T/ydnp3" --events "$T/dnp3.ev" --alerts "$T/dnp3.al" 2>"$T/dnp3.err" ||
    bad "dnp3 run: $(cat "$T/dnp3.err")"
/usr/bin/python3 - "$T/dnp3.al" <<'PY' && ok || bad "DNP3 g70 object"
import json, sys
ya = [json.loads(l)["otsensor"]["yara"] for l in open(sys.argv[1]) if '"yara.match"' in l]
assert len(ya) == 1, ya
y = ya[0]
assert y["rule"] == "OTS_Test_DNP3_Split" and y["object_type"] == "dnp3.file", y
assert y["object_name"] == "handle:305419896", y
assert y["sha256"] == "f5f26059f2461b2fd69fb73dadef92614ff4f6aa3bfb297e9dfda931e635bec6", y
PY

# 3c. Modbus file records written over two PDUs: one object, scanned when the flow
# ends (the worker's flow_end hook), with the flow's 5-tuple; -w 1 and -w 2. And the
# UMAS program read of nDPI's umas.pcap, 53 blocks joined (digest from tshark's
# modbus.data with Python's hashlib, as in test_yara.c).
run mbrun1 modbus_file_run.pcap 1
run mbrun2 modbus_file_run.pcap 2
mkdir "$T/yumas"
echo 'rule OTS_Test_UMAS_APX { strings: $a = "APX" condition: $a at 0 and
  ot_object_type == "modbus.umas_upload" and ot_direction == "to_client" }' >"$T/yumas/u.yar"
"$BIN" -r "$OTS_SOURCE_DIR/tests/data/modbus_umas.pcap" --redis none -R "$RULES" -Y "$T/yumas" \
    --events "$T/umas.ev" 2>"$T/umas.err" || bad "umas run: $(cat "$T/umas.err")"
/usr/bin/python3 - "$T" <<'PY' && ok || bad "Modbus file record run / UMAS upload"
import hashlib, json, sys
t = sys.argv[1]
for name in ("mbrun1", "mbrun2"):
    ev = [json.loads(l) for l in open(f"{t}/{name}.ev")]
    m = [e for e in ev if e["proto"] == "yara"]
    assert len(m) == 1, (name, [e["yara"]["rule"] for e in m])
    e, y = m[0], m[0]["yara"]
    assert y["rule"] == "OTS_Test_Split_Marker" and y["direction"] == "to_server", y
    o = y["object"]
    assert o["type"] == "modbus.file_record" and o["name"] == "file:4" and o["record"] == "1", o
    assert o["sha256"] == hashlib.sha256(b"OTS-SPLIT-MARKER").hexdigest(), o
    assert e["src_ip"] == "10.6.0.1" and e["src_port"] == 40001, e
    assert e["dst_ip"] == "10.6.0.2" and e["dst_port"] == 502, e
    ends = [x for x in ev if x.get("event") == "flow.end"]
    assert ends and ends[0]["flow_id"] == e["flow_id"], "no flow.end for the flow"
ev = [json.loads(l) for l in open(f"{t}/umas.ev")]
objs = {json.dumps(e["yara"]["object"], sort_keys=True) for e in ev if e["proto"] == "yara"}
um = [json.loads(o) for o in objs]
assert len(um) == 1 and um[0]["type"] == "modbus.umas_upload", objs
assert um[0]["sha256"] == "223dfe4cb8497b9a16b23f20a369a1483f83903a85b749deb8c84f878186c5c1", um
assert um[0]["size"] == 12343 and um[0]["first_block"] == "1", um
print("Modbus: a file record run scanned at the flow's end with its 5-tuple; UMAS read joined")
PY

# 3d. CIP I/O on UDP 2222 (real capture): nDPI 4.2 calls it SkypeCall, which it counts
# as encrypted, but the ENIP dissector reads it, so both directions are scanned. And
# TLS (bench traffic, below) is still skipped as encrypted.
mkdir "$T/yara_io"
cat >"$T/yara_io/io.yar" <<'EOF'
rule OTS_Test_CIP_IO { strings: $io = { 02 00 02 80 08 00 } condition: $io and ot_proto == "enip" }
EOF
"$BIN" -r "$OTS_SOURCE_DIR/tests/data/cip_io.pcap" -w 1 --redis none -Y "$T/yara_io" \
    --events "$T/io.ev" --stats "$T/io.st" 2>"$T/io.err" || bad "cip_io run: $(cat "$T/io.err")"
/usr/bin/python3 - "$T" <<'PY' && ok || bad "CIP I/O not scanned (taken for encrypted)"
import json, sys
t = sys.argv[1]
st = json.load(open(f"{t}/io.st"))["yara"]
assert st["encrypted_skips"] == 0 and st["streams_scanned"] == 2, st
m = [json.loads(l) for l in open(f"{t}/io.ev")]
m = sorted(e["yara"]["direction"] for e in m if e["proto"] == "yara")
assert m == ["to_client", "to_server"], m
print("CIP I/O: both directions scanned, no encrypted skip")
PY

# 3e. window depths: the Modbus flow (read by a dissector) is scanned for its first
# 8 KiB (yara.stream_max_dissected), the unknown protocol for 64 KiB (yara.stream_max),
# and an HTTP direction its parser gave up on keeps the deep window (all 20,027 bytes)
mkdir "$T/yara_len"
echo 'rule OTS_Test_Window { condition: ot_object_type == "stream" }' >"$T/yara_len/len.yar"
"$BIN" -r "$T/deep_windows.pcap" -w 1 --redis none -Y "$T/yara_len" --events "$T/deep.ev" \
    2>"$T/deep.err" || bad "deep_windows run: $(cat "$T/deep.err")"
/usr/bin/python3 - "$T" <<'PY' && ok || bad "window depths"
import json, sys
t = sys.argv[1]
got = {}
for l in open(f"{t}/deep.ev"):
    e = json.loads(l)
    if e["proto"] == "yara":
        port = e["dst_port"] if e["dst_port"] in (80, 502, 7777) else e["src_port"]  # server
        got[(port, e["yara"]["direction"])] = e["yara"]["object"]["scanned"]
want = {(502, "to_server"): 8192, (502, "to_client"): 1200,
        (7777, "to_server"): 65536, (7777, "to_client"): 2, (80, "to_server"): 20027}
assert got == want, got
print("window depths: Modbus 8 KiB, unknown protocol 64 KiB")
PY

# 3f. a TLS connection that only sends its ClientHello: no dissector reads it, nDPI
# names it TLS, so its window is dropped unscanned when the flow ends (the verdict
# is taken at the scan even though no later segment asked for it)
"$BIN" -r "$T/tls_hello.pcap" -w 1 --redis none -Y "$T/yara_len" --events "$T/tls.ev" \
    --stats "$T/tls.st" 2>"$T/tls.err" || bad "tls_hello run: $(cat "$T/tls.err")"
/usr/bin/python3 - "$T" <<'PY' && ok || bad "a lone ClientHello was scanned"
import json, sys
t = sys.argv[1]
st = json.load(open(f"{t}/tls.st"))["yara"]
assert st["encrypted_skips"] == 2 and st["scans"] == 0, st
assert not [l for l in open(f"{t}/tls.ev") if '"proto":"yara"' in l]
print("TLS ClientHello alone: not scanned, 2 encrypted skips")
PY

# 4. compile errors: file:line, exit 1; a good set passes --check
"$BIN" --check -Y "$T/yara" >"$T/chk.out" 2>&1 && grep -q "4 YARA rules" "$T/chk.out" && ok ||
    bad "--check of the good set: $(cat "$T/chk.out")"
mkdir "$T/broken"
printf 'rule fine { condition: true }\nrule broken {\n  strings: $a = "x"\n  condition: $b }\n' \
    >"$T/broken/z.yar"
"$BIN" --check -Y "$T/broken" 2>"$T/chk.err"
rc=$?
[ $rc -eq 1 ] && grep -q "^otsensor: $T/broken/z.yar:4: undefined string \"\$b\"" "$T/chk.err" && ok ||
    bad "compile error not reported as file:line (rc $rc): $(cat "$T/chk.err")"

# 5. SIGHUP under traffic: EICAR flows, then bench traffic, then more EICAR flows
if [ -x "$OTGEN" ]; then
    "$OTGEN" -o "$T/bench.pcap" -n 500000 -s 11 >/dev/null 2>&1 || bad "otgen"
    ARGS=(-w 2 --redis none -R "$RULES" --no-flow-events)
    "$BIN" -r "$T/eicar_flows_A.pcap" -r "$T/bench.pcap" -r "$T/eicar_flows_B.pcap" "${ARGS[@]}" \
        -Y "$T/yara" --events "$T/r0.ev" --stats "$T/r0.st" 2>/dev/null ||
        bad "reload baseline run failed"
    cp -r "$T/yara" "$T/yara2"
    # the last capture comes through a FIFO, fed after both reloads (lib.sh: feed_fifo)
    mkfifo "$T/tail.pcap"
    "$BIN" -r "$T/eicar_flows_A.pcap" -r "$T/bench.pcap" -r "$T/tail.pcap" "${ARGS[@]}" \
        -Y "$T/yara2" --events "$T/r1.ev" --stats "$T/r1.st" 2>"$T/r1.err" &
    pid=$!
    sleep 0.3
    # a good reload that adds a rule: from the swap on, EICAR matches twice per flow
    echo 'rule OTS_Reload_Added { strings: $e = "EICAR-STANDARD" condition: $e }' \
        >"$T/yara2/added.yar"
    kill -HUP $pid
    wait_log "$T/r1.err" "SIGHUP: 5 YARA rules loaded" || bad "the good reload was not logged"
    # a second SIGHUP waits until every worker has switched to the first one's set
    sleep 0.3
    echo 'rule broken { condition: $nope }' >"$T/yara2/zz_broken.yar"
    kill -HUP $pid # refused: the running set stays
    wait_log "$T/r1.err" "reload failed" || bad "the bad reload was not logged"
    feed_fifo $pid "$T/tail.pcap" "$T/eicar_flows_B.pcap"
    wait $pid
    rc=$?
    [ $rc -eq 0 ] && ok || bad "reload run exit $rc: $(cat "$T/r1.err")"
    grep -q "SIGHUP: 5 YARA rules loaded" "$T/r1.err" && ok || bad "no YARA reload logged: $(cat "$T/r1.err")"
    grep -q "zz_broken.yar:1: undefined string" "$T/r1.err" &&
        grep -q "reload failed; the running rules stay in force" "$T/r1.err" && ok ||
        bad "bad YARA reload not refused with file:line: $(cat "$T/r1.err")"
    /usr/bin/python3 - "$T" $N <<'PY' && ok || bad "scans missed or doubled across the YARA reload"
import json, sys
t, n = sys.argv[1], int(sys.argv[2])
def matches(f):
    out = {}
    for l in open(f):
        e = json.loads(l)
        if e["proto"] == "yara":
            k = (e["flow_id"], e["yara"]["rule"])
            out[k] = out.get(k, 0) + 1
    return out
m0, m1 = matches(f"{t}/r0.ev"), matches(f"{t}/r1.ev")
eic0 = {k: v for k, v in m0.items() if k[1] == "OTS_EICAR_Test_File"}
eic1 = {k: v for k, v in m1.items() if k[1] == "OTS_EICAR_Test_File"}
assert len(eic0) == 2 * n and set(eic0.values()) == {1}, (len(eic0), set(eic0.values()))
assert eic1 == eic0, "EICAR matches differ across the reload"
added = {k[0] for k in m1 if k[1] == "OTS_Reload_Added"}
# the second batch of flows is scanned after the swap (they end at shutdown)
assert n <= len(added) <= 2 * n and added <= {k[0] for k in eic0}, len(added)
s0, s1 = json.load(open(f"{t}/r0.st")), json.load(open(f"{t}/r1.st"))
assert s0["yara"]["scans"] == s1["yara"]["scans"], (s0["yara"], s1["yara"])
assert s1["packets_processed"] == s0["packets_processed"], "packets lost"
assert s0["yara"]["encrypted_skips"] > 0, s0["yara"]  # the bench's TLS flows
print("reload: %d EICAR matches both runs, added rule matched %d flows, %d scans each"
      % (len(eic1), len(added), s1["yara"]["scans"]))
PY
else
    bad "$OTGEN not built"
fi
echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
