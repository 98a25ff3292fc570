#!/bin/bash
# Dialog ownership in unsecured mode: a request inside a call's dialog must come from the
# gateway that placed the call (its gateway entry and IP address); anything else gets 403 and
# PeerRejected, and the call goes on. (The secure modes, by certificate: umd_tls.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
export UMEDGE_CA_BUNDLE=""
PORT=$(free_port)
umd_conf "$WORK/umd.conf" unsecured "$PORT" "$WORK/store" "" <<CONF
[gateway gw1]
address = 127.0.0.1

[gateway gw2]
address = 127.0.0.2
CONF
check "umd starts unsecured with gw1 (127.0.0.1) and gw2 (127.0.0.2)" umd_start a "$WORK/umd.conf"

# dialog.py: gw1 calls from 127.0.0.1; requests in its dialog come from ADDR (gw2 or gw1 from
# another port); prints "METHOD CODE" for each, then gw1's own BYE.
python3 - "$PORT" >"$WORK/dialog.txt" 2>&1 <<'PY'
import random, re, socket, sys
port = int(sys.argv[1])
def sock(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, 0)); s.settimeout(5); return s
gw1, gw2, gw1b = sock("127.0.0.1"), sock("127.0.0.2"), sock("127.0.0.1")
cid, ftag = "d%d@test" % random.randint(0, 1 << 30), "f%d" % random.randint(0, 1 << 30)
def req(s, method, cseq, totag="", body=""):
    h, p = s.getsockname()
    m = (f"{method} sip:um@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {h}:{p};branch=z9hG4bK{random.randint(0, 1 << 30)};rport\r\n"
         f"From: <sip:gw@{h}>;tag={ftag}\r\nTo: <sip:um@127.0.0.1>{totag}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {method}\r\n"
         f"Contact: <sip:gw@{h}:{p}>\r\nMax-Forwards: 70\r\n"
         + ("Content-Type: application/sdp\r\n" if body else "") + f"Content-Length: {len(body)}\r\n\r\n{body}")
    s.sendto(m.encode(), ("127.0.0.1", port))
    if method == "ACK":
        return None, ""
    while True:
        d = s.recv(65535).decode(errors="replace")
        code = int(d.split(" ", 2)[1]) if d.startswith("SIP/2.0") else 0
        if code >= 200:
            print(method, code, flush=True)
            return code, d
sdp = "v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
code, r = req(gw1, "INVITE", 1, body=sdp)
totag = ";tag=" + re.search(r"(?im)^(?:to|t):.*;tag=([^;\s]+)", r).group(1)
req(gw1, "ACK", 1, totag)
req(gw2, "BYE", 2, totag)
req(gw2, "INVITE", 3, totag, sdp)
req(gw1b, "OPTIONS", 4, totag)
req(gw1, "BYE", 5, totag)
PY
check "gw1's INVITE: 200" grep -q "^INVITE 200$" "$WORK/dialog.txt"
check "gw2's BYE in gw1's dialog: 403" grep -q "^BYE 403$" "$WORK/dialog.txt"
check "gw2's re-INVITE in gw1's dialog: 403" grep -q "^INVITE 403$" "$WORK/dialog.txt"
check "... PeerRejected names the owner" bash -c "grep '\"event_id\":1021' '$WORK/a.log' | grep -q 'address is not the one gateway gw1 placed the call from'"
check "gw1 from another port, in its own dialog: OPTIONS 200 (the call goes on)" grep -q "^OPTIONS 200$" "$WORK/dialog.txt"
check "gw1's own BYE: 200" grep -q "^BYE 200$" "$WORK/dialog.txt"

# CANCEL is matched by sofia-sip's transaction layer to the INVITE's server transaction, not to
# a dialog's leg: gw2 copies a pending INVITE of gw1's (sipcancel.py holds umd with SIGSTOP so
# the CANCEL waits behind it) and gets 403 with the INVITE left alone; gw1's own still cancels.
python3 "$(dirname "$0")/sipcancel.py" "$PORT" "$UMD_PID_a" gw2 >"$WORK/cancel2.txt" 2>&1
check "gw2's CANCEL of gw1's pending INVITE: 403, the INVITE answered 200" \
	grep -q "^gw2 CANCEL 403 INVITE 200$" "$WORK/cancel2.txt"
check "... PeerRejected for the CANCEL" bash -c "grep '\"event_id\":1021' '$WORK/a.log' | grep -q 'CANCEL'"
python3 "$(dirname "$0")/sipcancel.py" "$PORT" "$UMD_PID_a" gw1 >"$WORK/cancel1.txt" 2>&1
check "gw1's own CANCEL of its pending INVITE: 200, the INVITE 487" \
	grep -q "^gw1 CANCEL 200 INVITE 487$" "$WORK/cancel1.txt"

# While umd stops (SIGTERM with gw1's call up, gw1 not yet answering umd's BYE: nua waits for
# it), a new request gets 503 with Retry-After, which a balancer takes as "another server",
# not the 410 nua's shutdown gives; then gw1 answers the BYE and umd ends.
python3 - "$PORT" "$UMD_PID_a" >"$WORK/stopping.txt" 2>&1 <<'PY'
import os, random, re, signal, socket, sys
port, pid = int(sys.argv[1]), int(sys.argv[2])
def sock(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, 0)); s.settimeout(5); return s
def req(s, method, cid, cseq, totag="", body=""):
    h, p = s.getsockname()
    m = (f"{method} sip:um@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {h}:{p};branch=z9hG4bK{random.randint(0, 1 << 30)};rport\r\n"
         f"From: <sip:gw@{h}>;tag=f{cid.split('@')[0]}\r\nTo: <sip:um@127.0.0.1>{totag}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {method}\r\n"
         f"Contact: <sip:gw@{h}:{p}>\r\nMax-Forwards: 70\r\n"
         + ("Content-Type: application/sdp\r\n" if body else "") + f"Content-Length: {len(body)}\r\n\r\n{body}")
    s.sendto(m.encode(), ("127.0.0.1", port))
    if method == "ACK":
        return None, ""
    while True:
        d = s.recv(65535).decode(errors="replace")
        code = int(d.split(" ", 2)[1]) if d.startswith("SIP/2.0") else 0
        if code >= 200:
            return code, d
sdp = "v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
gw1, gw2 = sock("127.0.0.1"), sock("127.0.0.2")
cid = "s%d@test" % random.randint(0, 1 << 30)
code, r = req(gw1, "INVITE", cid, 1, body=sdp)
totag = ";tag=" + re.search(r"(?im)^(?:to|t):.*;tag=([^;\s]+)", r).group(1)
req(gw1, "ACK", cid, 1, totag)
print("call", code, flush=True)
os.kill(pid, signal.SIGTERM)
bye = gw1.recv(65535).decode(errors="replace")
print("umd sent", bye.split(" ", 1)[0], flush=True)
for method in ("INVITE", "OPTIONS"):
    code, r = req(gw2, method, "n%d@test" % random.randint(0, 1 << 30), 1, body=sdp if method == "INVITE" else "")
    ra = re.search(r"(?im)^Retry-After:\s*(\d+)", r)
    print("stopping", method, code, "retry-after", ra.group(1) if ra else "none", flush=True)
hdrs = [l for l in bye.split("\r\n") if l.split(":")[0].strip().lower() in ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")]
gw1.sendto(("SIP/2.0 200 OK\r\n" + "\r\n".join(hdrs) + "\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", port))
print("bye answered", flush=True)
PY
check "a call is up when umd is told to stop, and umd ends it with BYE" bash -c "grep -q '^call 200$' '$WORK/stopping.txt' && grep -q '^umd sent BYE$' '$WORK/stopping.txt'"
check "while umd stops, a new INVITE gets 503 with Retry-After (not 410)" grep -q "^stopping INVITE 503 retry-after 5$" "$WORK/stopping.txt"
check "... and so does an OPTIONS (a balancer's probe marks it down)" grep -q "^stopping OPTIONS 503 retry-after 5$" "$WORK/stopping.txt"
umd_stop a
expect_eq "umd stops cleanly once the call's BYE is answered" 0 "$UMD_RC"
finish
