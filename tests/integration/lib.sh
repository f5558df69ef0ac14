# lib.sh - what the integration scripts share (source it after `set -uo pipefail`):
# a scratch directory T removed at exit with any redis-server the script started (RPID)
# and background processes it listed in BG, pass/fail counters, a free loopback port,
# and a real redis-server on it.
T=$(mktemp -d)
RPID=""
BG=""
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
ots_cleanup() {
    # shellcheck disable=SC2086 # BG is a list of pids
    [ -n "$BG" ] && kill -9 $BG 2>/dev/null
    [ -n "$RPID" ] && kill -9 "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
    rm -rf "$T"
}
trap ots_cleanup EXIT

# A loopback port nobody listens on now: `free_port` (TCP) or `free_port udp`.
free_port() {
    /usr/bin/python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1:] == ["udp"] else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$@"
}

# redis_start PORT LOG redis-server-args...: starts a redis-server on 127.0.0.1:PORT in
# the foreground of a background job (RPID), waits until it accepts connections (for an
# AOF, once it is loaded: a PING may answer NOAUTH while loading); 1 if it never does.
redis_start() {
    local port=$1 log=$2
    shift 2
    redis-server --port "$port" --bind 127.0.0.1 --daemonize no --logfile "$log" "$@" &
    RPID=$!
    for _ in $(seq 200); do
        grep -q "Ready to accept connections" "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "redis-server did not start"
    cat "$log"
    return 1
}

# SIGHUP tests read their last capture from a FIFO (mkfifo) they feed only once the
# reloads were handled, so a run cannot end before them however fast the machine.
# wait_log FILE PATTERN: up to 120 s (sanitizer builds under load are slow) for FILE to
# contain PATTERN (grep); 1 if it never does.
wait_log() {
    for _ in $(seq 1200); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# feed_fifo PID FIFO [FILE]: writes FILE, or a capture without packets (a pcap header),
# into FIFO once the sensor PID opens it, however long its earlier captures take (an
# ASan build reads them several times slower); gives up only if PID exits first.
feed_fifo() {
    local pid=$1 fifo=$2 src=${3:-}
    if [ -n "$src" ]; then
        cat "$src" >"$fifo" &
    else
        printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$fifo" &
    fi
    local writer=$!
    while kill -0 "$writer" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            kill "$writer" 2>/dev/null
            wait "$writer" 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
    wait "$writer"
}
