# Sourceable helpers for umd's integration tests (after lib.sh): config files, start/stop with
# the event log captured, waiting for events. UMD must name the umd binary.

# umd_conf FILE MODE PORT STORE HTTP_PORT [extra [gateway ...] text on stdin]
umd_conf() {
	cat >"$1" <<CONF
[umd]
mode = $2
listen = 127.0.0.1:$3
fqdn = um1.example.test
log_format = json
store = $4
http_listen = ${5:+127.0.0.1:$5}
handshake_seconds = 2
spool = $4-spool
greeting = $4-greetings/default.wav
CONF
	cat >>"$1"
}

# umd_start NAME CONF [env...]: starts umd in the background, its events in $WORK/NAME.log.
umd_start() {
	name=$1 conf=$2
	shift 2
	env "$@" "$UMD" -c "$conf" >"$WORK/$name.out" 2>"$WORK/$name.log" &
	eval "UMD_PID_$name=$!"
	cleanup_hooks="$cleanup_hooks umd_stop_all"
	UMD_NAMES="${UMD_NAMES:-} $name"
	# Ready when it logs that it listens (or gone when it failed to start).
	for _ in $(seq 100); do
		grep -q '"listening on' "$WORK/$name.log" 2>/dev/null && return 0
		kill -0 "$(eval echo \$UMD_PID_$name)" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# umd_stop NAME: SIGTERM, then wait; the exit status is left in UMD_RC (not in a subshell).
# In a sanitizer build (scripts/test) umd reports leaks and memory errors on stderr, which is
# its event log here: a report found there is a failed check, shown with its first lines.
umd_stop() {
	pid=$(eval echo "\${UMD_PID_$1:-}")
	UMD_RC=""
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	# A umd that does not stop is a failure, not a test that hangs until ctest kills it (and
	# leaves the daemon behind): 60 s, then SIGKILL.
	for _ in $(seq 600); do
		st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
		[ "$st" = Z ] && break
		sleep 0.1
	done
	if [ -n "${st:-}" ] && [ "$st" != Z ] && kill -0 "$pid" 2>/dev/null; then
		not_ok "umd $1 did not stop within 60 s of SIGTERM (killed)"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	UMD_RC=$?
	eval "UMD_PID_$1="
	umd_sanitizer_check "$1"
	return 0
}

# umd_sanitizer_check NAME: a failed check when umd NAME's stderr holds a sanitizer report.
umd_sanitizer_check() {
	if grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$WORK/$1.log" 2>/dev/null; then
		not_ok "umd $1: sanitizer report on its stderr"
		grep -A30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$WORK/$1.log" |
			head -60 | sed 's/^/    /'
	fi
	return 0
}

umd_stop_all() {
	for n in ${UMD_NAMES:-}; do umd_stop "$n"; done
	return 0
}

# events NAME ID: the JSON lines of event ID logged so far
events() { grep "\"event_id\":$2[,}]" "$WORK/$1.log" || true; }

# wait_event NAME ID [COUNT]: waits (10 s at most) for COUNT (default 1) events of ID
wait_event() {
	for _ in $(seq 100); do
		[ "$(events "$1" "$2" | wc -l)" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

# has_event NAME JQ-CONDITION: some event line of umd NAME's log satisfies the condition (lines
# that are not JSON, such as a sanitizer's report, are passed over)
has_event() { jq -R -c 'fromjson? // empty' "$WORK/$1.log" | jq -s -e "any(.[]; $2)" >/dev/null; }

# wait_for_event NAME JQ-CONDITION [TENTHS]: waits (default 20 s) until has_event holds
wait_for_event() {
	for _ in $(seq "${3:-200}"); do
		has_event "$1" "$2" && return 0
		sleep 0.1
	done
	echo "no event satisfying [$2] in $1.log"
	return 1
}

thumb_of_pem() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g'; }

# edit_conf SED-EXPRESSION FILE: edits a configuration in place (same file, not a new one, as
# sed -i makes). umd can neither read nor write a file created after it started right inside a
# folder above its store (its Landlock rules, certcore/sandbox.h), and the tests keep both in
# $WORK.
edit_conf() { sed "$1" "$2" >"$2.edit" && cat "$2.edit" >"$2" && rm -f "$2.edit"; }
