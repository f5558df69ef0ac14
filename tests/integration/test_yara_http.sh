#!/bin/bash
# YARA objects end to end (otsensor, the shipped rules/yara and rules/otsensor): HTTP
# bodies on 80, 8080 and (by nDPI) 8000 - chunked, keep-alive, a POST upload - and an
# FTP data connection each match EICAR exactly once, as their object (type, name,
# attributes, digest) and not again in a stream window, with -w 1 and -w 2; the alert
# names the object. A flow no dissector reads still has every byte of each direction
# in its stream window (not only those before the dissector decision). Captures are written by yara_http_pcaps.py (scapy); the digest of
# the upload is recomputed here with Python's hashlib.
set -uo pipefail
BIN=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"
/usr/bin/python3 "$HERE/yara_http_pcaps.py" "$T" || { echo "FAIL: yara_http_pcaps.py"; exit 1; }

run() { # name pcap workers
    "$BIN" -r "$T/$2" -w "$3" --redis none -R "$OTS_SOURCE_DIR/rules/otsensor" \
        -Y "$OTS_SOURCE_DIR/rules/yara" --events "$T/$1.ev" --alerts "$T/$1.al" \
        --stats "$T/$1.st" 2>"$T/$1.err" || bad "$1: exit $?: $(cat "$T/$1.err")"
}
for w in 1 2; do
    run http$w http.pcap $w
    run ftp$w ftp.pcap $w
    run plain$w plain.pcap $w
    run close$w close.pcap $w
done
/usr/bin/python3 - "$T" <<'PY' && ok || bad "HTTP and FTP objects"
import hashlib, json, sys
t = sys.argv[1]
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SHA = hashlib.sha256(EICAR).hexdigest()
up = b"--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n" + EICAR + b"\r\n--b--\r\n"
want = {  # name -> (direction, attributes, sha256, size)
    "/dl/eicar.com": ("to_client", {"method": "GET", "status": "200",
                                    "content_type": "application/octet-stream"}, SHA, 68),
    "/upload": ("to_server", {"method": "POST",
                              "content_type": "multipart/form-data; boundary=b"},
                hashlib.sha256(up).hexdigest(), len(up)),
    "/second.bin": ("to_client", {"method": "GET", "status": "200"}, SHA, 68),
    "/x8000": ("to_client", {"method": "GET", "status": "200", "content_type": "text/plain"},
               SHA, 68),
}
for w in (1, 2):
    ev = [json.loads(l) for l in open(f"{t}/http{w}.ev")]
    m = [e["yara"] for e in ev if e["proto"] == "yara"]
    assert all(y["rule"] == "OTS_EICAR_Test_File" for y in m), m
    names = sorted(y["object"]["name"] for y in m)
    assert names == sorted(want), names  # each body once, no stream window match
    for y in m:
        o = y["object"]
        d, attrs, sha, size = want[o["name"]]
        assert o["type"] == "http.body" and y["proto"] == "http" and y["direction"] == d, y
        assert o["sha256"] == sha and o["size"] == size and not o["truncated"], o
        assert o["partial"] is False, o  # each body was complete
        for k, v in attrs.items():
            assert o[k] == v, (k, o)
        assert set(o) - set(attrs) == {"type", "name", "sha256", "size", "scanned",
                                       "truncated", "partial"}, o
    # HTTP is only an object source: no http events, no nonstandard-port event for 8000
    assert not [e for e in ev if e["proto"] in ("http", "protocol")], "unexpected events"
    al = [json.loads(l) for l in open(f"{t}/http{w}.al")]
    ya = sorted(a["otsensor"]["yara"]["object_name"] for a in al
                if a["ot"]["event"] == "yara.match")
    assert ya == sorted(want), ya
    for a in al:
        if a["ot"]["event"] == "yara.match":
            assert a["otsensor"]["yara"]["object_type"] == "http.body", a["otsensor"]
    st = json.load(open(f"{t}/http{w}.st"))["yara"]
    assert st["streams_scanned"] == 0 and st["objects_scanned"] == 4, st
    assert st["streams_covered"] == 6, st  # 3 connections, both directions framed
    ev = [json.loads(l) for l in open(f"{t}/ftp{w}.ev")]
    m = [e["yara"] for e in ev if e["proto"] == "yara"]
    assert len(m) == 1, m
    o = m[0]["object"]
    assert o["type"] == "ftp.data" and o["name"] == "ftp-data" and o["sha256"] == SHA, o
    # the data connection's initiator is the server (port 20): the file goes to_server
    assert m[0]["direction"] == "to_server" and m[0]["proto"] == "ftp_data", m[0]
    al = [json.loads(l) for l in open(f"{t}/ftp{w}.al")]
    assert [a["otsensor"]["yara"]["object_type"] for a in al
            if a["ot"]["event"] == "yara.match"] == ["ftp.data"], al
    st = json.load(open(f"{t}/ftp{w}.st"))["yara"]
    assert st["streams_scanned"] == 0 and st["objects_scanned"] == 1, st
    ev = [json.loads(l) for l in open(f"{t}/plain{w}.ev")]
    m = [e["yara"] for e in ev if e["proto"] == "yara"]
    assert len(m) == 1 and m[0]["object"]["type"] == "stream", m
    assert m[0]["direction"] == "to_client", m[0]
    assert m[0]["object"]["sha256"] == hashlib.sha256(b"welcome\r\n" + EICAR).hexdigest(), m
    # a body delimited by the close is complete at the server's FIN, and is scanned
    # then: not 5 s later, when the client closes, nor at the flow's end
    ev = [json.loads(l) for l in open(f"{t}/close{w}.ev")]
    m = [e for e in ev if e["proto"] == "yara"]
    assert len(m) == 1 and m[0]["yara"]["object"]["name"] == "/close.bin", m
    o = m[0]["yara"]["object"]
    assert o["type"] == "http.body" and o["sha256"] == SHA and o["partial"] is False, o
    assert m[0]["ts"].startswith("2023-11-14T22:13:25."), m[0]["ts"]  # t0 + 5 ms
    st = json.load(open(f"{t}/close{w}.st"))["yara"]
    assert st["objects_scanned"] == 1 and st["streams_covered"] == 2, st
print("HTTP: 4 bodies, FTP: 1 file, each matched once as its object; a plain reply in "
      "its window; a close-delimited body at its FIN; -w 1 and -w 2")
PY
# without -Y the object-only dissectors take no flow: HTTP on port 80 stays undissected
"$BIN" -r "$OTS_SOURCE_DIR/tests/data/ndpi_http.pcapng" --redis none --events "$T/noyara.ev" \
    2>"$T/noyara.err" || bad "no -Y: exit $?"
/usr/bin/python3 - "$T/noyara.ev" "$T/http1.ev" <<'PY' && ok || bad "object-only dissector chosen without -Y"
import json, sys
ends = [json.loads(l) for l in open(sys.argv[1])]
ends = [e for e in ends if e["event"] == "flow.end" and 80 in (e["src_port"], e["dst_port"])]
assert ends and all("app_proto" not in e["flow"] for e in ends), ends[:1]
with_yara = [json.loads(l) for l in open(sys.argv[2])]
assert any(e["event"] == "flow.end" and e["flow"].get("app_proto") == "http" for e in with_yara)
PY

echo "$pass passed, $fails failed"
[ $fails -eq 0 ]
