#!/bin/bash
# umd's expiry clock and automatic renewal, with the clock moved by libfaketime (a real umd,
# a real store; only the time is not today's), and umd in unsecured mode against sofia-sip's
# own sip-options.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
# libfaketime preloads before the sanitizer runtime; tell ASan that is expected.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
S="$WORK/store"
cc() { "$CERTCTL" --store "$S" "$@"; }
LIBFT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
ft() { # ft OFFSET: run umd with the clock moved by OFFSET ("+1d"), not moving faster
	echo "LD_PRELOAD=$LIBFT FAKETIME=$1 FAKETIME_DONT_RESET=1"
}

# A UM certificate with 10 days left, and renewal off so it stays the one in use.
T=$(cc new --domain um1.example.test --services UM --days 10 --key ec256 | awk 'NR==3 {print $1}')
PORT=$(free_port)
umd_conf "$WORK/umd.conf" sipsecured "$PORT" "$S" "" <<CONF
renew_self_signed_days = 0
[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
CONF
# the key is at the end of [umd]: move it above the gateway section
sed -i '/^renew_self_signed_days/d' "$WORK/umd.conf"
sed -i "s/^handshake_seconds = 2/handshake_seconds = 2\nrenew_self_signed_days = 0/" "$WORK/umd.conf"

check "day 0: umd starts" umd_start d0 "$WORK/umd.conf"
check "day 0: CertificateExpiring at start" wait_event d0 1010
check "... with days_left 10 for the certificate in use" bash -c "grep '\"event_id\":1010' '$WORK/d0.log' | jq -e '.days_left == 10 and .thumbprint == \"$T\" and .service == \"UM\"'"
umd_stop d0
umd_start d0b "$WORK/umd.conf" >/dev/null
sleep 1
expect_eq "day 0 again (a restart): no second event the same UTC day" 0 "$(events d0b 1010 | wc -l)"
umd_stop d0b
for day in 1 2 3; do
	# shellcheck disable=SC2046
	umd_start "d$day" "$WORK/umd.conf" $(ft "+${day}d") >/dev/null
	check "day $day: one CertificateExpiring" wait_event "d$day" 1010
	expect_eq "day $day: days_left $((10 - day))" "$((10 - day))" "$(events "d$day" 1010 | tail -1 | jq -r .days_left)"
	expect_eq "day $day: exactly one" 1 "$(events "d$day" 1010 | wc -l)"
	umd_stop "d$day"
done

# --- the clock running fast in one process: a day every 4 seconds --------------------------------
# shellcheck disable=SC2046
umd_start fast "$WORK/umd.conf" LD_PRELOAD=$LIBFT FAKETIME="+4d x21600" FAKETIME_DONT_RESET=1 >/dev/null
sleep 13
umd_stop fast
n=$(events fast 1010 | wc -l)
check "fast clock: an event for each new day ($n)" test "$n" -ge 2
check "fast clock: never two the same day" bash -c "events() { grep '\"event_id\":1010' '$WORK/fast.log'; }; test \$(events | jq -r .time | cut -c1-10 | sort | uniq -d | wc -l) -eq 0"
check "fast clock: days_left falls by one each day" bash -c "grep '\"event_id\":1010' '$WORK/fast.log' | jq -r .days_left | awk 'NR > 1 && \$1 != prev - 1 {exit 1} {prev = \$1}'"

# --- after NotAfter: Exchange's one exception. The certificate in use has merely expired and
# nothing else is eligible: umd keeps serving it, across restarts (state/ keeps its thumbprint),
# with CertificateExpired once a day; it makes no new key the gateways would refuse.
# shellcheck disable=SC2046
umd_start late "$WORK/umd.conf" $(ft "+12d") >/dev/null
check "after expiry, nothing else eligible: CertificateExpired (1011)" wait_event late 1011
check "... for the certificate last in use, which is still the one in use (1000)" bash -c "grep '\"event_id\":1000' '$WORK/late.log' | jq -e '.thumbprint == \"$T\"' && grep '\"event_id\":1011' '$WORK/late.log' | jq -e '.thumbprint == \"$T\" and .days_expired == 2'"
expect_eq "... and no self-signed certificate is made" 0 "$(events late 1002 | wc -l)"
umd_stop late
# shellcheck disable=SC2046
umd_start late2 "$WORK/umd.conf" $(ft "+13d") >/dev/null
check "a restart the next day: kept again, CertificateExpired again" wait_event late2 1011
check "... still $T" bash -c "grep '\"event_id\":1000' '$WORK/late2.log' | jq -e '.thumbprint == \"$T\"'"
expect_eq "... still no new certificate" 1 "$(cc get --format json | jq length)"
umd_stop late2
# Negative: an expired certificate that was never in use is not kept.
S4="$WORK/store4"
"$CERTCTL" --store "$S4" new --domain um1.example.test --services UM --days 10 --key ec256 >/dev/null
sed -e "s|^store = .*|store = $S4|" "$WORK/umd.conf" >"$WORK/s4.conf"
# shellcheck disable=SC2046
umd_start s4 "$WORK/s4.conf" $(ft "+12d") >/dev/null
check "an expired certificate never in use is not kept: a self-signed one is made (1002)" wait_event s4 1002
umd_stop s4

# --- automatic renewal: only umd's own self-signed certificate --------------------------------------
# An administrator's self-signed certificate (certctl new) near its end is not renewed.
S2="$WORK/store2"
"$CERTCTL" --store "$S2" new --domain um1.example.test --services UM --days 20 --key ec256 >/dev/null
sed -e "s|^store = .*|store = $S2|" -e 's/^renew_self_signed_days = 0/renew_self_signed_days = 30/' "$WORK/umd.conf" >"$WORK/renew.conf"
umd_start r "$WORK/renew.conf"
kill -HUP "$UMD_PID_r"
sleep 2
expect_eq "an administrator's self-signed certificate is not renewed (no 1001)" 0 "$(events r 1001 | wc -l)"
expect_eq "... nor said to be (no 1003, no 1004)" "0 0" "$(events r 1003 | wc -l) $(events r 1004 | wc -l)"
expect_eq "... the store holds it alone" 1 "$("$CERTCTL" --store "$S2" get --format json | jq length)"
umd_stop r
# umd's own (made on an empty store), 15 days before its end: renewed for a year, same key type.
S5="$WORK/store5"
sed -e "s|^store = .*|store = $S5|" "$WORK/renew.conf" >"$WORK/own.conf"
umd_start own0 "$WORK/own.conf"
check "an empty store: umd makes its own (1002)" wait_event own0 1002
umd_stop own0
OLD=$(grep '"event_id":1002' "$WORK/own0.log" | jq -r .thumbprint)
OLDBITS=$("$CERTCTL" --store "$S5" get "$OLD" --format json | jq -r '.[0].PublicKeySize')
# shellcheck disable=SC2046
umd_start own "$WORK/own.conf" $(ft "+350d") >/dev/null
kill -HUP "$UMD_PID_own"
check "umd's own certificate within renew_self_signed_days is renewed: CertificateChanged" wait_event own 1001
check "... from the old one, saying why" bash -c "grep '\"event_id\":1001' '$WORK/own.log' | jq -e '.old_thumbprint == \"$OLD\" and .reason == \"renewed\"'"
NEWT=$(grep '"event_id":1001' "$WORK/own.log" | tail -1 | jq -r .thumbprint)
check "... and SelfSignedCertificateRenewed (1003) says which became which, for UM" \
	has_event own '.event_id == 1003 and .event == "SelfSignedCertificateRenewed" and .service == "UM" and .old_thumbprint == "'"$OLD"'" and .thumbprint == "'"$NEWT"'"'
days=$("$CERTCTL" --store "$S5" get "$NEWT" --format json | jq -r '(.[0].NotAfter | fromdate) - (.[0].NotBefore | fromdate) | . / 86400 | floor')
expect_eq "... valid one year, as Exchange's" 365 "$days"
expect_eq "... the same key size" "$OLDBITS" "$("$CERTCTL" --store "$S5" get "$NEWT" --format json | jq -r '.[0].PublicKeySize')"
kill -HUP "$UMD_PID_own"
sleep 1
expect_eq "... so the next check renews nothing more" 2 "$("$CERTCTL" --store "$S5" get --format json | jq length)"
umd_stop own

# --- unsecured mode: sofia-sip's sip-options --------------------------------------------------------
UPORT=$(free_port)
cat >"$WORK/un.conf" <<CONF
[umd]
mode = unsecured
listen = 127.0.0.1:$UPORT
log_format = json
store = $WORK/store3
http_listen =
spool = $WORK/spool3
[gateway local]
address = 127.0.0.1
CONF
check "umd starts in unsecured mode (no certificate needed)" umd_start u "$WORK/un.conf"
check "... and makes none" test ! -e "$WORK/store3/certs"
check "sip-options over UDP gets 200" bash -c "timeout 10 sip-options --bind=sip:127.0.0.1:* sip:127.0.0.1:$UPORT 2>&1 | grep -q '^SIP/2.0 200 OK'"
check "sip-options over TCP gets 200" bash -c "timeout 10 sip-options --bind='sip:127.0.0.1:*;transport=tcp' 'sip:127.0.0.1:$UPORT;transport=tcp' 2>&1 | grep -q '^SIP/2.0 200 OK'"
printf 'MESSAGE sip:um@127.0.0.1:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKm1\r\nFrom: <sip:gw@127.0.0.1>;tag=m1\r\nTo: <sip:um@127.0.0.1>\r\nCall-ID: m1@test\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' "$UPORT" >"$WORK/message.sip"
python3 "$(dirname "$0")/sipclient.py" raw "$WORK/message.sip" --to "sip:127.0.0.1:$UPORT" --expect 405 >"$WORK/message.txt" 2>&1
expect_eq "a method umd does not take (MESSAGE) gets 405" 0 "$?"
printf 'INVITE sip:um SIP/2.0\r\nVia: garbage\r\nCSeq: x\r\n\r\n' >"$WORK/bad.sip"
python3 "$(dirname "$0")/sipclient.py" raw "$WORK/bad.sip" --to "sip:127.0.0.1:$UPORT" --timeout 2 --expect none >/dev/null 2>&1
check "malformed SIP gets no answer and umd goes on" bash -c "timeout 10 sip-options --bind=sip:127.0.0.1:* sip:127.0.0.1:$UPORT 2>&1 | grep -q '^SIP/2.0 200 OK'"
edit_conf 's/^address = 127.0.0.1$/address = 192.0.2.254/' "$WORK/un.conf"
kill -HUP "$UMD_PID_u"
sleep 0.5
check "after SIGHUP with another gateway address: 403" bash -c "timeout 10 sip-options --bind=sip:127.0.0.1:* sip:127.0.0.1:$UPORT 2>&1 | grep -q '^SIP/2.0 403'"
check "... and PeerRejected names the address" bash -c "grep '\"event_id\":1021' '$WORK/u.log' | grep -q 'not configured for any gateway'"
umd_stop u
expect_eq "unsecured umd stops cleanly" 0 "$UMD_RC"

finish
