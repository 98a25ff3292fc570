#!/bin/bash
# umd's seam with sofia-sip (um/src/seam.h) end to end: umd started under an OpenSSL
# configuration whose CipherString every SSL_CTX_new applies (through SSL_CTX_set_cipher_list,
# which umd interposes); a gateway's connection over mutual TLS; the hooks' counters in /metrics;
# and the refusal to start when the sofia-sip umd runs with reports another version
# (tests/tools sofia_version_shim, preloaded).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
SOFIA_SHIM=${SOFIA_SHIM:?set SOFIA_SHIM to the sofia_version_shim library}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
GW="$WORK/gw"

"$CERTCTL" --store "$GW" new --domain gw1.example.test --key ec256 >/dev/null
th=$("$CERTCTL" --store "$GW" get --format json | jq -r '.[0].Thumbprint')
cp "$GW/certs/$th.pem" "$WORK/gw1.pem"
cp "$GW/keys/$th.key" "$WORK/gw1.key"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HTTP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
umd_conf "$WORK/umd.conf" sipsecured "$PORT" "$WORK/store" "$HTTP" <<CONF
[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF
cat >"$WORK/openssl.cnf" <<'CNF'
openssl_conf = init
[init]
ssl_conf = ssl
[ssl]
system_default = sys
[sys]
CipherString = AES128-SHA256
CNF

# seam SYMBOL ACTION: umd_seam_hook_calls_total{symbol="SYMBOL",action="ACTION"}
seam() {
	python3 - "http://127.0.0.1:$HTTP/metrics" "$1" "$2" <<'PY'
import sys, urllib.request
t = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
key = 'umd_seam_hook_calls_total{symbol="%s",action="%s"} ' % (sys.argv[2], sys.argv[3])
print(next((l[len(key):] for l in t.splitlines() if l.startswith(key)), "missing"))
PY
}
at_least() {
	n=$(seam "$1" "$2")
	[ "$n" != missing ] && [ "$n" -ge "$3" ]
}
# wait_seam SYMBOL ACTION N: until at_least holds (5 s)
wait_seam() {
	for _ in $(seq 50); do
		at_least "$@" && return 0
		sleep 0.1
	done
	return 1
}

# --- a CipherString in the OpenSSL configuration ---------------------------------------------------
check "umd starts under an OPENSSL_CONF with a CipherString" umd_start a "$WORK/umd.conf" OPENSSL_CONF="$WORK/openssl.cnf"
expect_eq "sofia-sip's own SSL_CTX_set_cipher_list: taken once" 1 "$(seam SSL_CTX_set_cipher_list taken)"
check "OpenSSL's, for the CipherString inside SSL_CTX_new: passed through" at_least SSL_CTX_set_cipher_list passed 1
check "nua's default leg: taken" at_least nta_leg_tcreate taken 1
python3 "$D/siptls.py" --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" options >"$WORK/opt.txt"
check "gw1: OPTIONS 200 over mutual TLS" grep -q "OPTIONS SIP/2.0 200 OK" "$WORK/opt.txt"
check "TLS 1.2 gets umd's ECDHE AEAD suites, not the CipherString's AES128-SHA256" bash -c "timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cert '$WORK/gw1.pem' -key '$WORK/gw1.key' </dev/null 2>/dev/null | grep -Eq 'Cipher is ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)'"
check "a client offering only the CipherString's suite is refused" bash -c "! timeout 10 openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cipher AES128-SHA256 -cert '$WORK/gw1.pem' -key '$WORK/gw1.key' </dev/null >/dev/null 2>&1"
check "accept (sofia's listener): taken" at_least accept taken 3
check "SSL_new (sofia's connections): taken" at_least SSL_new taken 3
check "SSL_read: taken" at_least SSL_read taken 1
check "SSL_get_error (the keep-alive answered in SSL_read: \"want read\" for sofia's tls_error): taken" at_least SSL_get_error taken 1
python3 "$D/siptls.py" --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" options --header "Subject: more than a keep-alive" >"$WORK/opt2.txt"
check "gw1: an OPTIONS the fast path leaves to sofia-sip: 200" grep -q "OPTIONS SIP/2.0 200 OK" "$WORK/opt2.txt"
check "SSL_write (sofia's answer to it): taken" at_least SSL_write taken 1
check "SSL_get_error after sofia's SSL_accept (tls_connect, the handshakes): passed to OpenSSL's" at_least SSL_get_error passed 1
check "SSL_shutdown (sofia closing them): taken" wait_seam SSL_shutdown taken 3
umd_stop a
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

# --- another sofia-sip ---------------------------------------------------------------------------
# The shim is not linked with the sanitizer runtime: ASan then must not insist on coming first.
env LD_PRELOAD="$SOFIA_SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	timeout 60 "$UMD" -c "$WORK/umd.conf" >"$WORK/b.out" 2>"$WORK/b.log"
expect_eq "umd on another sofia-sip: exit 1" 1 "$?"
check "... saying why: the version it runs with and the one verified" grep -q "not starting: sofia-sip is sofia-sip-1.13.17, but umd's hooks into it were verified against sofia-sip-1.12.11devel only" "$WORK/b.log"
check "... before sofia-sip listened (nothing logged as listening)" bash -c "! grep -q 'listening on' '$WORK/b.log'"
umd_sanitizer_check b

finish
