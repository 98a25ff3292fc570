#!/usr/bin/env python3
"""A small SIP UAC over UDP for the integration tests (stdlib only). It never hangs: every wait
is bounded by --timeout.

  sipclient.py call --to sip:um@HOST:PORT [--via-port P [--via-host H]] [--sdp avp|savp|none]
                    [--hold SECONDS] [--bye-after-signal FILE] [--signal-timeout S]
                    [--expect CODE] [--expect-bye CODE]
      INVITE (with an SDP offer: RTP/AVP, or RTP/SAVP with an SDES a=crypto line), ACK for a
      2xx (to the Contact, through the Record-Route set), hold the call for --hold seconds,
      then (after FILE exists, when --bye-after-signal is given) BYE.
      --expect: the INVITE's final status (default 200; "none": no answer at all); when the
      call was answered, BYE's final status must be --expect-bye (default 200; "none": not
      checked). A BYE from the far end is answered 200 and fails the check unless
      --expect-bye none.
  sipclient.py options --to sip:HOST:PORT [--via-port P] [--expect CODE]
  sipclient.py raw FILE --to sip:HOST:PORT [--transport udp|tcp] [--expect CODE|none]
      sends FILE's bytes as they are (one datagram, or over one TCP connection) and prints any
      response; --expect none passes when nothing answers within --timeout.

--via-port P (with --via-host, default 127.0.0.1) sends every request to that UDP address
(an outbound proxy, e.g. Kamailio), keeping the Request-URI; without it requests go to the
Request-URI's host and port. Common options: --timeout S (default 10: how long to wait for a
final response), --bind HOST (default 127.0.0.1), --from URI.

Output, one line each: "METHOD SIP/2.0 CODE REASON" per response received, "SDP m=..." and
"SDP a=crypto..." from an answer, "SENT ACK", "RECEIVED BYE" (a request from the far end,
answered 200), "TIMEOUT METHOD", "RESULT ok" or "RESULT mismatch: ...".
Exit: 0 when the final responses match --expect, 1 when they do not, 3 when a request got no
final response (and a response was expected), 2 for a usage error.
"""
import argparse
import base64
import os
import re
import socket
import sys
import time
import uuid

T1, T2 = 0.5, 4.0
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type", "k": "supported"}


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    headers = []
    for ln in lines[1:]:
        if ln[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + ln.strip())
            continue
        n, _, v = ln.partition(":")
        n = n.strip().lower()
        headers.append((COMPACT.get(n, n), v.strip()))
    return lines[0], headers, body


def hget(headers, name):
    for n, v in headers:
        if n == name:
            return v
    return None


def split_list(values):
    """Splits comma-separated name-addr values (Record-Route), respecting <...>."""
    out = []
    for v in values:
        depth, cur = 0, ""
        for ch in v:
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            if ch == "," and depth == 0:
                out.append(cur.strip())
                cur = ""
            else:
                cur += ch
        if cur.strip():
            out.append(cur.strip())
    return out


URI_RE = re.compile(r"sips?:(?:[^@;>?]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?")


def uri_of(nameaddr):
    m = re.search(r"<([^>]*)>", nameaddr)
    return m.group(1) if m else nameaddr.split(";")[0].strip()


def hostport(uri):
    m = URI_RE.search(uri)
    if not m:
        raise ValueError("not a SIP URI: %r" % uri)
    return m.group(1).strip("[]"), int(m.group(2) or 5060)


def sdp_offer(kind, host):
    if kind == "none":
        return b""
    proto = "RTP/SAVP" if kind == "savp" else "RTP/AVP"
    lines = ["v=0", "o=sipclient %d 1 IN IP4 %s" % (int(time.time()), host), "s=umedge test",
             "c=IN IP4 %s" % host, "t=0 0", "m=audio 40000 %s 0 8 101" % proto,
             "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000"]
    if kind == "savp":
        key = base64.b64encode(os.urandom(30)).decode()
        lines.append("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s" % key)
    lines.append("a=sendrecv")
    return ("\r\n".join(lines) + "\r\n").encode()


class UAC:
    def __init__(self, a):
        self.a = a
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((a.bind, 0))
        self.lhost, self.lport = self.sock.getsockname()
        self.callid = uuid.uuid4().hex + "@" + self.lhost
        self.ftag = uuid.uuid4().hex[:10]
        self.from_uri = a.from_uri or "sip:gateway@%s" % self.lhost
        self.contact = "<sip:gateway@%s:%d>" % (self.lhost, self.lport)
        self.proxy = (a.via_host, a.via_port) if a.via_port else None
        self.last_ack = None
        self.route = []
        self.remote_target = None
        self.to_hdr = None
        self.bye_received = False

    def request(self, method, ruri, cseq, to, body=b"", branch=None, route=(), extra=()):
        branch = branch or "z9hG4bK" + uuid.uuid4().hex[:16]
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.lhost, self.lport, branch),
                 "Max-Forwards: 70", "From: <%s>;tag=%s" % (self.from_uri, self.ftag), "To: " + to,
                 "Call-ID: " + self.callid, "CSeq: %d %s" % (cseq, method), "Contact: " + self.contact,
                 "User-Agent: umedge-sipclient"]
        if route:
            lines.append("Route: " + ", ".join(route))
        lines += list(extra)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body, branch

    def answer_request(self, first, headers, peer):
        """A request from the far end (BYE, OPTIONS, re-INVITE...): 200 OK."""
        method = first.split(" ")[0]
        say("RECEIVED %s" % method)
        if method == "BYE":
            self.bye_received = True
        if method == "ACK":
            return
        lines = ["SIP/2.0 200 OK"] + ["Via: " + v for n, v in headers if n == "via"]
        for n in ("from", "to", "call-id", "cseq"):
            v = hget(headers, n)
            if v is not None:
                lines.append("%s: %s" % (n.title() if n != "call-id" else "Call-ID", v))
        lines.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), peer)

    def recv(self, until):
        """One datagram before time `until`, or None."""
        left = until - time.monotonic()
        if left <= 0:
            return None
        self.sock.settimeout(left)
        try:
            data, peer = self.sock.recvfrom(65536)
        except socket.timeout:
            return None
        except OSError:  # e.g. an ICMP port unreachable reported on the socket
            time.sleep(0.05)
            return None
        return data, peer

    def transaction(self, msg, dest, branch, method, invite):
        """Sends msg to dest with timer A/E retransmission; returns the final response
        (first, headers, body) or None after --timeout. Prints every response."""
        start = time.monotonic()
        end = start + self.a.timeout
        interval = T1
        next_tx = start + interval
        provisional = False
        self.sock.sendto(msg, dest)
        while True:
            now = time.monotonic()
            if now >= end:
                say("TIMEOUT %s" % method)
                return None
            quiet = invite and provisional  # RFC 3261 17.1.1.2: a 1xx stops timer A
            got = self.recv(end if quiet else min(end, next_tx))
            if got is None:
                if not quiet and time.monotonic() >= next_tx:
                    self.sock.sendto(msg, dest)
                    if invite:
                        interval *= 2
                    else:  # timer E: doubles up to T2; T2 once a 1xx arrived
                        interval = T2 if provisional else min(interval * 2, T2)
                    next_tx = time.monotonic() + interval
                continue
            data, peer = got
            first, headers, body = parse(data)
            if not first.startswith("SIP/2.0 "):
                self.answer_request(first, headers, peer)
                continue
            via = hget(headers, "via") or ""
            cseq = hget(headers, "cseq") or ""
            if branch not in via or not cseq.endswith(method):
                if cseq.endswith("INVITE") and self.last_ack and first.split(" ")[1].startswith("2"):
                    self.sock.sendto(*self.last_ack)  # a retransmitted 2xx: ACK again
                continue
            say("%s %s" % (method, first))
            code = int(first.split(" ")[1])
            if code < 200:
                provisional = True
                continue
            return first, headers, body, code

    def dest_for(self, ruri):
        if self.route:
            return hostport(uri_of(self.route[0]))
        if self.proxy:
            return self.proxy
        return hostport(ruri)

    def call(self):
        a = self.a
        body = sdp_offer(a.sdp, self.lhost)
        to = "<%s>" % a.to
        msg, branch = self.request("INVITE", a.to, 1, to, body)
        dest = self.proxy or hostport(a.to)
        res = self.transaction(msg, dest, branch, "INVITE", True)
        if res is None:
            if a.expect == "none":
                say("RESULT ok")
                return 0
            return 3
        first, headers, rbody, code = res
        self.to_hdr = hget(headers, "to")
        if code >= 300:
            # ACK for a non-2xx: same branch, hop by hop
            ack = ["ACK %s SIP/2.0" % a.to,
                   "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.lhost, self.lport, branch),
                   "Max-Forwards: 70", "From: <%s>;tag=%s" % (self.from_uri, self.ftag),
                   "To: " + self.to_hdr, "Call-ID: " + self.callid, "CSeq: 1 ACK", "Content-Length: 0"]
            self.sock.sendto(("\r\n".join(ack) + "\r\n\r\n").encode(), dest)
            say("SENT ACK")
            return self.verdict(code, None)
        if code >= 200:
            for ln in rbody.decode("utf-8", "replace").splitlines():
                if ln.startswith("m=") or ln.startswith("a=crypto"):
                    say("SDP " + ln)
        rr = [v for n, v in headers if n == "record-route"]
        self.route = list(reversed(split_list(rr)))
        contact = hget(headers, "contact")
        self.remote_target = uri_of(contact) if contact else a.to
        ack, _ = self.request("ACK", self.remote_target, 1, self.to_hdr, route=self.route)
        adest = self.dest_for(self.remote_target)
        self.last_ack = (ack, adest)
        self.sock.sendto(ack, adest)
        say("SENT ACK")
        # hold: answer retransmitted 2xx and requests from the far end
        hold_end = time.monotonic() + a.hold
        self.pump(hold_end)
        if a.bye_after_signal and not self.bye_received:
            sig_end = time.monotonic() + a.signal_timeout
            while not os.path.exists(a.bye_after_signal) and time.monotonic() < sig_end and not self.bye_received:
                self.pump(time.monotonic() + 0.1)
            if not os.path.exists(a.bye_after_signal):
                say("SIGNAL-TIMEOUT %s" % a.bye_after_signal)
        if self.bye_received:
            return self.verdict(code, None, far_bye=True)
        bye, bbranch = self.request("BYE", self.remote_target, 2, self.to_hdr, route=self.route)
        res = self.transaction(bye, self.dest_for(self.remote_target), bbranch, "BYE", False)
        return self.verdict(code, None if res is None else res[3], bye_sent=True)

    def pump(self, until):
        while True:
            got = self.recv(until)
            if got is None:
                return
            data, peer = got
            first, headers, _ = parse(data)
            if first.startswith("SIP/2.0 "):
                if (hget(headers, "cseq") or "").endswith("INVITE") and self.last_ack:
                    self.sock.sendto(*self.last_ack)
            else:
                self.answer_request(first, headers, peer)

    def verdict(self, code, bye_code, bye_sent=False, far_bye=False):
        a = self.a
        problems = []
        if a.expect != "none" and str(code) != a.expect:
            problems.append("INVITE want %s got %d" % (a.expect, code))
        if bye_sent:
            if bye_code is None:
                if not problems and a.expect_bye != "none":
                    say("RESULT no final response to BYE")
                    return 3
            elif a.expect_bye != "none" and str(bye_code) != a.expect_bye:
                problems.append("BYE want %s got %d" % (a.expect_bye, bye_code))
        if far_bye and a.expect_bye != "none":
            problems.append("the far end sent BYE before we did")
        if problems:
            say("RESULT mismatch: " + "; ".join(problems))
            return 1
        say("RESULT ok")
        return 0

    def options(self):
        a = self.a
        msg, branch = self.request("OPTIONS", a.to, 1, "<%s>" % a.to, extra=["Accept: application/sdp"])
        res = self.transaction(msg, self.proxy or hostport(a.to), branch, "OPTIONS", False)
        if res is None:
            if a.expect == "none":
                say("RESULT ok")
                return 0
            return 3
        code = res[3]
        if a.expect != "none" and str(code) != a.expect:
            say("RESULT mismatch: want %s got %d" % (a.expect, code))
            return 1
        if a.expect == "none":
            say("RESULT mismatch: want no response got %d" % code)
            return 1
        say("RESULT ok")
        return 0


def raw(a):
    data = open(a.file, "rb").read()
    dest = (a.via_host, a.via_port) if a.via_port else hostport(a.to)
    got = []
    end = time.monotonic() + a.timeout
    if a.transport == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.bind, 0))
        s.sendto(data, dest)
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                d, _ = s.recvfrom(65536)
            except socket.timeout:
                break
            got.append(d.split(b"\r\n", 1)[0].decode("utf-8", "replace"))
            if got[-1].startswith("SIP/2.0 ") and not got[-1].startswith("SIP/2.0 1"):
                break
    else:
        try:
            s = socket.create_connection(dest, timeout=a.timeout)
            s.sendall(data)
            buf = b""
            while time.monotonic() < end:
                s.settimeout(max(0.01, end - time.monotonic()))
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    break
                if not d:
                    say("RAW connection closed by peer")
                    break
                buf += d
                if re.search(rb"SIP/2.0 [2-6]\d\d", buf):
                    break
            got = [ln.decode("utf-8", "replace") for ln in buf.split(b"\r\n") if ln.startswith(b"SIP/2.0 ")]
        except OSError as e:
            say("RAW connect failed: %s" % e)
    finals = []
    for g in got:
        say("RAW " + g)
        if g.startswith("SIP/2.0 "):
            finals.append(g.split(" ")[1])
    if not got:
        say("RAW no response")
    if a.expect == "none":
        ok = not finals
    elif a.expect == "any":
        ok = True
    else:
        ok = bool(finals) and finals[-1] == a.expect
    say("RESULT ok" if ok else "RESULT mismatch: want %s got %s" % (a.expect, ",".join(finals) or "nothing"))
    return 0 if ok else 1


def main():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--to", required=True, help="Request-URI, e.g. sip:um@127.0.0.1:5061")
    common.add_argument("--via-port", type=int, help="send to this UDP port (an outbound proxy)")
    common.add_argument("--via-host", default="127.0.0.1")
    common.add_argument("--bind", default="127.0.0.1")
    common.add_argument("--from", dest="from_uri")
    common.add_argument("--timeout", type=float, default=10.0)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("call", parents=[common])
    c.add_argument("--sdp", choices=["avp", "savp", "none"], default="avp")
    c.add_argument("--hold", type=float, default=0.0)
    c.add_argument("--bye-after-signal", metavar="FILE")
    c.add_argument("--signal-timeout", type=float, default=30.0)
    c.add_argument("--expect", default="200")
    c.add_argument("--expect-bye", default="200")
    o = sub.add_parser("options", parents=[common])
    o.add_argument("--expect", default="200")
    r = sub.add_parser("raw", parents=[common])
    r.add_argument("file")
    r.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    r.add_argument("--expect", default="any", help="a status code, none, or any (default)")
    a = p.parse_args()
    try:
        if a.cmd == "raw":
            return raw(a)
        u = UAC(a)
        return u.call() if a.cmd == "call" else u.options()
    except ValueError as e:
        say("ERROR %s" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
