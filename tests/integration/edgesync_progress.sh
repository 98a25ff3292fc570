#!/bin/bash
# edgesync start's progress display: on a terminal (a pseudo-terminal made by script(1)), a first
# sync of a few thousand recipients shows each area's progress on one line rewritten with
# carriage returns, the last line of each area kept; a full cycle estimates from the edge's count.
# Nothing of it when stderr is a file, when the log format is JSON or when TERM is dumb; and
# edgesync run logs no progress in a cycle shorter than its 10 s interval.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"
. "$(dirname "$0")/edgesync_env.sh"

es_env_setup 30 || exit 1
N=3000
for i in $(seq 21 $((N + 20))); do
	printf 'dn: uid=u%d,ou=people,dc=corp,dc=test\nobjectClass: inetOrgPerson\n' "$i"
	printf 'objectClass: umedgeRecipient\nuid: u%d\ncn: User %d\nsn: U%d\n' "$i" "$i" "$i"
	printf 'mail: User%d@Corp.Test\nproxyAddresses: SMTP:User%d@Corp.Test\n\n' "$i" "$i"
done >"$WORK/people.ldif"
check "$N more recipients loaded (slapadd)" slapd_load src "$WORK/people.ldif"
es_subscribe edge1 || {
	not_ok "subscription of edge1"
	cat "$WORK/edge1.import.out"
}
TOTAL=$((N + 20))

on_tty() { # OUT TERM ARGS...: edgesync -c rep.conf ARGS on a pseudo-terminal, its output in OUT
	local out=$1 term=$2 cmd
	shift 2
	cmd="TERM=$term $(printf '%q ' "$EDGESYNC" -c "$WORK/rep.conf" "$@")"
	script -qec "$cmd" /dev/null </dev/null >"$out" 2>&1
}
# the lines as a person sees them: each carriage return starts the line again
screen() { tr '\r' '\n' <"$1" | sed 's/\x1b\[K//g'; }

# --- a first sync on a terminal ------------------------------------------------------------------
on_tty "$WORK/first.tty" xterm start --edge edge1
expect_eq "a first sync on a terminal exits 0" 0 "$?"
expect_eq "edge1 holds all $TOTAL recipients" $TOTAL "$(edge_count edge1 recipients)"
check "the recipients line is rewritten in place (CR, erase to end of line)" \
	grep -q $'\r''edge1 recipients: reading: [0-9]* entries.*'$'\x1b''\[K' "$WORK/first.tty"
screen "$WORK/first.tty" >"$WORK/first.screen"
check "it reads before anything is known: estimating" \
	grep -Eq '^edge1 recipients: reading: [0-9]+ entries, (.*/s, )?estimating' "$WORK/first.screen"
check "the area's last line is kept: $TOTAL read, $TOTAL written" \
	grep -Eq "^edge1 recipients: done: $TOTAL read, $TOTAL written in [0-9]+ s$" "$WORK/first.screen"
check "each of the four areas ends with a kept line" \
	test "$(grep -Ec 'edge1 (recipients|accepteddomains|remotedomains|connectors): done: ' "$WORK/first.tty")" -eq 4
check "the summary on stdout still follows" grep -q "edge1: synchronized: $((TOTAL + 4)) added" "$WORK/first.tty"
if grep -Eq "^edge1 recipients: writing: [0-9]+ of $TOTAL writes \($TOTAL read\)" "$WORK/first.screen"; then
	ok "the writes were shown against the $TOTAL planned"
else
	echo "# the writes took less than a redraw interval: no writing line to check"
fi

# --- a full cycle: the edge's count is the estimate from the start --------------------------------
on_tty "$WORK/full.tty" xterm start --edge edge1 --full
expect_eq "a full cycle on a terminal exits 0" 0 "$?"
check "the read is estimated from the edge's count ($TOTAL)" \
	grep -Eq "edge1 recipients: reading: [0-9]+ of about $TOTAL entries \(the edge's count\)" "$WORK/full.tty"
check "... and ends with $TOTAL read, 0 written" \
	grep -Eq "edge1 recipients: done: $TOTAL read, 0 written" "$WORK/full.tty"

# --- none of it when stderr is not a terminal, the log is JSON, or TERM is dumb --------------------
add_people 5001 5010
script -qec "TERM=xterm $(printf '%q ' "$EDGESYNC" -c "$WORK/rep.conf" start --edge edge1 --full) 2>$(printf '%q' "$WORK/file.err")" \
	/dev/null </dev/null >"$WORK/file.tty" 2>&1
expect_eq "stderr to a file (stdout a terminal): exits 0" 0 "$?"
check "... the summary on the terminal" grep -q "edge1: synchronized: 10 added" "$WORK/file.tty"
check "... no progress on the terminal nor in the file" \
	bash -c "! grep -Eq 'reading:|done:|'$'\r''.*\[K' '$WORK/file.tty' '$WORK/file.err'"
check "... the file holds the log, EdgeSyncCompleted" grep -q "2000 EdgeSyncCompleted edge=edge1 added=10 " "$WORK/file.err"

on_tty "$WORK/json.tty" xterm --log-format json start --edge edge1 --full
expect_eq "--log-format json on a terminal: exits 0" 0 "$?"
check "... no progress, only JSON lines and the summary" \
	bash -c "! grep -Eq 'reading:|done:|writing:' '$WORK/json.tty' && grep -q '\"event\":\"EdgeSyncCompleted\"' '$WORK/json.tty'"
check "... every line is JSON or the summary" \
	bash -c "tr -d '\r' <'$WORK/json.tty' | grep -v '^edge1: synchronized' | jq -e . >/dev/null"

on_tty "$WORK/dumb.tty" dumb start --edge edge1 --full
expect_eq "TERM=dumb: exits 0" 0 "$?"
check "... no progress" bash -c "! grep -Eq 'reading:|done:' '$WORK/dumb.tty'"

# --- the daemon: a cycle shorter than 10 s logs no progress ----------------------------------------
add_people 5011 5020
# edgesync itself in the background, not the shell function es (whose $! is a subshell that a
# kill would end, leaving the daemon behind)
"$EDGESYNC" -c "$WORK/rep.conf" run >"$WORK/run.out" 2>"$WORK/run.err" &
RUN_PID=$!
stop_run() { [ -n "${RUN_PID:-}" ] && kill "$RUN_PID" 2>/dev/null && wait "$RUN_PID"; RUN_PID=; }
cleanup_hooks="stop_run $cleanup_hooks"
wait_for "edgesync run completes a cycle of edge1" grep -q "EdgeSyncCompleted edge=edge1 added=10 " "$WORK/run.err"
stop_run
check "... and logged no progress line in it (under the 10 s interval)" \
	bash -c "! grep -Eq 'area [a-z]+: (reading|writing):' '$WORK/run.err'"

finish
