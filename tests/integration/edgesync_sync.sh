#!/bin/bash
# edgesync end to end against three real slapd processes over LDAPS (a source with syncprov and
# two edges): configuration checks, subscription new/import and their refusals (the pin `new`
# prints and `import --pin` requires; without it or with another, nothing written), the credential
# kept encrypted, a first full sync, incremental add/modify/delete/move-out-of-scope, hashed
# addresses, entries edgesync did not create left alone, full compare, pin mismatch refused
# before any bind and cured by add-cert, credential rotation and expiry, remove, CLI errors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"

es_env_setup 30 || exit 1
sha() { printf '%s' "$1" | tr 'A-Z' 'a-z' | sha256sum | cut -d' ' -f1; }
# re TEXT: TEXT as a literal in a grep -E pattern (base64 has + and /)
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }
spki() { openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | base64; }
recip() { edge_get "$1" "(&(umedgeArea=recipients)(umedgeSourceUUID=$(src_uuid "uid=$2,ou=people,dc=corp,dc=test")))" "${@:3}"; }
# edge_has EDGE FILTER PATTERN [ATTR...]: an entry matching FILTER shows PATTERN (grep -E)
edge_has() {
	local e=$1 f=$2 p=$3
	shift 3
	edge_get "$e" "$f" "$@" | grep -Eq -- "$p"
}
recip_has() { recip "$1" "$2" "${@:4}" | grep -Eq -- "$3"; }

# --- configuration --------------------------------------------------------------------------------
check "-n accepts the replicator configuration" es -n
check "-n accepts an edge configuration" es_on edge1 -n
printf '[edgesync]\nlease_seconds = 300\n\n[source]\nurl = ldaps://x\nbogus = 1\n' >"$WORK/bad1.conf"
expect_fail "an unknown key is named with file:line" 1 "bad1.conf:6: unknown key \"bogus\"" "$EDGESYNC" -c "$WORK/bad1.conf" -n
printf '[edgesync]\nlease_seconds = soon\n' >"$WORK/bad2.conf"
expect_fail "a bad number is named with file:line" 1 "bad2.conf:2: lease_seconds" "$EDGESYNC" -c "$WORK/bad2.conf" -n
printf '[source]\nurl = ldaps://x\nbind_dn = cn=a\nbind_password = secret\n' >"$WORK/bad3.conf"
expect_fail "a password in the configuration is refused" 1 "bad3.conf:4: bind_password: passwords are not kept" "$EDGESYNC" -c "$WORK/bad3.conf" -n
printf '[source]\nurl = ldaps://x\nbind_dn = cn=a\n' >"$WORK/bad4.conf"
expect_fail "a missing key names the section's line" 1 "bad4.conf:1: \[source\] needs bind_password_file" "$EDGESYNC" -c "$WORK/bad4.conf" -n
printf '[rule extra]\nfilter = (cn=*)\ntarget = ou=Extra\n' >"$WORK/bad5.conf"
expect_fail "an incomplete new rule is refused" 1 "bad5.conf:1: \[rule extra\] needs filter, attributes and target" "$EDGESYNC" -c "$WORK/bad5.conf" -n
printf '[source]\nurl = http://x\n' >"$WORK/bad6.conf"
expect_fail "a URL that is not LDAP is refused" 1 "bad6.conf:2: url" "$EDGESYNC" -c "$WORK/bad6.conf" -n
expect_fail "a missing configuration file" 1 "nosuch.conf" "$EDGESYNC" -c "$WORK/nosuch.conf" -n
expect_fail "an edge verb on the replicator's configuration" 1 "no \[edge\] section" es subscription new --out "$WORK/x.sub"

# --- subscription new on the edges ----------------------------------------------------------------
es_on edge1 subscription new --out "$WORK/edge1.sub" >"$WORK/edge1.new.out" 2>&1
expect_eq "subscription new on edge1" 0 "$?"
es_on edge2 subscription new --out "$WORK/edge2.sub" --valid-minutes 600 --format json >"$WORK/edge2.new.json" 2>"$WORK/edge2.new.err"
expect_eq "subscription new on edge2 (--format json)" 0 "$?"
PIN1=$(new_pin "$WORK/edge1.new.out")
PIN2=$(jq -r .Pin "$WORK/edge2.new.json")
# the pin the administrator carries apart from the file: the SPKI SHA-256 of the edge's key
expect_eq "new prints the pin of edge1's key (pin: SHA256:, openssl's SPKI SHA-256)" "SHA256:$(spki "$WORK/edge1-store/certs/$E1_T.pem")" "$PIN1"
check "... and says to carry it apart from the file to import --pin" grep -Eq "carry this pin to the replicator apart from it.*subscription import FILE --pin $(re "$PIN1")" "$WORK/edge1.new.out"
expect_eq "new --format json: the pin of edge2's key in .Pin" "SHA256:$(spki "$WORK/edge2-store/certs/$E2_T.pem")" "$PIN2"
check "new --format json: the documented keys" jq -e ".Name == \"edge2\" and .File == \"$WORK/edge2.sub\" and .Thumbprint == \"$E2_T\" and .CertificateCreated == false and .BindDN == \"cn=edgesync,dc=edge2,dc=test\" and .Minutes == 600 and (.Effective | test(\"Z\$\"))" "$WORK/edge2.new.json"
expect_eq "the file is 0600" 600 "$(stat -c %a "$WORK/edge1.sub")"
check "the file is JSON with the documented keys" jq -e '.version == 1 and .edge_name == "edge1" and .fqdn == "edge1.example.test" and .base == "dc=edge1,dc=test" and .bind_dn == "cn=edgesync,dc=edge1,dc=test" and (.bind_password | length) == 32 and .duration_minutes == 1440 and (.effective | test("Z$"))' "$WORK/edge1.sub"
jq -r .certificate "$WORK/edge1.sub" >"$WORK/edge1.filecert.pem"
expect_eq "the file's certificate is the LDAP certificate certctl made (reused)" "$(openssl x509 -in "$WORK/edge1-store/certs/$E1_T.pem" -outform DER | sha256sum)" "$(openssl x509 -in "$WORK/edge1.filecert.pem" -outform DER | sha256sum)"
echo | openssl s_client -connect "127.0.0.1:$(slapd_port edge1)" 2>/dev/null | openssl x509 >"$WORK/edge1.served.pem"
expect_eq "... and the one the edge directory serves" "$(spki "$WORK/edge1.served.pem")" "$(spki "$WORK/edge1.filecert.pem")"
expect_eq "the bootstrap account's password expires with the file (pwdMaxAge)" 86400 "$(edge_get edge1 '(cn=edgesync-policy)' pwdMaxAge | sed -n 's/^pwdMaxAge: //p')"
check "the account is governed by that policy" edge_has edge1 '(cn=edgesync)' '^pwdPolicySubentry: cn=edgesync-policy,dc=edge1,dc=test$' pwdPolicySubentry
check "... and its password was set (its clock started)" edge_has edge1 '(cn=edgesync)' '^pwdChangedTime: ' pwdChangedTime
pw1=$(jq -r .bind_password "$WORK/edge1.sub")
check "the edge keeps only a hash of the password" bash -c "! grep -rqF '$pw1' '$(slapd_dir edge1)/db'"
expect_fail "--valid-minutes 0 is a usage error" 2 "valid-minutes" es_on edge1 subscription new --out "$WORK/x.sub" --valid-minutes 0
expect_fail "subscription new without --out" 2 "needs --out" es_on edge1 subscription new

# --- import: refusals write nothing ---------------------------------------------------------------
# nothing in the source directory, and not even the replicator's identity certificate in its store
nothing_written() {
	! slapd_search src -b dc=corp,dc=test '(objectClass=umedgeEdgeSubscription)' 1.1 | grep -q dn: &&
		! ls "$WORK/rep-store/certs/"*.pem >/dev/null 2>&1
}
# the file is the trust anchor: without the pin carried apart from it, or with another, nothing
expect_fail "import without --pin is refused, saying why" 2 "refused, nothing written: --pin is required.*nothing protects it on its way" es subscription import "$WORK/edge1.sub"
check "... and nothing was written" nothing_written
expect_fail "import with another edge's pin is refused" 1 "refused, nothing written: .*edge1.sub pins the key $(re "$PIN1"), not $(re "$PIN2") given by --pin" es subscription import "$WORK/edge1.sub" --pin "$PIN2"
check "... and nothing was written" nothing_written
# the attack: the file changed on its way to carry another key (here edge2's), the pin is edge1's
jq --arg c "$(cat "$WORK/edge2-store/certs/$E2_T.pem")" '.certificate = $c' "$WORK/edge1.sub" >"$WORK/swapped.sub"
expect_fail "a file whose key was swapped on its way is refused by the edge's pin" 1 "swapped.sub pins the key $(re "$PIN2"), not $(re "$PIN1") given by --pin" es subscription import "$WORK/swapped.sub" --pin "$PIN1"
check "... and nothing was written" nothing_written
expect_fail "a malformed --pin is a usage error" 2 "is not a key pin" es subscription import "$WORK/edge1.sub" --pin "SHA256:${PIN1#SHA256:}x"
expect_fail "... as is a pin of another digest" 2 "is not a key pin" es subscription import "$WORK/edge1.sub" --pin "SHA1:2jmj7l5rSw0yVb/vlWAYkK/YBwk="
check "... and nothing was written" nothing_written
jq '.effective = "2020-01-01T00:00:00Z"' "$WORK/edge1.sub" >"$WORK/expired.sub"
expect_fail "an expired subscription file is refused" 1 "expired at 2020-01-02T00:00:00Z" es subscription import "$WORK/expired.sub" --pin "$PIN1"
check "... and nothing was written" nothing_written
jq '.effective = "2099-01-01T00:00:00Z"' "$WORK/edge1.sub" >"$WORK/future.sub"
expect_fail "a file dated in the future is refused" 1 "not effective before" es subscription import "$WORK/future.sub" --pin "$PIN1"
head -c 200 "$WORK/edge1.sub" >"$WORK/trunc.sub"
expect_fail "a truncated file is refused" 1 "not JSON" es subscription import "$WORK/trunc.sub" --pin "$PIN1"
jq 'del(.bind_dn)' "$WORK/edge1.sub" >"$WORK/nodn.sub"
expect_fail "a file without bind_dn is refused" 1 "no \"bind_dn\"" es subscription import "$WORK/nodn.sub" --pin "$PIN1"
jq '.version = 2' "$WORK/edge1.sub" >"$WORK/v2.sub"
expect_fail "another version is refused" 1 "\"version\" is not 1" es subscription import "$WORK/v2.sub" --pin "$PIN1"
jq '.certificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"' "$WORK/edge1.sub" >"$WORK/badcert.sub"
expect_fail "a file with a broken certificate is refused" 1 "certificate is not a PEM certificate" es subscription import "$WORK/badcert.sub" --pin "$PIN1"
jq '.url = "http://127.0.0.1/"' "$WORK/edge1.sub" >"$WORK/badurl.sub"
expect_fail "a file with a URL that is not LDAP is refused" 1 "is not ldaps:// or ldap://" es subscription import "$WORK/badurl.sub" --pin "$PIN1"
expect_fail "a missing file" 1 "nosuch.sub" es subscription import "$WORK/nosuch.sub" --pin "$PIN1"
check "... none of them wrote anything" nothing_written

# --- import ---------------------------------------------------------------------------------------
es subscription import "$WORK/edge1.sub" --pin "$PIN1" >"$WORK/import1.out" 2>&1
expect_eq "import edge1 with the pin new printed" 0 "$?"
check "... which says the pinned key was confirmed" grep -qF "pinned key $PIN1 (confirmed by --pin)" "$WORK/import1.out"
check "import edge2 (the pin's prefix in lower case is the same pin)" es subscription import --pin "sha256:${PIN2#SHA256:}" "$WORK/edge2.sub"
expect_fail "importing an edge twice is refused" 1 "already subscribed" es subscription import "$WORK/edge1.sub" --pin "$PIN1"
expect_eq "subscription list names both edges" "edge1 edge2" "$(es subscription list --format json | jq -r '[.[].Name] | join(" ")')"
SUB1="cn=edge1,cn=Edge Subscriptions,dc=corp,dc=test"
slapd_search src -b "$SUB1" -s base '*' >"$WORK/sub1.ldif"
check "the subscription object pins the edge's certificate" grep -q '^umedgePinnedCertificate:: ' "$WORK/sub1.ldif"
check "the password is not in the source directory in clear" bash -c "! grep -qF '$pw1' '$WORK/sub1.ldif' && ! grep -rqF '$pw1' '$(slapd_dir src)/db'"
sed -n 's/^umedgeEncryptedCredential:: //p' "$WORK/sub1.ldif" | base64 -d >"$WORK/cred.der"
check "the credential is CMS enveloped data" bash -c "openssl cms -cmsout -inform DER -in '$WORK/cred.der' -print | grep -q 'authEnvelopedData\|envelopedData'"
check "... that does not hold the password in clear either" bash -c "! grep -qF '$pw1' '$WORK/cred.der'"
REP_T=$("$CERTCTL" --store "$WORK/rep-store" get --format json | jq -r '.[0].Thumbprint')
REP_SERIAL=$("$CERTCTL" --store "$WORK/rep-store" get --format json | jq -r '.[0].SerialNumber' | sed 's/^0*//')
REP_SERIAL_DEC=$(python3 -c "print(int('$REP_SERIAL', 16))")
# openssl prints a serial in decimal when it fits its long, else as 0x and hex
check "... encrypted to the replicator's LDAP certificate" bash -c "openssl cms -cmsout -inform DER -in '$WORK/cred.der' -print | grep -Eiq 'serialNumber: (0x$REP_SERIAL|$REP_SERIAL_DEC)\$'"
expect_eq "the replicator's certificate is for service LDAP" '["LDAP"]' "$("$CERTCTL" --store "$WORK/rep-store" get --format json | jq -c '.[0].Services')"
check "only the replicator's key opens it" bash -c "openssl cms -decrypt -inform DER -in '$WORK/cred.der' -recip '$WORK/rep-store/certs/$REP_T.pem' -inkey '$WORK/rep-store/keys/$REP_T.key' | grep -qxF '$pw1'"

# --- the first sync: everything, to both edges ----------------------------------------------------
es start >"$WORK/start1.out" 2>"$WORK/start1.err"
expect_eq "first start exits 0" 0 "$?"
check "it logged EdgeSyncCompleted for edge1 with 24 added" grep -Eq '2000 EdgeSyncCompleted edge=edge1 added=24 modified=0 deleted=0' "$WORK/start1.err"
check "it logged EdgeLeaseAcquired for edge2" grep -Eq '2003 EdgeLeaseAcquired edge=edge2 holder=' "$WORK/start1.err"
for e in edge1 edge2; do
	expect_eq "$e: 20 recipients" 20 "$(edge_count $e recipients)"
	expect_eq "$e: 2 accepted domains" 2 "$(edge_count $e accepteddomains)"
	expect_eq "$e: 1 remote domain" 1 "$(edge_count $e remotedomains)"
	expect_eq "$e: 1 send connector" 1 "$(edge_count $e connectors)"
done
recip edge1 u3 >"$WORK/u3.ldif"
expect_eq "mail on the edge is SHA-256 of the lower-cased source value" "$(sha 'User3@Corp.Test')" "$(sed -n 's/^mail: //p' "$WORK/u3.ldif")"
expect_eq "proxy addresses on the edge are SHA-256 of the lower-cased values" "$( (sha 'SMTP:User3@Corp.Test'; sha 'smtp:U3@Sub.Corp.Test') | sort | tr '\n' ' ')" "$(sed -n 's/^proxyAddresses: //p' "$WORK/u3.ldif" | sort | tr '\n' ' ')"
expect_eq "cn is copied in clear" "User 3" "$(sed -n 's/^cn: //p' "$WORK/u3.ldif")"
check "attributes outside the rule are not copied (telephoneNumber)" bash -c "! grep -q telephoneNumber '$WORK/u3.ldif'"
check "every copy carries the marker class" grep -q '^objectClass: umedgeReplicated' "$WORK/u3.ldif"
expect_eq "the accepted domain is copied as is" "Authoritative" "$(edge_get edge2 '(umedgeDomainName=corp.test)' umedgeDomainType | sed -n 's/^umedgeDomainType: //p')"
check "the cookie of each area is on the subscription" bash -c "[ \$(ldapsearch -LLL -o ldif-wrap=no -Q -Y EXTERNAL -H '$(slapd_ldapi src)' -b '$SUB1' -s base umedgeSyncCookie | grep -c '^umedgeSyncCookie') -eq 4 ]"
es test --full-compare --format json >"$WORK/test1.json"
expect_eq "test --full-compare exits 0" 0 "$?"
expect_eq "both edges are Normal" "Normal Normal" "$(jq -r '[.[].SyncStatus] | join(" ")' "$WORK/test1.json")"
expect_eq "edge1 recipients: 20 synchronized, nothing else" "20 0 0 0" "$(jq -r '.[0].Areas.recipients | "\(.SynchronizedObjects) \(.SourceOnlyObjects) \(.TargetOnlyObjects) \(.ConflictObjects)"' "$WORK/test1.json")"
check "the report names the last synchronization and the credential" jq -e '.[0].LastSynchronized != null and .[0].CredentialStatus == "Valid" and .[0].ConnectionResult == "Succeeded" and .[0].Areas.recipients.CookieStatus == "Current"' "$WORK/test1.json"

# --- incremental: an add, a modify, a delete, a move out of scope, a filter miss ------------------
U6=$(src_uuid uid=u6,ou=people,dc=corp,dc=test)
U7=$(src_uuid uid=u7,ou=people,dc=corp,dc=test)
U8=$(src_uuid uid=u8,ou=people,dc=corp,dc=test)
slapd_modify src >/dev/null <<'LDIF'
dn: uid=u5,ou=people,dc=corp,dc=test
changetype: modify
replace: cn
cn: User Five
-
add: proxyAddresses
proxyAddresses: smtp:Five@Corp.Test

dn: uid=u6,ou=people,dc=corp,dc=test
changetype: delete

dn: uid=u7,ou=people,dc=corp,dc=test
changetype: modrdn
newrdn: uid=u7
deleteoldrdn: 1
newsuperior: ou=former,dc=corp,dc=test

dn: uid=u8,ou=people,dc=corp,dc=test
changetype: modify
delete: mail
LDIF
add_people 21 21
es start >"$WORK/start2.out" 2>"$WORK/start2.err"
expect_eq "one incremental cycle exits 0" 0 "$?"
check "it was incremental: 1 added, 1 modified, 3 deleted on edge1" grep -Eq '2000 EdgeSyncCompleted edge=edge1 added=1 modified=1 deleted=3' "$WORK/start2.err"
for e in edge1 edge2; do
	expect_eq "$e: the add arrived" 1 "$(recip $e u21 1.1 | grep -c '^dn:')"
	expect_eq "$e: the modify arrived (cn)" "User Five" "$(recip $e u5 cn | sed -n 's/^cn: //p')"
	check "$e: the modify arrived (a new hashed proxy address)" recip_has $e u5 "$(sha smtp:Five@Corp.Test)" proxyAddresses
	expect_eq "$e: the delete arrived" 0 "$(edge_get $e "(umedgeSourceUUID=$U6)" 1.1 | grep -c '^dn:')"
	expect_eq "$e: the move out of scope arrived (deleted)" 0 "$(edge_get $e "(umedgeSourceUUID=$U7)" 1.1 | grep -c '^dn:')"
	expect_eq "$e: the entry that stopped matching the filter is gone" 0 "$(edge_get $e "(umedgeSourceUUID=$U8)" 1.1 | grep -c '^dn:')"
	expect_eq "$e: 18 recipients now" 18 "$(edge_count $e recipients)"
done
es start >/dev/null 2>"$WORK/start3.err"
check "a cycle with nothing new writes nothing" grep -Eq '2000 EdgeSyncCompleted edge=edge1 added=0 modified=0 deleted=0' "$WORK/start3.err"
check "test --full-compare: Normal after the incremental cycle" es test --full-compare

# --- entries edgesync did not create are never touched --------------------------------------------
slapd_modify edge1 -a >/dev/null <<'LDIF'
dn: cn=Local Note,ou=Recipients,dc=edge1,dc=test
objectClass: organizationalRole
cn: Local Note
description: the edge administrator's own entry
LDIF
add_people 22 22
U22=$(src_uuid uid=u22,ou=people,dc=corp,dc=test)
# someone else's entry where edgesync would put u22 (without the marker)
slapd_modify edge1 -a >/dev/null <<LDIF
dn: umedgeSourceUUID=$U22,ou=Recipients,dc=edge1,dc=test
objectClass: umedgeEdgeObject
umedgeSourceUUID: $U22
cn: not edgesync's
LDIF
slapd_modify src >/dev/null <<'LDIF'
dn: uid=u9,ou=people,dc=corp,dc=test
changetype: delete
LDIF
es start >"$WORK/start4.out" 2>"$WORK/start4.err"
expect_eq "a conflicting entry fails the cycle (exit 1)" 1 "$?"
check "... naming the entry in the way" grep -q "umedgeSourceUUID=$U22,ou=Recipients,dc=edge1,dc=test exists on the edge but edgesync did not create it" "$WORK/start4.err"
check "... which is left as it was" edge_has edge1 "(umedgeSourceUUID=$U22)" "^cn: not edgesync's$" cn
check "edge2, without the conflict, synced" grep -Eq '2000 EdgeSyncCompleted edge=edge2 added=1 modified=0 deleted=1' "$WORK/start4.err"
check "the administrator's own entry is untouched" edge_has edge1 '(cn=Local Note)' "administrator's own entry" description
es test --edge edge1 --format json >"$WORK/test2.json"
expect_eq "test: edge1 is Warning after the failed cycle" Warning "$(jq -r '.[0].SyncStatus' "$WORK/test2.json")"
check "... with the failure in FailureDetail" jq -e '.[0].FailureDetail | test("did not create it")' "$WORK/test2.json"
slapd_modify edge1 >/dev/null <<LDIF
dn: umedgeSourceUUID=$U22,ou=Recipients,dc=edge1,dc=test
changetype: delete
LDIF
check "with the entry out of the way the next cycle succeeds" es start --edge edge1
expect_eq "... and u22 arrived" 1 "$(recip edge1 u22 1.1 | grep -c '^dn:')"
check "the administrator's entry is still there" edge_has edge1 '(cn=Local Note)' '^dn: ' 1.1
check "test --full-compare: Normal again" es test --full-compare

# --- drift on the edge: only a full compare sees it, --full repairs it ----------------------------
U10DN=$(recip edge1 u10 1.1 | sed -n 's/^dn: //p')
printf 'dn: %s\nchangetype: delete\n' "$U10DN" | slapd_modify edge1 >/dev/null
printf 'dn: %s\nchangetype: modify\nreplace: cn\ncn: tampered\n' "$(recip edge1 u11 1.1 | sed -n 's/^dn: //p')" | slapd_modify edge1 >/dev/null
es test --edge edge1 --full-compare --format json >"$WORK/test3.json"
expect_eq "test --full-compare sees the drift: Warning" Warning "$(jq -r '.[0].SyncStatus' "$WORK/test3.json")"
expect_eq "... one source-only and one conflicting object" "1 1" "$(jq -r '.[0].Areas.recipients | "\(.SourceOnlyObjects) \(.ConflictObjects)"' "$WORK/test3.json")"
check "start --full repairs it" es start --edge edge1 --full
check "test --full-compare: Normal" es test --edge edge1 --full-compare

# --- an edge with a different certificate (same name, new key) ------------------------------------
NEW_T=$(new_ldap_cert "$WORK/edge1-store" edge1.example.test)
slapd_set_cert edge1 "$WORK/edge1-store" "$NEW_T"
binds_before=$(grep -c 'BIND dn="cn=edgesync,dc=edge1,dc=test"' "$(slapd_log edge1)")
entries_before=$(edge_get edge1 '(objectClass=*)' 1.1 | grep -c '^dn:')
add_people 23 23
es start >"$WORK/start5.out" 2>"$WORK/start5.err"
expect_eq "start fails (exit 1) for the edge with a new key" 1 "$?"
check "EdgeCertificatePinMismatch names the expected pin" grep -q "2002 EdgeCertificatePinMismatch edge=edge1 expected=\"\?SHA256:$(spki "$WORK/edge1-store/certs/$E1_T.pem")" "$WORK/start5.err"
check "... and the presented one" grep -q "presented=\"\?SHA256:$(spki "$WORK/edge1-store/certs/$NEW_T.pem")" "$WORK/start5.err"
expect_eq "no bind reached the edge" "$binds_before" "$(grep -c 'BIND dn="cn=edgesync,dc=edge1,dc=test"' "$(slapd_log edge1)")"
expect_eq "nothing was written to it" "$entries_before" "$(edge_get edge1 '(objectClass=*)' 1.1 | grep -c '^dn:')"
expect_eq "the other edge synced" 1 "$(recip edge2 u23 1.1 | grep -c '^dn:')"
es test --edge edge1 --format json >"$WORK/test4.json"
expect_eq "test: edge1 Failed, PinMismatch" "Failed PinMismatch" "$(jq -r '.[0] | "\(.SyncStatus) \(.ConnectionResult)"' "$WORK/test4.json")"
expect_fail "add-cert with a file that is not a certificate" 1 "not a PEM or DER certificate" es subscription add-cert edge1 "$WORK/edge1.conf"
expect_fail "add-cert for an edge that is not subscribed" 1 "not a subscription|No such object" es subscription add-cert nosuch "$WORK/edge1-store/certs/$NEW_T.pem"
check "subscription add-cert with the new certificate" es subscription add-cert edge1 "$WORK/edge1-store/certs/$NEW_T.pem"
expect_fail "the same certificate twice" 1 "already pinned" es subscription add-cert edge1 "$WORK/edge1-store/certs/$NEW_T.pem"
check "now edge1 syncs" es start --edge edge1
expect_eq "... and received u23" 1 "$(recip edge1 u23 1.1 | grep -c '^dn:')"
check "test --full-compare: Normal with the renewed certificate" es test --edge edge1 --full-compare

# --- credential rotation and expiry ---------------------------------------------------------------
hash_of() { edge_get "$1" '(cn=edgesync)' userPassword | sed -n 's/^userPassword:: //p'; }
cred_of() { slapd_search src -b "cn=$1,cn=Edge Subscriptions,dc=corp,dc=test" -s base umedgeEncryptedCredential | sed -n 's/^umedgeEncryptedCredential:: //p'; }
old_hash=$(hash_of edge2) old_cred=$(cred_of edge2)
jq -j .bind_password "$WORK/edge2.sub" >"$WORK/edge2.pw" && chmod 600 "$WORK/edge2.pw"
bind_edge2() { LDAPTLS_REQCERT=never ldapwhoami -x -H "$(slapd_url edge2)" -D cn=edgesync,dc=edge2,dc=test -y "$WORK/edge2.pw"; }
check "before rotation the bootstrap password binds" bind_edge2
es --log-format json start --edge edge2 --rotate-credential >/dev/null 2>"$WORK/rot.err"
expect_eq "start --rotate-credential exits 0" 0 "$?"
check "it says the credential was rotated: EdgeCredentialRotated (2004), not resumed" jq -s -e 'any(.[]; .event_id == 2004 and .event == "EdgeCredentialRotated" and .edge == "edge2" and .resumed == false) and all(.[]; .event_id != 2005)' "$WORK/rot.err"
check "the edge holds another password" test "$old_hash" != "$(hash_of edge2)"
check "the source holds another encrypted credential" test "$old_cred" != "$(cred_of edge2)"
check "no rotation is left pending" bash -c "! ldapsearch -LLL -Q -Y EXTERNAL -H '$(slapd_ldapi src)' -b 'cn=edge2,cn=Edge Subscriptions,dc=corp,dc=test' -s base umedgePendingCredential | grep -q umedgePendingCredential"
expect_fail "the bootstrap password no longer binds" 49 "" bind_edge2
check "the next cycle binds with the new one" es start --edge edge2
# a rotation cut off after the edge took the new password but before the source recorded it:
# the edge has P3, the subscription has P3 only as its pending credential
printf '%s' "rotated-$RANDOM-$RANDOM-password" >"$WORK/p3"
chmod 600 "$WORK/p3"
ldappasswd -Q -Y EXTERNAL -H "$(slapd_ldapi edge2)" -T "$WORK/p3" cn=edgesync,dc=edge2,dc=test >/dev/null
openssl cms -encrypt -binary -aes-256-gcm -outform DER -in "$WORK/p3" -out "$WORK/p3.der" "$WORK/rep-store/certs/$REP_T.pem"
printf 'dn: cn=edge2,cn=Edge Subscriptions,dc=corp,dc=test\nchangetype: modify\nadd: umedgePendingCredential\numedgePendingCredential:< file://%s\n' "$WORK/p3.der" | slapd_modify src >/dev/null
es --log-format json start --edge edge2 >/dev/null 2>"$WORK/pending.err"
expect_eq "a cut-off rotation: the next cycle succeeds with the pending credential" 0 "$?"
check "... and says it completed the rotation: EdgeCredentialRotated (2004), resumed" jq -s -e 'any(.[]; .event_id == 2004 and .edge == "edge2" and .resumed == true)' "$WORK/pending.err"
expect_eq "... the pending credential became the current one" "$(base64 -w0 "$WORK/p3.der")" "$(cred_of edge2 | tr -d '\n')"
check "... and none is pending any more" bash -c "! ldapsearch -LLL -Q -Y EXTERNAL -H '$(slapd_ldapi src)' -b 'cn=edge2,cn=Edge Subscriptions,dc=corp,dc=test' -s base umedgePendingCredential | grep -q umedgePendingCredential"
check "the cycle after that binds with it" es start --edge edge2
# the edge's own policy enforces expiry: shorten it and let the password age past it
printf 'dn: cn=edgesync-policy,dc=edge2,dc=test\nchangetype: modify\nreplace: pwdMaxAge\npwdMaxAge: 1\n' | slapd_modify edge2 >/dev/null
sleep 2
es start --edge edge2 >/dev/null 2>"$WORK/expired.err"
expect_eq "an expired password fails the cycle" 1 "$?"
check "... and the reason says so" grep -qi "expired" "$WORK/expired.err"
printf 'dn: cn=edgesync-policy,dc=edge2,dc=test\nchangetype: modify\nreplace: pwdMaxAge\npwdMaxAge: 36000\n' | slapd_modify edge2 >/dev/null

# --- JSON events ----------------------------------------------------------------------------------
add_people 24 24
es --log-format json start --edge edge1 >/dev/null 2>"$WORK/json.err"
check "--log-format json: EdgeSyncCompleted as a JSON line" bash -c "grep '\"event_id\":2000' '$WORK/json.err' | jq -e 'select(.event == \"EdgeSyncCompleted\" and .edge == \"edge1\" and .added == 1 and .level == \"info\")'"
check "--log-format json: every line is JSON" bash -c "jq -e . '$WORK/json.err' >/dev/null"

# --- remove, and usage errors ---------------------------------------------------------------------
check "subscription remove edge2" es subscription remove edge2
expect_eq "list shows edge1 only" "edge1" "$(es subscription list --format json | jq -r '[.[].Name] | join(" ")')"
expect_fail "remove again" 1 "not subscribed" es subscription remove edge2
expect_eq "what was copied to edge2 stays there" 19 "$(edge_count edge2 recipients)"
expect_fail "an unknown verb" 2 "unknown verb" es frobnicate
expect_fail "an unknown option of start" 2 "bad option" es start --bogus
expect_fail "test for an edge that is not subscribed" 1 "not subscribed" es test --edge nosuch
expect_fail "start for an edge that is not subscribed" 1 "not a subscription|No such object" es start --edge nosuch

finish
