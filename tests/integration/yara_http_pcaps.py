#!/usr/bin/env python3
"""Captures for test_yara_http.sh (scapy): HTTP bodies, FTP data, end to end.

  http.pcap   TCP 80: a GET and its chunked response with EICAR cut over two chunks
              and three segments; a keep-alive connection on 8080 with two bodies
              holding EICAR (a POST upload and its response); a GET on port 8000
              (no dissector port: nDPI calls it HTTP) answered with EICAR
  ftp.pcap    an active-mode FTP data connection (from server port 20) carrying
              EICAR in two segments, closed by FIN
  close.pcap  TCP 80: an HTTP/1.0 response body delimited by the close (EICAR); the
              server's FIN comes 5 s before the client's
  plain.pcap  TCP 9999 (no dissector): the client says hello, the server answers
              with EICAR in its second segment (stream window of the reply)

Messages follow RFC 9112 (start line, fields, Content-Length / chunked framing).

usage: yara_http_pcaps.py DIR
"""
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from pcapgen import Clock, Tcp  # noqa: E402
from yara_pcaps import EICAR  # noqa: E402
from scapy.all import wrpcap  # noqa: E402


def chunked_get():
    c = Tcp(Clock(1700000000.0), [], "10.7.0.1", "10.7.0.2", 41000, 80)
    c.handshake()
    c.send(True, b"GET /dl/eicar.com HTTP/1.1\r\nHost: 10.7.0.2\r\nUser-Agent: curl/7.88.1\r\n\r\n")
    body = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            b"14\r\n" + EICAR[:20] + b"\r\n30\r\n" + EICAR[20:] + b"\r\n0\r\n\r\n")
    for a, b in ((0, 50), (50, 130), (130, len(body))):
        c.send(False, body[a:b])
    c.close()
    return c.out


def keep_alive():
    c = Tcp(Clock(1700000001.0), [], "10.7.0.3", "10.7.0.4", 41001, 8080)
    c.handshake()
    up = b"--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n" + EICAR + b"\r\n--b--\r\n"
    c.send(True, b"POST /upload HTTP/1.1\r\nHost: hmi\r\nContent-Type: multipart/form-data; "
           b"boundary=b\r\nContent-Length: %d\r\n\r\n" % len(up) + up[:40])
    c.send(True, up[40:])
    c.send(False, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    c.send(True, b"GET /second.bin HTTP/1.1\r\nHost: hmi\r\n\r\n")
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 68\r\n\r\n" + EICAR
    c.send(False, resp[:60])
    c.send(False, resp[60:])
    c.close()
    return c.out


def odd_port():
    c = Tcp(Clock(1700000002.0), [], "10.7.0.5", "10.7.0.6", 41002, 8000)
    c.handshake()
    c.send(True, b"GET /x8000 HTTP/1.1\r\nHost: 10.7.0.6:8000\r\nUser-Agent: Wget/1.21\r\n"
           b"Accept: */*\r\n\r\n")
    c.send(False, b"HTTP/1.1 200 OK\r\nServer: lighttpd\r\nContent-Type: text/plain\r\n"
           b"Content-Length: 68\r\n\r\n" + EICAR[:30])
    c.send(False, EICAR[30:])
    c.close()
    return c.out


def close_delimited():
    c = Tcp(Clock(1700000005.0), [], "10.7.0.7", "10.7.0.8", 41004, 80)
    c.handshake()
    c.send(True, b"GET /close.bin HTTP/1.0\r\nHost: 10.7.0.8\r\n\r\n")
    c.send(False, b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + EICAR)
    c.add(c.pkt(False, "FA"))  # the body ends with the server's FIN
    c.seq[1] += 1
    c.clock.t += 5.0  # the client takes its time to close its side
    c.add(c.pkt(True, "FA"))
    c.seq[0] += 1
    c.add(c.pkt(False, "A"))
    return c.out


def ftp_active():
    # the server opens the data connection from port 20 to the client's PORT
    c = Tcp(Clock(1700000003.0), [], "10.8.0.2", "10.8.0.1", 20, 50123)
    c.handshake()
    c.send(True, EICAR[:33])
    c.send(True, EICAR[33:])
    c.close()
    return c.out


def plain():
    c = Tcp(Clock(1700000004.0), [], "10.9.0.1", "10.9.0.2", 41003, 9999)
    c.handshake()
    c.send(True, b"HELO client.example.org - a plain text protocol on a port of its own\r\n")
    c.send(False, b"welcome\r\n")
    c.send(False, EICAR)
    c.close()
    return c.out


def main():
    out = sys.argv[1]
    wrpcap(out + "/http.pcap", chunked_get() + keep_alive() + odd_port())
    wrpcap(out + "/ftp.pcap", ftp_active())
    wrpcap(out + "/close.pcap", close_delimited())
    wrpcap(out + "/plain.pcap", plain())


if __name__ == "__main__":
    main()
