# Sourceable helpers (after lib.sh and pki.sh) that run baresip 1.0 as a real SIP peer: a private
# config per instance, its log in $WORK/NAME.log, driven through its ctrl_tcp module, every
# instance stopped by lib.sh's exit hook even when the test fails.
#
#   baresip_start NAME DIR [CERT_PEM KEY_PEM [MEDIAENC [WAV]]]
#       CERT/KEY empty: no TLS certificate (UDP/TCP only). MEDIAENC: srtp | srtp-mand | "" (RTP).
#       WAV (or $BARESIP_WAV): the audio source, 8 kHz mono 16-bit; baresip ends the call itself
#       when it runs out, so make it longer than the call (audio.py tone ... --silence-after).
#   baresip_cmd NAME COMMAND [PARAMS]   one ctrl_tcp command; prints its "data"; fails when !ok
#   baresip_dial NAME URI               e.g. "sip:1001@127.0.0.1:5061;transport=tls"
#   baresip_dtmf NAME DIGITS            RFC 4733 events (the menu module's "sndcode")
#   baresip_hangup NAME
#   baresip_wait_event NAME TYPE SECONDS [COUNT]   CALL_ESTABLISHED, CALL_CLOSED, CALL_MENC, ...
#   baresip_events NAME [TYPE]          the JSON events received so far (one per line)
#   baresip_recording NAME dec|enc      the WAV sndfile wrote: dec = heard, enc = sent
#   baresip_sdp NAME offer|answer       JSON of the last SDP offer/answer of an INVITE in the SIP
#                                       trace: {"port", "proto", "address", "formats": [0, 8, 101],
#                                       "rtpmap": ["PCMU/8000", ...], "crypto": [{"tag", "suite",
#                                       "key"}]}
#   baresip_stop NAME
#
# What baresip 1.0.0 does (read in its sources, tag v1.0.0, and seen here):
# - TLS listens on sip_listen's port + 1; it never verifies the server's certificate; the
#   certificate and its key go in one PEM file (sip_certificate).
# - ctrl_tcp takes one connection at a time (a new one replaces the old) and sends the events to
#   it. So each instance gets a small relay (python3, stdlib) that holds that connection, writes
#   the events to $WORK/NAME.events and passes commands from a Unix socket.
# - Its long commands are the menu module's: dial, hangup, sndcode (DTMF), accept, listcalls,
#   callstat, ausrc, ...; there is no "quit": SIGTERM hangs up (BYE) and exits.
# - sndfile (an audio filter) writes snd_path/dump-YYYY-MM-DD-HH-MM-SS-{enc,dec}.wav per call,
#   at the codec's rate and channels (G.711: 8000 Hz mono, 16-bit), closed when the call ends.
# - aufile is a source only: its WAV must have the source's rate and channels (ausrc_srate,
#   ausrc_channels); the player here is ALSA's "null" device (no sound card needed).
# - -s prints every SIP message (after TLS) to the log: the only place the answer's SDES key can
#   be read from, since the signalling is encrypted and umd does not log it.

BARESIP=${BARESIP:-baresip}
BARESIP_D=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# baresip_free_pair: a port P such that P and P + 1 are free for TCP and UDP (SIP, SIP over TLS).
baresip_free_pair() {
	python3 - <<'PY'
import socket
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p > 65000:
        continue
    socks = []
    try:
        for port in (p, p + 1):
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                t = socket.socket(socket.AF_INET, kind); t.bind(("127.0.0.1", port)); socks.append(t)
        for t in socks: t.close()
        print(p)
        break
    except OSError:
        for t in socks: t.close()
PY
}

# The ctrl_tcp relay: "relay PORT SOCK EVENTS" runs until baresip closes its side; "cmd SOCK JSON"
# sends one command and prints the response (JSON); "sdp LOG offer|answer" reads the SIP trace.
baresip_py() {
	python3 - "$@" <<'PY'
import json, os, re, selectors, socket, sys, time

def netstring(b):
    return str(len(b)).encode() + b":" + b + b","

def relay(port, path, events):
    ctrl = None
    for _ in range(100):
        try:
            ctrl = socket.create_connection(("127.0.0.1", int(port)), 1)
            break
        except OSError:
            time.sleep(0.1)
    if ctrl is None:
        sys.exit("ctrl_tcp did not answer on port %s" % port)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    lsn = socket.socket(socket.AF_UNIX)
    lsn.bind(path)
    lsn.listen(8)
    ev = open(events, "a", buffering=1)
    sel = selectors.DefaultSelector()
    sel.register(ctrl, selectors.EVENT_READ, "ctrl")
    sel.register(lsn, selectors.EVENT_READ, "listen")
    buf = b""
    pending = {}  # token -> client socket
    seq = 0
    while True:
        for key, _ in sel.select():
            if key.data == "listen":
                c, _ = lsn.accept()
                sel.register(c, selectors.EVENT_READ, "client")
            elif key.data == "client":
                c = key.fileobj
                line = b""
                c.settimeout(5)
                while not line.endswith(b"\n"):
                    d = c.recv(4096)
                    if not d:
                        break
                    line += d
                sel.unregister(c)
                try:
                    req = json.loads(line)
                except ValueError:
                    c.close()
                    continue
                seq += 1
                req["token"] = "t%d" % seq
                pending[req["token"]] = c
                ctrl.sendall(netstring(json.dumps(req).encode()))
            else:
                d = ctrl.recv(65536)
                if not d:
                    for c in pending.values():
                        c.close()
                    return
                buf += d
                while True:
                    colon = buf.find(b":")
                    if colon < 0:
                        break
                    n = int(buf[:colon])
                    if len(buf) < colon + 1 + n + 1:
                        break
                    msg = json.loads(buf[colon + 1 : colon + 1 + n])
                    buf = buf[colon + 1 + n + 1 :]
                    if msg.get("event"):
                        msg["time"] = time.time()
                        ev.write(json.dumps(msg) + "\n")
                    elif msg.get("response"):
                        c = pending.pop(msg.get("token"), None)
                        if c:
                            c.sendall(json.dumps(msg).encode() + b"\n")
                            c.close()

def cmd(path, req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(15)
    s.sendall(req.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    if not out:
        sys.exit("no response from baresip")
    r = json.loads(out)
    if r.get("data"):
        print(r["data"])
    sys.exit(0 if r.get("ok") else 1)

def sdp(log, which):
    text = re.sub(r"\x1b\[[0-9;]*m", "", open(log, errors="replace").read())
    found = None
    for block in text.split("\n#\n"):
        lines = block.split("\n")
        # lines[0]: "TLS 127.0.0.1:a -> 127.0.0.1:b", then the message
        if len(lines) < 3:
            continue
        start = lines[1]
        cseq = next((l for l in lines if l.lower().startswith("cseq:")), "")
        if "INVITE" not in cseq:
            continue
        is_offer = start.startswith("INVITE ")
        is_answer = start.startswith("SIP/2.0 200")
        if (which == "offer" and not is_offer) or (which == "answer" and not is_answer):
            continue
        body = block.split("\n\n", 1)[1] if "\n\n" in block else ""
        body = block.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in block else body
        res = {"port": None, "proto": None, "address": None, "formats": [], "rtpmap": [], "crypto": []}
        for l in body.replace("\r", "").split("\n"):
            m = re.match(r"m=audio (\d+) (\S+)((?: \d+)*)", l)
            if m:
                res["port"], res["proto"] = int(m.group(1)), m.group(2)
                res["formats"] = [int(x) for x in m.group(3).split()]
            m = re.match(r"a=rtpmap:\d+ (\S+)", l)
            if m:
                res["rtpmap"].append(m.group(1))
            m = re.match(r"c=IN IP4 (\S+)", l)
            if m:
                res["address"] = m.group(1)
            m = re.match(r"a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)", l)
            if m:
                res["crypto"].append({"tag": int(m.group(1)), "suite": m.group(2), "key": m.group(3)})
        if res["port"] is not None:
            found = res
    if found is None:
        sys.exit("no SDP %s in %s" % (which, log))
    print(json.dumps(found))

if sys.argv[1] == "relay":
    relay(*sys.argv[2:5])
elif sys.argv[1] == "cmd":
    cmd(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "sdp":
    sdp(sys.argv[2], sys.argv[3])
PY
}

# baresip_start NAME DIR [CERT_PEM KEY_PEM [MEDIAENC [WAV]]]
baresip_start() {
	name=$1 dir=$2 cert=${3:-} key=${4:-} menc=${5:-} wav=${6:-${BARESIP_WAV:-}}
	mkdir -p "$dir/rec"
	chmod 700 "$dir"
	if [ -z "$wav" ]; then
		wav="$dir/silence.wav"
		python3 "$BARESIP_D/audio.py" tone "$wav" 0 0 --silence-after 60 || return 1
	fi
	sip=$(baresip_free_pair)
	ctrl=$(free_port)
	tls_line="#sip_certificate"
	if [ -n "$cert" ]; then
		(umask 077 && cat "$cert" "$key" >"$dir/sip.pem")
		tls_line="sip_certificate		$dir/sip.pem"
	fi
	# baresip's own RTP ports stay away from umd's media range (the test picks that one).
	cat >"$dir/config" <<CONF
poll_method		epoll
sip_listen		127.0.0.1:$sip
$tls_line
call_local_timeout	120
call_max_calls		4
audio_player		alsa,null
audio_alert		alsa,null
audio_source		aufile,$wav
ausrc_srate		8000
ausrc_channels		1
audio_level		no
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
audio_buffer		20-160
rtp_ports		${BARESIP_RTP_PORTS:-10000-19999}
rtcp_mux		no
jitter_buffer_delay	5-10
rtp_stats		no
net_interface		127.0.0.1
module_path		/usr/lib/baresip/modules
module			g711.so
module			sndfile.so
module			alsa.so
module			aufile.so
module			srtp.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$ctrl
snd_path		$dir/rec
CONF
	# No registration (regint=0); G.711 only; the gateway's AOR.
	acc="<sip:${BARESIP_USER:-gw1}@${BARESIP_DOMAIN:-gw1.example.test}>;regint=0;answermode=${BARESIP_ANSWERMODE:-manual};audio_codecs=${BARESIP_CODECS:-PCMU,PCMA}"
	[ -n "$menc" ] && acc="$acc;mediaenc=$menc"
	printf '%s\n' "$acc" >"$dir/accounts"
	: >"$dir/contacts"
	: >"$WORK/$name.events"
	# stdbuf: the log is a file, and baresip prints through stdio.
	stdbuf -oL -eL "$BARESIP" -f "$dir" -s ${BARESIP_VERBOSE:+-v} </dev/null >"$WORK/$name.log" 2>&1 &
	eval "BARESIP_PID_$name=$!"
	eval "BARESIP_DIR_$name=\$dir"
	eval "BARESIP_SIP_$name=$sip"
	case " ${BARESIP_NAMES:-} " in *" $name "*) ;; *) BARESIP_NAMES="${BARESIP_NAMES:-} $name" ;; esac
	case " $cleanup_hooks " in *" baresip_stop_all "*) ;; *) cleanup_hooks="$cleanup_hooks baresip_stop_all" ;; esac
	baresip_py relay "$ctrl" "$WORK/$name.ctl" "$WORK/$name.events" 2>>"$WORK/$name.relay.log" &
	eval "BARESIP_RELAY_$name=$!"
	for _ in $(seq 100); do
		[ -S "$WORK/$name.ctl" ] && return 0
		kill -0 "$(eval echo "\$BARESIP_PID_$name")" 2>/dev/null || break
		sleep 0.1
	done
	echo "baresip $name did not start:" >&2
	tail -20 "$WORK/$name.log" >&2
	return 1
}

# baresip_sip_port NAME: its SIP port (UDP/TCP; TLS is this + 1)
baresip_sip_port() { eval echo "\${BARESIP_SIP_$1:-}"; }

# baresip_cmd NAME COMMAND [PARAMS]
baresip_cmd() {
	req=$(python3 -c 'import json, sys; d = {"command": sys.argv[1]}
if len(sys.argv) > 2: d["params"] = sys.argv[2]
print(json.dumps(d))' "${@:2}")
	baresip_py cmd "$WORK/$1.ctl" "$req"
}

baresip_dial() { baresip_cmd "$1" dial "$2"; }
baresip_dtmf() { baresip_cmd "$1" sndcode "$2"; }
baresip_hangup() { baresip_cmd "$1" hangup; }

# baresip_events NAME [TYPE]
baresip_events() {
	if [ -n "${2:-}" ]; then grep "\"type\": \"$2\"" "$WORK/$1.events" || true; else cat "$WORK/$1.events"; fi
}

# baresip_wait_event NAME TYPE SECONDS [COUNT]
baresip_wait_event() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(baresip_events "$1" "$2" | wc -l)" -ge "${4:-1}" ] && return 0
		sleep 0.1
	done
	echo "baresip $1: no $2 within $3 s; events:" >&2
	cut -c1-200 "$WORK/$1.events" >&2
	return 1
}

# baresip_recording NAME dec|enc: the newest dump of that direction (dec: what it heard)
baresip_recording() {
	d=$(eval echo "\${BARESIP_DIR_$1:-}")
	f=$(ls -t "$d"/rec/dump-*-"$2".wav 2>/dev/null | head -1)
	[ -n "$f" ] || { echo "baresip $1: no $2 recording in $d/rec" >&2; return 1; }
	echo "$f"
}

# baresip_sdp NAME offer|answer
baresip_sdp() { baresip_py sdp "$WORK/$1.log" "$2"; }

# baresip_stop NAME: SIGTERM (baresip hangs up its calls), SIGKILL after 10 s; then the relay.
baresip_stop() {
	pid=$(eval echo "\${BARESIP_PID_$1:-}")
	relay=$(eval echo "\${BARESIP_RELAY_$1:-}")
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		eval "BARESIP_PID_$1="
	fi
	if [ -n "$relay" ]; then
		kill "$relay" 2>/dev/null
		wait "$relay" 2>/dev/null
		eval "BARESIP_RELAY_$1="
	fi
	return 0
}

baresip_stop_all() {
	for n in ${BARESIP_NAMES:-}; do baresip_stop "$n"; done
	return 0
}
