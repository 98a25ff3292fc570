#!/bin/bash
# edgesync binds to the source with SASL EXTERNAL ([source] bind = external): the replicator's
# own certificate (its certcore store's LDAP choice) is the TLS client certificate. The source
# is a real slapd that demands a client certificate (olcTLSVerifyClient demand) and maps the
# replicator's subject to an account with olcAuthzRegexp; no password is configured anywhere on
# the replicator's side. Negative cases: a certificate the server does not trust (the handshake is
# refused), and one it trusts but does not map (OpenLDAP binds it as its own subject DN, which
# has no right to write: the cycle fails before anything reaches the edge).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"

es_env_setup 30 || exit 1
ACCOUNT="cn=edgesync-replicator,dc=corp,dc=test"
# the replicator's certificate, made before the first connection (otherwise edgesync makes a
# self-signed one for the host's name on its first EXTERNAL connect, and says which it showed)
REP_T=$(new_ldap_cert "$WORK/rep-store" replicator.corp.test)
STRANGER_T=$(new_ldap_cert "$WORK/stranger-store" stranger.corp.test)
UNTRUSTED_T=$(new_ldap_cert "$WORK/untrusted-store" replicator.corp.test)
cat "$WORK/rep-store/certs/$REP_T.pem" "$WORK/stranger-store/certs/$STRANGER_T.pem" >"$WORK/clients.pem"

# --- the source demands a client certificate and maps the replicator's to an account ---------------
source_external() {
	local d
	d=$(slapd_dir src)
	slapd_modify src -a <<LDIF || return 1
dn: $ACCOUNT
objectClass: applicationProcess
cn: edgesync-replicator
LDIF
	slapd_stop src
	# offline, as slapd_set_cert does: the TLS settings take effect on the next start
	slapmodify -n0 -F "$d/slapd.d" >>"$d/slapadd.log" 2>&1 <<LDIF || return 1
dn: cn=config
changetype: modify
replace: olcTLSCACertificateFile
olcTLSCACertificateFile: $WORK/clients.pem
-
replace: olcTLSVerifyClient
olcTLSVerifyClient: demand
-
add: olcAuthzRegexp
olcAuthzRegexp: "^cn=replicator\\.corp\\.test\$" "$ACCOUNT"
-

dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {0}to * by dn.exact="$ACCOUNT" write by dn.exact="cn=admin,dc=corp,dc=test" write by users read by * none
-
LDIF
	slapd_run src
}
check "the source demands client certificates and maps the replicator's subject to $ACCOUNT" source_external

ext_conf() { # STORE: rep.conf with bind = external and the store STORE
	sed -e "s|^store = .*|store = $1|" -e '/^bind_dn = /d' -e '/^bind_password_file = /d' \
		-e 's|^url = ldaps://localhost|bind = external\nurl = ldaps://localhost|' "$WORK/rep.conf"
}
cp "$WORK/rep.conf" "$WORK/simple.conf"
ext_conf "$WORK/rep-store" >"$WORK/ext.conf"
mv "$WORK/ext.conf" "$WORK/rep.conf"
ext_conf() { # STORE: the external configuration with the store STORE
	sed -e "s|^store = .*|store = $1|" "$WORK/rep.conf"
}
check "-n accepts bind = external without bind_dn and bind_password_file" es -n
check "... and the configuration names no password file" bash -c "! grep -q password '$WORK/rep.conf'"
printf '[source]\nurl = ldaps://x\nbind = external\nbind_dn = cn=a\nsubscriptions = cn=s\n' >"$WORK/bad1.conf"
expect_fail "bind = external with a bind_dn is refused" 1 "bad1.conf:1: \[source\] bind = external takes no bind_dn" "$EDGESYNC" -c "$WORK/bad1.conf" -n
printf '[source]\nurl = ldaps://x\nbind = kerberos\nsubscriptions = cn=s\n' >"$WORK/bad2.conf"
expect_fail "an unknown bind is refused with file:line" 1 "bad2.conf:3: bind = \"kerberos\": use simple or external" "$EDGESYNC" -c "$WORK/bad2.conf" -n

# --- a sync with no password: subscription import and a first cycle ------------------------------
es_subscribe edge1
expect_eq "subscription import binds with the certificate" 0 "$?"
sed 's/^/    /' "$WORK/edge1.import.out" | head -3
check "slapd saw a SASL EXTERNAL bind mapped to $ACCOUNT" \
	grep -Eq "BIND authcid=\"cn=replicator.corp.test\" authzid=\"cn=replicator.corp.test\"" "$(slapd_log src)"
check "... as $ACCOUNT" grep -Eq "BIND dn=\"$ACCOUNT\" mech=EXTERNAL" "$(slapd_log src)"
es start --edge edge1 >"$WORK/start1.out" 2>"$WORK/start1.err"
expect_eq "a first cycle over SASL EXTERNAL exits 0" 0 "$?"
check "it logs the certificate it showed and the identity the server gave it" \
	grep -Fq "source ldaps://localhost:$(slapd_port src): bound by SASL EXTERNAL with certificate $REP_T as dn:$ACCOUNT" "$WORK/start1.err"
check "EdgeSyncCompleted: the 20 recipients and 4 transport entries added" \
	grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=24 " "$WORK/start1.err"
expect_eq "edge1 holds the 20 recipients" 20 "$(edge_count edge1 recipients)"
add_people 21 22
es start --edge edge1 >"$WORK/start2.out" 2>"$WORK/start2.err"
check "an incremental cycle over SASL EXTERNAL brings the two new recipients" \
	grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=2 modified=0 deleted=0 " "$WORK/start2.err"
check "test: Normal" es test --edge edge1

# --- negative: a certificate the source does not trust --------------------------------------------
ext_conf "$WORK/untrusted-store" >"$WORK/untrusted.conf"
add_people 23 23
BEFORE=$(edge_count edge1 recipients)
expect_fail "a certificate the source does not trust: the connection is refused, the certificate named" 1 \
	"SASL EXTERNAL bind on ldaps://localhost:$(slapd_port src): Can't contact LDAP server \(the server closed the connection: it may not have taken the client certificate\) \(client certificate $UNTRUSTED_T, subject CN=replicator.corp.test\)" \
	"$EDGESYNC" -c "$WORK/untrusted.conf" start --edge edge1
sed 's/^/    /' "$WORK/.err" | head -3
check "slapd refused the certificate (TLS negotiation failure)" grep -q "TLS negotiation failure" "$(slapd_log src)"
expect_eq "... nothing changed on the edge" "$BEFORE" "$(edge_count edge1 recipients)"

# --- negative: a certificate the source trusts but does not map -----------------------------------
ext_conf "$WORK/stranger-store" >"$WORK/stranger.conf"
"$EDGESYNC" -c "$WORK/stranger.conf" start --edge edge1 >"$WORK/stranger.out" 2>"$WORK/stranger.err"
expect_eq "a trusted certificate the source does not map: the cycle fails" 1 "$?"
sed 's/^/    /' "$WORK/stranger.err" | head -4
check "... OpenLDAP bound it as its own subject DN, which edgesync names" \
	grep -Fq "bound by SASL EXTERNAL with certificate $STRANGER_T as dn:cn=stranger.corp.test" "$WORK/stranger.err"
check "... and the server refused the first write (the lease) for lack of access" \
	grep -Eq "2001 EdgeSyncFailed edge=edge1 reason=.*Insufficient access" "$WORK/stranger.err"
expect_eq "... nothing changed on the edge" "$BEFORE" "$(edge_count edge1 recipients)"

# --- a simple bind still works beside it (the configuration is per replicator) ---------------------
es start --edge edge1 >"$WORK/start3.out" 2>"$WORK/start3.err"
check "the mapped certificate still syncs what was added meanwhile" \
	grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=1 modified=0 deleted=0 " "$WORK/start3.err"

finish
