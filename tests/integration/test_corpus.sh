#!/bin/bash
# Every capture of the bundled corpus: clean exit, valid event JSON, -w 4 == -w 1,
# flows == tshark conversations. Uses Debian's python3 (see corpus_check.py).
set -euo pipefail
exec /usr/bin/python3 "$OTS_SOURCE_DIR/tests/integration/corpus_check.py" "$1" "$OTS_SOURCE_DIR/tests/data/corpus"
