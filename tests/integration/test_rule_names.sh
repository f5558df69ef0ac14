#!/bin/bash
# Shipped rules can match: every op:, event: and app-layer-event: name of
# rules/otsensor/*.rules is raised by a dissector, the engine or the correlation stage
# (by the sources, tests/integration/rule_names_check.py), the rule loader's lists of
# known names hold only raised names, and the shipped rules load; an unknown name is an
# error naming file:line:col.
set -uo pipefail
BIN=$1
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"
/usr/bin/python3 "$OTS_SOURCE_DIR/tests/integration/rule_names_check.py" "$OTS_SOURCE_DIR" && ok ||
    bad "shipped rules name events nothing raises"
"$BIN" -R "$OTS_SOURCE_DIR/rules/otsensor" --check >"$T/out" 2>&1 && ok || bad "--check: $(cat "$T/out")"
# a name nothing raises is a load error with its position, in --check and on load
printf 'alert goose any any -> any any (msg:"x"; app-layer-event:goose.nosuch; sid:1;)\n' >"$T/bad.rules"
for args in "--check" "-r $OTS_SOURCE_DIR/tests/data/goose_demo.pcap --redis none"; do
    # shellcheck disable=SC2086 # args is a word list
    "$BIN" -R "$T/bad.rules" $args >/dev/null 2>"$T/err"
    rc=$?
    # (warnings aside: an out-of-tree build warns that it finds no classification.config)
    [ $rc -eq 1 ] && [ "$(grep -v ': warning: ' "$T/err")" = "otsensor: $T/bad.rules:1:58: unknown app-layer-event name 'goose.nosuch'" ] &&
        ok || bad "unknown name with $args: rc=$rc $(cat "$T/err")"
done
echo "$pass passed, $fails failed"
[ "$fails" = 0 ]
