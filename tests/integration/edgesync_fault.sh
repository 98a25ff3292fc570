#!/bin/bash
# edgesync under faults at random points of a large synchronization, against three real
# slapd processes: the edge slapd killed (SIGKILL, sometimes SIGTERM) and started again, and the
# replicator killed with SIGKILL, during the initial full sync of several thousand recipients and
# during large incremental and full cycles (modifies, deletes, renames, moves in and out of scope,
# adds), of `edgesync start` and of the `edgesync run` daemon. After each round's recovery (the
# next cycle, after the killed replicator's lease has expired) `edgesync test --full-compare` is
# Normal, the edge holds every recipient of the source exactly once and nothing else, a further
# incremental cycle writes nothing (the cookie is current), the edge's database opens (slapcat)
# after a SIGKILL, and the edge's own entries — some where edgesync would put its copies, some
# naming source entries' UUIDs, some in the OUs edgesync writes into — are byte for byte as they
# were, operational attributes (entryCSN, modifyTimestamp, entryUUID) included.
#
# Random and reproducible: FAULT_SEED (default: random) drives every choice (kind of round, kill
# time, signal, the source changes); it is printed at the start and in every failure. Kill times
# are drawn within the measured duration of the cycle being hit (calibrated on edge2, then
# learnt from cycles that ended before their kill), or are a write count for the CLI's test hook
# EDGESYNC_TEST_PAUSE_AFTER (a reproducible point). Timing decides where a time-based kill lands;
# the summary says how many landed in the middle of a cycle, nothing asserts it.
#
# The source starts without a session log (an incremental refresh is a present phase: every
# unchanged entry named); half way it is restarted with one (olcSpSessionlog, as the directory
# image has: deletes are named, RFC 4533 section 3.3.2), so both kinds of refresh are hit.
#
# Variables: FAULT_SEED; FAULT_ENTRIES (recipients, default 4000); FAULT_ROUNDS (default 9: the
# initial sync, then each of the 8 other kinds of round once); FAULT_DBSYNC=1 runs the edge's
# database without olcDbNoSync. NoSync is kept by default: a killed slapd loses nothing LMDB
# committed, since a commit has written its pages to the kernel (only a system crash can lose
# them, and this test does not cut power), so fsync would only make every write ~10 times slower.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"

SEED=${FAULT_SEED:-$(((RANDOM << 15 | RANDOM) % 1000000))}
N=${FAULT_ENTRIES:-4000}
ROUNDS=${FAULT_ROUNDS:-9}
LEASE=3
ROUND=setup
echo "FAULT_SEED=$SEED FAULT_ENTRIES=$N FAULT_ROUNDS=$ROUNDS"
RANDOM=$SEED

# Every failure names the seed and the round, so it can be run again.
not_ok() {
	FAILED=$((FAILED + 1))
	echo "not ok - $* [FAULT_SEED=$SEED round $ROUND]"
}

# rnd N: a number in [0, N) into R (in this shell: a command substitution would fork the
# generator and lose the sequence).
rnd() { R=$(((RANDOM << 15 | RANDOM) % $1)); }
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# watch PID MS: waits MS milliseconds, or less when PID ends first; ENDED is then how long after
# the call it ended (else empty). Polls every 10 ms with read -t on a FIFO nobody writes to (no
# process forked per poll).
mkfifo "$WORK/.tick"
exec {TICK}<>"$WORK/.tick"
watch() {
	local end=$(($(now_ms) + $2)) t0
	t0=$(now_ms)
	ENDED=""
	while [ "$(now_ms)" -lt "$end" ]; do
		if ! kill -0 "$1" 2>/dev/null; then
			ENDED=$(($(now_ms) - t0))
			return 0
		fi
		read -r -t 0.01 -u "$TICK"
	done
	return 0
}

pids=""
stop_replicators() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	return 0
}
cleanup_hooks="stop_replicators $cleanup_hooks"

# --- the test bed: a source with N recipients, edge1 with entries of its own -----------------------
es_env_setup "$LEASE" || exit 1
if [ -n "${FAULT_DBSYNC:-}" ]; then
	slapd_stop edge1
	printf 'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcDbNoSync\nolcDbNoSync: FALSE\n' \
		>"$WORK/dbsync.ldif"
	slapmodify -n0 -F "$(slapd_dir edge1)/slapd.d" -l "$WORK/dbsync.ldif" >/dev/null || exit 1
	slapd_run edge1 || exit 1
	echo "edge1 runs with olcDbNoSync FALSE"
fi
slapd_modify src -a >/dev/null <<'LDIF' || exit 1
dn: ou=staff,ou=people,dc=corp,dc=test
objectClass: organizationalUnit
ou: staff
LDIF
add_people 21 "$N"
# a source entry that goes away before the first sync: its copy's name is taken on the edge
printf 'dn: uid=gone,ou=people,dc=corp,dc=test\nobjectClass: inetOrgPerson\nobjectClass: umedgeRecipient\nuid: gone\ncn: Gone\nsn: Gone\nmail: gone@corp.test\n' |
	slapd_modify src -a >/dev/null
GONE=$(src_uuid uid=gone,ou=people,dc=corp,dc=test)
printf 'dn: uid=gone,ou=people,dc=corp,dc=test\nchangetype: delete\n' | slapd_modify src >/dev/null
U1=$(src_uuid uid=u1,ou=people,dc=corp,dc=test)
U2=$(src_uuid uid=u2,ou=people,dc=corp,dc=test)
# The edge administrator's own entries, none marked umedgeReplicated: the OUs edgesync writes
# recipients and connectors into, entries beside its copies (one at the name edgesync would give
# the deleted entry's copy, one carrying a live entry's UUID under another name, one with the
# area attribute but not the marker class, one with the name of a connector edgesync copies),
# and data elsewhere under the suffix.
slapd_modify edge1 -a >/dev/null <<LDIF || exit 1
dn: ou=Recipients,dc=edge1,dc=test
objectClass: organizationalUnit
ou: Recipients
description: made by the edge administrator before the first sync

dn: cn=Local Note,ou=Recipients,dc=edge1,dc=test
objectClass: organizationalRole
cn: Local Note
description: the edge administrator's own entry

dn: umedgeSourceUUID=$GONE,ou=Recipients,dc=edge1,dc=test
objectClass: umedgeEdgeObject
umedgeSourceUUID: $GONE
cn: not edgesync's (the name of a deleted source entry's copy)

dn: cn=Shadow,ou=Recipients,dc=edge1,dc=test
objectClass: umedgeEdgeObject
umedgeSourceUUID: $U1
cn: Shadow

dn: cn=Lookalike,ou=Recipients,dc=edge1,dc=test
objectClass: organizationalRole
objectClass: extensibleObject
cn: Lookalike
umedgeArea: recipients
umedgeSourceUUID: $U2

dn: ou=Connectors,dc=edge1,dc=test
objectClass: organizationalUnit
ou: Connectors

dn: cn=Internet,ou=Connectors,dc=edge1,dc=test
objectClass: umedgeSendConnector
cn: Internet
umedgeSmartHost: local.edge1.test

dn: ou=Local,dc=edge1,dc=test
objectClass: organizationalUnit
ou: Local

dn: cn=Edge Operator,ou=Local,dc=edge1,dc=test
objectClass: inetOrgPerson
cn: Edge Operator
sn: Operator
mail: operator@edge1.test
LDIF
check "subscribe edge1" es_subscribe edge1
check "subscribe edge2 (for calibration)" es_subscribe edge2
# What edgesync must never touch: every entry without the marker but its own account and policy,
# with its operational attributes, the entries in DN order (a subtree search returns them in an
# order that changes as children are added).
foreign() {
	slapd_search edge1 -b dc=edge1,dc=test \
		'(&(!(objectClass=umedgeReplicated))(!(cn=edgesync))(!(cn=edgesync-policy)))' '*' '+' |
		awk -v RS= '{ gsub(/\n/, "\001"); print }' | sort | tr '\001' '\n' | sed 's/^dn: /\ndn: /'
}
foreign >"$WORK/foreign.before"
expect_eq "the edge's own entries (the base and 9 more)" 10 "$(grep -c '^dn: ' "$WORK/foreign.before")"

# The recipients of the source, kept as relative DNs as the rounds change them.
PEOPLE=()
FORMER=()
NOMAIL=()
for i in $(seq 1 "$N"); do PEOPLE+=("uid=u$i,ou=people"); done
SEQ=0

# One timed initial sync to edge2: how long a full cycle of N recipients takes here.
t0=$(now_ms)
es start --edge edge2 >"$WORK/calibrate.out" 2>&1
rc=$?
EST_FULL=$(($(now_ms) - t0))
expect_eq "the calibration sync to edge2 succeeds" 0 "$rc"
check "edge2 stops being subscribed" es subscription remove edge2
EST_INCR=$EST_FULL
echo "# a full sync of $N recipients takes ${EST_FULL} ms"

# --- the source's changes of a round -----------------------------------------------------------
# pick ARRAYNAME: a random index of the array into R (the array is not empty)
pick() {
	local -n a=$1
	rnd "${#a[@]}"
}
# take ARRAYNAME: removes a random element and puts it into T
take() {
	local -n a=$1
	rnd "${#a[@]}"
	T=${a[$R]}
	a[R]=${a[-1]}
	unset 'a[-1]'
}
person_ldif() { # UID
	printf 'dn: uid=%s,ou=people,dc=corp,dc=test\nchangetype: add\nobjectClass: inetOrgPerson\n' "$1"
	printf 'objectClass: umedgeRecipient\nuid: %s\ncn: New %s\nsn: %s\n' "$1" "$1" "$1"
	printf 'mail: %s@Corp.Test\nproxyAddresses: SMTP:%s@Corp.Test\n\n' "$1" "$1"
}
# make_changes COUNT FILE: COUNT random changes of the source's recipients, as LDIF in FILE, the
# arrays updated as if they had been made (so not in a subshell)
make_changes() {
	local count=$1 out=$2 k u dn parent
	: >"$out"
	for k in $(seq "$count"); do
		SEQ=$((SEQ + 1))
		rnd 100
		if [ "$R" -lt 40 ]; then # modify: cn, sometimes a new proxy address or mail
			pick PEOPLE
			dn="${PEOPLE[$R]},dc=corp,dc=test"
			printf 'dn: %s\nchangetype: modify\nreplace: cn\ncn: Changed %d\n-\n' "$dn" "$SEQ" >>"$out"
			rnd 4
			[ "$R" -eq 0 ] && printf 'add: proxyAddresses\nproxyAddresses: smtp:p%d@corp.test\n-\n' "$SEQ" >>"$out"
			[ "$R" -eq 1 ] && printf 'replace: mail\nmail: m%d@Corp.Test\n-\n' "$SEQ" >>"$out"
			echo >>"$out"
		elif [ "$R" -lt 50 ]; then # delete
			take PEOPLE
			printf 'dn: %s,dc=corp,dc=test\nchangetype: delete\n\n' "$T" >>"$out"
		elif [ "$R" -lt 60 ]; then # rename (and a modify with it), in ou=people or ou=staff
			take PEOPLE
			u=${T%%,*}
			u=${u#uid=}
			u=${u%%r*}r$SEQ
			rnd 2
			parent=ou=people
			[ "$R" -eq 0 ] && parent=ou=staff,ou=people
			printf 'dn: %s,dc=corp,dc=test\nchangetype: modrdn\nnewrdn: uid=%s\ndeleteoldrdn: 1\nnewsuperior: %s,dc=corp,dc=test\n\n' \
				"$T" "$u" "$parent" >>"$out"
			printf 'dn: uid=%s,%s,dc=corp,dc=test\nchangetype: modify\nreplace: cn\ncn: Renamed %d\n\n' \
				"$u" "$parent" "$SEQ" >>"$out"
			PEOPLE+=("uid=$u,$parent")
		elif [ "$R" -lt 68 ]; then # move out of the rule's scope
			take PEOPLE
			u=${T%%,*}
			printf 'dn: %s,dc=corp,dc=test\nchangetype: modrdn\nnewrdn: %s\ndeleteoldrdn: 1\nnewsuperior: ou=former,dc=corp,dc=test\n\n' \
				"$T" "$u" >>"$out"
			FORMER+=("$u,ou=former")
		elif [ "$R" -lt 75 ] && [ "${#FORMER[@]}" -gt 0 ]; then # back into scope
			take FORMER
			u=${T%%,*}
			printf 'dn: %s,dc=corp,dc=test\nchangetype: modrdn\nnewrdn: %s\ndeleteoldrdn: 1\nnewsuperior: ou=people,dc=corp,dc=test\n\n' \
				"$T" "$u" >>"$out"
			PEOPLE+=("$u,ou=people")
		elif [ "$R" -lt 80 ]; then # no longer matching the filter (mail=*)
			take PEOPLE
			printf 'dn: %s,dc=corp,dc=test\nchangetype: modify\ndelete: mail\n\n' "$T" >>"$out"
			NOMAIL+=("$T")
		elif [ "$R" -lt 85 ] && [ "${#NOMAIL[@]}" -gt 0 ]; then # matching again
			take NOMAIL
			printf 'dn: %s,dc=corp,dc=test\nchangetype: modify\nadd: mail\nmail: back%d@Corp.Test\n\n' \
				"$T" "$SEQ" >>"$out"
			PEOPLE+=("$T")
		else # add
			person_ldif "n$SEQ" >>"$out"
			PEOPLE+=("uid=n$SEQ,ou=people")
		fi
	done
}

# apply FILE: makes the changes on the source (ldapmodify's messages in FILE.out)
apply() { slapd_modify src <"$1" >"$1.out" 2>&1; }

# src_sessionlog: the source restarted with a syncprov session log
src_sessionlog() {
	local d
	d=$(slapd_dir src)
	slapd_stop src
	printf 'dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config\nchangetype: modify\nadd: olcSpSessionlog\nolcSpSessionlog: %d\n' \
		$((N * 4)) >"$WORK/sessionlog.ldif"
	slapmodify -n0 -F "$d/slapd.d" -l "$WORK/sessionlog.ldif" >"$WORK/sessionlog.out" 2>&1 &&
		slapd_run src >>"$WORK/sessionlog.out" 2>&1
}

# --- faults and recovery -----------------------------------------------------------------------
# kill_edge SIGNAL: stops edge1 with SIGNAL; after a SIGKILL its database must still open
kill_edge() {
	local pid d
	pid=$(slapd_pid edge1)
	d=$(slapd_dir edge1)
	kill "-$1" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$d/pid"
	if [ "$1" = KILL ]; then
		slapcat -F "$d/slapd.d" -n1 -l "$WORK/slapcat.ldif" >"$WORK/slapcat.err" 2>&1 ||
			not_ok "slapcat of edge1's database after SIGKILL: $(head -3 "$WORK/slapcat.err")"
	fi
}

# restart_edge: edge1 starts again on the same port with the same data
restart_edge() {
	slapd_run edge1 >"$WORK/restart.out" 2>&1 || {
		not_ok "edge1 starts again: $(tail -5 "$WORK/restart.out")"
		return 1
	}
}

# recover: incremental cycles until one succeeds (exit 3, the lease of a killed replicator, is
# waited out; a failure is one)
recover() {
	local i rc
	for i in $(seq 120); do
		es start --edge edge1 >"$WORK/recover.out" 2>"$WORK/recover.err"
		rc=$?
		cat "$WORK/recover.err" >>"$WORK/replicator.log"
		[ "$rc" -eq 0 ] && return 0
		if [ "$rc" -ne 3 ]; then
			not_ok "the recovery cycle exits $rc: $(cat "$WORK/recover.out") $(tail -3 "$WORK/recover.err")"
			return 1
		fi
		sleep 0.5
	done
	not_ok "no recovery cycle got the lease"
	return 1
}

# cycle_exit RC: a cycle hit by a fault fails (1) or had finished (0); anything else (a crash, an
# abort of the sanitizers) is a bug
cycle_exit() {
	case "$1" in
	0 | 1) return 0 ;;
	*)
		not_ok "a cycle exits $1 (a crash?): $(tail -5 "$WORK/cycle.err")"
		return 1
		;;
	esac
}

MID=0
FAULTS=0
# landed PID: counts whether a time-based kill found the cycle still running
landed() {
	FAULTS=$((FAULTS + 1))
	if kill -0 "$1" 2>/dev/null; then
		MID=$((MID + 1))
		WHERE="mid-cycle"
	else
		WHERE="after the cycle"
	fi
}

# A timed fault on one `edgesync start`: WHAT is edge or replicator, FULL is --full or empty.
round_start() {
	local what=$1 full=$2 est delay p rc sig=KILL
	est=$EST_INCR
	[ -n "$full" ] && est=$EST_FULL
	rnd $((est + 50))
	delay=$R
	if [ "$what" = edge ]; then
		rnd 3
		[ "$R" -eq 0 ] && sig=TERM
	fi
	"$EDGESYNC" -c "$WORK/rep.conf" start --edge edge1 ${full:+"$full"} >"$WORK/cycle.out" 2>"$WORK/cycle.err" &
	p=$!
	pids="$pids $p"
	watch "$p" "$delay"
	landed "$p"
	if [ "$what" = edge ]; then
		kill_edge "$sig"
		wait "$p"
		rc=$?
		cycle_exit "$rc"
		restart_edge || return 1
	else
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		rc=killed
	fi
	cat "$WORK/cycle.err" >>"$WORK/replicator.log"
	echo "# round $ROUND: $what SIG$sig at ${delay} ms of ~${est} ms ($WHERE, cycle: $rc)"
	if [ -n "$ENDED" ] && grep -q '2000 EdgeSyncCompleted' "$WORK/cycle.err"; then
		# it ended before the kill: next time aim within what it took
		if [ -n "$full" ]; then EST_FULL=$ENDED; else EST_INCR=$ENDED; fi
	fi
	recover
}

# A fault at a write count (EDGESYNC_TEST_PAUSE_AFTER): the cycle waits after its Kth confirmed
# write, then the edge or the replicator is killed there.
round_pause() {
	local what=$1 writes=$2 k p rc _ paused=no
	# some changes make no write (a rename in scope) or share one: aim within 3/4 of them
	rnd $((writes * 3 / 4 + 1))
	k=$((R + 1))
	EDGESYNC_TEST_PAUSE_AFTER=$k "$EDGESYNC" -c "$WORK/rep.conf" start --edge edge1 \
		>"$WORK/cycle.out" 2>"$WORK/cycle.err" &
	p=$!
	pids="$pids $p"
	for _ in $(seq 600); do
		grep -q "test pause after $k writes" "$WORK/cycle.err" && paused=yes && break
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	FAULTS=$((FAULTS + 1))
	[ "$paused" = yes ] && MID=$((MID + 1))
	if [ "$what" = edge ]; then
		kill_edge KILL
		kill -USR1 "$p" 2>/dev/null
		wait "$p"
		rc=$?
		cycle_exit "$rc"
		restart_edge || return 1
	else
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		rc=killed
	fi
	cat "$WORK/cycle.err" >>"$WORK/replicator.log"
	echo "# round $ROUND: $what SIGKILL after write $k (paused there: $paused, cycle: $rc)"
	recover
}

# A timed fault on the daemon: the edge killed and started again after a while, or the daemon
# killed and another one started; the daemon alone must bring the edge to Normal.
round_daemon() {
	local what=$1 delay down rc mark more _ sig=KILL normal=no
	rnd $((EST_INCR + 300))
	delay=$R
	# the source changes on while the daemon works
	rnd $((N / 10))
	make_changes $((R + 1)) "$WORK/more-$ROUND.ldif"
	"$EDGESYNC" -c "$WORK/rep.conf" run 2>"$WORK/daemon.log" &
	D=$!
	pids="$pids $D"
	apply "$WORK/more-$ROUND.ldif" &
	more=$!
	watch "$D" "$delay"
	# the daemon runs on: whether its first cycle had ended tells where the kill landed
	FAULTS=$((FAULTS + 1))
	WHERE="after a cycle"
	grep -q '2000 EdgeSyncCompleted' "$WORK/daemon.log" || {
		WHERE="mid-cycle"
		MID=$((MID + 1))
	}
	if [ "$what" = edge ]; then
		rnd 3
		[ "$R" -eq 0 ] && sig=TERM
		kill_edge "$sig"
		rnd 2000
		down=$R
		watch "$D" "$down"
		mark=$(wc -l <"$WORK/daemon.log")
		restart_edge || return 1
		echo "# round $ROUND: edge SIG$sig at ${delay} ms of the daemon's first cycle ($WHERE), down ${down} ms"
	else
		kill -9 "$D"
		wait "$D" 2>/dev/null
		cat "$WORK/daemon.log" >>"$WORK/replicator.log"
		echo "# round $ROUND: daemon SIGKILL at ${delay} ms ($WHERE); another daemon takes over"
		mark=0
		"$EDGESYNC" -c "$WORK/rep.conf" run 2>"$WORK/daemon.log" &
		D=$!
		pids="$pids $D"
	fi
	wait "$more" ||
		not_ok "round $ROUND: the source takes changes while the daemon runs: $(tail -3 "$WORK/more-$ROUND.ldif.out")"
	# a cycle that began after the fault, then Normal
	for _ in $(seq 240); do
		if tail -n +$((mark + 1)) "$WORK/daemon.log" | grep -q '2000 EdgeSyncCompleted edge=edge1' &&
			es test --edge edge1 --full-compare >/dev/null 2>&1; then
			normal=yes
			break
		fi
		kill -0 "$D" 2>/dev/null || break
		sleep 0.5
	done
	expect_eq "round $ROUND: the daemon brings edge1 back to Normal by itself" yes "$normal"
	kill -TERM "$D"
	wait "$D"
	rc=$?
	cat "$WORK/daemon.log" >>"$WORK/replicator.log"
	expect_eq "round $ROUND: the daemon stops on SIGTERM with status 0" 0 "$rc"
}

# --- what must hold after every round ----------------------------------------------------------
# uuid_cn ATTR: "KEY cn" lines, sorted, from LDIF entries holding the key in ATTR
uuid_cn() {
	awk -v RS= -v k="$1" '{
		u = c = ""
		n = split($0, l, "\n")
		for (i = 1; i <= n; i++) {
			if (index(l[i], k ": ") == 1) u = tolower(substr(l[i], length(k) + 3))
			if (index(l[i], "cn: ") == 1) c = substr(l[i], 5)
		}
		if (u != "") print u " " c
	}' | sort
}

verify() {
	local src edge before=$FAILED
	es test --edge edge1 --full-compare --format json >"$WORK/test.json" 2>"$WORK/test.err"
	expect_eq "round $ROUND: edgesync test --full-compare: Normal" "0 Normal" \
		"$? $(jq -r '.[0].SyncStatus' "$WORK/test.json" 2>/dev/null)"
	# "UUID cn" of every recipient, in the source and on the edge (cn is copied in clear, and
	# most changes change it): a check that does not rely on edgesync's own compare
	slapd_search src -b ou=people,dc=corp,dc=test '(mail=*)' entryUUID cn | uuid_cn entryUUID >"$WORK/src.cn"
	slapd_search edge1 -b dc=edge1,dc=test '(&(objectClass=umedgeReplicated)(umedgeArea=recipients))' \
		umedgeSourceUUID cn | uuid_cn umedgeSourceUUID >"$WORK/edge.cn"
	cut -d' ' -f1 "$WORK/src.cn" >"$WORK/src.uuids"
	cut -d' ' -f1 "$WORK/edge.cn" >"$WORK/edge.uuids"
	src=$(wc -l <"$WORK/src.uuids")
	edge=$(wc -l <"$WORK/edge.uuids")
	expect_eq "round $ROUND: edge1 holds $src recipients, no more, no fewer" "$src" "$edge"
	expect_eq "round $ROUND: ... none twice" "" "$(uniq -d "$WORK/edge.uuids" | head -3)"
	expect_eq "round $ROUND: ... exactly the source's (nothing deleted is left)" "" \
		"$(comm -3 "$WORK/src.uuids" "$WORK/edge.uuids" | head -3)"
	expect_eq "round $ROUND: ... and the source holds the recipients the test made" "${#PEOPLE[@]}" "$src"
	expect_eq "round $ROUND: every copy has its source entry's cn" "" \
		"$(diff "$WORK/src.cn" "$WORK/edge.cn" | grep '^[<>]' | head -4)"
	foreign >"$WORK/foreign.after"
	check "round $ROUND: the edge's own entries are byte for byte as they were" \
		diff "$WORK/foreign.before" "$WORK/foreign.after"
	recover &&
		check "round $ROUND: the next incremental cycle writes nothing (the cookie is current)" \
			grep -q 'EdgeSyncCompleted edge=edge1 added=0 modified=0 deleted=0' "$WORK/recover.err"
	expect_eq "round $ROUND: no sanitizer report from edgesync" "" \
		"$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK/replicator.log" | head -3)"
	[ "$FAILED" -eq "$before" ]
}

# --- the rounds --------------------------------------------------------------------------------
KINDS=(edge-full edge-incr replicator-full replicator-incr pause-edge pause-replicator daemon-edge daemon-replicator)
# the kinds in an order of the seed's, repeated
ORDER=()
while [ "${#ORDER[@]}" -lt "$ROUNDS" ]; do
	perm=("${KINDS[@]}")
	while [ "${#perm[@]}" -gt 0 ]; do
		take perm
		ORDER+=("$T")
	done
done
T0=$(now_ms)

# Round 1: the initial sync of every recipient, the replicator killed in it, then the edge killed
# in the cycle that takes it over (most of it still the initial sync).
ROUND=1
rnd $((EST_FULL + 50))
d1=$R
"$EDGESYNC" -c "$WORK/rep.conf" start --edge edge1 >"$WORK/cycle.out" 2>"$WORK/cycle.err" &
p=$!
pids="$pids $p"
watch "$p" "$d1"
landed "$p"
kill -9 "$p" 2>/dev/null
wait "$p" 2>/dev/null
cat "$WORK/cycle.err" >>"$WORK/replicator.log"
first=$(edge_count edge1 recipients)
echo "# round 1: replicator SIGKILL at ${d1} ms of the initial sync (~${EST_FULL} ms, $WHERE): $first of $N copies made"
sleep $((LEASE + 1)) # the killed replicator's lease runs out
rnd $((EST_FULL + 50))
d2=$R
rnd 3
sig=KILL
[ "$R" -eq 0 ] && sig=TERM
"$EDGESYNC" -c "$WORK/rep.conf" start --edge edge1 >"$WORK/cycle.out" 2>"$WORK/cycle.err" &
p=$!
pids="$pids $p"
watch "$p" "$d2"
landed "$p"
kill_edge "$sig"
wait "$p"
rc=$?
cycle_exit "$rc"
cat "$WORK/cycle.err" >>"$WORK/replicator.log"
echo "# round 1: edge SIG$sig at ${d2} ms of the cycle after it ($WHERE, cycle: $rc)"
restart_edge && recover
verify || ROUND_FAILED=1

r=2
while [ "$r" -le "$ROUNDS" ] && [ -z "${ROUND_FAILED:-}" ]; do
	ROUND=$r
	kind=${ORDER[$((r - 2))]}
	if [ "$r" -eq $((ROUNDS / 2 + 1)) ]; then
		check "the source restarts with a session log" src_sessionlog
		echo "# from round $r on the source keeps a session log"
	fi
	rnd $((N / 2))
	count=$((N / 20 + R))
	make_changes "$count" "$WORK/changes-$r.ldif"
	apply "$WORK/changes-$r.ldif" || {
		not_ok "round $r: the source takes the changes: $(tail -3 "$WORK/changes-$r.ldif.out")"
		break
	}
	echo "# round $r: $kind after $count changes of the source"
	case "$kind" in
	edge-full) round_start edge --full ;;
	edge-incr) round_start edge "" ;;
	replicator-full) round_start replicator --full ;;
	replicator-incr) round_start replicator "" ;;
	pause-edge) round_pause edge "$count" ;;
	pause-replicator) round_pause replicator "$count" ;;
	daemon-edge) round_daemon edge ;;
	daemon-replicator) round_daemon replicator ;;
	esac
	verify || break
	r=$((r + 1))
done
echo "# $FAULTS faults, $MID of them in the middle of a cycle; rounds took $((($(now_ms) - T0) / 1000)) s"
[ "$FAILED" -eq 0 ] || echo "# to run these rounds again: FAULT_SEED=$SEED FAULT_ENTRIES=$N FAULT_ROUNDS=$ROUNDS"
finish
