"""pcapgen.py - what the capture-writing test scripts share (scapy): a TCP connection
with its own sequence numbers, and S7comm over TPKT/COTP framing."""
from scapy.all import IP, TCP, Ether, Raw

CMAC, SMAC = "02:00:00:00:00:01", "02:00:00:00:00:02"


class Clock:
    """Packet time: 1 ms per packet, shared by connections that interleave."""

    def __init__(self, t0):
        self.t = t0

    def tick(self):
        self.t += 0.001
        return self.t


class Tcp:
    """A TCP connection. handshake/send/close append to `out`; pkt() only builds
    (for out-of-order, retransmitted or bare-ACK segments the caller adds)."""

    def __init__(self, clock, out, cip, sip, cport, sport, cmac=CMAC, smac=SMAC):
        self.c, self.s = (cip, cport), (sip, sport)
        self.mac = (cmac, smac)
        self.seq = [1000, 5000]  # [client, server]
        self.clock, self.out = clock, out

    def pkt(self, to_server, flags, payload=b"", seq=None):
        src, dst = (self.c, self.s) if to_server else (self.s, self.c)
        i = 0 if to_server else 1
        m = self.mac if to_server else self.mac[::-1]
        p = (Ether(src=m[0], dst=m[1]) / IP(src=src[0], dst=dst[0]) /
             TCP(sport=src[1], dport=dst[1], flags=flags,
                 seq=self.seq[i] if seq is None else seq, ack=self.seq[1 - i], window=8192))
        if payload:
            p = p / Raw(payload)
        p.time = self.clock.tick()
        return p

    def add(self, p):
        self.out.append(p)

    def handshake(self):
        self.add(self.pkt(True, "S"))
        self.seq[0] += 1
        self.add(self.pkt(False, "SA"))
        self.seq[1] += 1
        self.add(self.pkt(True, "A"))

    def send(self, to_server, data):
        self.add(self.pkt(to_server, "PA", data))
        self.seq[0 if to_server else 1] += len(data)

    def close(self):
        self.add(self.pkt(True, "FA"))
        self.seq[0] += 1
        self.add(self.pkt(False, "FA"))
        self.seq[1] += 1
        self.add(self.pkt(True, "A"))


def tpkt_cotp(pdu):
    """TPKT + COTP DT (last data unit) around pdu."""
    return b"\x03\x00" + (len(pdu) + 7).to_bytes(2, "big") + b"\x02\xf0\x80" + pdu


def s7(rosctr, ref, param, data=b"", err=None):
    h = b"\x32" + bytes([rosctr]) + b"\x00\x00" + ref.to_bytes(2, "big")
    h += len(param).to_bytes(2, "big") + len(data).to_bytes(2, "big")
    if rosctr in (2, 3):
        h += bytes(err or b"\x00\x00")
    return tpkt_cotp(h + param + data)


def s7_session_setup(c):
    """COTP CR/CC, then S7 Setup Communication (job and ack_data, PDU reference 1)."""
    cr = b"\x11\xe0\x00\x00\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02"
    c.send(True, b"\x03\x00" + (len(cr) + 4).to_bytes(2, "big") + cr)
    cc = b"\x11\xd0\x00\x01\x00\x01\x00\xc0\x01\x0a\xc1\x02\x01\x00\xc2\x02\x01\x02"
    c.send(False, b"\x03\x00" + (len(cc) + 4).to_bytes(2, "big") + cc)
    setup = b"\xf0\x00\x00\x01\x00\x01\x01\xe0"
    c.send(True, s7(1, 1, setup))
    c.send(False, s7(3, 1, setup))


def s7_request_download(c, ref, name):
    """Request Download of block `name` (station -> PLC) and its ack."""
    c.send(True, s7(1, ref, b"\x1a\x00\x01\x00\x00\x00\x00\x00\x09" + name +
                    b"\x0d\x31" + b"000100" + b"000080"))
    c.send(False, s7(3, ref, b"\x1a"))
