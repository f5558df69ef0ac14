#!/usr/bin/env python3
"""Writes fuzz_object.c seeds for the UMAS, MMS, CIP File and file-run paths.

usage: object_seeds.py OUTDIR [MODBUS_UMAS_PCAP]
The UMAS read: frames of tests/data/modbus_umas.pcap (nDPI's umas.pcap).
Seed: mode byte (even: dissector index << 1), object_max byte, then chunks
"ctl | len | bytes" (ctl bit 0: to the server). The UMAS read comes from the
capture (tshark payloads); the rest is built as the unit tests build it.
"""
import os
import subprocess
import sys


def chunks(items):
    out = bytearray()
    for to_server, b in items:
        while True:
            part, b = b[:255], b[255:]
            out += bytes([1 if to_server else 0, len(part)]) + part
            if not b:
                break
    return bytes(out)


def seed(path, index, items, omax=0xC0):
    with open(path, "wb") as f:
        f.write(bytes([index << 1, omax]) + chunks(items))


def mbap(tid, body):
    return tid.to_bytes(2, "big") + b"\0\0" + (len(body) + 2).to_bytes(2, "big") + b"\x01\x5a" + body


def tpkt(pdu):
    return b"\x03\x00" + (len(pdu) + 7).to_bytes(2, "big") + b"\x02\xf0\x80" + pdu


def enip(cip, ctx):
    items = b"\0\0\0\0" + b"\0\0" + b"\x02\x00" + b"\0\0\0\0" + b"\xb2\x00" + len(cip).to_bytes(2, "little") + cip
    return (b"\x6f\x00" + len(items).to_bytes(2, "little") + b"\x01\0\0\0" + b"\0\0\0\0" +
            ctx.to_bytes(8, "little") + b"\0\0\0\0" + items)


def main():
    out = sys.argv[1]
    h = bytes.fromhex
    seed(os.path.join(out, "umas_download"), 1, [
        (1, mbap(1, h("01300001fb00"))), (0, mbap(1, h("01fe"))),
        (1, mbap(2, h("013100010100 0400 784f5453".replace(" ", "")))),
        (1, mbap(3, h("01310001020006002d4d41524b21"))),
        (1, mbap(4, h("013200010200")))])
    if len(sys.argv) > 2:
        rows = subprocess.run(["tshark", "-r", sys.argv[2], "-Y", "tcp.len > 0", "-T", "fields",
                               "-e", "tcp.dstport", "-e", "tcp.payload"],
                              capture_output=True, text=True).stdout.split("\n")
        items = [(int(r.split("\t")[0]) == 502, h(r.split("\t")[1].replace(":", "")))
                 for r in rows if r.strip()]
        # from INITIALIZE_DOWNLOAD (0x33) on: ten blocks, then END_STRATEGY_DOWNLOAD
        first = next(i for i, (_, b) in enumerate(items) if b[7:10] == b"\x5a\x01\x33")
        seed(os.path.join(out, "umas_upload_capture"), 1,
             items[first:first + 22] + items[-2:], 0xFF)
    seed(os.path.join(out, "modbus_file_run"), 6, [
        (1, h("0001 0000 000e 01 15 0b 06 0004 0001 0002 784F5453".replace(" ", ""))),
        (1, h("0002 0000 0010 01 15 0d 06 0004 0003 0003 2D4D41524B21".replace(" ", "")))])
    seed(os.path.join(out, "mms_file_read"), 4, [
        (1, tpkt(h("a015020101bf480fa00a190850524f472e42494e810100"))),
        (0, tpkt(h("a10e020101bf4808800107a10380010a"))),
        (1, tpkt(h("a0070201029f490107"))), (0, tpkt(h("a10c020102bf49068004784f5453"))),
        (1, tpkt(h("a0070201039f490107"))),
        (0, tpkt(h("a111020103bf490b80062d4d41524b21810100"))),
        (1, tpkt(h("a0070201049f4a0107")))])
    dom = "44544c6f6746696c6573446f6d61696e"
    seed(os.path.join(out, "mms_domain"), 7, [
        (1, tpkt(h("a029020101ba248010" + dom + "a10d1a0b4d7553656341433830304d820100"))),
        (0, tpkt(h("a015020105 9b10".replace(" ", "") + dom))),
        (1, tpkt(h("a10b020105bb068004784f5453"))),
        (0, tpkt(h("a0170201 07bc128010".replace(" ", "") + dom))),
        (1, tpkt(h("a00902010a9d04444f4d31"))), (0, tpkt(h("a10a02010abd05800103a100"))),
        (1, tpkt(h("a00602010b9e0103"))), (0, tpkt(h("a10b02010bbe068004784f5453"))),
        (1, tpkt(h("a00702010d9f1f0103")))])
    seed(os.path.join(out, "cip_file"), 5, [
        (1, enip(h("50022037240100 00784f5453".replace(" ", "")), 1)),
        (0, enip(h("d000000000"), 1)),
        (1, enip(h("5002203724010102524b21beef"), 2)),
        (1, enip(h("4f02203724 0300".replace(" ", "")), 3)),
        (0, enip(h("cf0000000000784f5453"), 3)),
        (1, enip(h("4f0220372403 01".replace(" ", "")), 4)),
        (0, enip(h("cf00000001022d4d41524b211234"), 4))])


if __name__ == "__main__":
    main()
