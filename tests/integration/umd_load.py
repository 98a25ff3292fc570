#!/usr/bin/env python3
"""Load and fault generator for umd's load test (tests/integration/umd_load.sh); stdlib only.

Every command talks to one umd on loopback, is bounded in connections, messages and time, and
ends by itself. Output is one "KEY value ..." line per figure, for the shell test to read.

  umd_load.py hold --port P --cert C --key K --count N [--concurrency J] --until FILE
      Opens N mutual-TLS connections (J handshakes at a time), sends OPTIONS on each and reads
      its answer, then holds them all until FILE exists (at most --max seconds) and closes
      them. Prints "HOLD opened N answered A failed F seconds S" once all are open, then
      "HOLD still_open O" (connections umd had not closed) and "HOLD closed".
  umd_load.py keepalive --port P --cert C --key K --until FILE [--interval S]
      One persistent mutual-TLS connection (a well-behaved gateway) sending OPTIONS every S
      seconds until FILE exists (at most --max seconds). Prints "KEEPALIVE sent N ok M
      failed F max_ms X" at the end; "failed" counts answers that were not 200 or took more
      than --deadline seconds, and a connection umd closed.
  umd_load.py malformed --port P --cert C --key K --conns N [--tls|--udp]
      A stream of malformed SIP: over N mutual-TLS connections (each gets the whole set of
      bad messages, then is read until umd answers or closes), or as N rounds of datagrams to
      an unsecured UDP port. Prints "MALFORMED sent M answered A closed C" (answers by status
      class, connections umd closed).
  umd_load.py options --port P [--cert C --key K | --udp] [--retry SECONDS]
      One OPTIONS on a new connection (or datagram); retried for up to SECONDS when there is
      no answer. Prints "OPTIONS 200" (or "OPTIONS none") and exits 0 only for 200.

Common: --host (127.0.0.1), --max (seconds any command may run, default 60).
"""
import argparse
import asyncio
import os
import random
import re
import resource
import socket
import ssl
import sys
import time


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(hard, want)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def tls_context(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # umd's certificate is not what this test is about
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    return ctx


def request(method, host, port, transport="TLS", lport=9, body=b"", extra="", cseq=1):
    callid = "%08x@load" % random.getrandbits(32)
    scheme = "sips" if transport == "TLS" else "sip"
    head = (f"{method} {scheme}:um@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} {host}:{lport};branch=z9hG4bK{random.getrandbits(40):x}\r\n"
            f"Max-Forwards: 70\r\nFrom: <{scheme}:keepalive@gw1.example.test>;tag={random.getrandbits(32):x}\r\n"
            f"To: <{scheme}:um@{host}>\r\nCall-ID: {callid}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <{scheme}:gw@{host}:{lport}>\r\n{extra}Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def read_response(reader, deadline):
    """The next SIP message on a stream: (status or 0, closed)."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), deadline)
    except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
        return 0, True
    except asyncio.LimitOverrunError:
        return 0, False
    except asyncio.TimeoutError:
        return 0, False
    m = re.match(rb"SIP/2\.0 (\d{3}) ", head)
    cl = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)", head, re.I)
    if cl and int(cl.group(1)) > 0:
        try:
            await asyncio.wait_for(reader.readexactly(int(cl.group(1))), deadline)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, asyncio.TimeoutError):
            return (int(m.group(1)) if m else 0), True
    return (int(m.group(1)) if m else 0), False


async def until(path, limit):
    end = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < end:
        await asyncio.sleep(0.1)


async def cmd_hold(a):
    raise_nofile(a.count + 64)
    ctx = tls_context(a)
    sem = asyncio.Semaphore(a.concurrency)
    conns, answered, failed = [], 0, 0
    t0 = time.monotonic()

    async def one():
        nonlocal answered, failed
        async with sem:
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(a.host, a.port, ssl=ctx), 30)
            except (OSError, ssl.SSLError, asyncio.TimeoutError):
                failed += 1
                return
            w.write(request("OPTIONS", a.host, a.port))
            status, closed = await read_response(r, 30)
            if status == 200:
                answered += 1
            if closed:
                failed += 1
                w.close()
                return
            conns.append((r, w))

    await asyncio.gather(*(one() for _ in range(a.count)))
    print("HOLD opened %d answered %d failed %d seconds %.1f"
          % (len(conns), answered, failed, time.monotonic() - t0), flush=True)
    await until(a.until, a.max)
    still = sum(1 for r, _ in conns if not r.at_eof())
    print("HOLD still_open %d" % still, flush=True)
    for _, w in conns:
        w.close()
    for _, w in conns:
        try:
            await asyncio.wait_for(w.wait_closed(), 2)
        except (OSError, ssl.SSLError, asyncio.TimeoutError):
            pass
    print("HOLD closed", flush=True)


async def cmd_keepalive(a):
    ctx = tls_context(a)
    sent = ok = failed = 0
    worst = 0.0
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(a.host, a.port, ssl=ctx), 10)
    except (OSError, ssl.SSLError, asyncio.TimeoutError) as e:
        print("KEEPALIVE sent 0 ok 0 failed 1 max_ms 0 (connect: %s)" % e, flush=True)
        return 1
    end = time.monotonic() + a.max
    seq = 1
    while not os.path.exists(a.until) and time.monotonic() < end:
        t = time.monotonic()
        w.write(request("OPTIONS", a.host, a.port, cseq=seq))
        seq += 1
        sent += 1
        status, closed = await read_response(r, a.deadline)
        dt = time.monotonic() - t
        worst = max(worst, dt)
        if status == 200 and dt <= a.deadline:
            ok += 1
        else:
            failed += 1
        if closed:
            break
        await asyncio.sleep(max(0.0, a.interval - dt))
    w.close()
    print("KEEPALIVE sent %d ok %d failed %d max_ms %d" % (sent, ok, failed, worst * 1000),
          flush=True)
    return 0


def malformed_set(host, port, transport, lport=9):
    """Messages a broken or hostile peer sends: each one alone on the wire."""
    good = request("OPTIONS", host, port, transport, lport)
    sdp_loop = (b"v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                b"m=audio 4002 RTP/SAV IP6 ::1\r\n")
    rnd = random.Random(6)
    msgs = [
        bytes(rnd.getrandbits(8) for _ in range(300)),                   # noise
        b"INVITE\r\n\r\n",                                                # request line only
        b"OPTIONS sip:%%%% SIP/2.0\r\nVia: x\r\n\r\n",                    # bad URI, bad Via
        good.replace(b"Call-ID", b"X-Call-ID"),                           # no Call-ID
        good.replace(b"Via: ", b"V\x00ia: "),                             # NUL in a name
        good.replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"),              # CSeq mismatch
        good.replace(b"Content-Length: 0", b"Content-Length: -5"),
        good.replace(b"Content-Length: 0", b"Content-Length: 99999999999999999999"),
        good.replace(b"Max-Forwards: 70", b"Max-Forwards: " + b"9" * 5000),
        good.replace(b"\r\n\r\n", b"\r\nX-Long: " + b"a" * 60000 + b"\r\n\r\n"),
        good.replace(b"\r\n\r\n", b"\r\n" + b"Via: SIP/2.0/TLS h;branch=z9hG4bKv\r\n" * 2000 + b"\r\n"),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bKr\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:c@d>\r\nCall-ID: r\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",  # a response
        request("INVITE", host, port, transport, lport, body=sdp_loop,
                extra="Content-Type: application/sdp\r\n"),               # sofia's m= line loop
        request("INVITE", host, port, transport, lport, body=b"v=0\r\nm=\xff\xfe\r\n" * 50,
                extra="Content-Type: application/sdp\r\n"),
        request("BYE", host, port, transport, lport),                            # no such dialog
        request("CANCEL", host, port, transport, lport),                         # no such transaction
        b"\r\n" * 100,                                                    # keep-alive CRLFs
    ]
    return msgs


async def cmd_malformed_tls(a):
    raise_nofile(a.conns + 64)
    ctx = tls_context(a)
    sent = closed = 0
    classes = {}
    sem = asyncio.Semaphore(32)

    async def one(i):
        nonlocal sent, closed
        async with sem:
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(a.host, a.port, ssl=ctx), 30)
            except (OSError, ssl.SSLError, asyncio.TimeoutError):
                return
            msgs = malformed_set(a.host, a.port, "TLS")
            # each connection starts at another message: a bad one may end the connection
            for m in msgs[i % len(msgs):] + msgs[:i % len(msgs)]:
                try:
                    w.write(m)
                    await asyncio.wait_for(w.drain(), 10)
                except (OSError, ssl.SSLError, asyncio.TimeoutError):
                    closed += 1
                    return
                sent += 1
                status, gone = await read_response(r, 0.2)
                if status:
                    classes[status // 100] = classes.get(status // 100, 0) + 1
                if gone:
                    closed += 1
                    w.close()
                    return
            w.close()

    await asyncio.gather(*(one(i) for i in range(a.conns)))
    print("MALFORMED sent %d answered %s closed %d"
          % (sent, ",".join("%dxx:%d" % kv for kv in sorted(classes.items())) or "none", closed),
          flush=True)


def cmd_malformed_udp(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.host, 0))
    s.settimeout(0.001)
    msgs = [m[:60000] for m in malformed_set(a.host, a.port, "UDP", s.getsockname()[1])]
    rnd = random.Random(7)
    sent = answered = 0
    classes = {}
    end = time.monotonic() + a.max
    for i in range(a.conns):
        for m in msgs + [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 1400)))]:
            try:
                s.sendto(m, (a.host, a.port))
                sent += 1
            except OSError:
                pass
        # drain answers now and then; a full socket buffer only drops datagrams
        while True:
            try:
                d = s.recv(65535)
            except (socket.timeout, BlockingIOError, OSError):
                break
            m = re.match(rb"SIP/2\.0 (\d{3}) ", d)
            if m:
                answered += 1
                classes[int(m.group(1)) // 100] = classes.get(int(m.group(1)) // 100, 0) + 1
        time.sleep(0.002)
        if time.monotonic() > end:
            break
    print("MALFORMED sent %d answered %s closed 0"
          % (sent, ",".join("%dxx:%d" % kv for kv in sorted(classes.items())) or "none"),
          flush=True)


def options_once(a):
    if a.udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.host, 0))
        s.settimeout(2)
        s.sendto(request("OPTIONS", a.host, a.port, "UDP", s.getsockname()[1]), (a.host, a.port))
        try:
            while True:
                d = s.recv(65535)
                m = re.match(rb"SIP/2\.0 (\d{3}) ", d)
                if m and int(m.group(1)) >= 200:
                    return int(m.group(1))
        except OSError:
            return 0
    ctx = tls_context(a)
    try:
        raw = socket.create_connection((a.host, a.port), timeout=3)
        s = ctx.wrap_socket(raw)
        s.settimeout(3)
        s.sendall(request("OPTIONS", a.host, a.port))
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(65535)
            if not d:
                return 0
            buf += d
        s.close()
        m = re.match(rb"SIP/2\.0 (\d{3}) ", buf)
        return int(m.group(1)) if m else 0
    except (OSError, ssl.SSLError):
        return 0


def cmd_options(a):
    end = time.monotonic() + a.retry
    while True:
        st = options_once(a)
        if st or time.monotonic() >= end:
            break
        time.sleep(0.5)
    print("OPTIONS %s" % (st or "none"), flush=True)
    return 0 if st == 200 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["hold", "keepalive", "malformed", "options"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--conns", type=int, default=10)
    ap.add_argument("--until", default="/nonexistent")
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--deadline", type=float, default=5)
    ap.add_argument("--retry", type=float, default=0)
    ap.add_argument("--udp", action="store_true")
    ap.add_argument("--max", type=float, default=60)
    a = ap.parse_args()
    if a.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("loopback only")
    if a.cmd == "hold":
        return asyncio.run(cmd_hold(a)) or 0
    if a.cmd == "keepalive":
        return asyncio.run(cmd_keepalive(a)) or 0
    if a.cmd == "malformed":
        if a.udp:
            return cmd_malformed_udp(a) or 0
        return asyncio.run(cmd_malformed_tls(a)) or 0
    return cmd_options(a)


if __name__ == "__main__":
    sys.exit(main())
