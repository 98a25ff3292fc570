#!/bin/bash
# Revocation of gateway client certificates: umd checks each certificate of a gateway's chain
# against the CRLs of the store's crl/ folder (an administrator's files, PEM, and certcore's
# cache of fetched ones, DER), read on the periodic store pass and on SIGHUP, never fetched
# during a handshake. gateway_revocation = soft (default) accepts a chain whose CRL is not at
# hand; require refuses it. A revoked certificate is refused either way.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
siptls() { python3 "$D/siptls.py" "$@"; }

# The PKI: gwok and gwrev both name gw2.example.test, issued by the intermediate; int's CRL
# revokes gwrev. The CRL distribution points name a port nothing listens on: nothing may be
# fetched, and nothing is.
PKI="$WORK/pki"
mkdir -p "$PKI"
make_pki "$PKI" "$(free_port)" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
export SAN
ec="EC -pkeyopt ec_paramgen_curve:P-256"
for n in gwok gwrev; do
	SAN=DNS:gw2.example.test pki_issue "$PKI" int $n gw2.example.test DNS:gw2.example.test leaf "$ec" -days 300 >/dev/null 2>&1
	cat "$PKI/int.pem" >>"$PKI/$n.pem"
done
openssl ca -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" -revoke "$PKI/gwrev.pem" 2>/dev/null
openssl ca -gencrl -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" -crldays 7 -out "$PKI/int.crl.pem" 2>/dev/null
openssl crl -in "$PKI/int.crl.pem" -outform DER -out "$PKI/int.crl.der"
check "the CRL lists gwrev" bash -c "openssl crl -in '$PKI/int.crl.pem' -noout -text | grep -qi \"$(openssl x509 -in "$PKI/gwrev.pem" -noout -serial | sed 's/serial=//')\""
# A stale CRL of the intermediate (nextUpdate yesterday), for the require case.
openssl ca -gencrl -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" \
	-crl_lastupdate "$(date -u -d '-3 days' +%Y%m%d%H%M%SZ)" -crl_nextupdate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" \
	-out "$PKI/int.stale.pem" 2>/dev/null
# gw1: self-signed, pinned (a trust anchor of its own: no CRL speaks for it)
"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
T=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$T.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$T.key" "$WORK/gw1.key"

"$CERTCTL" --store "$S" new --domain um1.example.test --services UM --key ec256 >/dev/null
check "trust add the PKI's root" "$CERTCTL" --store "$S" trust add "$PKI/root.pem" --type enterprise
mkdir -p "$S/crl"

PORT=$(free_port)
conf() { # FILE POLICY (empty: the default)
	umd_conf "$1" sipsecured "$PORT" "$S" "" <<CONF
${2:+gateway_revocation = $2}

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem

[gateway gw2]
address = 127.0.0.1
fqdn = gw2.example.test
CONF
}
# options NAME CERT KEY: OPTIONS over mutual TLS, answer in $WORK/NAME.txt
options() { siptls --port "$PORT" --cert "$2" --key "$3" options >"$WORK/$1.txt" 2>&1; }
accepted() { options "$@"; grep -q "OPTIONS SIP/2.0 200 OK" "$WORK/$1.txt"; }
refused() { options "$@"; ! grep -q "SIP/2.0 200" "$WORK/$1.txt"; }
last_reject() { grep '"event_id":1021' "$WORK/$1.log" | tail -1; }
hup() { # NAME: SIGHUP and wait until the reload is logged
	n=$(grep -c 'configuration reloaded' "$WORK/$1.log")
	kill -HUP "$(eval echo \$UMD_PID_$1)"
	for _ in $(seq 50); do
		[ "$(grep -c 'configuration reloaded' "$WORK/$1.log")" -gt "$n" ] && { sleep 0.3; return 0; }
		sleep 0.1
	done
	return 1
}

# --- the key -------------------------------------------------------------------------------------
conf "$WORK/bad.conf" hard
expect_fail "gateway_revocation = hard: umd -n names file:line" 1 'bad.conf:9: gateway_revocation "hard": soft or require' "$UMD" -n -c "$WORK/bad.conf"

# --- soft (the default) ----------------------------------------------------------------------------
conf "$WORK/soft.conf" ""
check "soft: umd starts with an empty crl/" umd_start soft "$WORK/soft.conf"
check "no CRL at hand, soft: gwok is accepted" accepted s-ok0 "$PKI/gwok.pem" "$PKI/gwok.key"
check "no CRL at hand, soft: gwrev too (its revocation cannot be known)" accepted s-rev0 "$PKI/gwrev.pem" "$PKI/gwrev.key"
cp "$PKI/int.crl.pem" "$S/crl/int-admin.crl"
check "a CRL put in crl/ (PEM), then SIGHUP" hup soft
n=$(events soft 1021 | wc -l)
check "revoked gwrev is refused" refused s-rev1 "$PKI/gwrev.pem" "$PKI/gwrev.key"
check "... logged PeerRejected" wait_event soft 1021 $((n + 1))
check "... naming the reason (revoked)" bash -c "grep '\"event_id\":1021' '$WORK/soft.log' | tail -1 | jq -e '.reason | test(\"revoked\") and test(\"gw2.example.test\")'"
check "gwok is still accepted" accepted s-ok1 "$PKI/gwok.pem" "$PKI/gwok.key"
check "pinned self-signed gw1 is accepted" accepted s-gw1 "$WORK/gw1.pem" "$WORK/gw1.key"
rm "$S/crl/int-admin.crl"
cp "$PKI/int.crl.der" "$S/crl/fetched-0123456789ABCDEF0123456789ABCDEF01234567.crl"
printf 'not a CRL\n' >"$S/crl/junk.crl"
check "the same CRL as certcore's fetched cache keeps it (DER), then SIGHUP" hup soft
check "revoked gwrev is refused (CRL from the cache, DER)" refused s-rev2 "$PKI/gwrev.pem" "$PKI/gwrev.key"
check "a file in crl/ that is no CRL is skipped with a warning" grep -q 'CRL file .*junk.crl skipped' "$WORK/soft.log"
check "gwok is still accepted" accepted s-ok2 "$PKI/gwok.pem" "$PKI/gwok.key"
rm -f "$S/crl/"*
check "CRLs removed, then SIGHUP" hup soft
check "soft again: gwrev accepted (no CRL at hand)" accepted s-rev3 "$PKI/gwrev.pem" "$PKI/gwrev.key"
umd_stop soft

# --- require ---------------------------------------------------------------------------------------
conf "$WORK/req.conf" require
check "require: umd starts with an empty crl/" umd_start req "$WORK/req.conf"
n=$(events req 1021 | wc -l)
check "no CRL at hand, require: gwok is refused" refused r-ok0 "$PKI/gwok.pem" "$PKI/gwok.key"
check "... logged PeerRejected" wait_event req 1021 $((n + 1))
check "... saying its revocation is unknown and require is set" bash -c "grep '\"event_id\":1021' '$WORK/req.log' | tail -1 | jq -e '.reason | test(\"revocation unknown\") and test(\"gateway_revocation = require\")'"
check "pinned self-signed gw1 is accepted (a trust anchor has no CRL)" accepted r-gw1 "$WORK/gw1.pem" "$WORK/gw1.key"
cp "$PKI/int.crl.pem" "$S/crl/int.crl"
check "int's CRL only, then SIGHUP" hup req
check "require: the intermediate's own CRL (the root's) is missing: gwok refused" refused r-ok1 "$PKI/gwok.pem" "$PKI/gwok.key"
cp "$PKI/root.crl.pem" "$S/crl/root.crl"
check "the root's CRL too, then SIGHUP" hup req
check "require, both CRLs: gwok accepted" accepted r-ok2 "$PKI/gwok.pem" "$PKI/gwok.key"
check "require, both CRLs: revoked gwrev refused" refused r-rev2 "$PKI/gwrev.pem" "$PKI/gwrev.key"
check "... as revoked" bash -c "sleep 0.3; grep '\"event_id\":1021' '$WORK/req.log' | tail -1 | grep -q 'revoked'"
cp "$PKI/int.stale.pem" "$S/crl/int.crl"
check "int's CRL replaced by a stale one, then SIGHUP" hup req
check "require, stale CRL: gwok refused" refused r-ok3 "$PKI/gwok.pem" "$PKI/gwok.key"
check "... saying the CRL has expired" bash -c "sleep 0.3; grep '\"event_id\":1021' '$WORK/req.log' | tail -1 | grep -qi 'CRL has expired'"
check "nothing was fetched during all this (no fetched- file appeared)" bash -c "! ls '$S/crl' | grep -q '^fetched-'"
umd_stop req
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

finish
