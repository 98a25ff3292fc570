#!/bin/bash
# Trust, Status, revocation and selection end to end: a throw-away PKI made with the openssl
# CLI, CRLs served by a real HTTP server on loopback, and certctl verify/select/get/trust.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE="" # the system's roots play no part unless a check asks for them
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY
S="$WORK/store"
PKI="$WORK/pki"
mkdir -p "$PKI"
cc() { "$CERTCTL" --store "$S" "$@"; }
status_of() { cc get "$1" --format json --offline 2>/dev/null | jq -r '.[0].Status'; }

PORT=$(free_port)
make_pki "$PKI" "$PORT" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
cc new --domain um.example.test --services UM --days 700 >/dev/null
SS_LONG=$(cc get --format json | jq -r '.[0].Thumbprint')
out=$(cc new --domain um.example.test --services UM --days 30)
SS_SHORT=$(awk 'NR==3 {print $1}' <<<"$out")

# --- trust folders ------------------------------------------------------------------------------
check "trust add root as enterprise" cc trust add "$PKI/root.pem" --type enterprise
expect_fail "a leaf is not a root" 1 "not a self-signed root" cc trust add "$PKI/good.pem" --type registry
expect_fail "bad root type" 2 "registry, enterprise, grouppolicy" cc trust add "$PKI/root.pem" --type thirdparty
ROOT=$(openssl x509 -in "$PKI/root.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
check "trust list shows it as Enterprise" bash -c "'$CERTCTL' --store '$S' trust list | grep -q '$ROOT  Enterprise'"
check "the system bundle counts as ThirdParty" bash -c \
	"test ! -s /etc/ssl/certs/ca-certificates.crt || UMEDGE_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt '$CERTCTL' --store '$S' trust list --format json | jq -e 'map(select(.RootCAType == \"ThirdParty\")) | length > 10'"

for n in good good2 expired revoked wildcard noeku clientonly rsa512 pwkey stranger; do
	eval "T_$n=$(plant "$S" "$n" UM,SMTP)"
done

# --- no CRL to be had: Unknown (StatusDetail says which CRL), never Valid --------------------------------------
cc verify "$T_good" --timeout 2 >"$WORK/down.txt" 2>/dev/null
expect_eq "verify with the CRL server down exits 1" 1 "$?"
check "... and says Unknown" grep -q '^Status: *Unknown' "$WORK/down.txt"
check "... StatusDetail says why" grep -q "^StatusDetail: .*[a-z]" "$WORK/down.txt"
check "... and names the CRL it could not fetch" grep -q "could not be had: http://127.0.0.1:$PORT/int.crl" "$WORK/down.txt"
check "select rejects it for that reason" bash -c "'$CERTCTL' --store '$S' select --service UM --fqdn um.example.test --timeout 2 --format json | jq -e '.rejected[] | select(.Thumbprint == \"$T_good\") | .reason | test(\"status Unknown\")'"

# --- the CRL server up: each Status -------------------------------------------------------------
http_serve "$PKI/www" "$PORT"
cc verify "$T_good" >"$WORK/first.txt" 2>/dev/null
expect_eq "good: verify exits 0" 0 "$?"
check "good: Valid" grep -q "^Status: *Valid" "$WORK/first.txt"
expect_eq "good: RootCAType Enterprise" Enterprise "$(cc get "$T_good" --format json | jq -r '.[0].RootCAType')"
check "the first verify fetched the CRL over http" grep -q "from http http://127.0.0.1:$PORT/int.crl" "$WORK/first.txt"
check "verify shows each CRL's nextUpdate" grep -q "nextUpdate $(date -u -d '+7 days' +%Y-%m-%d)" "$WORK/first.txt"
expect_eq "expired: DateInvalid" DateInvalid "$(status_of "$T_expired")"
expect_eq "revoked: Revoked" Revoked "$(status_of "$T_revoked")"
expect_eq "untrusted root: Untrusted" Untrusted "$(status_of "$T_stranger")"
expect_eq "self-signed: Valid, RootCAType None" "Valid None" "$(cc get "$SS_LONG" --format json --offline | jq -r '.[0] | "\(.Status) \(.RootCAType)"')"
# a certificate whose signature was tampered with
openssl x509 -in "$PKI/good.pem" -outform DER -out "$WORK/bad.der"
python3 - "$WORK/bad.der" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[-3] ^= 0x01  # inside the signature value
open(sys.argv[1], 'wb').write(b)
PY
openssl x509 -inform DER -in "$WORK/bad.der" -out "$PKI/badsig.pem"
cp "$PKI/good.key" "$PKI/badsig.key"
cp "$PKI/good.chain.pem" "$PKI/badsig.chain.pem"
T_badsig=$(plant "$S" badsig UM)
expect_eq "bad signature: Invalid" Invalid "$(status_of "$T_badsig")"
expect_fail "verify exits 1 when not Valid" 1 "" cc verify "$T_revoked"
check "verify names OpenSSL's reason" bash -c "'$CERTCTL' --store '$S' verify $T_revoked | grep -q 'certificate revoked'"

# --- a fresh CRL is not fetched again before nextUpdate -----------------------------------------
fetches() { grep -c "GET /int.crl" "$WORK/http.log"; }
before=$(fetches)
cc verify "$T_good" >/dev/null
cc verify "$T_good2" >/dev/null
cc get --format json >/dev/null
expect_eq "no new fetch while the cached CRL is fresh" "$before" "$(fetches)"
http_stop
check "with the server gone, the cached CRL still answers" cc verify "$T_good"
check "... and verify says it came from the cache" bash -c "'$CERTCTL' --store '$S' verify $T_good | grep -q 'from cache'"

# --- eligibility and the UM order ---------------------------------------------------------------
cc select --service UM --fqdn um.example.test --format json --offline >"$WORK/um.json"
reason() { jq -r ".rejected[] | select(.Thumbprint == \"$1\") | .reason" "$WORK/um.json"; }
check "clientAuth-only EKU is rejected" grep -q "lacks serverAuth" <<<"$(reason "$T_clientonly")"
check "a 512-bit RSA key is rejected" grep -q "RSA key of 512 bits" <<<"$(reason "$T_rsa512")"
check "a password-protected key is rejected" grep -q "password protected" <<<"$(reason "$T_pwkey")"
check "expired is rejected with its status" grep -q "DateInvalid" <<<"$(reason "$T_expired")"
check "revoked is rejected with its status" grep -q "Revoked" <<<"$(reason "$T_revoked")"
check "untrusted is rejected with its status" grep -q "Untrusted" <<<"$(reason "$T_stranger")"
check "no EKU at all is eligible" jq -e ".candidates | map(.Thumbprint) | index(\"$T_noeku\") != null" "$WORK/um.json"
check "the wildcard covers um.example.test" jq -e ".candidates | map(.Thumbprint) | index(\"$T_wildcard\") != null" "$WORK/um.json"
expect_eq "UM picks the CA-issued certificate valid longest" "$T_good2" "$(jq -r .selected "$WORK/um.json")"
order=$(jq -r '.candidates[].Thumbprint' "$WORK/um.json" | tr '\n' ' ')
pos() { tr ' ' '\n' <<<"$order" | grep -n "^$1\$" | cut -d: -f1; }
check "UM: longer CA-issued before shorter" test "$(pos "$T_good2")" -lt "$(pos "$T_good")"
check "UM: CA-issued before self-signed" test "$(pos "$T_good")" -lt "$(pos "$SS_LONG")"
check "UM: self-signed longest before shortest" test "$(pos "$SS_LONG")" -lt "$(pos "$SS_SHORT")"
expect_eq "selected is the first candidate" "$(jq -r .selected "$WORK/um.json")" "$(jq -r '.candidates[0].Thumbprint' "$WORK/um.json")"
check "JSON names service and fqdn" jq -e '.service == "UM" and .fqdn == "um.example.test"' "$WORK/um.json"
check "a service not enabled is a reason" bash -c "'$CERTCTL' --store '$S' select --service IMAP --offline --format json | jq -e '.selected == null and (.rejected[0].reason | test(\"IMAP is not enabled\"))'"
expect_fail "select exits 1 when nothing is eligible" 1 "" cc select --service IMAP --offline
check "another FQDN is a reason" bash -c "'$CERTCTL' --store '$S' select --service UM --fqdn a.b.example.test --offline --format json | jq -e '.rejected | map(select(.Thumbprint == \"$T_wildcard\"))[0].reason | test(\"not in CertificateDomains\")'"
check "table view lists candidates and reasons" bash -c "'$CERTCTL' --store '$S' select --service UM --fqdn um.example.test --offline | grep -q 'Not eligible:'"

# --- removing the root makes its chain Untrusted -------------------------------------------------
check "trust remove" cc trust remove "$ROOT"
expect_eq "after trust remove: Untrusted" Untrusted "$(status_of "$T_good")"
expect_fail "trust remove again" 1 "no trusted root" cc trust remove "$ROOT"

finish
