#!/bin/bash
# Alert aggregation end to end: a storm of 100,000 identical Modbus writes (written
# here as a capture, with the packet times known) through the otsensor binary with the
# shipped rules into a REAL redis-server. The windows and counts the stream must hold
# are computed here from the packet times, independently of the sensor; the --alerts
# file must hold the same lines; the counts must add up to the raw matches.
set -uo pipefail
BIN=$1
RULES="$OTS_SOURCE_DIR/rules/otsensor"
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"
PY=/usr/bin/python3

# ---- the storm: 10.0.0.1 writes a register on 10.0.0.2 from two source ports (one
# key: ports are ignored), 10.0.0.3 too (a second key); one write every 1.5 ms, 150 s
$PY - "$T" <<'PY'
import json, struct, sys
out = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def ip4(a): return bytes(int(x) for x in a.split('.'))
def frame(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ph = ip4(src) + ip4(dst) + struct.pack('!BBH', 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp)) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x00\x11\x22\x33\x44\x55\x00\x66\x77\x88\x99\xaa\x08\x00' + ip + tcp
conns = [('10.0.0.1', 40001), ('10.0.0.1', 40002), ('10.0.0.3', 40003)]
seq = {c: 1000 for c in conns}
f = open(out + '/storm.pcap', 'wb')
f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
def rec(us, b):
    f.write(struct.pack('<IIII', us // 1000000, us % 1000000, len(b), len(b)) + b)
base = 1795802400 * 1000000  # 2026-11-27T18:00:00Z
for k, (src, sp) in enumerate(conns):  # handshakes
    t = base - 1000 + 10 * k
    rec(t, frame(src, '10.0.0.2', sp, 502, 999, 0, 0x02, b''))
    rec(t + 1, frame('10.0.0.2', src, 502, sp, 5000, 1000, 0x12, b''))
    rec(t + 2, frame(src, '10.0.0.2', sp, 502, 1000, 5001, 0x10, b''))
times = {}  # key -> packet times of its writes
N = 100000
for i in range(N):
    c = conns[0] if i % 10 < 6 else conns[1] if i % 10 < 9 else conns[2]
    us = base + i * 1500
    adu = struct.pack('!HHHBBHH', i & 0xffff, 0, 6, 1, 6, i % 100, i & 0xffff)  # write single register
    rec(us, frame(c[0], '10.0.0.2', c[1], 502, seq[c], 5001, 0x18, adu))
    seq[c] += len(adu)
    times.setdefault(c[0], []).append(us)
f.close()
# the windows (60 s, packet time, the end inclusive) per key, in order
W = 60 * 1000000
def iso(us):
    import datetime
    d = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return d.strftime('%Y-%m-%dT%H:%M:%S') + '.%06dZ' % (us % 1000000)
want = {}
for src, ts in times.items():
    wins, t0, merged = [], None, []
    for t in ts + [None]:
        if t is None or t0 is None or t > t0 + W:
            if t0 is not None:
                wins.append({'first': iso(t0), 'merged': len(merged),
                             'start': iso(merged[0]) if merged else None,
                             'end': iso(merged[-1]) if merged else None})
            t0, merged = t, []
        else:
            merged.append(t)
    want[src] = wins
json.dump({'raw': N, 'keys': want}, open(out + '/want.json', 'w'))
PY
[ -s "$T/storm.pcap" ] || { echo "no capture"; exit 1; }

PORT=$(free_port)
mkdir -p "$T/data"
redis_start "$PORT" "$T/redis.log" --save "" --appendonly yes --appendfsync always --dir "$T/data" ||
    exit 1
rcli() { redis-cli -p "$PORT" "$@"; }

run() { # name extra-args...: alerts to Redis stream otsensor:alerts:<name> and <name>.json
    local name=$1
    shift
    "$BIN" -r "$T/storm.pcap" -R "$RULES" --sensor-name "$name" --spool "$T/spool-$name" \
        --redis "redis://127.0.0.1:$PORT" --alerts "$T/$name.json" --stats "$T/$name.st" "$@" \
        2>>"$T/err"
}
xrange() { rcli --raw XRANGE "otsensor:alerts:$1" - + >"$T/$1.xr"; }

# check.py MODE name: compares the stream (and the alerts file) with want.json
cat >"$T/check.py" <<'PY'
import json, sys
mode, T, name = sys.argv[1], sys.argv[2], sys.argv[3]
want = json.load(open(T + '/want.json'))
lines = open(T + '/' + name + '.xr', encoding='utf-8').read().split('\n')
stream = [lines[i + 2] for i in range(0, len(lines) - 2, 3)]
file_lines = open(T + '/' + name + '.json', encoding='utf-8').read().splitlines()
alerts = [json.loads(s) for s in stream]
ours = [a for a in alerts if a['rule']['id'] == '9100002']
total = sum(a['otsensor']['count'] for a in ours)
assert total == want['raw'], f'counts add up to {total}, want {want["raw"]}'
if mode == 'sum':  # -w 2, a small cap: only the sum and a bound are certain
    print(len(ours))
    sys.exit(0)
assert stream == file_lines, f'stream ({len(stream)}) and --alerts ({len(file_lines)}) differ'
for src, wins in want['keys'].items():
    got = [a for a in ours if a['source']['ip'] == src and a['destination']['ip'] == '10.0.0.2']
    exp = []
    for w in wins:
        exp.append(('first', 1, w['first'], None, None))
        if w['merged']:
            exp.append(('summary', w['merged'], w['start'], w['start'], w['end']))
    g = [('summary' if 'aggregated' in a['otsensor'] else 'first', a['otsensor']['count'],
          a['@timestamp'], a['event']['start'] if 'aggregated' in a['otsensor'] else None,
          a['event']['end'] if 'aggregated' in a['otsensor'] else None) for a in got]
    assert g == exp, f'{src}: got {g}, want {exp}'
    for a, w in zip([a for a in got if 'aggregated' in a['otsensor']], [w for w in wins if w['merged']]):
        assert a['otsensor']['aggregated'] == {'window_s': 60, 'total': w['merged'] + 1}, a['otsensor']
print(len(ours))
PY

# 1. one worker: exactly the windows computed above, the file equal to the stream
run w1 -w 1 && ok || bad "run w1 rc=$?"
xrange w1
n=$($PY "$T/check.py" exact "$T" w1) && ok || bad "w1: $n"
echo "w1: $n stream entries for 100000 matching writes"
[ "${n:-99}" -le 12 ] && ok || bad "w1: $n entries, a storm must give a handful"
st=$($PY -c 'import json,sys; a=json.load(open(sys.argv[1]))["aggregate"]; print(a["in"], a["passed"] + a["summaries"], a["merged"], a["evicted"], a["open"])' "$T/w1.st")
# the storm writes (in = 100000, out = their entries, merged = in - first ones) plus the
# few other alerts of the run (the correlation stage's asset.new), each passed alone
x=$(grep -vc '"id":"9100002"' "$T/w1.json")
[ "$st" = "$((100000 + x)) $((n + x)) $((100000 - n / 2)) 0 0" ] && ok ||
    bad "w1 stats (in out merged evicted open): $st (other alerts: $x)"

# 2. aggregation off: every match on its own (the raw count, from the capture's design)
printf 'alerts.aggregate_window = 0\n' >"$T/off.conf"
"$BIN" -c "$T/off.conf" -r "$T/storm.pcap" -R "$RULES" -w 1 --redis none \
    --alerts "$T/off.json" 2>>"$T/err" && ok || bad "run off rc=$?"
[ "$(grep -c '"id":"9100002"' "$T/off.json")" = 100000 ] && ok ||
    bad "aggregation off: $(grep -c '"id":"9100002"' "$T/off.json") alerts, want 100000"

# 3. two workers: a key's address pair lives in one worker, which aggregates it on its
# own packet time: exactly the windows of one worker
run w2 -w 2 && ok || bad "run w2 rc=$?"
xrange w2
n=$($PY "$T/check.py" exact "$T" w2) && ok || bad "w2: $n"
[ "${n:-99}" -le 12 ] && ok || bad "w2: $n entries"

# 4. a cap of one window: the two keys evict each other all the time; nothing lost
printf 'alerts.aggregate_max = 1\n' >"$T/cap.conf"
run cap -w 1 -c "$T/cap.conf" && ok || bad "run cap rc=$?"
xrange cap
n=$($PY "$T/check.py" sum "$T" cap) && ok || bad "cap: $n"
ev=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["aggregate"]["evicted"])' "$T/cap.st")
[ "${ev:-0}" -gt 1000 ] && ok || bad "cap: evicted $ev"

# 5. layer 2: alerts without addresses have one key per sid and VLAN, but their MAC
# pairs spread over the workers: still one window. 16 GOOSE publishers, 320 frames in
# 30 s, a rule on every GOOSE message: the first alert and one summary of 319.
$PY - "$T" "$OTS_SOURCE_DIR/tests/data/goose_demo.pcap" <<'PY'
import sys
from scapy.all import rdpcap, wrpcap, Ether
base = rdpcap(sys.argv[2])[0]
pk = []
for k in range(20):
    for i in range(16):
        p = base.copy()
        p[Ether].src = '00:30:a7:00:00:%02x' % (i + 1)
        p.time = 1795802400 + k * 1.5 + i * 0.01
        pk.append(p)
wrpcap(sys.argv[1] + '/l2.pcap', pk)
PY
printf 'alert goose any any -> any any (msg:"any goose"; sid:5000001; rev:1;)\n' >"$T/l2.rules"
"$BIN" -r "$T/l2.pcap" -w 2 --redis none -R "$T/l2.rules" --alerts "$T/l2.json" \
    --stats "$T/l2.st" 2>>"$T/err" && ok || bad "run l2 rc=$?"
r=$($PY - "$T" <<'PY'
import json, sys
T = sys.argv[1]
st = json.load(open(T + '/l2.st'))
busy = [w['packets'] for w in st['threads']['workers']]
got = [json.loads(l)['otsensor'] for l in open(T + '/l2.json')]
got = [(o['count'], o.get('aggregated', {}).get('total')) for o in got]
print(min(busy) > 0, got)
PY
)
[ "$r" = "True [(1, None), (319, 320)]" ] && ok || bad "layer 2 over two workers: $r"

echo "test_aggregate: $pass passed, $fails failed"
[ $fails -eq 0 ]
