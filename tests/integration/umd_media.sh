#!/bin/bash
# umd's media and voice messages (README, "umd, the UM server") against a real SIP
# gateway: baresip calls umd over mutual TLS with SRTP (SDES, AES_CM_128_HMAC_SHA1_80), hears
# the greeting and the beep, leaves a 1000 Hz tone as its message and presses '#' (RFC 4733).
# The spool gets the message; tcpdump's capture of the media, decrypted with the keys the two
# sides put in their SDP, holds the same audio, and its payload on the wire is not plain G.711.
# Then an unsecured call with plain RTP, ended by silence.
#
# umd's SDES key travels in its 200's SDP, inside TLS: baresip runs with -s (SIP trace), which
# logs each SIP message after decryption, and baresip_sdp reads the offer and the answer there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
. "$(dirname "$0")/baresip.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
SRTP_DECRYPT=${SRTP_DECRYPT:?set SRTP_DECRYPT to tests/tools srtp_decrypt}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
SUITE=AES_CM_128_HMAC_SHA1_80
audio() { python3 "$D/audio.py" "$@"; }

# Checks as functions (check runs them in this shell): each fails when what it looks at is
# missing, never passing on empty input (jq -e on no input exits 0).
# jqf FILE FILTER: FILE holds JSON for which the jq FILTER is true
jqf() { [ -s "$1" ] && jq -e "$2" "$1" >/dev/null; }
# event_has NAME ID FILTER [SECONDS]: umd NAME logs (within SECONDS, default 5) an event ID
# for which FILTER is true
event_has() {
	for _ in $(seq $((${4:-5} * 10))); do
		events "$1" "$2" | jq -e -s "map(select($3)) | length > 0" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "no event $2 with $3; those logged:"
	events "$1" "$2"
	return 1
}
# call_up NAME: baresip NAME has a call established and not closed
call_up() { [ "$(baresip_events "$1" CALL_ESTABLISHED | wc -l)" -gt "$(baresip_events "$1" CALL_CLOSED | wc -l)" ]; }
# no_tone WAV HZ: WAV exists and holds no 0.2 s of HZ
no_tone() { [ -s "$1" ] && ! audio has-tone "$1" "$2" 0.2; }
dir_empty() { [ -d "$1" ] && [ -z "$(ls -A "$1")" ]; }
differ() { [ -n "$1" ] && [ "$1" != "$2" ]; }
# baresip_call_id NAME: the SIP Call-ID of its last call (from any event that names one)
baresip_call_id() { baresip_events "$1" | jq -r 'select(.id != null) | .id' | tail -1; }

# The gateway's certificate: self-signed by certctl, pinned in umd's [gateway gw1].
"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
GWT=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$GWT.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$GWT.key" "$WORK/gw1.key"

# The caller waits out greeting and beep in silence, speaks 3 s of 1000 Hz, then stays silent
# long enough that only '#' (or umd's silence limit) can end the call before its WAV does.
GREET_S=1
LEAD_S=2.5 TONE_S=3 DTMF_AT=6.5
audio tone "$WORK/caller.wav" 1000 "$TONE_S" --silence-before "$LEAD_S" --silence-after 40
audio tone "$WORK/caller2.wav" 1000 2 --silence-before "$LEAD_S" --silence-after 40

# Media ports: a block of 200 from a random even base, away from baresip's 10000-19999.
MLO=$((20000 + (RANDOM % 40) * 200))
MHI=$((MLO + 199))
SILENCE_S=4

# media_conf FILE MODE PORT HTTP_PORT < gateway sections: umd_conf's [umd], the media keys, then
# the gateways. spool and greeting stay as umd_conf sets them (else in $WORK); SPOOL and
# GREETINGS name them, and the greetings are made there: 1 s of 440 Hz as the default, and
# 1002.wav (660 Hz) for user 1002 beside it (the README: "USER.wav in the same folder").
media_conf() {
	umd_conf "$1" "$2" "$3" "$S" "$4" </dev/null
	cat >>"$1" <<CONF
media_ports = $MLO-$MHI
media_latching = no
max_message_seconds = 30
silence_seconds = $SILENCE_S
CONF
	grep -q '^spool *=' "$1" || echo "spool = $WORK/spool" >>"$1"
	grep -q '^greeting *=' "$1" || echo "greeting = $WORK/greetings/default.wav" >>"$1"
	printf '\n' >>"$1"
	cat >>"$1"
	SPOOL=$(awk -F' *= *' '$1 == "spool" {print $2}' "$1")
	GREETING=$(awk -F' *= *' '$1 == "greeting" {print $2}' "$1")
	GREETINGS=$(dirname "${GREETING:-$WORK/greetings/default.wav}")
	mkdir -p "$GREETINGS"
	audio tone "$GREETINGS/default.wav" 440 "$GREET_S"
	audio tone "$GREETINGS/1002.wav" 660 1
}

# capture_start NAME / capture_stop NAME: tcpdump of the media range on lo, NAME.pcap
capture_start() {
	tcpdump -i lo -n -U -w "$WORK/$1.pcap" udp portrange "$MLO-$MHI" >"$WORK/$1.tcpdump" 2>&1 &
	eval "CAP_PID_$1=$!"
	CAPTURES="${CAPTURES:-} $1"
	case " $cleanup_hooks " in *" capture_stop_all "*) ;; *) cleanup_hooks="$cleanup_hooks capture_stop_all" ;; esac
	for _ in $(seq 50); do grep -q "listening on" "$WORK/$1.tcpdump" && return 0; sleep 0.1; done
	cat "$WORK/$1.tcpdump"
	return 1
}
capture_stop() {
	pid=$(eval echo "\${CAP_PID_$1:-}")
	[ -n "$pid" ] || return 0
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "CAP_PID_$1="
	return 0
}
capture_stop_all() { for c in ${CAPTURES:-}; do capture_stop "$c"; done; return 0; }

# metric_is HTTP_PORT NAME VALUE: umd's unlabelled metric NAME has VALUE
metric_is() {
	v=$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$1/metrics', timeout=5).read().decode())" |
		awk -v m="$2" '$1 == m {print $2}')
	[ "$v" = "$3" ] || { echo "$2 is [$v], want $3"; return 1; }
}

# --- secured: SRTP over mutual TLS ------------------------------------------------------------
PORT=$(free_port)
HTTP=$(free_port)
media_conf "$WORK/sec.conf" secured "$PORT" "$HTTP" <<CONF
[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF
check "umd -n accepts the media keys" "$UMD" -n -c "$WORK/sec.conf"
check "umd starts in secured mode" umd_start a "$WORK/sec.conf"
expect_eq "the spool is made 0700" 700 "$(stat -c %a "$SPOOL" 2>&1)"
check "tcpdump captures umd's media ports" capture_start sec
check "baresip starts as gw1 (srtp-mand)" baresip_start gw "$WORK/gw1" "$WORK/gw1.pem" "$WORK/gw1.key" srtp-mand "$WORK/caller.wav"

check "baresip dials umd over TLS" baresip_dial gw "sip:1001@127.0.0.1:$PORT;transport=tls"
check "the call is established (baresip sent the ACK)" baresip_wait_event gw CALL_ESTABLISHED 10
EST=$(date +%s.%N)
check "baresip's SRTP is on (CALL_MENC)" baresip_wait_event gw CALL_MENC 5
CALLID=$(baresip_call_id gw)
baresip_sdp gw offer >"$WORK/offer.json"
baresip_sdp gw answer >"$WORK/answer.json"
check "baresip offered RTP/SAVP with $SUITE" jqf "$WORK/offer.json" ".proto == \"RTP/SAVP\" and (.crypto | map(.suite) | index(\"$SUITE\"))"
check "umd answered RTP/SAVP with one $SUITE key of its own" jqf "$WORK/answer.json" ".proto == \"RTP/SAVP\" and (.crypto | length) == 1 and .crypto[0].suite == \"$SUITE\""
check "... not the gateway's key" differ "$(jq -r '.crypto[0].key' "$WORK/answer.json")" "$(jq -r '.crypto[0].key' "$WORK/offer.json")"
check "... on a port of media_ports" jqf "$WORK/answer.json" ".port >= $MLO and .port <= $MHI and .port % 2 == 0"
check "... offering telephone-event (RFC 4733) back" jqf "$WORK/answer.json" '.rtpmap | index("telephone-event/8000")'
check "CallAnswered (1030) is logged" wait_event a 1030
check "... with the call's id, gw1, the called URI and media $SUITE" event_has a 1030 ".call_id == \"$CALLID\" and .gateway == \"gw1\" and (.to | test(\"^sip:1001@\")) and .media == \"$SUITE\""
check "umd_active_calls is 1 during the call" metric_is "$HTTP" umd_active_calls 1

# Forged packets to umd's RTP port: not authenticated, dropped, logged (not every packet).
UPORT=$(jq -r .port "$WORK/answer.json")
FORGED=5
python3 - "$UPORT" "$FORGED" <<'PY'
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    hdr = struct.pack("!BBHII", 0x80, 0, 40000 + i, 1234 + 160 * i, 0x0BADF00D)
    s.sendto(hdr + os.urandom(160 + 10), ("127.0.0.1", int(sys.argv[1])))
PY
check "forged SRTP: MediaSecurityFailure (1033) for this call" event_has a 1033 ".call_id == \"$CALLID\" and (.reason | test(\"authentication|source\"))"

# '#' after the tone; umd ends the call at once (long before silence_seconds would).
python3 -c "import time; time.sleep(max(0.0, $EST + $DTMF_AT - time.time()))"
check "the call is still up before '#' (the forged packets did not end it)" call_up gw
CLOSED=$(baresip_events gw CALL_CLOSED | wc -l)
HASH_AT=$(python3 -c "import time; print(round(time.time() - $EST + 0.5, 2))") # s into the call, and some
check "baresip sends '#' as RFC 4733 events" baresip_dtmf gw "#"
check "umd ends the call on '#' (BYE within 3 s)" baresip_wait_event gw CALL_CLOSED 3 $((CLOSED + 1))
check "CallEnded (1031) is logged for this call" event_has a 1031 ".call_id == \"$CALLID\" and .seconds >= 5"
check "VoiceMessageRecorded (1032): to 1001, from the beep to the #, not truncated" event_has a 1032 "(.to | test(\"^sips?:1001@\")) and .seconds >= 3 and .seconds <= $HASH_AT and .truncated == false"
ID=$(events a 1032 | tail -1 | jq -r .id)
check "umd_active_calls is 0 again" metric_is "$HTTP" umd_active_calls 0

# --- the message in the spool -------------------------------------------------------------------
M="$SPOOL/new/$ID"
check "spool/new holds ID.wav and ID.json" test -n "$ID" -a -s "$M.wav" -a -s "$M.json"
check "... and tmp/ is empty" dir_empty "$SPOOL/tmp"
# "to" is the called party's URI: its user part is what matters (recipient's %u); the host may be
# umd's FQDN (DESIGN's example) or what the gateway dialled.
check "ID.json: id, call_id, gateway, to, media, truncated, um_thumbprint" jqf "$M.json" ".id == \"$ID\" and .call_id == \"$CALLID\" and .gateway == \"gw1\" and (.to | test(\"^sips?:1001@\")) and .media == \"$SUITE\" and .truncated == false and (.um_thumbprint | test(\"^[0-9A-F]{40}$\"))"
check "... started is ISO 8601 UTC and seconds a number" jqf "$M.json" '(.started | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) and (.seconds | type == "number")'
check "ID.wav is RIFF PCM 16-bit 8000 Hz mono" python3 -c "import wave, sys; w = wave.open(sys.argv[1]); sys.exit(not (w.getframerate() == 8000 and w.getnchannels() == 1 and w.getsampwidth() == 2))" "$M.wav"
audio analyze "$M.wav" >"$WORK/message.json"
check "the message holds the caller's 1000 Hz for about $TONE_S s" audio has-tone "$M.wav" 1000 2.6 --max 3.4
check "... and no greeting (recording starts after the beep)" no_tone "$M.wav" 440

# --- what baresip heard ---------------------------------------------------------------------------
HEARD=$(baresip_recording gw dec)
audio analyze "$HEARD" >"$WORK/heard.json"
check "baresip heard the greeting (440 Hz, $GREET_S s)" audio has-tone "$HEARD" 440 0.8 --max 1.2
check "... then a beep (another tone, 0.1 s or more)" jqf "$WORK/heard.json" '[.segments[] | select(.kind == "tone" and (.hz < 420 or .hz > 460) and .end - .start >= 0.1)] | length >= 1'

# --- the wire: SRTP both ways, decrypted with the SDP's keys --------------------------------------
capture_stop sec
UKEY=$(jq -r '.crypto[0].key' "$WORK/answer.json")
GKEY=$(jq -r '.crypto[0].key' "$WORK/offer.json")
"$SRTP_DECRYPT" --pcap "$WORK/sec.pcap" --port "$UPORT" --suite "$SUITE" --key "$UKEY" --wav "$WORK/wire-umd.wav" >"$WORK/wire-umd.json"
expect_eq "umd -> gw: every packet authenticates and decrypts with umd's key" 0 "$?"
check "... a call's worth of them (over 250)" jqf "$WORK/wire-umd.json" '.decrypted > 250'
check "... G.711 on the wire is ciphertext (no packet looks like plain G.711)" jqf "$WORK/wire-umd.json" '.audio_packets > 250 and .g711_like == 0'
check "... and decrypted, it is audio" jqf "$WORK/wire-umd.json" '.audio_packets > 0 and .decoded_g711_like == .audio_packets'
check "... that holds the greeting" audio has-tone "$WORK/wire-umd.wav" 440 0.8
"$SRTP_DECRYPT" --pcap "$WORK/sec.pcap" --port "$UPORT" --dst --suite "$SUITE" --key "$GKEY" --wav "$WORK/wire-gw.wav" >"$WORK/wire-gw.json"
check "gw -> umd: every packet decrypts with the gateway's key but the $FORGED forged ones" jqf "$WORK/wire-gw.json" ".decrypted > 250 and .failed == $FORGED"
check "... ciphertext on the wire" jqf "$WORK/wire-gw.json" '.audio_packets > 250 and .g711_like == 0'
check "... carrying the tone" audio has-tone "$WORK/wire-gw.wav" 1000 2.8
check "... and the '#' (payload type 101)" jqf "$WORK/wire-gw.json" '.payload_types | index(101)'
"$SRTP_DECRYPT" --pcap "$WORK/sec.pcap" --port "$((UPORT + 1))" --rtcp --suite "$SUITE" --key "$UKEY" >"$WORK/wire-rtcp.json"
check "umd's RTCP (sender reports every 5 s) is SRTCP and decrypts with umd's key" jqf "$WORK/wire-rtcp.json" '.decrypted >= 1 and .failed == 0'
"$SRTP_DECRYPT" --pcap "$WORK/sec.pcap" --port "$UPORT" --suite "$SUITE" --key "$GKEY" >"$WORK/wire-wrong.json"
expect_eq "control: umd's packets do not decrypt with the gateway's key" 1 "$?"
check "... not one of them" jqf "$WORK/wire-wrong.json" '.packets > 250 and .decrypted == 0'

# --- secured mode refuses a gateway that offers plain RTP (488) ------------------------------------
check "baresip starts as gw1 without SRTP" baresip_start plain "$WORK/gw1plain" "$WORK/gw1.pem" "$WORK/gw1.key" "" "$WORK/caller.wav"
baresip_dial plain "sip:1001@127.0.0.1:$PORT;transport=tls" >/dev/null
check "secured: an RTP/AVP offer is refused" baresip_wait_event plain CALL_CLOSED 10
check "... with 488" jqf "$WORK/plain.events" 'select(.type == "CALL_CLOSED") | .param | test("488")'
baresip_stop plain
baresip_stop gw
umd_stop a
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

# --- unsecured: plain RTP over UDP, the call ended by silence; user 1002's own greeting ------------
PORT2=$(free_port)
media_conf "$WORK/plain.conf" unsecured "$PORT2" "" <<CONF
[gateway gw1]
address = 127.0.0.1
CONF
check "umd starts unsecured" umd_start b "$WORK/plain.conf"
check "tcpdump again" capture_start plain
check "baresip starts without a certificate or SRTP" baresip_start gw2 "$WORK/gw2" "" "" "" "$WORK/caller2.wav"
check "baresip dials 1002 over UDP" baresip_dial gw2 "sip:1002@127.0.0.1:$PORT2"
check "the call is established" baresip_wait_event gw2 CALL_ESTABLISHED 10
CALLID2=$(baresip_call_id gw2)
baresip_sdp gw2 answer >"$WORK/answer2.json"
check "umd answered RTP/AVP without a key" jqf "$WORK/answer2.json" '.proto == "RTP/AVP" and (.crypto | length) == 0'
check "CallAnswered says RTP" event_has b 1030 ".call_id == \"$CALLID2\" and .media == \"RTP\""
# 2 s of tone from 2.5 s, then silence: umd hangs up silence_seconds later, 8.5 s in.
check "umd ends the call after $SILENCE_S s of silence" baresip_wait_event gw2 CALL_CLOSED 20
check "VoiceMessageRecorded for 1002" event_has b 1032 '.to | test("^sip:1002@")'
ID2=$(events b 1032 | tail -1 | jq -r .id)
check "... its JSON says RTP, to 1002" jqf "$SPOOL/new/$ID2.json" '.media == "RTP" and (.to | test("^sip:1002@"))'
check "... its audio holds the 2 s tone" audio has-tone "$SPOOL/new/$ID2.wav" 1000 1.7 --max 2.3
HEARD2=$(baresip_recording gw2 dec)
check "baresip heard 1002's own greeting (660 Hz)" audio has-tone "$HEARD2" 660 0.8
check "... not the default one" no_tone "$HEARD2" 440
capture_stop plain
PPORT=$(jq -r .port "$WORK/answer2.json")
"$SRTP_DECRYPT" --pcap "$WORK/plain.pcap" --port "$PPORT" --plain --wav "$WORK/wire-plain.wav" >"$WORK/wire-plain.json"
expect_eq "unsecured: umd's packets are valid RTP" 0 "$?"
check "... plain G.711 on the wire (the measure the SRTP checks rely on sees it)" jqf "$WORK/wire-plain.json" '.audio_packets > 100 and .g711_like == .audio_packets'
check "... holding the 660 Hz greeting" audio has-tone "$WORK/wire-plain.wav" 660 0.8
baresip_stop gw2
umd_stop b
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

finish
