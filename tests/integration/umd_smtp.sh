#!/bin/bash
# umd submits voice messages to a real hub: a
# private Postfix (postfix.sh) that takes mail only over STARTTLS and only from umd's SMTP
# certificate (checked by its SHA-256 fingerprint), delivering into Maildirs. A call recorded
# through umd arrives once, its WAV byte for byte the spool's; an unknown mailbox fails the
# message at once; a hub that is down, that refuses umd's certificate, whose certificate names
# another host or is not the pinned one, or that offers no STARTTLS gets nothing and the
# message waits, saying why; kill -9 mid-submission delivers every message at most twice, with
# one Message-ID; `umd queue` lists, shows and retries.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
. "$(dirname "$0")/postfix.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
RTP_PEER=${RTP_PEER:?set RTP_PEER to tests/tools rtp_peer}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
SUITE=AES_CM_128_HMAC_SHA1_80
siptls() { python3 "$D/siptls.py" "$@"; }
audio() { python3 "$D/audio.py" "$@"; }
q() { "$UMD" queue -c "$WORK/umd.conf" "$@"; }
spool_count() { find "$S-spool/$1" -maxdepth 1 -name '*.json' | wc -l; }
# has PATTERN COMMAND...: the command's output matches PATTERN (grep -E)
has() { "${@:2}" | grep -q -E -- "$1"; }
# wait_for COMMAND...: the command succeeds within 30 s
wait_for() { for _ in $(seq 300); do "$@" && return 0; sleep 0.1; done; return 1; }

# --- certificates: the gateway's, the hub's (a root of umd's store), umd's SMTP one ----------------
"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
GWT=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$GWT.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$GWT.key" "$WORK/gw1.key"
postfix_cert "$WORK/hub" hub.example.test
postfix_cert "$WORK/other" other.example.test
# An administrator's certificate for SMTP: certcore's SMTP rules choose it for um1.example.test.
"$CERTCTL" --store "$S" new --domain um1.example.test --services SMTP --key ec256 >/dev/null
"$CERTCTL" --store "$S" trust add "$WORK/hub.pem" --type registry >/dev/null
"$CERTCTL" --store "$S" trust add "$WORK/other.pem" --type registry >/dev/null
SMTPT=$("$CERTCTL" --store "$S" select --service SMTP --fqdn um1.example.test --format json | jq -r .selected)
UMFP=$(postfix_fingerprint "$S/certs/$SMTPT.pem")
# A second certificate, not enabled for SMTP yet (enabled later: picked up without a restart).
sleep 1
"$CERTCTL" --store "$S" new --domain um1.example.test --services IIS --key ec256 >/dev/null
SMTPT2=$("$CERTCTL" --store "$S" get --format json | jq -r ".[] | select(.Thumbprint != \"$SMTPT\" and (.CertificateDomains | index(\"um1.example.test\"))) | .Thumbprint" | head -1)
UMFP2=$(postfix_fingerprint "$S/certs/$SMTPT2.pem")
mkdir -p "$S-greetings"
audio tone "$S-greetings/default.wav" 500 1 >/dev/null

check "the hub starts (STARTTLS, umd's certificate only)" \
	postfix_hub_start hub hub.example.test "$WORK/hub.pem" "$WORK/hub.key" --ccert "$UMFP" \
	--ccert "$UMFP2" --mailbox 1001 --mailbox operator --plain-port
HUBPORT=$(postfix_port hub)

PORT=$(free_port)
HTTP=$(free_port)
MEDIA_LO=$((20000 + (RANDOM % 400) * 100))
# conf SMTP_LINES: umd's configuration with this [smtp] section
conf() {
	umd_conf "$WORK/umd.conf" secured "$PORT" "$S" "$HTTP" <<CONF
media_ports = $MEDIA_LO-$((MEDIA_LO + 99))
silence_seconds = 3
max_message_seconds = 20

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem

[smtp]
from = voicemail@example.test
${2:-recipient = %u@example.test}
$1
CONF
}
conf "smarthost = 127.0.0.1:$HUBPORT
hub_fqdn = hub.example.test"
check "umd starts with [smtp]" umd_start a "$WORK/umd.conf"
# smtp_event ID THUMBPRINT: umd logged event ID for service SMTP with this certificate
smtp_event() { events a "$1" | jq -s -e "any(.[]; .service == \"SMTP\" and .thumbprint == \"$2\")" >/dev/null; }
smtp_in_use() { smtp_event 1000 "$SMTPT"; }
check "umd's SMTP certificate is the administrator's (CertificateInUse, service SMTP)" smtp_in_use

# --- a call, recorded and delivered -----------------------------------------------------------------
RP=$(free_port)
siptls --port "$PORT" --cert "$WORK/gw1.pem" --key "$WORK/gw1.key" --from-user 1002 \
	--to-user 1001 call --sdp savp --rtp-port "$RP" --te \
	--sdes-key WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz --until-bye 30 >"$WORK/call.sip" 2>&1 &
CALL=$!
for _ in $(seq 100); do grep -q "^a=crypto" "$WORK/call.sip" && break; sleep 0.1; done
UPORT=$(awk '/^m=audio/ {print $2}' "$WORK/call.sip")
UKEY=$(sed -n 's/^a=crypto:[0-9]* [A-Z0-9_]* inline:\([^ |]*\).*/\1/p' "$WORK/call.sip")
"$RTP_PEER" --to "$UPORT" --bind "$RP" --suite $SUITE --tx-key WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz \
	--rx-key "$UKEY" silence 1.6 tone 700 2 hash silence 1 >"$WORK/peer.out" 2>&1
wait $CALL
check "the message is submitted (VoiceMessageSubmitted)" wait_event a 1040
check "it is delivered to 1001's Maildir, once" postfix_wait hub 1001 1
sleep 1
expect_eq "one message in 1001's Maildir" 1 "$(postfix_count hub 1001)"
ID=$(events a 1040 | head -1 | jq -r .id)
expect_eq "the spool has it in sent/, nothing in new/" "1 0" "$(spool_count sent) $(spool_count new)"
expect_eq "Message-ID is <ID@um1.example.test>" "<$ID@um1.example.test>" "$(postfix_header hub 1001 Message-ID)"
postfix_message hub 1001 >"$WORK/delivered.eml"
python3 - "$WORK/delivered.eml" "$S-spool/sent/$ID.wav" >"$WORK/mime.out" 2>&1 <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
assert m['From'].addresses[0].addr_spec == 'voicemail@example.test', m['From']
assert m['To'].addresses[0].addr_spec == '1001@example.test', m['To']
assert m['Subject'].startswith('Voice message from 1002'), m['Subject']
assert m.get_content_type() == 'multipart/mixed', m.get_content_type()
parts = list(m.iter_attachments())
assert len(parts) == 1 and parts[0].get_content_type() == 'audio/wav', parts
assert parts[0].get_payload(decode=True) == open(sys.argv[2], 'rb').read(), 'WAV differs'
text = m.get_body(('plain',)).get_content()
assert 'From:     1002' in text and 'To:       1001' in text, text
print('ok')
PY
check "headers, text part and the WAV byte for byte the spool's" grep -qx ok "$WORK/mime.out"
ev_submitted() { events a 1040 | head -1 | jq -s -e ".[0].recipient == \"1001@example.test\" and .[0].thumbprint == \"$SMTPT\" and (.[0].hub | endswith(\":$HUBPORT\"))" >/dev/null; }
check "the event names the recipient, the hub and umd's certificate" ev_submitted
show_sent() { q show "$ID" >"$WORK/show.out" && grep -q '^State *: sent' "$WORK/show.out" && grep -q '^Response *: 250' "$WORK/show.out"; }
check "umd queue show: sent, the hub's 250" show_sent

# drop MSGID TO [STARTED]: a message dropped into new/ (as an administrator may), ID.json last
drop() {
	cp "$S-spool/sent/$ID.wav" "$S-spool/new/$1.wav"
	jq --arg id "$1" --arg to "$2" --arg started "${3:-}" \
		'.id = $id | .to = $to | if $started != "" then .started = $started else . end' \
		"$S-spool/sent/$ID.json" >"$S-spool/new/.$1.json"
	mv "$S-spool/new/.$1.json" "$S-spool/new/$1.json"
}

# --- another certificate enabled for SMTP: used without a restart ------------------------------------
"$CERTCTL" --store "$S" enable "$SMTPT2" --services SMTP >/dev/null
kill -HUP "$UMD_PID_a"
smtp_changed() { smtp_event 1001 "$SMTPT2"; }
check "a newer certificate enabled for SMTP: CertificateChanged (SMTP) after SIGHUP" wait_for smtp_changed
drop 20261202T000000Z-00000005 sip:1001@um1.example.test
sent_with_new() { wait_for has "\"id\":\"20261202T000000Z-00000005\".*\"thumbprint\":\"$SMTPT2\"" events a 1040 && return 0; events a 1040 | tail -2; events a 1001; return 1; }
check "... the next message goes out with it" sent_with_new
check "... delivered" postfix_wait hub 1001 2

# --- an unknown mailbox: failed/ at once, with the reason --------------------------------------------
drop 20261202T000000Z-00000001 sip:9999@um1.example.test
check "unknown mailbox: VoiceMessageFailed" wait_event a 1042
check "... the reason is the hub's 550 5.1.1" has '550 5.1.1' events a 1042
check "... in failed/ with ID.error" test -s "$S-spool/failed/20261202T000000Z-00000001.error"
check "... umd queue list says failed" has '20261202T000000Z-00000001 +failed' q list

# --- queued longer than max_queue_days: failed/, never deleted ----------------------------------------
drop 20261101T000000Z-00000007 sip:1001@um1.example.test 2026-11-01T00:00:00Z
expired() { wait_for has '"id":"20261101T000000Z-00000007".*queued more than 5 days' events a 1042; }
check "a message older than max_queue_days: VoiceMessageFailed, queued more than 5 days" expired
check "... kept in failed/ with its audio" test -s "$S-spool/failed/20261101T000000Z-00000007.wav"

# --- the hub down: deferred, then delivered on retry ------------------------------------------------
postfix_stop hub
drop 20261202T000000Z-00000002 sip:1001@um1.example.test
check "hub down: VoiceMessageDeferred" wait_event a 1041
check "... reason: the hub cannot be reached" has "\"reason\":\"hub 127.0.0.1:$HUBPORT" events a 1041
json_deferred() { q --json list | jq -e 'any(.[]; .id == "20261202T000000Z-00000002" and .state == "deferred" and .attempts == 1 and (.last_error | length > 0))' >/dev/null; }
check "... umd queue --json: deferred, one attempt, the error" json_deferred
check "the hub back" postfix_run hub
check "umd queue retry" q retry 20261202T000000Z-00000002
check "... delivered" postfix_wait hub 1001 2
in_sent() { for _ in $(seq 50); do [ -e "$S-spool/sent/$1.json" ] && return 0; sleep 0.1; done; return 1; }
check "... in sent/" in_sent 20261202T000000Z-00000002
umd_stop a

# restart_with SMTP_LINES: umd again, with another [smtp]
restart_with() {
	conf "$1" "${3:-}"
	rm -f "$WORK/a.log"
	umd_start a "$WORK/umd.conf"
	# What the last round deferred waits for its next attempt: asked for now.
	[ -z "${2:-}" ] || q retry "$2" >/dev/null
}
# nothing_sent ID LABEL: the message is deferred with a reason matching LABEL, still in new/
deferred_because() {
	wait_event a 1041 && events a 1041 | grep "\"id\":\"$1\"" | tail -1 | grep -q -E "$2" &&
		[ -e "$S-spool/new/$1.json" ] && return 0
	events a 1041 | tail -2
	grep -v '"event_id"' "$WORK/a.log" | tail -5
	return 1
}

# --- a hub that refuses umd's certificate -------------------------------------------------------------
check "a second hub accepting another certificate" \
	postfix_hub_start picky hub.example.test "$WORK/hub.pem" "$WORK/hub.key" \
	--ccert "$(postfix_fingerprint "$WORK/other.pem")" --mailbox 1001
drop 20261202T000000Z-00000003 sip:1001@um1.example.test
restart_with "smarthost = 127.0.0.1:$(postfix_port picky)
hub_fqdn = hub.example.test"
check "umd's certificate refused: deferred with the hub's 554 5.7.1, still queued" \
	deferred_because 20261202T000000Z-00000003 '554 5.7.1'
expect_eq "... nothing delivered by the picky hub" 0 "$(postfix_count picky 1001)"
umd_stop a
postfix_stop picky

# --- the hub's certificate names another host -------------------------------------------------------
restart_with "smarthost = 127.0.0.1:$HUBPORT
hub_fqdn = mail.example.test" 20261202T000000Z-00000003
check "hub certificate for another name: deferred (hub_verify), still queued" \
	deferred_because 20261202T000000Z-00000003 "certificate"
metrics() { curl -s "http://127.0.0.1:$HTTP/metrics"; }
check "... metrics count it as hub_verify" has 'umd_smtp_failures_total\{reason="hub_verify",outcome="deferred"\} [1-9]' metrics
umd_stop a

# --- direct trust: a wrong pin, then the right one ------------------------------------------------------
restart_with "smarthost = 127.0.0.1:$HUBPORT
hub_certificate = $WORK/other.pem" 20261202T000000Z-00000003
check "a wrong pin: deferred, the pinned and the presented certificate named" \
	deferred_because 20261202T000000Z-00000003 "not the pinned one"
umd_stop a
"$CERTCTL" --store "$S" trust remove "$(thumb_of_pem "$WORK/hub.pem")" >/dev/null
restart_with "smarthost = 127.0.0.1:$HUBPORT
hub_certificate = $WORK/hub.pem" 20261202T000000Z-00000003
check "the right pin (the hub no longer a trusted root): delivered" postfix_wait hub 1001 4
umd_stop a

# --- no STARTTLS: nothing in plaintext ----------------------------------------------------------------
drop 20261202T000000Z-00000004 sip:1001@um1.example.test
restart_with "smarthost = 127.0.0.1:$(postfix_plain_port hub)
hub_certificate = $WORK/hub.pem"
check "a hub without STARTTLS: deferred, nothing sent in plaintext" \
	deferred_because 20261202T000000Z-00000004 "STARTTLS"
# Postfix logs each session's commands on disconnect: a MAIL outside TLS would be mail=1 without
# starttls=1.
no_plain_mail() { ! grep 'disconnect from' "$(postfix_log hub)" | grep 'mail=' | grep -qv 'starttls=1'; }
check "... the hub's log shows no MAIL outside TLS" no_plain_mail
umd_stop a

# --- kill -9 during submission: every message delivered, at most twice, one Message-ID each ----------
BEFORE=$(postfix_count hub 1001)
for i in $(seq 10 39); do drop "20261202T000000Z-000000$i" sip:1001@um1.example.test; done
restart_with "smarthost = 127.0.0.1:$HUBPORT
hub_certificate = $WORK/hub.pem"
wait_event a 1040 2
kill -KILL "$UMD_PID_a"
wait "$UMD_PID_a" 2>/dev/null
UMD_PID_a=
restart_with "smarthost = 127.0.0.1:$HUBPORT
hub_certificate = $WORK/hub.pem"
# The message deferred by the plaintext hub waits for its next attempt: asked for now.
q retry 20261202T000000Z-00000004 >/dev/null
check "after kill -9 and a restart: the 31 queued messages all delivered" \
	postfix_wait hub 1001 $((BEFORE + 31)) 90
sleep 2
python3 - "$(postfix_maildir hub 1001)" >"$WORK/dups.out" 2>&1 <<'PY'
import collections, email, os, sys
ids = collections.Counter()
for sub in ('new', 'cur'):
    d = os.path.join(sys.argv[1], sub)
    for f in os.listdir(d):
        ids[email.message_from_binary_file(open(os.path.join(d, f), 'rb'))['Message-ID']] += 1
want = ['<20261202T000000Z-000000%02d@um1.example.test>' % i for i in range(10, 40)] + \
       ['<20261202T000000Z-00000004@um1.example.test>']
missing = [w for w in want if ids[w] == 0]
over = [k for k, v in ids.items() if v > 2]
print('missing', missing, 'more than twice', over, 'twice', [k for k, v in ids.items() if v == 2])
sys.exit(1 if missing or over else 0)
PY
check "... each Message-ID at most twice, none missing" grep -q 'missing \[\] more than twice \[\]' "$WORK/dups.out"
sed 's/^/    /' "$WORK/dups.out"
expect_eq "new/ is empty" 0 "$(spool_count new)"
check "metrics: the queue is empty" has '^umd_smtp_queue_messages 0' metrics
check "metrics: submissions counted" has '^umd_smtp_submissions_total [1-9]' metrics
umd_stop a
expect_eq "umd stops cleanly" 0 "$UMD_RC"

# --- the directory down: the message waits, never to the fallback ------------------------------------
drop 20261202T000000Z-00000006 sip:1001@um1.example.test
restart_with "smarthost = 127.0.0.1:$HUBPORT
hub_certificate = $WORK/hub.pem" "" "directory_url = ldaps://127.0.0.1:$(free_port)
directory_base = dc=example,dc=test
directory_filter = (telephoneNumber=%u)
fallback_recipient = operator@example.test"
check "directory unreachable: deferred (recipient lookup), still queued" \
	deferred_because 20261202T000000Z-00000006 "recipient lookup"
check "... metrics count it as directory" has 'umd_smtp_failures_total\{reason="directory",outcome="deferred"\} [1-9]' metrics
expect_eq "... nothing for the fallback mailbox" 0 "$(postfix_count hub operator)"
umd_stop a

# --- configuration errors name file:line ----------------------------------------------------------------
expect_fail "umd queue show of an unknown message" 1 "no message 2099" q show 20991202T000000Z-00000000
conf "smarthost = 127.0.0.1:$HUBPORT
from = not an address"
expect_fail "a bad from address is refused at start" 1 "umd.conf:[0-9]+: from \"not an address\"" "$UMD" -n -c "$WORK/umd.conf"

finish
