#!/bin/bash
# Installs, builds and runs every test: formatting, the normal build's suite, the
# ASan+UBSan build's suite, and a short pass of every libFuzzer harness.
#   tests/run-all.sh            the default run (CI)
#   tests/run-all.sh --long     10-minute fuzz pass per harness (FUZZ_SECONDS overrides)
#   tests/run-all.sh --soak     also the memory soak, bench/soak.sh (~5 min; SOAK_* settings)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
SOAK=0
for arg in "$@"; do
    case $arg in
    --long) FUZZ_SECONDS=${FUZZ_SECONDS_LONG:-600} ;;
    --soak) SOAK=1 ;;
    *) echo "usage: tests/run-all.sh [--long] [--soak]" >&2; exit 1 ;;
    esac
done
JOBS=$(nproc)
passed=0
failed=0
failures=()
stage() {
    local name=$1
    shift
    echo "=== $name" >&2
    local t0=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - t0)) s)" >&2
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=== $name: FAILED ($((SECONDS - t0)) s)" >&2
    fi
}

bash "$ROOT/deploy/install-deps.sh" --test || { echo "otsensor: dependency install failed" >&2; exit 1; }

format_check() {
    local files
    files=$(cd "$ROOT" && ls sensor/*.[ch] sensor/siem/*.[ch] dissectors/*.[ch] rules/*.[ch] tests/unit/*.[ch] \
        tests/fuzz/*.c bench/*.c 2>/dev/null)
    (cd "$ROOT" && clang-format --dry-run --Werror $files)
}

build_and_test() {
    local dir=$1
    shift
    cmake -S "$ROOT" -B "$dir" "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
    cmake --build "$dir" -j"$JOBS" >"$dir.build.log" 2>&1 || { tail -60 "$dir.build.log"; return 1; }
    (cd "$dir" && ctest --output-on-failure -j"$JOBS" --timeout 900)
}

fuzz_all() {
    local dir="$ROOT/build-fuzz"
    cmake -S "$ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DOTS_FUZZ=ON -DOTS_SANITIZE=ON \
        -DOTS_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || return 1
    cmake --build "$dir" -j"$JOBS" >/dev/null || return 1
    local rc=0
    for f in "$dir"/fuzz_*; do
        [ -x "$f" ] || continue
        local name=${f##*/fuzz_}
        local work
        work=$(mktemp -d)
        [ -d "$ROOT/tests/fuzz/corpus/$name" ] && cp -r "$ROOT/tests/fuzz/corpus/$name/." "$work/"
        echo "--- fuzz_$name for ${FUZZ_SECONDS}s" >&2
        if ! (cd "$work" && "$f" -max_total_time="$FUZZ_SECONDS" -max_len=16384 -rss_limit_mb=4096 \
            -print_final_stats=1 "$work" >"$work/log" 2>&1); then
            echo "fuzz_$name found a problem:" >&2
            # the whole sanitizer report (stack included), not only the log's tail
            sed -n '/^==[0-9]*==ERROR\|^==[0-9]*== ERROR\|^INFO: libFuzzer: /,$p' "$work/log" |
                head -120 >&2
            # the input that did it: kept next to the build, and in the log so that a
            # CI run on a machine since gone can still be replayed (base64 | fuzz_X FILE)
            local keep="$dir/crashes"
            mkdir -p "$keep"
            local a
            for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
                [ -f "$a" ] || continue
                cp "$a" "$keep/fuzz_$name-${a##*/}"
                echo "input ${a##*/} (base64, $(stat -c %s "$a") bytes):" >&2
                base64 -w 0 "$a" | head -c 32768 >&2
                echo >&2
            done
            rc=1
        else
            grep -E "stat::number_of_executed_units" "$work/log" >&2 || true
        fi
        rm -rf "$work"
    done
    return $rc
}

stage "clang-format" format_check
stage "build+tests (gcc, -Werror)" build_and_test "$ROOT/build-ci" -DCMAKE_BUILD_TYPE=RelWithDebInfo
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
stage "build+tests (clang, ASan+UBSan)" build_and_test "$ROOT/build-asan" \
    -DCMAKE_C_COMPILER=clang -DOTS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
stage "fuzz (${FUZZ_SECONDS}s per harness)" fuzz_all
# the gcc build's otsensor and otgen (RelWithDebInfo)
[ "$SOAK" = 1 ] && stage "soak (bench/soak.sh)" env OTS_BUILD_DIR="$ROOT/build-ci" \
    SOAK_OUT="$ROOT/build-ci/soak" bash "$ROOT/bench/soak.sh"

for f in "${failures[@]}"; do echo "failed stage: $f" >&2; done
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
