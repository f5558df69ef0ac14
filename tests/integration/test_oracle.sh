#!/bin/bash
# Golden output against tshark 4.0 for every dissector (see oracle_check.py).
set -euo pipefail
exec /usr/bin/python3 "$OTS_SOURCE_DIR/tests/integration/oracle_check.py" "$1" "$OTS_SOURCE_DIR/tests/data/corpus"
