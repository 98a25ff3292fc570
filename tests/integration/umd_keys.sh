#!/bin/bash
# umd's key custody: sofia-sip starts on a throw-away key and certificate (state/umd-tls/
# agent.pem), never the UM key; no file of the store but keys/ holds the UM private key, while
# umd runs and after it stops; umd still serves the UM certificate, whatever the client prefers.
# The signatures are made by umd's key holder (a child process, umd-keys): handshakes with
# RSA PKCS#1 v1.5, RSA-PSS and ECDSA go through it; the SIP process says it can neither read nor
# write keys/ (Landlock; the unit suite unit_sandbox shows a key file refused, and creating,
# writing and removing one), so the first start's self-signed UM certificate has its key made,
# written and its certificate signed by the holder, which is itself confined to keys/ without
# TCP; when the holder is
# killed, umd says so and stops with status 1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
S="$WORK/store"
GW="$WORK/gw"

"$CERTCTL" --store "$GW" new --domain gw1.example.test --key ec256 >/dev/null
th=$("$CERTCTL" --store "$GW" get --format json | jq -r '.[0].Thumbprint')
cp "$GW/certs/$th.pem" "$WORK/gw1.pem"
cp "$GW/keys/$th.key" "$WORK/gw1.key"

PORT=$(free_port)
umd_conf "$WORK/umd.conf" sipsecured "$PORT" "$S" "" <<CONF
[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF

# pub FILE: the public key (SPKI, DER, base64) of the private key in FILE, or nothing.
pub() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0; }

# holders_of KEYFILE: every file under the store, outside keys/, that holds the private key
# of KEYFILE: as a private key OpenSSL reads (compared by its public half), or as any line of
# its PEM body (a copy inside another file, e.g. agent.pem beside a certificate).
holders_of() {
	want=$(pub "$1")
	[ -n "$want" ] || { echo "no key in $1"; return; }
	grep -v -e '^-----' "$1" >"$WORK/.keylines"
	find "$S" -path "$S/keys" -prune -o -type f -print | while read -r f; do
		if [ "$(pub "$f")" = "$want" ] || grep -q -F -x -f "$WORK/.keylines" "$f"; then
			echo "$f"
		fi
	done
}

# served [s_client options...]: the SHA-1 thumbprint of the certificate umd presents.
served() {
	timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -cert "$WORK/gw1.pem" \
		-key "$WORK/gw1.key" "$@" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha1 2>/dev/null | sed 's/.*=//; s/://g'
}

# --- a store left by an older umd: agent.pem held the UM key -------------------------------------
# The first start makes the UM certificate; the planted copy then plays the old agent.pem.
check "umd starts on an empty store" umd_start a "$WORK/umd.conf"
UM=$(events a 1000 | tail -1 | jq -r .thumbprint)
check "a UM certificate is in use" test -s "$S/keys/$UM.key"
check "sofia-sip's agent.pem exists while umd runs" test -s "$S/state/umd-tls/agent.pem"
check "... and is 0600" bash -c "[ \"\$(stat -c %a '$S/state/umd-tls/agent.pem')\" = 600 ]"
check "... its key is not the UM key" bash -c "[ -n \"\$(openssl pkey -in '$S/state/umd-tls/agent.pem' -pubout 2>/dev/null)\" ] && [ \"\$(openssl pkey -in '$S/state/umd-tls/agent.pem' -pubout -outform DER | base64 -w0)\" != \"\$(openssl pkey -in '$S/keys/$UM.key' -pubout -outform DER | base64 -w0)\" ]"
check "... nor its certificate the UM certificate" bash -c "! openssl x509 -in '$S/state/umd-tls/agent.pem' -noout -subject | grep -q um1"
expect_eq "no file of the store but keys/ holds the UM private key" "" "$(holders_of "$S/keys/$UM.key")"

# --- the UM certificate is what a client gets, whatever it prefers -------------------------------
expect_eq "TLS 1.3: umd serves the UM certificate" "$UM" "$(served -tls1_3)"
expect_eq "TLS 1.2, ECDSA preferred: still the UM (RSA) certificate" "$UM" \
	"$(served -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256)"
expect_eq "TLS 1.2 offering ECDSA suites only: no certificate at all (never the throw-away one)" "" \
	"$(served -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384)"
expect_eq "TLS 1.2 with RSA PKCS#1 v1.5 signatures: the UM certificate" "$UM" "$(served -tls1_2 -sigalgs RSA+SHA256)"
expect_eq "TLS 1.2 with RSA-PSS signatures: the UM certificate" "$UM" "$(served -tls1_2 -sigalgs rsa_pss_rsae_sha384)"
HOLDER=$(pgrep -P "$UMD_PID_a" | head -1)
expect_eq "the key holder is umd's child, umd-keys" "umd-keys" "$(cat "/proc/$HOLDER/comm" 2>/dev/null)"
check "... and umd says it holds the keys, and that umd can neither read nor write keys/ (Landlock)" bash -c "grep -q 'private keys are held by process $HOLDER; this process can neither read nor write $S/keys' '$WORK/a.log'"
# So the first start's self-signed UM certificate, made while umd could not write keys/, had
# its key made and written by the holder: there, 0600, matching the certificate.
check "the first start's UM key is in keys/, 0600, and is the certificate's" bash -c "[ \"\$(stat -c %a '$S/keys/$UM.key')\" = 600 ] && [ \"\$(openssl pkey -in '$S/keys/$UM.key' -pubout -outform DER | base64 -w0)\" = \"\$(openssl x509 -in '$S/certs/$UM.pem' -noout -pubkey | openssl pkey -pubin -outform DER | base64 -w0)\" ]"
check "... and its certificate's self-signature verifies (the holder signed it)" bash -c "openssl verify -CAfile '$S/certs/$UM.pem' -partial_chain '$S/certs/$UM.pem' | grep -q ': OK'"
check "the key holder is not dumpable either" bash -c "[ \"\$(stat -c %U /proc/$HOLDER/environ)\" = root ] && grep -qE '^Max core file size +0 +0 ' /proc/$HOLDER/limits"
# The holder locks itself in before its first request (unit_sandbox tests what that allows):
# keys/ alone, no TCP; no new privileges (its own: it was forked before umd's sandbox).
check "the key holder says it is confined to keys/ with no TCP (Landlock)" bash -c "grep -q 'key holder (process $HOLDER): confined to $S/keys, no TCP' '$WORK/a.log'"
check "... and has no new privileges" grep -qE '^NoNewPrivs:[[:space:]]+1$' "/proc/$HOLDER/status"
check "an OPTIONS over mutual TLS gets 200" bash -c "python3 '$(dirname "$0")/siptls.py' --port $PORT --cert '$WORK/gw1.pem' --key '$WORK/gw1.key' options | grep -q 'OPTIONS SIP/2.0 200 OK'"

umd_stop a
expect_eq "umd stopped cleanly" 0 "$UMD_RC"
check "agent.pem is removed at stop" test ! -e "$S/state/umd-tls/agent.pem"
expect_eq "after stop, no file of the store but keys/ holds the UM private key" "" "$(holders_of "$S/keys/$UM.key")"

# An older umd wrote the UM key and certificate to agent.pem: a start replaces it.
cat "$S/keys/$UM.key" "$S/certs/$UM.pem" >"$S/state/umd-tls/agent.pem"
chmod 600 "$S/state/umd-tls/agent.pem"
check "control: the planted agent.pem holds the UM key" bash -c "[ -n \"\$(grep -F -x -f '$WORK/.keylines' '$S/state/umd-tls/agent.pem')\" ]"
check "umd starts again on that store" umd_start b "$WORK/umd.conf"
expect_eq "... the same UM certificate" "$UM" "$(events b 1000 | tail -1 | jq -r .thumbprint)"
expect_eq "... and the old agent.pem no longer holds the UM key" "" "$(holders_of "$S/keys/$UM.key")"
expect_eq "... and serves the UM certificate" "$UM" "$(served -tls1_3)"

# An EC UM certificate (issued by a CA the store trusts): the throw-away EC key is replaced too.
PKI="$WORK/pki"
mkdir -p "$PKI"
make_pki "$PKI" "$(free_port)" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
export SAN
SAN=DNS:um1.example.test pki_issue "$PKI" int um1 um1.example.test DNS:um1.example.test leaf "EC -pkeyopt ec_paramgen_curve:P-256" -days 300 >/dev/null 2>&1
check "trust the CA's root" "$CERTCTL" --store "$S" trust add "$PKI/root.pem" --type enterprise
ECUM=$(plant "$S" um1 UM)
# umd re-selects with cached CRLs only: the CA's CRLs go into the store's cache.
cp "$PKI/int.crl.pem" "$PKI/root.crl.pem" "$S/crl/"
kill -HUP "$UMD_PID_b"
check "umd changes to it (CertificateChanged)" wait_event b 1001
expect_eq "... and serves it" "$ECUM" "$(served -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)"
expect_eq "no file of the store but keys/ holds the EC UM key" "" "$(holders_of "$S/keys/$ECUM.key")"
check "a configuration rewritten in place is reloaded (SIGHUP)" bash -c "sed 's/^handshake_seconds = 2/handshake_seconds = 3/' '$WORK/umd.conf' >'$WORK/umd.conf.new' && cat '$WORK/umd.conf.new' >'$WORK/umd.conf' && kill -HUP $UMD_PID_b && for i in \$(seq 50); do grep -q 'configuration reloaded' '$WORK/b.log' && exit 0; sleep 0.1; done; exit 1"
HOLDER=$(pgrep -P "$UMD_PID_b" | head -1)
umd_stop b
expect_eq "umd stopped cleanly" 0 "$UMD_RC"
check "agent.pem is removed at stop" test ! -e "$S/state/umd-tls/agent.pem"
check "... and the key holder has ended with it" bash -c "[ -n '$HOLDER' ] && ! kill -0 '$HOLDER' 2>/dev/null"

# --- the key holder killed: umd says so and stops --------------------------------------------------
check "umd starts again" umd_start c "$WORK/umd.conf"
HOLDER=$(pgrep -P "$UMD_PID_c" | head -1)
expect_eq "... with its key holder" "umd-keys" "$(cat "/proc/$HOLDER/comm" 2>/dev/null)"
kill -KILL "$HOLDER"
for _ in $(seq 100); do kill -0 "$UMD_PID_c" 2>/dev/null || break; sleep 0.1; done
check "umd logs that its key holder ended" bash -c "grep -q 'the key holder (process $HOLDER) ended: killed by signal 9; no TLS signature can be made: stopping' '$WORK/c.log'"
umd_stop c
expect_eq "... and stops with status 1" 1 "$UMD_RC"

finish
