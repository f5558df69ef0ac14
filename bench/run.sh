#!/usr/bin/env bash
# bench/run.sh: the otsensor benchmark (DESIGN §6), every configuration on the same capture.
#
# Builds the tree (Release) and bench tools, writes bench/out/bench.pcap with otgen if it is
# absent, warms the page cache, then runs each named configuration BENCH_RUNS times (best
# wall time kept, peak RSS = max over the runs) and prints a markdown table, also written
# to bench/out/results.md. Exits non-zero if any configuration failed.
#
# Environment:
#   OTS_BUILD_DIR   use this existing build directory instead of configuring bench/out/build
#   BENCH_RUNS      runs per configuration (default 3)
#   BENCH_PACKETS   packets in the generated capture (default 2000000)
#   BENCH_SEED      otgen seed (default 20260105)
#   BENCH_PCAP      capture to use (default bench/out/bench.pcap; generated if absent)
#   BENCH_ONLY      extended regex: run only the configurations whose name matches
#   BENCH_OUT       output directory (default bench/out)
#   BENCH_PROTO_PACKETS  packets in each single-protocol capture (default 1000000)
#
# To add a configuration (YARA, rules, ...), add one add_config line in define_configs.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=${BENCH_OUT:-$HERE/out}
RUNS=${BENCH_RUNS:-3}
PACKETS=${BENCH_PACKETS:-2000000}
SEED=${BENCH_SEED:-20260105}
PCAP=${BENCH_PCAP:-$OUT/bench.pcap}
ONLY=${BENCH_ONLY:-}
PROTO_PACKETS=${BENCH_PROTO_PACKETS:-1000000}
# per-dissector rows: otgen -P kind, and the dissector that reads it
PROTO_KINDS=(modbus dnp3 iec104 s7comm enip_tcp)
declare -A PROTO_DISS=([modbus]=modbus [dnp3]=dnp3 [iec104]=iec104 [s7comm]=s7comm [enip_tcp]=enip)

log() { echo "bench: $*" >&2; }
die() {
    log "$*"
    exit 1
}

# ---- dependencies: a fresh Debian bookworm has none of these ----
PKGS=(cmake build-essential pkg-config libpcap-dev libndpi-dev libhiredis-dev libyara-dev
    check libndpi-bin time redis-server)

missing_pkgs() {
    local p
    for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
            echo "$p"
    done
}

ensure_deps() {
    local missing
    missing=$(missing_pkgs)
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        die "missing packages: ${missing//$'\n'/ }; run as root or install them"
    fi
    if [ -x "$ROOT/deploy/install-deps.sh" ]; then
        log "installing dependencies with deploy/install-deps.sh"
        "$ROOT/deploy/install-deps.sh" || log "deploy/install-deps.sh failed; trying apt-get"
        missing=$(missing_pkgs)
        [ -z "$missing" ] && return 0
    fi
    log "installing: ${missing//$'\n'/ }"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null || die "apt-get install failed: $missing"
}

# ---- build ----
OTSENSOR_BUILD_ERR=""
build() {
    local jobs
    jobs=$(nproc)
    if [ -n "${OTS_BUILD_DIR:-}" ]; then
        BUILD=$OTS_BUILD_DIR
        [ -f "$BUILD/CMakeCache.txt" ] || die "OTS_BUILD_DIR=$BUILD is not a configured build"
    else
        BUILD=$OUT/build
        log "configuring Release build in $BUILD"
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DOTS_TESTS=OFF \
            -DOTS_WERROR=OFF >"$OUT/cmake.log" 2>&1 ||
            die "cmake configure failed, see $OUT/cmake.log"
    fi
    cmake --build "$BUILD" -j "$jobs" --target otgen floor >"$OUT/build-bench.log" 2>&1 ||
        die "building otgen/floor failed, see $OUT/build-bench.log"
    # the engine may not build yet: the other rows still run, its rows report the failure
    if ! cmake --build "$BUILD" -j "$jobs" --target otsensor >"$OUT/build-otsensor.log" 2>&1; then
        OTSENSOR_BUILD_ERR="otsensor did not build, see $OUT/build-otsensor.log"
        log "$OTSENSOR_BUILD_ERR"
    fi
    cmake --build "$BUILD" -j "$jobs" --target bench_rules >"$OUT/build-bench-rules.log" 2>&1 ||
        log "bench_rules did not build, see $OUT/build-bench-rules.log"
    BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
    [ "$BUILD_TYPE" = Release ] || log "warning: $BUILD is a '${BUILD_TYPE:-default}' build, not Release"
    OTGEN=$BUILD/bench/otgen
    FLOOR=$BUILD/bench/floor
    OTSENSOR=$BUILD/otsensor
    BENCH_RULES=$BUILD/bench/bench_rules
}

# ---- capture ----
summary_get() { sed -n "s/^$1: *//p" "$SUMMARY" | head -n1; }

make_capture() {
    SUMMARY=${PCAP%.pcap}.summary
    if [ -f "$PCAP" ] && [ -f "$SUMMARY" ] && [ "$(summary_get packets)" = "$PACKETS" ] &&
        { [ -n "${BENCH_PCAP:-}" ] || [ "$(summary_get seed)" = "$SEED" ]; }; then
        log "using existing $PCAP"
    elif [ -f "$PCAP" ] && [ -n "${BENCH_PCAP:-}" ]; then
        # a capture we did not write: count it ourselves
        log "summarising $PCAP (no otgen summary)"
        {
            "$FLOOR" "$PCAP" | grep -E '^(packets|bytes):'
            if command -v tshark >/dev/null; then
                echo "flows: $(tshark -r "$PCAP" -q -z conv,tcp -z conv,udp 2>/dev/null |
                    grep -cE '^[0-9a-fA-F.:]+ +<->')"
            else
                echo "flows: ? (no tshark to count them)"
            fi
        } >"$SUMMARY" || die "cannot summarise $PCAP"
        PACKETS=$(summary_get packets)
    else
        log "writing $PCAP ($PACKETS packets, seed $SEED)"
        "$OTGEN" -o "$PCAP.tmp" -n "$PACKETS" -s "$SEED" >"$SUMMARY.tmp" ||
            die "otgen failed"
        sed -i "s|^file: .*|file: $PCAP|" "$SUMMARY.tmp"
        mv "$PCAP.tmp" "$PCAP" && mv "$SUMMARY.tmp" "$SUMMARY"
    fi
    CAP_PACKETS=$(summary_get packets)
    CAP_FLOWS=$(summary_get flows)
    CAP_BYTES=$(summary_get bytes)
    if [ -z "$CAP_PACKETS" ] || [ -z "$CAP_BYTES" ]; then die "bad summary $SUMMARY"; fi
    log "warming the page cache"
    cat "$PCAP" >/dev/null
}

# one capture per OT protocol (otgen -P): that protocol's TCP sessions only
declare -A PROTO_PCAP=() PROTO_PKTS=() # set: BENCH_ONLY may leave them empty (set -u)
make_proto_captures() {
    local k f sum
    for k in "${PROTO_KINDS[@]}"; do
        if [ -n "$ONLY" ] && ! [[ "dissector ${PROTO_DISS[$k]}" =~ $ONLY ]]; then continue; fi
        f=$OUT/proto-$k.pcap
        sum=$OUT/proto-$k.summary
        if ! [ -f "$f" ] || ! grep -qx "packets: $PROTO_PACKETS" "$sum" 2>/dev/null ||
            ! grep -qx "seed: $SEED" "$sum"; then
            log "writing $f ($PROTO_PACKETS packets of $k)"
            "$OTGEN" -o "$f.tmp" -n "$PROTO_PACKETS" -s "$SEED" -P "$k" >"$sum.tmp" ||
                die "otgen -P $k failed"
            mv "$f.tmp" "$f" && mv "$sum.tmp" "$sum"
        fi
        cat "$f" >/dev/null
        PROTO_PCAP[$k]=$f
        PROTO_PKTS[$k]=$(sed -n 's/^packets: *//p' "$sum")
    done
}

# ---- configurations: a name and a command line each ----
# add_config NAME PRE CHECK CMD...: PRE, if not empty, is why the row cannot run; CHECK, if
# not empty, is a function called after each run with the row's file prefix: it prints a
# note for the report and returns non-zero if the run's output shows it did not do the work.
CONFIG_NAMES=()
CONFIG_CMDS=()
CONFIG_PRE=()
CONFIG_CHECK=()
add_config() {
    local name=$1 pre=$2 check=$3
    shift 3
    CONFIG_NAMES+=("$name")
    CONFIG_PRE+=("$pre")
    CONFIG_CHECK+=("$check")
    CONFIG_CMDS+=("$(printf '%q ' "$@")")
}

slug_of() { echo "$1" | tr -c 'A-Za-z0-9\n' '_'; }

json_u64() { # json_u64 FILE KEY: the last "KEY":N in FILE
    grep -o "\"$2\":[0-9]*" "$1" 2>/dev/null | tail -n1 | cut -d: -f2
}

# processing time of a run in µs, start-up excluded: otsensor's stats (first read, all
# workers ready, to the last flow ended) or ndpiReader's own "Packet Processing Time"
proc_us() {
    local v
    v=$(json_u64 "$1.stats.json" processing_us)
    if [ -z "$v" ] || [ "$v" = 0 ]; then
        v=$(sed -n 's/.*Packet Processing Time: *\([0-9]*\) msec.*/\1/p' "$1.out" 2>/dev/null |
            head -n1)
        [ -n "$v" ] && v=$((v * 1000))
    fi
    echo "$v"
}

# otsensor must have processed every packet of the file (offline reading is lossless)
check_otsensor() {
    local st=$1.stats.json p fl det
    p=$(json_u64 "$st" packets_processed)
    fl=$(json_u64 "$st" created)
    det=$(json_u64 "$st" ndpi_detected)
    if [ -z "$p" ]; then
        echo "no packets_processed in $st: not checked"
        return 0
    fi
    echo "processed $p packets, ${fl:-?} flows, nDPI detected ${det:-?}"
    [ "$p" = "$CAP_PACKETS" ]
}

# a per-dissector row: every packet of its capture processed
check_proto() {
    local st=$1.stats.json p k
    p=$(json_u64 "$st" packets_processed)
    k=$(basename "$1")
    k=${k#dissector_}
    k=${k%%_*}
    echo "processed $p packets, $(proto_pdus "$st") PDUs"
    [ -n "$p" ] && [ "$p" = "${PROTO_PKTS[$(proto_kind "$k")]}" ]
}
# PDUs in a --stats file: all protocols of its object (e.g. enip and the cip inside)
proto_pdus() {
    grep -o '"protocols":{[^}]*}' "$1" 2>/dev/null | grep -o ':[0-9]*' | tr -d : |
        awk '{s += $1} END {print s + 0}'
}
proto_kind() {
    local k
    for k in "${PROTO_KINDS[@]}"; do [ "${PROTO_DISS[$k]}" = "$1" ] && echo "$k"; done
}

define_configs() {
    local st
    add_config floor "" "" "$FLOOR" "$PCAP"
    for w in 1 2; do
        st="$OUT/$(slug_of "otsensor -w $w").stats.json"
        add_config "otsensor -w $w" "$OTSENSOR_BUILD_ERR" check_otsensor \
            "$OTSENSOR" -r "$PCAP" -w "$w" --redis none --stats "$st"
    done
    # the engine issue's figure: decode + flows + reassembly + nDPI + Modbus only
    printf 'dissectors = "modbus"\n' >"$OUT/modbus-only.conf"
    st="$OUT/$(slug_of "otsensor -w 2, Modbus dissector only").stats.json"
    add_config "otsensor -w 2, Modbus dissector only" "$OTSENSOR_BUILD_ERR" check_otsensor \
        "$OTSENSOR" -r "$PCAP" -w 2 --redis none -c "$OUT/modbus-only.conf" --stats "$st"
    # the full pipeline with the shipped rules (alerts to a file)
    st="$OUT/$(slug_of "otsensor -w 2 + shipped rules").stats.json"
    add_config "otsensor -w 2 + shipped rules" "$OTSENSOR_BUILD_ERR" check_otsensor \
        "$OTSENSOR" -r "$PCAP" -w 2 --redis none -R "$ROOT/rules/otsensor" \
        --alerts "$OUT/alerts.json" --stats "$st"
    # the same plus the shipped YARA rules (issue 6: within 15% of the row above)
    st="$OUT/$(slug_of "otsensor -w 2 + shipped rules + YARA").stats.json"
    add_config "otsensor -w 2 + shipped rules + YARA" "$OTSENSOR_BUILD_ERR" check_otsensor \
        "$OTSENSOR" -r "$PCAP" -w 2 --redis none -R "$ROOT/rules/otsensor" -Y "$ROOT/rules/yara" \
        --alerts "$OUT/alerts-yara.json" --stats "$st"
    # the same with every alert (aggregation off) to a local Redis, then with Redis down
    # (a closed port: every alert spooled): the capture path must not slow down
    define_redis_configs
    # -q: no per-flow report; one thread (a pcap file is always read by one thread)
    # not -q: its summary gives its own "Packet Processing Time" (setup excluded)
    add_config ndpiReader "" "" ndpiReader -i "$PCAP"
    # per dissector: the whole pipeline (-w 1) on a capture of that protocol only, with
    # that dissector and with none (the difference is what the dissector costs)
    printf 'dissectors = ""\n' >"$OUT/no-dissector.conf"
    local k d
    for k in "${PROTO_KINDS[@]}"; do
        [ -n "${PROTO_PCAP[$k]:-}" ] || continue
        d=${PROTO_DISS[$k]}
        printf 'dissectors = "%s"\n' "$d" >"$OUT/only-$d.conf"
        st="$OUT/$(slug_of "dissector $d").stats.json"
        add_config "dissector $d" "$OTSENSOR_BUILD_ERR" check_proto \
            "$OTSENSOR" -r "${PROTO_PCAP[$k]}" -w 1 --redis none -c "$OUT/only-$d.conf" --stats "$st"
        st="$OUT/$(slug_of "dissector $d none").stats.json"
        add_config "dissector $d none" "$OTSENSOR_BUILD_ERR" check_proto \
            "$OTSENSOR" -r "${PROTO_PCAP[$k]}" -w 1 --redis none -c "$OUT/no-dissector.conf" \
            --stats "$st"
    done
}

# ---- Redis rows (bench/redis_capture.sh) ----
# shellcheck source=redis_capture.sh
. "$HERE/redis_capture.sh"

check_redis() { # PREFIX up|down: every packet processed, every alert delivered or spooled
    local note counts al de sp
    note=$(check_otsensor "$1") || { echo "$note"; return 1; }
    counts=$(redis_counts "$1.stats.json")
    read -r al de sp <<<"$counts"
    echo "$note; $al alerts, $de delivered to Redis, $sp spooled"
    if [ "$2" = up ]; then [ -n "$al" ] && [ "$de" = "$al" ]; else [ -n "$al" ] && [ "$sp" = "$al" ] && [ "$de" = 0 ]; fi
}
check_redis_up() { check_redis "$1" up; }
check_redis_down() { check_redis "$1" down; }

define_redis_configs() {
    local pre="$OTSENSOR_BUILD_ERR" name st closed
    printf 'alerts.aggregate_window = 0\n' >"$OUT/noagg.conf"
    if [ -z "$pre" ]; then
        if ! command -v redis-server >/dev/null; then
            pre="no redis-server (deploy/install-deps.sh --test installs it)"
        elif ! redis_capture_start "$OUT"; then
            pre="redis-server did not start (see $OUT/redis.log)"
        else
            trap redis_capture_stop EXIT
        fi
    fi
    closed=$(free_port 2>/dev/null || echo 1)
    for mode in up down; do
        name="otsensor -w 2 + shipped rules, every alert → Redis $mode"
        [ $mode = down ] && name="$name (spooling)"
        st="$OUT/$(slug_of "$name").stats.json"
        add_config "$name" "$pre" "check_redis_$mode" \
            "$HERE/redis_capture.sh" run \
            "redis://127.0.0.1:$([ $mode = up ] && echo "${REDIS_PORT:-1}" || echo "$closed")" \
            "$OUT/spool-$mode" "$OTSENSOR" -r "$PCAP" -w 2 -c "$OUT/noagg.conf" \
            -R "$ROOT/rules/otsensor" --sensor-name "bench-$mode" --stats "$st"
    done
}

# ---- measurement ----
declare -A WALL RSS CPU MINCPU STATUS NOTE PROC
run_config() {
    local i=$1 name=${CONFIG_NAMES[$1]} best="" maxrss=0 r t0 t1 rc wall rss cpu note
    local slug
    slug=$(slug_of "$name")
    if [ -n "${CONFIG_PRE[$i]}" ]; then
        STATUS[$name]="FAILED: ${CONFIG_PRE[$i]}"
        log "$name: ${STATUS[$name]}"
        return
    fi
    eval "set -- ${CONFIG_CMDS[$i]}"
    for ((r = 1; r <= RUNS; r++)); do
        rm -f "$OUT/$slug".*
        t0=$(date +%s%N)
        /usr/bin/time -f '%M %U %S' -o "$OUT/$slug.time" "$@" >"$OUT/$slug.out" 2>"$OUT/$slug.err"
        rc=$?
        t1=$(date +%s%N)
        if [ "$rc" != 0 ]; then
            STATUS[$name]="FAILED: exit $rc: $(grep -v '^Command exited' "$OUT/$slug.err" |
                tail -n 3 | tr '\n' ' ' | cut -c1-200) (see $OUT/$slug.err)"
            log "$name: ${STATUS[$name]}"
            return
        fi
        if [ -n "${CONFIG_CHECK[$i]}" ]; then
            if ! note=$("${CONFIG_CHECK[$i]}" "$OUT/$slug"); then
                STATUS[$name]="FAILED: check: $note"
                log "$name: ${STATUS[$name]}"
                return
            fi
            NOTE[$name]=$note
        fi
        wall=$((t1 - t0))
        proc=$(proc_us "$OUT/$slug")
        if [ -n "$proc" ] && { [ -z "${PROC[$name]:-}" ] || [ "$proc" -lt "${PROC[$name]}" ]; }; then
            PROC[$name]=$proc
        fi
        read -r rss cpu < <(tail -n1 "$OUT/$slug.time" | awk '{print $1, $2 + $3}')
        log "$name: run $r: $(awk -v w="$wall" 'BEGIN{printf "%.3f", w/1e9}') s wall," \
            "$cpu s CPU, ${rss} KiB"
        if [ -z "$best" ] || [ "$wall" -lt "$best" ]; then
            best=$wall
            CPU[$name]=$cpu
        fi
        if [ "$rss" -gt "$maxrss" ]; then maxrss=$rss; fi
        if [ -z "${MINCPU[$name]:-}" ] || awk -v a="$cpu" -v b="${MINCPU[$name]}" 'BEGIN{exit !(a < b)}'; then
            MINCPU[$name]=$cpu
        fi
    done
    WALL[$name]=$best
    RSS[$name]=$maxrss
    STATUS[$name]=ok
}

# ---- the rule matcher alone (bench_rules): the default ruleset, and with 10,000 synthetic
# rules added (unrelated to the events; or 1% on the same protocol and code) ----
RULES_STATUS=""
run_rules_bench() {
    if [ -n "$ONLY" ] && ! [[ "rule matcher" =~ $ONLY ]]; then
        RULES_STATUS="skipped (BENCH_ONLY)"
        return
    fi
    if [ ! -x "$BENCH_RULES" ]; then
        RULES_STATUS="FAILED: bench_rules did not build"
        return
    fi
    log "rule matcher: bench_rules 10000"
    if (cd "$ROOT" && "$BENCH_RULES" 10000 rules/otsensor rules/classification.config) \
        >"$OUT/bench_rules.out" 2>"$OUT/bench_rules.err"; then
        RULES_STATUS=ok
    else
        RULES_STATUS="FAILED: see $OUT/bench_rules.err"
    fi
}

rules_report() {
    echo
    echo "### Rule matcher (bench/bench_rules: 2,000,000 Modbus requests, 90% FC 3, 10% FC 16)"
    echo
    if [ "$RULES_STATUS" != ok ]; then
        echo "${RULES_STATUS:-not run}"
        return
    fi
    echo "| rule set | rules | events/s | candidates/event | alerts |"
    echo "|---|---:|---:|---:|---:|"
    sed -n 's/^ruleset=\([^ ]*\) rules=\([0-9]*\) .*events\/s=\([0-9]*\) candidates\/event=\([0-9.]*\) alerts=\([0-9]*\)$/| \1 | \2 | \3 | \4 | \5 |/p' \
        "$OUT/bench_rules.out" | tr '_' ' '
}

proc_ratio() { # the same on processing time (start-up excluded on both sides)
    if [ -n "${PROC[$1]:-}" ] && [ -n "${PROC[$2]:-}" ]; then
        awk -v a="${PROC[$1]}" -v b="${PROC[$2]}" 'BEGIN{printf "%.2f", a/b}'
    else
        echo n/a
    fi
}

ratio() { # throughput of $2 relative to $1: wall($1) / wall($2)
    if [ -n "${WALL[$1]:-}" ] && [ -n "${WALL[$2]:-}" ]; then
        awk -v a="${WALL[$1]}" -v b="${WALL[$2]}" 'BEGIN{printf "%.2f", a/b}'
    else
        echo "n/a"
    fi
}

report() {
    local name cpu failed=0
    cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n1)
    {
        echo "## otsensor benchmark"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "- build: ${BUILD_TYPE:-default} ($BUILD)"
        echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}, $(uname -r); load average" \
            "before the runs: $LOAD_BEFORE"
        echo "- capture: $PCAP: $CAP_PACKETS packets, $CAP_FLOWS flows, $CAP_BYTES frame bytes$(
            s=$(summary_get it_pct); [ -n "$s" ] && echo ", IT ${s}% of packets")"
        echo "- best of $RUNS runs (wall clock; CPU s = user+sys of that run), peak RSS = max" \
            "over the runs; ratios are throughput ratios (higher = faster)"
        echo
        echo "| config | packets | flows | wall s | CPU s | Mpps | Gbit/s | peak RSS MiB | × ndpiReader | × floor | processing s | Mpps processing | × ndpiReader processing |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for name in "${CONFIG_NAMES[@]}"; do
            case $name in "dissector "*) continue ;; esac
            if [ "${STATUS[$name]:-}" != ok ]; then
                echo "| $name | $CAP_PACKETS | $CAP_FLOWS | ${STATUS[$name]:-not run} | | | | | | | | | |"
                continue
            fi
            awk -v w="${WALL[$name]}" -v p="$CAP_PACKETS" -v b="$CAP_BYTES" \
                -v r="${RSS[$name]}" -v n="$name" -v f="$CAP_FLOWS" -v c="${CPU[$name]}" \
                -v rn="$(ratio ndpiReader "$name")" -v rf="$(ratio floor "$name")" \
                -v pu="${PROC[$name]:-}" -v rp="$(proc_ratio ndpiReader "$name")" \
                'BEGIN{s=w/1e9; printf "| %s | %d | %d | %.3f | %.2f | %.2f | %.2f | %.1f | %s | %s | ",
                       n, p, f, s, c, p/s/1e6, b*8/s/1e9, r/1024, rn, rf;
                       if (pu > 0) printf "%.3f | %.2f | %s |\n", pu/1e6, p/(pu/1e6)/1e6, rp;
                       else printf "n/a | n/a | n/a |\n"}'
        done
        for name in "${CONFIG_NAMES[@]}"; do
            case $name in "dissector "*) continue ;; esac
            if [ -n "${NOTE[$name]:-}" ]; then echo "- $name: ${NOTE[$name]}"; fi
        done | sed '1s/^/\n/'
        # on a busy machine CPU time says more than wall time (threaded rows: total CPU)
        if [ -n "${CPU[ndpiReader]:-}" ]; then
            echo
            echo -n "- CPU-time ratio to ndpiReader (its CPU s / the row's):"
            for name in "${CONFIG_NAMES[@]}"; do
                case $name in "dissector "*) continue ;; esac
                if [ "$name" = ndpiReader ] || [ -z "${CPU[$name]:-}" ]; then continue; fi
                awk -v a="${CPU[ndpiReader]}" -v b="${CPU[$name]}" -v n="$name" \
                    'BEGIN{printf " %s %.2f;", n, (b > 0 ? a/b : 0)}'
            done
            echo
        fi
        target_report
        proto_report
        rules_report
    } >"$OUT/results.md"
    cat "$OUT/results.md"
    for name in "${CONFIG_NAMES[@]}"; do
        case ${STATUS[$name]:-} in FAILED*) failed=1 ;; esac
    done
    case $RULES_STATUS in FAILED*) failed=1 ;; esac
    return $failed
}

# the engine issue's figure against its targets: 4 Mpps and 3x ndpiReader
target_report() {
    local n="otsensor -w 2, Modbus dissector only"
    [ "${STATUS[$n]:-}" = ok ] || return 0
    echo
    awk -v w="${WALL[$n]}" -v p="$CAP_PACKETS" -v r="$(ratio ndpiReader "$n")" \
        'BEGIN{m = p / (w / 1e9) / 1e6;
               printf "- engine figure (%s): %.2f Mpps (target 4: %s), %s x ndpiReader (target 3: %s)\n",
                      "-w 2, Modbus only", m, (m >= 4 ? "met" : "NOT met"), r,
                      (r == "n/a" ? "not measured" : (r + 0 >= 3 ? "met" : "NOT met"))}'
    # the same on processing time: start-up (nDPI modules, ~40 ms) left out on both
    # sides, as ndpiReader reports its own throughput
    [ -n "${PROC[$n]:-}" ] || return 0
    awk -v u="${PROC[$n]}" -v p="$CAP_PACKETS" -v r="$(proc_ratio ndpiReader "$n")" \
        'BEGIN{m = p / (u / 1e6) / 1e6;
               printf "- engine figure on processing time (start-up excluded): %.2f Mpps (target 4: %s), %s x ndpiReader processing\n",
                      m, (m >= 4 ? "met" : "NOT met"), r}'
}

# the per-dissector table: PDUs/s of the whole pipeline on one protocol, and the
# dissector's own CPU per PDU (CPU with it minus CPU without it, least CPU of the runs)
proto_report() {
    local k d n
    [ -n "${PROTO_PCAP[*]+x}" ] || return 0 # (an empty array is "unbound" under set -u)
    echo
    echo "### per dissector: otsensor -w 1 on a capture of one protocol (otgen -P, $PROTO_PACKETS packets)"
    echo
    echo "| dissector | flows | PDUs | wall s | CPU s | kPDU/s | kPDU per CPU s | CPU s without the dissector | dissector ns/PDU |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for k in "${PROTO_KINDS[@]}"; do
        [ -n "${PROTO_PCAP[$k]:-}" ] || continue
        d=${PROTO_DISS[$k]}
        n="dissector $d"
        if [ "${STATUS[$n]:-}" != ok ] || [ "${STATUS[$n none]:-}" != ok ]; then
            echo "| $d | | | ${STATUS[$n]:-not run} ${STATUS[$n none]:-} | | | | | |"
            continue
        fi
        awk -v d="$d" -v f="$(sed -n 's/^flows: *//p' "$OUT/proto-$k.summary")" \
            -v pd="$(proto_pdus "$OUT/$(slug_of "$n").stats.json")" -v w="${WALL[$n]}" -v c="${MINCPU[$n]}" \
            -v c0="${MINCPU[$n none]}" \
            'BEGIN{s = w / 1e9; dc = c - c0; if (dc < 0) dc = 0;
                   printf "| %s | %d | %d | %.3f | %.2f | %.0f | %.0f | %.2f | %.0f |\n",
                          d, f, pd, s, c, pd / s / 1e3, (c > 0 ? pd / c / 1e3 : 0), c0,
                          (pd > 0 ? dc * 1e9 / pd : 0)}'
    done
    echo
    echo "- CPU s is the least user+sys of the runs; without = the same capture with"
    echo "  \`dissectors = \"\"\` (decode, flows, reassembly, nDPI only)"
}

main() {
    mkdir -p "$OUT" || die "cannot create $OUT"
    case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
    ensure_deps
    build
    make_capture
    make_proto_captures
    define_configs
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    local i
    for i in "${!CONFIG_NAMES[@]}"; do
        if [ -n "$ONLY" ] && ! [[ ${CONFIG_NAMES[$i]} =~ $ONLY ]]; then
            STATUS[${CONFIG_NAMES[$i]}]="skipped (BENCH_ONLY)"
            continue
        fi
        run_config "$i"
    done
    run_rules_bench
    if report; then
        log "all configurations ran"
    else
        log "some configurations FAILED"
        exit 1
    fi
}

main "$@"
