#!/usr/bin/python3
"""Captures for test_correlate_gaps.sh, written with scapy.

usage: gaps_pcaps.py goose GOOSE_ICSNPP GOOSE_DEMO OUT
       gaps_pcaps.py udpscan OUT

goose: the real frames of goose_icsnpp.pcap (one GE F650 publisher) with frames 2 and 3
deleted and the rest moved 60 s later (the QUT-ZSS "deletion" case: the publisher falls
silent for longer than twice its timeAllowedtoLive), goose_demo.pcap's publisher 10 s
after the first frame, and the last frame again from a second source MAC (the same
gocbRef: a spoofed publisher).

udpscan: 10.9.0.66 sweeps UDP ports 150-179 of 10.9.0.10, which answers each with an
ICMP port-unreachable, except port 161 which answers with a UDP datagram; then sends
to UDP 47808 of 10.9.1.1-25, which never answer. Meanwhile a master, 10.9.0.5, polls 30
outstations on UDP 20000 three times, and each answers (normal polling).
"""
import sys

from scapy.all import ICMP, IP, UDP, Ether, Raw, rdpcap, wrpcap


def goose(icsnpp, demo, out):
    a = rdpcap(icsnpp)
    b = rdpcap(demo)
    t0 = float(a[0].time)
    frames = [a[0]]
    for p in list(a)[3:]:
        p.time = float(p.time) + 60
        frames.append(p)
    d = b[0]
    d.time = t0 + 10
    frames.append(d)
    spoof = a[-1].copy()
    spoof[Ether].src = "00:a0:f4:08:2f:99"
    spoof.time = float(a[-1].time) + 0.5
    frames.append(spoof)
    frames.sort(key=lambda p: float(p.time))
    wrpcap(out, frames)


def udpscan(out):
    pk = []
    t = 1700000000.0
    m1, m2 = "02:00:00:00:00:01", "02:00:00:00:00:02"

    def add(p, ts):
        p.time = ts
        pk.append(p)

    scanner, target = "10.9.0.66", "10.9.0.10"
    for i, port in enumerate(range(150, 180)):
        ts = t + i * 0.01
        probe = IP(src=scanner, dst=target) / UDP(sport=40000 + i, dport=port) / Raw(b"x")
        add(Ether(src=m1, dst=m2) / probe, ts)
        if port == 161:
            add(Ether(src=m2, dst=m1) / IP(src=target, dst=scanner) /
                UDP(sport=161, dport=40000 + i) / Raw(b"y"), ts + 0.001)
        else:
            # the unreachable quotes the probe's IP header and its first 8 bytes
            quoted = bytes(probe)[:28]
            add(Ether(src=m2, dst=m1) / IP(src=target, dst=scanner) / ICMP(type=3, code=3) /
                Raw(quoted), ts + 0.001)
    for h in range(1, 26):
        add(Ether(src=m1, dst=m2) / IP(src=scanner, dst=f"10.9.1.{h}") /
            UDP(sport=41000 + h, dport=47808) / Raw(b"\x81\x0b\x00\x0c"), t + 1 + h * 0.01)
    for rnd in range(3):
        for h in range(1, 31):
            ts = t + 2 + rnd + h * 0.01
            add(Ether(src=m1, dst=m2) / IP(src="10.9.0.5", dst=f"10.9.2.{h}") /
                UDP(sport=20000, dport=20000) / Raw(b"\x05\x64"), ts)
            add(Ether(src=m2, dst=m1) / IP(src=f"10.9.2.{h}", dst="10.9.0.5") /
                UDP(sport=20000, dport=20000) / Raw(b"\x05\x64"), ts + 0.005)
    # time goes on: every waiting probe has timed out
    add(Ether(src=m1, dst=m2) / IP(src="10.9.0.5", dst="10.9.2.1") / UDP(sport=20000, dport=20000) /
        Raw(b"\x05\x64"), t + 20)
    add(Ether(src=m2, dst=m1) / IP(src="10.9.2.1", dst="10.9.0.5") / UDP(sport=20000, dport=20000) /
        Raw(b"\x05\x64"), t + 20.005)
    pk.sort(key=lambda p: float(p.time))
    wrpcap(out, pk)


if sys.argv[1] == "goose":
    goose(*sys.argv[2:5])
else:
    udpscan(sys.argv[2])
