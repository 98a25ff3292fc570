#!/bin/bash
# certctl end to end: a real store on disk, checked against openssl's own view of the same
# certificates, the error paths, bad store entries, and concurrent writers.
. "$(dirname "$0")/lib.sh"
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
S="$WORK/store"
cc() { "$CERTCTL" --store "$S" "$@"; }

# --- new, and the JSON view against openssl x509 -------------------------------------------
out=$(cc new --domain um1.example.test,um1 --services UM --friendly-name "UM test")
check "new prints a table row" grep -q "..U..." <<<"$out"
T=$(awk 'NR==3 {print $1}' <<<"$out")
check "new makes a 40-hex thumbprint" grep -Eq '^[0-9A-F]{40}$' <<<"$T"
PEM="$S/certs/$T.pem"
cc get "$T" --format json >"$WORK/get.json"
check "get --format json is valid JSON" jq -e 'type == "array" and length == 1' "$WORK/get.json"
j() { jq -r ".[0].$1" "$WORK/get.json"; }

fp=$(openssl x509 -in "$PEM" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
expect_eq "Thumbprint equals openssl's SHA-1 fingerprint" "$fp" "$(j Thumbprint)"
expect_eq "Thumbprint equals the file name" "$T" "$(j Thumbprint)"
sn=$(openssl x509 -in "$PEM" -noout -serial | sed 's/^serial=//')
expect_eq "SerialNumber equals openssl -serial" "$sn" "$(j SerialNumber)"
subj=$(openssl x509 -in "$PEM" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
expect_eq "Subject equals openssl -subject (RFC 2253)" "$subj" "$(j Subject)"
iss=$(openssl x509 -in "$PEM" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
expect_eq "Issuer equals openssl -issuer (RFC 2253)" "$iss" "$(j Issuer)"
nb=$(date -u -d "$(openssl x509 -in "$PEM" -noout -startdate | sed 's/^notBefore=//')" +%Y-%m-%dT%H:%M:%SZ)
na=$(date -u -d "$(openssl x509 -in "$PEM" -noout -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)
expect_eq "NotBefore equals openssl -startdate" "$nb" "$(j NotBefore)"
expect_eq "NotAfter equals openssl -enddate" "$na" "$(j NotAfter)"
days=$(( ($(date -u -d "$na" +%s) - $(date -u -d "$nb" +%s)) / 86400 ))
expect_eq "default validity is one year" 365 "$days"
bits=$(openssl x509 -in "$PEM" -noout -text | sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p')
expect_eq "PublicKeySize equals openssl's key size" "$bits" "$(j PublicKeySize)"
expect_eq "CertificateDomains" '["um1.example.test","um1"]' "$(jq -c '.[0].CertificateDomains' "$WORK/get.json")"
expect_eq "Services" '["UM"]' "$(jq -c '.[0].Services' "$WORK/get.json")"
expect_eq "Status" Valid "$(j Status)"
expect_eq "IsSelfSigned" true "$(j IsSelfSigned)"
expect_eq "HasPrivateKey" true "$(j HasPrivateKey)"
expect_eq "RootCAType" None "$(j RootCAType)"
expect_eq "PrivateKeyExportable" false "$(j PrivateKeyExportable)"
expect_eq "FriendlyName" "UM test" "$(j FriendlyName)"
check "the certificate verifies as self-signed with openssl" \
	openssl verify -CAfile "$PEM" -purpose sslserver "$PEM"
check "EKU has serverAuth and clientAuth" \
	bash -c "openssl x509 -in '$PEM' -noout -ext extendedKeyUsage | grep -q 'TLS Web Server Authentication, TLS Web Client Authentication'"
check "SAN has every domain" \
	bash -c "openssl x509 -in '$PEM' -noout -ext subjectAltName | grep -q 'DNS:um1.example.test, DNS:um1'"
check "the key file is 0600" test "$(stat -c %a "$S/keys/$T.key")" = 600
check "the store is 0700" test "$(stat -c %a "$S")" = 700
check "the key is the certificate's" bash -c \
	"diff <(openssl pkey -in '$S/keys/$T.key' -pubout) <(openssl x509 -in '$PEM' -noout -pubkey)"

# --- the other views and lookups ------------------------------------------------------------
lower=$(tr 'A-F' 'a-f' <<<"$T" | sed 's/../&:/g; s/:$//')
check "get accepts a lower-case thumbprint with colons" cc get "$lower"
cc get "$T" --format list >"$WORK/list"
for p in CertificateDomains FriendlyName HasPrivateKey IsSelfSigned Issuer NotAfter NotBefore \
	PrivateKeyExportable PublicKeySize RootCAType SerialNumber Services Status Subject Thumbprint; do
	grep -q "^$p *: " "$WORK/list" || not_ok "list shows $p"
done
check "list shows the thumbprint line" grep -q "^Thumbprint *: $T\$" "$WORK/list"
check "get --domain matches" bash -c "'$CERTCTL' --store '$S' get --domain UM1.example.test | grep -q $T"
check "get --domain filters out" bash -c "! '$CERTCTL' --store '$S' get --domain other.example.test | grep -q $T"

# --- EC, subject, exportable; enable never removes ------------------------------------------
out=$(cc new --domain mail.contoso.com --domain "*.contoso.com" --subject "c=us,o=contoso corp,cn=mail.contoso.com" --key ec256 --services SMTP --exportable --days 30)
E=$(awk 'NR==3 {print $1}' <<<"$out")
cc get "$E" --format json >"$WORK/e.json"
expect_eq "X.500 subject kept in order" "CN=mail.contoso.com,O=contoso corp,C=us" "$(jq -r '.[0].Subject' "$WORK/e.json")"
expect_eq "EC P-256 key size" 256 "$(jq -r '.[0].PublicKeySize' "$WORK/e.json")"
expect_eq "exportable" true "$(jq -r '.[0].PrivateKeyExportable' "$WORK/e.json")"
check "wildcard domain covers one label" bash -c "'$CERTCTL' --store '$S' get --domain smtp.contoso.com | grep -q $E"
check "wildcard does not cover two labels" bash -c "! '$CERTCTL' --store '$S' get --domain a.b.contoso.com | grep -q $E"
check "enable UM" cc enable "$E" --services UM
check "enable IMAP" cc enable "$E" --services imap
expect_eq "enable adds and never removes" '["SMTP","IMAP","UM"]' "$(cc get "$E" --format json | jq -c '.[0].Services')"

# --- renew ------------------------------------------------------------------------------------
out=$(cc renew "$E")
R=$(awk 'NR==3 {print $1}' <<<"$out")
cc get "$R" --format json >"$WORK/r.json"
check "renew makes a new thumbprint" test "$R" != "$E" -a -n "$R"
expect_eq "renew keeps the subject" "$(jq -r '.[0].Subject' "$WORK/e.json")" "$(jq -r '.[0].Subject' "$WORK/r.json")"
expect_eq "renew keeps the domains" "$(jq -c '.[0].CertificateDomains' "$WORK/e.json")" "$(jq -c '.[0].CertificateDomains' "$WORK/r.json")"
expect_eq "renew keeps the services" '["SMTP","IMAP","UM"]' "$(jq -c '.[0].Services' "$WORK/r.json")"
expect_eq "renew keeps the key type" 256 "$(jq -r '.[0].PublicKeySize' "$WORK/r.json")"
check "renew uses a new key" bash -c "! cmp -s <(openssl x509 -in '$S/certs/$R.pem' -noout -pubkey) <(openssl x509 -in '$S/certs/$E.pem' -noout -pubkey)"

# --- export -------------------------------------------------------------------------------
check "export PEM" cc export "$T" --out "$WORK/um.pem"
fp2=$(openssl x509 -in "$WORK/um.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
expect_eq "exported PEM is the certificate" "$T" "$fp2"
check "export DER" cc export "$T" --der --out "$WORK/um.der"
fp3=$(openssl x509 -inform DER -in "$WORK/um.der" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
expect_eq "exported DER is the certificate" "$T" "$fp3"
check "export never writes the key" bash -c "! grep -q PRIVATE '$WORK/um.pem'"
check "export to stdout" bash -c "'$CERTCTL' --store '$S' export $T --out - | openssl x509 -noout"

# --- errors: one line, the reason, the right status -----------------------------------------
expect_fail "unknown thumbprint" 1 "no certificate with thumbprint" cc get 0000000000000000000000000000000000000000
expect_fail "malformed thumbprint" 1 "not a thumbprint" cc get 12345
expect_fail "unknown verb" 2 "unknown verb" cc frobnicate
expect_fail "bad option" 2 "bad option|unrecognized" cc get --colour
expect_fail "bad key type" 2 "unknown key type" cc new --key dsa
expect_fail "bad service" 2 "unknown service \"FTP\"" cc new --services FTP
expect_fail "bad domain" 1 "not a valid DNS name" cc new --domain "bad_name"
expect_fail "bad subject" 1 "subject" cc new --subject "xx=1"
expect_fail "missing store" 1 "No such file or directory" "$CERTCTL" --store "$WORK/nope" get
expect_fail "enable without services" 2 "required" cc enable "$T"
check "--help for each verb" bash -c "for v in new renew get enable remove export; do '$CERTCTL' \$v --help | grep -q usage || exit 1; done"
check "UMEDGE_STORE selects the store" bash -c "UMEDGE_STORE='$S' '$CERTCTL' get | grep -q $T"

# --- bad entries are reported and the rest loads ------------------------------------------------
n_before=$(cc get --format json | jq length)
printf -- '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' >"$S/certs/0123456789ABCDEF0123456789ABCDEF01234567.pem"
cc get --format json >"$WORK/bad.json" 2>"$WORK/bad.err"
expect_eq "a corrupt PEM does not stop the rest loading" "$n_before" "$(jq length "$WORK/bad.json")"
check "the corrupt PEM is named in a warning" grep -q "warning: .*0123456789ABCDEF0123456789ABCDEF01234567.pem" "$WORK/bad.err"
rm -f "$S/certs/0123456789ABCDEF0123456789ABCDEF01234567.pem"

# --- concurrent writers -------------------------------------------------------------------------
n_before=$(cc get --format json | jq length)
for w in 1 2 3; do
	(for i in 1 2 3 4; do cc new --domain "w$w-$i.example.test" --key ec256 >/dev/null || echo fail >>"$WORK/conc.fail"; done) &
done
(for i in 1 2 3 4 5 6; do cc enable "$T" --services SMTP,POP >/dev/null || echo fail >>"$WORK/conc.fail"; done) &
wait
check "no concurrent writer failed" test ! -e "$WORK/conc.fail"
cc get --format json >"$WORK/conc.json" 2>"$WORK/conc.err"
expect_eq "every concurrent certificate is stored" $((n_before + 12)) "$(jq length "$WORK/conc.json")"
check "no store problem after concurrent writes" test ! -s "$WORK/conc.err"
check "no temporary file is left behind" bash -c "! ls -A '$S'/certs '$S'/keys '$S'/meta | grep -q '\.tmp\.'"

# --- store folders: a link in a folder's place, or another user's folder, is refused ------------
# (a review found: with keys/ a link to another directory, new wrote and remove deleted keys there.)
L="$WORK/lstore"
cl() { "$CERTCTL" --store "$L" "$@"; }
out=$(cl new --domain link.example.test --key ec256)
TL=$(awk 'NR==3 {print $1}' <<<"$out")
mkdir -m 700 "$WORK/elsewhere"
printf 'not a key of the store\n' >"$WORK/elsewhere/$TL.key"
chmod 600 "$WORK/elsewhere/$TL.key"
mv "$L/keys" "$WORK/keys.aside"
ln -s "$WORK/elsewhere" "$L/keys"
expect_fail "new refuses a store whose keys/ is a symbolic link, naming it" 1 "$L/keys.*symbolic link" \
	cl new --domain link2.example.test --key ec256
expect_fail "remove refuses it" 1 "$L/keys.*symbolic link" cl remove "$TL"
expect_fail "get refuses it" 1 "$L/keys.*symbolic link" cl get
check "nothing was written behind the link" test "$(ls -A "$WORK/elsewhere")" = "$TL.key"
check "nothing was removed behind the link" grep -qx "not a key of the store" "$WORK/elsewhere/$TL.key"
check "the certificate is still in the store" test -e "$L/certs/$TL.pem"
rm "$L/keys"
mv "$WORK/keys.aside" "$L/keys"
ln -s "$L" "$WORK/lstore.link"
expect_fail "a store that is itself a symbolic link is refused" 1 "lstore.link.*symbolic link" \
	"$CERTCTL" --store "$WORK/lstore.link" get
chmod 777 "$L/meta"
expect_fail "a folder others may write to is refused" 1 "$L/meta.*writable" cl get
chmod 700 "$L/meta"
if [ "$(id -u)" = 0 ]; then
	chown 4242:4242 "$L/certs"
	expect_fail "a folder another user owns is refused" 1 "$L/certs.*uid 4242" cl get
	chown 0:0 "$L/certs"
fi
check "with its folders back the store works" cl remove "$TL"
check "and its key went from the store's own keys/" test ! -e "$L/keys/$TL.key"

# --- remove -------------------------------------------------------------------------------------
check "remove" cc remove "$R"
expect_fail "a removed certificate is gone" 1 "no certificate with thumbprint" cc get "$R"
check "its key is gone" test ! -e "$S/keys/$R.key"
check "its meta is gone" test ! -e "$S/meta/$R.ini"
expect_fail "removing it again fails" 1 "no certificate" cc remove "$R"


# --- New-ExchangeCertificate's defaults, renew --services, select's FQDN, the first run --
HOSTFQDN=$(hostname -f 2>/dev/null || hostname)
HOSTSHORT=$(hostname -s 2>/dev/null || hostname)
N="$WORK/defaults"
"$CERTCTL" --store "$N" new --key ec256 >/dev/null
expect_eq "new without arguments: CN=<host name>" "CN=$HOSTSHORT" "$("$CERTCTL" --store "$N" get --format json | jq -r '.[0].Subject')"
expect_eq "... SMTP enabled" "SMTP" "$("$CERTCTL" --store "$N" get --format json | jq -r '.[0].Services | join(",")')"
check "... the host name and FQDN in CertificateDomains" bash -c "'$CERTCTL' --store '$N' get --format json | jq -e --arg s '$HOSTSHORT' --arg f '$HOSTFQDN' '.[0].CertificateDomains | index(\$s) != null and index(\$f) != null'"
D0=$("$CERTCTL" --store "$N" get --format json | jq -r '.[0].Thumbprint')
check "renew --services: the clone with other services" bash -c "'$CERTCTL' --store '$N' renew $D0 --services UM,IMAP | grep -q 'I.U...'"
check "renew --services with no service is refused" bash -c "! '$CERTCTL' --store '$N' renew $D0 --services ''"
expect_eq "select without --fqdn matches the host's FQDN" "\"$HOSTFQDN\"" "$("$CERTCTL" --store "$N" select --service SMTP --offline --format json | jq -c .fqdn)"
"$CERTCTL" --store "$WORK/other" new --domain other.example.test --services SMTP --key ec256 >/dev/null
expect_eq "... so a certificate for another name is not selected" null "$("$CERTCTL" --store "$WORK/other" select --service SMTP --offline --format json | jq -r .selected)"
expect_eq "... the table view names the FQDN used" "FQDN:     $HOSTFQDN" "$("$CERTCTL" --store "$WORK/other" select --service SMTP --offline | sed -n 2p)"
check "select --fqdn \"\": any name, \"fqdn\" null, the other name's certificate selected" bash -c "'$CERTCTL' --store '$WORK/other' select --service SMTP --offline --fqdn '' --format json | jq -e '.fqdn == null and .selected != null'"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/r14.key" -out "$WORK/r14.pem" -subj /CN=Root14 -days 30 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
check "trust add on a store that does not exist yet creates it" "$CERTCTL" --store "$WORK/first" trust add "$WORK/r14.pem" --type registry
check "... and the root is in trust/registry" bash -c "ls '$WORK/first/trust/registry/' | grep -q pem"
mkdir -m 700 "$WORK/bare"
check "trust add on a store with only its top directory" "$CERTCTL" --store "$WORK/bare" trust add "$WORK/r14.pem" --type registry

finish
