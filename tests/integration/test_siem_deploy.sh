#!/bin/bash
# deploy/siem: the Logstash pipeline and the Vector config. Logstash and Vector are not
# Debian packages, so this is a STRUCTURAL check (deploy/siem/check_configs.py: TOML via
# tomllib, the Logstash config language by a small parser), not a run of the tools:
# both must read list mode, the key of docs/redis.md, with JSON decoding. Damaged copies
# must be refused. Then, with a real redis-server, the sensor's list holds what those
# inputs expect: one JSON alert per element, oldest first under LPOP.
set -uo pipefail
BIN=$1
SRC=$OTS_SOURCE_DIR
D="$SRC/deploy/siem"
CHECK="/usr/bin/python3 $D/check_configs.py"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"

$CHECK "$D" "$SRC/docs/redis.md" && ok || bad "shipped configs"

# each damage must be caught
damage() { # description file sed-expression
    rm -rf "$T/d"
    cp -r "$D" "$T/d"
    sed -i "$3" "$T/d/$2"
    cmp -s "$D/$2" "$T/d/$2" && { bad "$1: the edit changed nothing"; return; }
    $CHECK "$T/d" "$SRC/docs/redis.md" 2>/dev/null && bad "$1 not caught" || ok
}
damage "logstash key" logstash-otsensor.conf 's/key => "otsensor:alerts:list"/key => "otsensor:alerts"/'
damage "logstash data_type" logstash-otsensor.conf 's/data_type => "list"/data_type => "channel"/'
damage "logstash codec" logstash-otsensor.conf 's/codec => json/codec => plain/'
damage "logstash syntax" logstash-otsensor.conf '0,/^  }/s/^  }//'
damage "logstash option" logstash-otsensor.conf 's/batch_count/batch_size/'
damage "logstash literal password" logstash-otsensor.conf 's/"${OTS_REDIS_PASSWORD}"/"hunter2"/'
damage "vector key" vector-otsensor.toml 's/^key = .*/key = "alerts"/'
damage "vector method" vector-otsensor.toml 's/lpop/rpop/'
damage "vector codec" vector-otsensor.toml 's/decoding.codec = "json"/decoding.codec = "bytes"/'
damage "vector inputs" vector-otsensor.toml 's/inputs = \["otsensor_time"\]/inputs = ["nope"]/'
damage "vector toml" vector-otsensor.toml 's/^\[sources.otsensor_alerts\]/[sources.otsensor_alerts/'

# the sensor's list, read the way both inputs read it
PORT=$(free_port)
redis_start "$PORT" "$T/redis.log" --save "" --appendonly no --dir "$T" || exit 1
printf 'redis.list = yes\n' >"$T/c.conf"
"$BIN" -c "$T/c.conf" -r "$SRC/tests/data/cip_stop_plc.pcap" -R "$SRC/rules/otsensor" -w 1 \
    --sensor-name dep --spool "$T/spool" --redis "redis://127.0.0.1:$PORT" \
    --alerts "$T/alerts.json" 2>"$T/err" && ok || bad "sensor rc=$? $(cat "$T/err")"
KEY=$(/usr/bin/python3 -c 'import tomllib,sys; print(tomllib.load(open(sys.argv[1],"rb"))["sources"]["otsensor_alerts"]["key"])' "$D/vector-otsensor.toml")
n=$(wc -l <"$T/alerts.json")
: >"$T/popped"
for _ in $(seq "$n"); do redis-cli -p "$PORT" --raw LPOP "$KEY" >>"$T/popped"; done
[ "$n" -ge 1 ] && cmp -s "$T/popped" "$T/alerts.json" && ok || bad "list $KEY differs from --alerts"
/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    a = json.loads(l)
    assert a["@timestamp"].endswith("Z") and a["event"]["kind"] == "alert"
' "$T/popped" && ok || bad "list elements are not the alert JSON"
[ "$(redis-cli -p "$PORT" LLEN "$KEY")" = 0 ] && ok || bad "list holds more than --alerts"

echo "test_siem_deploy: $pass passed, $fails failed"
[ $fails -eq 0 ]
