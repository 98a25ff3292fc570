# Shared helpers for the integration scripts: checks that count, and a temporary directory
# removed on exit. Source it; then call check/expect_* and finish at the end.
set -u
PASSED=0
FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/umedge-it.XXXXXX")
cleanup_hooks=""
on_exit() {
	for h in $cleanup_hooks; do "$h" || true; done
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap on_exit EXIT
[ -n "${KEEP_WORK:-}" ] && echo "work dir: $WORK"
trap 'exit 130' INT TERM

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	d=$1
	shift
	if "$@" >"$WORK/.out" 2>&1; then ok "$d"; else
		not_ok "$d"
		sed 's/^/    /' "$WORK/.out" | head -20
	fi
}

# expect_eq DESCRIPTION WANT GOT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: want [$2] got [$3]"; fi
}

# expect_fail DESCRIPTION STATUS PATTERN COMMAND...: the command exits with STATUS and its
# stderr matches PATTERN (grep -E) and is exactly one line.
expect_fail() {
	d=$1 want=$2 pat=$3
	shift 3
	"$@" >"$WORK/.out" 2>"$WORK/.err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		not_ok "$d: exit $rc, want $want"
		sed 's/^/    /' "$WORK/.err" | head -5
	elif ! grep -Eq -- "$pat" "$WORK/.err"; then
		not_ok "$d: stderr does not match [$pat]"
		sed 's/^/    /' "$WORK/.err" | head -5
	else
		ok "$d"
	fi
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
