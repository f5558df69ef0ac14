#!/usr/bin/env python3
"""Captures for test_detector_alerts.sh (scapy): the dissectors' derived events.

  dnp3.pcap  TCP 20000, master 10.8.0.1 (link address 3), outstation 10.8.0.2 (2):
             an OPERATE of CROB index 1 with no SELECT before it, answered; a direct
             operate, answered without an SA challenge; DISABLE_UNSOLICITED for classes
             1-3, accepted, then an unsolicited response carrying a binary input event.
  mqtt.pcap  TCP 1883: client "edge-a" (Will spBv1.0/plant/NDEATH/line1) publishes its
             own NBIRTH and the NDEATH of line2; client "edge-b" (Will
             spBv1.0/plant/NDEATH/line3) publishes only its own NBIRTH and NDEATH.

DNP3 frames follow IEEE 1815 (link header and 16-byte blocks, each with a CRC-16/DNP);
MQTT packets MQTT 3.1.1 (§3.1 CONNECT, §3.2 CONNACK, §3.3 PUBLISH).

usage: detector_pcaps.py DIR
"""
import struct
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from pcapgen import Clock, Tcp  # noqa: E402
from scapy.all import wrpcap  # noqa: E402


def crc_dnp(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return struct.pack("<H", ~crc & 0xFFFF)


def dnp3_frame(from_master, app):
    """One link frame (unconfirmed user data) carrying one transport segment."""
    user = bytes([0xC0]) + app  # transport FIN FIR seq 0
    ctrl = 0xC4 if from_master else 0x44
    dst, src = (2, 3) if from_master else (3, 2)
    hdr = bytes([0x05, 0x64, len(user) + 5, ctrl]) + struct.pack("<HH", dst, src)
    out = hdr + crc_dnp(hdr)
    for i in range(0, len(user), 16):
        out += user[i:i + 16] + crc_dnp(user[i:i + 16])
    return out


CROB = bytes.fromhex("0c0128 0100 0100 03 01 64000000 64000000 00")  # g12v1 index 1, latch on


def dnp3():
    c = Tcp(Clock(1700000100.0), [], "10.8.0.1", "10.8.0.2", 40100, 20000)
    c.handshake()
    for req, resp in (
            (bytes([0xC1, 0x04]) + CROB, bytes([0xC1, 0x81, 0, 0]) + CROB),  # operate, no select
            (bytes([0xC2, 0x05]) + CROB, bytes([0xC2, 0x81, 0, 0]) + CROB),  # direct operate
            (bytes.fromhex("c3 15 3c0206 3c0306 3c0406"), bytes.fromhex("c3 81 0000"))):  # disable
        c.send(True, dnp3_frame(True, req))
        c.send(False, dnp3_frame(False, resp))
    # unsolicited response (CON UNS) with a g2v1 event: index 5, flags 0x81
    c.send(False, dnp3_frame(False, bytes.fromhex("f4 82 0000 020117 01 05 81")))
    c.send(True, dnp3_frame(True, bytes.fromhex("d4 00")))  # confirm
    c.close()
    return c.out


def mstr(s):
    return struct.pack(">H", len(s)) + s


def mqtt_connect(client, will):
    body = mstr(b"MQTT") + bytes([4, 0x06]) + struct.pack(">H", 60) + mstr(client)
    body += mstr(will) + mstr(b"offline")
    return bytes([0x10, len(body)]) + body


def mqtt_publish(topic):
    body = mstr(topic) + bytes([0x08, 0x01])
    return bytes([0x30, len(body)]) + body


def mqtt():
    pk = []
    for n, (client, own, other) in enumerate(((b"edge-a", b"line1", b"line2"),
                                              (b"edge-b", b"line3", None))):
        c = Tcp(Clock(1700000200.0 + n), [], "10.8.1.%d" % (n + 1), "10.8.1.100",
                41000 + n, 1883)
        c.handshake()
        c.send(True, mqtt_connect(client, b"spBv1.0/plant/NDEATH/" + own))
        c.send(False, bytes([0x20, 2, 0, 0]))  # CONNACK accepted
        c.send(True, mqtt_publish(b"spBv1.0/plant/NBIRTH/" + own))
        c.send(True, mqtt_publish(b"spBv1.0/plant/NDEATH/" + (other or own)))
        c.close()
        pk += c.out
    return pk


def main():
    out = sys.argv[1]
    wrpcap(out + "/dnp3.pcap", dnp3())
    wrpcap(out + "/mqtt.pcap", mqtt())


if __name__ == "__main__":
    main()
