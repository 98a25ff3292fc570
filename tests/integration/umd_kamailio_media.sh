#!/bin/bash
# A voice message through a real SIP gateway's signalling path: baresip (the phone, plain UDP)
# sends its INVITE to Kamailio, which relays it to umd (sipsecured) over mutual TLS as
# umd_kamailio.sh sets it up (umd's certificate exported into Kamailio's CA list, the gateway
# CA's root trusted by umd, record-routed so ACK and BYE follow the same path). The media does
# not pass the gateway: RTP goes straight between the addresses baresip and umd put in their
# SDP. baresip leaves a 1000 Hz tone and presses '#'; umd's BYE goes back through Kamailio.
# Negative: the same call through a Kamailio whose certificate names another FQDN never
# reaches umd's media, and no message is recorded.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
. "$(dirname "$0")/sip.sh"
. "$(dirname "$0")/baresip.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
cc() { "$CERTCTL" --store "$S" "$@"; }
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
# hup NAME: SIGHUP to umd NAME, and wait until it logs the reload
hup() {
	n=$(grep -c 'configuration reloaded' "$WORK/$1.log")
	kill -HUP "$(eval echo "\$UMD_PID_$1")"
	for _ in $(seq 50); do
		[ "$(grep -c 'configuration reloaded' "$WORK/$1.log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
no_tone() { [ -s "$1" ] && ! audio has-tone "$1" "$2" 0.2; }
# kam_saw DIR REGEX: Kamailio's log in DIR has a line matching REGEX
kam_saw() { grep -Eq -- "$2" "$1/kamailio.log" || { grep -E 'GW-' "$1/kamailio.log" | tail; return 1; }; }

# --- certificates, as in umd_kamailio.sh ---------------------------------------------------------
PKI="$WORK/pki"
mkdir -p "$PKI"
make_pki "$PKI" "$(free_port)" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
ec="EC -pkeyopt ec_paramgen_curve:P-256"
pki_issue "$PKI" int gw1 gw1.example.test DNS:gw1.example.test leaf "$ec" -days 300 >/dev/null 2>&1
pki_issue "$PKI" int gw9 gw9.example.test DNS:gw9.example.test leaf "$ec" -days 300 >/dev/null 2>&1
for n in gw1 gw9; do cat "$PKI/$n.pem" "$PKI/int.pem" >"$PKI/$n.full.pem"; done

# --- umd: sipsecured (TLS signalling, RTP allowed), with media -----------------------------------
mkdir -p "$S-greetings"
audio tone "$S-greetings/default.wav" 440 1
LEAD_S=2.5 TONE_S=3 DTMF_AT=6.5
audio tone "$WORK/caller.wav" 1000 "$TONE_S" --silence-before "$LEAD_S" --silence-after 40
PORT=$(free_port)
MLO=$((20000 + (RANDOM % 40) * 200))
umd_conf "$WORK/umd.conf" sipsecured "$PORT" "$S" "" <<CONF
media_ports = $MLO-$((MLO + 199))
max_message_seconds = 30
silence_seconds = 5

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
CONF
check "umd starts (sipsecured) with an empty store" umd_start a "$WORK/umd.conf"
check "trust the gateway's CA root" cc trust add "$PKI/root.pem" --type enterprise
check "umd reloads on SIGHUP" hup a
UMT=$(events a 1000 | tail -1 | jq -r .thumbprint)
check "export umd's certificate for the gateway" cc export "$UMT" --out "$WORK/umd-export.pem"

# --- the gateway, and the phone behind it --------------------------------------------------------
KPORT=$(free_port)
check "Kamailio starts as gateway gw1" kamailio_start "$WORK/k/gw1" "$KPORT" "$PKI/gw1.full.pem" "$PKI/gw1.key" "$WORK/umd-export.pem" 127.0.0.1 "$PORT"
check "its OPTIONS keep-alives get 200 over mutual TLS" kamailio_wait_ping 200 15
K1=$KAM_DIR
check "baresip starts (UDP, RTP, no certificate)" baresip_start ph "$WORK/ph" "" "" "" "$WORK/caller.wav"
# The phone's next hop is the gateway: it dials the gateway's UDP address, which relays
# everything from that side to umd over TLS.
check "baresip dials 1001 through Kamailio (UDP)" baresip_dial ph "sip:1001@127.0.0.1:$KPORT"
check "the call is established" baresip_wait_event ph CALL_ESTABLISHED 10
EST=$(date +%s.%N)
check "Kamailio relayed the INVITE from the UDP side" kam_saw "$K1" "GW-REQUEST INVITE from udp:"
check "... and umd's 200 came back to it over TLS" kam_saw "$K1" "GW-REPLY 200 INVITE from tls:127.0.0.1:$PORT"
check "... and the ACK" kam_saw "$K1" "GW-REQUEST ACK from udp:"
baresip_sdp ph offer >"$WORK/offer.json"
baresip_sdp ph answer >"$WORK/answer.json"
BPORT=$(jq -r .port "$WORK/offer.json")
UPORT=$(jq -r .port "$WORK/answer.json")
check "umd answered RTP/AVP, no key" jqf "$WORK/answer.json" '.proto == "RTP/AVP" and (.crypto | length) == 0'
check "... with its own address and a port of media_ports (the media bypasses Kamailio)" jqf "$WORK/answer.json" ".address == \"127.0.0.1\" and .port >= $MLO and .port <= $MLO + 199"
check "CallAnswered (1030): gateway gw1, media RTP" event_has a 1030 '.gateway == "gw1" and .media == "RTP" and (.to | test("^sip:1001@"))'
CALLID=$(events a 1030 | tail -1 | jq -r .call_id)
# Where the media flows: UDP sockets of umd (by its pid) and of baresip on the SDP's ports.
check "umd holds its media port $UPORT open" bash -c "ss -Hunap 'sport = :$UPORT' | grep -q 'pid=$UMD_PID_a,'"
check "no socket of Kamailio's is on either media port" bash -c "! ss -Hunap '( sport = :$UPORT or sport = :$BPORT )' | grep -q kamailio"

python3 -c "import time; time.sleep(max(0.0, $EST + $DTMF_AT - time.time()))"
CLOSED=$(baresip_events ph CALL_CLOSED | wc -l)
check "baresip sends '#' (RFC 4733, in the media)" baresip_dtmf ph "#"
check "umd hangs up: baresip gets the BYE within 3 s" baresip_wait_event ph CALL_CLOSED 3 $((CLOSED + 1))
check "... the BYE came through Kamailio from umd's side (TLS)" kam_saw "$K1" "GW-REQUEST BYE from tls:"
check "CallEnded (1031): reason dtmf" event_has a 1031 ".call_id == \"$CALLID\" and .reason == \"dtmf\""
check "VoiceMessageRecorded (1032) to 1001" event_has a 1032 '(.to | test("^sips?:1001@")) and .truncated == false'
ID=$(events a 1032 | tail -1 | jq -r .id)
M="$S-spool/new/$ID"
check "ID.json: the call, gateway gw1, media RTP" jqf "$M.json" ".call_id == \"$CALLID\" and .gateway == \"gw1\" and .media == \"RTP\" and .truncated == false"
check "the message holds the caller's 1000 Hz for about $TONE_S s" audio has-tone "$M.wav" 1000 2.6 --max 3.4
check "... and no greeting" no_tone "$M.wav" 440
HEARD=$(baresip_recording ph dec)
check "baresip heard the greeting (440 Hz, 1 s)" audio has-tone "$HEARD" 440 0.8 --max 1.2
check "... and the beep (1400 Hz)" audio has-tone "$HEARD" 1400 0.1
baresip_stop ph
kamailio_stop "$K1"

# --- a gateway umd refuses: the phone's call gets no answer from umd, no message -----------------
n30=$(events a 1030 | wc -l)
n32=$(events a 1032 | wc -l)
KPORT9=$(free_port)
check "Kamailio whose certificate names gw9.example.test starts" kamailio_start "$WORK/k/gw9" "$KPORT9" "$PKI/gw9.full.pem" "$PKI/gw9.key" "$WORK/umd-export.pem" 127.0.0.1 "$PORT"
K9=$KAM_DIR
check "baresip starts again" baresip_start ph9 "$WORK/ph9" "" "" "" "$WORK/caller.wav"
check "baresip dials 1001 through it" baresip_dial ph9 "sip:1001@127.0.0.1:$KPORT9"
check "the call fails without being established" baresip_wait_event ph9 CALL_CLOSED 20
check "... never established" test -z "$(baresip_events ph9 CALL_ESTABLISHED)"
check "umd logs PeerRejected (1021): does not name gw1.example.test" event_has a 1021 '.reason | test("does not name gw1.example.test")'
check "umd answered no call and recorded nothing" test "$(events a 1030 | wc -l) $(events a 1032 | wc -l)" = "$n30 $n32"
baresip_stop ph9
kamailio_stop "$K9"
umd_stop a
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

finish
