#!/usr/bin/env python3
"""A SIP user agent client over TLS with a client certificate, for umd's tests (stdlib only).

  siptls.py --port P --cert C --key K options
  siptls.py --port P --cert C --key K call --sdp avp|savp|none [--hold-until FILE] [--dialog-out F]
  siptls.py --port P --cert C --key K forge METHOD --dialog F

`options` sends OPTIONS and prints the status line, the server certificate's SHA-1
fingerprint and the answer's Allow, Accept, Supported, Unsupported, Contact, User-Agent and To
lines; --header adds a line to the request (repeatable), --max-forwards sets that header's
value, --to-tag puts a tag in its To, and
--again-after FILE sends a second OPTIONS on the same connection once FILE exists (printed the
same way; the exit status is the second answer's). `call` sends INVITE (with an SDP offer over RTP/AVP, or RTP/SAVP with an SDES
a=crypto line, or none), prints every status line, ACKs a 2xx, optionally waits until FILE
exists (so the test can change umd's certificate while the call is up), sends BYE on the same
connection and prints its status; --dialog-out writes the dialog's Call-ID and tags (JSON) once
the call is up. `forge` sends METHOD inside that dialog (another client's) on its own
connection and prints the status (nothing is awaited for ACK). Every read has a deadline: it
never hangs.
"""
import argparse, hashlib, os, random, socket, ssl, sys, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert"); ap.add_argument("--key")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--from-user", default="gw", help="the user part of From")
    ap.add_argument("--to-user", default="um", help="the user part of the Request-URI and To")
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("options")
    o.add_argument("--header", action="append", default=[])
    o.add_argument("--max-forwards", default="70")
    o.add_argument("--to-tag")
    o.add_argument("--again-after")
    o.add_argument("--again-max", type=float, default=30)
    c = sub.add_parser("call")
    c.add_argument("--sdp", choices=["avp", "savp", "none"], default="avp")
    c.add_argument("--hold-until")
    c.add_argument("--hold-max", type=float, default=60)
    c.add_argument("--dialog-out")
    c.add_argument("--bye-cseq", type=int, default=2)
    c.add_argument("--rtp-port", type=int, default=30000)
    c.add_argument("--rtp-host", default="127.0.0.1",
                   help="the address the offer names for the media (c= and o=)")
    c.add_argument("--suite", default="AES_CM_128_HMAC_SHA1_80")
    c.add_argument("--sdes-key", default="WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz")
    c.add_argument("--te", action="store_true", help="offer telephone-event/8000 (101)")
    c.add_argument("--until-bye", type=float, default=0,
                   help="wait this long for umd's BYE (answered 200) instead of sending one")
    f = sub.add_parser("forge")
    f.add_argument("method")
    f.add_argument("--dialog", required=True)
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the tests compare the fingerprint themselves
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s = ctx.wrap_socket(raw)
    s.settimeout(a.timeout)
    der = s.getpeercert(binary_form=True)
    print("server-sha1", hashlib.sha1(der).hexdigest().upper(), flush=True)
    lport = s.getsockname()[1]
    buf = b""

    def read_msg():
        nonlocal buf
        deadline = time.time() + a.timeout
        while b"\r\n\r\n" not in buf:
            if time.time() > deadline:
                raise TimeoutError("no SIP message")
            d = s.recv(65535)
            if not d:
                raise EOFError("connection closed")
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        cl = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length") or line.lower().startswith(b"l:"):
                cl = int(line.split(b":", 1)[1])
        while len(rest) < cl:
            rest += s.recv(65535)
        buf = rest[cl:]
        return (head + b"\r\n\r\n" + rest[:cl]).decode(errors="replace")

    callid = "t%d@test" % random.randint(0, 1 << 30)
    fromtag = "t%d" % os.getpid()
    mf = getattr(a, "max_forwards", "70")
    if a.cmd == "forge":
        import json
        with open(a.dialog) as fh:
            d = json.load(fh)
        callid, fromtag = d["call_id"], d["from_tag"]

    def req(method, cseq, extra="", body="", totag=""):
        return (f"{method} sips:{a.to_user}@{a.host}:{a.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS {a.host}:{lport};branch=z9hG4bK{random.randint(0, 1 << 30)}\r\n"
                f"From: <sips:{a.from_user}@{a.host}>;tag={fromtag}\r\n"
                f"To: <sips:{a.to_user}@{a.host}>{totag}\r\n"
                f"Call-ID: {callid}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sips:gw@{a.host}:{lport};transport=tls>\r\nMax-Forwards: {mf}\r\n"
                f"{extra}Content-Length: {len(body)}\r\n\r\n{body}").encode()

    def final(method):
        while True:
            r = read_msg()
            first = r.split("\r\n")[0]
            print(method, first, flush=True)
            if not first.startswith("SIP/2.0 1"):
                return r, first

    if a.cmd == "options":
        extra = "".join(h + "\r\n" for h in a.header)
        totag = ";tag=" + a.to_tag if a.to_tag else ""

        def options(cseq):
            s.sendall(req("OPTIONS", cseq, extra, totag=totag))
            r, first = final("OPTIONS")
            for line in r.split("\r\n"):
                if line.split(":")[0] in ("Allow", "Accept", "Supported", "Unsupported", "Contact",
                                          "User-Agent", "To"):
                    print(line, flush=True)
            return 0 if " 200 " in first else 1

        rc = options(1)
        if a.again_after:
            deadline = time.time() + a.again_max
            while not os.path.exists(a.again_after) and time.time() < deadline:
                time.sleep(0.1)
            rc = options(2)
        return rc

    if a.cmd == "forge":
        # A request inside another client's dialog (its Call-ID and tags), on this connection.
        s.sendall(req(a.method, 10, totag=";tag=" + d["to_tag"]))
        if a.method == "ACK":
            return 0
        r, first = final(a.method)
        return 0 if " 200 " in first else 1

    sdp = ""
    if a.sdp != "none":
        proto = "RTP/SAVP" if a.sdp == "savp" else "RTP/AVP"
        crypto = (f"a=crypto:1 {a.suite} inline:{a.sdes_key}\r\n" if a.sdp == "savp" else "")
        te = " 101" if a.te else ""
        temap = "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" if a.te else ""
        sdp = (f"v=0\r\no=gw 1 1 IN IP4 {a.rtp_host}\r\ns=-\r\nc=IN IP4 {a.rtp_host}\r\nt=0 0\r\n"
               f"m=audio {a.rtp_port} {proto} 0{te}\r\na=rtpmap:0 PCMU/8000\r\n{temap}{crypto}")
    s.sendall(req("INVITE", 1, "Content-Type: application/sdp\r\n" if sdp else "", sdp))
    r, first = final("INVITE")
    for line in r.split("\r\n"):
        if line.startswith(("m=", "a=crypto", "Warning", "Contact")):
            print(line)
    if " 200 " not in first:
        return 0
    totag = ";tag=" + [l for l in r.split("\r\n") if l.lower().startswith("to:")][0].split("tag=")[1]
    s.sendall(req("ACK", 1, totag=totag))
    if a.dialog_out:
        import json
        with open(a.dialog_out + ".tmp", "w") as fh:
            json.dump({"call_id": callid, "from_tag": fromtag, "to_tag": totag.split("=", 1)[1]}, fh)
        os.rename(a.dialog_out + ".tmp", a.dialog_out)
    if a.hold_until:
        deadline = time.time() + a.hold_max
        while not os.path.exists(a.hold_until) and time.time() < deadline:
            time.sleep(0.1)
    if a.until_bye:
        # umd ends the call: answer its BYE with 200 (the request's own Via, tags, CSeq).
        s.settimeout(a.until_bye)
        r = read_msg()
        first = r.split("\r\n")[0]
        if first.startswith("BYE "):
            hdrs = [l for l in r.split("\r\n")
                    if l.split(":")[0].strip().lower() in ("via", "v", "from", "f", "to", "t",
                                                             "call-id", "i", "cseq")]
            s.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(hdrs) +
                       "\r\nContent-Length: 0\r\n\r\n").encode())
            print("RECEIVED BYE", flush=True)
        else:
            print("UNEXPECTED", first, flush=True)
        return 0
    s.sendall(req("BYE", a.bye_cseq, totag=totag))
    final("BYE")
    return 0

if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a refused handshake is an answer the tests look for
        print("error", type(e).__name__, e, flush=True)
        sys.exit(3)
