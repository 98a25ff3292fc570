#!/usr/bin/env python3
"""CANCEL of a pending INVITE, by its own gateway or by another (umd_dialog.sh).

sipcancel.py PORT UMD_PID WHO [CERT1 KEY1 CERT2 KEY2]: gw1 (127.0.0.1) sends an INVITE over UDP,
or over TLS with CERT1 when certificates are given; the CANCEL comes from gw1's own socket
(WHO=gw1) or from gw2 (WHO=gw2: 127.0.0.2 over UDP, or its own TLS connection with CERT2),
copying the INVITE's Via (branch and sent-by), Call-ID, From tag and CSeq number, as sofia-sip's
transaction layer matches a CANCEL (RFC 3261 sections 9.2 and 17.2.3). umd is held with SIGSTOP
while both are sent (the TLS connections are made before), so the CANCEL waits in its socket
with the INVITE still unanswered. Prints "WHO CANCEL code INVITE code"; an answered INVITE is
ACKed and ended with a BYE.
"""
import os
import random
import re
import signal
import socket
import ssl
import sys
import time

port, pid, who = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
TLS = len(sys.argv) > 4
SDP = ("v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


class Peer:
    """A UDP socket, or a TLS connection with a client certificate: send, and read messages."""

    def __init__(self, addr, cert=None, key=None):
        if cert is None:
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.bind((addr, 0))
            self.tls = False
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.load_cert_chain(cert, key)
            self.s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
            self.tls = True
        self.s.settimeout(10)
        self.buf = b""

    def name(self):
        return self.s.getsockname()

    def send(self, data):
        if self.tls:
            self.s.sendall(data)
        else:
            self.s.sendto(data, ("127.0.0.1", port))

    def recv(self):
        if not self.tls:
            return self.s.recv(65535).decode(errors="replace")
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end].decode(errors="replace")
                m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
                total = end + 4 + (int(m.group(1)) if m else 0)
                if len(self.buf) >= total:
                    one, self.buf = self.buf[:total], self.buf[total:]
                    return one.decode(errors="replace")
            d = self.s.recv(65535)
            if not d:
                raise EOFError("connection closed")
            self.buf += d


def msg(method, via, host, ftag, cid, cseq, totag="", body=""):
    return (f"{method} sip:um@127.0.0.1:{port} SIP/2.0\r\nVia: {via}\r\n"
            f"From: <sip:gw@{host}>;tag={ftag}\r\nTo: <sip:um@127.0.0.1>{totag}\r\n"
            f"Call-ID: {cid}\r\nCSeq: {cseq} {method}\r\nContact: <sip:gw@{host}>\r\n"
            "Max-Forwards: 70\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def final(s, method):
    """The first final response to METHOD that S receives: (code, text)."""
    while True:
        d = s.recv()
        code = int(d.split(" ", 2)[1]) if d.startswith("SIP/2.0") else 0
        if code >= 200 and re.search(r"(?im)^CSeq:\s*\d+\s+" + method + r"\s*$", d):
            return code, d


def branch():
    return "z9hG4bK%d" % random.randint(0, 1 << 30)


if TLS:
    gw1 = Peer("127.0.0.1", sys.argv[4], sys.argv[5])
    canceller = gw1 if who == "gw1" else Peer("127.0.0.1", sys.argv[6], sys.argv[7])
else:
    gw1 = Peer("127.0.0.1")
    canceller = gw1 if who == "gw1" else Peer("127.0.0.2")
host, p = gw1.name()[:2]
proto = "TLS" if TLS else "UDP"
cid, ftag = "c%d@test" % random.randint(0, 1 << 30), "f%d" % random.randint(0, 1 << 30)
via = f"SIP/2.0/{proto} {host}:{p};branch={branch()};rport"
os.kill(pid, signal.SIGSTOP)
try:
    gw1.send(msg("INVITE", via, host, ftag, cid, 1, body=SDP))
    time.sleep(0.05)
    canceller.send(msg("CANCEL", via, host, ftag, cid, 1))
    time.sleep(0.05)
finally:
    os.kill(pid, signal.SIGCONT)
if canceller is gw1:
    # One socket gets both answers, in either order.
    codes = {}
    while len(codes) < 2:
        d = gw1.recv()
        code = int(d.split(" ", 2)[1]) if d.startswith("SIP/2.0") else 0
        m = re.search(r"(?im)^CSeq:\s*\d+\s+(\w+)\s*$", d)
        if code >= 200 and m and m.group(1) not in codes:
            codes[m.group(1)] = (code, d)
    (cc, _), (ic, r) = codes["CANCEL"], codes["INVITE"]
else:
    cc, _ = final(canceller, "CANCEL")
    ic, r = final(gw1, "INVITE")
totag = re.search(r"(?im)^(?:to|t):.*(;tag=[^;\s]+)", r).group(1)
gw1.send(msg("ACK", via, host, ftag, cid, 1, totag))
if ic == 200:
    gw1.send(msg("BYE", f"SIP/2.0/{proto} {host}:{p};branch={branch()};rport", host, ftag, cid, 2,
                 totag))
    final(gw1, "BYE")
print(f"{who} CANCEL {cc} INVITE {ic}", flush=True)
