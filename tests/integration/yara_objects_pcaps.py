#!/usr/bin/python3
"""yara_objects_pcaps.py - writes the captures of tests/data that test_yara_objects.sh
reads (scapy; run once, the outputs are committed):

  ftp_session.pcap    one FTP session (control on TCP 21) and its three data
                      connections, interleaved in time as a client and server do:
                      PASV + STOR firmware/update.bin (the client sends, to the
                      server's port 50000), PORT + RETR docs/readme.txt (the server
                      connects from port 20 to the client's port 40192), EPSV + LIST
                      (port 50001). Each file carries OTS-MARK; the listing does not.
  mms_obtain_file.pcap  MMS (straight in COTP DT, as mms.c and tshark accept): the
                      client asks ObtainFile(sourceFile SRC.BIN, destinationFile
                      /PROG/NEW.BIN); the server then opens and reads SRC.BIN from the
                      client over the same association (its own invokeIDs 1 and 2),
                      and answers the ObtainFile. The file carries OTS-MARK!.
  umas_cut.pcap       a Modbus/TCP UMAS program write (0x30 init, two 0x31 blocks
                      "xOTS" and "-MARK!") whose END (0x32) never comes: the
                      connection closes after the second block.
  s7_cut.pcap         an S7comm download of DB 890 (framing of yara_pcaps.py's
                      s7_download) whose first Ack_Data says more follows (and
                      carries OTS-MARK), then the connection closes.

usage: yara_objects_pcaps.py DIR
"""
import os
import sys

from scapy.all import wrpcap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapgen import (CMAC, SMAC, Clock, Tcp, s7, s7_request_download,  # noqa: E402
                     s7_session_setup, tpkt_cotp)


def ftp_session():
    out, clk = [], Clock(1700000100.0)
    C, S = "10.20.0.1", "10.20.0.2"
    ctl = Tcp(clk, out, C, S, 40001, 21)
    ctl.handshake()
    for to_server, line in [(False, "220 otsensor test FTP"), (True, "USER anonymous"),
                            (False, "331 Password required"), (True, "PASS guest@"),
                            (False, "230 Logged in"), (True, "TYPE I"),
                            (False, "200 Type set to I"), (True, "PASV"),
                            (False, "227 Entering Passive Mode (10,20,0,2,195,80)."),
                            (True, "STOR firmware/update.bin"),
                            (False, "150 Ok to send data")]:
        ctl.send(to_server, line.encode() + b"\r\n")
    # passive: the client connects to 50000 and sends the file (an ELF header, which
    # nDPI knows as FTP data, then the marker)
    up = Tcp(clk, out, C, S, 40002, 50000)
    up.handshake()
    up.send(True, b"\x7fELF\x01\x01\x01" + b"\x00" * 9 + b"firmware OTS-MARK upload")
    up.close()
    ctl.send(False, b"226 Transfer complete\r\n")
    ctl.send(True, b"PORT 10,20,0,1,157,0\r\n")
    ctl.send(False, b"200 PORT command successful\r\n")
    ctl.send(True, b"RETR docs/readme.txt\r\n")
    ctl.send(False, b"150 Opening BINARY mode data connection\r\n")
    # active: the server connects from port 20 to the client's 40192 and sends
    dn = Tcp(clk, out, S, C, 20, 40192, SMAC, CMAC)
    dn.handshake()
    dn.send(True, b"readme: OTS-MARK download\n")
    dn.close()
    ctl.send(False, b"226 Transfer complete\r\n")
    ctl.send(True, b"EPSV\r\n")
    ctl.send(False, b"229 Entering Extended Passive Mode (|||50001|)\r\n")
    ctl.send(True, b"LIST\r\n")
    ctl.send(False, b"150 Here comes the directory listing\r\n")
    ls = Tcp(clk, out, C, S, 40003, 50001)
    ls.handshake()
    ls.send(False, b"-rw-r--r--    1 ftp      ftp            40 Nov 28 04:00 update.bin\r\n")
    ls.close()
    ctl.send(False, b"226 Directory send OK\r\n")
    ctl.send(True, b"QUIT\r\n")
    ctl.send(False, b"221 Goodbye\r\n")
    ctl.close()
    return out


def tlv(tag, body):
    n = len(body)
    ln = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255])
    return tag + ln + body


def svc_tag(num, constructed):
    b = 0x80 | (0x20 if constructed else 0)
    return bytes([b | num]) if num < 31 else bytes([b | 0x1F, num])


def mms(pdu_tag, invoke, svc, body, constructed=True):
    """A confirmed-Request (a0) or -Response (a1): invokeID, service [svc]."""
    return tlv(pdu_tag, tlv(b"\x02", bytes([invoke])) + tlv(svc_tag(svc, constructed), body))


def file_name(*parts):
    return b"".join(tlv(b"\x19", p) for p in parts)  # SEQUENCE OF GraphicString


def mms_obtain_file():
    out, clk = [], Clock(1700000200.0)
    c = Tcp(clk, out, "10.21.0.1", "10.21.0.2", 40010, 102)
    c.handshake()
    for to_server, pdu in [
        # ObtainFile-Request { sourceFile [1] SRC.BIN, destinationFile [2] /PROG/NEW.BIN }
        (True, mms(b"\xa0", 1, 46, tlv(b"\xa1", file_name(b"SRC.BIN")) +
                   tlv(b"\xa2", file_name(b"/PROG/NEW.BIN")))),
        # the server: FileOpen-Request { fileName [0], initialPosition [1] 0 }
        (False, mms(b"\xa0", 1, 72, tlv(b"\xa0", file_name(b"SRC.BIN")) + tlv(b"\x81", b"\x00"))),
        # FileOpen-Response { frsmID [0] 5, fileAttributes [1] { sizeOfFile [0] 10 } }
        (True, mms(b"\xa1", 1, 72, tlv(b"\x80", b"\x05") + tlv(b"\xa1", tlv(b"\x80", b"\x0a")))),
        (False, mms(b"\xa0", 2, 73, b"\x05", False)),  # FileRead-Request: FRSM 5
        # FileRead-Response { fileData [0], moreFollows [1] FALSE }
        (True, mms(b"\xa1", 2, 73, tlv(b"\x80", b"xOTS-MARK!") + tlv(b"\x81", b"\x00"))),
        (False, mms(b"\xa0", 3, 74, b"\x05", False)),  # FileClose-Request
        (True, mms(b"\xa1", 3, 74, b"", False)),
        (False, mms(b"\xa1", 1, 46, b"", False)),  # ObtainFile-Response (NULL)
    ]:
        c.send(to_server, tpkt_cotp(pdu))
    c.close()
    return out


def umas_cut():
    out, clk = [], Clock(1700000300.0)
    c = Tcp(clk, out, "10.22.0.1", "10.22.0.2", 40020, 502)
    c.handshake()
    for tid, body, to_server in [(1, "01 30 0001 fb00", True), (1, "01 fe", False),
                                 (2, "01 31 0001 0100 0400 784f5453", True), (2, "01 fe", False),
                                 (3, "01 31 0001 0200 0600 2d4d41524b21", True),
                                 (3, "01 fe", False)]:
        b = bytes.fromhex(body.replace(" ", ""))
        adu = tid.to_bytes(2, "big") + b"\x00\x00" + (len(b) + 2).to_bytes(2, "big") + b"\x01\x5a" + b
        c.send(to_server, adu)
    c.close()
    return out


def s7_cut():
    out, clk = [], Clock(1700000400.0)
    c = Tcp(clk, out, "10.23.0.1", "10.23.0.2", 40030, 102)
    c.handshake()
    s7_session_setup(c)
    name = b"_0A00890P"
    block = b"\x70\x70\x01\x01\x05\x0a\x03\x7a" + (36 + 200).to_bytes(4, "big")
    block += b"\x00" * 24 + b"A" * 20 + b"OTS-MARK" + b"B" * 20  # the first part of 200
    s7_request_download(c, 2, name)
    c.send(False, s7(1, 0x100, b"\x1b\x00\x01\x00\x00\x00\x00\x00\x09" + name))
    c.send(True, s7(3, 0x100, b"\x1b\x01", len(block).to_bytes(2, "big") + b"\x00\xfb" + block))
    c.close()
    return out


def main():
    d = sys.argv[1]
    wrpcap(d + "/ftp_session.pcap", ftp_session())
    wrpcap(d + "/mms_obtain_file.pcap", mms_obtain_file())
    wrpcap(d + "/umas_cut.pcap", umas_cut())
    wrpcap(d + "/s7_cut.pcap", s7_cut())


if __name__ == "__main__":
    main()
