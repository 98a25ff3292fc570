#!/bin/bash
# edgesync under failure, against three real slapd processes: two replicators sharing the edges
# by lease (one works, the other waits; kill -9 the first and the second takes over once the lease
# has expired; SIGTERM stops cleanly and gives the leases up), an edge stopped in the middle of a
# cycle and started again, and a replicator killed in the middle of a cycle. A running replicator
# takes a renewal of its own certificate up between passes. Each ends with
# `edgesync test --full-compare` saying Normal. A running replicator can write no core file.
#
# Cycles are stopped half way with the CLI's test hook: EDGESYNC_TEST_PAUSE_AFTER=N makes a
# replicator wait (for SIGUSR1, at most a minute) after the edge confirmed its Nth write.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"

LEASE=4
es_env_setup "$LEASE" || exit 1
check "subscribe edge1" es_subscribe edge1
check "subscribe edge2" es_subscribe edge2
recips() { edge_count "$1" recipients; }
has_uid() { # EDGE UID: the copy of uid=UID is on EDGE
	slapd_search "$1" -b "dc=$1,dc=test" "(umedgeSourceUUID=$(src_uuid "uid=$2,ou=people,dc=corp,dc=test"))" 1.1 | grep -q '^dn:'
}
holder_of() { es subscription list --format json | jq -r ".[] | select(.Name == \"$1\") | .LeaseHolder // \"\""; }
normal() { es test --full-compare --edge "$1" >"$WORK/test-$1.out" 2>&1; }
pids=""
stop_replicators() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	return 0
}
cleanup_hooks="stop_replicators $cleanup_hooks"

# --- two replicators: one holds the lease, the other waits -----------------------------------------
"$EDGESYNC" -c "$WORK/rep.conf" run 2>"$WORK/a.log" &
A=$!
pids="$pids $A"
wait_for "replicator A takes the lease of edge1" grep -q '2003 EdgeLeaseAcquired edge=edge1' "$WORK/a.log"
wait_for "replicator A takes the lease of edge2" grep -q '2003 EdgeLeaseAcquired edge=edge2' "$WORK/a.log"
wait_for "replicator A synchronizes edge1" grep -q '2000 EdgeSyncCompleted edge=edge1' "$WORK/a.log"
wait_for "replicator A synchronizes edge2" grep -q '2000 EdgeSyncCompleted edge=edge2' "$WORK/a.log"
check "A logged the certificate it uses (CertificateInUse)" grep -q '1000 CertificateInUse service=LDAP' "$WORK/a.log"
# it holds decrypted credentials and its key: a crash must leave no core file (a sanitizer lowers
# only the soft limit; edgesync sets both, and makes itself non-dumpable)
core_limit() { awk '/^Max core file size/ {print $5, $6}' "/proc/$1/limits"; }
expect_eq "the running replicator's core file limit is 0, soft and hard (/proc/PID/limits)" "0 0" "$(core_limit "$A")"
HOLDER_A=$(sed -n 's/.*2003 EdgeLeaseAcquired edge=edge1 holder=\([^ ]*\) .*/\1/p' "$WORK/a.log" | head -1)
"$EDGESYNC" -c "$WORK/rep.conf" run 2>"$WORK/b.log" &
B=$!
pids="$pids $B"
wait_for "replicator B sees edge1 held and waits" grep -q "edge edge1: lease held by $HOLDER_A" "$WORK/b.log"
wait_for "replicator B sees edge2 held and waits" grep -q "edge edge2: lease held by $HOLDER_A" "$WORK/b.log"
add_people 30 30
wait_for "a new entry reaches edge1 (through A)" has_uid edge1 u30
wait_for "... and edge2" has_uid edge2 u30
# several renewals of A's lease have passed by now
sleep "$LEASE"
check "B has not synchronized any edge" bash -c "! grep -q ' 2000 EdgeSyncCompleted' '$WORK/b.log'"
check "B has taken no lease" bash -c "! grep -q ' 2003 EdgeLeaseAcquired' '$WORK/b.log'"
expect_eq "the subscription names A as the holder of edge1" "$HOLDER_A" "$(holder_of edge1)"
expect_eq "... and of edge2" "$HOLDER_A" "$(holder_of edge2)"

# --- kill -9 the holder: B takes over once the lease has expired -----------------------------------
kill -9 "$A"
wait "$A" 2>/dev/null
wait_for "B takes edge1 over" grep -q '2003 EdgeLeaseAcquired edge=edge1' "$WORK/b.log"
wait_for "B takes edge2 over" grep -q '2003 EdgeLeaseAcquired edge=edge2' "$WORK/b.log"
HOLDER_B=$(sed -n 's/.*2003 EdgeLeaseAcquired edge=edge1 holder=\([^ ]*\) .*/\1/p' "$WORK/b.log" | head -1)
check "B is another holder than A" test -n "$HOLDER_B" -a "$HOLDER_B" != "$HOLDER_A"
add_people 31 31
wait_for "a new entry reaches edge1 (through B)" has_uid edge1 u31
wait_for "... and edge2" has_uid edge2 u31
expect_eq "the subscription names B as the holder now" "$HOLDER_B" "$(holder_of edge1)"

# --- the replicator's certificate renewed under a running replicator -------------------------------
# B reads its store again each pass and chooses again: it takes the renewed certificate up and
# goes on replicating (the credentials, encrypted to the old key, still open with it), holding its
# own reference to the certificate it used while the store reloads (ASan: no use after free).
OLD_T=$(sed -n 's/.*1000 CertificateInUse service=LDAP thumbprint=\([0-9A-F]*\).*/\1/p' "$WORK/b.log" | head -1)
check "B named the certificate it uses" test -n "$OLD_T"
NEW_T=$("$CERTCTL" --store "$WORK/rep-store" renew "$OLD_T" | awk 'NR==3 {print $1}')
check "certctl renewed the replicator's certificate" test -n "$NEW_T" -a "$NEW_T" != "$OLD_T"
wait_for "B switches to the renewed certificate (CertificateChanged)" \
	grep -q "1001 CertificateChanged service=LDAP old_thumbprint=$OLD_T thumbprint=$NEW_T" "$WORK/b.log"
add_people 32 32
wait_for "B goes on replicating with it: a new entry reaches edge1" has_uid edge1 u32
wait_for "... and edge2" has_uid edge2 u32
kill -TERM "$B"
wait "$B"
expect_eq "B stops on SIGTERM with status 0" 0 "$?"
check "B said it stopped" grep -q 'edgesync stopped' "$WORK/b.log"
expect_eq "B gave edge1's lease up on the way out" "" "$(holder_of edge1)"
expect_eq "... and edge2's" "" "$(holder_of edge2)"
check "both edges Normal after the takeover" es test --full-compare

# --- an edge stopped in the middle of a cycle, then started again ----------------------------------
add_people 100 399
EDGESYNC_TEST_PAUSE_AFTER=50 "$EDGESYNC" -c "$WORK/rep.conf" start --edge edge1 >"$WORK/mid1.out" 2>"$WORK/mid1.err" &
P=$!
pids="$pids $P"
wait_for "the cycle to edge1 pauses after 50 confirmed writes" grep -q 'test pause after 50 writes' "$WORK/mid1.err"
cookie_before=$(slapd_search src -b "cn=edge1,cn=Edge Subscriptions,dc=corp,dc=test" -s base umedgeSyncCookie | grep -c .)
slapd_stop edge1
kill -USR1 "$P"
wait "$P"
expect_eq "the cycle fails when the edge goes away" 1 "$?"
check "... with EdgeSyncFailed" grep -q '2001 EdgeSyncFailed edge=edge1' "$WORK/mid1.err"
slapd_run edge1
partial=$(recips edge1)
check "part of the writes had arrived ($partial recipients)" test "$partial" -gt 23 -a "$partial" -lt 323
check "the next cycle finishes the job" es start --edge edge1
expect_eq "edge1 holds every recipient once" 323 "$(recips edge1)"
check "edgesync test --full-compare: edge1 Normal" normal edge1

# --- a replicator killed in the middle of a cycle --------------------------------------------------
cookies() { slapd_search src -b "cn=edge2,cn=Edge Subscriptions,dc=corp,dc=test" -s base umedgeSyncCookie | sort; }
cookie_before=$(cookies)
for i in $(seq 100 249); do
	printf 'dn: uid=u%d,ou=people,dc=corp,dc=test\nchangetype: modify\nreplace: cn\ncn: Renamed %d\n\n' "$i" "$i"
done | slapd_modify src >/dev/null
printf 'dn: uid=u250,ou=people,dc=corp,dc=test\nchangetype: delete\n' | slapd_modify src >/dev/null
EDGESYNC_TEST_PAUSE_AFTER=40 "$EDGESYNC" -c "$WORK/rep.conf" start --edge edge2 >"$WORK/mid2.out" 2>"$WORK/mid2.err" &
P=$!
pids="$pids $P"
wait_for "the cycle to edge2 pauses after 40 confirmed writes" grep -q 'test pause after 40 writes' "$WORK/mid2.err"
kill -9 "$P"
wait "$P" 2>/dev/null
expect_eq "the killed replicator's lease stays on the subscription" "$P" "$(holder_of edge2 | cut -d/ -f2)"
expect_eq "the cookie did not move" "$cookie_before" "$(cookies)"
wait_for "another replicator finishes the job once the lease expired" es start --edge edge2
expect_eq "edge2 holds every recipient once" 322 "$(recips edge2)"
check "the renames all arrived" bash -c "[ \$(ldapsearch -LLL -Q -Y EXTERNAL -H '$(slapd_ldapi edge2)' -b dc=edge2,dc=test '(cn=Renamed *)' 1.1 | grep -c '^dn:') -eq 150 ]"
check "edgesync test --full-compare: edge2 Normal" normal edge2
check "edge1, behind by the renames, catches up in one cycle" es start --edge edge1
check "edgesync test --full-compare: both Normal" es test --full-compare
# The replicators that ran in the background (those killed with -9 excepted, which cannot report)
expect_eq "no sanitizer report from any replicator" "" \
	"$(cat "$WORK"/a.log "$WORK"/b.log "$WORK"/mid*.err 2>/dev/null | grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' | head -3)"

finish
