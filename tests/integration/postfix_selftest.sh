#!/bin/bash
# The SMTP hub harness tested without umd (tests/integration/postfix.sh): a private Postfix on a
# free loopback port that takes mail only over STARTTLS, with a client certificate checked by
# its SHA-256 fingerprint, and delivers into a Maildir under the test's directory;
# tests/integration/smtptry.py (python3's smtplib) is the client. Then a second private Postfix
# relays to the hub over STARTTLS (the benchmark's peer, tests/bench/smtp_bench). Everything
# started is stopped at the end (and checked to be gone); the system's Postfix is not touched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix.sh"
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY
for tool in postfix postconf openssl python3; do
	command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done
if [ "$(id -u)" != 0 ]; then
	echo "skipped: postfix start needs root"
	exit 77
fi
HERE=$(cd "$(dirname "$0")" && pwd)
START=$SECONDS
HUB=hub.example.test
C=$WORK/certs
mkdir -p "$C"
for n in hub:$HUB um:um1.example.test other:um1.example.test relay:relay.example.test; do
	postfix_cert "$C/${n%%:*}" "${n#*:}" >"$WORK/cert.log" 2>&1 || { cat "$WORK/cert.log"; exit 1; }
done
UM_FP=$(postfix_fingerprint "$C/um.pem")
RELAY_FP=$(postfix_fingerprint "$C/relay.pem")
ETC_BEFORE=$(find /etc/postfix -type f -printf '%p %T@ %s\n' 2>/dev/null | sort | md5sum)
SPOOL_BEFORE=$(find /var/spool/postfix -maxdepth 1 -printf '%p %T@\n' 2>/dev/null | sort | md5sum)

check "the hub starts (client certificate required, user and 1001 have mailboxes)" \
	postfix_hub_start hub "$HUB" "$C/hub.pem" "$C/hub.key" --ccert "$UM_FP" --ccert "$RELAY_FP" \
	--mailbox user --mailbox 1001 --reject bad@example.test
PORT=$(postfix_port hub)
MASTER=$(postfix_master_pid hub)
check "its master runs" kill -0 "$MASTER"
check "it listens on 127.0.0.1:$PORT only, never on port 25" \
	test "$(ss -Htlnp | grep "pid=$MASTER," | awk '{print $4}' | sort -u)" = "127.0.0.1:$PORT"
check "its log is its own file" grep -q "daemon started -- version" "$(postfix_log hub)"

# try DESCRIPTION WANT_RESULT WANT_STAGE WANT_CODE_PATTERN smtptry-args...
try() {
	local d=$1 result=$2 stage=$3 code=$4 got
	shift 4
	python3 "$HERE/smtptry.py" --port "$PORT" --server-name "$HUB" --ca "$C/hub.pem" "$@" \
		>"$WORK/try.json" 2>"$WORK/try.err"
	got=$(jq -r '"\(.result) \(.stage) \(.code)"' "$WORK/try.json" 2>/dev/null)
	if [ "${got%% *}" = "$result" ] && [ "$(echo "$got" | cut -d' ' -f2)" = "$stage" ] &&
		echo "${got##* }" | grep -Eq "^($code)$"; then
		ok "$d ($(jq -r 'if .code then "\(.code) \(.text)" elif .result == "error" then .text else .result end' "$WORK/try.json" | head -c 100))"
	else
		not_ok "$d: want $result $stage $code, got [$got]"
		sed 's/^/    /' "$WORK/try.json" "$WORK/try.err" | head -5
	fi
}

# --- delivery -----------------------------------------------------------------------------------
try "the right client certificate: the message is accepted" sent "done" null \
	--cert "$C/um.pem" --key "$C/um.key" --rcpt user@example.test --subject "good one"
check "... and lands in user's Maildir" postfix_wait hub user 1 10
sleep 0.5
expect_eq "... exactly once" 1 "$(postfix_count hub user)"
expect_eq "the delivered message is the one sent" "good one 0" "$(postfix_header hub user Subject)"
RECEIVED=$(postfix_message hub user | python3 -c '
import email, sys
m = email.message_from_binary_file(sys.stdin.buffer)
print(" ".join(" ".join(m.get_all("Received")).split()))')
check "its Received header names TLS and the hub" \
	sh -c 'echo "$1" | grep -q "by '"$HUB"'" && echo "$1" | grep -Eq "\(using TLSv1\.[23]"' _ "$RECEIVED"
check "... and that the client signed with its certificate (the hub asked for one)" \
	sh -c 'echo "$1" | grep -q "client-signature ECDSA"' _ "$RECEIVED"

# --- what the hub refuses -------------------------------------------------------------------------
try "a client certificate with another fingerprint is refused" refused rcpt 554 \
	--cert "$C/other.pem" --key "$C/other.key" --rcpt user@example.test
try "no client certificate is refused" refused rcpt 554 --rcpt user@example.test
try "MAIL without STARTTLS is refused (smtpd_tls_security_level = encrypt)" refused mail 530 \
	--plain --rcpt user@example.test
try "the refused recipient gets 5xx" refused rcpt 550 \
	--cert "$C/um.pem" --key "$C/um.key" --rcpt bad@example.test
try "an unknown recipient gets 550" refused rcpt 550 \
	--cert "$C/um.pem" --key "$C/um.key" --rcpt nobody-here@example.test
try "another domain is not relayed" refused rcpt 554 \
	--cert "$C/um.pem" --key "$C/um.key" --rcpt user@elsewhere.test
try "the server certificate names the hub's FQDN (verified with it as the CA)" sent "done" null \
	--cert "$C/um.pem" --key "$C/um.key" --rcpt 1001@example.test
expect_eq "... and only that name" '["hub.example.test"]' "$(jq -c .peer_names "$WORK/try.json")"
try "... so a client that wants another name refuses it" error starttls null \
	--server-name other.example.test --cert "$C/um.pem" --key "$C/um.key" --rcpt user@example.test
check "1001's message is delivered" postfix_wait hub 1001 1 10
sleep 0.5
expect_eq "nothing was delivered for the refused attempts" 1 "$(postfix_count hub user)"

# --- a Postfix relay to the hub (the benchmark's peer) ----------------------------------------------
check "a relay instance starts (its queue held back)" \
	postfix_relay_start relay hub "$C/relay.pem" "$C/relay.key"
for i in 1 2 3; do
	printf 'From: voicemail@example.test\nTo: user@example.test\nSubject: relayed %s\n\nhello\n' "$i" |
		sendmail -C "$(postfix_dir relay)/etc" -f voicemail@example.test -i user@example.test \
			2>>"$WORK/sendmail.err" || not_ok "sendmail $i: $(cat "$WORK/sendmail.err")"
done
sleep 1
expect_eq "held: nothing reached the hub yet" 1 "$(postfix_count hub user)"
check "released, the relay sends them over STARTTLS" postfix_relay_release relay
check "... and the hub delivers all three" postfix_wait hub user 4 20
check "the relay verified the hub's certificate" \
	grep -q "Verified TLS connection established to 127.0.0.1\[127.0.0.1\]:$PORT" "$(postfix_log relay)"
# the hub takes only the listed fingerprints: delivery is the proof the relay presented its own
expect_eq "the relayed messages are the three sent" "relayed 1,relayed 2,relayed 3" \
	"$(for i in 2 3 4; do postfix_header hub user Subject $i; done | sort | paste -sd, -)"

# --- stop ---------------------------------------------------------------------------------------------
RMASTER=$(postfix_master_pid relay)
postfix_stop relay
postfix_stop hub
check "the hub's master is gone" sh -c "! kill -0 $MASTER 2>/dev/null"
check "the relay's master is gone" sh -c "! kill -0 $RMASTER 2>/dev/null"
check "no process of either instance is left" \
	sh -c "! ps -eo args= | grep -v grep | grep -q -- '$WORK/postfix-'"
expect_eq "/etc/postfix untouched" "$ETC_BEFORE" \
	"$(find /etc/postfix -type f -printf '%p %T@ %s\n' 2>/dev/null | sort | md5sum)"
expect_eq "/var/spool/postfix untouched" "$SPOOL_BEFORE" \
	"$(find /var/spool/postfix -maxdepth 1 -printf '%p %T@\n' 2>/dev/null | sort | md5sum)"
echo "took $((SECONDS - START)) s"
finish
