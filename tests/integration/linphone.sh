# Sourceable helpers (after lib.sh) that run linphonec (liblinphone 5.1) as a SIP/TLS gateway
# that verifies umd's certificate chain, as a real IP-PBX would. Driven through its standard
# input (a FIFO held open), its output in $WORK/NAME.log, liblinphone's own log (SIP messages
# included) in $WORK/NAME.debug.
#
#   linphone_netns "$0" "$@"        first line of a test, before lib.sh: re-runs the script in a
#                                   network namespace of its own with lo up (see below)
#   linphone_start NAME DIR CERT_CHAIN_PEM KEY_PEM ROOT_CA_PEM [MEDIAENC [WAV]]
#       MEDIAENC: srtp (offered and required) | none. WAV: what it plays into calls (8 kHz mono
#       16-bit); what it hears is recorded to DIR/heard.wav.
#   linphone_cmd NAME LINE          one linphonec command ("call URI", "terminate", "status")
#   linphone_dial NAME URI          e.g. "sips:1001@127.0.0.1:5061" or "sip:...;transport=tls"
#   linphone_dtmf NAME DIGITS       RFC 4733 (linphonec sends a line of digits, # and * as DTMF)
#   linphone_hangup NAME
#   linphone_recording NAME         the WAV of what it heard (DIR/heard.wav)
#   linphone_wait NAME REGEX SECONDS   waits for an output line (grep -E): "connected\.",
#                                   "Media streams established", "ended \(", "error\."
#   linphone_sdp NAME offer|answer  JSON as baresip_sdp's (port, proto, address, formats, rtpmap,
#                                   crypto), read from the SIP messages in liblinphone's log
#   linphone_stop NAME
#
# What linphonec 5.1.65 does (its console/ sources, and seen here):
# - Outside a network namespace it puts the host's IPv6 address in its SDP even when calling
#   127.0.0.1; in a namespace where lo is the only interface it uses 127.0.0.1. Everything the
#   test starts (umd, tcpdump) must then run in that namespace: hence linphone_netns.
# - Its databases live under $HOME/.local/share/linphone: when that folder is missing the core
#   never starts (no SIP transport, "Error from linphone_core_invite."), so HOME is DIR here.
# - [sip] use_ipv6=0 is dropped on the first start unless ipv6_migration_done=1 is set too.
# - It verifies the server's chain against [sip] root_ca, and its name unless verify_server_cn=0
#   (the test connects to 127.0.0.1, which no certificate names).
# - The client certificate is [sip] client_cert_chain / client_cert_key (PEM files), given when
#   the server asks for one.
# - Audio from and to files: "soundcard use files", then "play FILE" and "record FILE".
# - Call progress on stdout: "Call N to URI in progress.", "Call N with URI connected.",
#   "Media streams established with URI for call N (audio).", "Call N with URI ended (REASON).",
#   "Call N with URI error.".

LINPHONEC=${LINPHONEC:-linphonec}

linphone_netns() {
	if [ -z "${UMEDGE_NETNS:-}" ]; then
		exec unshare -n env UMEDGE_NETNS=1 bash "$@"
	fi
	ip link set lo up
}

linphone_start() {
	name=$1 dir=$2 cert=$3 key=$4 ca=$5 menc=${6:-srtp} wav=${7:-}
	mkdir -p "$dir"
	chmod 700 "$dir"
	mandatory=1
	[ "$menc" = none ] && mandatory=0
	# No UDP or TCP (0: LC_SIP_TRANSPORT_DISABLED); TLS on a free port.
	cat >"$dir/linphonerc" <<CONF
[sip]
sip_port=0
sip_tcp_port=0
sip_tls_port=$(free_port)
use_ipv6=0
ipv6_migration_done=1
root_ca=$ca
verify_server_certs=1
verify_server_cn=0
client_cert_chain=$cert
client_cert_key=$key
media_encryption=$menc
media_encryption_mandatory=$mandatory
contact="gw1" <sip:${LINPHONE_USER:-gw1}@${LINPHONE_DOMAIN:-gw1.example.test}>
inc_timeout=60
[rtp]
audio_rtp_port=${LINPHONE_RTP_PORTS:-10000-19999}
audio_jitt_comp=60
[audio_codec_0]
mime=PCMU
rate=8000
enabled=1
[audio_codec_1]
mime=PCMA
rate=8000
enabled=1
[video]
enabled=0
capture=0
display=0
CONF
	rm -f "$dir/in"
	mkfifo "$dir/in"
	mkdir -p "$dir/.local/share/linphone"
	HOME=$dir "$LINPHONEC" -c "$dir/linphonerc" -d 6 -l "$WORK/$name.debug" <"$dir/in" >"$WORK/$name.log" 2>&1 &
	eval "LINPHONE_PID_$name=$!"
	eval "LINPHONE_DIR_$name=\$dir"
	# Held open for the commands; closing it is linphonec's end of input.
	exec {fd}>"$dir/in"
	eval "LINPHONE_FD_$name=$fd"
	case " ${LINPHONE_NAMES:-} " in *" $name "*) ;; *) LINPHONE_NAMES="${LINPHONE_NAMES:-} $name" ;; esac
	case " $cleanup_hooks " in *" linphone_stop_all "*) ;; *) cleanup_hooks="$cleanup_hooks linphone_stop_all" ;; esac
	linphone_cmd "$name" "soundcard use files"
	[ -n "$wav" ] && linphone_cmd "$name" "play $wav"
	linphone_cmd "$name" "record $dir/heard.wav"
	for _ in $(seq 100); do
		grep -q "linphonec> " "$WORK/$name.log" 2>/dev/null && return 0
		kill -0 "$(eval echo "\$LINPHONE_PID_$name")" 2>/dev/null || break
		sleep 0.1
	done
	echo "linphonec $name did not start:" >&2
	tail -20 "$WORK/$name.log" >&2
	return 1
}

# linphonec without readline keeps one pending input line (console/linphonec.c,
# prompt_reader_thread), taken every 20 ms: a pause after each line keeps the next from
# overwriting it.
linphone_cmd() {
	fd=$(eval echo "\${LINPHONE_FD_$1:-}")
	[ -n "$fd" ] || return 1
	printf '%s\n' "$2" >&"$fd"
	sleep 0.2
}

linphone_dial() { linphone_cmd "$1" "call $2"; }
linphone_recording() { echo "$(eval echo "\${LINPHONE_DIR_$1:-}")/heard.wav"; }
linphone_dtmf() { linphone_cmd "$1" "$2"; }
linphone_hangup() { linphone_cmd "$1" terminate; }

linphone_wait() {
	for _ in $(seq $(($3 * 10))); do
		grep -Eq "$2" "$WORK/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "linphonec $1: no [$2] within $3 s; its output:" >&2
	tail -20 "$WORK/$1.log" >&2
	return 1
}

# linphone_sdp NAME offer|answer: belle-sip logs each message it sends and receives, a received
# message's body often in a record of its own after the headers: so the log is read line by line,
# and an SDP goes to the last message announcing one that has none yet.
linphone_sdp() {
	python3 - "$WORK/$1.debug" "$2" <<'PY'
import json, re, sys
msgs, cur, sdp_into = [], None, None
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\r\n")
    if sdp_into is not None:
        if line == "" or re.match(r"\d{4}-\d\d-\d\d ", line):
            sdp_into = None
        else:
            sdp_into["sdp"].append(line)
            continue
    if re.match(r"(INVITE|ACK|BYE|CANCEL|OPTIONS|UPDATE) \S+ SIP/2\.0$|SIP/2\.0 \d{3} ", line):
        cur = {"start": line, "cseq": "", "sdp_expected": False, "sdp": None}
        msgs.append(cur)
    elif cur is not None and re.match(r"(?i)cseq:", line):
        cur["cseq"] = line
    elif cur is not None and re.match(r"(?i)content-type:\s*application/sdp", line):
        cur["sdp_expected"] = True
    elif line == "v=0":
        for m in reversed(msgs):
            if m["sdp_expected"] and m["sdp"] is None:
                m["sdp"] = []
                sdp_into = m
                break
found = None
for m in msgs:
    if m["sdp"] is None or "INVITE" not in m["cseq"]:
        continue
    if sys.argv[2] == "offer" and not m["start"].startswith("INVITE "):
        continue
    if sys.argv[2] == "answer" and not m["start"].startswith("SIP/2.0 200"):
        continue
    res = {"port": None, "proto": None, "address": None, "formats": [], "rtpmap": [], "crypto": []}
    for l in m["sdp"]:
        a = re.match(r"m=audio (\d+) (\S+)((?: \d+)*)", l)
        if a:
            res["port"], res["proto"] = int(a.group(1)), a.group(2)
            res["formats"] = [int(x) for x in a.group(3).split()]
        a = re.match(r"c=IN IP4 (\S+)", l)
        if a:
            res["address"] = a.group(1)
        a = re.match(r"a=rtpmap:\d+ (\S+)", l)
        if a:
            res["rtpmap"].append(a.group(1))
        a = re.match(r"a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)", l)
        if a:
            res["crypto"].append({"tag": int(a.group(1)), "suite": a.group(2), "key": a.group(3)})
    if res["port"] is not None:
        found = res
if found is None:
    sys.exit("no SDP %s in %s" % (sys.argv[2], sys.argv[1]))
print(json.dumps(found))
PY
}

linphone_stop() {
	pid=$(eval echo "\${LINPHONE_PID_$1:-}")
	fd=$(eval echo "\${LINPHONE_FD_$1:-}")
	[ -n "$pid" ] || return 0
	[ -n "$fd" ] && { printf 'quit\n' >&"$fd"; } 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -n "$fd" ] && exec {fd}>&-
	eval "LINPHONE_PID_$1= LINPHONE_FD_$1="
	return 0
}

linphone_stop_all() {
	for n in ${LINPHONE_NAMES:-}; do linphone_stop "$n"; done
	return 0
}
