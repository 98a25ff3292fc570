#!/usr/bin/env python3
"""Sends the same OPTIONS requests to two umd and compares the answers header by header
(stdlib only; umd_options.sh runs it).

  optcompare.py --a PORT --b PORT --transport tls|udp|tcp [--cert C --key K] [--bind ADDR]
                [--dialog] [--only CASE,...] [--show]

umd A answers with the fast path on, umd B with options_fast_path = no (every OPTIONS through
nua). Each case is one request, built the same for both (its Call-ID, tags, branch and CSeq are
the case's own); over TLS and TCP all cases of a run share one connection per umd, as a gateway's
keep-alives do. --dialog adds a case that places a call first (INVITE with SDP, ACK) and sends
the OPTIONS inside its dialog, then BYE.

Normalized before comparing, and why:
  - umd's port (A's or B's) becomes UPORT and the client's own port CPORT: the two umd listen on
    different ports, and so each connection has its own local port (Contact, Via's rport).
  - a To tag the request did not carry becomes TAG: nua and nta draw it at random for every
    answer outside a dialog (RFC 3261 section 8.2.6.2). A tag the request carried is kept.
  - three requests sent in one write (pipelined) are answered in any order across them: their
    answers are compared in CSeq order.
  - in the dialog case, the dialog's To tag (umd's, random per call) becomes DIALOGTAG.
  - the delay of a Timestamp answer (RFC 3261 section 8.2.6.1: how long umd took) becomes
    DELAY; the request's own value is kept.
Nothing else is touched: status line, reason phrase, header names (and their order), values,
the body.

Output: one line per case, "same CASE STATUS" or "DIFF CASE" followed by both answers; --show
prints every answer. Exit 0 when every case is the same, 1 when one differs, 3 when a case
got no answer from one umd.
"""
import argparse
import os
import socket
import ssl
import sys
import time
import urllib.request

# The cases the TLS fast path answers (optfast.h), and how many answers each is; every other
# case must reach sofia-sip. Checked against umd A's umd_sip_options_fast_total with --metrics-a.
FAST = {"plain": 1, "no-user": 1, "other-scheme": 1, "max-forwards-0": 1, "accept-sdp": 1,
        "accept-unknown": 1, "accept-several": 1, "supported": 1, "allow": 1, "user-agent": 1,
        "via-rport": 1, "display-name": 1, "cseq-large": 1, "header-order": 1, "to-params": 1,
        "pipelined": 3, "pipelined-mixed": 1}


# The cases sofia-sip answers by closing the connection (a stream without Content-Length).
SILENT = {"content-length-missing"}


def fast_count(url):
    if not url:
        return 0
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    return int([ln.split()[1] for ln in text.splitlines()
                if ln.startswith("umd_sip_options_fast_total ")][0])


RUN = "%d-%d" % (os.getpid(), int(time.time()))


def cases(scheme, transport):
    """(name, request-URI, extra header lines, To tag, body, vias) of every case."""
    t = ";transport=tls" if transport == "tls" else ""
    uri = f"{scheme}:um@127.0.0.1:UPORT{t}"
    sdp = ("v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    out = [
        # what the fast path takes
        ("plain", uri, [], None, "", 1),
        ("no-user", f"{scheme}:127.0.0.1:UPORT{t}", [], None, "", 1),
        ("other-scheme", ("sip" if scheme == "sips" else "sips") + ":um@127.0.0.1:UPORT", [],
         None, "", 1),
        ("max-forwards-0", uri, ["Max-Forwards: 0"], None, "", 1),
        ("max-forwards-bad", uri, ["Max-Forwards: many"], None, "", 1),
        ("accept-sdp", uri, ["Accept: application/sdp"], None, "", 1),
        ("accept-unknown", uri, ["Accept: application/x-unknown"], None, "", 1),
        ("accept-several", uri, ["Accept: application/sdp, text/plain;q=0.5"], None, "", 1),
        ("supported", uri, ["Supported: timer, 100rel"], None, "", 1),
        ("allow", uri, ["Allow: INVITE, ACK, BYE, OPTIONS"], None, "", 1),
        ("user-agent", uri, ["User-Agent: gw/1.0"], None, "", 1),
        ("unknown-header", uri, ["X-Gateway: one;two"], None, "", 1),
        ("record-route", uri, ["Record-Route: <sip:proxy.example.test;lr>"], None, "", 1),
        ("two-vias", uri, [], None, "", 2),
        ("via-rport", uri, ["VIA-RPORT"], None, "", 1),
        ("display-name", uri, ["FROM-DISPLAY"], None, "", 1),
        ("compact", uri, ["COMPACT"], None, "", 1),
        ("spacing", uri, ["SPACING"], None, "", 1),
        ("body-sdp", uri, ["Content-Type: application/sdp"], None, sdp, 1),
        ("cseq-large", uri, ["CSEQ 4294967295"], None, "", 1),
        ("header-order", uri, ["ORDER"], None, "", 1),
        ("via-host-name", uri, ["VIA-NAME"], None, "", 1),
        ("via-received", uri, ["VIA-RECEIVED"], None, "", 1),
        ("lowercase-names", uri, ["LOWER"], None, "", 1),
        ("to-params", uri, ["TO-PARAMS"], None, "", 1),
        ("escaped-uri", uri, ["ESCAPED"], None, "", 1),
        ("pipelined", uri, ["PIPELINE"], None, "", 1),
        ("pipelined-mixed", uri, ["PIPELINE", "MIXED"], None, "", 1),
        # what it must leave to nua (or nta)
        ("to-tag", uri, [], "nosuchdialog", "", 1),
        ("require", uri, ["Require: 100rel"], None, "", 1),
        ("require-timer", uri, ["Require: timer"], None, "", 1),
        ("proxy-require", uri, ["Proxy-Require: foo"], None, "", 1),
        ("timestamp", uri, ["Timestamp: 54"], None, "", 1),
        ("outbound-probe", uri, ["Accept: application/vnd.nokia-register-usage"], None, "", 1),
        ("tel-uri", "tel:+15551234", [], None, "", 1),
        ("cseq-method-mismatch", uri, ["CSEQ-INVITE"], None, "", 1),
        ("content-length-missing", uri, ["NO-CONTENT-LENGTH"], None, "", 1),
        ("no-call-id", uri, ["NO-CALL-ID"], None, "", 1),
    ]
    if transport == "udp":
        # one message a datagram (RFC 3261 section 18.1.1)
        out = [c for c in out if not c[0].startswith("pipelined")]
    return out


class Peer:
    """One umd: a connection (TLS, TCP) or a socket (UDP) and a reader of SIP messages."""

    def __init__(self, a, port):
        self.a, self.port, self.buf = a, port, b""
        if a.transport == "udp":
            self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.s.bind((a.bind, 0))
        else:
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.bind((a.bind, 0))
            raw.settimeout(a.timeout)
            raw.connect(("127.0.0.1", port))
            if a.transport == "tls":
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                ctx.load_cert_chain(a.cert, a.key)
                raw = ctx.wrap_socket(raw)
            self.s = raw
        self.s.settimeout(a.timeout)
        self.lport = self.s.getsockname()[1]

    def send(self, data):
        if self.a.transport == "udp":
            self.s.sendto(data, ("127.0.0.1", self.port))
        else:
            self.s.sendall(data)

    def read(self):
        deadline = time.time() + self.a.timeout
        if self.a.transport == "udp":
            while True:
                self.s.settimeout(max(0.1, deadline - time.time()))
                d, _ = self.s.recvfrom(65535)
                return d.decode(errors="replace")
        while b"\r\n\r\n" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no SIP message")
            d = self.s.recv(65535)
            if not d:
                raise EOFError("connection closed")
            self.buf += d
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        cl = 0
        for line in head.split(b"\r\n"):
            n = line.split(b":", 1)[0].strip().lower()
            if n in (b"content-length", b"l"):
                cl = int(line.split(b":", 1)[1])
        while len(rest) < cl:
            rest += self.s.recv(65535)
        self.buf = rest[cl:]
        return (head + b"\r\n\r\n" + rest[:cl]).decode(errors="replace")

    def final(self):
        """The final answer (provisional ones are part of it: nua sends 100 before some)."""
        got = []
        while True:
            r = self.read()
            got.append(r)
            if not r.startswith("SIP/2.0 1"):
                return got


def request(peer, name, method, ruri, extra, totag, body, vias, cseq, callid=None, fromtag=None):
    a, p = peer.a, peer
    proto = a.transport.upper()
    ruri = ruri.replace("UPORT", str(p.port))
    # one run's Call-IDs are its own: nta would take a repeated one for a merged request (482)
    callid = callid or f"optcompare-{name}-{RUN}@gw1.example.test"
    fromtag = fromtag or f"ft-{name}"
    branch = f"z9hG4bK-{name}-{cseq}"
    via = f"Via: SIP/2.0/{proto} 127.0.0.1:{p.lport};branch={branch}"
    if "VIA-RPORT" in extra:
        via += ";rport"
    if "VIA-NAME" in extra:
        via = via.replace("127.0.0.1:", "gw1.example.test:")
    if "VIA-RECEIVED" in extra:
        via += ";received=192.0.2.1"
    lines = []
    if vias == 2:
        # as a proxy in front of umd would: its own Via on top, the gateway's below
        lines.append(f"Via: SIP/2.0/{proto} 127.0.0.1:{p.lport};branch={branch}-proxy")
        via = f"Via: SIP/2.0/{proto} 192.0.2.10:5061;branch={branch}-gw;received=192.0.2.10"
    lines.append(via)
    scheme = "sips" if a.transport == "tls" else "sip"
    frm = f"<{scheme}:gw@gw1.example.test>;tag={fromtag}"
    if "FROM-DISPLAY" in extra:
        frm = f"\"Gateway One\" {frm}"
    to = f"<{scheme}:um@um1.example.test>" + (f";tag={totag}" if totag else "")
    if "TO-PARAMS" in extra:
        to += ";x-param=1"
    if "ESCAPED" in extra:
        frm = frm.replace("gw@", "g%77@")
    cs = f"{cseq} {method}"
    if "CSEQ-INVITE" in extra:
        cs = f"{cseq} INVITE"
    for e in extra:
        if e.startswith("CSEQ "):
            cs = f"{e.split()[1]} {method}"
    if "COMPACT" in extra:
        lines += [f"f: {frm}", f"t: {to}", f"i: {callid}", f"CSeq: {cs}", "Max-Forwards: 70"]
    elif "ORDER" in extra:
        lines = [f"Call-ID: {callid}", f"CSeq: {cs}", f"To: {to}"] + lines + [
            f"From: {frm}", "Max-Forwards: 70"]
    elif "LOWER" in extra:
        lines = [ln.replace("Via:", "via:") for ln in lines]
        lines += [f"from: {frm}", f"to: {to}", f"call-id: {callid}", f"cseq: {cs}",
                  "max-forwards: 70"]
    elif "SPACING" in extra:
        lines += [f"From:{frm}", f"To :  {to}", f"Call-ID:\t{callid}", f"CSeq:  {cs}",
                  "Max-Forwards:70"]
    else:
        lines += [f"From: {frm}", f"To: {to}"]
        if "NO-CALL-ID" not in extra:
            lines.append(f"Call-ID: {callid}")
        lines.append(f"CSeq: {cs}")
        if not any(e.startswith("Max-Forwards") for e in extra):
            lines.append("Max-Forwards: 70")
    lines.append(f"Contact: <{scheme}:gw@127.0.0.1:{p.lport}" +
                 (";transport=tls>" if a.transport == "tls" else
                  ";transport=tcp>" if a.transport == "tcp" else ">"))
    lines += [e for e in extra if ":" in e and not e.startswith("CSEQ")]
    clen = "l" if "COMPACT" in extra else "Content-Length"
    if "NO-CONTENT-LENGTH" not in extra:
        lines.append(f"{clen}: {len(body.encode())}")
    return (f"{method} {ruri} SIP/2.0\r\n" + "\r\n".join(lines) + "\r\n\r\n" + body).encode()


def normalize(answer, peer, req_totag, dialog_tag=None):
    head, _, body = answer.partition("\r\n\r\n")
    lines = head.split("\r\n")
    out = [lines[0]]
    for ln in lines[1:]:
        n, _, v = ln.partition(":")
        v = v.replace(str(peer.port), "UPORT").replace(str(peer.lport), "CPORT")
        if n.strip().lower() == "timestamp":
            # RFC 3261 section 8.2.6.1: the request's value, then how long the answer took
            v = " ".join(v.split()[:1] + ["DELAY"] * (len(v.split()) > 1))
        if n.strip().lower() in ("to", "t") and ";tag=" in v:
            pre, _, tag = v.partition(";tag=")
            tag, sep, post = tag.partition(";")
            if dialog_tag is not None and tag == dialog_tag:
                tag = "DIALOGTAG"
            elif tag != req_totag:
                tag = "TAG"
            v = pre + ";tag=" + tag + sep + post
        out.append(n + ":" + v)
    return out, body.replace(str(peer.port), "UPORT")


def call_and_options(peer):
    """INVITE, ACK, OPTIONS inside the dialog, BYE: the OPTIONS' answers, normalized."""
    a = peer.a
    sdp = ("v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    if a.transport == "tls":
        sdp = sdp.replace("RTP/AVP 0\r\n", "RTP/SAVP 0\r\n") if a.savp else sdp
    scheme = "sips" if a.transport == "tls" else "sip"
    ruri = f"{scheme}:1001@127.0.0.1:UPORT" + (";transport=tls" if a.transport == "tls" else "")
    peer.send(request(peer, "dialog", "INVITE", ruri,
                      ["Content-Type: application/sdp"], None, sdp, 1, 1))
    inv = peer.final()[-1]
    if not inv.startswith("SIP/2.0 200"):
        raise RuntimeError("the call was not answered: " + inv.split("\r\n")[0])
    totag = [ln for ln in inv.split("\r\n") if ln.lower().startswith(("to:", "t:"))][0]
    totag = totag.split("tag=")[1].split(";")[0]
    peer.send(request(peer, "dialog", "ACK", ruri, [], totag, "", 1, 1))
    peer.send(request(peer, "dialog", "OPTIONS", ruri, [], totag, "", 1, 2))
    got = peer.final()
    peer.send(request(peer, "dialog", "BYE", ruri, [], totag, "", 1, 3))
    peer.final()
    return [normalize(r, peer, totag, totag) for r in got]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", type=int, required=True, help="umd with the fast path")
    ap.add_argument("--b", type=int, required=True, help="umd with options_fast_path = no")
    ap.add_argument("--transport", choices=["tls", "udp", "tcp"], required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--dialog", action="store_true")
    ap.add_argument("--savp", action="store_true", help="the dialog's offer is RTP/SAVP")
    ap.add_argument("--only", default="")
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--metrics-a", help="umd A's /metrics URL: check which path each case took")
    ap.add_argument("--metrics-b", help="umd B's /metrics URL: its fast path must answer none")
    a = ap.parse_args()

    scheme = "sips" if a.transport == "tls" else "sip"
    todo = cases(scheme, a.transport)
    if a.only:
        todo = [c for c in todo if c[0] in a.only.split(",")]
    peers = {"A": Peer(a, a.a), "B": Peer(a, a.b)}
    rc = 0
    for n, (name, ruri, extra, totag, body, vias) in enumerate(todo):
        got = {}
        before = fast_count(a.metrics_a)
        for k, p in peers.items():
            try:
                req = request(p, name, "OPTIONS", ruri, extra, totag, body, vias, n + 1)
                if "PIPELINE" in extra:
                    # three keep-alives in one write (one TLS record), as a burst arrives
                    # the second one nua's (Require: 420) when MIXED: the fast path answers the
                    # first and hands the rest of the piece to sofia-sip
                    req2 = request(p, name, "OPTIONS", ruri,
                                   ["Require: 100rel"] if "MIXED" in extra else [], totag, body,
                                   vias, n + 1001)
                    req3 = request(p, name + "-3", "OPTIONS", ruri, [], totag, body, vias,
                                   n + 2001)
                    p.send(req + req2 + req3)
                    got[k] = [normalize(r, p, totag) for r in p.final() + p.final() + p.final()]
                    # answers to different requests may come in any order (nua answers later
                    # than nta): compared by CSeq
                    got[k].sort(key=lambda r: [ln for ln in r[0] if ln.startswith("CSeq")])
                else:
                    p.send(req)
                    got[k] = [normalize(r, p, totag) for r in p.final()]
            except (OSError, TimeoutError, EOFError) as e:
                got[k] = [(["NO ANSWER: %s" % e], "")]
                peers[k] = Peer(a, p.port)  # the next case on a new connection
        rc = report(a, name, got, rc)
        if a.metrics_a:
            want = FAST.get(name, 0) if a.transport == "tls" else 0
            took = fast_count(a.metrics_a) - before
            path = "the fast path" if want else "sofia-sip"
            if took == want:
                print("path", name, path, flush=True)
            else:
                print("WRONGPATH", name, f"expected {path}: fast path answered {took}",
                      flush=True)
                rc = 1 if rc == 0 else rc
    if a.dialog:
        got = {}
        for k, p in peers.items():
            try:
                got[k] = call_and_options(Peer(a, p.port))
            except (OSError, TimeoutError, EOFError, RuntimeError) as e:
                got[k] = [(["NO ANSWER: %s" % e], "")]
        rc = report(a, "in-dialog", got, rc)
    if a.metrics_b and fast_count(a.metrics_b) != 0:
        print("WRONGPATH umd B (options_fast_path = no) answered keep-alives itself", flush=True)
        rc = 1 if rc == 0 else rc
    return rc


def report(a, name, got, rc):
    first = got["A"][-1][0][0]
    if got["A"] == got["B"] and first.startswith("NO ANSWER") and name in SILENT:
        print("same", name, first, flush=True)  # both closed the connection, or both were silent
        return rc
    if any(g[-1][0][0].startswith("NO ANSWER") for g in got.values()):
        print("NOANSWER", name, "A:", got["A"][-1][0][0], "B:", got["B"][-1][0][0], flush=True)
        return 3
    if got["A"] == got["B"]:
        print("same", name, first, flush=True)
        if a.show:
            for r in got["A"]:
                print("\n".join("    " + ln for ln in r[0]))
        return rc
    print("DIFF", name, flush=True)
    for k in ("A", "B"):
        for r in got[k]:
            print(f"  {k}:")
            print("\n".join("    " + ln for ln in r[0]))
            if r[1]:
                print("    body: " + repr(r[1]))
    return 1 if rc == 0 else rc


if __name__ == "__main__":
    sys.exit(main())
