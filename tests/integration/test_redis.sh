#!/bin/bash
# The Redis output end to end, through the otsensor binary and a REAL redis-server
# (started here on a free loopback port and a unix socket, appendonly + appendfsync
# always; stopped at the end). Alerts come from the test-only --inject-alerts N flag
# (N synthetic alerts handed to the output thread as OUT_ALERT records would be),
# since the rule engine does not produce alerts yet.
set -uo pipefail
BIN=$1
PCAP="$OTS_SOURCE_DIR/tests/data/modbus_example.pcap"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

PORT=$(free_port)
SOCK="$T/redis.sock"
mkdir -p "$T/data"
NSTART=0
start_redis() { # extra args...
    NSTART=$((NSTART + 1))
    redis_start "$PORT" "$T/redis.$NSTART.log" --unixsocket "$SOCK" --unixsocketperm 700 \
        --save "" --appendonly yes --appendfsync always --dir "$T/data" "$@" || exit 1
}
stop_redis() { kill -9 "$RPID"; wait "$RPID" 2>/dev/null; RPID=""; rm -f "$SOCK"; }
rcli() { redis-cli -s "$SOCK" --no-auth-warning "$@"; }

# The stream holds exactly the injected sequences given (e.g. "0:5000 0:3000"), in
# that order, with strictly increasing ids.
check_stream() { # key pw ranges...
    local key=$1 pw=$2
    shift 2
    if [ -n "$pw" ]; then rcli -a "$pw" --raw XRANGE "$key" - +; else rcli --raw XRANGE "$key" - +; fi \
        >"$T/xrange.txt"
    /usr/bin/python3 - "$T/xrange.txt" "$@" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
want, open_end = [], None
for r in sys.argv[2:]:
    a, b = r.split(":")
    if b == "*":  # a prefix a.. of unknown length, at least one (must be last)
        open_end = int(a)
        continue
    want += list(range(int(a), int(b)))
got, prev = [], (-1, -1)
for i in range(0, len(lines) - 2, 3):
    ms, seq = map(int, lines[i].split("-"))
    assert (ms, seq) > prev, f"id {lines[i]} not above {prev}"
    prev = (ms, seq)
    assert lines[i + 1] == "alert", lines[i + 1]
    a = json.loads(lines[i + 2])
    assert a["event"]["kind"] == "alert" and a["rule"]["id"] == "otsensor.test_inject"
    got.append(a["otsensor"]["inject_seq"])
if open_end is not None and len(got) > len(want):
    want += list(range(open_end, open_end + len(got) - len(want)))
if got != want:
    print(f"stream has {len(got)} alerts, want {len(want)}; first difference at",
          next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want))))
    sys.exit(1)
PY
}

stat_of() { # stats file, python expression over s
    /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($2)" "$1"
}

run() { # extra args...
    "$BIN" -r "$PCAP" -w 1 --sensor-name it --spool "$T/spool" --stats "$T/st.json" "$@" \
        2>>"$T/err"
}

# 1. stream mode over TCP: every alert, once, in order, increasing ids
start_redis
run --redis "redis://127.0.0.1:$PORT" --inject-alerts 5000 && ok || bad "run 1 rc=$? $(cat "$T/err")"
check_stream otsensor:alerts:it "" 0:5000 && ok || bad "stream after run 1"
[ "$(stat_of "$T/st.json" 's["redis"]["delivered"]')" = 5000 ] && ok || bad "stats delivered"
[ "$(rcli SISMEMBER otsensor:sensors it)" = 1 ] && ok || bad "sensors set"
ttl=$(rcli TTL otsensor:sensor:it)
[ "$ttl" -gt 0 ] && [ "$ttl" -le 15 ] && ok || bad "heartbeat TTL $ttl"
[ "$(rcli HGET otsensor:sensor:it alerts)" = 5000 ] && ok || bad "heartbeat alerts"
[ "$(rcli HGET otsensor:sensor:it packets)" -gt 0 ] && ok || bad "heartbeat packets"

# 2. Redis down for a whole run: alerts spooled, exit 0; the next run sends them first
stop_redis
run --redis "redis://127.0.0.1:$PORT" --inject-alerts 3000 && ok || bad "run 2 rc=$?"
[ "$(stat_of "$T/st.json" 's["redis"]["spooled"], s["redis"]["delivered"], s["redis"]["connected"]')" = "3000 0 False" ] &&
    ok || bad "stats while down: $(stat_of "$T/st.json" 's["redis"]')"
grep -q "alerts wait in the spool" "$T/err" && ok || bad "no warning about the spool"
start_redis
run --redis "redis://127.0.0.1:$PORT" --inject-alerts 1000 && ok || bad "run 3 rc=$?"
check_stream otsensor:alerts:it "" 0:5000 0:3000 0:1000 && ok || bad "stream after replay"
[ "$(stat_of "$T/st.json" 's["redis"]["replayed"] >= 3000')" = True ] && ok || bad "replayed count"
# a run with nothing new sends nothing twice (the spool still holds the keep window)
run --redis "redis://127.0.0.1:$PORT" && ok || bad "run 4 rc=$?"
[ "$(rcli XLEN otsensor:alerts:it)" = 9000 ] && ok || bad "XLEN after an idle run"

# 3. unix socket, password from redis.password_file in a config file, db 0, list mode
stop_redis
start_redis --requirepass "pa ss"
printf 'pa ss\n' >"$T/pw"
printf 'redis.password_file = %s\nredis.list = yes\nredis.prefix = p2\n' "$T/pw" >"$T/c.conf"
"$BIN" -c "$T/c.conf" -r "$PCAP" -w 1 --sensor-name u --spool "$T/spool2" --redis "unix:$SOCK" \
    --inject-alerts 200 2>>"$T/err" && ok || bad "unix run rc=$?"
check_stream p2:alerts:u "pa ss" 0:200 && ok || bad "stream over the unix socket"
[ "$(rcli -a "pa ss" LLEN p2:alerts:list)" = 200 ] && ok || bad "list mode"

# 4. Redis kill -9'd in the middle of a run and restarted: every alert once, in order
stop_redis
rm -rf "$T/data" "$T/spool"
mkdir -p "$T/data"
start_redis
printf '# reconnect quickly\nredis.backoff_max_ms = 200\n' >"$T/fast.conf"
"$BIN" -c "$T/fast.conf" -r "$PCAP" -w 1 --sensor-name k --spool "$T/spool" \
    --redis "redis://127.0.0.1:$PORT" --inject-alerts 400000 --stats "$T/st.json" 2>>"$T/err" &
SPID=$!
for _ in $(seq 100); do # until the stream is filling
    [ "$(rcli XLEN otsensor:alerts:k 2>/dev/null)" -gt 1000 ] 2>/dev/null && break
    sleep 0.02
done
stop_redis
sleep 0.5
start_redis
wait $SPID && ok || bad "run with Redis killed: rc=$?"
# alerts the run could not deliver before it ended are in the spool: the next runs send
# them (each run drains for a bounded time, so a loaded machine may need more than one;
# alerts lost rather than spooled would still be missing below)
for _ in 1 2 3 4 5; do
    [ "$(rcli XLEN otsensor:alerts:k)" = 400000 ] && break
    "$BIN" -c "$T/fast.conf" -r "$PCAP" -w 1 --sensor-name k --spool "$T/spool" \
        --redis "redis://127.0.0.1:$PORT" 2>>"$T/err" || bad "next run rc=$?"
done
check_stream otsensor:alerts:k "" 0:400000 && ok ||
    bad "stream after Redis was killed: $(tail -5 "$T/err")"
[ "$(stat_of "$T/st.json" 's["redis"]["errors"] > 0')" = True ] && ok || bad "no Redis error counted"

# 5. otsensor kill -9'd while Redis is down: what reached the spool is sent at the next
# start, as a gapless prefix in order (a record torn by the kill is cut)
stop_redis
"$BIN" -c "$T/fast.conf" -r "$PCAP" -w 1 --sensor-name w --spool "$T/spoolw" \
    --redis "redis://127.0.0.1:$PORT" --inject-alerts 2000000 2>>"$T/err" &
SPID=$!
for _ in $(seq 200); do # until the spool holds something
    [ "$(du -sk "$T/spoolw" 2>/dev/null | cut -f1)" -gt 2000 ] 2>/dev/null && break
    sleep 0.01
done
kill -9 $SPID
wait $SPID 2>/dev/null
start_redis
"$BIN" -c "$T/fast.conf" -r "$PCAP" -w 1 --sensor-name w --spool "$T/spoolw" \
    --redis "redis://127.0.0.1:$PORT" --stats "$T/st.json" 2>>"$T/err" && ok || bad "replay run rc=$?"
check_stream otsensor:alerts:w "" "0:*" && ok || bad "stream after the writer was killed"
[ "$(stat_of "$T/st.json" 's["redis"]["spool"]["found_at_open"] > 1000')" = True ] && ok ||
    bad "spool found at open: $(stat_of "$T/st.json" 's["redis"]["spool"]')"

# 6. bad URLs stop the sensor at start with a message
"$BIN" -r "$PCAP" --redis "redis://host:99999" 2>"$T/e2"; rc=$?
[ $rc -eq 1 ] && grep -q "port" "$T/e2" && ok || bad "bad port rc=$rc"
"$BIN" -r "$PCAP" --redis "redis://alice@127.0.0.1:$PORT" --spool "$T/spool3" 2>"$T/e2"; rc=$?
[ $rc -eq 1 ] && grep -q "no password" "$T/e2" && ok || bad "user without password rc=$rc"

echo "test_redis: $pass passed, $fails failed"
[ $fails -eq 0 ]
