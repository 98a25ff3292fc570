#!/bin/bash
# edgesync under faults against Active Directory (Samba's AD DC, tests/integration/samba.sh), as
# edgesync_fault.sh does against OpenLDAP, kept to a small directory so that it takes about a
# minute besides the provisioning: the replicator (SIGKILL) or the edge's slapd (SIGKILL or
# SIGTERM, then started again) killed at a random time during `edgesync start` cycles of AD
# sources: the first sync (DirSync's cookie, then the paged read), full resyncs (--full) and
# incremental DirSync cycles after a batch of changes (modifies, deletes, renames, moves out of
# the base, adds). After each round's recovery (the next cycles, past the killed replicator's
# lease), `edgesync test --full-compare` is Normal, the edge holds every recipient of the source
# exactly once, and a further cycle writes nothing.
#
# Random and reproducible: FAULT_SEED (default random, printed) drives the kind of round, the
# kill time, the signal and the changes. FAULT_ENTRIES (default 1500), FAULT_ROUNDS (default 6).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/samba.sh"
samba_netns "$@"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"
SCHEMA_DIR=$(cd "$(dirname "$0")/../../edgesync/schema" && pwd)

SEED=${FAULT_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
N=${FAULT_ENTRIES:-1500}
ROUNDS=${FAULT_ROUNDS:-6}
ROUND=setup
echo "FAULT_SEED=$SEED FAULT_ENTRIES=$N FAULT_ROUNDS=$ROUNDS"
RANDOM=$SEED
not_ok() {
	FAILED=$((FAILED + 1))
	echo "not ok - $* [FAULT_SEED=$SEED round $ROUND]"
}
rnd() { R=$(((RANDOM << 15 | RANDOM) % $1)); }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

pids=""
stop_replicators() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	return 0
}
cleanup_hooks="stop_replicators $cleanup_hooks"

# --- the domain, the edge, the subscription --------------------------------------------------------
check "samba-tool provisions a domain (CORP.TEST)" samba_provision dc CORP.TEST || exit 1
B=$(samba_base dc)
{
	printf 'dn: OU=People,%s\nobjectClass: organizationalUnit\nou: People\n\n' "$B"
	printf 'dn: OU=Former,%s\nobjectClass: organizationalUnit\nou: Former\n\n' "$B"
	for i in $(seq 1 "$N"); do
		printf 'dn: CN=Contact %d,OU=People,%s\nobjectClass: contact\n' "$i" "$B"
		printf 'mail: Contact%d@Partner.Test\nproxyAddresses: SMTP:Contact%d@Partner.Test\n\n' "$i" "$i"
	done
} >"$WORK/people.ldif"
check "ldbadd loads $N contacts" samba_load dc "$WORK/people.ldif" || exit 1
check "samba starts" samba_start dc || exit 1
for f in subscription data; do
	sed "s/DC=X\$/$B/" "$SCHEMA_DIR/ad-$f.ldif" >"$WORK/ad-$f.ldif"
	samba_modify dc -f "$WORK/ad-$f.ldif" >"$WORK/ad-$f.out" 2>&1
	expect_eq "ad-$f.ldif loads" 0 "$?"
done
E1_T=$(new_ldap_cert "$WORK/edge1-store" edge1.example.test)
check "the edge's slapd starts" slapd_start edge1 edge dc=edge1,dc=test "$WORK/edge1-store" "$E1_T" || exit 1
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
cat >"$WORK/rep.conf" <<CONF
[edgesync]
store = $WORK/rep-store
lease_seconds = 3
timeout = 20

[source]
type = ad
url = $(samba_url dc)
ca_file = $(samba_cafile dc)
bind_dn = $(samba_admin dc)
bind_password_file = $(samba_pwfile dc)
subscriptions = CN=Edge Subscriptions,$B
base = $B

[rule recipients]
base = OU=People,$B
CONF
check "subscribe edge1 (the subscription in AD)" es_subscribe edge1 || exit 1

# --- the changes between rounds ----------------------------------------------------------------------
NEXT=$((N + 1))   # the next contact to add
LIVE=" $(seq -s ' ' 1 "$N") "   # contacts under OU=People, by number (renamed ones keep theirs)
declare -A NAME   # number -> its current CN where renamed
cn_of() { echo "${NAME[$1]:-Contact $1}"; }
pick() { # into P: a live contact, taken out of LIVE when $1 is "take"
	local v
	read -ra v <<<"$LIVE"
	rnd ${#v[@]}
	P=${v[$R]}
	[ "${1:-}" = take ] && LIVE=${LIVE/ $P / }
}
make_changes() { # LDIF: about 60 changes of every kind
	local i
	for i in $(seq 20); do
		pick
		printf 'dn: CN=%s,OU=People,%s\nchangetype: modify\nreplace: mail\nmail: C%d.r%s.%d@Partner.Test\n-\n\n' \
			"$(cn_of "$P")" "$B" "$P" "$ROUND" "$i"
	done
	for i in $(seq 10); do
		pick take
		printf 'dn: CN=%s,OU=People,%s\nchangetype: delete\n\n' "$(cn_of "$P")" "$B"
	done
	for i in $(seq 10); do
		pick take
		printf 'dn: CN=%s,OU=People,%s\nchangetype: modrdn\nnewrdn: CN=Renamed %d r%s\ndeleteoldrdn: 1\n\n' \
			"$(cn_of "$P")" "$B" "$P" "$ROUND"
		NAME[$P]="Renamed $P r$ROUND"
		LIVE="$LIVE$P "
	done
	for i in $(seq 5); do
		pick take
		printf 'dn: CN=%s,OU=People,%s\nchangetype: modrdn\nnewrdn: CN=Moved %d\ndeleteoldrdn: 1\nnewsuperior: OU=Former,%s\n\n' \
			"$(cn_of "$P")" "$B" "$P" "$B"
	done
	for i in $(seq 15); do
		printf 'dn: CN=Contact %d,OU=People,%s\nchangetype: add\nobjectClass: contact\nmail: Contact%d@Partner.Test\n\n' \
			"$NEXT" "$B" "$NEXT"
		LIVE="$LIVE$NEXT "
		NEXT=$((NEXT + 1))
	done
}
src_count() {
	samba_search dc -E pr=500/noprompt -b "OU=People,$B" '(mail=*)' 1.1 | grep -c '^dn:'
}

# --- faults --------------------------------------------------------------------------------------------
restart_edge() {
	slapd_run edge1 >"$WORK/restart.out" 2>&1 || not_ok "edge1 starts again: $(tail -3 "$WORK/restart.out")"
}
kill_edge() { # SIGNAL
	local pid d
	pid=$(slapd_pid edge1)
	d=$(slapd_dir edge1)
	kill "-$1" "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	rm -f "$d/pid"
	if [ "$1" = KILL ]; then
		slapcat -F "$d/slapd.d" -n1 -l "$WORK/slapcat.ldif" >"$WORK/slapcat.err" 2>&1 ||
			not_ok "slapcat of edge1's database after SIGKILL: $(head -3 "$WORK/slapcat.err")"
	fi
}
recover() {
	local i rc
	for i in $(seq 60); do
		es start >"$WORK/recover.out" 2>"$WORK/recover.err"
		rc=$?
		[ "$rc" -eq 0 ] && return 0
		if [ "$rc" -ne 3 ]; then
			not_ok "the recovery cycle exits $rc: $(tail -3 "$WORK/recover.err")"
			return 1
		fi
		sleep 0.5
	done
	not_ok "no recovery cycle got the lease"
	return 1
}
verify() {
	local want have
	es test --full-compare >"$WORK/compare.out" 2>&1 ||
		{ not_ok "test --full-compare after the recovery: $(grep -v '^ *$' "$WORK/compare.out" | head -8 | tr '\n' ' ')"; return; }
	want=$(src_count)
	have=$(edge_count edge1 recipients)
	expect_eq "round $ROUND: the edge holds the source's $want recipients" "$want" "$have"
	es start >"$WORK/again.out" 2>"$WORK/again.err"
	check "round $ROUND: test --full-compare Normal, and a further cycle writes nothing" \
		grep -Eq "2000 EdgeSyncCompleted edge=edge1 added=0 modified=0 deleted=0 " "$WORK/again.err"
}

EST=2500 # ms: where the kills are aimed, learnt from the cycles that ended first
MID=0
for ROUND in $(seq 1 "$ROUNDS"); do
	full=""
	if [ "$ROUND" -eq 1 ]; then
		kind="the first sync"
	else
		rnd 3
		case $R in
		0) full=--full; kind="a full resync" ;;
		*)
			kind="an incremental cycle after 60 changes"
			make_changes >"$WORK/changes$ROUND.ldif"
			samba_modify dc -f "$WORK/changes$ROUND.ldif" >"$WORK/changes$ROUND.out" 2>&1 ||
				not_ok "AD took the changes: $(tail -3 "$WORK/changes$ROUND.out")"
			;;
		esac
	fi
	rnd 2
	victim=$([ "$R" -eq 0 ] && echo replicator || echo edge)
	rnd "$EST"
	delay=$R
	t0=$(now_ms)
	es start $full >"$WORK/cycle.out" 2>"$WORK/cycle.err" &
	p=$!
	pids="$pids $p"
	while [ $(($(now_ms) - t0)) -lt "$delay" ] && kill -0 "$p" 2>/dev/null; do sleep 0.01; done
	if kill -0 "$p" 2>/dev/null; then
		MID=$((MID + 1))
		where="mid-cycle, after $delay ms"
	else
		where="after the cycle ($(($(now_ms) - t0)) ms)"
		EST=$(($(now_ms) - t0 + 1))
	fi
	if [ "$victim" = replicator ]; then
		kill -9 "$p" 2>/dev/null
		wait "$p"
	else
		rnd 3
		sig=$([ "$R" -eq 0 ] && echo TERM || echo KILL)
		kill_edge "$sig"
		wait "$p"
		rc=$?
		[ "$rc" -le 1 ] || not_ok "a cycle whose edge went away exits $rc: $(tail -3 "$WORK/cycle.err")"
		restart_edge
		victim="edge (SIG$sig)"
	fi
	echo "# round $ROUND: $kind$([ -n "$full" ] && echo ' (--full)'), $victim killed $where"
	recover && verify
done
echo "# $MID of $ROUNDS kills landed in the middle of a cycle"
finish
