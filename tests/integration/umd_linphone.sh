#!/bin/bash
# umd (secured) called by linphonec, a SIP/TLS gateway that verifies umd's certificate chain as
# an IP-PBX would: umd's UM certificate is issued for its FQDN by a test CA (root and
# intermediate), requested and imported with certctl; linphonec trusts the root only. The call
# is answered with SRTP (umd takes the first of linphone's offered suites it supports), linphonec
# hears the greeting and the beep, leaves a 1000 Hz tone and presses '#'; the spool holds it.
# Negative: linphonec trusting another root, and umd presenting a self-signed certificate, are
# both refused at the TLS handshake: no call reaches umd.
. "$(dirname "$0")/linphone.sh"
linphone_netns "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
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
no_tone() { [ -s "$1" ] && ! audio has-tone "$1" "$2" 0.2; }
# no_event NAME ID: umd NAME has logged no event ID
no_event() { [ -z "$(events "$1" "$2")" ] || { events "$1" "$2"; return 1; }; }

# --- the PKI: root, intermediate; umd's UM certificate and the gateway's, both by the intermediate
PKI="$WORK/pki"
mkdir -p "$PKI"
CRLPORT=$(free_port)
make_pki "$PKI" "$CRLPORT" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
# The CA publishes its CRLs where the certificates' distribution points say: umd's certificate
# is eligible only when its chain's revocation can be checked.
check "the CA's CRL server starts" http_serve "$PKI/www" "$CRLPORT"
export SAN
ec="EC -pkeyopt ec_paramgen_curve:P-256"
pki_issue "$PKI" int gw1 gw1.example.test DNS:gw1.example.test leaf "$ec" -days 300 >/dev/null 2>&1
cat "$PKI/gw1.pem" "$PKI/int.pem" >"$PKI/gw1.full.pem"

# umd's certificate as an administrator gets it: certctl request (the key stays in the store),
# the CA issues it with the SAN requested, certctl import (leaf and issuer) completes it.
out=$(cc request --domain um1.example.test --services UM --out "$WORK/um1.csr" 2>&1)
check "certctl request for um1.example.test (UM)" grep -q "um1.example.test" <<<"$out"
SAN=DNS:um1.example.test openssl ca -batch -notext -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" \
	-in "$WORK/um1.csr" -out "$WORK/um1.pem" -extensions leaf -days 200 \
	2>"$WORK/um1.err" </dev/null || cat "$WORK/um1.err"
check "the CA issued it with SAN DNS:um1.example.test" bash -c \
	"openssl x509 -in '$WORK/um1.pem' -noout -ext subjectAltName | grep -q 'DNS:um1.example.test'"
cat "$WORK/um1.pem" "$PKI/int.pem" >"$WORK/um1.chain.pem"
check "certctl trust add the root (enterprise)" cc trust add "$PKI/root.pem" --type enterprise
out=$(cc import "$WORK/um1.chain.pem" 2>&1)
UMT=$(awk 'NR==3 {print $1}' <<<"$out")
expect_eq "certctl import completes the request (its thumbprint)" "$(thumb_of_pem "$WORK/um1.pem")" "$UMT"
check "certctl select UM picks it for um1.example.test" bash -c \
	"'$CERTCTL' --store '$S' select --service UM --fqdn um1.example.test --format json | jq -e '.selected == \"$UMT\"'"

# --- umd, secured, with media ------------------------------------------------------------------
mkdir -p "$S-greetings"
audio tone "$S-greetings/default.wav" 440 1
LEAD_S=2.5 TONE_S=3 DTMF_AT=6.5
audio tone "$WORK/caller.wav" 1000 "$TONE_S" --silence-before "$LEAD_S" --silence-after 40
PORT=$(free_port)
MLO=$((20000 + (RANDOM % 40) * 200))
umd_conf "$WORK/umd.conf" secured "$PORT" "$S" "" <<CONF
media_ports = $MLO-$((MLO + 199))
max_message_seconds = 30
silence_seconds = 5

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
CONF
check "umd starts in secured mode" umd_start a "$WORK/umd.conf"
check "CertificateInUse (1000): the imported certificate, issued by the intermediate" \
	event_has a 1000 ".thumbprint == \"$UMT\" and (.issuer | test(\"umedge Test Intermediate\"))"
check "no self-signed certificate was made" no_event a 1002

# --- the call ----------------------------------------------------------------------------------
check "linphonec starts trusting the test root only" linphone_start gw "$WORK/lgw" "$PKI/gw1.full.pem" "$PKI/gw1.key" "$PKI/root.pem" srtp "$WORK/caller.wav"
check "linphonec dials umd over TLS" linphone_dial gw "sips:1001@127.0.0.1:$PORT"
check "the call is connected" linphone_wait gw "connected\." 15
EST=$(date +%s.%N)
check "its media streams are established" linphone_wait gw "Media streams established" 5
# belle-sip logs each certificate of the chain it verified, with mbedtls's flags: only the name
# check (CN-mismatch, allowed by verify_server_cn=0: the test dials 127.0.0.1) may be raised.
check "linphonec verified umd's chain up to the test root (depth 2, no flag)" grep -q "Found certificate depth=\[2\], flags=\[\]" "$WORK/gw.debug"
check "... through the intermediate (depth 1, no flag)" grep -q "Found certificate depth=\[1\], flags=\[\]" "$WORK/gw.debug"
check "... to umd's leaf, CN um1.example.test with its SAN" bash -c "grep -A12 'Found certificate depth=\[0\], flags=\[CN-mismatch \]' '$WORK/gw.debug' | grep -q 'dNSName : um1.example.test'"
linphone_sdp gw offer >"$WORK/offer.json"
linphone_sdp gw answer >"$WORK/answer.json"
OFFERED=$(jq -c '[.crypto[].suite]' "$WORK/offer.json" 2>/dev/null)
echo "# linphone offered $OFFERED"
check "linphonec offered RTP/SAVP with four SDES suites" jqf "$WORK/offer.json" '.proto == "RTP/SAVP" and (.crypto | length) == 4'
# umd takes the first line of the offer whose suite it supports (RFC 4568 7.1.2, offer order).
WANT=$(jq -r '[.crypto[] | select(.suite | test("^(AES_CM_128_HMAC_SHA1_(80|32)|AEAD_AES_(128|256)_GCM)$"))][0] | "\(.tag) \(.suite)"' "$WORK/offer.json" 2>/dev/null)
SUITE=${WANT#* }
echo "# umd should choose: $SUITE (tag ${WANT%% *})"
check "umd answered RTP/SAVP with one key: the first offered suite it supports, same tag" jqf "$WORK/answer.json" \
	".proto == \"RTP/SAVP\" and (.crypto | length) == 1 and .crypto[0].suite == \"$SUITE\" and .crypto[0].tag == ${WANT%% *}"
check "... a key of its own" bash -c "[ \"\$(jq -r '.crypto[0].key' '$WORK/answer.json')\" != \"\$(jq -r --arg s '$SUITE' '.crypto[] | select(.suite == \$s) | .key' '$WORK/offer.json')\" ]"
check "CallAnswered (1030): gw1, to 1001, media $SUITE" event_has a 1030 ".gateway == \"gw1\" and (.to | test(\"^sip:1001@\")) and .media == \"$SUITE\""
CALLID=$(events a 1030 | tail -1 | jq -r .call_id)

python3 -c "import time; time.sleep(max(0.0, $EST + $DTMF_AT - time.time()))"
check "the call is still up before '#'" bash -c "! grep -Eq 'ended \\(|error\\.' '$WORK/gw.log'"
linphone_dtmf gw "#"
check "umd ends the call on '#' (linphonec sees it end within 3 s)" linphone_wait gw "ended \(" 3
check "CallEnded (1031) for the call, reason dtmf" event_has a 1031 ".call_id == \"$CALLID\" and .reason == \"dtmf\""
check "VoiceMessageRecorded (1032) to 1001, not truncated" event_has a 1032 "(.to | test(\"^sips?:1001@\")) and .truncated == false"
ID=$(events a 1032 | tail -1 | jq -r .id)
M="$S-spool/new/$ID"
check "the spool holds ID.wav and ID.json" test -n "$ID" -a -s "$M.wav" -a -s "$M.json"
check "ID.json: the call, gw1, media $SUITE, umd's CA-issued thumbprint" jqf "$M.json" \
	".call_id == \"$CALLID\" and .gateway == \"gw1\" and .media == \"$SUITE\" and .um_thumbprint == \"$UMT\" and .truncated == false"
check "the message holds the caller's 1000 Hz for about $TONE_S s" audio has-tone "$M.wav" 1000 2.6 --max 3.4
check "... and no greeting" no_tone "$M.wav" 440
linphone_stop gw
HEARD=$(linphone_recording gw)
audio analyze "$HEARD" >"$WORK/heard.json"
check "linphonec heard the greeting (440 Hz, 1 s)" audio has-tone "$HEARD" 440 0.8 --max 1.2
check "... then the beep (1400 Hz)" audio has-tone "$HEARD" 1400 0.1

# --- linphonec trusting another root refuses umd's certificate -----------------------------------
n30=$(events a 1030 | wc -l)
n20=$(events a 1020 | wc -l)
check "linphonec starts trusting another root (Stranger Root)" linphone_start bad "$WORK/lbad" "$PKI/gw1.full.pem" "$PKI/gw1.key" "$PKI/other.pem" srtp "$WORK/caller.wav"
linphone_dial bad "sips:1001@127.0.0.1:$PORT"
check "its call fails" linphone_wait bad "error\.|ended \(" 15
check "linphonec refused the chain: the intermediate is not trusted" grep -Eq "Found certificate depth=\[1\], flags=\[[^]]*not-trusted" "$WORK/bad.debug"
check "... and failed the handshake" grep -q "SSL handshake failed : X509 - Certificate verification failed" "$WORK/bad.debug"
check "umd logs TlsHandshakeFailed (1020) for it" wait_event a 1020 $((n20 + 1))
check "umd answered no call" test "$(events a 1030 | wc -l)" -eq "$n30"
linphone_stop bad
umd_stop a
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

# --- umd with a self-signed certificate: linphonec (the right root) refuses it -------------------
PORT2=$(free_port)
S2="$WORK/store2"
umd_conf "$WORK/self.conf" secured "$PORT2" "$S2" "" <<CONF
media_ports = $MLO-$((MLO + 199))
spool = $S-spool
greeting = $S-greetings/default.wav

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
CONF
out=$("$CERTCTL" --store "$S2" new --domain um1.example.test --services UM 2>&1)
SST=$(awk 'NR==3 {print $1}' <<<"$out")
check "a self-signed UM certificate for um1.example.test (certctl new)" grep -Eq '^[0-9A-F]{40}$' <<<"$SST"
check "umd's second store trusts the gateway's root too" "$CERTCTL" --store "$S2" trust add "$PKI/root.pem" --type enterprise
check "umd starts with it" umd_start b "$WORK/self.conf"
check "CertificateInUse (1000): the self-signed certificate" event_has b 1000 ".thumbprint == \"$SST\" and .issuer == \"CN=um1.example.test\""
check "linphonec starts trusting the test root" linphone_start gw2 "$WORK/lgw2" "$PKI/gw1.full.pem" "$PKI/gw1.key" "$PKI/root.pem" srtp "$WORK/caller.wav"
linphone_dial gw2 "sips:1001@127.0.0.1:$PORT2"
check "its call fails" linphone_wait gw2 "error\.|ended \(" 15
check "linphonec refused the self-signed certificate (not trusted)" grep -Eq "Found certificate depth=\[0\], flags=\[[^]]*not-trusted" "$WORK/gw2.debug"
check "... and failed the handshake" grep -q "SSL handshake failed : X509 - Certificate verification failed" "$WORK/gw2.debug"
check "umd logs TlsHandshakeFailed (1020)" wait_event b 1020
check "umd answered no call" no_event b 1030
linphone_stop gw2
umd_stop b
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

finish
