#!/bin/bash
# Paged reads against a source that enforces a size limit, as Active Directory does with its
# MaxPageSize: the source's database limits every account but its rootdn to 500 entries a search
# (size.soft=500 size.hard=500), 500 a page (size.pr=500), and lets paged searches return any
# number in all (size.prtotal=unlimited). The replicator binds as an ordinary account and reads
# 2,000 recipients whole, in pages; a plain search as that account is cut at 500 (the negative
# case), and when the server caps paged searches too (size.prtotal=hard) the area fails before
# anything is deleted on the edge.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"

es_env_setup 30 || exit 1
N=2000
REP_DN="cn=replicator,dc=corp,dc=test"

# --- the source: 2,000 more recipients, a replicator account, the size limits ---------------------
for i in $(seq 21 $((N + 20))); do
	printf 'dn: uid=u%d,ou=people,dc=corp,dc=test\nobjectClass: inetOrgPerson\n' "$i"
	printf 'objectClass: umedgeRecipient\nuid: u%d\ncn: User %d\nsn: U%d\n' "$i" "$i" "$i"
	printf 'mail: User%d@Corp.Test\nproxyAddresses: SMTP:User%d@Corp.Test\n\n' "$i" "$i"
done >"$WORK/people.ldif"
printf '%s' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" >"$WORK/rep.pw"
chmod 600 "$WORK/rep.pw"
cat >>"$WORK/people.ldif" <<LDIF
dn: $REP_DN
objectClass: person
cn: replicator
sn: replicator
userPassword: $(slappasswd -T "$WORK/rep.pw")
LDIF
check "2,000 recipients and the replicator account loaded (slapadd)" slapd_load src "$WORK/people.ldif"
# cn=config changes are made offline (slapmodify, the server stopped), as slapd_set_cert does
config_modify() { # LDIF on stdin
	local d
	d=$(slapd_dir src)
	slapd_stop src
	slapmodify -n0 -F "$d/slapd.d" >>"$d/slapadd.log" 2>&1 || return 1
	slapd_run src
}
limits() { # PRTOTAL
	config_modify <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
replace: olcSizeLimit
olcSizeLimit: size.soft=500 size.hard=500 size.pr=500 size.prtotal=$1
LDIF
}
check "the source limits its searches to 500 entries (paged: 500 a page, any number in all)" limits unlimited
# the replicator binds, writes its subscription objects (lease, cookies) and reads the rest
acl() {
	config_modify <<LDIF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
add: olcAccess
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to dn.subtree="cn=Edge Subscriptions,dc=corp,dc=test" by dn.exact="$REP_DN" write by users read by * none
LDIF
}
check "the replicator may bind and write its subscriptions (ACL)" acl

# subscription import as the directory's administrator (it makes the container), cycles as the
# replicator account
es_subscribe edge1 || {
	not_ok "subscription of edge1"
	cat "$WORK/edge1.import.out"
}
sed -e "s/^bind_dn = .*/bind_dn = $REP_DN/" -e "s|^bind_password_file = .*|bind_password_file = $WORK/rep.pw|" \
	"$WORK/rep.conf" >"$WORK/limited.conf"
esl() { "$EDGESYNC" -c "$WORK/limited.conf" "$@"; }

# --- the negative case: a plain search as the replicator is cut -----------------------------------
LDAPTLS_CACERT="$WORK/src-store/certs/$SRC_T.pem" ldapsearch -LLL -x -H "ldaps://localhost:$(slapd_port src)" \
	-D "$REP_DN" -y "$WORK/rep.pw" -b ou=people,dc=corp,dc=test '(objectClass=umedgeRecipient)' 1.1 \
	>"$WORK/plain.out" 2>&1
plain_rc=$?
expect_eq "an unpaged search as the replicator ends in sizeLimitExceeded (4)" 4 "$plain_rc"
expect_eq "... after 500 of the $((N + 20)) recipients" 500 "$(grep -c '^dn:' "$WORK/plain.out")"

# --- paged: the whole directory -------------------------------------------------------------------
: >"$(slapd_log src)"
esl start --edge edge1 --full >"$WORK/full.out" 2>"$WORK/full.err"
expect_eq "a full cycle as the replicator exits 0" 0 "$?"
expect_eq "edge1 holds all $((N + 20)) recipients" $((N + 20)) "$(edge_count edge1 recipients)"
check "it logged EdgeSyncCompleted with $((N + 20)) added recipients and 4 other entries" grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=$((N + 24)) " "$WORK/full.err"
# slapd's access log: a SEARCH RESULT per page, each with the paged results control's 500
pages=$(grep -c 'SEARCH RESULT .*nentries=500 ' "$(slapd_log src)")
check "the source was read in pages of 500 ($pages full pages)" test "$pages" -ge 4
check "the source logged no size limit" bash -c "! grep -q 'err=4 ' '$(slapd_log src)'"
check "test --full-compare: Normal (read in pages too)" esl test --edge edge1 --full-compare

# An RFC 4533 refresh cannot be paged (slapd answers a sync search with the paging control with
# one page and no cookie): the limit cuts it, and the cycle reads the area in pages instead,
# saying how to get incremental reads back
add_people 5001 5003
esl start --edge edge1 >"$WORK/inc.out" 2>"$WORK/inc.err"
expect_eq "a cycle whose RFC 4533 refresh the limit cuts exits 0" 0 "$?"
check "... with a warning that names the limit and the remedy" grep -Eq "warning \"edge edge1: area recipients: rule recipients: RFC 4533 refresh of ou=people,dc=corp,dc=test: Size limit exceeded; read whole in pages instead \(exempt the replicator's account" "$WORK/inc.err"
expect_eq "... and edge1 holds the 3 new recipients too" $((N + 23)) "$(edge_count edge1 recipients)"
check "test --full-compare: Normal" esl test --edge edge1 --full-compare

# --- a read cut short anyway fails the area, and nothing is deleted -------------------------------
check "the source now caps paged searches at 500 in all (size.prtotal=hard)" limits hard
slapd_modify src >/dev/null <<'LDIF'
dn: uid=u7,ou=people,dc=corp,dc=test
changetype: delete
LDIF
esl start --edge edge1 --full >"$WORK/cut.out" 2>"$WORK/cut.err"
expect_eq "a full cycle cut by the size limit fails (exit 1)" 1 "$?"
check "... EdgeSyncFailed says the read was incomplete, with slapd's reason" grep -Eq "2001 EdgeSyncFailed edge=edge1 reason=.*recipients.*incomplete read of the source.*Size limit exceeded" "$WORK/cut.err"
expect_eq "... and nothing was deleted on edge1 (not even the deleted u7)" $((N + 23)) "$(edge_count edge1 recipients)"
check "the limit lifted, the next full cycle deletes u7 only" limits unlimited
check "... it succeeds" esl start --edge edge1 --full
expect_eq "... and edge1 holds one recipient fewer" $((N + 22)) "$(edge_count edge1 recipients)"

finish
