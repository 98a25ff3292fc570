#!/bin/bash
# /healthz follows the SIP loop: umd's one-second tick records a heartbeat, and /healthz (served
# by another thread) answers 503 once it is older than stall_seconds. The loop is blocked for
# real with the test hook UMD_TEST_STALL_FILE (SIGSTOP would stop the HTTP thread as well), and
# it must recover once the loop runs again. Slow clients (a trickle attack) cannot keep
# /healthz from answering.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
D=$(dirname "$0")
export UMEDGE_CA_BUNDLE=""

PORT=$(free_port)
HTTP=$(free_port)
STALL="$WORK/stall"

# http PATH: "STATUS BODY" of a GET (one line; the body's first line)
http() {
	python3 - "http://127.0.0.1:$HTTP$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    code, body = r.status, r.read().decode()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read().decode()
except Exception as e:
    code, body = 0, str(e)
print(code, body.splitlines()[0] if body else "")
PY
}
heartbeat_age() { python3 -c "import urllib.request as u; t=u.urlopen('http://127.0.0.1:$HTTP/metrics', timeout=5).read().decode(); print([l.split()[1] for l in t.splitlines() if l.startswith('umd_sip_loop_heartbeat_age_seconds ')][0])"; }
# wait_health STATUS SECONDS: until /healthz answers STATUS
wait_health() {
	for _ in $(seq $(($2 * 10))); do
		[ "$(http /healthz | cut -d' ' -f1)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- the key: a bad value names file:line --------------------------------------------------------
printf '[umd]\nmode = unsecured\nstall_seconds = 1\n' >"$WORK/bad.conf"
expect_fail "stall_seconds = 1: umd -n names file:line" 1 'bad.conf:3: stall_seconds "1": 2 to 300' "$UMD" -n -c "$WORK/bad.conf"
printf '[umd]\nmode = unsecured\nstall_seconds = soon\n' >"$WORK/bad2.conf"
expect_fail "stall_seconds = soon: refused too" 1 'bad2.conf:3: stall_seconds "soon"' "$UMD" -n -c "$WORK/bad2.conf"

umd_conf "$WORK/umd.conf" unsecured "$PORT" "$WORK/store" "$HTTP" <<CONF
stall_seconds = 2

[gateway local]
address = 127.0.0.1
CONF
check "umd -n accepts stall_seconds = 2" "$UMD" -n -c "$WORK/umd.conf"
check "umd starts with the test hook armed" umd_start a "$WORK/umd.conf" UMD_TEST_STALL_FILE="$STALL"
check "/healthz: 200 while the loop runs" wait_health 200 5
sleep 3
expect_eq "... and still 200 three seconds later (the tick keeps it fresh)" "200 ok" "$(http /healthz)"
check "umd_sip_loop_heartbeat_age_seconds is under 2 s" bash -c "awk -v a=$(heartbeat_age) 'BEGIN {exit !(a >= 0 && a < 2)}'"
check "OPTIONS over UDP: 200" python3 "$D/sipclient.py" options --to "sip:127.0.0.1:$PORT" --timeout 5

# --- the loop blocks: 503 with the reason, then recovery -------------------------------------------
touch "$STALL"
check "the hook blocks the SIP loop" bash -c "for i in \$(seq 30); do grep -q 'SIP loop stalled while' '$WORK/a.log' && exit 0; sleep 0.1; done; exit 1"
check "/healthz: 503 within stall_seconds and a tick" wait_health 503 6
stalled_reason() {
	r=$(http /healthz)
	echo "$r"
	case $r in "503 SIP loop stalled: no heartbeat for "*" s (limit 2 s)") return 0 ;; esac
	return 1
}
check "... saying the SIP loop stalled, and for how long" stalled_reason
check "/metrics still answers: umd_up 0" bash -c "python3 -c \"import urllib.request as u; t=u.urlopen('http://127.0.0.1:$HTTP/metrics', timeout=5).read().decode(); assert 'umd_up 0' in t.splitlines()\""
check "umd_sip_loop_heartbeat_age_seconds is past 2 s" bash -c "awk -v a=$(heartbeat_age) 'BEGIN {exit !(a >= 2)}'"
check "meanwhile SIP is not answered (the loop is really blocked)" bash -c "! python3 '$D/sipclient.py' options --to 'sip:127.0.0.1:$PORT' --timeout 1"
rm -f "$STALL"
check "the loop runs again" bash -c "for i in \$(seq 50); do grep -q 'SIP loop running again' '$WORK/a.log' && exit 0; sleep 0.1; done; exit 1"
check "/healthz: 200 again within a few seconds" wait_health 200 5
check "OPTIONS over UDP: 200 again" python3 "$D/sipclient.py" options --to "sip:127.0.0.1:$PORT" --timeout 5

# --- slow clients cannot starve it ---------------------------------------------------------
# 25 addresses x 8 connections, each sending a header line every 4 s and never the end of its
# request (and reconnecting when closed): more than the endpoint's 64 slots, and never idle for
# its 10 s inactivity timeout. The orchestrator's probe, a /healthz every second with 5 s to
# answer, must be answered every time while the attack goes on for 20 s.
trickle() { # SECONDS: the attack; prints how many of its connections the server closed
	python3 - "$HTTP" "$1" <<'PY'
import socket, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
def dial(i):
    s = socket.socket()
    s.bind(("127.0.4.%d" % (i // 8 + 1), 0))
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s
socks = [dial(i) for i in range(25 * 8)]
closed, end, n = 0, time.time() + seconds, 0
while time.time() < end:
    n += 1
    for i, s in enumerate(socks):
        if s is not None:
            try:
                if s.recv(4096) == b"":
                    raise OSError("closed")
                raise OSError("answered")
            except BlockingIOError:
                try:
                    s.send(b"X-Trickle-%d: %d\r\n" % (n, n))
                    continue
                except OSError:
                    pass
            except OSError:
                pass
            s.close()
            closed += 1
        socks[i] = dial(i)
    time.sleep(min(4, max(0, end - time.time())))
print(closed)
PY
}
probe() { # SECONDS: a /healthz every second, 5 s each; prints "answered asked longest-run-of-misses"
	python3 - "$HTTP" "$1" <<'PY'
import sys, time, urllib.request
port, seconds = int(sys.argv[1]), float(sys.argv[2])
asked = answered = run = longest = 0
end = time.time() + seconds
while time.time() < end:
    t = time.time()
    asked += 1
    try:
        r = urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5)
        answered += r.status == 200
        run = 0 if r.status == 200 else run + 1
    except Exception as e:
        run += 1
        print("probe %d: %s" % (asked, e), file=sys.stderr)
    longest = max(longest, run)
    time.sleep(max(0, 1 - (time.time() - t)))
print(answered, asked, longest)
PY
}
check "/healthz: 200 before the attack" wait_health 200 5
trickle 20 >"$WORK/trickle.out" 2>&1 &
TRICKLE=$!
sleep 1
probe 18 >"$WORK/probe.out" 2>"$WORK/probe.err"
wait "$TRICKLE"
read -r answered asked misses <"$WORK/probe.out"
check "the attack was under way while the probe ran (its connections were opened)" test -s "$WORK/trickle.out"
# An orchestrator's liveness probe gives up after a few misses in a row (Kubernetes: 3): on this
# shared machine a probe may miss its 5 s now and then, but never two in a row, and nine in ten
# are answered (before the deadlines, none was).
check "/healthz during 25 x 8 slow connections: answered within 5 s ($answered of $asked), never two misses in a row ($misses)" bash -c "[ '${misses:-9}' -le 1 ] && [ \$(( ${answered:-0} * 10 )) -ge \$(( ${asked:-1} * 9 )) ]"
check "the slow connections were closed at their deadline or to make room (and reopened)" bash -c "[ \"\$(cat '$WORK/trickle.out')\" -gt 0 ]"
check "umd is still running" kill -0 "$UMD_PID_a"
check "/healthz: 200 after the attack" wait_health 200 5

# --- SIGHUP takes a new limit ------------------------------------------------------------------------
edit_conf 's/^stall_seconds = 2/stall_seconds = 30/' "$WORK/umd.conf"
kill -HUP "$UMD_PID_a"
check "reload logged" bash -c "for i in \$(seq 50); do grep -q 'configuration reloaded' '$WORK/a.log' && exit 0; sleep 0.1; done; exit 1"
touch "$STALL"
sleep 4
expect_eq "stall_seconds = 30 after SIGHUP: 4 s of stall is still healthy" "200 ok" "$(http /healthz)"
rm -f "$STALL"
umd_stop a
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

finish
