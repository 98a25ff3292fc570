#!/usr/bin/env python3
"""An SMTP client for the hub's tests (tests/integration/postfix.sh), on python3's smtplib.

Sends --count messages over one connection, with STARTTLS (the hub's certificate verified
against --ca and the name --server-name, and a client certificate when --cert is given) or
without it (--plain). Prints one JSON line: {"result": "sent" | "refused" | "error", "stage":
the command that failed (ehlo, starttls, mail, rcpt, data), "code", "text", "sent": messages
accepted, "peer_names": the DNS names of the server's certificate}. Exit status 0 when every
message was accepted, 1 when the server refused one, 2 on any other failure (TLS, network).
"""
import argparse
import email.message
import json
import smtplib
import socket
import ssl
import sys


def peer_names(sock):
    try:
        cert = sock.getpeercert()
    except (AttributeError, ValueError):
        return []
    return [v for k, v in (cert or {}).get("subjectAltName", ()) if k == "DNS"]


def message(args, i):
    m = email.message.EmailMessage()
    m["From"] = args.sender
    m["To"] = ", ".join(args.rcpt)
    m["Subject"] = "%s %d" % (args.subject, i)
    m["Message-ID"] = "<smtptry-%d-%d@%s>" % (i, id(m), args.server_name)
    m.set_content("test message %d\n" % i)
    return m.as_bytes()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--server-name", default="hub.example.test",
                   help="the name the server's certificate must carry")
    p.add_argument("--ca", help="the CA file the server's certificate must chain to")
    p.add_argument("--cert", help="client certificate (PEM)")
    p.add_argument("--key", help="its key")
    p.add_argument("--plain", action="store_true", help="no STARTTLS")
    p.add_argument("--from", dest="sender", default="voicemail@example.test")
    p.add_argument("--rcpt", action="append", required=True)
    p.add_argument("--subject", default="smtptry")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()

    out = {"result": "error", "stage": "connect", "code": None, "text": "", "sent": 0,
           "peer_names": []}
    stage = "connect"
    try:
        s = smtplib.SMTP(args.host, args.port, local_hostname="client.example.test",
                         timeout=args.timeout)
        stage = "ehlo"
        s.ehlo()
        if not args.plain:
            stage = "starttls"
            ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca)
            if args.cert:
                ctx.load_cert_chain(args.cert, args.key)
            # smtplib verifies the name it connected to (an address here): the hub's FQDN is
            # what a submitter checks (umd's hub_fqdn), so that is the name given to TLS.
            s._host = args.server_name
            code, text = s.starttls(context=ctx)
            out["peer_names"] = peer_names(s.sock)
            stage = "ehlo"
            s.ehlo()
        for i in range(args.count):
            stage = "mail"
            s.sendmail(args.sender, args.rcpt, message(args, i))
            out["sent"] += 1
        stage = "quit"
        s.quit()
        out.update(result="sent", stage="done")
    except smtplib.SMTPRecipientsRefused as e:
        code, text = next(iter(e.recipients.values()))
        out.update(result="refused", stage="rcpt", code=code, text=text.decode(errors="replace"))
    except smtplib.SMTPSenderRefused as e:
        out.update(result="refused", stage="mail", code=e.smtp_code,
                   text=e.smtp_error.decode(errors="replace"))
    except smtplib.SMTPDataError as e:
        out.update(result="refused", stage="data", code=e.smtp_code,
                   text=e.smtp_error.decode(errors="replace"))
    except smtplib.SMTPResponseException as e:
        out.update(result="refused", stage=stage, code=e.smtp_code,
                   text=e.smtp_error.decode(errors="replace"))
    except (ssl.SSLError, ssl.CertificateError, smtplib.SMTPException, OSError,
            socket.timeout) as e:
        out.update(result="error", stage=stage, text="%s: %s" % (type(e).__name__, e))
    print(json.dumps(out))
    return {"sent": 0, "refused": 1}.get(out["result"], 2)


if __name__ == "__main__":
    sys.exit(main())
