#!/usr/bin/env python3
"""Turns the TCP payloads of a capture into a stream-harness seed (fuzz_modbus.c format).

usage: stream_seed.py CAPTURE SERVER_PORT OUT [LEN_BYTES=1|2] [MAX_CHUNKS]
Seed: chunks [len][flags=0][bytes] alternating client, server, ...; an empty chunk
is inserted when the same side sends twice. Payloads come from tshark, in capture
order, retransmissions left out; chunks longer than the length field are cut.
"""
import subprocess
import sys


def main():
    cap, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lb = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else 64
    rows = subprocess.run(["tshark", "-r", cap, "-Y", "tcp.len > 0 && !tcp.analysis.retransmission",
                           "-T", "fields", "-e", "tcp.dstport", "-e", "tcp.payload"],
                          capture_output=True, text=True).stdout.split("\n")
    buf, side, n = bytearray(), 0, 0
    maxlen = 255 if lb == 1 else 65535
    for r in rows:
        if not r.strip() or n >= limit:
            continue
        dport, payload = r.split("\t")
        want = 0 if int(dport) == port else 1
        if want != side:
            buf += bytes(lb + 1)  # empty chunk for the other side
            side ^= 1
        b = bytes.fromhex(payload.replace(":", ""))[:maxlen]
        buf += len(b).to_bytes(lb, "little") + b"\x00" + b
        side ^= 1
        n += 1
    open(out, "wb").write(buf)


if __name__ == "__main__":
    main()
