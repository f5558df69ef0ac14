#!/usr/bin/env bash
# test_yara_objects.sh - YARA objects end to end, from tests/data captures written by
# yara_objects_pcaps.py (scapy) and checked with tshark when it was written (see
# tests/data/SOURCES.md):
#  - ftp_session.pcap: each FTP data connection (passive STOR to port 50000, which
#    neither its port nor nDPI gives to ftp_data; active RETR from port 20; EPSV LIST)
#    is one ftp.data object named by its control connection's command (the names
#    Wireshark's FTP-DATA shows for the same frames), the same with -w 1, 2 and 4
#    (a host pair's connections meet in one worker);
#    the upload's digest is recomputed with hashlib;
#  - mms_obtain_file.pcap: the file the server pulls after ObtainFile is one mms.file
#    object named SRC.BIN, destination /PROG/NEW.BIN, going to the server; every reply
#    pairs with its request though both sides use invokeID 1;
#  - umas_cut.pcap, s7_cut.pcap: a UMAS program write and an S7 block download
#    whose end never comes are scanned at the flow's end, once, partial, and counted
#    in --stats (tshark shows the S7 Ack_Data's function status "more follows").
set -uo pipefail
BIN=$1
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"
D="$OTS_SOURCE_DIR/tests/data"
cat >"$T/m.yar" <<'YAR'
rule Marker { strings: $m = "OTS-MARK" condition: $m }
rule Listing { strings: $m = "update.bin" condition: $m and ot_object_type == "ftp.data" }
YAR

run() { # name pcap workers
    "$BIN" -r "$D/$2" -w "$3" --redis none -R "$OTS_SOURCE_DIR/rules/otsensor" -Y "$T/m.yar" \
        --events "$T/$1.ev" --alerts "$T/$1.al" --stats "$T/$1.st" 2>"$T/$1.err" ||
        bad "$1: exit $?: $(cat "$T/$1.err")"
}
for w in 1 2 4; do
    run ftp$w ftp_session.pcap $w
done
run mms mms_obtain_file.pcap 1
run umas umas_cut.pcap 1
run s7 s7_cut.pcap 2

/usr/bin/python3 - "$T" <<'PY' && ok || bad "FTP data objects named by the control connection"
import hashlib, json, sys
t = sys.argv[1]
up = b"\x7fELF\x01\x01\x01" + b"\x00" * 9 + b"firmware OTS-MARK upload"
want = [("Listing", "LIST", "to_client", "LIST", "ftp.data"),
        ("Marker", "docs/readme.txt", "to_server", "RETR", "ftp.data"),
        ("Marker", "firmware/update.bin", "to_server", "STOR", "ftp.data")]
for w in (1, 2, 4):
    ev = [json.loads(l) for l in open(f"{t}/ftp{w}.ev")]
    y = [e["yara"] for e in ev if e["proto"] == "yara"]
    m = sorted((x["rule"], x["object"].get("name", ""), x["direction"], x["object"].get("command", ""),
                x["object"]["type"]) for x in y)
    # the FTP control dissector raises no events of its own
    assert not [e for e in ev if e["proto"] in ("ftp", "ftp_data")], "unexpected events"
    assert m == want, (w, m)
    stor = [x["object"] for x in y if x["object"]["name"] == "firmware/update.bin"][0]
    assert stor["sha256"] == hashlib.sha256(up).hexdigest() and stor["size"] == len(up), stor
    al = [json.loads(l) for l in open(f"{t}/ftp{w}.al")]
    names = sorted(a["otsensor"]["yara"]["object_name"] for a in al
                   if a["ot"]["event"] == "yara.match")
    assert names == ["LIST", "docs/readme.txt", "firmware/update.bin"], names
PY

/usr/bin/python3 - "$T" <<'PY' && ok || bad "MMS ObtainFile"
import json, sys
t = sys.argv[1]
ev = [json.loads(l) for l in open(f"{t}/mms.ev")]
y = [e["yara"] for e in ev if e["proto"] == "yara"]
m = [x for x in y if x["object"]["type"] != "stream"]  # MMS streams keep their window too
assert len(m) == 1 and len(y) == 2, y
o = m[0]["object"]
assert o["type"] == "mms.file" and o["name"] == "SRC.BIN", o
assert o["destination"] == "/PROG/NEW.BIN" and o["frsm"] == "5" and not o["partial"], o
assert m[0]["direction"] == "to_server" and m[0]["proto"] == "mms", m[0]
mms = [e for e in ev if e["proto"] == "mms"]
assert len(mms) == 8, [e["op"] for e in mms]
assert not [e for e in mms if e["anomalies"]], [e["anomalies"] for e in mms]
# the four replies each name their request's service (46, 72, 73, 74)
assert sorted(e["mms"]["request_service"] for e in mms if e["dir"] == "response") == \
    [46, 72, 73, 74], mms
PY

/usr/bin/python3 - "$T" <<'PY' && ok || bad "UMAS transfer cut by the flow's end"
import hashlib, json, sys
t = sys.argv[1]
ev = [json.loads(l) for l in open(f"{t}/umas.ev")]
m = [e["yara"] for e in ev if e["proto"] == "yara" and e["yara"]["object"]["type"] != "stream"]
assert len(m) == 1, m
o = m[0]["object"]
assert o["type"] == "modbus.umas_download" and o["partial"] is True, o
assert o["truncated"] is False and o["sha256"] == hashlib.sha256(b"xOTS-MARK!").hexdigest(), o
st = json.load(open(f"{t}/umas.st"))["yara"]
assert st["objects_partial"] == 1 and st["objects_scanned"] == 1, st
PY

/usr/bin/python3 - "$T" <<'PY' && ok || bad "S7 block download cut by the flow's end"
import hashlib, json, sys
t = sys.argv[1]
ev = [json.loads(l) for l in open(f"{t}/s7.ev")]
m = [e["yara"] for e in ev if e["proto"] == "yara" and e["yara"]["object"]["type"] != "stream"]
assert len(m) == 1, m
o = m[0]["object"]
block = b"\x70\x70\x01\x01\x05\x0a\x03\x7a" + (36 + 200).to_bytes(4, "big")
block += b"\x00" * 24 + b"A" * 20 + b"OTS-MARK" + b"B" * 20
assert o["type"] == "s7comm.block" and o["name"] == "_0A00890P" and o["partial"] is True, o
assert o["sha256"] == hashlib.sha256(block).hexdigest() and o["block_number"] == "890", o
assert m[0]["direction"] == "to_server", m[0]
st = json.load(open(f"{t}/s7.st"))["yara"]
assert st["objects_partial"] == 1 and st["objects_scanned"] == 1, st
PY

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
