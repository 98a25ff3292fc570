#!/bin/bash
# Smoke test of the benchmark tools (ctest integration_bench_smoke): siptls_load for about two
# seconds against a real umd (sipsecured, the gateway's self-signed certificate pinned) in
# each mode, and store_bench on a tiny store. It asserts only that requests were answered and
# that the output is well-formed; never a time (tests/bench/run prints the figures).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../integration/lib.sh"
. "$HERE/../integration/pki.sh"
. "$HERE/../integration/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
SIPTLS_LOAD=${SIPTLS_LOAD:?set SIPTLS_LOAD to the siptls_load binary}
STORE_BENCH=${STORE_BENCH:-}
export UMEDGE_CA_BUNDLE=""

S="$WORK/store"
"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
GT=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$GT.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$GT.key" "$WORK/gw1.key"
"$CERTCTL" --store "$S" new --domain um1.example.test --key ec256 --services UM >/dev/null
PORT=$(free_port)
umd_conf "$WORK/umd.conf" sipsecured "$PORT" "$S" "" <<CONF
[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem
CONF
check "umd starts" umd_start a "$WORK/umd.conf"

# load MODE OUT [options]: one run of the generator, its JSON in OUT
load() {
	local mode=$1 out=$2
	shift 2
	"$SIPTLS_LOAD" --port "$PORT" --mode "$mode" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" \
		--label "smoke $mode" "$@" >"$out" 2>"$out.err"
}
# answered OUT MIN: the JSON says at least MIN answered, and no errors
answered() {
	jq -e --argjson min "$2" '.ok >= $min and .errors == 0' "$1" >/dev/null
}

check "handshake mode runs for 2 s" load handshake "$WORK/a.json" --duration 2 --concurrency 4
check "... and its requests were answered, without errors" answered "$WORK/a.json" 1
check "... it reports TLS 1.3 and the server's EC key" jq -e '.tls == "TLSv1.3" and .server_key == "EC-256"' "$WORK/a.json"
check "... with latency percentiles" jq -e '.p50_ms > 0 and .p99_ms >= .p50_ms and .rps > 0' "$WORK/a.json"
check "... and a human line on stderr" grep -q "req/s" "$WORK/a.json.err"
check "persistent mode runs for 2 s over 4 connections" load persistent "$WORK/b.json" --duration 2 --concurrency 4
check "... and its requests were answered, without errors" answered "$WORK/b.json" 1
check "a bounded count stops the handshake mode" load handshake "$WORK/n.json" --count 10 --concurrency 2 --duration 30
check "... after exactly 10 answered" jq -e '.ok == 10' "$WORK/n.json"
check "hold mode keeps 20 connections up" load hold "$WORK/h.json" --connections 20 --concurrency 5 --duration 1
check "... all of them held" jq -e '.held == 20 and .errors == 0' "$WORK/h.json"
"$SIPTLS_LOAD" --port "$PORT" --mode handshake --duration 1 --concurrency 2 >"$WORK/nc.json" 2>/dev/null
check "without a client certificate umd answers nothing (mutual TLS)" jq -e '.ok == 0 and .errors > 0' "$WORK/nc.json"
expect_fail "a non-loopback target is refused" 2 "loopback addresses only" "$SIPTLS_LOAD" --host 192.0.2.1 --port 5061 --duration 1
if [ -n "$STORE_BENCH" ]; then
	check "store_bench on a store of 20 certificates" bash -c "'$STORE_BENCH' --sizes 20 --kind both --repeat 1 --adds 1 --bundle '' --dir '$WORK' >'$WORK/store.json'"
	check "... both kinds: every certificate a candidate" jq -s -e 'length == 2 and all(.candidates == 20 and .problems == 0)' "$WORK/store.json"
fi
# media_load (when given): a few calls with media; only that they were answered, ended and
# recorded is checked, never a time (tests/bench/media_bench prints the figures).
if [ -n "${MEDIA_LOAD:-}" ]; then
	# messages DIR N: N messages committed in DIR (the spool's writer finishes after the call)
	messages() {
		for _ in $(seq 100); do
			[ "$(find "$1" -name '*.json' 2>/dev/null | wc -l)" -ge "$2" ] && return 0
			sleep 0.1
		done
		echo "$(find "$1" -name '*.json' 2>/dev/null | wc -l) messages in $1, want $2"
		return 1
	}
	media() {
		local out=$1
		shift
		"$MEDIA_LOAD" --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" --duration 3 \
			--rate 20 --timeout 10 "$@" >"$out" 2>"$out.err"
	}
	check "media_load: 4 SRTP calls for 3 s" media "$WORK/ms.json" --calls 4 --label "smoke srtp"
	check "... all answered and ended by BYE, without errors, media both ways" jq -e '.media == "AES_CM_128_HMAC_SHA1_80" and .answered == 4 and .completed == 4 and .errors == 0 and .srtp_failures == 0 and .packets_sent > 0 and .packets_received > 0' "$WORK/ms.json"
	check "... and umd recorded a message for each" messages "$S-spool/new" 4
	check "media_load: 2 RTP calls ended by '#' (RFC 4733)" media "$WORK/mr.json" --calls 2 --rtp --end dtmf --label "smoke rtp"
	check "... answered, and umd hung up both" jq -e '.media == "RTP" and .answered == 2 and .completed == 2 and .umd_hung_up == 2 and .errors == 0 and .packets_received > 0' "$WORK/mr.json"
	check "... and recorded them" messages "$S-spool/new" 6
	check "media_load --srtp-floor prints its figures" bash -c "'$MEDIA_LOAD' --srtp-floor --packets 2000 --floor-contexts 4 >'$WORK/floor.json' 2>/dev/null"
	check "... protect, unprotect, send+recv and the floor per packet" jq -e '.one.protect_ns > 0 and .many.unprotect_ns > 0 and .many.udp_send_recv_ns > 0 and .srtp_floor_ns_per_packet > .rtp_floor_ns_per_packet' "$WORK/floor.json"
fi
umd_stop a
expect_eq "umd stops cleanly" 0 "$UMD_RC"
finish
