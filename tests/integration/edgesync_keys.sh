#!/bin/bash
# edgesync's key custody against real slapd processes (a source and an edge over LDAPS): a cycle,
# a rotation and `edgesync test` work through the key holder; the replicator process cannot open
# its own key file (it can its certificate and its configuration), the holder opens the key and
# nothing outside the store (EDGESYNC_TEST_OPEN, a hook of builds with the tests: each sandboxed
# process says what it could open once its sandbox holds); both have no_new_privs; the holder is
# the replicator's child edgesync-keys; killed while `edgesync run` waits, run says so and exits 1;
# killed in the middle of a cycle (EDGESYNC_TEST_PAUSE_AFTER), the next edge's cycle fails naming
# the holder, and run exits 1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"

es_env_setup 30 || exit 1
check "subscribe edge1" es_subscribe edge1
check "subscribe edge2" es_subscribe edge2
REP_T=$(sed -n "s/.*this replicator's is \([0-9A-F]\{40\}\)$/\1/p" "$WORK/edge1.import.out")
check "import names the replicator's certificate" test -n "$REP_T"
KEY="$WORK/rep-store/keys/$REP_T.key"
CERT="$WORK/rep-store/certs/$REP_T.pem"
check "its key is in the store" test -s "$KEY"

# --- one cycle through the holder; what each process could open ------------------------------------
EDGESYNC_TEST_OPEN="$KEY:$CERT:$WORK/rep.conf:/etc/passwd" es start --edge edge1 >"$WORK/start.out" 2>"$WORK/start.err"
expect_eq "a cycle through the key holder" 0 "$?"
check "... synchronized edge1" grep -Eq '^edge1: synchronized: [0-9]+ added' "$WORK/start.out"
expect_eq "... 20 recipients on edge1" 20 "$(edge_count edge1 recipients)"
if grep -q 'this process can neither read nor write .*/keys or .*/requests (Landlock ABI' "$WORK/start.err"; then
	opened() { grep -qF "edgesync: test open ($1) $2: $3" "$WORK/start.err"; }
	check "the replicator cannot open its key file" opened replicator "$KEY" "refused (Permission denied)"
	check "... and reads its certificate" opened replicator "$CERT" ok
	check "... and its configuration" opened replicator "$WORK/rep.conf" ok
	check "the key holder opens the key file" opened "key holder" "$KEY" ok
	check "... but not the configuration beside the store" opened "key holder" "$WORK/rep.conf" "refused (Permission denied)"
	check "... nor /etc/passwd" opened "key holder" /etc/passwd "refused (Permission denied)"
else
	check "no Landlock here: the replicator says so" grep -q 'no usable Landlock' "$WORK/start.err"
fi
check "the replicator never read the key (no key in its log)" bash -c "! grep -q 'PRIVATE KEY' '$WORK/start.err'"

# --- rotation and test through the holder ----------------------------------------------------------
es start --edge edge1 --rotate-credential >"$WORK/rot.out" 2>"$WORK/rot.err"
expect_eq "a rotation (the new password sealed to the certificate, opened by the holder)" 0 "$?"
check "... said so: EdgeCredentialRotated (2004)" grep -q '2004 EdgeCredentialRotated edge=edge1 resumed=false' "$WORK/rot.err"
check "edgesync test opens the new credential through the holder: Normal" es test --edge edge1

# --- the daemon and its holder ---------------------------------------------------------------------
"$EDGESYNC" -c "$WORK/rep.conf" run 2>"$WORK/run.log" &
A=$!
stop_a() { kill -9 "$A" 2>/dev/null; return 0; }
cleanup_hooks="stop_a $cleanup_hooks"
wait_for "run synchronizes edge1" grep -q '2000 EdgeSyncCompleted edge=edge1' "$WORK/run.log"
H=$(pgrep -P "$A" | head -1)
expect_eq "the holder is the replicator's child, edgesync-keys" edgesync-keys "$(cat "/proc/$H/comm" 2>/dev/null)"
check "the holder has no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$H/status"
if grep -q 'this process can neither read nor write' "$WORK/run.log"; then
	check "the replicator has no_new_privs (Landlock)" grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$A/status"
fi
kill -9 "$H"
wait_for "killed, the holder is reported" grep -q "the key holder (pid $H) ended (killed by signal 9): edgesync stops" "$WORK/run.log"
wait "$A"
expect_eq "... and run exits 1" 1 "$?"
check "... having given its leases up" bash -c "[ -z \"\$(\"$EDGESYNC\" -c '$WORK/rep.conf' subscription list --format json | jq -r '.[].LeaseHolder // empty')\" ]"

# --- the holder killed in the middle of a cycle: the next edge's cycle fails, run exits 1 ----------
add_people 21 30
EDGESYNC_TEST_PAUSE_AFTER=1 "$EDGESYNC" -c "$WORK/rep.conf" run 2>"$WORK/run2.log" &
A=$!
wait_for "a cycle pauses after its first write" grep -q 'test pause after 1 writes' "$WORK/run2.log"
H=$(pgrep -P "$A" | head -1)
kill -9 "$H"
kill -USR1 "$A"
wait_for "the next edge's cycle fails, naming the key holder" grep -Eq "2001 EdgeSyncFailed edge=edge[12] reason=.*key holder \(pid $H\)" "$WORK/run2.log"
wait "$A"
expect_eq "... and run exits 1" 1 "$?"
finish
