#!/bin/bash
# Revocation over LDAP: a CA whose CRL distribution point is an ldaps:// URL into a real slapd
# (started by the test), fetched by certcore with libldap, cached, and missed when the
# directory is down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/slapd.sh"
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
S="$WORK/store"
cc() { "$CERTCTL" --store "$S" "$@"; }
PKI="$WORK/pki"
mkdir -p "$PKI"

# The directory's own LDAPS certificate, from a certcore store as certctl makes it.
"$CERTCTL" --store "$WORK/dir" new --domain localhost --key ec256 >/dev/null
DT=$("$CERTCTL" --store "$WORK/dir" get --format json | jq -r '.[0].Thumbprint')
LPORT=$(free_port)
check "slapd starts over LDAPS" slapd_start crl source dc=corp,dc=test "$WORK/dir" "$DT" "$LPORT"
# RFC 4516: the DN in the URL is percent-encoded (its commas too: the openssl config splits on them).
URL="ldaps://127.0.0.1:$LPORT/cn=Test%20LDAP%20CA%2Cdc=corp%2Cdc=test?certificateRevocationList;binary"

# A CA whose leaves name that URL as their CRL distribution point.
export SAN=DNS:unused
pki_ca_conf "$PKI" lca "$URL"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/lca.key" 2>/dev/null
openssl req -new -x509 -key "$PKI/lca.key" -subj "/CN=Test LDAP CA" -days 3650 -out "$PKI/lca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
ec="EC -pkeyopt ec_paramgen_curve:P-256"
pki_issue "$PKI" lca ok um.example.test DNS:um.example.test leaf "$ec" -days 100 >"$WORK/issue.log" 2>&1 || cat "$WORK/issue.log"
pki_issue "$PKI" lca bad um.example.test DNS:um.example.test leaf "$ec" -days 100 >/dev/null 2>&1
openssl ca -config "$PKI/lca.cnf" -cert "$PKI/lca.pem" -keyfile "$PKI/lca.key" -revoke "$PKI/bad.pem" >/dev/null 2>&1
openssl ca -gencrl -config "$PKI/lca.cnf" -cert "$PKI/lca.pem" -keyfile "$PKI/lca.key" -crldays 7 -out "$PKI/lca.crl.pem" 2>/dev/null
openssl crl -in "$PKI/lca.crl.pem" -outform DER -out "$PKI/lca.crl"
cat >"$WORK/crl.ldif" <<LDIF
dn: cn=Test LDAP CA,dc=corp,dc=test
objectClass: cRLDistributionPoint
cn: Test LDAP CA
certificateRevocationList;binary:< file://$PKI/lca.crl
LDIF
check "the CA's CRL is published in the directory" ldapadd -Q -Y EXTERNAL -H "$(slapd_ldapi crl)" -f "$WORK/crl.ldif"
# CRLs are public (RFC 4523): let anonymous clients read the directory (slapmodify with the
# server stopped, as cn=config is not writable over the wire here).
slapd_stop crl
printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcAccess\nolcAccess: {0}to * by * read\n' >"$WORK/acl.ldif"
check "anonymous read access for the CRL" slapmodify -n0 -F "$WORK/slapd-crl/slapd.d" -l "$WORK/acl.ldif"
check "slapd starts again" slapd_restart crl

cc new --domain x.example.test >/dev/null
check "trust the CA" cc trust add "$PKI/lca.pem" --type enterprise
T_OK=$(plant "$S" ok UM)
T_BAD=$(plant "$S" bad UM)

cc verify "$T_OK" --timeout 5 >"$WORK/ok.txt" 2>&1
expect_eq "a leaf checked against the CRL fetched over LDAP: Valid" 0 "$?"
check "... the CRL came from ldap" grep -q "from ldap ldaps://127.0.0.1:$LPORT/" "$WORK/ok.txt"
check "... and was cached" bash -c "ls '$S/crl/' | grep -q '^fetched-'"
cc verify "$T_BAD" --timeout 5 >"$WORK/bad.txt" 2>&1
check "the revoked leaf: Revoked" grep -q "^Status: *Revoked" "$WORK/bad.txt"
slapd_stop crl
check "with the directory down, the cached CRL still answers" cc verify "$T_OK" --timeout 2
rm -f "$S"/crl/fetched-*
cc verify "$T_OK" --timeout 2 >"$WORK/down.txt" 2>&1
check "no cache and no directory: Unknown, naming the LDAP URL" bash -c "grep -q '^Status: *Unknown' '$WORK/down.txt' && grep -q 'could not be had: ldaps://127.0.0.1:$LPORT' '$WORK/down.txt'"

finish
