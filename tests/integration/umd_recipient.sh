#!/bin/bash
# umd's recipient lookup (um/src/voicemail/recipient.c) against a real slapd over LDAPS, through
# tests/tools recipient_lookup (one JSON line a lookup): an extension found, one that maps to no
# one (fallback, or a permanent error without one), ambiguous numbers, mail values refused, a
# filter injection that finds no one; and the directory that cannot be asked (stopped, hung, a
# certificate of an untrusted root or for another name, a wrong password): a temporary error
# with libldap's reason, never the fallback. StartTLS on ldap://, the connection kept across
# lookups and made again after slapd restarted, and a password file others may read refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
RL=${RECIPIENT_LOOKUP:?set RECIPIENT_LOOKUP to the recipient_lookup tool}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
# the store's own roots only: the stranger's root is in no bundle either way
export UMEDGE_CA_BUNDLE=""
unset LDAPTLS_CACERT LDAPTLS_REQCERT LDAPTLS_CACERTDIR

# A throw-away PKI: a root umd's store trusts and one it does not; the directory's certificate
# names 127.0.0.1 (the URL's host), another names someone else, a third comes from the stranger.
P="$WORK/pki"
DS="$WORK/dirstore" # the certificates slapd serves, as slapd_start expects them
mkdir -p "$P" "$DS/certs" "$DS/keys"
root() { # NAME CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-days 30 -keyout "$P/$1.key" -out "$P/$1.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
leaf() { # NAME ISSUER SAN
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$DS/keys/$1.key" -out "$P/$1.csr" 2>/dev/null
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$3" >"$P/$1.ext"
	openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" -CAcreateserial \
		-days 30 -extfile "$P/$1.ext" -out "$DS/certs/$1.pem" 2>/dev/null
	chmod 600 "$DS/keys/$1.key"
}
root root "umedge Directory Test Root"
root stranger "Stranger Root"
leaf dir root "DNS:dir.example.test,IP:127.0.0.1"
leaf othername root "DNS:other.example.test"
leaf strange stranger "DNS:dir.example.test,IP:127.0.0.1"
S="$WORK/umstore"
check "umd's store: its own certificate" "$CERTCTL" --store "$S" new --domain um1.example.test \
	--services UM --key ec256
check "umd's store trusts the directory's root" "$CERTCTL" --store "$S" trust add "$P/root.pem" \
	--type enterprise

PLAIN_PORT=$(slapd_free_port)
SLAPD_LISTEN_EXTRA="ldap://127.0.0.1:$PLAIN_PORT" slapd_start dir edge dc=corp,dc=test "$DS" dir ||
	exit 1
URL=$(slapd_url dir)
PW="$WORK/umd.pw"
head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$PW"
chmod 600 "$PW"
# dave's mail carries a CR LF and an SMTP command after the address
DAVE=$(printf 'dave@example.test\r\nRCPT TO:<mallory@evil.test>' | base64 -w0)
slapd_modify dir -a >"$WORK/ldif.log" 2>&1 <<LDIF || { cat "$WORK/ldif.log"; exit 1; }
dn: ou=people,dc=corp,dc=test
objectClass: organizationalUnit
ou: people

dn: cn=umd,dc=corp,dc=test
objectClass: person
cn: umd
sn: umd
userPassword: $(cat "$PW")

dn: uid=alice,ou=people,dc=corp,dc=test
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
telephoneNumber: 1001
mail: alice@example.test

dn: uid=bob,ou=people,dc=corp,dc=test
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
telephoneNumber: 1002
mail: bob@example.test

dn: uid=bob2,ou=people,dc=corp,dc=test
objectClass: inetOrgPerson
uid: bob2
cn: Bob Two
sn: B
telephoneNumber: 1002
mail: bob2@example.test

dn: uid=carol,ou=people,dc=corp,dc=test
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C
telephoneNumber: 1003
mail: carol

dn: uid=dave,ou=people,dc=corp,dc=test
objectClass: inetOrgPerson
uid: dave
cn: Dave
sn: D
telephoneNumber: 1004
mail:: $DAVE

dn: uid=erin,ou=people,dc=corp,dc=test
objectClass: inetOrgPerson
uid: erin
cn: Erin
sn: E
telephoneNumber: 1005
mail: erin@example.test
mail: erin.two@example.test

dn: uid=frank,ou=people,dc=corp,dc=test
objectClass: inetOrgPerson
uid: frank
cn: Frank
sn: F
telephoneNumber: 1006
LDIF

BASE="ou=people,dc=corp,dc=test"
BIND="cn=umd,dc=corp,dc=test"
# look [OPTIONS...] URI...: the directory configuration, then the caller's options and URIs
look() {
	"$RL" --url "$URL" --base "$BASE" --bind-dn "$BIND" --password-file "$PW" --store "$S" \
		--timeout 3 "$@"
}
# j FIELDS: the JSON fields of each line, space separated (jq)
j() { jq -r "[$1] | map(tostring) | join(\" \")"; }
FB="--fallback voicemail@example.test"

# --- what maps to someone, and to no one ---
got=$(look $FB sip:1001@um1.example.test | j '.status, .how, .address, .dn')
expect_eq "1001: alice's mail from her entry" \
	"ok directory alice@example.test uid=alice,ou=people,dc=corp,dc=test" "$got"
got=$(look $FB sip:1999@um1.example.test | j '.status, .how, .address')
expect_eq "1999 maps to no one: the fallback" "ok fallback voicemail@example.test" "$got"
got=$(look $FB sip:1999@um1.example.test | jq -r .why)
expect_eq "the fallback says why" "no directory entry for 1999 ((telephoneNumber=1999) under $BASE)" "$got"
got=$(look sip:1999@um1.example.test | j '.status, .detail')
case "$got" in "permanent no recipient for 1999 and no fallback_recipient: no directory entry"*)
	ok "1999 without a fallback: a permanent error" ;;
*) not_ok "1999 without a fallback: $got" ;; esac
got=$(look $FB sip:1002@um1.example.test | j '.how, .why')
case "$got" in "fallback ambiguous: more than one directory entry for 1002"*uid=bob*uid=bob2*)
	ok "1002 (two entries) is ambiguous: the fallback" ;;
*) not_ok "1002: $got" ;; esac
got=$(look $FB sip:1005@um1.example.test | j '.how, .why')
expect_eq "1005 (two mail values) is ambiguous: the fallback" \
	"fallback ambiguous: the directory entry uid=erin,ou=people,dc=corp,dc=test for 1005 has several mail values" "$got"
got=$(look $FB sip:1003@um1.example.test | j '.how, .why')
expect_eq "1003's mail without @ is refused" \
	"fallback the mail value carol of uid=carol,ou=people,dc=corp,dc=test (for 1003) is refused: it has no @" "$got"
got=$(look $FB sip:1004@um1.example.test | jq -r '.how + " " + .why')
case "$got" in "fallback the mail value dave@example.test\\x0D\\x0ARCPT TO:<mallory@evil.test> of uid=dave"*"is refused: it holds a line break")
	ok "1004's mail with CR LF is refused, shown escaped" ;;
*) not_ok "1004: $got" ;; esac
got=$(look $FB sip:1006@um1.example.test | j '.how, .why')
expect_eq "1006 without mail: the fallback" \
	"fallback the directory entry uid=frank,ou=people,dc=corp,dc=test for 1006 has no mail" "$got"

# --- a filter injection: the number is an assertion value, never filter syntax ---
got=$(look $FB 'sip:1001)(mail=*@um1.example.test' | j '.status, .how, .address')
expect_eq "1001)(mail=* finds no one" "ok fallback voicemail@example.test" "$got"
got=$(look 'sip:*@um1.example.test' | jq -r .status)
expect_eq "* finds no one either (permanent without a fallback)" "permanent" "$got"
check "slapd saw the escaped filter" grep -qiF 'telephoneNumber=1001\29\28mail=\2A)"' \
	"$(slapd_log dir)"

# --- one connection for many lookups; StartTLS; a password file others may read ---
got=$(look $FB sip:1001@h sip:1999@h sip:1002@h sip:1001@h | tail -1 | j '.address, .connects')
expect_eq "four lookups on one connection" "alice@example.test 1" "$got"
got=$("$RL" --url "ldap://127.0.0.1:$PLAIN_PORT" --base "$BASE" --bind-dn "$BIND" \
	--password-file "$PW" --store "$S" sip:1001@h | j '.status, .address')
expect_eq "ldap:// with StartTLS" "ok alice@example.test" "$got"
check "the StartTLS session was TLS before the bind" grep -qE 'conn=[0-9]+ op=0 STARTTLS' \
	"$(slapd_log dir)"
chmod 644 "$PW"
got=$(look $FB sip:1001@h | j '.status, .detail')
case "$got" in "config directory_password_file: "*"others may read it (mode 644)"*)
	ok "a password file of mode 0644 is refused" ;;
*) not_ok "password file 0644: $got" ;; esac
chmod 600 "$PW"
echo wrong-password >"$WORK/wrong.pw"
chmod 600 "$WORK/wrong.pw"
got=$(look --password-file "$WORK/wrong.pw" $FB sip:1001@h | j '.status, .detail')
case "$got" in "temporary $URL: bind as $BIND: Invalid credentials"*)
	ok "a wrong password: temporary, not the fallback" ;;
*) not_ok "wrong password: $got" ;; esac

# --- the directory that cannot be asked: temporary, with libldap's reason ---
coproc LOOK { look $FB -; }
# ask URI: one lookup by the long-lived tool, its line in $line (a coprocess's descriptors are
# not there in a subshell: no $(ask ...))
ask() {
	line=""
	echo "$1" >&"${LOOK[1]}" && read -r -t 20 line <&"${LOOK[0]}"
}
ask sip:1001@h
got=$(echo "$line" | j '.status, .connects')
expect_eq "a long-lived lookup: connected" "ok 1" "$got"
slapd_restart dir >/dev/null || exit 1
ask sip:1001@h
got=$(echo "$line" | j '.status, .address, .connects')
expect_eq "slapd restarted: the kept connection is made again at once" "ok alice@example.test 2" "$got"
slapd_stop dir
ask sip:1001@h
got=$(echo "$line" | j '.status, .detail')
case "$got" in "temporary $URL: Can't contact LDAP server"*)
	ok "slapd stopped: a temporary error, not the fallback" ;;
*) not_ok "slapd stopped: $got" ;; esac
slapd_run dir >/dev/null || exit 1
ask sip:1001@h
got=$(echo "$line" | j '.status, .address, .connects')
expect_eq "slapd back: found again on a new connection" "ok alice@example.test 3" "$got"
# hung: slapd takes the TCP connection (the kernel does) but never answers
kill -STOP "$(slapd_pid dir)"
t0=$(date +%s.%N)
ask sip:1001@h
got=$(echo "$line" | j '.status, .detail')
t1=$(date +%s.%N)
case "$got" in "temporary $URL: search (telephoneNumber=1001) under $BASE: Timed out"*)
	ok "a hung directory on a kept connection: the search times out" ;;
*) not_ok "hung (kept connection): $got" ;; esac
got=$(look $FB sip:1001@h | j '.status, .detail')
t2=$(date +%s.%N)
kill -CONT "$(slapd_pid dir)"
case "$got" in "temporary $URL: Timed out: no TLS handshake within 3 s"*)
	ok "a hung directory on a new connection: the TLS handshake times out" ;;
*) not_ok "hung (new connection): $got" ;; esac
check "each waited the timeout (3 s), not much longer" python3 -c "
import sys; a, b = $t1 - $t0, $t2 - $t1
print(a, b); sys.exit(0 if 2.5 < a < 6 and 2.5 < b < 10 else 1)"
exec {LOOK[1]}>&-
wait "$LOOK_PID" 2>/dev/null

binds=$(grep -c 'BIND dn="cn=umd' "$(slapd_log dir)")
slapd_set_cert dir "$DS" strange >/dev/null || exit 1
got=$(look $FB sip:1001@h | j '.status, .detail')
case "$got" in "temporary $URL: Can't contact LDAP server: its certificate /CN=strange (issuer /CN=Stranger Root) does not verify: unable to get local issuer certificate")
	ok "a certificate from an untrusted root: temporary, naming the verification" ;;
*) not_ok "untrusted root: $got" ;; esac
slapd_set_cert dir "$DS" othername >/dev/null || exit 1
got=$(look $FB sip:1001@h | j '.status, .detail')
case "$got" in "temporary $URL: Can't contact LDAP server: its certificate /CN=othername does not name 127.0.0.1")
	ok "a certificate for another name: temporary, naming the mismatch" ;;
*) not_ok "another name: $got" ;; esac
expect_eq "no bind was sent over a refused TLS session" "$binds" \
	"$(grep -c 'BIND dn="cn=umd' "$(slapd_log dir)")"

# --- the template (no directory) ---
got=$("$RL" --recipient '%u@example.test' $FB sip:1001@um1.example.test 'sip:10%40x@h' \
	"sip:10'01@h" | j '.address')
expect_eq "template: 1001, then user parts an address would not hold" \
	"1001@example.test
voicemail@example.test
voicemail@example.test" "$got"
finish
