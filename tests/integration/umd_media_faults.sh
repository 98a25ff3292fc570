#!/bin/bash
# umd's media under bad input: SRTP with flipped bits and a wrong
# key, replayed packets, packets from a third address, garbage, 2,000-byte datagrams, a flood of
# 10,000 packets/s at a call's port, an SSRC change mid-call; unsupported suites and parameters;
# a hang-up during the greeting; more calls than max_calls; and kill -9 mid-recording. Each
# time the call and the calls beside it go on or end cleanly, nothing recorded is lost, and
# counters and events say what happened. The gateway is siptls.py (SIP over mutual TLS) with
# rtp_peer (its media, SRTP with libsrtp2, and the attacks).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
RTP_PEER=${RTP_PEER:?set RTP_PEER to tests/tools rtp_peer}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
SUITE=AES_CM_128_HMAC_SHA1_80
siptls() { python3 "$D/siptls.py" "$@"; }
audio() { python3 "$D/audio.py" "$@"; }

"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
GWT=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$GWT.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$GWT.key" "$WORK/gw1.key"
mkdir -p "$S-greetings"
audio tone "$S-greetings/default.wav" 500 2 >/dev/null

PORT=$(free_port)
HTTP=$(free_port)
MEDIA_LO=$((20000 + (RANDOM % 400) * 100))
umd_conf "$WORK/umd.conf" secured "$PORT" "$S" "$HTTP" <<CONF
media_ports = $MEDIA_LO-$((MEDIA_LO + 99))
max_calls = 3
silence_seconds = 4
max_message_seconds = 30

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF
check "umd starts in secured mode with media" umd_start a "$WORK/umd.conf"

# call NAME RTP_PORT [siptls call options...]: places a call in the background; waits for
# umd's answer and sets NAME_PORT (umd's media port) and NAME_KEY (umd's SDES key).
KEY_A=WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
KEY_B=QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk
call() {
	name=$1 rport=$2
	shift 2
	te=--te
	[ "${NO_TE:-}" = 1 ] && te=
	siptls --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" call --sdp savp \
		--rtp-port "$rport" $te "$@" >"$WORK/$name.sip" 2>&1 &
	eval "CALL_PID_$name=$!"
	for _ in $(seq 100); do grep -q "^a=crypto" "$WORK/$name.sip" && break; sleep 0.1; done
	eval "${name}_PORT=$(awk '/^m=audio/ {print $2}' "$WORK/$name.sip")"
	eval "${name}_KEY=$(sed -n 's/^a=crypto:[0-9]* [A-Z0-9_]* inline:\([^ |]*\).*/\1/p' "$WORK/$name.sip")"
}
metric() { python3 -c "import urllib.request as u; t=u.urlopen('http://127.0.0.1:$HTTP/metrics', timeout=5).read().decode(); print(sum(float(l.split()[-1]) for l in t.splitlines() if l.startswith('$1')))"; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 >= b + 0)}'; }
last_message() { ls -t "$S-spool/new/"*.json 2>/dev/null | head -1; }

# --- a call under attack, and a quiet one beside it -------------------------------------------------
RA=$(free_port)
RB=$(free_port)
call A "$RA" --sdes-key "$KEY_A" --until-bye 60
NO_TE=1 call B "$RB" --sdes-key "$KEY_B" --until-bye 60
check "call A answered with SRTP ($SUITE) and umd's own key" bash -c "grep -q 'INVITE SIP/2.0 200' '$WORK/A.sip' && [ -n '$A_KEY' ] && [ '$A_KEY' != '$KEY_A' ]"
check "call B answered" grep -q "INVITE SIP/2.0 200" "$WORK/B.sip"
# B (no telephone-event offered): greeting, beep, 6 s of 700 Hz, '#' in-band. A: greeting and beep, 1 s of 1000 Hz, then every
# attack, a new SSRC, 1 s more of 1000 Hz, '#'.
"$RTP_PEER" --to "$B_PORT" --bind "$RB" --suite $SUITE --tx-key "$KEY_B" --rx-key "$B_KEY" \
	silence 2.6 tone 700 6 inband silence 1 >"$WORK/B.peer" 2>&1 &
PEER_B=$!
"$RTP_PEER" --to "$A_PORT" --bind "$RA" --suite $SUITE --tx-key "$KEY_A" --rx-key "$A_KEY" \
	silence 2.6 tone 1000 1 replay 5 flip 20 wrongkey 20 third 20 garbage 50 big 20 \
	flood 10000 2 ssrc tone 1000 1 hash silence 1 >"$WORK/A.peer" 2>&1
wait $PEER_B
wait "$CALL_PID_A" "$CALL_PID_B"
check "A: umd heard '#' through it all and hung up (BYE)" grep -q "RECEIVED BYE" "$WORK/A.sip"
check "B: umd hung up on an in-band '#' (no telephone-event offered: spandsp's detector)" grep -q "RECEIVED BYE" "$WORK/B.sip"
check "A: every packet umd sent authenticated with umd's key" jq -e '.decrypted > 100 and .failed == 0' "$WORK/A.peer"
check "A: the gateway heard the greeting (500 Hz) first, then the beep (1400 Hz)" jq -e '[.heard[] | select(.[1] >= 100) | .[0]] | .[0] == 500 and index(1400) > 0' "$WORK/A.peer"
check "CallEnded for both, reason dtmf" bash -c "[ \$(grep '\"event_id\":1031' '$WORK/a.log' | grep -c '\"reason\":\"dtmf\"') -ge 2 ]"
check "VoiceMessageRecorded for both" wait_event a 1032 2
check "authentication failures counted (flipped bits, wrong key, garbage)" at_least "$(metric 'umd_srtp_failures_total{check="authentication"}')" 40
check "replays counted" at_least "$(metric 'umd_srtp_failures_total{check="replay"}')" 5
check "packets from a third address counted" at_least "$(metric 'umd_media_dropped_total{reason="source_address"}')" 20
check "MediaSecurityFailure names each reason (rate-limited)" bash -c "for r in authentication replay 'source address'; do grep '\"event_id\":1033' '$WORK/a.log' | grep -q \"\\\"reason\\\":\\\"\$r\\\"\" || exit 1; done"
check "... at most one per reason per 10 s of a call" bash -c "[ \$(grep -c '\"event_id\":1033' '$WORK/a.log') -le 8 ]"
for m in $(grep '"event_id":1032' "$WORK/a.log" | jq -r .id); do
	jq -r .to "$S-spool/new/$m.json" >/dev/null
done
# B's message is the one with 700 Hz in it.
MA="" MB=""
for m in $(grep '"event_id":1032' "$WORK/a.log" | jq -r .id); do
	if python3 "$D/audio.py" has-tone "$S-spool/new/$m.wav" 700 1 >/dev/null; then MB=$m; else MA=$m; fi
done
check "A's message holds its 1000 Hz, before and after the attacks and the new SSRC (2 s)" audio has-tone "$S-spool/new/$MA.wav" 1000 1.8 --max 2.3
check "... and nothing of the attackers' 440 Hz" bash -c "! python3 '$D/audio.py' has-tone '$S-spool/new/$MA.wav' 440 0.1"
check "B's message, beside the flood, holds its 6 s of 700 Hz" audio has-tone "$S-spool/new/$MB.wav" 700 5.8 --max 6.3
check "B's answer names no telephone-event (none was offered)" bash -c "grep '^m=audio' '$WORK/B.sip' | grep -qv ' 101'"
check "A's answer takes telephone-event 101" bash -c "grep '^m=audio' '$WORK/A.sip' | grep -q ' 101'"
check "the messages' metadata: media is the SRTP suite, not truncated" bash -c "jq -e '.media == \"$SUITE\" and .truncated == false and .gateway == \"gw1\"' '$S-spool/new/$MA.json' '$S-spool/new/$MB.json'"

# --- offers umd refuses -------------------------------------------------------------------------------
siptls --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" call --sdp savp --suite AES_256_CM_HMAC_SHA1_80 --sdes-key "$KEY_A$KEY_A" >"$WORK/unsup.txt"
check "an unsupported suite only: 488" grep -q "INVITE SIP/2.0 488" "$WORK/unsup.txt"
check "... with a Warning naming it" grep -q "^Warning: 305 umd .*AES_256_CM_HMAC_SHA1_80" "$WORK/unsup.txt"
siptls --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" call --sdp savp --sdes-key "$KEY_A|2^20|1:4" >"$WORK/mki.txt"
check "a key with an MKI and a short lifetime: 488 saying why" grep -qi "^Warning: 305 umd .*\(MKI\|lifetime\)" "$WORK/mki.txt"

# --- a hang-up during the greeting leaves no message ---------------------------------------------------
n32=$(events a 1032 | wc -l)
RC=$(free_port)
touch "$WORK/hangup-now"
siptls --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" call --sdp savp --rtp-port "$RC" --hold-until "$WORK/hangup-now" >"$WORK/C.sip"
check "a call hung up during the greeting: BYE 200" grep -q "BYE SIP/2.0 200" "$WORK/C.sip"
check "... logged: no voice message" bash -c "sleep 0.5; grep -q 'before the beep: no voice message' '$WORK/a.log'"
check "... and none was recorded" bash -c "[ \$(grep -c '\"event_id\":1032' '$WORK/a.log') -eq $n32 ]"

# --- more calls than max_calls: 503 with Retry-After ----------------------------------------------------
for n in 1 2 3; do call "M$n" "$(free_port)" --hold-until "$WORK/release" --hold-max 30; done
siptls --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" call --sdp savp >"$WORK/busy.txt"
check "a fourth call beyond max_calls (3): 503" grep -q "INVITE SIP/2.0 503" "$WORK/busy.txt"
check "... refused calls counted" at_least "$(metric umd_calls_refused_busy_total)" 1
touch "$WORK/release"
wait "$CALL_PID_M1" "$CALL_PID_M2" "$CALL_PID_M3"
check "umd_active_calls back to 0 once they hung up" bash -c "sleep 1; [ \"\$(python3 -c \"import urllib.request as u; t=u.urlopen('http://127.0.0.1:$HTTP/metrics', timeout=5).read().decode(); print([l.split()[1] for l in t.splitlines() if l.startswith('umd_active_calls ')][0])\")\" = 0 ]"

# --- kill -9 mid-recording: the message is recovered at the next start ----------------------------------
RK=$(free_port)
call K "$RK" --sdes-key "$KEY_A" --until-bye 30
"$RTP_PEER" --to "$K_PORT" --bind "$RK" --suite $SUITE --tx-key "$KEY_A" --rx-key "$K_KEY" \
	silence 2.6 tone 1000 3.5 >"$WORK/K.peer" 2>&1
kill -KILL "$UMD_PID_a"
wait "$UMD_PID_a" 2>/dev/null
UMD_PID_a=
wait "$CALL_PID_K" 2>/dev/null
check "umd killed mid-recording left the message in tmp/" bash -c "ls '$S-spool/tmp/'*.wav >/dev/null 2>&1"
check "umd starts again" umd_start a2 "$WORK/umd.conf"
check "... and logs the recovered message (VoiceMessageRecorded, truncated)" bash -c "grep '\"event_id\":1032' '$WORK/a2.log' | jq -e '.truncated == true'"
KID=$(grep '"event_id":1032' "$WORK/a2.log" | jq -r .id | head -1)
check "the recovered message is in new/ with its metadata, truncated" jq -e ".truncated == true and .media == \"$SUITE\" and .gateway == \"gw1\"" "$S-spool/new/$KID.json"
check "... and holds what was said up to the kill, less at most a second (3.5 s sent)" audio has-tone "$S-spool/new/$KID.wav" 1000 2.4
check "tmp/ is empty again" bash -c "[ -z \"\$(ls -A '$S-spool/tmp')\" ]"
umd_stop a2
expect_eq "umd stops cleanly" 0 "$UMD_RC"
finish
