#!/usr/bin/env bash
# bench/soak.sh: long-run memory test. otgen streams a long plant capture (OT polling, IT
# short flows from ever new hosts, a few TCP segments lost before the TAP, some UDP
# datagrams in IPv4 fragments of which some never complete) through a pipe
# into `otsensor -r -`
# with the shipped rules, YARA, zones, events and alerts (to /dev/null: nothing large touches
# the disk), under a configuration whose caps are small enough to be hit all the time. The
# sensor's VmRSS/VmHWM and its --stats are sampled every 0.5 s. Redis is down the whole run
# (a closed port): every alert goes to a 1 MiB spool, which fills and then counts what it
# drops, and the asset inventory waits in memory. It fails unless:
#   1. every packet otgen wrote was processed (no ring or event drops) and otsensor exited 0;
#   2. every cap was reached (evictions, cap flushes, budget skips ... > 0) and no table
#      ever held more than its cap;
#   3. RSS plateaus: the peak over the last half of the run (by packets) is at most
#      max(SOAK_GROWTH_MIB, SOAK_GROWTH_PCT %) above the peak over the first half after
#      the warm-up (the first SOAK_WARMUP_PCT % of the packets);
#      The same for open file descriptors (spool segments, files), within 2;
#   4. the peak RSS (VmHWM) is below the worst case the configuration allows (the formula
#      is in bound() below and in the README).
# Not part of the default CI run: `tests/run-all.sh --soak` adds it as a stage.
#
# Environment:
#   OTS_BUILD_DIR     existing build with otsensor and bench/otgen (default: configure a
#                     RelWithDebInfo build in $SOAK_OUT/build)
#   SOAK_PACKETS      packets to stream (default 50000000: about 4 minutes on 2 shared cores)
#   SOAK_SEED         otgen seed (default 20260105)
#   SOAK_LOSS_PPM     TCP data segments lost per million (otgen -L, default 2000)
#   SOAK_FRAG_PPM     UDP datagrams sent as IPv4 fragments per million (otgen -F, default
#                     3000); a quarter lose their last fragment: ~20 incomplete datagrams
#                     a second at otgen's 150,000 packets/s, about what ipfrag.max_bytes
#                     below holds, so both that cap and the 1 s timeout are reached
#   SOAK_WIDE         1 (default): IT clients and off-site servers from wide address ranges
#                     (otgen -A), so per-host tables meet new keys all the run; 0: 2,000 clients
#   SOAK_WORKERS      otsensor -w (default 2)
#   SOAK_CONF_EXTRA   extra config lines appended to the soak's configuration (later wins)
#   SOAK_GROWTH_PCT, SOAK_GROWTH_MIB   plateau margin (default 5 %, 4 MiB: the larger)
#   SOAK_WARMUP_PCT   packets left out of the plateau check at the start (default 10)
#   SOAK_OUT          where the config, samples and final stats go (default bench/out/soak)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${SOAK_OUT:-$HERE/out/soak}
PACKETS=${SOAK_PACKETS:-50000000}
SEED=${SOAK_SEED:-20260105}
LOSS=${SOAK_LOSS_PPM:-2000}
FRAG=${SOAK_FRAG_PPM:-3000}
WORKERS=${SOAK_WORKERS:-2}
GEN=(-s "$SEED" -L "$LOSS" -F "$FRAG")
[ "${SOAK_WIDE:-1}" = 1 ] && GEN+=(-A)

die() {
    echo "soak: $*" >&2
    exit 1
}

command -v python3 >/dev/null && [ -x /usr/bin/time ] || bash "$ROOT/deploy/install-deps.sh" --test ||
    die "dependency install failed"
mkdir -p "$OUT" || die "cannot create $OUT"

if [ -n "${OTS_BUILD_DIR:-}" ]; then
    BUILD=$OTS_BUILD_DIR
    [ -x "$BUILD/otsensor" ] && [ -x "$BUILD/bench/otgen" ] ||
        die "OTS_BUILD_DIR=$BUILD has no otsensor and bench/otgen"
else
    BUILD=$OUT/build
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTS_TESTS=OFF \
        >"$OUT/cmake.log" 2>&1 || die "cmake configure failed, see $OUT/cmake.log"
    cmake --build "$BUILD" -j 2 --target otsensor otgen >"$OUT/build.log" 2>&1 ||
        die "build failed, see $OUT/build.log"
fi
OTS=$BUILD/otsensor
OTGEN=$BUILD/bench/otgen

# Caps small enough that a plant-like mix hits each of them many times a second. Per
# worker unless said otherwise.
CONF=$OUT/soak.conf
cat >"$CONF" <<EOF
# written by bench/soak.sh
ring_mb = 4
output_ring_mb = 2
flow.max_flows = 2048
reassembly.per_direction_max = 512
reassembly.max_segments = 2
reassembly.worker_max = 4096
stream.buffer_max = 1024
yara.stream_max = 4096
yara.object_max = 1024
yara.flow_budget = 6144
correlate.max_entries = 512
correlate.max_assets = 256
alerts.aggregate_max = 64
spool.max_mb = 1
redis.backoff_max_ms = 1000
ipfrag.max_datagrams = 32
ipfrag.max_bytes = 65536
ipfrag.timeout = 1
stats_interval = 1
${SOAK_CONF_EXTRA:-}
EOF

RUN=(-w "$WORKERS" -c "$CONF" -R "$ROOT/rules/otsensor" -Y "$ROOT/rules/yara"
    -Z "$ROOT/rules/zones.conf" --events /dev/null --alerts /dev/null
    --redis redis://127.0.0.1:1 --spool "$OUT/spool")

# The fixed part of the bound: the same configuration on a short capture (code, libraries,
# nDPI detection modules, compiled rules and YARA rules, scanners, touched ring pages).
rm -rf "$OUT/spool"
"$OTGEN" -o "$OUT/base.pcap" -n 20000 "${GEN[@]}" >/dev/null || die "otgen failed"
/usr/bin/time -f %M -o "$OUT/base.hwm" "$OTS" -r "$OUT/base.pcap" "${RUN[@]}" \
    --stats "$OUT/base.stats.json" 2>"$OUT/base.stderr" || die "baseline run failed, see $OUT/base.stderr"
rm -rf "$OUT/base.pcap" "$OUT/spool"

STATS=$OUT/stats.json
SAMPLES=$OUT/samples.tsv
SNAPS=$OUT/stats-samples.jsonl
rm -f "$STATS" "$SAMPLES" "$SNAPS"
echo "soak: otgen -n $PACKETS ${GEN[*]} | otsensor -r - -w $WORKERS; $OUT" >&2
t0=${EPOCHREALTIME/./}
# otgen's pcap goes out on fd 3 (the pipe), its summary to a file
"$OTGEN" -o /dev/fd/3 -n "$PACKETS" "${GEN[@]}" 3>&1 >"$OUT/otgen.txt" 2>&1 |
    "$OTS" -r - "${RUN[@]}" --stats "$STATS" 2>"$OUT/otsensor.stderr" &
pid=$!
while [ -r "/proc/$pid/status" ]; do
    read -r rss hwm < <(awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r + 0, h + 0}' \
        "/proc/$pid/status" 2>/dev/null)
    snap=$(cat "$STATS" 2>/dev/null)
    pp=$(grep -o '"packets_processed":[0-9]*' <<<"$snap" | head -1)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    [ "${rss:-0}" -gt 0 ] &&
        printf '%d\t%d\t%d\t%s\t%d\n' $(((${EPOCHREALTIME/./} - t0) / 1000)) "$rss" "$hwm" \
            "${pp#*:}" "$fds" >>"$SAMPLES"
    [ -n "$snap" ] && printf '%s\n' "$snap" >>"$SNAPS"
    sleep 0.5
done
wait "$pid"
rc=$?
t1=${EPOCHREALTIME/./}
[ "$rc" -eq 0 ] || {
    tail -5 "$OUT/otsensor.stderr" >&2
    die "otsensor exited $rc"
}

python3 - "$CONF" "$STATS" "$SAMPLES" "$SNAPS" "$OUT/otgen.txt" "$OUT/base.hwm" "$WORKERS" \
    $(((t1 - t0) / 1000)) "${SOAK_GROWTH_PCT:-5}" "${SOAK_GROWTH_MIB:-4}" \
    "${SOAK_WARMUP_PCT:-10}" <<'PY'
import json, sys

(conf_p, stats_p, samples_p, snaps_p, gen_p, base_p, workers, wall_ms, growth_pct, growth_mib,
 warmup_pct) = sys.argv[1:]
workers, wall_ms = int(workers), int(wall_ms)
growth_pct, growth_mib, warmup_pct = float(growth_pct), float(growth_mib), float(warmup_pct)
MiB = 1024 * 1024
fails = []

def check(ok, what):
    print(("  ok   " if ok else "  FAIL ") + what)
    if not ok:
        fails.append(what)

cfg = {}
for line in open(conf_p):
    line = line.split("#", 1)[0].strip()
    if "=" in line:
        k, v = (x.strip() for x in line.split("=", 1))
        cfg[k] = int(v)
c = lambda k: cfg[k]
st = json.load(open(stats_p))
gen = dict(l.split(":", 1) for l in open(gen_p) if ":" in l)
written = int(gen["packets"])
rows = [tuple(int(x) if x else None for x in l.rstrip("\n").split("\t")) for l in open(samples_p)]
snaps = []
for l in open(snaps_p):
    try:
        snaps.append(json.loads(l))
    except ValueError:
        pass  # caught while the sensor rewrote the file

def bound():
    """Worst case the configuration allows, in bytes, above the fixed part (the same
    configuration's peak on a 20,000-packet capture). Per worker: the packet ring
    (ring_mb, one source) and event ring (output_ring_mb); max_flows flows of 504 bytes
    (struct flow) + 688 (nDPI's flow state while classifying) + 64 (hash bucket,
    allocator) + 2 KiB (dissector state) + 2 x stream.buffer_max (unfinished PDUs) +
    2 x 2 x yara.stream_max (a window per direction; the buffer pool keeps each size
    class, 256 B up to the window, for reuse: at most twice the window) + yara.object_max
    (one object in progress); reassembly.worker_max of out-of-order bytes. Once: the
    correlation tables, max_assets x 1 KiB (asset, identity, LRU entry) + 6 tables x
    max_entries x 512 B; aggregate_max x (300 B + one 4 KiB alert) in each worker and in
    the output thread (correlation alerts); the spool's
    records index, 64 B per record of at least 256 B of spool.max_mb. The capture
    thread: ipfrag.max_bytes of incomplete datagrams (their state and buffers) and its
    two 64 KiB reassembly buffers."""
    per_flow = 504 + 688 + 64 + 2048 + 2 * c("stream.buffer_max") + 4 * c("yara.stream_max") \
        + c("yara.object_max")
    aggr = c("alerts.aggregate_max") * (300 + 4096)
    per_worker = (c("ring_mb") + c("output_ring_mb")) * MiB + c("flow.max_flows") * per_flow \
        + c("reassembly.worker_max") + aggr
    once = c("correlate.max_assets") * 1024 + 6 * c("correlate.max_entries") * 512 \
        + aggr + c("spool.max_mb") * MiB // 256 * 64 \
        + c("ipfrag.max_bytes") + 2 * 65536
    return workers * per_worker + once

print("\nchecks:")
# 1. every packet
# a fragment reaches a worker as the datagram it completes, or as the decoder.frag_*
# event it raised; the others wait in (or left) the fragment table
fr = st["ipfrag"]
frag_events = sum(v for k, v in st["decoder"].items() if k.startswith("frag_"))
expect = written - fr["fragments"] + fr["reassembled"] + frag_events
check(st["packets"] == written and st["packets_processed"] == expect,
      "packets processed %d = captured %d (written by otgen %d) - fragments %d + datagrams "
      "reassembled %d + fragment events %d" % (st["packets_processed"], st["packets"], written,
                                               fr["fragments"], fr["reassembled"], frag_events))
check(st["ring_drops"] == 0 and st["events_dropped"] == 0,
      "no ring drops (%d), no events dropped (%d)" % (st["ring_drops"], st["events_dropped"]))
# 2. every cap reached, and no gauge above its cap at any sample
fl, ra, ya, ag, co = st["flows"], st["reassembly"], st["yara"], st["aggregate"], st["correlation"]
sp = st["redis"]["spool"]
caps = [("flow.max_flows: flows evicted", fl["evicted"]),
        ("reassembly caps: cap flushes", ra["cap_flushes"]),
        ("TCP loss: gaps", ra["gaps"]),
        ("yara.object_max: objects truncated", ya["objects_truncated"]),
        ("yara.flow_budget: budget skips", ya["budget_skips"]),
        ("correlate.max_assets: asset evictions", co["asset_evictions"]),
        ("correlate.max_entries: first-sight evictions", co["seen_evictions"]),
        ("correlate.max_entries: conduit evictions", co["conduit_evictions"]),
        ("alerts.aggregate_max: windows evicted", ag["evicted"]),
        ("spool.max_mb: alerts dropped by the full spool", sp["dropped_full"]),
        ("IP fragments: datagrams reassembled", fr["reassembled"]),
        ("ipfrag.max_datagrams/max_bytes: incomplete datagrams dropped", fr["dropped_cap"]),
        ("ipfrag.timeout: incomplete datagrams timed out", fr["timeouts"])]
for what, n in caps:
    check(n > 0, "%s %d > 0" % (what, n))
mx = lambda f: max([f(s) for s in snaps] or [0])
peak_flows = mx(lambda s: max(w["flows_active"] for w in s["threads"]["workers"]))
check(len(snaps) > 0 and peak_flows <= c("flow.max_flows"),
      "flows active per worker, at most %d <= %d" % (peak_flows, c("flow.max_flows")))
peak_assets = mx(lambda s: s["correlation"]["assets"])
check(peak_assets <= c("correlate.max_assets"),
      "assets at most %d <= %d" % (peak_assets, c("correlate.max_assets")))
for k in ("scan_entries", "conduit_entries", "pending_syns", "pending_udp", "seen_entries"):
    n = mx(lambda s: s["correlation"][k])
    check(n <= c("correlate.max_entries"),
          "correlation %s at most %d <= %d" % (k, n, c("correlate.max_entries")))
peak_spool = mx(lambda s: s["redis"]["spool"]["bytes"])
# the cap, plus the one sensor.spool_full marker written when it is reached (sensor/spool.c:
# a header and at most 1 KiB)
spool_lim = c("spool.max_mb") * MiB + 24 + 1024
check(peak_spool <= spool_lim, "spool at most %d <= %d bytes (cap + the spool_full marker)"
      % (peak_spool, spool_lim))
peak_held = mx(lambda s: s["ipfrag"]["held"])
check(peak_held <= c("ipfrag.max_datagrams"),
      "incomplete datagrams held at most %d <= %d" % (peak_held, c("ipfrag.max_datagrams")))
peak_fbytes = mx(lambda s: s["ipfrag"]["held_bytes"])
check(peak_fbytes <= c("ipfrag.max_bytes"),
      "fragment bytes held at most %d <= %d" % (peak_fbytes, c("ipfrag.max_bytes")))
peak_open = mx(lambda s: s["aggregate"]["open"])
# a table of aggregate_max windows in each worker and one in the output thread
open_cap = (workers + 1) * c("alerts.aggregate_max")
check(peak_open <= open_cap, "aggregation windows open at most %d <= %d" % (peak_open, open_cap))

# 3. plateau, by packets processed (a sample's figure is the last stats written)
pts = [(pp, rss) for (_, rss, _, pp, _) in rows if pp is not None]
w0, mid = written * warmup_pct / 100, written / 2
first = [r for pp, r in pts if w0 <= pp < mid]
last = [r for pp, r in pts if pp >= mid]
ok = len(first) >= 5 and len(last) >= 5
a, b = (max(first), max(last)) if ok else (0, 0)
allow = max(growth_mib * 1024, a * growth_pct / 100)
check(ok, "enough samples in each half (%d, %d)" % (len(first), len(last)))
check(ok and b <= a + allow, "RSS plateau: peak %.1f MiB in the 2nd half <= %.1f MiB (1st half "
      "after warm-up) + %.1f MiB" % (b / 1024, a / 1024, allow / 1024))
fd_first = [f for (_, _, _, pp, f) in rows if pp is not None and w0 <= pp < mid and f]
fd_last = [f for (_, _, _, pp, f) in rows if pp is not None and pp >= mid and f]
if fd_first and fd_last:
    check(max(fd_last) <= max(fd_first) + 2, "open descriptors plateau: at most %d in the 2nd "
          "half, %d in the 1st" % (max(fd_last), max(fd_first)))
# 4. below the configured worst case
hwm = max(r[2] for r in rows) * 1024
base = int(open(base_p).read().split()[-1]) * 1024
lim = base + bound()
check(hwm < lim, "VmHWM %.1f MiB < bound %.1f MiB (fixed %.1f + configured %.1f)"
      % (hwm / MiB, lim / MiB, base / MiB, bound() / MiB))

def rss_at(frac):
    want = written * frac
    best = min(pts, key=lambda p: abs(p[0] - want)) if pts else (0, 0)
    return best[1] / 1024

print("\n| packets | wall s | Mpps | RSS MiB at 10% | 50% | 90% | end | VmHWM MiB | bound MiB |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
print("| {:,} | {:.1f} | {:.3f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} |".format(
    written, wall_ms / 1000, written / wall_ms / 1000, rss_at(.1), rss_at(.5), rss_at(.9),
    rows[-1][1] / 1024, hwm / MiB, lim / MiB))
print("\nflows %d created, %d evicted; reassembly %d gaps, %d cap flushes; yara %d scans, %d "
      "truncated, %d budget skips; assets %d new, %d evicted; correlation evictions: seen %d, "
      "conduit %d, scan %d; alerts %d, aggregation windows evicted %d, spooled %d, dropped at the "
      "full spool %d; IP fragments %d, datagrams reassembled %d, dropped at the cap %d, timed "
      "out %d"
      % (fl["created"], fl["evicted"], ra["gaps"], ra["cap_flushes"], ya["scans"],
         ya["objects_truncated"], ya["budget_skips"], co["asset_new"], co["asset_evictions"],
         co["seen_evictions"], co["conduit_evictions"], co["scan_evictions"], st["alerts"],
         ag["evicted"], st["redis"]["spooled"], sp["dropped_full"], fr["fragments"],
         fr["reassembled"], fr["dropped_cap"], fr["timeouts"]))
print("soak: %s" % ("FAILED: " + "; ".join(fails) if fails else "ok"))
sys.exit(1 if fails else 0)
PY
