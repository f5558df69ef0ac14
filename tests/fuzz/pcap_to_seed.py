#!/usr/bin/env python3
"""Turns the first packets of a classic pcap file into a fuzz_engine seed.

usage: pcap_to_seed.py CAPTURE OUT [MAX_PACKETS]
Seed format (see fuzz_engine.c): per packet [u8 link][u8 time step][u16 len][frame].
"""
import struct
import sys

LINKS = {1: 0, 101: 1, 0: 2, 113: 3, 276: 4, 228: 5, 229: 6, 108: 7}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    data = open(src, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("not a classic pcap file: " + src)
    link = struct.unpack(e + "I", data[20:24])[0]
    if link not in LINKS:
        sys.exit("link type %d not supported by the harness" % link)
    out = bytearray()
    off, n, last = 24, 0, None
    while off + 16 <= len(data) and n < limit:
        sec, usec, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl][:65535]
        off += 16 + incl
        t = sec * 1000000 + usec
        step = 0 if last is None else min(255, max(0, (t - last) // 250000))
        last = t
        out += struct.pack(">BBH", LINKS[link], step, len(frame)) + frame
        n += 1
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
