#!/usr/bin/env python3
"""A tiny SIP UAS for the integration tests (stdlib only): a stand-in for umd when the harness
tests itself, and a peer for tests that need a SIP/TLS server.

    sipresponder.py --tls-port P --cert FILE --key FILE [--ca FILE] [options]
    sipresponder.py --udp-port P [--tcp-port P] [options]          (no TLS: unsecured mode)

It answers OPTIONS 200 (Allow/Accept/Supported), INVITE 100 then 200 with an SDP answer (or
--invite-code), BYE and CANCEL 200, ACK nothing, anything else 405. 2xx to INVITE copy the
Record-Route set, so in-dialog requests follow a proxy's path.

TLS (--tls-port): TLS 1.2 minimum, ECDHE+AEAD ciphers only for TLS 1.2, no compression, no
renegotiation; a client certificate is required and verified against --ca unless
--no-require-cert; with --peer-name NAME the client certificate must name NAME (SAN DNS or CN),
else the connection is dropped. --legacy allows TLS 1.0+ and every cipher (SECLEVEL=0), to show
that a probe can tell the two policies apart. A handshake not finished in --handshake-timeout
seconds is dropped.

One line per event on stdout (flushed), for tests to grep:
    LISTEN tls 127.0.0.1:P | LISTEN udp ... | LISTEN tcp ...
    HANDSHAKE-OK peer=H:P version=TLSv1.3 cipher=NAME subject=CN=... sni=NAME|-
    HANDSHAKE-FAIL peer=H:P reason=...
    PEER-REJECTED peer=H:P reason=...
    REQUEST METHOD proto=tls|udp|tcp peer=H:P subject=CN=... ruri=URI
    RESPONSE CODE METHOD proto=... peer=...
    MALFORMED proto=... peer=... first=...
    CLOSED peer=H:P
SIGTERM/SIGINT stop it (exit 0).
"""
import argparse
import base64
import os
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
import warnings

LOCK = threading.Lock()
SSL_OP_ALLOW_CLIENT_RENEGOTIATION = 0x100  # OpenSSL 3's SSL_OP_BIT(8); not exported by Python


def log(line):
    with LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type", "k": "supported", "s": "subject", "e": "content-encoding"}


def parse_message(data):
    """data: bytes of one message (headers + body). Returns (first_line, [(name, value)], body)
    or raises ValueError."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "strict").split("\r\n")
    first = lines[0]
    headers = []
    for ln in lines[1:]:
        if ln[:1] in (" ", "\t") and headers:  # folded line
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + ln.strip())
            continue
        name, sep, value = ln.partition(":")
        if not sep or not name.strip():
            raise ValueError("bad header line")
        n = name.strip().lower()
        headers.append((COMPACT.get(n, n), value.strip()))
    return first, headers, body


def hdr(headers, name):
    for n, v in headers:
        if n == name:
            return v
    return None


def hdrs(headers, name):
    return [v for n, v in headers if n == name]


def sdp_answer(offer, host):
    proto = "RTP/AVP"
    crypto = None
    for ln in offer.decode("utf-8", "replace").splitlines():
        if ln.startswith("m=audio"):
            parts = ln.split()
            if len(parts) > 2:
                proto = parts[2]
        if ln.startswith("a=crypto:"):
            crypto = ln
    sid = str(int(time.time()))
    lines = ["v=0", "o=responder %s 1 IN IP4 %s" % (sid, host), "s=sipresponder",
             "c=IN IP4 %s" % host, "t=0 0", "m=audio 40002 %s 0" % proto, "a=rtpmap:0 PCMU/8000"]
    if crypto:
        key = base64.b64encode(os.urandom(30)).decode()
        lines.append("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s" % key)
    lines.append("a=sendrecv")
    return ("\r\n".join(lines) + "\r\n").encode()


class Responder:
    def __init__(self, args):
        self.args = args
        self.stop = threading.Event()

    def respond(self, first, headers, body, proto, peer, contact_port, subject):
        """Returns a list of response byte strings for one request (maybe empty)."""
        parts = first.split(" ")
        if len(parts) != 3 or not parts[2].startswith("SIP/2.0"):
            raise ValueError("bad request line")
        method, ruri = parts[0], parts[1]
        log("REQUEST %s proto=%s peer=%s:%d subject=%s ruri=%s" % (method, proto, peer[0], peer[1], subject or "-", ruri))
        if method == "ACK":
            return []
        for need in ("via", "from", "to", "call-id", "cseq"):
            if hdr(headers, need) is None:
                raise ValueError("missing " + need)
        to = hdr(headers, "to")
        if ";tag=" not in to:
            to += ";tag=" + uuid.uuid4().hex[:10]
        out = []

        def build(code, reason, extra=(), content=b"", ctype=None):
            lines = ["SIP/2.0 %d %s" % (code, reason)]
            lines += ["Via: " + v for v in hdrs(headers, "via")]
            lines += ["From: " + hdr(headers, "from"), "To: " + (to if code > 100 else hdr(headers, "to")),
                      "Call-ID: " + hdr(headers, "call-id"), "CSeq: " + hdr(headers, "cseq"),
                      "Server: umedge-sipresponder"]
            lines += list(extra)
            if ctype:
                lines.append("Content-Type: " + ctype)
            lines.append("Content-Length: %d" % len(content))
            log("RESPONSE %d %s proto=%s peer=%s:%d" % (code, method, proto, peer[0], peer[1]))
            return ("\r\n".join(lines) + "\r\n\r\n").encode() + content

        tparam = ";transport=tls" if proto == "tls" else (";transport=tcp" if proto == "tcp" else "")
        contact = "Contact: <sip:um@%s:%d%s>" % (self.args.host, contact_port, tparam)
        if method == "OPTIONS":
            out.append(build(200, "OK", ["Allow: INVITE, ACK, CANCEL, BYE, OPTIONS",
                                         "Accept: application/sdp", "Supported: ", contact]))
        elif method == "INVITE":
            out.append(build(100, "Trying"))
            code = self.args.invite_code
            if code == 200:
                rr = ["Record-Route: " + v for v in hdrs(headers, "record-route")]
                out.append(build(200, "OK", rr + [contact], sdp_answer(body, self.args.host), "application/sdp"))
            else:
                out.append(build(code, "Refused"))
        elif method in ("BYE", "CANCEL"):
            out.append(build(200, "OK"))
        else:
            out.append(build(405, "Method Not Allowed", ["Allow: INVITE, ACK, CANCEL, BYE, OPTIONS"]))
        return out

    # --- stream transports (TLS, TCP) -----------------------------------------------------------
    def serve_stream(self, conn, peer, proto, port, subject):
        buf = b""
        conn.settimeout(self.args.idle_timeout)
        try:
            while not self.stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    log("IDLE-TIMEOUT peer=%s:%d" % peer)
                    break
                if not chunk:
                    break
                buf += chunk
                while True:
                    stripped = buf.lstrip(b"\r\n")
                    if len(stripped) != len(buf):  # CRLF keep-alives (RFC 5626): pong
                        if buf.startswith(b"\r\n\r\n"):
                            conn.sendall(b"\r\n")
                        buf = stripped
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        if len(buf) > 65536:
                            raise ValueError("header too long")
                        break
                    head = buf[:end].decode("utf-8", "replace").split("\r\n")
                    clen = 0
                    for ln in head[1:]:
                        n, _, v = ln.partition(":")
                        if n.strip().lower() in ("content-length", "l"):
                            clen = int(v.strip())
                    if len(buf) < end + 4 + clen:
                        break
                    msg, buf = buf[:end + 4 + clen], buf[end + 4 + clen:]
                    first, headers, body = parse_message(msg)
                    if first.startswith("SIP/2.0 "):
                        continue  # a response (to nothing we sent): ignore
                    for r in self.respond(first, headers, body, proto, peer, port, subject):
                        conn.sendall(r)
        except (ValueError, UnicodeDecodeError) as e:
            log("MALFORMED proto=%s peer=%s:%d first=%r reason=%s" % (proto, peer[0], peer[1], buf[:40], e))
        except (OSError, ssl.SSLError) as e:
            log("CONN-ERROR peer=%s:%d reason=%s" % (peer[0], peer[1], e))
        finally:
            try:
                conn.close()
            except OSError:
                pass
            log("CLOSED peer=%s:%d" % peer)

    def tls_context(self):
        a = self.args
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        if a.legacy:
            ctx.set_ciphers("DEFAULT@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ssl.TLSVersion.TLSv1
            # OpenSSL 3 refuses client-initiated renegotiation unless asked to allow it
            ctx.options |= SSL_OP_ALLOW_CLIENT_RENEGOTIATION
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL")
            ctx.options |= ssl.OP_NO_RENEGOTIATION
        ctx.options |= ssl.OP_NO_COMPRESSION
        if a.ca:
            ctx.load_verify_locations(a.ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL if a.no_require_cert else ssl.CERT_REQUIRED

        def sni(sslobj, name, _ctx):
            sslobj.sni_name = name  # logged with the handshake

        ctx.sni_callback = sni
        return ctx

    def tls_conn(self, ctx, raw, peer):
        raw.settimeout(self.args.handshake_timeout)
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except socket.timeout:
            log("HANDSHAKE-FAIL peer=%s:%d reason=timeout" % peer)
            raw.close()
            return
        except (ssl.SSLError, OSError) as e:
            log("HANDSHAKE-FAIL peer=%s:%d reason=%s" % (peer[0], peer[1], getattr(e, "reason", None) or e))
            raw.close()
            return
        cert = conn.getpeercert() or {}
        short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
                 "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST"}
        subject = ",".join("%s=%s" % (short.get(k, k), v) for rdn in cert.get("subject", ()) for k, v in rdn) or None
        names = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
        names += [v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName" and v not in names]
        sni = getattr(conn, "sni_name", None)
        log("HANDSHAKE-OK peer=%s:%d version=%s cipher=%s subject=%s sni=%s" %
            (peer[0], peer[1], conn.version(), conn.cipher()[0], subject or "-", sni or "-"))
        if self.args.peer_name and self.args.peer_name not in names:
            log("PEER-REJECTED peer=%s:%d reason=certificate names %s, not %s" %
                (peer[0], peer[1], ",".join(names) or "nothing", self.args.peer_name))
            conn.close()
            return
        self.serve_stream(conn, peer, "tls", self.args.tls_port, subject)

    def accept_loop(self, lsock, handler):
        lsock.settimeout(0.5)
        while not self.stop.is_set():
            try:
                raw, peer = lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            threading.Thread(target=handler, args=(raw, peer), daemon=True).start()

    def udp_loop(self, sock):
        sock.settimeout(0.5)
        while not self.stop.is_set():
            try:
                data, peer = sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data.strip(b"\r\n\0 "):
                continue
            try:
                first, headers, body = parse_message(data)
                if first.startswith("SIP/2.0 "):
                    continue
                for r in self.respond(first, headers, body, "udp", peer, self.args.udp_port, None):
                    sock.sendto(r, peer)
            except (ValueError, UnicodeDecodeError) as e:
                log("MALFORMED proto=udp peer=%s:%d first=%r reason=%s" % (peer[0], peer[1], data[:40], e))

    def run(self):
        a = self.args
        threads = []
        if a.tls_port:
            ctx = self.tls_context()
            s = socket.create_server((a.host, a.tls_port), backlog=512)
            threads.append(threading.Thread(target=self.accept_loop, args=(s, lambda r, p: self.tls_conn(ctx, r, p)), daemon=True))
            log("LISTEN tls %s:%d" % (a.host, a.tls_port))
        if a.tcp_port:
            s = socket.create_server((a.host, a.tcp_port), backlog=512)
            threads.append(threading.Thread(target=self.accept_loop, args=(s, lambda r, p: self.serve_stream(r, p, "tcp", a.tcp_port, None)), daemon=True))
            log("LISTEN tcp %s:%d" % (a.host, a.tcp_port))
        if a.udp_port:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind((a.host, a.udp_port))
            threads.append(threading.Thread(target=self.udp_loop, args=(u,), daemon=True))
            log("LISTEN udp %s:%d" % (a.host, a.udp_port))
        for t in threads:
            t.start()
        while not self.stop.is_set():
            self.stop.wait(0.5)
        log("STOPPED")


def main():
    p = argparse.ArgumentParser(description="tiny SIP responder for umedge tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--tls-port", type=int, default=0)
    p.add_argument("--tcp-port", type=int, default=0)
    p.add_argument("--udp-port", type=int, default=0)
    p.add_argument("--cert", help="PEM: certificate then chain")
    p.add_argument("--key")
    p.add_argument("--ca", help="PEM roots that client certificates must chain to")
    p.add_argument("--no-require-cert", action="store_true")
    p.add_argument("--peer-name", help="the FQDN a client certificate must name")
    p.add_argument("--legacy", action="store_true", help="allow TLS 1.0+ and weak ciphers")
    p.add_argument("--handshake-timeout", type=float, default=5.0)
    p.add_argument("--idle-timeout", type=float, default=120.0)
    p.add_argument("--invite-code", type=int, default=200)
    a = p.parse_args()
    if not (a.tls_port or a.udp_port or a.tcp_port):
        p.error("give --tls-port, --udp-port or --tcp-port")
    if a.tls_port and not (a.cert and a.key):
        p.error("--tls-port needs --cert and --key")
    r = Responder(a)
    signal.signal(signal.SIGTERM, lambda *_: r.stop.set())
    signal.signal(signal.SIGINT, lambda *_: r.stop.set())
    r.run()


if __name__ == "__main__":
    main()
