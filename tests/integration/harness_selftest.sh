#!/bin/bash
# The SIP harness tested without umd: a throw-away PKI, tests/integration/sipresponder.py as
# the SIP/TLS listener (mutual TLS, TLS 1.2+, strong ciphers only), real Kamailio gateways in
# front of it, sipclient.py calls through Kamailio, the openssl probes against a strict and a
# legacy listener, sofia's sip-options against the unsecured side. Everything started is
# stopped at the end (and checked to be gone).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/sip.sh"
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY
for tool in kamailio openssl python3 sip-options; do
	command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
START=$SECONDS
PKI="$WORK/pki"
mkdir -p "$PKI"
make_pki "$PKI" "$(free_port)" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
ec="EC -pkeyopt ec_paramgen_curve:P-256"
{
	pki_issue "$PKI" int gw1 gw1.example.test DNS:gw1.example.test leaf "$ec" -days 300 &&
	pki_issue "$PKI" int gw2 gw2.example.test DNS:gw2.example.test leaf "$ec" -days 300 &&
	pki_issue "$PKI" other rogue gw1.example.test DNS:gw1.example.test leaf "$ec" -days 300 &&
	pki_issue "$PKI" int umrsa um.example.test DNS:um.example.test leaf "RSA -pkeyopt rsa_keygen_bits:2048" -days 300
} >>"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
for n in gw1 gw2 rogue umrsa; do cat "$PKI/$n.pem" "$PKI/$n.chain.pem" >"$PKI/$n.full.pem"; done
UM_FP=$(openssl x509 -in "$PKI/umrsa.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')

# --- the stand-in for umd: strict TLS on R, plain UDP/TCP on U/T --------------------------------
R=$(free_port) U=$(free_port) T=$(free_port)
RLOG="$WORK/responder.log"
sipresponder_start "$RLOG" --tls-port "$R" --udp-port "$U" --tcp-port "$T" \
	--cert "$PKI/umrsa.full.pem" --key "$PKI/umrsa.key" --ca "$PKI/root.pem" \
	--peer-name gw1.example.test --handshake-timeout 2 || exit 1
RPID=$SIPRESPONDER_PID
rlog_has() { grep -q -E -- "$1" "$RLOG"; }

# --- a good gateway: pings over mutual TLS ------------------------------------------------------
KU=$(free_port)
check "kamailio (gw1) starts" kamailio_start "$WORK/kgood" "$KU" "$PKI/gw1.full.pem" "$PKI/gw1.key" \
	"$PKI/root.pem" 127.0.0.1 "$R"
KGOOD=$KAM_DIR
check "its OPTIONS pings get 200" kamailio_wait_ping 200 10 "$KGOOD"
check "the listener saw a mutual-TLS handshake with gw1's certificate" \
	rlog_has "HANDSHAKE-OK .* subject=CN=gw1.example.test"
check "... and the pings as OPTIONS over TLS from gw1" \
	rlog_has "REQUEST OPTIONS proto=tls .*subject=CN=gw1.example.test ruri=sip:127.0.0.1:$R;transport=tls"
check "kamailio_ping_count counts them" test "$(kamailio_ping_count 200 "$KGOOD")" -ge 1

# --- gateways the listener must refuse, and one that must refuse the listener -------------------
kamailio_start "$WORK/krogue" "$(free_port)" "$PKI/rogue.full.pem" "$PKI/rogue.key" "$PKI/root.pem" \
	127.0.0.1 "$R" --fr-timer 2000 >"$WORK/krogue.err" 2>&1 || { cat "$WORK/krogue.err"; exit 1; }
kamailio_start "$WORK/kgw2" "$(free_port)" "$PKI/gw2.full.pem" "$PKI/gw2.key" "$PKI/root.pem" \
	127.0.0.1 "$R" --fr-timer 2000 >"$WORK/kgw2.err" 2>&1 || { cat "$WORK/kgw2.err"; exit 1; }
kamailio_start "$WORK/knocert" "$(free_port)" "$PKI/gw1.full.pem" "$PKI/gw1.key" "$PKI/root.pem" \
	127.0.0.1 "$R" --fr-timer 2000 --no-client-cert >"$WORK/knocert.err" 2>&1 || { cat "$WORK/knocert.err"; exit 1; }
kamailio_start "$WORK/kdistrust" "$(free_port)" "$PKI/gw1.full.pem" "$PKI/gw1.key" "$PKI/other.pem" \
	127.0.0.1 "$R" --fr-timer 2000 >"$WORK/kdistrust.err" 2>&1 || { cat "$WORK/kdistrust.err"; exit 1; }
# (they fail in the background while the calls and probes below run)

# --- a listener with a self-signed certificate (as umd makes when none is eligible), which the
# gateway trusts by having that certificate as its CA list; SNI and a Request-URI naming the FQDN
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ss.key" \
	-out "$PKI/ss.pem" -days 30 -subj /CN=um1.example.test \
	-addext "basicConstraints=critical,CA:FALSE" \
	-addext "keyUsage=critical,digitalSignature,keyEncipherment" \
	-addext "extendedKeyUsage=serverAuth,clientAuth" \
	-addext "subjectAltName=DNS:um1.example.test" >>"$WORK/pki.log" 2>&1
S=$(free_port)
SLOG="$WORK/selfsigned.log"
sipresponder_start "$SLOG" --tls-port "$S" --cert "$PKI/ss.pem" --key "$PKI/ss.key" \
	--ca "$PKI/root.pem" --peer-name gw1.example.test || exit 1
kamailio_start "$WORK/kss" "$(free_port)" "$PKI/gw1.full.pem" "$PKI/gw1.key" "$PKI/ss.pem" \
	127.0.0.1 "$S" --server-name um1.example.test --ping-ruri "sip:um1.example.test;transport=tls" \
	>"$WORK/kss.err" 2>&1 || { cat "$WORK/kss.err"; exit 1; }

# --- calls through the gateway ------------------------------------------------------------------
python3 "$SIPCLIENT" call --to "sip:um@127.0.0.1:$R" --via-port "$KU" --sdp avp --hold 0.5 >"$WORK/call1.out" 2>&1
expect_eq "a call through kamailio's UDP socket succeeds" 0 "$?"
check "... INVITE answered 200" grep -q '^INVITE SIP/2.0 200' "$WORK/call1.out"
check "... BYE answered 200" grep -q '^BYE SIP/2.0 200' "$WORK/call1.out"
check "... the offer was RTP/AVP" grep -q '^SDP m=audio .* RTP/AVP ' "$WORK/call1.out"
for m in INVITE ACK BYE; do
	check "... $m reached the listener over TLS from gw1" \
		rlog_has "REQUEST $m proto=tls .*subject=CN=gw1.example.test"
done
check "... ACK and BYE followed the record-routed path through kamailio" \
	bash -c "grep -q 'GW-REQUEST ACK from udp' '$KGOOD/kamailio.log' && grep -q 'GW-REQUEST BYE from udp' '$KGOOD/kamailio.log'"
python3 "$SIPCLIENT" call --to "sip:um@127.0.0.1:$R" --via-port "$KU" --sdp savp >"$WORK/call2.out" 2>&1
expect_eq "an SRTP (RTP/SAVP) call succeeds" 0 "$?"
check "... the answer carries its own a=crypto key" grep -q '^SDP a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:' "$WORK/call2.out"

# a call held until a file appears (how a test changes the certificate mid-call)
SIG="$WORK/bye.signal"
python3 "$SIPCLIENT" call --to "sip:um@127.0.0.1:$R" --via-port "$KU" --sdp avp \
	--bye-after-signal "$SIG" --signal-timeout 20 >"$WORK/call3.out" 2>&1 &
CALL3=$!
_sip_wait_for 5 grep -q '^SENT ACK' "$WORK/call3.out"
byes_before=$(grep -c 'REQUEST BYE' "$RLOG")
sleep 1
expect_eq "a call waiting for its signal has sent no BYE" "$byes_before" "$(grep -c 'REQUEST BYE' "$RLOG")"
touch "$SIG"
wait "$CALL3"
expect_eq "... and once the file appears it ends with BYE 200" 0 "$?"
check "... (BYE line printed)" grep -q '^BYE SIP/2.0 200' "$WORK/call3.out"

# --expect really compares
python3 "$SIPCLIENT" call --to "sip:um@127.0.0.1:$R" --via-port "$KU" --expect 488 >"$WORK/call4.out" 2>&1
expect_eq "--expect 488 against a 200 answer exits 1" 1 "$?"
R488=$(free_port)
sipresponder_start "$WORK/r488.log" --udp-port "$R488" --invite-code 488 || exit 1
python3 "$SIPCLIENT" call --to "sip:um@127.0.0.1:$R488" --sdp avp --expect 488 >"$WORK/call5.out" 2>&1
expect_eq "--expect 488 against a 488 answer exits 0" 0 "$?"
check "... and the 488 was ACKed" grep -q 'REQUEST ACK' "$WORK/r488.log"
sipresponder_stop "$SIPRESPONDER_PID"

# --- openssl probes: the strict listener --------------------------------------------------------
C=("$PKI/gw1.full.pem" "$PKI/gw1.key")
tls_sip_options 127.0.0.1 "$R" "${C[@]}" "$PKI/root.pem" >"$WORK/opt.out"
check "s_client OPTIONS with gw1's certificate gets 200" grep -q '^STATUS SIP/2.0 200' "$WORK/opt.out"
expect_eq "... and reports the listener's certificate thumbprint" "FINGERPRINT $UM_FP" "$(grep '^FINGERPRINT' "$WORK/opt.out")"
check "... verified against the root" grep -q '^VERIFY 0 ' "$WORK/opt.out"
expect_eq "tls_fingerprint prints the same thumbprint" "$UM_FP" "$(tls_fingerprint 127.0.0.1 "$R" "${C[@]}")"
tls_sip_options 127.0.0.1 "$R" >"$WORK/optnc.out"
check "s_client OPTIONS without a client certificate gets nothing" grep -q '^STATUS none' "$WORK/optnc.out"
check "... the server asked for one" grep -q '^ERROR .*certificate required' "$WORK/optnc.out"
check "a TLS 1.2+ handshake with gw1's certificate succeeds" tls_handshake 127.0.0.1 "$R" "${C[@]}"
check "TLS 1.1 is refused" tls_probe_tls11 127.0.0.1 "$R" "${C[@]}"
check "AES128-SHA (RSA kx, CBC) over TLS 1.2 is refused" tls_probe_weak_cipher 127.0.0.1 "$R" "${C[@]}"
check "client renegotiation is refused" tls_probe_renegotiation 127.0.0.1 "$R" "${C[@]}"
check "the listener logged the TLS 1.1 refusal" rlog_has "HANDSHAKE-FAIL .*reason=UNSUPPORTED_PROTOCOL"
check "... and the weak cipher's" rlog_has "HANDSHAKE-FAIL .*reason=NO_SHARED_CIPHER"

# garbage, plaintext SIP and stalled handshakes leave it serving others
tls_send_garbage 127.0.0.1 "$R" >"$WORK/garbage.out"
check "garbage on the TLS port: the server closes the connection" grep -q '^RAW closed by server' "$WORK/garbage.out"
tls_send_plaintext_sip 127.0.0.1 "$R" >"$WORK/plain.out"
check "plaintext SIP on the TLS port: closed, no SIP answer" \
	bash -c "grep -q '^RAW closed by server' '$WORK/plain.out' && ! grep -q 'SIP/2.0' '$WORK/plain.out'"
tls_stall_start 127.0.0.1 "$R" 5 3
tls_stall_start 127.0.0.1 "$R" 5 2 partial
tls_sip_options 127.0.0.1 "$R" "${C[@]}" >"$WORK/optstall.out"
check "with 5 handshakes stalled, OPTIONS still gets 200" grep -q '^STATUS SIP/2.0 200' "$WORK/optstall.out"
tls_stall_wait >"$WORK/stall.out"
check "the stalled handshakes were all dropped by the server" \
	bash -c "grep -q 'closed_by_server 3 still_open 0' '$WORK/stall.out' && grep -q 'closed_by_server 2 still_open 0' '$WORK/stall.out'"
check "the listener logged handshake timeouts" rlog_has "HANDSHAKE-FAIL .*reason=timeout"
check "after all that, the good gateway's pings still get 200" kamailio_wait_ping 200 10 "$KGOOD"

# --- openssl probes: a legacy listener (they must be able to say "accepted") --------------------
L=$(free_port)
sipresponder_start "$WORK/legacy.log" --tls-port "$L" --cert "$PKI/umrsa.full.pem" \
	--key "$PKI/umrsa.key" --ca "$PKI/root.pem" --legacy || exit 1
tls_probe_tls11 127.0.0.1 "$L" "${C[@]}" >"$WORK/l11.out"
expect_eq "legacy listener: TLS 1.1 reported accepted" "TLS1.1 accepted" "$(cat "$WORK/l11.out")"
tls_probe_weak_cipher 127.0.0.1 "$L" "${C[@]}" >"$WORK/lweak.out"
expect_eq "legacy listener: AES128-SHA reported accepted" "WEAK-CIPHER accepted" "$(cat "$WORK/lweak.out")"
tls_probe_renegotiation 127.0.0.1 "$L" "${C[@]}" >"$WORK/lreneg.out"
expect_eq "legacy listener: renegotiation reported accepted" "RENEGOTIATION accepted" "$(cat "$WORK/lreneg.out")"
sipresponder_stop "$SIPRESPONDER_PID"

# --- the refused gateways (running since before the calls) --------------------------------------
check "untrusted gw certificate: its pings time out (408)" kamailio_wait_ping 408 8 "$WORK/krogue"
expect_eq "... and none got 200" 0 "$(kamailio_ping_count 200 "$WORK/krogue")"
check "... the listener failed the handshake: unknown CA" rlog_has "HANDSHAKE-FAIL .*reason=CERTIFICATE_VERIFY_FAILED"
check "certificate naming gw2: its pings time out (408)" kamailio_wait_ping 408 8 "$WORK/kgw2"
expect_eq "... and none got 200" 0 "$(kamailio_ping_count 200 "$WORK/kgw2")"
check "... the listener rejected it for its name" rlog_has "PEER-REJECTED .*names gw2.example.test, not gw1.example.test"
check "no client certificate: its pings time out (408)" kamailio_wait_ping 408 8 "$WORK/knocert"
expect_eq "... and none got 200" 0 "$(kamailio_ping_count 200 "$WORK/knocert")"
check "... the listener saw no certificate" rlog_has "HANDSHAKE-FAIL .*reason=PEER_DID_NOT_RETURN_A_CERTIFICATE"
check "kamailio not trusting the listener's CA: pings time out (408)" kamailio_wait_ping 408 8 "$WORK/kdistrust"
expect_eq "... and none got 200" 0 "$(kamailio_ping_count 200 "$WORK/kdistrust")"
check "... kamailio itself failed the verification" grep -q 'certificate verify failed' "$WORK/kdistrust/kamailio.log"
kamailio_stop "$WORK/krogue"
check "kamailio_stop DIR stops only that one" bash -c "! kill -0 $(cat "$WORK/krogue/main.pid") 2>/dev/null && kill -0 $(cat "$KGOOD/main.pid")"

check "self-signed listener pinned as the gateway's CA list: pings get 200" kamailio_wait_ping 200 8 "$WORK/kss"
check "... sent with SNI um1.example.test" grep -q "HANDSHAKE-OK .*subject=CN=gw1.example.test sni=um1.example.test" "$SLOG"
check "... to sip:um1.example.test (--ping-ruri)" grep -q "REQUEST OPTIONS proto=tls .*ruri=sip:um1.example.test;transport=tls" "$SLOG"
check "gateways without --server-name send no SNI" rlog_has "HANDSHAKE-OK .*subject=CN=gw1.example.test sni=-"

# --- the unsecured side: sofia's sip-options and sipclient over UDP/TCP -------------------------
sip_options_unsecured 127.0.0.1 "$U" >"$WORK/sipopt.out"
expect_eq "sip-options over UDP exits 0" 0 "$?"
check "... with a 200" grep -q '^SIP/2.0 200' "$WORK/sipopt.out"
check "... sent from loopback" rlog_has "REQUEST OPTIONS proto=udp peer=127.0.0.1:"
check "sip-options over TCP exits 0" sip_options_unsecured 127.0.0.1 "$T" tcp
check "sipclient options over UDP gets 200" python3 "$SIPCLIENT" options --to "sip:127.0.0.1:$U"
printf 'INVITE sip:um@127.0.0.1 SIP/2.0\r\nVia: broken\r\nthis is not a header\r\n\r\n' >"$WORK/bad.sip"
check "sipclient raw: malformed SIP gets no answer" \
	python3 "$SIPCLIENT" raw "$WORK/bad.sip" --to "sip:127.0.0.1:$U" --timeout 1 --expect none
check "... and the listener logged it malformed" rlog_has "MALFORMED proto=udp"
DEAD=$(free_port)
# a silent UDP socket on DEAD counts what arrives
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.2); n = 0; end = time.monotonic() + 2.8
print("ready", flush=True)
while time.monotonic() < end:
    try:
        s.recv(65536); n += 1
    except socket.timeout:
        pass
print(n)' "$DEAD" >"$WORK/silent.out" &
SILENT=$!
_sip_wait_for 5 grep -q ready "$WORK/silent.out"
t0=$SECONDS
python3 "$SIPCLIENT" options --to "sip:127.0.0.1:$DEAD" --timeout 2 >"$WORK/dead.out" 2>&1
expect_eq "sipclient gives up on silence with exit 3" 3 "$?"
# Bounded, not timed: it must give up by itself (a hang would fail here), however loaded the machine.
check "... by itself" test $((SECONDS - t0)) -le 30
check "... saying so" grep -q '^TIMEOUT OPTIONS' "$WORK/dead.out"
wait "$SILENT"
# timer E: sent at 0, 0.5, 1.5 s within 2 s; on a loaded machine the last may fall outside.
check "... after retransmitting (timer E)" test "$(tail -1 "$WORK/silent.out")" -ge 2

# --- everything stops ----------------------------------------------------------------------------
pids="$KAM_PIDS"
kamailio_stop
gone() { for p in "$@"; do ! kill -0 "$p" 2>/dev/null || return 1; done; }
check "every kamailio main process is gone" gone $pids
# (a function, not bash -c: pgrep -f would match the bash -c command line itself)
no_kamailio_left() { ! pgrep -f -- "-f $WORK/k[a-z]*/kamailio.cfg" >/dev/null; }
check "... and no kamailio process of this test is left" no_kamailio_left
sipresponder_stop
check "the responders are gone" gone "$RPID"
echo "# took $((SECONDS - START)) s (about 35 s alone)"
finish
