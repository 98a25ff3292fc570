#!/bin/bash
# edgesync from a real Active Directory: Samba's AD DC (tests/integration/samba.sh), provisioned
# here in a network namespace of this test's own, with LDAPS on a certificate made here, the
# umedge schema loaded in its AD form (edgesync/schema/ad-*.ldif, the subscription container kept
# in AD), 2,500 recipients (users, contacts, groups) loaded with ldbadd, and one slapd edge.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/samba.sh"
samba_netns "$@"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"
SCHEMA_DIR=$(cd "$(dirname "$0")/../../edgesync/schema" && pwd)
NUSERS=${AD_USERS:-600}
NCONTACTS=${AD_CONTACTS:-1850}
NGROUPS=${AD_GROUPS:-50}
NREC=$((NUSERS + NCONTACTS + NGROUPS))

# --- the domain controller ------------------------------------------------------------------------
check "samba-tool provisions a domain (CORP.TEST) in the test's directory" samba_provision dc CORP.TEST
B=$(samba_base dc)
expect_eq "the forest root" "DC=corp,DC=test" "$B"
{
	printf 'dn: OU=People,%s\nobjectClass: organizationalUnit\nou: People\n\n' "$B"
	printf 'dn: OU=Former,%s\nobjectClass: organizationalUnit\nou: Former\n\n' "$B"
	for i in $(seq 1 "$NUSERS"); do
		printf 'dn: CN=User %d,OU=People,%s\nobjectClass: user\nsAMAccountName: u%d\n' "$i" "$B" "$i"
		printf 'mail: User%d@Corp.Test\nproxyAddresses: SMTP:User%d@Corp.Test\n' "$i" "$i"
		printf 'proxyAddresses: smtp:U%d@Sub.Corp.Test\n\n' "$i"
	done
	for i in $(seq 1 "$NCONTACTS"); do
		printf 'dn: CN=Contact %d,OU=People,%s\nobjectClass: contact\n' "$i" "$B"
		printf 'mail: Contact%d@Partner.Test\nproxyAddresses: SMTP:Contact%d@Partner.Test\n\n' "$i" "$i"
	done
	for i in $(seq 1 "$NGROUPS"); do
		printf 'dn: CN=Group %d,OU=People,%s\nobjectClass: group\nsAMAccountName: g%d\n' "$i" "$B" "$i"
		printf 'mail: Group%d@Corp.Test\nproxyAddresses: SMTP:Group%d@Corp.Test\n\n' "$i" "$i"
	done
} >"$WORK/people.ldif"
t0=$(date +%s)
check "ldbadd loads $NREC recipients into sam.ldb while samba is stopped" samba_load dc "$WORK/people.ldif"
echo "# ldbadd: $(($(date +%s) - t0)) s"
check "samba starts (LDAP only, in this test's network namespace)" samba_start dc
check "simple binds need TLS: refused over plain LDAP" bash -c "! ldapwhoami -x -H ldap://127.0.0.1 -D '$(samba_admin dc)' -y '$(samba_pwfile dc)' 2>&1 | grep -q '^u:' && ldapwhoami -x -H ldap://127.0.0.1 -D '$(samba_admin dc)' -y '$(samba_pwfile dc)' 2>&1 | grep -q 'Strong(er) authentication required'"
check "LDAPS answers with the test's certificate" samba_search dc -b "" -s base namingContexts
for f in subscription data; do
	sed "s/DC=X\$/$B/" "$SCHEMA_DIR/ad-$f.ldif" >"$WORK/ad-$f.ldif"
	check "ad-$f.ldif loads with ldapmodify (schema updates allowed)" samba_modify dc -f "$WORK/ad-$f.ldif"
done
has_class() { samba_search dc -b "CN=Schema,CN=Configuration,$B" '(lDAPDisplayName=umedgeEdgeSubscription)' governsID | grep -q '^governsID: 1.2.840.113556.1.8000.2554.51191.1905.37619.17833.48692.8056304.2100534.1.2.1$'; }
check "AD knows the subscription class now (its OID under Microsoft's generated arc)" has_class
# --- the edge and the replicator ------------------------------------------------------------------
E1_T=$(new_ldap_cert "$WORK/edge1-store" edge1.example.test)
check "the edge's slapd starts (in the same namespace)" slapd_start edge1 edge dc=edge1,dc=test "$WORK/edge1-store" "$E1_T"
cat >"$WORK/edge1.conf" <<CONF
[edgesync]
store = $WORK/edge1-store

[edge]
name = edge1
fqdn = edge1.example.test
url = $(slapd_url edge1)
base = dc=edge1,dc=test
admin_dn = cn=admin,dc=edge1,dc=test
admin_password_file = $(slapd_pwfile edge1)
CONF
rep_conf() { # TYPE BIND_DN PASSWORD_FILE
	cat <<CONF
[edgesync]
store = $WORK/rep-store
lease_seconds = 30
timeout = 20

[source]
type = $1
url = $(samba_url dc)
ca_file = $(samba_cafile dc)
bind_dn = $2
bind_password_file = $3
subscriptions = CN=Edge Subscriptions,$B
base = $B

[rule recipients]
base = OU=People,$B
CONF
}
rep_conf ad "$(samba_admin dc)" "$(samba_pwfile dc)" >"$WORK/rep.conf"

check "-n accepts type = ad" es -n
sed 's/^type = ad$/type = activedirectory/' "$WORK/rep.conf" >"$WORK/badtype.conf"
expect_fail "an unknown type is refused with file:line" 1 "badtype.conf:7: type = \"activedirectory\": use ldap, ad or auto" "$EDGESYNC" -c "$WORK/badtype.conf" -n
es_subscribe edge1
expect_eq "subscription import into AD" 0 "$?"
sed 's/^/    /' "$WORK/edge1.import.out" | head -5
in_ad() { samba_search dc -b "CN=Edge Subscriptions,$B" '(objectClass=umedgeEdgeSubscription)' umedgeEdgeName | grep -q '^umedgeEdgeName: edge1$'; }
check "the subscription container and object live in AD" in_ad

# --- SASL EXTERNAL: Samba's AD DC does not take it -------------------------------------------------
# Samba registers EXTERNAL for its own client side only (auth/gensec/external.c has no
# server_start), does not list it in supportedSASLMechanisms, and its LDAPS server asks no client
# certificate; the bind fails before any certificate could count
sed -e '/^bind_dn = /d' -e '/^bind_password_file = /d' -e 's/^url = /bind = external\nurl = /' \
	"$WORK/rep.conf" >"$WORK/external.conf"
check "Samba's LDAPS asks no client certificate" bash -c "openssl s_client -connect 127.0.0.1:636 </dev/null 2>&1 | grep -q 'No client certificate CA names sent'"
expect_fail "bind = external against Samba: its refusal, and that it does not offer EXTERNAL" 1 \
	"start: bind refused: SASL EXTERNAL bind on $(samba_url dc): .+; the server does not offer EXTERNAL \(supportedSASLMechanisms: [A-Z0-9 -]+\) \(client certificate [0-9A-F]{40}, subject [^)]+\)" \
	"$EDGESYNC" -c "$WORK/external.conf" start
sed 's/^/    /' "$WORK/.err" | head -3
expect_eq "... nothing was written to the edge" 0 "$(edge_count edge1 recipients)"

# --- the first sync, on a terminal: its progress lines --------------------------------------------
# (a pseudo-terminal made by script(1), as edgesync_progress.sh does against slapd)
t0=$(date +%s.%N)
script -qec "TERM=xterm $(printf '%q ' "$EDGESYNC" -c "$WORK/rep.conf" start)" /dev/null \
	</dev/null >"$WORK/start1.tty" 2>&1
expect_eq "the first sync from AD exits 0" 0 "$?"
echo "# first sync: $(echo "$(date +%s.%N) - $t0" | bc) s"
tr '\r' '\n' <"$WORK/start1.tty" | sed 's/\x1b\[K//g' >"$WORK/start1.screen"
grep -E "^edge1 recipients: " "$WORK/start1.screen" | sed 's/^/    /' | tail -3
expect_eq "edge1 holds all $NREC recipients" "$NREC" "$(edge_count edge1 recipients)"
check "progress: the recipients line is rewritten in place (CR, erase to end of line)" \
	grep -q $'\r''edge1 recipients: reading: [0-9]* entries.*'$'\x1b''\[K' "$WORK/start1.tty"
check "progress: the paged read of AD is estimating (nothing known before it ends)" \
	grep -Eq '^edge1 recipients: reading: [0-9]+ entries, (.*/s, )?estimating' "$WORK/start1.screen"
check "progress: the area's last line is kept: $NREC read, $NREC written" \
	grep -Eq "^edge1 recipients: done: $NREC read, $NREC written in [0-9]+ s$" "$WORK/start1.screen"
check "progress: each of the four areas ends with a kept line" \
	test "$(grep -Ec 'edge1 (recipients|accepteddomains|remotedomains|connectors): done: ' "$WORK/start1.tty")" -eq 4
check "the summary on stdout still follows" grep -q "edge1: synchronized: $NREC added" "$WORK/start1.tty"
check "test --full-compare: Normal" es test --full-compare


# --- incremental: DirSync alone finds add, modify, delete, rename, move out of scope --------------
# guid DN: the objectGUID of an AD entry in its standard string form (the key on the edge)
guid() {
	samba_search dc -b "$1" -s base objectGUID | sed -n 's/^objectGUID:: //p' |
		python3 -c 'import base64, sys, uuid; print(uuid.UUID(bytes_le=base64.b64decode(sys.stdin.read())))'
}
sha() { printf '%s' "$1" | tr 'A-Z' 'a-z' | sha256sum | cut -d' ' -f1; }
on_edge() { edge_get edge1 "(umedgeSourceUUID=$1)" "${@:2}"; }
G3=$(guid "CN=Contact 3,OU=People,$B")
expect_eq "a key is the objectGUID in its standard string form" 1 "$(on_edge "${G3:-none}" 1.1 | grep -c '^dn:')"
DN3=$(on_edge "$G3" 1.1 | sed -n 's/^dn: //p')
G4=$(guid "CN=Contact 4,OU=People,$B")
samba_modify dc >"$WORK/changes.out" 2>&1 <<LDIF
dn: CN=New 1,OU=People,$B
changetype: add
objectClass: contact
mail: New1@Corp.Test
proxyAddresses: SMTP:New1@Corp.Test

dn: CN=User 1,OU=People,$B
changetype: modify
replace: mail
mail: First.User@Corp.Test
-
add: proxyAddresses
proxyAddresses: smtp:First.User@Corp.Test
-

dn: CN=Contact 2,OU=People,$B
changetype: delete

dn: CN=Contact 3,OU=People,$B
changetype: modrdn
newrdn: CN=Contact 3b
deleteoldrdn: 1

dn: CN=Contact 4,OU=People,$B
changetype: modrdn
newrdn: CN=Contact 4
deleteoldrdn: 1
newsuperior: OU=Former,$B

dn: CN=Contact 5,OU=People,$B
changetype: modify
delete: mail
LDIF
expect_eq "AD took the six changes" 0 "$?"
es start >"$WORK/inc1.out" 2>"$WORK/inc1.err"
expect_eq "an incremental cycle exits 0" 0 "$?"
check "DirSync read only what changed in the area: 3 objects to read again whole, 3 gone" grep -Eq "edge edge1: area recipients: DirSync: 3 changed, 3 gone" "$WORK/inc1.err"
check "EdgeSyncCompleted: 1 added, 2 modified, 3 deleted" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=1 modified=2 deleted=3 " "$WORK/inc1.err"
expect_eq "edge1 holds $NREC recipients (one added, three gone)" "$((NREC - 2))" "$(edge_count edge1 recipients)"
expect_eq "the new contact is there" 1 "$(edge_get edge1 "(mail=$(sha New1@Corp.Test))" 1.1 | grep -c '^dn:')"
on_edge "$(guid "CN=User 1,OU=People,$B")" mail proxyAddresses >"$WORK/user1.ldif"
expect_eq "the modified mail is on the edge (hashed)" "$(sha First.User@Corp.Test)" "$(sed -n 's/^mail: //p' "$WORK/user1.ldif")"
expect_eq "... and the added proxy address, beside the two it had (multi-valued)" "$( (sha SMTP:User1@Corp.Test; sha smtp:U1@Sub.Corp.Test; sha smtp:First.User@Corp.Test) | sort | tr '\n' ' ')" "$(sed -n 's/^proxyAddresses: //p' "$WORK/user1.ldif" | sort | tr '\n' ' ')"
expect_eq "the renamed contact keeps its edge entry (same DN), with the new cn" "$DN3|Contact 3b" "$(on_edge "$G3" cn | sed -n 's/^dn: //p; s/^cn: //p' | paste -sd'|')"
expect_eq "the contact moved out of the base is gone from the edge" 0 "$(on_edge "${G4:-none}" 1.1 | grep -c '^dn:')"
check "test --full-compare: Normal after the incremental cycle" es test --full-compare
es start >"$WORK/inc2.out" 2>"$WORK/inc2.err"
check "a cycle with nothing changed in the area reads nothing of it" grep -Eq "edge edge1: area recipients: DirSync: 0 changed, 0 gone" "$WORK/inc2.err"
check "... and writes nothing" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=0 modified=0 deleted=0 " "$WORK/inc2.err"

# --- binary garbage from the source: the entry set aside and named, the rest synced, nothing lost -----
# Samba refuses values that are not UTF-8 over LDAP (unit_es_source covers them) but takes NULs
nul() { python3 -c 'import base64, sys; print(base64.b64encode(sys.argv[1].replace("@", "\0@", 1).encode()).decode())' "$1"; }
samba_modify dc >"$WORK/nul.out" 2>&1 <<LDIF
dn: CN=Contact 10,OU=People,$B
changetype: modify
add: proxyAddresses
proxyAddresses:: $(nul smtp:c10@partner.test)
-

dn: CN=Contact 11,OU=People,$B
changetype: modify
replace: mail
mail:: $(nul Contact11@Partner.Test)
-

dn: CN=New 3,OU=People,$B
changetype: add
objectClass: contact
mail: New3@Corp.Test
LDIF
expect_eq "AD took two values with a NUL and a new contact" 0 "$?"
NOW=$(edge_count edge1 recipients)
es start >"$WORK/nul1.out" 2>"$WORK/nul1.err"
expect_eq "a cycle that reads values with a NUL exits 0" 0 "$?"
grep -i "warning" "$WORK/nul1.err" | sed 's/^/    /'
check "... and names the entry, the attribute and the byte" grep -Fq "edge edge1: area recipients: rule recipients: CN=Contact 10,OU=People,$B: proxyAddresses value 2 of 2 holds a NUL at byte 8; the entry is left as it is on the edge until it is corrected at the source" "$WORK/nul1.err"
check "... the other one too" grep -Fq "rule recipients: CN=Contact 11,OU=People,$B: mail value 1 of 1 holds a NUL at byte 9" "$WORK/nul1.err"
check "... the rest of the area is synced: the new contact added, nothing deleted" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=1 modified=0 deleted=0 " "$WORK/nul1.err"
expect_eq "the two entries keep their edge copies as they were" "$(sha SMTP:Contact10@Partner.Test)|$(sha Contact11@Partner.Test)" "$( (on_edge "$(guid "CN=Contact 10,OU=People,$B")" proxyAddresses; on_edge "$(guid "CN=Contact 11,OU=People,$B")" mail) | sed -n 's/^proxyAddresses: //p; s/^mail: //p' | paste -sd'|')"
es start --full >"$WORK/nul2.out" 2>"$WORK/nul2.err"
expect_eq "a full resync with the two entries still bad exits 0" 0 "$?"
check "... and deletes nothing (the entries set aside stay on the edge)" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=0 modified=0 deleted=0 " "$WORK/nul2.err"
expect_eq "edge1 still holds every recipient" "$((NOW + 1))" "$(edge_count edge1 recipients)"
samba_modify dc >/dev/null 2>&1 <<LDIF
dn: CN=Contact 10,OU=People,$B
changetype: modify
replace: proxyAddresses
proxyAddresses: SMTP:Contact10@Partner.Test
proxyAddresses: smtp:c10@partner.test
-

dn: CN=Contact 11,OU=People,$B
changetype: modify
replace: mail
mail: Contact11@Partner.Test
-
LDIF
es start >"$WORK/nul3.out" 2>"$WORK/nul3.err"
check "corrected at the source, the next incremental cycle brings both to the edge" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=0 modified=1 deleted=0 " "$WORK/nul3.err"
check "... without a warning" bash -c "! grep -q 'holds a NUL' '$WORK/nul3.err'"
check "test --full-compare: Normal once corrected" es test --full-compare

# --- a DirSync cookie the server refuses: a warning, a full resync, nothing lost --------------------
SUB="CN=edge1,CN=Edge Subscriptions,$B"
samba_search dc -b "$SUB" -s base umedgeSyncCookie >"$WORK/cookies.ldif"
python3 - "$WORK/cookies.ldif" "$SUB" >"$WORK/badcookie.ldif" <<'PY'
import base64, sys
vals = []
for line in open(sys.argv[1]):
    if line.startswith("umedgeSyncCookie:: "):
        vals.append(base64.b64decode(line.split(" ", 1)[1]))
    elif line.startswith("umedgeSyncCookie: "):
        vals.append(line.split(" ", 1)[1].rstrip("\n").encode())
old = [v for v in vals if v.startswith(b"recipients ")][0]
area, rule, _ = old.split(b" ", 2)
bad = area + b" " + rule + b" " + b"\x00garbage, not a DirSync cookie\xff" * 3
print("dn: %s\nchangetype: modify\ndelete: umedgeSyncCookie\numedgeSyncCookie:: %s\n-\nadd: umedgeSyncCookie\numedgeSyncCookie:: %s\n-\n"
      % (sys.argv[2], base64.b64encode(old).decode(), base64.b64encode(bad).decode()))
PY
check "the recipients cookie on the subscription is replaced by garbage" samba_modify dc -f "$WORK/badcookie.ldif"
samba_modify dc >/dev/null 2>&1 <<LDIF
dn: CN=Contact 6,OU=People,$B
changetype: delete
LDIF
es start >"$WORK/bad.out" 2>"$WORK/bad.err"
expect_eq "the cycle with a refused cookie exits 0" 0 "$?"
check "... it warns that the source refused the cookie, with the server's reason, and resyncs" grep -Eq "warning \"edge edge1: area recipients: the source refused the DirSync cookie \(rule recipients: DirSync search of $B: .+\); full resync\"" "$WORK/bad.err"
check "... the full resync deleted what was deleted meanwhile (Contact 6)" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=0 modified=0 deleted=1 " "$WORK/bad.err"
check "test --full-compare: Normal after the resync" es test --full-compare
es start >"$WORK/after.out" 2>"$WORK/after.err"
check "the next cycle is incremental again (a new cookie was stored)" grep -Eq "edge edge1: area recipients: DirSync: 0 changed, 0 gone" "$WORK/after.err"

# --- a DirSync cookie from another server: its invocationId is another DC's ------------------------
# the cookie's layout ([MS-ADTS] 3.1.1.3.4.1.3, Samba's ldapControlDirSyncCookie): "MSDS", then
# the source DSA's invocationId at byte 52
samba_search dc -b "$SUB" -s base umedgeSyncCookie >"$WORK/cookies2.ldif"
python3 - "$WORK/cookies2.ldif" "$SUB" >"$WORK/othercookie.ldif" <<'PY'
import base64, sys, uuid
vals = []
for line in open(sys.argv[1]):
    if line.startswith("umedgeSyncCookie:: "):
        vals.append(base64.b64decode(line.split(" ", 1)[1]))
    elif line.startswith("umedgeSyncCookie: "):
        vals.append(line.split(" ", 1)[1].rstrip("\n").encode())
old = [v for v in vals if v.startswith(b"recipients ")][0]
at = old.index(b"MSDS")
other = bytearray(old)
other[at + 52:at + 68] = uuid.uuid4().bytes_le
print("dn: %s\nchangetype: modify\ndelete: umedgeSyncCookie\numedgeSyncCookie:: %s\n-\nadd: umedgeSyncCookie\numedgeSyncCookie:: %s\n-\n"
      % (sys.argv[2], base64.b64encode(old).decode(), base64.b64encode(bytes(other)).decode()))
PY
check "the recipients cookie is replaced by one naming another DC" samba_modify dc -f "$WORK/othercookie.ldif"
samba_modify dc >/dev/null 2>&1 <<LDIF
dn: CN=Contact 8,OU=People,$B
changetype: delete

dn: CN=New 4,OU=People,$B
changetype: add
objectClass: contact
mail: New4@Corp.Test
LDIF
NOW=$(edge_count edge1 recipients)
es start >"$WORK/other.out" 2>"$WORK/other.err"
expect_eq "the cycle with another DC's cookie exits 0" 0 "$?"
grep -E "DirSync|refused" "$WORK/other.err" | sed 's/^/    /'
check "... the add and the delete made meanwhile reach the edge" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=1 modified=0 deleted=1 " "$WORK/other.err"
expect_eq "... and nothing else moved" "$NOW" "$(edge_count edge1 recipients)"
check "test --full-compare: Normal after another DC's cookie" es test --full-compare

# --- a replicator account that is not a domain administrator ----------------------------------------
# made offline (samba-tool on sam.ldb while samba is stopped), allowed to write the subscriptions
# only (an inherited ACE on their container), reading the rest as any authenticated user
printf 'Aa1-%s' "$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" >"$WORK/repl.pw"
chmod 600 "$WORK/repl.pw"
SAM="$(samba_dir dc)/dc/private/sam.ldb"
repl_account() {
	local sid
	samba_stop dc
	samba-tool user create repl "$(cat "$WORK/repl.pw")" -H "$SAM" >"$WORK/repl.out" 2>&1 || return 1
	sid=$(samba-tool user show repl -H "$SAM" --attributes=objectSid | sed -n 's/^objectSid: //p')
	[ -n "$sid" ] || return 1
	# the container's descriptor in SDDL, which ldb's tools take for nTSecurityDescriptor (samba-tool
	# dsacl 4.17 cannot parse this container's inherited descriptor back); the ACE is inherited by
	# the subscription already there
	ldbmodify -H "$SAM" >>"$WORK/repl.out" 2>&1 <<LDIF || return 1
dn: CN=Edge Subscriptions,$B
changetype: modify
replace: nTSecurityDescriptor
nTSecurityDescriptor: O:DAG:DAD:AI(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;$sid)(A;CI;GA;;;DA)(A;CI;GA;;;SY)(A;CI;RPLCLORC;;;AU)
LDIF
	samba_start dc
}
check "an ordinary account, repl, that may write only the subscriptions" repl_account
rep_conf ad "CN=repl,CN=Users,$B" "$WORK/repl.pw" >"$WORK/repl.conf"
esr() { "$EDGESYNC" -c "$WORK/repl.conf" "$@"; }
samba_modify dc >/dev/null 2>&1 <<LDIF
dn: CN=New 2,OU=People,$B
changetype: add
objectClass: contact
mail: New2@Corp.Test

dn: CN=Contact 7,OU=People,$B
changetype: delete
LDIF
esr start >"$WORK/repl1.out" 2>"$WORK/repl1.err"
expect_eq "a cycle as repl exits 0 (DirSync with the object-security flag)" 0 "$?"
check "... and found the add and the delete by DirSync" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=1 modified=0 deleted=1 " "$WORK/repl1.err"
check "test --full-compare as repl: Normal" esr test --full-compare

finish
