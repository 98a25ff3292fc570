#!/usr/bin/env python3
"""A SIP gateway calling through a proxy (Kamailio in front of a umd pool), stdlib only.

Unlike siptls.py, which talks to umd directly, it keeps the dialog as RFC 3261 says a UAC
behind a record-routing proxy must: ACK and BYE go to the Contact of the 2xx with a Route set
made from its Record-Route (section 12.1.2), on one persistent mutual-TLS connection, as a
gateway keeps one (opened again when it is lost).

  poolcalls.py --host H --port P --cert C --key K calls --count N [--interval S] [--hold S]
                [--out FILE]
      N calls, one every S seconds (each waits for the previous one to end): INVITE with an
      SRTP offer (RTP/SAVP, SDES), ACK, BYE after --hold seconds. Writes one JSON line per
      call to --out (default stdout): {"n", "call_id", "start" (epoch s), "status" (final
      INVITE status, 0 for none), "setup_ms", "bye" (BYE status, 0 for none), "error"}; then
      "CALLS total T answered A" on stderr.
  poolcalls.py ... media --rtp-port R --media-host ADDR --answer-out FILE --bye-after FILE
      One call whose offer names ADDR:R (where the test's rtp_peer sends and listens): the
      answer's c= address, m= port and a=crypto key go to --answer-out (JSON) once it is up;
      the gateway sends BYE once the --bye-after file exists (or answers umd's BYE). Prints
      "MEDIA status S bye B".

Common: --to-user (1001), --from-user (gw), --timeout (10), --max (seconds any command may
run, default 240). Every read has a deadline: it never hangs.
"""
import argparse
import json
import os
import random
import re
import socket
import ssl
import sys
import time

KEY = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
SUITE = "AES_CM_128_HMAC_SHA1_80"


class Conn:
    """One mutual-TLS connection to the proxy and a reader of whole SIP messages."""

    def __init__(self, a):
        self.a = a
        self.s = None
        self.buf = b""

    def open(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the test checks the balancer by its own means
        ctx.load_cert_chain(self.a.cert, self.a.key)
        raw = socket.create_connection((self.a.host, self.a.port), timeout=self.a.timeout)
        self.s = ctx.wrap_socket(raw)
        self.s.settimeout(self.a.timeout)
        self.buf = b""
        self.lhost, self.lport = self.s.getsockname()[:2]

    def close(self):
        if self.s is not None:
            try:
                self.s.close()
            except OSError:
                pass
        self.s = None

    def send(self, data):
        if self.s is None:
            self.open()
        self.s.sendall(data)

    def read(self, timeout):
        deadline = time.time() + timeout
        while True:
            if b"\r\n\r\n" in self.buf:
                head, rest = self.buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)", b"\r\n" + head, re.I)
                cl = int(m.group(1)) if m else 0
                if len(rest) >= cl:
                    self.buf = rest[cl:]
                    return (head + b"\r\n\r\n" + rest[:cl]).decode(errors="replace")
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no SIP message")
            self.s.settimeout(left)
            d = self.s.recv(65535)
            if not d:
                raise EOFError("connection closed")
            self.buf += d


def headers(msg, name):
    out = []
    for line in msg.split("\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        if k.strip().lower() == name:
            out.append(v.strip())
    return out


class Call:
    def __init__(self, a, c, rtp_port=30000, media_host=None):
        self.a, self.c = a, c
        self.callid = "pool%08x@gw" % random.getrandbits(32)
        self.ftag = "%08x" % random.getrandbits(32)
        self.ruri = f"sip:{a.to_user}@{a.host}:{a.port};transport=tls"
        self.rtp_port, self.media_host = rtp_port, media_host
        self.totag = None
        self.route = []
        self.target = None

    def request(self, method, cseq, ruri, body="", routes=()):
        c = self.c
        to = f"<sip:{self.a.to_user}@{self.a.host}>" + (f";tag={self.totag}" if self.totag else "")
        branch = "z9hG4bK%010x" % random.getrandbits(40)
        head = (f"{method} {ruri} SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS {c.lhost}:{c.lport};branch={branch};alias\r\n"
                + "".join(f"Route: {r}\r\n" for r in routes) +
                f"Max-Forwards: 70\r\nFrom: <sip:{self.a.from_user}@gw1.example.test>;tag={self.ftag}\r\n"
                f"To: {to}\r\nCall-ID: {self.callid}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sip:{self.a.from_user}@{c.lhost}:{c.lport};transport=tls>\r\n"
                + ("Content-Type: application/sdp\r\n" if body else "") +
                f"Content-Length: {len(body)}\r\n\r\n{body}")
        return head.encode()

    def final(self, method, timeout):
        """The final answer to our METHOD; umd's in-dialog requests meanwhile are answered."""
        deadline = time.time() + timeout
        while True:
            m = self.c.read(max(0.01, deadline - time.time()))
            first = m.split("\r\n", 1)[0]
            if not first.startswith("SIP/2.0 "):
                self.answer_request(m)
                continue
            cseq = (headers(m, "cseq") or [""])[0]
            if not cseq.endswith(method) or self.callid not in (headers(m, "call-id") + headers(m, "i")):
                continue  # a late answer to an earlier call
            code = int(first.split()[1])
            if code >= 200:
                return code, m

    def answer_request(self, m):
        first = m.split("\r\n", 1)[0]
        keep = [l for l in m.split("\r\n")[1:]
                if l.split(":")[0].strip().lower() in ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")]
        self.c.send(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode())
        return first

    def offer(self):
        mh = self.media_host or self.c.lhost
        return (f"v=0\r\no=gw 1 1 IN IP4 {mh}\r\ns=-\r\nc=IN IP4 {mh}\r\nt=0 0\r\n"
                f"m=audio {self.rtp_port} RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
                f"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
                f"a=crypto:1 {SUITE} inline:{KEY}\r\n")

    def invite(self):
        self.c.send(self.request("INVITE", 1, self.ruri, self.offer()))
        code, m = self.final("INVITE", self.a.timeout)
        if code // 100 == 2:
            self.totag = re.search(r";\s*tag=([^;>\s]+)", (headers(m, "to") + headers(m, "t"))[0]).group(1)
            # section 12.1.2: the Route set is the Record-Route of the 2xx, reversed
            rr = []
            for v in headers(m, "record-route"):
                rr += [x.strip() for x in v.split(",")]
            self.route = list(reversed(rr))
            ct = (headers(m, "contact") + headers(m, "m"))[0]
            self.target = re.search(r"<([^>]+)>", ct).group(1) if "<" in ct else ct.split(";")[0]
            self.c.send(self.request("ACK", 1, self.target, routes=self.route))
        return code, m

    def bye(self):
        self.c.send(self.request("BYE", 2, self.target, routes=self.route))
        code, _ = self.final("BYE", self.a.timeout)
        return code


def cmd_calls(a):
    c = Conn(a)
    out = open(a.out, "a") if a.out else sys.stdout
    t0 = time.time()
    answered = 0
    for n in range(a.count):
        when = t0 + n * a.interval
        if time.time() < when:
            time.sleep(when - time.time())
        rec = {"n": n, "start": round(time.time(), 3), "status": 0, "setup_ms": None, "bye": 0, "error": None}
        call = Call(a, c)
        rec["call_id"] = call.callid
        try:
            if c.s is None:
                c.open()
            t = time.time()
            code, _ = call.invite()
            rec["status"] = code
            rec["setup_ms"] = round((time.time() - t) * 1000, 1)
            if code // 100 == 2:
                answered += 1
                time.sleep(a.hold)
                rec["bye"] = call.bye()
        except (OSError, TimeoutError, EOFError, ssl.SSLError, IndexError, AttributeError) as e:
            rec["error"] = "%s: %s" % (type(e).__name__, e)
            c.close()  # a gateway opens a new connection for the next call
        out.write(json.dumps(rec) + "\n")
        out.flush()
        if time.time() - t0 > a.max:
            break
    print("CALLS total %d answered %d" % (a.count, answered), file=sys.stderr)
    return 0 if answered == a.count else 1


def cmd_media(a):
    c = Conn(a)
    c.open()
    call = Call(a, c, rtp_port=a.rtp_port, media_host=a.media_host)
    code, m = call.invite()
    bye = 0
    if code // 100 == 2:
        body = m.split("\r\n\r\n", 1)[1]
        addr = re.search(r"^c=IN IP4 (\S+)", body, re.M).group(1)
        port = int(re.search(r"^m=audio (\d+) (\S+)", body, re.M).group(1))
        proto = re.search(r"^m=audio \d+ (\S+)", body, re.M).group(1)
        key = re.search(r"^a=crypto:\d+ (\S+) inline:([^|\s]+)", body, re.M)
        ans = {"address": addr, "port": port, "proto": proto, "call_id": call.callid,
               "suite": key.group(1) if key else None, "key": key.group(2) if key else None,
               "contact": call.target}
        with open(a.answer_out + ".tmp", "w") as fh:
            json.dump(ans, fh)
        os.rename(a.answer_out + ".tmp", a.answer_out)
        deadline = time.time() + a.max
        umd_bye = False
        while not os.path.exists(a.bye_after) and time.time() < deadline:
            try:
                m2 = c.read(0.2)
            except TimeoutError:
                continue
            if m2.startswith("BYE "):
                call.answer_request(m2)
                umd_bye = True
                break
        bye = 200 if umd_bye else call.bye()
    print("MEDIA status %d bye %d" % (code, bye), flush=True)
    return 0 if code == 200 and bye == 200 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--to-user", default="1001")
    ap.add_argument("--from-user", default="gw")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--max", type=float, default=240)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("calls")
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--interval", type=float, default=0.1)
    c.add_argument("--hold", type=float, default=0.05)
    c.add_argument("--out")
    m = sub.add_parser("media")
    m.add_argument("--rtp-port", type=int, required=True)
    m.add_argument("--media-host", required=True)
    m.add_argument("--answer-out", required=True)
    m.add_argument("--bye-after", required=True)
    a = ap.parse_args()
    return cmd_calls(a) if a.cmd == "calls" else cmd_media(a)


if __name__ == "__main__":
    sys.exit(main())
