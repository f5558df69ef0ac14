#!/bin/bash
# Installs what otsensor needs on Debian bookworm: to build and run (default), or
# also to test (--test: sanitizers, libFuzzer, tshark/ndpiReader oracles, Redis).
# Idempotent: skips apt-get when every package is already there.
set -euo pipefail
PKGS=(build-essential cmake pkg-config libpcap-dev libndpi-dev libhiredis-dev libyara-dev check
      redis-server)
if [ "${1:-}" = "--test" ]; then
    PKGS+=(clang libclang-rt-14-dev clang-format tshark libndpi-bin tcpreplay python3
           python3-scapy python3-yaml time iproute2)
fi
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
echo "otsensor: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
# tshark asks whether non-root users may capture; the answer is preseeded (no)
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
