#!/bin/bash
# umd behind a real SIP gateway: Kamailio with its tls module, configured by the test as a
# gateway would be, keeps umd's listener up with OPTIONS over mutual TLS and relays calls from
# a plain-UDP client to umd over TLS. The certificates are exchanged as an administrator would:
# umd's exported with `certctl export` into Kamailio's CA list, the gateway's CA root added
# with `certctl trust add`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
. "$(dirname "$0")/sip.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
cc() { "$CERTCTL" --store "$S" "$@"; }
sipclient() { python3 "$D/sipclient.py" "$@"; }

PKI="$WORK/pki"
mkdir -p "$PKI"
make_pki "$PKI" "$(free_port)" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
ec="EC -pkeyopt ec_paramgen_curve:P-256"
pki_issue "$PKI" int gw1 gw1.example.test DNS:gw1.example.test leaf "$ec" -days 300 >/dev/null 2>&1
pki_issue "$PKI" int gw9 gw9.example.test DNS:gw9.example.test leaf "$ec" -days 300 >/dev/null 2>&1
pki_issue "$PKI" other gwx gw1.example.test DNS:gw1.example.test leaf "$ec" -days 300 >/dev/null 2>&1
for n in gw1 gw9; do cat "$PKI/$n.pem" "$PKI/int.pem" >"$PKI/$n.full.pem"; done
cp "$PKI/gwx.pem" "$PKI/gwx.full.pem"

# umd: an empty store (it makes its own certificate); the gateway's CA root trusted.
mkdir -p "$WORK/k"
PORT=$(free_port)
umd_conf "$WORK/umd.conf" sipsecured "$PORT" "$S" "" <<CONF
[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
CONF
"$CERTCTL" --store "$S" get >/dev/null 2>&1 || true
check "umd starts" umd_start a "$WORK/umd.conf"
check "trust the gateway's CA root" cc trust add "$PKI/root.pem" --type enterprise
kill -HUP "$UMD_PID_a"
UMT=$(events a 1000 | tail -1 | jq -r .thumbprint)
check "export umd's certificate for the gateway" cc export "$UMT" --out "$WORK/umd-export.pem"

# --- a gateway umd accepts -------------------------------------------------------------------------
KPORT=$(free_port)
check "Kamailio starts as gateway gw1" kamailio_start "$WORK/k/gw1" "$KPORT" "$PKI/gw1.full.pem" "$PKI/gw1.key" "$WORK/umd-export.pem" 127.0.0.1 "$PORT"
check "its OPTIONS keep-alives get 200 over mutual TLS" kamailio_wait_ping 200 15
check "... again (the connection is kept up)" kamailio_wait_ping 200 15
sipclient call --to "sip:um@127.0.0.1:$PORT" --via-port "$KPORT" --sdp avp --expect 200 --expect-bye 200 >"$WORK/call.txt" 2>&1
expect_eq "a call relayed from UDP to umd over TLS: INVITE 200, ACK, BYE 200" 0 "$?"
check "... INVITE answered 200" grep -q "INVITE SIP/2.0 200" "$WORK/call.txt"
check "... ACK sent" grep -q "SENT ACK" "$WORK/call.txt"
check "... BYE answered 200" grep -q "BYE SIP/2.0 200" "$WORK/call.txt"
check "Kamailio relayed INVITE, ACK and BYE" bash -c "grep -q 'GW-REQUEST INVITE' '$KAM_LOG' && grep -q 'GW-REQUEST ACK' '$KAM_LOG' && grep -q 'GW-REQUEST BYE' '$KAM_LOG'"

# --- a certificate change while a call through the gateway is up -----------------------------------
sipclient call --to "sip:um@127.0.0.1:$PORT" --via-port "$KPORT" --sdp avp --bye-after-signal "$WORK/bye" --signal-timeout 60 --expect 200 --expect-bye 200 >"$WORK/held.txt" 2>&1 &
HELD=$!
for _ in $(seq 100); do grep -q "SENT ACK" "$WORK/held.txt" && break; sleep 0.1; done
check "a call is up" grep -q "SENT ACK" "$WORK/held.txt"
NEW=$(cc new --domain um1.example.test --services UM --days 800 --key ec256 | awk 'NR==3 {print $1}')
kill -HUP "$UMD_PID_a"
check "umd logs CertificateChanged" wait_event a 1001
tls_sip_options 127.0.0.1 "$PORT" "$PKI/gw1.full.pem" "$PKI/gw1.key" >"$WORK/newconn.txt" 2>&1
check "a new connection sees the new thumbprint" grep -q "FINGERPRINT $NEW" "$WORK/newconn.txt"
touch "$WORK/bye"
wait $HELD
expect_eq "the call set up before the change ends with BYE 200" 0 "$?"
kamailio_stop "$WORK/k/gw1"

# --- gateways umd refuses ------------------------------------------------------------------------------
cp "$WORK/umd-export.pem" "$WORK/umd-ca.pem"
cc export "$NEW" --out - >>"$WORK/umd-ca.pem"
n0=$(events a 1021 | wc -l)
KPORT2=$(free_port)
check "Kamailio with an untrusted client certificate starts" kamailio_start "$WORK/k/gwx" "$KPORT2" "$PKI/gwx.full.pem" "$PKI/gwx.key" "$WORK/umd-ca.pem" 127.0.0.1 "$PORT"
kamailio_wait_ping 408 20 "$WORK/k/gwx"
expect_eq "... its keep-alives never get 200" 0 "$(kamailio_ping_count 200 "$WORK/k/gwx")"
check "... umd logs PeerRejected: not trusted" bash -c "grep '\"event_id\":1021' '$WORK/a.log' | tail -n +$((n0 + 1)) | grep -q 'not trusted'"
kamailio_stop "$WORK/k/gwx"
n0=$(events a 1021 | wc -l)
KPORT3=$(free_port)
check "Kamailio with a certificate naming another FQDN starts" kamailio_start "$WORK/k/gw9" "$KPORT3" "$PKI/gw9.full.pem" "$PKI/gw9.key" "$WORK/umd-ca.pem" 127.0.0.1 "$PORT"
kamailio_wait_ping 408 20 "$WORK/k/gw9"
expect_eq "... its keep-alives never get 200" 0 "$(kamailio_ping_count 200 "$WORK/k/gw9")"
check "... umd logs PeerRejected: does not name gw1.example.test" bash -c "grep '\"event_id\":1021' '$WORK/a.log' | tail -n +$((n0 + 1)) | grep -q 'does not name gw1.example.test'"
sipclient call --to "sip:um@127.0.0.1:$PORT" --via-port "$KPORT3" --sdp avp --timeout 8 --expect 200 >"$WORK/refused-call.txt" 2>&1
check "... and a call through it does not reach umd" bash -c "! grep -q 'INVITE SIP/2.0 200' '$WORK/refused-call.txt'"
kamailio_stop "$WORK/k/gw9"
umd_stop a
expect_eq "umd stops cleanly" 0 "$UMD_RC"

finish
