#!/bin/bash
# OPTIONS answered by umd's fast paths (optfast.h over TLS; default_leg_cb on nta otherwise) and
# by nua (options_fast_path = no) must be the same answers: tests/integration/optcompare.py sends
# every kind of OPTIONS to two umd side by side and compares the answers header by header, and
# checks on umd's /metrics which path each one took.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")

"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
t=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$t.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$t.key" "$WORK/gw1.key"

# conf NAME MODE FAST: a umd on a free port (PORT_NAME, HTTP_NAME), gw1 at 127.0.0.1
conf() {
	local port http
	port=$(free_port) http=$(free_port)
	umd_conf "$WORK/$1.conf" "$2" "$port" "$WORK/store-$1" "$http" <<CONF
options_fast_path = $3

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF
	eval "PORT_$1=$port HTTP_$1=$http"
}

# compare LABEL A B ARGS...: optcompare.py; one check per case, its output kept in WORK
compare() {
	local label=$1 a=$2 b=$3 out line
	shift 3
	out="$WORK/compare-$label.txt"
	python3 "$D/optcompare.py" --a "$(eval echo "\$PORT_$a")" --b "$(eval echo "\$PORT_$b")" \
		--metrics-a "http://127.0.0.1:$(eval echo "\$HTTP_$a")/metrics" \
		--metrics-b "http://127.0.0.1:$(eval echo "\$HTTP_$b")/metrics" "$@" >"$out" 2>&1
	expect_eq "$label: optcompare.py exits 0 (every answer the same, every path as expected)" 0 "$?"
	while read -r line; do
		case $line in
		same\ *) ok "$label: ${line#same }" ;;
		path\ *) ok "$label: ${line#path } answered it" ;;
		DIFF\ * | NOANSWER\ * | WRONGPATH\ *)
			not_ok "$label: $line"
			;;
		esac
	done <"$out"
	grep -q '^DIFF\|^NOANSWER\|^WRONGPATH\|Traceback' "$out" && sed 's/^/    /' "$out" | head -80
	return 0
}

# --- over TLS (sipsecured): the TLS fast path, against nua ---------------------------------------
conf tlsfast sipsecured yes
conf tlsnua sipsecured no
umd_start tlsfast "$WORK/tlsfast.conf" || { not_ok "umd (fast path) started"; finish; }
umd_start tlsnua "$WORK/tlsnua.conf" || { not_ok "umd (options_fast_path = no) started"; finish; }
check "options_fast_path = no: umd says every OPTIONS goes through nua" \
	grep -q 'OPTIONS answered through nua: options_fast_path = no' "$WORK/tlsnua.log"
check "... and the default leaves the fast path on" \
	bash -c "! grep -q 'OPTIONS answered through nua\|OPTIONS over TLS answered by nta' '$WORK/tlsfast.log'"
compare tls tlsfast tlsnua --transport tls --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" --dialog

# seam NAME SYMBOL ACTION: umd NAME's umd_seam_hook_calls_total{symbol=SYMBOL,action=ACTION}
seam() {
	curl -s "http://127.0.0.1:$(eval echo "\$HTTP_$1")/metrics" |
		sed -n "s/^umd_seam_hook_calls_total{symbol=\"$2\",action=\"$3\"} //p"
}
# The hooks of the TLS fast path (um/src/seam.h) act only where it is on.
check "fast path: SSL_get_error said \"want read\" for the keep-alives it answered" \
	test "$(seam tlsfast SSL_get_error taken)" -ge 1
check "fast path: SSL_write took sofia-sip's writes (the answers to other OPTIONS)" \
	test "$(seam tlsfast SSL_write taken)" -ge 1
expect_eq "options_fast_path = no: SSL_get_error took no call" 0 "$(seam tlsnua SSL_get_error taken)"
expect_eq "options_fast_path = no: SSL_write took no call" 0 "$(seam tlsnua SSL_write taken)"
check "... and passed sofia-sip's writes" test "$(seam tlsnua SSL_write passed)" -ge 1

# A gateway entry removed while its connection stays open (SIGHUP): 403 and PeerRejected from
# sofia-sip, never a 200 from the fast path.
python3 - "$PORT_tlsfast" "$WORK/gw1.pem" "$WORK/gw1.key" "$WORK/tlsfast.conf" "$UMD_PID_tlsfast" >"$WORK/hup.txt" 2>&1 <<'PY'
import os, signal, socket, ssl, sys, time
port, cert, key, conf, pid = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
ctx.load_cert_chain(cert, key)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=5))
s.settimeout(5)
lp = s.getsockname()[1]
def opt(n):
    s.sendall((f"OPTIONS sips:um@127.0.0.1:{port} SIP/2.0\r\n"
               f"Via: SIP/2.0/TLS 127.0.0.1:{lp};branch=z9hG4bK-hup-{n}\r\n"
               f"From: <sips:gw@gw1.example.test>;tag=hup\r\nTo: <sips:um@um1.example.test>\r\n"
               f"Call-ID: hup-{os.getpid()}-{n}\r\nCSeq: {n} OPTIONS\r\nMax-Forwards: 70\r\n"
               f"Content-Length: 0\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65535)
    print(buf.split(b"\r\n")[0].decode(), flush=True)
opt(1)
text = open(conf).read().replace("address = 127.0.0.1", "address = 192.0.2.77")
open(conf, "w").write(text)
os.kill(pid, signal.SIGHUP)
time.sleep(1.5)
opt(2)
PY
check "a keep-alive from gw1 over TLS: 200" bash -c "head -1 '$WORK/hup.txt' | grep -q 'SIP/2.0 200'"
check "after a SIGHUP moved gw1 elsewhere, the same connection's keep-alive: 403" \
	bash -c "sed -n 2p '$WORK/hup.txt' | grep -q 'SIP/2.0 403'"
check "... logged PeerRejected" bash -c "grep '\"event_id\":1021' '$WORK/tlsfast.log' | grep -q 'not configured for any gateway'"
umd_stop tlsfast
expect_eq "umd (fast path) exits 0" 0 "$UMD_RC"
umd_stop tlsnua

# Keep-alives answered before sofia-sip reads them still count as traffic for idle_seconds:
# a connection that sends one a second outlives idle_seconds (5), an idle one does not.
conf idle sipsecured yes
sed -i 's/^handshake_seconds = 2$/handshake_seconds = 2\nidle_seconds = 5/' "$WORK/idle.conf"
umd_start idle "$WORK/idle.conf" || { not_ok "umd (idle_seconds 5) started"; finish; }
python3 - "$PORT_idle" "$WORK/gw1.pem" "$WORK/gw1.key" >"$WORK/idle.txt" 2>&1 <<'PY'
import os, socket, ssl, sys, time
port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
ctx.load_cert_chain(cert, key)
def conn():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5))
    s.settimeout(5)
    return s
busy, idle = conn(), conn()
lp = busy.getsockname()[1]
ok = 0
for n in range(1, 10):  # 9 keep-alives, one a second: past idle_seconds
    busy.sendall((f"OPTIONS sips:um@127.0.0.1:{port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/TLS 127.0.0.1:{lp};branch=z9hG4bK-idle-{n}\r\n"
                  f"From: <sips:gw@gw1.example.test>;tag=idle\r\nTo: <sips:um@um1.example.test>\r\n"
                  f"Call-ID: idle-{os.getpid()}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n").encode())
    if busy.recv(65535).startswith(b"SIP/2.0 200"):
        ok += 1
    time.sleep(1)
print("answered", ok)
try:
    print("idle connection", "closed" if idle.recv(1) == b"" else "open")
except (ssl.SSLError, OSError) as e:
    print("idle connection closed", type(e).__name__)
PY
check "a connection sending keep-alives outlives idle_seconds: all 9 answered on it" grep -q '^answered 9$' "$WORK/idle.txt"
check "... while an idle one beside it is closed" grep -q '^idle connection closed' "$WORK/idle.txt"
umd_stop idle

# --- unsecured: UDP and TCP (nta's fast path, default_leg_cb), against nua ----------------------
conf udpfast unsecured yes
conf udpnua unsecured no
umd_start udpfast "$WORK/udpfast.conf" || { not_ok "umd unsecured (fast path) started"; finish; }
umd_start udpnua "$WORK/udpnua.conf" || { not_ok "umd unsecured (through nua) started"; finish; }
compare udp udpfast udpnua --transport udp
compare tcp udpfast udpnua --transport tcp
# From an address no gateway entry has: 403 both ways.
compare udp-stranger udpfast udpnua --transport udp --bind 127.0.0.2 --only plain,to-tag,require
umd_stop udpfast
umd_stop udpnua

finish
