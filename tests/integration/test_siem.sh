#!/bin/bash
# otsensor-siem end to end with a REAL redis-server (started here on a free loopback port,
# appendonly + appendfsync always, stopped at the end): otsensor writes alerts into the
# stream (a real capture with the shipped rules, plus --inject-alerts), otsensor-siem
# reads them as a consumer-group member into a file, UDP and TCP syslog receivers
# (/usr/bin/python3), and is killed with SIGKILL mid-stream: every alert must appear at
# least once and the group must end with nothing pending.
set -uo pipefail
BIN=$1
SIEM=${OTS_SIEM:-$OTS_BUILD_DIR/otsensor-siem}
SRC=$OTS_SOURCE_DIR
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

PORT=$(free_port)
mkdir -p "$T/data"
NSTART=0
start_redis() {
    NSTART=$((NSTART + 1))
    redis_start "$PORT" "$T/redis.$NSTART.log" --save "" --appendonly yes --appendfsync always \
        --dir "$T/data" --requirepass "s3 cret" || exit 1
}
stop_redis() { kill -9 "$RPID"; wait "$RPID" 2>/dev/null; RPID=""; }
rcli() { redis-cli -p "$PORT" -a "s3 cret" --no-auth-warning "$@"; }
URL="redis://127.0.0.1:$PORT"
# the password comes from a file named in the connector's config, never the command line
printf 's3 cret\n' >"$T/pw"
printf '# test config\npassword_file = %s\nprefix = otsensor\n' "$T/pw" >"$T/siem.conf"
printf 'redis.password_file = %s\nredis.backoff_max_ms = 200\n' "$T/pw" >"$T/sensor.conf"
siem() { "$SIEM" -c "$T/siem.conf" --redis "$URL" "$@"; }
sensor() { # name extra...
    local name=$1
    shift
    "$BIN" -c "$T/sensor.conf" -w 1 --sensor-name "$name" --spool "$T/spool.$name" --redis "$URL" \
        "$@" 2>>"$T/sensor.err"
}
pending() { # key group -> number of entries pending for the group
    rcli XPENDING "$1" "$2" | head -1
}

# kill_mid_batch PID FILE LINES KEY GROUP: once FILE has more than LINES lines, SIGKILL
# the consumer while it holds a batch (read, not yet acknowledged). It is frozen with
# SIGSTOP first and only killed when entries are pending, so the kill cannot fall in
# the instant between one batch's XACK and the next read (a loaded machine hit that).
kill_mid_batch() {
    local i
    for i in $(seq 500); do
        if [ "$(wc -l <"$2" 2>/dev/null)" -gt "$3" ] 2>/dev/null; then
            kill -STOP "$1" 2>/dev/null
            if [ "$(pending "$4" "$5")" -gt 0 ]; then
                kill -9 "$1" 2>/dev/null
                kill -CONT "$1" 2>/dev/null
                wait "$1" 2>/dev/null
                return 0
            fi
            kill -CONT "$1" 2>/dev/null
        fi
        sleep 0.02
    done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 1
}

start_redis

# 1. a real capture with the shipped rules, and a sensor with injected alerts; the
# connector discovers both streams in otsensor:sensors and forwards every alert as is
sensor plant -r "$SRC/tests/data/cip_stop_plc.pcap" -R "$SRC/rules/otsensor" \
    --alerts "$T/plant.alerts" && ok || bad "sensor plant rc=$?"
sensor inj -r "$SRC/tests/data/modbus_example.pcap" --inject-alerts 2000 --alerts "$T/inj.alerts" \
    && ok || bad "sensor inj rc=$?"
[ "$(wc -l <"$T/plant.alerts")" -ge 1 ] && ok || bad "the capture raised no alert"
siem --once --group g1 --consumer c1 --format json -o "$T/out1.json" 2>"$T/e1" && ok ||
    bad "siem json rc=$? $(cat "$T/e1")"
# The oracle is the sensor's own --alerts file. With --inject-alerts the synthetic alerts
# go to Redis only, so the stream is compared with --alerts for "plant" and checked by
# sequence number for "inj".
/usr/bin/python3 - "$T/out1.json" "$T/plant.alerts" 2000 <<'PY' && ok || bad "json output differs"
import json, sys
out = open(sys.argv[1], encoding="utf-8").read().splitlines()
plant = open(sys.argv[2], encoding="utf-8").read().splitlines()
n_inj = int(sys.argv[3])
got_plant = [l for l in out if json.loads(l)["observer"]["name"] == "plant"]
got_inj = [json.loads(l) for l in out if json.loads(l)["observer"]["name"] == "inj"]
assert sorted(got_plant) == sorted(plant), (len(got_plant), len(plant))
seqs = [a["otsensor"]["inject_seq"] for a in got_inj]
assert seqs == list(range(n_inj)), "inj alerts missing, doubled or out of order"
assert len(out) == len(plant) + n_inj
PY
[ "$(pending otsensor:alerts:plant g1)" = 0 ] && [ "$(pending otsensor:alerts:inj g1)" = 0 ] && ok ||
    bad "pending after --once"
grep -q "acknowledged $(($(wc -l <"$T/plant.alerts") + 2000))," "$T/e1" && ok || bad "ack count: $(tail -1 "$T/e1")"
# a second run of the same group finds nothing new
siem --once --group g1 --consumer c1 -o "$T/out1b.json" 2>/dev/null
[ ! -s "$T/out1b.json" ] && ok || bad "second run of the group forwarded $(wc -l <"$T/out1b.json") again"

# CEF of the real alert, fields checked against its JSON
siem --once --group g2 --sensor plant --format cef -o "$T/out.cef" 2>/dev/null && ok || bad "cef rc"
/usr/bin/python3 - "$T/out.cef" "$T/plant.alerts" <<'PY' && ok || bad "CEF fields"
import json, re, sys
cef = open(sys.argv[1], encoding="utf-8").read().splitlines()
alerts = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
assert len(cef) == len(alerts)
for line, a in zip(cef, alerts):
    hdr = re.split(r"(?<!\\)\|", line, maxsplit=7)
    assert len(hdr) == 8 and hdr[0] == "CEF:0", hdr[:7]
    assert hdr[4] == a["rule"]["id"] and hdr[5] == a["rule"]["name"]
    assert hdr[6] == str([0, 3, 5, 8, 10][a["event"]["severity"]])
    ext = dict(re.findall(r"(\w+)=((?:[^=\\]|\\.)*?)(?= \w+=|$)", hdr[7]))
    assert ext["src"] == a["source"]["ip"] and ext["dst"] == a["destination"]["ip"]
    assert ext["spt"] == str(a["source"]["port"]) and ext["dpt"] == str(a["destination"]["port"])
    assert ext["proto"] == a["network"]["transport"].upper()
    assert ext["cs1"] == ",".join(a["iec62443"]["fr"]) and ext["cs1Label"] == "iec62443.fr"
    assert ext["cs4"] == ",".join(a["iso27032"]["threat"])
    assert ext["cs5"] == a["ot"]["event"]
PY

# 2. hostile strings and a damaged entry written straight into a stream: every entry
# comes out as one valid UTF-8 line of valid CEF, the damaged one as a bad_alert record
rcli SADD otsensor:sensors hostile >/dev/null
rcli XADD otsensor:alerts:hostile '*' alert \
    '{"event":{"severity":2},"rule":{"id":"1","name":"topic a|b=c\\d\"e]\n\u0001\u00ff"},"message":"x=y\\z|\r\n","observer":{"name":"h o\u00e9st"},"iec62443":{"conduit":"opc.tcp://h:4840/]\"="}}' >/dev/null
printf '{"rule":{"id":"2"},"message":"\xff\xfe not utf-8 \x01"}' | rcli -x XADD otsensor:alerts:hostile '*' alert >/dev/null
rcli XADD otsensor:alerts:hostile '*' other field >/dev/null
for f in cef syslog json; do
    siem --once --group gh$f --sensor hostile --format $f -o "$T/hostile.$f" 2>"$T/eh" ||
        bad "hostile $f rc=$?"
    [ "$(pending otsensor:alerts:hostile gh$f)" = 0 ] && ok || bad "hostile $f left pending"
done
/usr/bin/python3 - "$T/hostile.cef" "$T/hostile.syslog" "$T/hostile.json" <<'PY' && ok || bad "hostile outputs"
import json, re, sys
def lines(p):
    b = open(p, "rb").read()
    t = b.decode("utf-8")  # raises on invalid UTF-8
    ls = t.split("\n")
    assert ls[-1] == "" and len(ls) == 4, ls
    for l in ls[:-1]:
        assert not re.search(r"[\x00-\x1f\x7f]", l), repr(l)
    return ls[:-1]
cef = lines(sys.argv[1])
for l in cef:
    assert len(re.split(r"(?<!\\)\|", l, maxsplit=7)) == 8, l
assert re.split(r"(?<!\\)\|", cef[0], maxsplit=7)[5] == "topic a\\|b=c\\\\d\"e]  \u00ff"
assert "msg=x\\=y\\\\z|\\r\\n" in cef[0]
assert "cs6=opc.tcp://h:4840/]\"\\=" in cef[0]
assert "|otsensor.siem.bad_alert|" in cef[1] and "|otsensor.siem.bad_alert|" in cef[2]
sl = lines(sys.argv[2])
sd = re.compile(r'^<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ \[otsensor@32473((?: [^= \]"]+="(?:[^"\\\]]|\\["\\\]])*")*)\] (.*)$')
for l in sl:
    m = sd.match(l)
    assert m, l
    json.loads(m.group(2))  # MSG is JSON
assert 'rule_name="topic a|b=c\\\\d\\"e\\]  \u00ff"' in sl[0], sl[0]
assert sl[0].split(" ")[2] == "h_o__st"  # HOSTNAME: PRINTUSASCII only
js = lines(sys.argv[3])
assert json.loads(js[0])["rule"]["id"] == "1"
assert json.loads(js[1])["event"]["kind"] == "pipeline_error"
assert json.loads(js[2])["event"]["kind"] == "pipeline_error"
PY

# 3. SIGKILL mid-stream with a slow output, restart under the same consumer name: it
# reads its own pending entries first; every alert appears at least once, none pending
N=3000
sensor kill -r "$SRC/tests/data/modbus_example.pcap" --inject-alerts $N && ok || bad "sensor kill rc"
"$SIEM" -c "$T/siem.conf" --redis "$URL" --sensor kill --group gk --consumer c1 --count 50 \
    --delay-us 1000 -o "$T/kill.json" 2>"$T/ek" &
BG=$!
kill_mid_batch $BG "$T/kill.json" 500 otsensor:alerts:kill gk || bad "no batch held to kill"
BG=""
before=$(wc -l <"$T/kill.json")
p=$(pending otsensor:alerts:kill gk)
[ "$before" -gt 0 ] && [ "$before" -lt $N ] && [ "$p" -gt 0 ] && ok ||
    bad "the kill did not land mid-stream (written $before, pending $p)"
siem --once --sensor kill --group gk --consumer c1 -o "$T/kill.json" 2>>"$T/ek" && ok || bad "restart rc"
check_seqs() { # file n: every inject_seq 0..n-1 at least once
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
seqs, torn = [], 0
for l in open(sys.argv[1], encoding="utf-8"):
    try:
        seqs.append(json.loads(l)["otsensor"]["inject_seq"])
    except ValueError:
        torn += 1  # the kill may tear the last record written (it is sent again)
assert torn <= 1, f"{torn} broken lines"
missing = set(range(int(sys.argv[2]))) - set(seqs)
assert not missing, f"{len(missing)} alerts missing, e.g. {sorted(missing)[:5]}"
print(len(seqs) - int(sys.argv[2]))
PY
}
dup=$(check_seqs "$T/kill.json" $N) && ok || bad "alerts lost after kill -9: $dup"
[ "$(pending otsensor:alerts:kill gk)" = 0 ] && ok || bad "pending after restart"
echo "kill -9 + restart: $dup duplicate(s) (at most one read batch expected)"
[ "${dup:-999}" -le 50 ] && ok || bad "more duplicates ($dup) than one batch"

# a file left with a torn last line (as a crash mid-write leaves it) is ended with a
# newline before new records, so each of them stays one whole line
printf '{"torn":' >"$T/torn.json"
siem --once --sensor kill --group gtorn -o "$T/torn.json" 2>"$T/etorn" && ok || bad "torn rc"
grep -q "did not end with a newline" "$T/etorn" && ok || bad "torn line not reported"
[ "$(head -1 "$T/torn.json")" = '{"torn":' ] && [ "$(check_seqs <(tail -n +2 "$T/torn.json") $N)" = 0 ] &&
    ok || bad "records after a torn line"

# 4. the killed consumer never comes back: another member takes its entries over with
# XAUTOCLAIM (min-idle 0 here)
# (5 ms per record: the whole stream would take the consumer over 10 s, so a loaded
# machine's slow polling still kills it mid-stream)
"$SIEM" -c "$T/siem.conf" --redis "$URL" --sensor kill --group gc --consumer dead --count 50 \
    --delay-us 5000 -o "$T/claim.json" 2>"$T/ec" &
BG=$!
kill_mid_batch $BG "$T/claim.json" 100 otsensor:alerts:kill gc || bad "no batch held to kill"
BG=""
[ "$(pending otsensor:alerts:kill gc)" -gt 0 ] && ok || bad "nothing pending for the dead consumer"
siem --once --sensor kill --group gc --consumer heir --min-idle-ms 0 -o "$T/claim.json" \
    2>>"$T/ec" && ok || bad "heir rc"
grep -q "took over" "$T/ec" && ok || bad "no XAUTOCLAIM takeover logged: $(cat "$T/ec")"
check_seqs "$T/claim.json" $N >/dev/null && ok || bad "alerts lost after the takeover"
[ "$(pending otsensor:alerts:kill gc)" = 0 ] && ok || bad "pending after the takeover"

# 4b. two members of one group share the stream: together they forward every alert,
# and no alert twice (no crash here, so nothing is redelivered)
siem --once --sensor kill --group gs --consumer m1 --delay-us 200 -o "$T/m1.json" 2>/dev/null &
M1=$!
siem --once --sensor kill --group gs --consumer m2 --delay-us 200 -o "$T/m2.json" 2>/dev/null &
M2=$!
wait $M1 && wait $M2 && ok || bad "two members rc"
cat "$T/m1.json" "$T/m2.json" >"$T/m12.json"
[ "$(check_seqs "$T/m12.json" $N)" = 0 ] && ok || bad "two members: lost or doubled alerts"
echo "two members of one group: $(wc -l <"$T/m1.json") + $(wc -l <"$T/m2.json") alerts"
[ "$(pending otsensor:alerts:kill gs)" = 0 ] && ok || bad "two members left pending"

# 5. RFC 5424 over UDP (one message per datagram) and over TCP with octet counting
# (RFC 6587), received by small python servers
cat >"$T/recv.py" <<'PY'
import socket, sys
proto, port, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
msgs = []
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # 200 alerts of ~1 KB fill the default 208 KiB buffer when this receiver is slow to
    # run (a loaded CI machine): UDP then drops, which is syslog's nature, not a bug.
    # 8 MiB: SO_RCVBUFFORCE (33 on Linux) as root, else SO_RCVBUF up to rmem_max
    for opt in (33, socket.SO_RCVBUF):
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
            break
        except OSError:
            pass
    s.bind(("127.0.0.1", port))
    s.settimeout(20)
    open(out + ".ready", "w").close()
    while len(msgs) < n:
        msgs.append(s.recv(70000))
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)
    s.settimeout(20)
    open(out + ".ready", "w").close()
    c, _ = s.accept()
    c.settimeout(20)
    buf = b""
    while len(msgs) < n:
        d = c.recv(65536)
        if not d:
            break
        buf += d
        while True:  # octet counting: MSG-LEN SP SYSLOG-MSG
            sp = buf.find(b" ")
            if sp < 0:
                break
            assert buf[:sp].isdigit() and not buf.startswith(b"0"), buf[:20]
            ln = int(buf[:sp])
            if len(buf) < sp + 1 + ln:
                break
            msgs.append(buf[sp + 1:sp + 1 + ln])
            buf = buf[sp + 1 + ln:]
    assert buf == b"", buf[:50]
with open(out, "wb") as f:
    for m in msgs:
        assert b"\n" not in m
        f.write(m + b"\n")
PY
check_syslog() { # file n msgtype
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import json, re, sys
ls = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert len(ls) == int(sys.argv[2]), len(ls)
seqs = []
for l in ls:
    m = re.match(r'^<(\d+)>1 (\S+) (\S+) otsensor - alert \[otsensor@32473 [^\]]*stream_id="[0-9]+-[0-9]+"\] (.*)$', l)
    assert m, l
    assert int(m.group(1)) == 16 * 8 + 6  # local0.info: the injected alerts have severity 0
    if sys.argv[3] == "json":
        seqs.append(json.loads(m.group(4))["otsensor"]["inject_seq"])
    else:
        assert m.group(4).startswith("CEF:0|otsensor|otsensor|"), m.group(4)
        assert "|otsensor.test_inject|" in m.group(4)
if seqs:
    assert sorted(seqs) == list(range(len(ls)))
PY
}
UP=$(free_port udp)
rm -f "$T/udp.txt.ready"
/usr/bin/python3 "$T/recv.py" udp "$UP" 200 "$T/udp.txt" &
R=$!
for _ in $(seq 100); do [ -e "$T/udp.txt.ready" ] && break; sleep 0.05; done
rcli DEL otsensor:alerts:u5 >/dev/null
sensor u5 -r "$SRC/tests/data/modbus_example.pcap" --inject-alerts 200 || bad "sensor u5"
siem --once --sensor u5 --group gu --format syslog -o "udp://127.0.0.1:$UP" 2>"$T/eu" && ok || bad "udp rc"
wait $R && ok || bad "udp receiver"
check_syslog "$T/udp.txt" 200 json && ok || bad "udp syslog"
TP=$(free_port)
rm -f "$T/tcp.txt.ready"
/usr/bin/python3 "$T/recv.py" tcp "$TP" 200 "$T/tcp.txt" &
R=$!
for _ in $(seq 100); do [ -e "$T/tcp.txt.ready" ] && break; sleep 0.05; done
siem --once --sensor u5 --group gt --format syslog --syslog-msg cef -o "tcp://127.0.0.1:$TP" \
    2>"$T/et" && ok || bad "tcp rc $(cat "$T/et")"
wait $R && ok || bad "tcp receiver"
check_syslog "$T/tcp.txt" 200 cef && ok || bad "tcp syslog"
[ "$(pending otsensor:alerts:u5 gt)" = 0 ] && ok || bad "tcp pending"
# nobody listening on TCP: nothing is acknowledged, --once fails with status 2
siem --once --sensor u5 --group gx --format syslog -o "tcp://127.0.0.1:$TP" 2>/dev/null
[ $? -eq 2 ] && ok || bad "tcp refused should exit 2"

# 6. Redis killed (SIGKILL) and restarted under a running connector: it reconnects with
# backoff and forwards what comes next
rcli DEL otsensor:alerts:r6 >/dev/null
"$SIEM" -c "$T/siem.conf" --redis "$URL" --sensor r6 --group gr --block-ms 200 \
    --backoff-max-ms 200 -o "$T/r6.json" 2>"$T/er" &
BG=$!
sensor r6 -r "$SRC/tests/data/modbus_example.pcap" --inject-alerts 100 || bad "sensor r6 a"
for _ in $(seq 200); do [ "$(wc -l <"$T/r6.json")" -ge 100 ] && break; sleep 0.05; done
stop_redis
sleep 0.5
start_redis
sensor r6 -r "$SRC/tests/data/modbus_example.pcap" --inject-alerts 100 || bad "sensor r6 b"
for _ in $(seq 200); do [ "$(wc -l <"$T/r6.json")" -ge 200 ] && break; sleep 0.05; done
kill -TERM $BG
wait $BG && ok || bad "connector exit after SIGTERM rc=$?"
BG=""
[ "$(wc -l <"$T/r6.json")" -ge 200 ] && ok || bad "after the Redis restart: $(wc -l <"$T/r6.json") of 200"
[ "$(grep -c "connected to redis" "$T/er")" -ge 2 ] && ok || bad "no reconnect: $(cat "$T/er")"
[ "$(pending otsensor:alerts:r6 gr)" = 0 ] && ok || bad "pending after the Redis restart"

# 7. bad usage: exit 1 with a message
"$SIEM" --format xml 2>"$T/eb"; [ $? -eq 1 ] && grep -q "cef, syslog or json" "$T/eb" && ok || bad "bad format"
"$SIEM" --redis rediss://x 2>"$T/eb"; [ $? -eq 1 ] && grep -q "TLS" "$T/eb" && ok || bad "rediss"
"$SIEM" --output udp://h 2>"$T/eb"; [ $? -eq 1 ] && ok || bad "bad output"
"$SIEM" --help | grep -q -- "--consumer" && ok || bad "help"
"$SIEM" --version | grep -q "otsensor-siem" && ok || bad "version"
"$SIEM" -c "$SRC/deploy/siem/otsensor-siem.conf" --version >/dev/null && ok || bad "shipped config"
printf 'format = xml\n' >"$T/bad.conf"
"$SIEM" -c "$T/bad.conf" 2>"$T/eb"; [ $? -eq 1 ] && grep -q "bad.conf:1" "$T/eb" && ok || bad "bad config line"

echo "test_siem: $pass passed, $fails failed"
[ $fails -eq 0 ]
