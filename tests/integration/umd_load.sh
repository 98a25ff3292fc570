#!/bin/bash
# umd under load and faults, on loopback: 2,000 concurrent mutual-TLS connections, a stream of
# malformed SIP over established TLS connections and over UDP (unsecured mode), stalled
# handshakes, and file-descriptor exhaustion (umd under a 256-descriptor limit). Throughout, a
# well-behaved gateway's OPTIONS keep getting 200, and umd's memory (VmRSS) returns near its
# baseline once the connections are gone. tests/integration/umd_load.py generates the load;
# every phase is bounded in connections and time. Figures are printed as "FIGURE ..." lines.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
. "$(dirname "$0")/sip.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
load() { python3 "$D/umd_load.py" "$@"; }
# Load generators still running when the test ends (each also stops by itself: --max).
LOAD_PIDS=""
load_stop() {
	for p in $LOAD_PIDS; do
		# only a generator of ours still running (an ended one's id may have been reused)
		grep -q umd_load.py "/proc/$p/cmdline" 2>/dev/null || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}
cleanup_hooks="$cleanup_hooks load_stop"

# In a sanitizer build freed memory sits in ASan's quarantine before it can be reused: keep
# that small. scripts/test unwinds every allocation fully (fast_unwind_on_malloc=0, for the
# suppressions); 12 frames reach the deepest one (tests/lsan.supp) at half the cost.
if ldd "$UMD" 2>/dev/null | grep -q libasan || nm "$UMD" 2>/dev/null | grep -q __asan_init; then
	ASAN_BUILD=1
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16:allocator_release_to_os_interval_ms=100:malloc_context_size=12"
else
	ASAN_BUILD=0
fi
# 2,000 connections; a sanitizer build handshakes many times slower, so it gets 300, fewer
# at a time, and leaves the memory bound to LeakSanitizer (its allocator keeps freed memory).
if [ "$ASAN_BUILD" = 1 ]; then
	CONNS=${UMD_LOAD_CONNS:-300} PAR=8
else
	CONNS=${UMD_LOAD_CONNS:-2000} PAR=32
fi

# Descriptors for the connections in this shell's children (umd raises its own soft limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CONNS + 200)) ]; then
	echo "not ok - the open-files hard limit ($(ulimit -Hn)) is below $((CONNS + 200))"
	exit 1
fi

# The gateway: a self-signed certificate, pinned.
"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
GT=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$GT.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$GT.key" "$WORK/gw1.key"
GW=(--cert "$WORK/gw1.pem" --key "$WORK/gw1.key")

phase() { echo "# $1 (at ${SECONDS}s)"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
metric() { # metric PORT NAME: a sample's value from /metrics
	python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$1/metrics', timeout=5).read().decode())" |
		awk -v n="$2" '$1 == n {print $2}'
}
# wait_metric PORT NAME MAX SECONDS: until the sample is at most MAX
wait_metric() {
	for _ in $(seq $(($4 * 10))); do
		v=$(metric "$1" "$2")
		[ -n "$v" ] && [ "${v%.*}" -le "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# keepalive_start NAME PORT: a gateway's persistent connection, OPTIONS every 0.2 s, until
# $WORK/NAME.stop exists; keepalive_stop NAME prints its KEEPALIVE line.
keepalive_start() {
	rm -f "$WORK/$1.stop"
	load keepalive --port "$2" "${GW[@]}" --until "$WORK/$1.stop" --max 80 >"$WORK/$1.ka" 2>&1 &
	eval "KA_$1=$!"
	LOAD_PIDS="$LOAD_PIDS $!"
}
keepalive_stop() {
	touch "$WORK/$1.stop"
	wait "$(eval echo "\$KA_$1")" 2>/dev/null
	cat "$WORK/$1.ka"
}
ka_ok() { # ka_ok NAME: every OPTIONS of the keep-alive got 200 in time
	grep -q '^KEEPALIVE sent [1-9][0-9]* ok [0-9]* failed 0 ' "$WORK/$1.ka"
}

# --- umd in sipsecured mode ------------------------------------------------------------------------
PORT=$(free_port)
HTTP=$(free_port)
umd_conf "$WORK/umd.conf" sipsecured "$PORT" "$S" "$HTTP" <<CONF
[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF
check "umd starts" umd_start a "$WORK/umd.conf"
PID=$UMD_PID_a
check "a gateway's OPTIONS get 200" load options --port "$PORT" "${GW[@]}"
for _ in 1 2 3 4 5; do load options --port "$PORT" "${GW[@]}" >/dev/null; done
BASE=$(rss_kib "$PID")

# --- 2,000 concurrent TLS connections ---------------------------------------------------------------
phase "2,000 concurrent TLS connections"
keepalive_start ka1 "$PORT"
load hold --port "$PORT" "${GW[@]}" --count "$CONNS" --concurrency "$PAR" --until "$WORK/release" \
	--max 60 >"$WORK/hold.txt" 2>&1 &
HOLD=$!
LOAD_PIDS="$LOAD_PIDS $HOLD"
for _ in $(seq 900); do grep -q '^HOLD opened' "$WORK/hold.txt" && break; sleep 0.1; done
OPEN=$(awk '/^HOLD opened/ {print $3}' "$WORK/hold.txt")
expect_eq "$CONNS mutual-TLS connections are open at once" "$CONNS" "${OPEN:-0}"
check "... each one's OPTIONS got 200" grep -q "^HOLD opened $CONNS answered $CONNS failed 0" "$WORK/hold.txt"
HELD=$(metric "$HTTP" umd_open_connections)
check "... umd counts them (umd_open_connections $HELD)" test "${HELD%.*}" -ge "$CONNS"
check "a new gateway connection gets 200 meanwhile" load options --port "$PORT" "${GW[@]}"
PEAK=$(rss_kib "$PID")
touch "$WORK/release"
wait "$HOLD"
check "... all $CONNS stayed open until the client closed them" grep -q "^HOLD still_open $CONNS" "$WORK/hold.txt"
check "umd sees them close (umd_open_connections back to 1)" wait_metric "$HTTP" umd_open_connections 1 30
keepalive_stop ka1
check "the gateway's keep-alive got 200 to every OPTIONS throughout" ka_ok ka1
sleep 1
AFTER=$(rss_kib "$PID")
echo "FIGURE connections $OPEN rss_kib baseline $BASE with_connections $PEAK after_close $AFTER ($(((PEAK - BASE) / CONNS)) KiB a connection)"
# Generous: within 30 MiB of the baseline, or within twice the baseline.
near_base() { [ "$ASAN_BUILD" = 1 ] || [ "$1" -le $(($2 + 30720)) ] || [ "$1" -le $(($2 * 2)) ]; }
check "umd's memory returns near its baseline ($BASE KiB -> $PEAK -> $AFTER)" near_base "$AFTER" "$BASE"

# --- stalled handshakes ---------------------------------------------------------------------------
phase "stalled handshakes"
keepalive_start ka3 "$PORT"
tls_stall_start 127.0.0.1 "$PORT" 8 300 >/dev/null
tls_stall_start 127.0.0.1 "$PORT" 8 300 partial >/dev/null
check "a new gateway connection gets 200 while 600 handshakes stall" load options --port "$PORT" "${GW[@]}"
tls_stall_wait >"$WORK/stall.txt"
keepalive_stop ka3
cat "$WORK/stall.txt"
check "umd closed every stalled handshake (handshake_seconds 2)" \
	bash -c "[ \$(grep -c 'closed_by_server 300 still_open 0' '$WORK/stall.txt') -eq 2 ]"
check "the gateway's keep-alive got 200 throughout" ka_ok ka3
check "umd sees them close (umd_open_connections back to 0)" wait_metric "$HTTP" umd_open_connections 0 10

umd_stop a
expect_eq "umd stops cleanly after all that (exit 0)" 0 "$UMD_RC"

# --- malformed SIP over established TLS connections, then descriptor exhaustion --------------------
phase "malformed SIP over established TLS connections, then descriptor exhaustion"
# A second umd, with idle_seconds 10: sofia-sip stops reading a connection whose message it
# cannot parse or finds too large (it does not close it), and the idle timer closes it.
MALCONNS=100
[ "$ASAN_BUILD" = 0 ] || MALCONNS=40
PORT3=$(free_port)
HTTP3=$(free_port)
umd_conf "$WORK/f.conf" sipsecured "$PORT3" "$S" "$HTTP3" <<CONF
idle_seconds = 10
[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF
sed -i 's/^handshake_seconds = 2$/handshake_seconds = 10/' "$WORK/f.conf"
check "a second umd starts (idle_seconds 10, handshake_seconds 10)" umd_start f "$WORK/f.conf"
FPID=$UMD_PID_f
keepalive_start ka4 "$PORT3"
load malformed --port "$PORT3" "${GW[@]}" --conns "$MALCONNS" --max 60 >"$WORK/mal.txt" 2>&1
cat "$WORK/mal.txt"
check "malformed messages went out over TLS" grep -q '^MALFORMED sent [1-9]' "$WORK/mal.txt"
check "umd is still running" kill -0 "$FPID"
check "a new gateway connection gets 200 after" load options --port "$PORT3" "${GW[@]}"
check "every connection of the malformed stream is closed within idle_seconds" \
	wait_metric "$HTTP3" umd_open_connections 1 25
keepalive_stop ka4
check "the gateway's keep-alive got 200 throughout" ka_ok ka4

# File-descriptor exhaustion: the same umd under a 256-descriptor limit, 400 connections that
# never finish their handshake (f.conf: handshake_seconds 10, so they hold their descriptors).
check "umd takes a 256-descriptor limit (prlimit --nofile=256:256)" prlimit --pid "$FPID" --nofile=256:256
keepalive_start ka5 "$PORT3"
sleep 0.5
FD0=$(fds "$FPID")
tls_stall_start 127.0.0.1 "$PORT3" 12 400 >/dev/null
# Until umd is at its limit (then it has nothing to do but refuse).
for _ in $(seq 100); do [ "$(fds "$FPID")" -ge 200 ] && break; sleep 0.1; done
sleep 0.5
FD1=$(fds "$FPID")
C0=$(cpu_ticks "$FPID")
sleep 2
C1=$(cpu_ticks "$FPID")
CPU=$(((C1 - C0) * 100 / $(getconf CLK_TCK) / 2))
echo "FIGURE fd_exhaustion descriptors before $FD0 during $FD1 limit 256 cpu_percent_while_exhausted $CPU"
check "umd holds connections up to its reserve ($FD1 of 256 descriptors in use)" test "$FD1" -ge 200
check "umd does not spin while out of descriptors (${CPU}% of a CPU)" test "$CPU" -lt 50
WARN=$(grep -c 'descriptors nearly exhausted' "$WORK/f.log")
check "... and logs that once an episode ($WARN), not once a connection" test "$WARN" -ge 1 -a "$WARN" -le 5
check "umd is still running" kill -0 "$FPID"
tls_stall_wait >"$WORK/fdstall.txt"
cat "$WORK/fdstall.txt"
keepalive_stop ka5
check "the gateway's established connection got 200 throughout" ka_ok ka5
check "a new gateway connection gets 200 once the flood is gone" \
	load options --port "$PORT3" "${GW[@]}" --retry 10
check "... and umd says descriptors are available again" grep -q 'descriptors available again' "$WORK/f.log"
umd_stop f
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

# --- unsecured mode: malformed SIP over UDP ----------------------------------------------------------
phase "unsecured mode: malformed SIP over UDP"
PORT4=$(free_port)
umd_conf "$WORK/un.conf" unsecured "$PORT4" "$S" "" <<CONF
[gateway pbx]
address = 127.0.0.1
CONF
check "umd starts in unsecured mode" umd_start u "$WORK/un.conf"
UPID=$UMD_PID_u
URSS0=$(rss_kib "$UPID")
load malformed --udp --port "$PORT4" --conns 300 --max 30 >"$WORK/udp.txt" 2>&1 &
UDPF=$!
LOAD_PIDS="$LOAD_PIDS $UDPF"
check "OPTIONS over UDP get 200 during the flood" load options --udp --port "$PORT4" --retry 5
wait "$UDPF"
cat "$WORK/udp.txt"
check "malformed datagrams went out" grep -q '^MALFORMED sent [1-9]' "$WORK/udp.txt"
check "umd is still running" kill -0 "$UPID"
check "OPTIONS over UDP get 200 after the flood" load options --udp --port "$PORT4" --retry 5
URSS1=$(rss_kib "$UPID")
echo "FIGURE udp_flood rss_kib before $URSS0 after $URSS1"
check "umd's memory after the UDP flood is near where it was ($URSS0 KiB -> $URSS1)" \
	near_base "$URSS1" "$URSS0"
umd_stop u
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

phase "done"
finish
