#!/bin/bash
# Test hooks only in test builds (the CMake option UMEDGE_TEST_HOOKS): the *_TEST_* variables
# that arm them (UMD_TEST_STALL_FILE, EDGESYNC_TEST_PAUSE_AFTER, EDGESYNC_TEST_OPEN) and the
# writer's hook are in umd and edgesync exactly when the build has them; and the files that hold
# them, compiled as a build with the hooks off compiles them (tests/CMakeLists.txt's hooks_off
# objects), have neither, so such a build ignores the variables. No process is started: a few
# greps.
#
#   test_hooks.sh on|off BINARY... -- OBJECT...
. "$(dirname "$0")/lib.sh"
mode=${1:?on or off}
shift
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	bins+=("$1")
	shift
done
shift
objs=("$@")
VARS=(UMD_TEST_STALL_FILE EDGESYNC_TEST_PAUSE_AFTER EDGESYNC_TEST_OPEN)

# has FILE: the file names a hook variable or defines the writer's hook
has() {
	local v
	for v in "${VARS[@]}"; do grep -aq "$v" "$1" && return 0; done
	nm "$1" 2>/dev/null | grep -q ' [BDbd] es_writer_test_hook$'
}

expect_eq "hooks_off: the files that hold hooks were compiled" 1 "$([ ${#objs[@]} -ge 1 ] && echo 1)"
for o in "${objs[@]}"; do
	check "hooks off: $(basename "$o") names no *_TEST_* variable and no writer hook" bash -c "$(declare -f has); VARS=(${VARS[*]}); ! has '$o'"
done
for b in "${bins[@]}"; do
	if [ "$mode" = on ]; then
		check "hooks on: $(basename "$b") has its test hook" bash -c "$(declare -f has); VARS=(${VARS[*]}); has '$b'"
	else
		check "hooks off: $(basename "$b") has no test hook" bash -c "$(declare -f has); VARS=(${VARS[*]}); ! has '$b'"
	fi
done
finish
