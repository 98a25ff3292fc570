#!/bin/bash
# re-INVITEs during a recording (RFC 3264 section 8, RFC 4568 section 7.1.4). umd is secured;
# the gateway calls over mutual TLS with SRTP and, while umd records:
#
# 1. baresip puts the call on hold and resumes it (its menu's hold/resume: re-INVITEs offering
#    a=sendonly, then a=sendrecv). baresip 1.0 repeats its a=crypto line (the same key: its
#    srtp module makes one key per stream, modules/srtp/srtp.c media_alloc) and keeps its RTP
#    port, so umd keeps its own key too and the SRTP contexts go on. umd answers each re-INVITE
#    200 with a=recvonly while held and a=sendrecv after; the call stays up, and the message
#    holds the tone before the hold and the tone after it.
# 2. baresip cannot change its port or key in a re-INVITE, so a small UAC here (python3 ssl)
#    does, with rtp_peer as its media: the re-offer names a new RTP port and a new SDES key;
#    umd answers with a new key of its own, sends to the new port, takes the new key, drops
#    packets from the old port with the old key; a later re-offer of plain RTP/AVP (a
#    downgrade) is refused with 488 and the call goes on to '#'.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
. "$(dirname "$0")/baresip.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
SRTP_DECRYPT=${SRTP_DECRYPT:?set SRTP_DECRYPT to tests/tools srtp_decrypt}
RTP_PEER=${RTP_PEER:?set RTP_PEER to tests/tools rtp_peer}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
SUITE=AES_CM_128_HMAC_SHA1_80
audio() { python3 "$D/audio.py" "$@"; }
jqf() { [ -s "$1" ] && jq -e "$2" "$1" >/dev/null; }
# event_has NAME ID FILTER: umd NAME logs (within 5 s) an event ID for which FILTER is true
event_has() {
	for _ in $(seq 50); do
		events "$1" "$2" | jq -e -s "map(select($3)) | length > 0" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "no event $2 with $3; those logged:"
	events "$1" "$2"
	return 1
}
no_tone() { [ -s "$1" ] && ! audio has-tone "$1" "$2" 0.2; }
call_up() { [ "$(baresip_events "$1" CALL_ESTABLISHED | wc -l)" -gt "$(baresip_events "$1" CALL_CLOSED | wc -l)" ]; }
sleep_until() { python3 -c "import time; time.sleep(max(0.0, $1 - time.time()))"; }
# metric NAME: the sum of umd's metric NAME (all labels)
metric() {
	python3 -c "import urllib.request as u; t=u.urlopen('http://127.0.0.1:$HTTP/metrics', timeout=5).read().decode(); print(int(sum(float(l.split()[-1]) for l in t.splitlines() if l.startswith('$1'))))"
}

# sdp_all LOG: every SDP of an INVITE transaction in baresip's SIP trace (-s), in order, one JSON
# object a line: {"msg": "INVITE"|"200", "cseq", "port", "proto", "dir" (the a= direction
# attribute, media or session level; null when absent: sendrecv), "crypto": [{"tag","suite","key"}]}
sdp_all() {
	python3 - "$1" <<'PY'
import json, re, sys
text = re.sub(r"\x1b\[[0-9;]*m", "", open(sys.argv[1], errors="replace").read())
for block in text.split("\n#\n"):
    lines = block.replace("\r", "").split("\n")
    if len(lines) < 3:
        continue
    start = lines[1]
    cseq = next((l for l in lines if l.lower().startswith("cseq:")), "")
    if "INVITE" not in cseq or not (start.startswith("INVITE ") or start.startswith("SIP/2.0 200")):
        continue
    body = "\n".join(lines).split("\n\n", 1)
    if len(body) < 2 or "v=0" not in body[1]:
        continue
    r = {"msg": "INVITE" if start.startswith("INVITE") else "200", "cseq": int(cseq.split()[1]),
         "port": None, "proto": None, "dir": None, "crypto": []}
    for l in body[1].split("\n"):
        m = re.match(r"m=audio (\d+) (\S+)", l)
        if m:
            r["port"], r["proto"] = int(m.group(1)), m.group(2)
        m = re.match(r"a=(sendrecv|sendonly|recvonly|inactive)$", l)
        if m:
            r["dir"] = m.group(1)
        m = re.match(r"a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)", l)
        if m:
            r["crypto"].append({"tag": int(m.group(1)), "suite": m.group(2), "key": m.group(3)})
    print(json.dumps(r))
PY
}

# The gateway's certificate: self-signed, pinned in umd's [gateway gw1].
"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
GWT=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$GWT.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$GWT.key" "$WORK/gw1.key"
mkdir -p "$S-greetings"
audio tone "$S-greetings/default.wav" 440 1

PORT=$(free_port)
HTTP=$(free_port)
MLO=$((20000 + (RANDOM % 40) * 200))
umd_conf "$WORK/umd.conf" secured "$PORT" "$S" "$HTTP" <<CONF
media_ports = $MLO-$((MLO + 199))
media_latching = no
max_message_seconds = 30
silence_seconds = 10

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF
check "umd starts in secured mode" umd_start a "$WORK/umd.conf"
tcpdump -i lo -n -U -w "$WORK/media.pcap" udp portrange "$MLO-$((MLO + 199))" >"$WORK/tcpdump.log" 2>&1 &
TCPDUMP=$!
tcpdump_stop() { [ -n "${TCPDUMP:-}" ] && { kill -INT "$TCPDUMP" 2>/dev/null; wait "$TCPDUMP" 2>/dev/null; TCPDUMP=""; }; return 0; }
cleanup_hooks="$cleanup_hooks tcpdump_stop"
for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.log" && break; sleep 0.1; done

# --- 1. baresip: hold and resume during the recording ---------------------------------------------
# The caller: greeting and beep in silence, 1000 Hz for 2 s, silence (the hold falls in it:
# baresip sends nothing while held), 1500 Hz for 2 s well after the resume, then silence.
# Seconds from the call's start:  2.5-4.5 tone 1   5 hold   ~7 resume   12-14 tone 2   15 '#'
# (baresip acts on a ctrl_tcp command 0.5 s late, more on a busy machine: the test waits for
# each answer, and leaves room.)
audio tone "$WORK/t1.wav" 1000 2 --silence-before 2.5 --silence-after 7.5
audio tone "$WORK/t2.wav" 1500 2 --silence-after 40
python3 -c 'import sys, wave
out = wave.open(sys.argv[1], "wb"); out.setnchannels(1); out.setsampwidth(2); out.setframerate(8000)
for f in sys.argv[2:]:
    w = wave.open(f); out.writeframes(w.readframes(w.getnframes()))
out.close()' "$WORK/caller.wav" "$WORK/t1.wav" "$WORK/t2.wav"
HOLD_AT=5 TONE2_AT=12 DTMF_AT=15

check "baresip starts as gw1 (srtp-mand)" baresip_start gw "$WORK/gwb" "$WORK/gw1.pem" "$WORK/gw1.key" srtp-mand "$WORK/caller.wav"
check "baresip dials umd over TLS" baresip_dial gw "sip:1001@127.0.0.1:$PORT;transport=tls"
check "the call is established" baresip_wait_event gw CALL_ESTABLISHED 10
EST=$(date +%s.%N)
check "SRTP is on (CALL_MENC)" baresip_wait_event gw CALL_MENC 5
CALLID=$(baresip_events gw CALL_ESTABLISHED | tail -1 | jq -r .id)
check "CallAnswered (1030) with $SUITE" event_has a 1030 ".call_id == \"$CALLID\" and .media == \"$SUITE\""

sleep_until "$EST + $HOLD_AT"
check "baresip puts the call on hold (re-INVITE)" baresip_cmd gw hold
check "... answered (CALL_REMOTE_SDP)" baresip_wait_event gw CALL_REMOTE_SDP 5 2
sleep 1
check "the call is still up while held" call_up gw
check "baresip resumes it (re-INVITE)" baresip_cmd gw resume
check "... answered" baresip_wait_event gw CALL_REMOTE_SDP 5 3
RESUMED=$(baresip_events gw CALL_REMOTE_SDP | sed -n 3p | jq -r .time)
check "the resume was answered before the second tone begins" python3 -c "import sys; sys.exit(not $RESUMED < $EST + $TONE2_AT - 0.3)"
sdp_all "$WORK/gw.log" >"$WORK/sdp.jsonl"
# o(N) / a(N): the Nth offer (INVITE) and answer (200 to an INVITE), as JSON
o() { jq -c "select(.msg == \"INVITE\")" "$WORK/sdp.jsonl" | sed -n "${1}p"; }
a() { jq -c "select(.msg == \"200\")" "$WORK/sdp.jsonl" | sed -n "${1}p"; }
o 1 >"$WORK/o1.json"; a 1 >"$WORK/a1.json"
o 2 >"$WORK/o2.json"; a 2 >"$WORK/a2.json"
o 3 >"$WORK/o3.json"; a 3 >"$WORK/a3.json"
echo "# SDP exchanged (offer, answer; by transaction):"
sed 's/^/#   /' "$WORK/sdp.jsonl"
check "three offer/answer exchanges: the INVITE and two re-INVITEs, each answered 200" test "$(jq -c 'select(.msg == "INVITE")' "$WORK/sdp.jsonl" | wc -l) $(jq -c 'select(.msg == "200")' "$WORK/sdp.jsonl" | wc -l)" = "3 3"
check "hold: baresip offered a=sendonly" jqf "$WORK/o2.json" '.dir == "sendonly" and .proto == "RTP/SAVP"'
check "... repeating its a=crypto line (same key, same port)" bash -c "[ \"\$(jq -c '[.port, .crypto]' '$WORK/o2.json')\" = \"\$(jq -c '[.port, .crypto]' '$WORK/o1.json')\" ]"
check "umd answered the hold 200 with a=recvonly" jqf "$WORK/a2.json" '.dir == "recvonly" and .proto == "RTP/SAVP"'
check "... on the same port, with the key it answered first (nothing of the offer's key changed)" bash -c "[ \"\$(jq -c '[.port, .crypto]' '$WORK/a2.json')\" = \"\$(jq -c '[.port, .crypto]' '$WORK/a1.json')\" ]"
check "resume: baresip offered a=sendrecv" jqf "$WORK/o3.json" '.dir == "sendrecv"'
check "umd answered a=sendrecv" jqf "$WORK/a3.json" '.dir == "sendrecv" and .proto == "RTP/SAVP"'
check "... same port and key again" bash -c "[ \"\$(jq -c '[.port, .crypto]' '$WORK/a3.json')\" = \"\$(jq -c '[.port, .crypto]' '$WORK/a1.json')\" ]"
check "the call is still up after the resume" call_up gw

sleep_until "$EST + $DTMF_AT"
check "the call is still up before '#'" call_up gw
check "baresip sends '#'" baresip_dtmf gw "#"
check "umd ends the call on '#'" baresip_wait_event gw CALL_CLOSED 5
check "CallEnded (1031): reason dtmf (not a drop)" event_has a 1031 ".call_id == \"$CALLID\" and .reason == \"dtmf\""
check "no MediaSecurityFailure (1033) for the call" test -z "$(events a 1033)"
check "umd counted no SRTP failure" test "$(metric umd_srtp_failures_total)" = 0
check "baresip decrypted every packet umd sent (no SRTP failure in its log)" bash -c "! grep -q 'srtp: failed to decrypt' '$WORK/gw.log'"
check "VoiceMessageRecorded (1032), not truncated" event_has a 1032 ".truncated == false"
ID=$(events a 1032 | tail -1 | jq -r .id)
M="$S-spool/new/$ID"
check "the message: ID.json for the call" jqf "$M.json" ".call_id == \"$CALLID\" and .media == \"$SUITE\""
check "... holds the 1000 Hz from before the hold (2 s)" audio has-tone "$M.wav" 1000 1.7 --max 2.3
check "... and the 1500 Hz from after the resume (2 s)" audio has-tone "$M.wav" 1500 1.7 --max 2.3
audio analyze "$M.wav" >"$WORK/message.json"
check "... in that order" jqf "$WORK/message.json" '[.segments[] | select(.kind == "tone" and .end - .start > 1) | .hz | round] as $t | ($t | index(1000)) as $a | ($t | index(1500)) as $b | $a != null and $b != null and $a < $b'
HEARD=$(baresip_recording gw dec)
check "baresip heard the greeting" audio has-tone "$HEARD" 440 0.8 --max 1.2
baresip_stop gw

# sent_between PORT T1 T2: how many UDP datagrams the capture holds from PORT between times T1
# and T2 (Unix seconds; python expressions)
sent_between() {
	python3 - "$WORK/media.pcap" "$1" "$2" "$3" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb").read()
port, t1, t2 = int(sys.argv[2]), eval(sys.argv[3]), eval(sys.argv[4])
link = {1: 14, 113: 16, 276: 20}[struct.unpack("<I", f[20:24])[0]]
off, n = 24, 0
while off + 16 <= len(f):
    sec, usec, incl, _ = struct.unpack("<IIII", f[off:off + 16])
    pkt = f[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[link:]
    ihl = (ip[0] & 15) * 4
    if struct.unpack("!H", ip[ihl:ihl + 2])[0] == port and t1 <= sec + usec / 1e6 <= t2:
        n += 1
print(n)
PY
}

# The wire: one SRTP context a direction decrypts the whole call, RTP and RTCP: nothing was
# protected twice under one index after the re-INVITEs (RFC 3711 section 9.1).
tcpdump_stop
UPORT=$(jq -r .port "$WORK/a1.json")
UKEY=$(jq -r '.crypto[0].key' "$WORK/a1.json")
GKEY=$(jq -r '.crypto[0].key' "$WORK/o1.json")
sd() { "$SRTP_DECRYPT" --pcap "$WORK/media.pcap" --suite "$SUITE" "$@"; }
sd --port "$UPORT" --key "$UKEY" >"$WORK/w-umd.json"
check "umd's SRTP: every packet of the call decrypts in one context" jqf "$WORK/w-umd.json" '.decrypted > 400 and .failed == 0 and .ssrcs == 1'
sd --port $((UPORT + 1)) --rtcp --key "$UKEY" >"$WORK/w-umd-rtcp.json"
check "umd's SRTCP: every report authenticates in one context (no index used twice)" jqf "$WORK/w-umd-rtcp.json" '.packets >= 2 and .failed == 0'
sd --port "$UPORT" --dst --key "$GKEY" >"$WORK/w-gw.json"
check "baresip's SRTP to umd: the same" jqf "$WORK/w-gw.json" '.decrypted > 300 and .failed == 0'
# While held umd only receives (its answer said recvonly): no RTP from it between the hold's
# 200 and the resume's, and RTP again after (baresip's CALL_REMOTE_SDP times, the capture's).
HELD=$(baresip_events gw CALL_REMOTE_SDP | sed -n 2p | jq -r .time)
check "umd sent no RTP while the call was held" test "$(sent_between "$UPORT" "$HELD + 0.2" "$RESUMED - 0.2")" = 0
check "... and did in the 2 s before the hold (20 ms packets)" test "$(sent_between "$UPORT" "$HELD - 2" "$HELD")" -ge 90
check "... and in the 2 s after the resume" test "$(sent_between "$UPORT" "$RESUMED + 0.5" "$RESUMED + 2.5")" -ge 90

# --- 2. a re-INVITE with a new port and a new key (a UAC of our own, rtp_peer as its media) ------
# uac DIR OFFER... : INVITE with the first offer, then a re-INVITE with each next one once
# DIR/go.N exists (N = 2, 3, ...); each final response goes to DIR/resp.N (the whole message),
# every one ACKed (a non-2xx's ACK in its INVITE transaction); then it waits for umd's BYE,
# answers it 200 and writes DIR/bye. An OFFER is "PORT PROTO [KEY]": RTP/SAVP with one a=crypto
# line (tag 1, AES_CM_128_HMAC_SHA1_80, KEY), or RTP/AVP; PCMU and telephone-event (101).
uac() {
	python3 - "$PORT" "$WORK/gw1.pem" "$WORK/gw1.key" "$@" <<'PY'
import os, random, socket, ssl, sys, time
port, cert, key, d, offers = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # umd's certificate is not what this part is about
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
s.settimeout(60)
lport = s.getsockname()[1]
buf = b""

def read_msg():
    global buf
    while b"\r\n\r\n" not in buf:
        data = s.recv(65535)
        if not data:
            raise EOFError("connection closed")
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    cl = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith((b"content-length:", b"l:")):
            cl = int(line.split(b":", 1)[1])
    while len(rest) < cl:
        rest += s.recv(65535)
    buf = rest[cl:]
    return (head + b"\r\n\r\n" + rest[:cl]).decode(errors="replace")

def hdr(msg, *names):
    for line in msg.split("\r\n"):
        if line.split(":", 1)[0].strip().lower() in names:
            return line.split(":", 1)[1].strip()
    return ""

def put(name, text):
    with open(os.path.join(d, name + ".tmp"), "w") as fh:
        fh.write(text)
    os.rename(os.path.join(d, name + ".tmp"), os.path.join(d, name))

def answer_request(r):
    # a request of umd's (its BYE): 200 with its Via, From, To, Call-ID, CSeq
    hs = [l for l in r.split("\r\n") if l.split(":")[0].strip().lower() in
          ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")]
    s.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(hs) + "\r\nContent-Length: 0\r\n\r\n").encode())
    if r.startswith("BYE "):
        put("bye", r)
        print("RECEIVED BYE", flush=True)
        sys.exit(0)

callid = "reinv%d@test" % random.randint(0, 1 << 30)
fromtag = "g%d" % os.getpid()
totag = ""

def req(method, cseq, body="", branch=None, to=None):
    branch = branch or "z9hG4bK%d" % random.randint(0, 1 << 30)
    ct = "Content-Type: application/sdp\r\n" if body else ""
    return branch, (f"{method} sips:1001@127.0.0.1:{port} SIP/2.0\r\n"
                    f"Via: SIP/2.0/TLS 127.0.0.1:{lport};branch={branch}\r\n"
                    f"From: <sips:gw1@gw1.example.test>;tag={fromtag}\r\n"
                    f"To: <sips:1001@127.0.0.1:{port}>{totag if to is None else to}\r\n"
                    f"Call-ID: {callid}\r\nCSeq: {cseq} {method}\r\n"
                    f"Contact: <sips:gw1@127.0.0.1:{lport};transport=tls>\r\nMax-Forwards: 70\r\n"
                    f"{ct}Content-Length: {len(body)}\r\n\r\n{body}").encode()

for n, offer in enumerate(offers, 1):
    if n > 1:
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(d, "go.%d" % n)):
            if time.time() > deadline:
                sys.exit("no go.%d" % n)
            time.sleep(0.05)
    f = offer.split()
    crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s\r\n" % f[2] if len(f) > 2 else ""
    # RFC 3264 section 8: one o= id for the dialog, its version one up for each new offer
    sdp = (f"v=0\r\no=gw 7 {n} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           f"m=audio {f[0]} {f[1]} 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
           f"a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n{crypto}")
    branch, msg = req("INVITE", n, sdp)
    s.sendall(msg)
    while True:
        r = read_msg()
        if not r.startswith("SIP/2.0 "):
            answer_request(r)
            continue
        if hdr(r, "cseq") != "%d INVITE" % n or r.startswith("SIP/2.0 1"):
            continue
        break
    print("INVITE %d: %s" % (n, r.split("\r\n")[0]), flush=True)
    if r.startswith("SIP/2.0 2"):
        if not totag:
            totag = ";tag=" + hdr(r, "to", "t").split("tag=")[1].split(";")[0]
        s.sendall(req("ACK", n)[1])
    else:
        # RFC 3261 section 17.1.1.3: the INVITE's branch, and the To of the response
        rto = hdr(r, "to", "t")
        s.sendall(req("ACK", n, branch=branch,
                      to=";tag=" + rto.split("tag=")[1].split(";")[0] if "tag=" in rto else totag)[1])
    put("resp.%d" % n, r)
while True:
    r = read_msg()
    if not r.startswith("SIP/2.0 "):
        answer_request(r)
PY
}
# resp_sdp FILE: a response uac wrote, as JSON: status, warning, and its SDP's port, proto, dir,
# crypto [{tag, suite, key}]
resp_sdp() {
	python3 - "$1" <<'PY'
import json, re, sys
t = open(sys.argv[1]).read().replace("\r", "")
body = t.split("\n\n", 1)[1] if "\n\n" in t else ""
r = {"status": int(t.split()[1]), "port": None, "proto": None, "dir": None, "crypto": [],
     "warning": next((l.split(":", 1)[1].strip() for l in t.split("\n") if l.lower().startswith("warning:")), None)}
for l in body.split("\n"):
    m = re.match(r"m=audio (\d+) (\S+)", l)
    if m:
        r["port"], r["proto"] = int(m.group(1)), m.group(2)
    m = re.match(r"a=(sendrecv|sendonly|recvonly|inactive)$", l)
    if m:
        r["dir"] = m.group(1)
    m = re.match(r"a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)", l)
    if m:
        r["crypto"].append({"tag": int(m.group(1)), "suite": m.group(2), "key": m.group(3)})
print(json.dumps(r))
PY
}
wait_file() { for _ in $(seq $(($2 * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "no $1"; return 1; }
metric_at_least() { [ "$(metric "$1")" -ge "$2" ] || { echo "$1 = $(metric "$1"), want >= $2"; return 1; }; }

U="$WORK/uac"
mkdir -p "$U"
K1=WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
K2=QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk
R1=$(free_port)
R2=$(free_port)
while [ "$R2" = "$R1" ]; do R2=$(free_port); done
n32=$(events a 1032 | wc -l)
drops0=$(metric 'umd_media_dropped_total{reason="source_address"}')
srtpf0=$(metric umd_srtp_failures_total)
uac "$U" "$R1 RTP/SAVP $K1" "$R2 RTP/SAVP $K2" "$R2 RTP/AVP" >"$WORK/uac.log" 2>&1 &
UAC_PID=$!
uac_stop() { [ -n "${UAC_PID:-}" ] && { kill "$UAC_PID" 2>/dev/null; wait "$UAC_PID" 2>/dev/null; UAC_PID=""; }; return 0; }
cleanup_hooks="$cleanup_hooks uac_stop"
check "the UAC's INVITE (RTP port R1, key K1) is answered" wait_file "$U/resp.1" 10
resp_sdp "$U/resp.1" >"$WORK/r1.json"
check "... 200 with RTP/SAVP and one key of umd's" jqf "$WORK/r1.json" ".status == 200 and .proto == \"RTP/SAVP\" and (.crypto | length) == 1 and .crypto[0].suite == \"$SUITE\""
UP1=$(jq -r .port "$WORK/r1.json")
UK1=$(jq -r '.crypto[0].key' "$WORK/r1.json")
# A: greeting and beep, then 2 s of 1000 Hz, from R1 with K1.
"$RTP_PEER" --to "$UP1" --bind "$R1" --suite "$SUITE" --tx-key "$K1" --rx-key "$UK1" --te 101 \
	silence 2.6 tone 1000 2 >"$WORK/peerA.json" 2>"$WORK/peerA.err"
check "rtp_peer A: every packet umd sent it decrypts with umd's first key" jqf "$WORK/peerA.json" '.received > 100 and .decrypted == .received and .failed == 0'
touch "$U/go.2"
check "the re-INVITE (new RTP port R2, new key K2) is answered" wait_file "$U/resp.2" 10
resp_sdp "$U/resp.2" >"$WORK/r2.json"
echo "# umd's answers: $(jq -c '[.status, .port, .dir, .crypto]' "$WORK/r1.json") then $(jq -c '[.status, .port, .dir, .crypto]' "$WORK/r2.json")"
check "... 200, RTP/SAVP, sendrecv, on umd's same port" jqf "$WORK/r2.json" ".status == 200 and .proto == \"RTP/SAVP\" and .dir == \"sendrecv\" and .port == $UP1"
check "... with a new key of umd's, same tag (RFC 4568 7.1.4: new keys both ways)" jqf "$WORK/r2.json" "(.crypto | length) == 1 and .crypto[0].suite == \"$SUITE\" and .crypto[0].tag == 1 and .crypto[0].key != \"$UK1\""
UK2=$(jq -r '.crypto[0].key' "$WORK/r2.json")
# B: from R2 with K2, 2 s of 1500 Hz, silence, then '#'. Meanwhile C, the old port with the old
# key, sends 440 Hz: no longer the gateway's media (media_latching = no), dropped.
"$RTP_PEER" --to "$UP1" --bind "$R2" --suite "$SUITE" --tx-key "$K2" --rx-key "$UK2" --te 101 \
	tone 1500 2 silence 3 hash silence 1 >"$WORK/peerB.json" 2>"$WORK/peerB.err" &
PEER_B=$!
sleep 2.3
"$RTP_PEER" --to "$UP1" --bind "$R1" --suite "$SUITE" --tx-key "$K1" --rx-key "$UK1" --te 101 \
	tone 440 1 >"$WORK/peerC.json" 2>"$WORK/peerC.err"
# A re-offer of plain RTP in an SRTP call is a downgrade: refused, the call goes on.
touch "$U/go.3"
check "a third re-INVITE, offering plain RTP/AVP, is answered" wait_file "$U/resp.3" 5
resp_sdp "$U/resp.3" >"$WORK/r3.json"
check "... 488, its Warning saying why" jqf "$WORK/r3.json" '.status == 488 and (.warning | test("^305 umd .*(RTP/SAVP|SRTP)"))'
wait "$PEER_B"
check "rtp_peer B: umd sends to the new port, each packet under its new key" jqf "$WORK/peerB.json" '.received > 150 and .decrypted == .received and .failed == 0'
check "umd hung up on B's '#' (BYE): the 488 did not end the call" wait_file "$U/bye" 5
wait "$UAC_PID"
UAC_PID=""
check "CallEnded: reason dtmf" event_has a 1031 '.reason == "dtmf" and (.call_id | test("^reinv"))'
check "umd took the new key: no SRTP failure counted" test "$(metric umd_srtp_failures_total)" = "$srtpf0"
check "the old port's packets were dropped (source address)" metric_at_least 'umd_media_dropped_total{reason="source_address"}' $((drops0 + 40))
check "VoiceMessageRecorded for the call" wait_event a 1032 $((n32 + 1))
ID2=$(events a 1032 | tail -1 | jq -r .id)
M2="$S-spool/new/$ID2"
check "its ID.json names the call" jqf "$M2.json" "(.call_id | test(\"^reinv\")) and .media == \"$SUITE\""
check "the message holds the 1000 Hz from before the re-INVITE (2 s)" audio has-tone "$M2.wav" 1000 1.7 --max 2.3
check "... and the 1500 Hz sent after it, from the new port under the new key (2 s)" audio has-tone "$M2.wav" 1500 1.7 --max 2.3
check "... and nothing of the old port's 440 Hz" no_tone "$M2.wav" 440

umd_stop a
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"
finish
