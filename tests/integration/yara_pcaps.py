#!/usr/bin/python3
"""yara_pcaps.py - writes the captures the YARA tests use (scapy), into DIR.

  eicar_ooo.pcap     one TCP flow; the EICAR string split over three segments sent
                     out of order (3, 1, 2) and the middle one retransmitted
  s7_download.pcap   an S7comm block download of DB 890 over two Ack_Data PDUs;
                     the block starts with a load-memory header (70 70 .. 0A 03 7A)
                     and carries OTS-SPLIT-MARKER split between the two PDUs
  tristation.pcap    one UDP datagram to port 1502 carrying PowerPC routines
  modbus_file_run.pcap  Modbus FC 21 writes to file 4, records 1-5 then 6-8, in two
                     PDUs; OTS-SPLIT-MARKER is cut between them; the flow then closes
  deep_windows.pcap  a Modbus flow (100 FC 16 writes of 253 bytes: 25,300 bytes to the
                     server) and a flow of an unknown protocol (60 segments of 1,400
                     bytes to port 7777): the two window depths; and an HTTP flow
                     whose second request is 20,000 bytes of junk
  tls_hello.pcap     a TLS connection that sends one ClientHello, then nothing: nDPI
                     names it TLS (encrypted), so its window is never scanned
  eicar_flows_A.pcap N short TCP flows, each sending EICAR in one segment
  eicar_flows_B.pcap the same with other ports (for runs with several -r)

usage: yara_pcaps.py DIR [N]
"""
import os
import sys

from scapy.all import IP, UDP, Ether, Raw, wrpcap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapgen import CMAC, SMAC, Clock, Tcp, s7, s7_request_download, s7_session_setup  # noqa: E402

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def eicar_ooo():
    c = Tcp(Clock(1700000000.0), [], "10.1.0.1", "10.1.0.2", 40000, 8080)
    c.handshake()
    data = b"PUT /test.com HTTP/1.0\r\n\r\n" + EICAR + b"\r\n"
    a, b = 30, 60  # the string starts at 26: the cuts fall inside it
    segs = [(0, data[:a]), (a, data[a:b]), (b, data[b:])]
    base = c.seq[0]
    for k in (2, 0, 1, 1):  # out of order, and the middle one twice
        off, part = segs[k]
        c.add(c.pkt(True, "PA", part, seq=base + off))
    c.seq[0] += len(data)
    c.add(c.pkt(False, "A"))
    c.close()
    return c.out


def s7_download():
    c = Tcp(Clock(1700000100.0), [], "10.2.0.10", "10.2.0.20", 49152, 102)
    c.handshake()
    s7_session_setup(c)
    name = b"_0A00890P"
    # the block: load-memory header (DB 890) then a body with the marker
    body = b"A" * 40 + b"OTS-SPLIT-MARKER" + b"B" * 40
    block = b"\x70\x70\x01\x01\x05\x0a\x03\x7a" + (36 + len(body)).to_bytes(4, "big")
    block += b"\x00" * 24 + body
    cut = 8 + 4 + 24 + 40 + 8  # inside the marker
    chunks = [block[:cut], block[cut:]]
    # request download (station -> PLC)
    s7_request_download(c, 2, name)
    # the PLC asks for the block, twice; the station answers with its bytes
    ref = 0x100
    for i, ch in enumerate(chunks):
        c.send(False, s7(1, ref, b"\x1b\x00\x01\x00\x00\x00\x00\x00\x09" + name))
        more = 1 if i < len(chunks) - 1 else 0
        c.send(True, s7(3, ref, bytes([0x1b, more]),
                        len(ch).to_bytes(2, "big") + b"\x00\xfb" + ch))
        ref += 1
    c.send(False, s7(1, ref, b"\x1c\x00\x01\x00\x00\x00\x00\x00\x00\x09" + name))
    c.send(True, s7(3, ref, b"\x1c"))
    c.close()
    return c.out


def modbus_file_run():
    c = Tcp(Clock(1700000300.0), [], "10.6.0.1", "10.6.0.2", 40001, 502)
    c.handshake()
    for tid, rec, data in ((1, 1, b"OTS-SPLIT-"), (2, 6, b"MARKER")):
        sub = b"\x06" + (4).to_bytes(2, "big") + rec.to_bytes(2, "big")
        sub += (len(data) // 2).to_bytes(2, "big") + data
        pdu = b"\x15" + bytes([len(sub)]) + sub
        adu = tid.to_bytes(2, "big") + b"\x00\x00" + (len(pdu) + 1).to_bytes(2, "big") + b"\x01" + pdu
        c.send(True, adu)
        c.send(False, adu)  # the echo
    c.close()
    return c.out


def tristation():
    ppc = bytes.fromhex(
        "9421ffe0" "7c0802a6" "93e1001c" "90010024"  # stwu r1,-32(r1); mflr r0; ...
        "38600000" "4e800020"                        # li r3,0; blr
        "80010024" "7c0803a6" "83e1001c" "38210020" "4e800020")  # epilogue; blr
    payload = b"\x05\x00" + len(ppc).to_bytes(2, "little") + b"\x00" * 8 + ppc
    p = (Ether(src=CMAC, dst=SMAC) / IP(src="10.3.0.5", dst="10.3.0.6") /
         UDP(sport=50000, dport=1502) / Raw(payload))
    p.time = 1700000200.0
    return [p]


def deep_windows():
    m = Tcp(Clock(1700000500.0), [], "10.8.0.1", "10.8.0.2", 43000, 502)
    m.handshake()
    for tid in range(1, 101):
        pdu = b"\x10" + (0).to_bytes(2, "big") + (120).to_bytes(2, "big") + b"\xf0" + b"\x11" * 240
        m.send(True, tid.to_bytes(2, "big") + b"\x00\x00" + (len(pdu) + 1).to_bytes(2, "big") +
               b"\x01" + pdu)
        m.send(False, tid.to_bytes(2, "big") + b"\x00\x00\x00\x06\x01\x10\x00\x00\x00\x78")
    m.close()
    u = Tcp(Clock(1700000600.0), [], "10.8.0.3", "10.8.0.4", 43001, 7777)
    u.handshake()
    for _ in range(60):
        u.send(True, b"A" * 1400)
        u.add(u.pkt(False, "A"))
    u.send(False, b"ok")
    u.close()
    # HTTP whose second request is not HTTP: the parser gives the direction back to
    # its window, which keeps the deep cap (HTTP is read for its objects only)
    h = Tcp(Clock(1700000700.0), [], "10.8.0.5", "10.8.0.6", 43002, 80)
    h.handshake()
    h.send(True, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    h.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    for _ in range(20):
        h.send(True, b"B" * 1000)
        h.add(h.pkt(False, "A"))
    h.close()
    return m.out + u.out + h.out


def tls_hello():
    from scapy.layers.tls.extensions import ServerName, TLS_Ext_ServerName
    from scapy.layers.tls.handshake import TLSClientHello
    from scapy.layers.tls.record import TLS
    hello = TLS(msg=[TLSClientHello(ciphers=[0x1301, 0x1302, 0xc02f], ext=[
        TLS_Ext_ServerName(servernames=[ServerName(servername=b"plant.example")])])])
    c = Tcp(Clock(1700000800.0), [], "10.9.0.1", "10.9.0.2", 44000, 443)
    c.handshake()
    c.send(True, bytes(hello))
    c.add(c.pkt(False, "A"))  # and silence: the flow ends with the capture
    return c.out


def eicar_flows(n, port_base, t0):
    pkts = []
    for i in range(n):
        c = Tcp(Clock(t0 + i * 0.01), [], "10.4.%d.%d" % (i // 250, i % 250 + 1),
                "10.5.0.1", port_base + i, 8080)
        c.handshake()
        c.send(True, b"GET /x HTTP/1.0\r\n\r\n" + EICAR)
        c.close()
        pkts += c.out
    return pkts


def eicar_late():
    """A flow no dissector reads (HTTP on 8080): the signature comes in its
    second data segment, after the first has decided there is no dissector."""
    c = Tcp(Clock(1700000300.0), [], "10.6.0.1", "10.6.0.2", 41000, 8080)
    c.handshake()
    head = b"POST /upload HTTP/1.1\r\nHost: 10.6.0.2\r\nContent-Type: text/plain\r\n" + \
        b"Content-Length: %d\r\n\r\n" % len(EICAR)
    c.send(True, head)
    c.add(c.pkt(False, "A"))
    c.send(True, EICAR)
    c.add(c.pkt(False, "A"))
    c.close()
    return c.out


def eicar_gap():
    """The signature, then a hole the server acknowledges (a gap ends the window
    and scans it), with another flow's datagram in between: the match must name
    this flow, not the one seen last."""
    c = Tcp(Clock(1700000400.0), [], "10.6.1.1", "10.6.1.2", 42000, 8080)
    c.handshake()
    data = b"GET /x HTTP/1.0\r\n\r\n" + EICAR
    c.send(True, data)
    c.add(c.pkt(True, "PA", b"after the hole", seq=c.seq[0] + 100))
    u = (Ether(src=CMAC, dst=SMAC) / IP(src="10.7.0.1", dst="10.7.0.2") /
         UDP(sport=5000, dport=6000) / Raw(b"another flow"))
    u.time = c.clock.t + 0.0005
    c.add(u)
    c.seq[0] += 100 + len(b"after the hole")
    c.add(c.pkt(False, "A"))
    return c.out


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    wrpcap(out + "/eicar_ooo.pcap", eicar_ooo())
    wrpcap(out + "/s7_download.pcap", s7_download())
    wrpcap(out + "/tristation.pcap", tristation())
    wrpcap(out + "/modbus_file_run.pcap", modbus_file_run())
    wrpcap(out + "/eicar_late.pcap", eicar_late())
    wrpcap(out + "/eicar_gap.pcap", eicar_gap())
    wrpcap(out + "/deep_windows.pcap", deep_windows())
    wrpcap(out + "/tls_hello.pcap", tls_hello())
    wrpcap(out + "/eicar_flows_A.pcap", eicar_flows(n, 20000, 1700001000.0))
    wrpcap(out + "/eicar_flows_B.pcap", eicar_flows(n, 40000, 1800001000.0))


if __name__ == "__main__":
    main()
