#!/bin/bash
# The CA path end to end with a throw-away CA made by the openssl CLI: certctl request, issue
# with openssl x509 -req, import (PEM, .p7b, PKCS#12), the pending request in get, PFX export
# read back by openssl pkcs12, and every refusal leaving the store as it was.
. "$(dirname "$0")/lib.sh"
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
S="$WORK/store"
CA="$WORK/ca"
cc() { "$CERTCTL" --store "$S" "$@"; }
# Every file of the store with its mode, size, time and contents: equal means untouched.
# Everything in a store but its lock file, which every writer touches (the writers' generation).
tree() { (cd "$1" && find . ! -path ./.lock -printf '%p %m %s %T@\n' | sort && find . -type f ! -path ./.lock -exec sha256sum {} + | sort); }

# --- a throw-away CA: root, and an issuing CA under it -----------------------------------------
mkdir -p "$CA"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-keyout "$CA/root.key" -out "$CA/root.pem" -subj "/O=umedge tests/CN=umedge CA Test Root" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$CA/int.key" -out "$CA/int.csr" -subj "/O=umedge tests/CN=umedge CA Test Issuing" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$CA/int.ext"
openssl x509 -req -in "$CA/int.csr" -CA "$CA/root.pem" -CAkey "$CA/root.key" -CAcreateserial \
	-days 30 -extfile "$CA/int.ext" -out "$CA/int.pem" 2>/dev/null
check "the test CA exists" openssl verify -CAfile "$CA/root.pem" "$CA/int.pem"
# issue REQUEST OUT [DER]: what a CA does with a request, copying the requested extensions.
issue() {
	openssl x509 -req ${3:+-inform DER} -in "$1" -CA "$CA/int.pem" -CAkey "$CA/int.key" \
		-CAcreateserial -days 20 -copy_extensions copy -out "$2" 2>/dev/null
}

# --- request: PKCS#10 with subject, SAN, EKU; the key stays in the store ------------------------
out=$(cc request --subject "c=us,o=contoso corp,cn=mail.contoso.com" \
	--domain mail.contoso.com,autodiscover.contoso.com --services UM --exportable \
	--friendly-name "CA test" --out "$WORK/mail.csr")
check "request succeeds and prints its row" grep -q "mail.contoso.com" <<<"$out"
ID=$(awk 'NR==3 {print $1}' <<<"$out")
check "the request's id is 40 hex" grep -Eq '^[0-9A-F]{40}$' <<<"$ID"
check "the request is PEM" grep -q -- "-----BEGIN CERTIFICATE REQUEST-----" "$WORK/mail.csr"
check "openssl verifies the request's signature" openssl req -in "$WORK/mail.csr" -noout -verify
expect_eq "the request's subject" "CN=mail.contoso.com,O=contoso corp,C=us" \
	"$(openssl req -in "$WORK/mail.csr" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
openssl req -in "$WORK/mail.csr" -noout -text >"$WORK/mail.csr.txt"
check "the request asks for every domain in the SAN" \
	grep -q "DNS:mail.contoso.com, DNS:autodiscover.contoso.com" "$WORK/mail.csr.txt"
check "the request asks for serverAuth and clientAuth" \
	grep -q "TLS Web Server Authentication, TLS Web Client Authentication" "$WORK/mail.csr.txt"
check "the request is signed with SHA-256" grep -q "sha256WithRSAEncryption" "$WORK/mail.csr.txt"
spki=$(openssl req -in "$WORK/mail.csr" -noout -pubkey | openssl pkey -pubin -outform DER | sha1sum | awk '{print toupper($1)}')
expect_eq "the id is the SHA-1 of the request's public key" "$spki" "$ID"
check "the pending key is 0600" test "$(stat -c %a "$S/requests/$ID.key")" = 600
check "the pending key is unencrypted PKCS#8" grep -q -- "-----BEGIN PRIVATE KEY-----" "$S/requests/$ID.key"
check "the pending key is the request's" bash -c \
	"diff <(openssl pkey -in '$S/requests/$ID.key' -pubout) <(openssl req -in '$WORK/mail.csr' -noout -pubkey)"

cc get --format json >"$WORK/pending.json"
pj() { jq -r --arg id "$ID" ".[] | select(.Thumbprint == \$id) | .$1" "$WORK/pending.json"; }
expect_eq "get lists the request as PendingRequest" PendingRequest "$(pj Status)"
expect_eq "a pending request has its private key" true "$(pj HasPrivateKey)"
expect_eq "its subject" "CN=mail.contoso.com,O=contoso corp,C=us" "$(pj Subject)"
expect_eq "its domains" '["mail.contoso.com","autodiscover.contoso.com"]' \
	"$(jq -c --arg id "$ID" '.[] | select(.Thumbprint == $id) | .CertificateDomains' "$WORK/pending.json")"
expect_eq "CertificateRequest is the request written out" "$(cat "$WORK/mail.csr")" "$(pj CertificateRequest)"
check "the table lists it" bash -c "'$CERTCTL' --store '$S' get | grep -q '^$ID  ..U...'"
check "the list view says PendingRequest" bash -c \
	"'$CERTCTL' --store '$S' get $ID --format list | grep -q '^Status *: PendingRequest'"
check "get --domain finds it" bash -c "'$CERTCTL' --store '$S' get --domain autodiscover.contoso.com | grep -q $ID"
check "get --domain filters it out" bash -c "! '$CERTCTL' --store '$S' get --domain other.contoso.com | grep -q $ID"

# --- a certificate matching no request: refused, exit 1, nothing changes -----------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/stranger.key" \
	-out "$WORK/stranger.csr" -subj "/CN=mail.contoso.com" 2>/dev/null
issue "$WORK/stranger.csr" "$WORK/stranger.pem"
tree "$S" >"$WORK/before.tree"
expect_fail "a certificate matching no request is refused" 1 "matches no pending request" \
	cc import "$WORK/stranger.pem"
tree "$S" >"$WORK/after.tree"
check "the refused import changed nothing in the store" cmp "$WORK/before.tree" "$WORK/after.tree"
expect_fail "the CA's own certificate is refused too" 1 "matches no pending request" \
	cc import "$CA/root.pem"
expect_fail "importing the request itself is refused" 1 "certificate request, not a certificate" \
	cc import "$WORK/mail.csr"
expect_fail "a bare certificate does not create a store" 1 "No such file" \
	"$CERTCTL" --store "$WORK/nostore" import "$WORK/stranger.pem"
check "no store was made" test ! -e "$WORK/nostore"
tree "$S" >"$WORK/after2.tree"
check "the refused imports changed nothing" cmp "$WORK/before.tree" "$WORK/after2.tree"

# --- issue, import: the request completes -----------------------------------------------------
issue "$WORK/mail.csr" "$WORK/mail.pem"
check "the CA issued the requested SAN" bash -c \
	"openssl x509 -in '$WORK/mail.pem' -noout -ext subjectAltName | grep -q 'DNS:autodiscover.contoso.com'"
# PEM, the certificate followed by its issuer, as CAs mail them.
cat "$WORK/mail.pem" "$CA/int.pem" >"$WORK/mail-chain.pem"
out=$(cc import "$WORK/mail-chain.pem" --services SMTP)
T=$(awk 'NR==3 {print $1}' <<<"$out")
fp=$(openssl x509 -in "$WORK/mail.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
expect_eq "import prints the certificate's thumbprint" "$fp" "$T"
cc get "$T" --format json >"$WORK/mail.json"
j() { jq -r ".[0].$1" "$WORK/mail.json"; }
expect_eq "the imported certificate has its private key" true "$(j HasPrivateKey)"
check "the imported certificate is not PendingRequest" test "$(j Status)" != PendingRequest
expect_eq "Issuer is the CA's subject" \
	"$(openssl x509 -in "$CA/int.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" "$(j Issuer)"
expect_eq "the request's services and the import's" '["SMTP","UM"]' "$(jq -c '.[0].Services' "$WORK/mail.json")"
expect_eq "the request's exportable flag" true "$(j PrivateKeyExportable)"
expect_eq "the request's friendly name" "CA test" "$(j FriendlyName)"
expect_eq "IsSelfSigned" false "$(j IsSelfSigned)"
expect_eq "the issuer is stored with it" 2 "$(grep -c 'BEGIN CERTIFICATE' "$S/certs/$T.pem")"
check "the stored key is the request's key" bash -c \
	"diff <(openssl pkey -in '$S/keys/$T.key' -pubout) <(openssl x509 -in '$WORK/mail.pem' -noout -pubkey)"
check "the request's files are gone" bash -c "! ls '$S/requests' | grep -q '$ID'"
expect_eq "get lists no pending request any more" 0 \
	"$(cc get --format json | jq '[.[] | select(.Status == "PendingRequest")] | length')"
tree "$S" >"$WORK/before.tree"
expect_fail "importing it again is refused: its request is gone" 1 "matches no pending request" \
	cc import "$WORK/mail.pem"
tree "$S" >"$WORK/after.tree"
check "the second import changed nothing" cmp "$WORK/before.tree" "$WORK/after.tree"

# --- a DER request, completed by a .p7b chain (PEM and DER) ---------------------------------------
out=$(cc request --domain um1.contoso.com --key rsa2048 --services UM --der --out "$WORK/um1.der")
ID2=$(awk 'NR==3 {print $1}' <<<"$out")
check "the --der request is DER" openssl req -inform DER -in "$WORK/um1.der" -noout -verify
issue "$WORK/um1.der" "$WORK/um1.pem" der
openssl crl2pkcs7 -nocrl -certfile "$CA/root.pem" -certfile "$WORK/um1.pem" -certfile "$CA/int.pem" \
	-out "$WORK/um1.p7b"
out=$(cc import "$WORK/um1.p7b")
T2=$(awk 'NR==3 {print $1}' <<<"$out")
fp=$(openssl x509 -in "$WORK/um1.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
expect_eq "the .p7b's leaf is imported" "$fp" "$T2"
check "the request it completed is no longer pending" test ! -e "$S/requests/$ID2.csr"
expect_eq "the chain is stored with it (leaf, issuing CA, root)" 3 "$(grep -c 'BEGIN CERTIFICATE' "$S/certs/$T2.pem")"
check "the stored chain verifies with openssl" bash -c \
	"openssl verify -CAfile '$CA/root.pem' -untrusted <(sed -n '/BEGIN/,\$p' '$S/certs/$T2.pem') '$WORK/um1.pem'"
expect_eq "not exportable unless requested so" false "$(cc get "$T2" --format json | jq -r '.[0].PrivateKeyExportable')"

out=$(cc request --domain um2.contoso.com --out "$WORK/um2.csr")
issue "$WORK/um2.csr" "$WORK/um2.pem"
openssl crl2pkcs7 -nocrl -certfile "$WORK/um2.pem" -certfile "$CA/int.pem" -outform DER -out "$WORK/um2.p7b"
check "a DER .p7b completes its request" cc import "$WORK/um2.p7b"

# --- PFX export: refused unless exportable; AES-256-CBC and a SHA-256 MAC -----------------------
printf 'export pass phrase\n' >"$WORK/pw"
chmod 600 "$WORK/pw"
expect_fail "export --pfx of a non-exportable certificate is refused" 1 "not exportable" \
	cc export "$T2" --pfx --password-file "$WORK/pw" --out "$WORK/um1.pfx"
check "nothing was written" test ! -e "$WORK/um1.pfx"
expect_fail "--pfx needs a password file" 2 "go together" cc export "$T" --pfx --out "$WORK/x.pfx"
check "export --pfx" cc export "$T" --pfx --password-file "$WORK/pw" --out "$WORK/mail.pfx"
check "the PFX file is 0600" test "$(stat -c %a "$WORK/mail.pfx")" = 600
openssl pkcs12 -info -noout -in "$WORK/mail.pfx" -passin "file:$WORK/pw" >"$WORK/info" 2>&1
check "openssl pkcs12 -info reads it with the password" test $? -eq 0
check "its MAC is SHA-256 with 600000 iterations" grep -q "^MAC: sha256, Iteration 600000" "$WORK/info"
check "its certificates are encrypted with AES-256-CBC" \
	grep -q "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256" "$WORK/info"
check "its key is encrypted with AES-256-CBC" \
	grep -q "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 600000, PRF hmacWithSHA256" "$WORK/info"
printf 'not the pass phrase\n' >"$WORK/badpw"
chmod 600 "$WORK/badpw"
check "a wrong password does not open it" bash -c \
	"! openssl pkcs12 -info -noout -in '$WORK/mail.pfx' -passin 'file:$WORK/badpw' 2>/dev/null"
openssl pkcs12 -in "$WORK/mail.pfx" -passin "file:$WORK/pw" -nodes -out "$WORK/mail.pfx.pem" 2>/dev/null
check "the PFX holds the key of the certificate" bash -c \
	"diff <(openssl pkey -in '$WORK/mail.pfx.pem' -pubout) <(openssl x509 -in '$WORK/mail.pem' -noout -pubkey)"
expect_eq "the PFX holds the certificate and its issuing CA" 2 "$(grep -c 'BEGIN CERTIFICATE' "$WORK/mail.pfx.pem")"
check "the PFX carries the friendly name" grep -q "friendlyName: CA test" "$WORK/mail.pfx.pem"

# --- PKCS#12 import: its own key; wrong password and corrupt files refused ----------------------
S2="$WORK/store2"
cc2() { "$CERTCTL" --store "$S2" "$@"; }
expect_fail "a PKCS#12 with the wrong password is refused" 1 "wrong password" \
	cc2 import "$WORK/mail.pfx" --password-file "$WORK/badpw"
expect_fail "a PKCS#12 without its password is refused" 1 "wrong password" cc2 import "$WORK/mail.pfx"
out=$(cc2 import "$WORK/mail.pfx" --password-file "$WORK/pw" --services LDAP)
expect_eq "the PFX imports into another store under the same thumbprint" "$T" "$(awk 'NR==3 {print $1}' <<<"$out")"
cc2 get "$T" --format json >"$WORK/p12.json"
expect_eq "with its key" true "$(jq -r '.[0].HasPrivateKey' "$WORK/p12.json")"
expect_eq "not exportable without --exportable" false "$(jq -r '.[0].PrivateKeyExportable' "$WORK/p12.json")"
expect_eq "its friendly name comes from the PFX" "CA test" "$(jq -r '.[0].FriendlyName' "$WORK/p12.json")"
expect_eq "with its chain" 2 "$(grep -c 'BEGIN CERTIFICATE' "$S2/certs/$T.pem")"
# A PFX made by openssl itself, with --exportable.
openssl pkcs12 -export -in "$WORK/stranger.pem" -inkey "$WORK/stranger.key" -certfile "$CA/int.pem" \
	-name "openssl made" -passout "file:$WORK/pw" -out "$WORK/stranger.pfx"
out=$(cc2 import "$WORK/stranger.pfx" --password-file "$WORK/pw" --exportable)
T3=$(awk 'NR==3 {print $1}' <<<"$out")
expect_eq "an openssl PFX imports exportable when asked" true \
	"$(cc2 get "$T3" --format json | jq -r '.[0].PrivateKeyExportable')"

# --- a password file others can read is refused, as edgesync refuses it -------------
cp "$WORK/pw" "$WORK/pw.open"
chmod 644 "$WORK/pw.open"
expect_fail "export refuses a password file of mode 0644" 1 "password file .*pw.open.*(mode 644).*chmod 600" \
	cc export "$T" --pfx --password-file "$WORK/pw.open" --out "$WORK/open.pfx"
check "and writes nothing" test ! -e "$WORK/open.pfx"
chmod 640 "$WORK/pw.open"
expect_fail "import refuses a password file of mode 0640" 1 "password file .*pw.open.*chmod 600" \
	cc2 import "$WORK/stranger.pfx" --password-file "$WORK/pw.open"

# --- a PKCS#12 asking for 2^31-1 MAC iterations is refused before the work -------------
# openssl makes it with 2048; the MAC's count, the last INTEGER of the PFX (RFC 7292 section 4),
# is then rewritten in the DER, with the lengths around it.
python3 - "$WORK/stranger.pfx" "$WORK/costly.pfx" <<'PY'
import sys
def tlv(b, i):
    l, j = b[i + 1], i + 2
    if l & 0x80:
        n = l & 0x7f
        l, j = int.from_bytes(b[j:j + n], "big"), j + n
    return j, l
def enc(tag, v):
    n = len(v)
    ln = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + ln + v
def children(b):
    j, l = tlv(b, 0)
    out, i = [], j
    while i < j + l:
        k, m = tlv(b, i)
        out.append(b[i:k + m])
        i = k + m
    return out
version, authsafe, macdata = children(open(sys.argv[1], "rb").read())
digest, salt, _ = children(macdata)
macdata = enc(0x30, digest + salt + enc(0x02, (2**31 - 1).to_bytes(4, "big")))
open(sys.argv[2], "wb").write(enc(0x30, version + authsafe + macdata))
PY
check "the costly PFX's MAC asks for 2147483647 iterations" bash -c \
	"openssl asn1parse -inform DER -in '$WORK/costly.pfx' | tail -1 | grep -q 'INTEGER *:7FFFFFFF'"
tree "$S2" >"$WORK/before-costly.tree"
expect_fail "import refuses it at once, naming the count and the limit" 1 \
	"MAC asks for 2147483647 iterations, more than the 10000000" \
	timeout 60 "$CERTCTL" --store "$S2" import "$WORK/costly.pfx" --password-file "$WORK/pw"
tree "$S2" >"$WORK/after-costly.tree"
check "and writes nothing" cmp "$WORK/before-costly.tree" "$WORK/after-costly.tree"

head -c 600 "$WORK/stranger.pfx" >"$WORK/truncated.pfx"
tree "$S2" >"$WORK/before.tree"
expect_fail "a truncated PKCS#12 fails with the library's reason" 1 "PKCS#12: .*(too long|header|asn1)" \
	cc2 import "$WORK/truncated.pfx" --password-file "$WORK/pw"
head -c 200 "$WORK/um1.pem" >"$WORK/truncated.pem"
expect_fail "a truncated PEM fails with the library's reason" 1 "malformed input: .*PEM" \
	cc2 import "$WORK/truncated.pem"
printf 'not a certificate at all' >"$WORK/junk"
expect_fail "junk fails" 1 "malformed input" cc2 import "$WORK/junk"
tree "$S2" >"$WORK/after.tree"
check "failed imports changed nothing" cmp "$WORK/before.tree" "$WORK/after.tree"
expect_fail "import needs a file" 2 "one file" cc2 import
check "--help for request and import" bash -c \
	"'$CERTCTL' request --help | grep -q usage && '$CERTCTL' import --help | grep -q usage"

finish
