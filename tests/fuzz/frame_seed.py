#!/usr/bin/env python3
"""Turns a capture into a frame-mode seed (fuzz_profinet_dcp.c format).

usage: frame_seed.py CAPTURE OUT FILTER FIELD [MAX]
FIELD is a tshark field holding the bytes (e.g. udp.payload) selected by the
display FILTER, or "eth" for the Ethernet payload after the ethertype FILTER
(e.g. 0x8892) of a classic pcap. Seed: [len u16le][bytes] per frame.
"""
import subprocess
import sys


def main():
    cap, out, flt, field = sys.argv[1:5]
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    if field == "eth":
        # classic little-endian pcap, Ethernet without VLAN; FILTER is the ethertype
        d, off, frames = open(cap, "rb").read(), 24, []
        while off + 16 <= len(d):
            incl = int.from_bytes(d[off + 8:off + 12], "little")
            fr = d[off + 16:off + 16 + incl]
            off += 16 + incl
            if int.from_bytes(fr[12:14], "big") == int(flt, 0):
                frames.append(fr[14:])
    else:
        rows = subprocess.run(["tshark", "-r", cap, "-Y", flt, "-T", "fields", "-e", field],
                              capture_output=True, text=True).stdout.split()
        frames = [bytes.fromhex(r.replace(":", "")) for r in rows]
    buf = bytearray()
    for f in frames[:limit]:
        buf += len(f).to_bytes(2, "little") + f
    open(out, "wb").write(buf)


if __name__ == "__main__":
    main()
