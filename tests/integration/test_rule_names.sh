#!/bin/bash
# Shipped rules can match: every op:, event: and app-layer-event: name of
# rules/otsensor/*.rules is raised by a dissector, the engine or the correlation stage
# (by the sources, tests/integration/rule_names_check.py), the rule loader's lists of
# known names hold only raised names, and the shipped rules load.
set -uo pipefail
BIN=$1
. "$OTS_SOURCE_DIR/tests/integration/lib.sh"
/usr/bin/python3 "$OTS_SOURCE_DIR/tests/integration/rule_names_check.py" "$OTS_SOURCE_DIR" && ok ||
    bad "shipped rules name events nothing raises"
"$BIN" -R "$OTS_SOURCE_DIR/rules/otsensor" --check >"$T/out" 2>&1 && ok || bad "--check: $(cat "$T/out")"
echo "$pass passed, $fails failed"
[ "$fails" = 0 ]
