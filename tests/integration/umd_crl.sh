#!/bin/bash
# Revocation of gateway client certificates: umd checks each certificate of a gateway's chain
# against the CRLs of the store's crl/ folder (an administrator's files, PEM, and certcore's
# cache of fetched ones, DER), read on the periodic store pass and on SIGHUP, never fetched
# during a handshake. gateway_revocation = soft (default) accepts a chain whose CRL is not at
# hand; require refuses it. A revoked certificate is refused either way. A CRL not at hand is
# fetched from the certificate's distribution point by umd's fetcher thread (a python3
# http.server here), kept in crl/fetched-*.crl and loaded on the SIP thread's next tick; a
# distribution point that never answers costs the fetcher its timeout and never the SIP thread.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pki.sh"
. "$(dirname "$0")/umd.sh"
UMD=${UMD:?set UMD to the umd binary}
CERTCTL=${CERTCTL:?set CERTCTL to the certctl binary}
export UMEDGE_CA_BUNDLE=""
D=$(dirname "$0")
S="$WORK/store"
siptls() { python3 "$D/siptls.py" "$@"; }

# The PKI: gwok and gwrev both name gw2.example.test, issued by the intermediate; int's CRL
# revokes gwrev. The CRL distribution points name http://127.0.0.1:$CRLPORT/{int,root}.crl;
# nothing listens there until the fetching part below: until then nothing can be fetched.
PKI="$WORK/pki"
mkdir -p "$PKI"
CRLPORT=$(free_port)
make_pki "$PKI" "$CRLPORT" >"$WORK/pki.log" 2>&1 || { cat "$WORK/pki.log"; exit 1; }
export SAN
ec="EC -pkeyopt ec_paramgen_curve:P-256"
for n in gwok gwrev; do
	SAN=DNS:gw2.example.test pki_issue "$PKI" int $n gw2.example.test DNS:gw2.example.test leaf "$ec" -days 300 >/dev/null 2>&1
	cat "$PKI/int.pem" >>"$PKI/$n.pem"
done
openssl ca -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" -revoke "$PKI/gwrev.pem" 2>/dev/null
openssl ca -gencrl -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" -crldays 7 -out "$PKI/int.crl.pem" 2>/dev/null
openssl crl -in "$PKI/int.crl.pem" -outform DER -out "$PKI/int.crl.der"
check "the CRL lists gwrev" bash -c "openssl crl -in '$PKI/int.crl.pem' -noout -text | grep -qi \"$(openssl x509 -in "$PKI/gwrev.pem" -noout -serial | sed 's/serial=//')\""
# A stale CRL of the intermediate (nextUpdate yesterday), for the require case.
openssl ca -gencrl -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" \
	-crl_lastupdate "$(date -u -d '-3 days' +%Y%m%d%H%M%SZ)" -crl_nextupdate "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" \
	-out "$PKI/int.stale.pem" 2>/dev/null
# gw1: self-signed, pinned (a trust anchor of its own: no CRL speaks for it)
"$CERTCTL" --store "$WORK/gw" new --domain gw1.example.test --key ec256 >/dev/null
T=$("$CERTCTL" --store "$WORK/gw" get --format json | jq -r '.[0].Thumbprint')
cp "$WORK/gw/certs/$T.pem" "$WORK/gw1.pem"
cp "$WORK/gw/keys/$T.key" "$WORK/gw1.key"

"$CERTCTL" --store "$S" new --domain um1.example.test --services UM --key ec256 >/dev/null
check "trust add the PKI's root" "$CERTCTL" --store "$S" trust add "$PKI/root.pem" --type enterprise
mkdir -p "$S/crl"

PORT=$(free_port)
conf() { # FILE POLICY (empty: the default) [MORE [umd] LINES]
	umd_conf "$1" sipsecured "$PORT" "$S" "" <<CONF
${2:+gateway_revocation = $2}
${3:-}

[gateway gw1]
address = 127.0.0.1
fqdn = gw1.example.test
certificate = $WORK/gw1.pem

[gateway gw2]
address = 127.0.0.1
fqdn = gw2.example.test
CONF
}
# options NAME CERT KEY: OPTIONS over mutual TLS, answer in $WORK/NAME.txt
options() { siptls --port "$PORT" --cert "$2" --key "$3" options >"$WORK/$1.txt" 2>&1; }
accepted() { options "$@"; grep -q "OPTIONS SIP/2.0 200 OK" "$WORK/$1.txt"; }
refused() { options "$@"; ! grep -q "SIP/2.0 200" "$WORK/$1.txt"; }
last_reject() { grep '"event_id":1021' "$WORK/$1.log" | tail -1; }
hup() { # NAME: SIGHUP and wait until the reload is logged
	n=$(grep -c 'configuration reloaded' "$WORK/$1.log")
	kill -HUP "$(eval echo \$UMD_PID_$1)"
	for _ in $(seq 50); do
		[ "$(grep -c 'configuration reloaded' "$WORK/$1.log")" -gt "$n" ] && { sleep 0.3; return 0; }
		sleep 0.1
	done
	return 1
}

# --- the key -------------------------------------------------------------------------------------
conf "$WORK/bad.conf" hard
expect_fail "gateway_revocation = hard: umd -n names file:line" 1 'bad.conf:11: gateway_revocation "hard": soft or require' "$UMD" -n -c "$WORK/bad.conf"
conf "$WORK/bad2.conf" "" "gateway_crl_fetch = maybe"
expect_fail "gateway_crl_fetch = maybe: file:line" 1 'bad2.conf:12: gateway_crl_fetch "maybe": yes or no' "$UMD" -n -c "$WORK/bad2.conf"
for v in ftp://proxy.test:21 https://proxy.test:3128 http:// "http://proxy.test:3128/path" "http://u:p@proxy.test:3128" "http://proxy.test:99999"; do
	conf "$WORK/bad3.conf" "" "gateway_crl_proxy = $v"
	expect_fail "gateway_crl_proxy = $v: file:line" 1 "bad3.conf:12: gateway_crl_proxy \"$v\": http://host\\[:port\\], or empty for none" "$UMD" -n -c "$WORK/bad3.conf"
done
conf "$WORK/good.conf" "" "$(printf 'gateway_crl_fetch = no\ngateway_crl_proxy = http://proxy.test:3128')"
check "gateway_crl_fetch = no and gateway_crl_proxy = http://proxy.test:3128 are accepted" "$UMD" -n -c "$WORK/good.conf"

# --- soft (the default) ----------------------------------------------------------------------------
conf "$WORK/soft.conf" ""
check "soft: umd starts with an empty crl/" umd_start soft "$WORK/soft.conf"
check "no CRL at hand, soft: gwok is accepted" accepted s-ok0 "$PKI/gwok.pem" "$PKI/gwok.key"
check "no CRL at hand, soft: gwrev too (its revocation cannot be known)" accepted s-rev0 "$PKI/gwrev.pem" "$PKI/gwrev.key"
cp "$PKI/int.crl.pem" "$S/crl/int-admin.crl"
check "a CRL put in crl/ (PEM), then SIGHUP" hup soft
n=$(events soft 1021 | wc -l)
check "revoked gwrev is refused" refused s-rev1 "$PKI/gwrev.pem" "$PKI/gwrev.key"
check "... logged PeerRejected" wait_event soft 1021 $((n + 1))
check "... naming the reason (revoked)" bash -c "grep '\"event_id\":1021' '$WORK/soft.log' | tail -1 | jq -e '.reason | test(\"revoked\") and test(\"gw2.example.test\")'"
check "gwok is still accepted" accepted s-ok1 "$PKI/gwok.pem" "$PKI/gwok.key"
check "pinned self-signed gw1 is accepted" accepted s-gw1 "$WORK/gw1.pem" "$WORK/gw1.key"
rm "$S/crl/int-admin.crl"
cp "$PKI/int.crl.der" "$S/crl/fetched-0123456789ABCDEF0123456789ABCDEF01234567.crl"
printf 'not a CRL\n' >"$S/crl/junk.crl"
check "the same CRL as certcore's fetched cache keeps it (DER), then SIGHUP" hup soft
check "revoked gwrev is refused (CRL from the cache, DER)" refused s-rev2 "$PKI/gwrev.pem" "$PKI/gwrev.key"
check "a file in crl/ that is no CRL is skipped with a warning" grep -q 'CRL file .*junk.crl skipped' "$WORK/soft.log"
check "gwok is still accepted" accepted s-ok2 "$PKI/gwok.pem" "$PKI/gwok.key"
rm -f "$S/crl/"*
check "CRLs removed, then SIGHUP" hup soft
check "soft again: gwrev accepted (no CRL at hand)" accepted s-rev3 "$PKI/gwrev.pem" "$PKI/gwrev.key"
# A configuration that is refused at SIGHUP: ConfigurationReloadFailed, naming file:line.
edit_conf 's/^\[umd\]$/[umd]\nmax_calls = many/' "$WORK/soft.conf"
kill -HUP "$UMD_PID_soft"
check "a refused reload: ConfigurationReloadFailed (1050) names the file, the line and why" \
	wait_for_event soft '.event_id == 1050 and .event == "ConfigurationReloadFailed" and .level == "error" and .config == "'"$WORK/soft.conf"'" and (.reason | test("soft.conf:[0-9]+: max_calls \"many\""))'
check "... and the configuration in force stays: gwok accepted" accepted s-ok3 "$PKI/gwok.pem" "$PKI/gwok.key"
edit_conf '/^max_calls = many$/d' "$WORK/soft.conf"
check "the configuration repaired, SIGHUP reloads it" hup soft
expect_eq "... and no second ConfigurationReloadFailed" 1 "$(events soft 1050 | wc -l)"
umd_stop soft

# --- require ---------------------------------------------------------------------------------------
conf "$WORK/req.conf" require
check "require: umd starts with an empty crl/" umd_start req "$WORK/req.conf"
n=$(events req 1021 | wc -l)
check "no CRL at hand, require: gwok is refused" refused r-ok0 "$PKI/gwok.pem" "$PKI/gwok.key"
check "... logged PeerRejected" wait_event req 1021 $((n + 1))
check "... saying its revocation is unknown and require is set" bash -c "grep '\"event_id\":1021' '$WORK/req.log' | tail -1 | jq -e '.reason | test(\"revocation unknown\") and test(\"gateway_revocation = require\")'"
check "pinned self-signed gw1 is accepted (a trust anchor has no CRL)" accepted r-gw1 "$WORK/gw1.pem" "$WORK/gw1.key"
cp "$PKI/int.crl.pem" "$S/crl/int.crl"
check "int's CRL only, then SIGHUP" hup req
check "require: the intermediate's own CRL (the root's) is missing: gwok refused" refused r-ok1 "$PKI/gwok.pem" "$PKI/gwok.key"
cp "$PKI/root.crl.pem" "$S/crl/root.crl"
check "the root's CRL too, then SIGHUP" hup req
check "require, both CRLs: gwok accepted" accepted r-ok2 "$PKI/gwok.pem" "$PKI/gwok.key"
check "require, both CRLs: revoked gwrev refused" refused r-rev2 "$PKI/gwrev.pem" "$PKI/gwrev.key"
check "... as revoked" bash -c "sleep 0.3; grep '\"event_id\":1021' '$WORK/req.log' | tail -1 | grep -q 'revoked'"
cp "$PKI/int.stale.pem" "$S/crl/int.crl"
check "int's CRL replaced by a stale one, then SIGHUP" hup req
check "require, stale CRL: gwok refused" refused r-ok3 "$PKI/gwok.pem" "$PKI/gwok.key"
check "... saying the CRL has expired" bash -c "sleep 0.3; grep '\"event_id\":1021' '$WORK/req.log' | tail -1 | grep -qi 'CRL has expired'"
check "nothing was fetched during all this (no fetched- file appeared)" bash -c "! ls '$S/crl' | grep -q '^fetched-'"
umd_stop req
expect_eq "umd stops cleanly (exit 0)" 0 "$UMD_RC"

# --- fetching from the distribution points ---------------------------------------------------
# wait_log NAME REGEX [TENTHS]: waits (default 20 s) for a line of umd NAME's log
wait_log() {
	for _ in $(seq "${3:-200}"); do
		grep -Eq -- "$2" "$WORK/$1.log" && return 0
		sleep 0.1
	done
	echo "no line matching [$2] in $1.log"
	return 1
}
gets() { grep -c "GET /$2 " "$1" 2>/dev/null || true; } # FILE NAME: requests for NAME
INT_URL="http://127.0.0.1:$CRLPORT/int.crl"
ROOT_URL="http://127.0.0.1:$CRLPORT/root.crl"
rm -f "$S/crl/"*
cp "$PKI/int.crl.der" "$PKI/www/int.crl" # the CRL that revokes gwrev
check "the CA's CRL server (python3 http.server) starts" http_serve "$PKI/www" "$CRLPORT"
conf "$WORK/fetch.conf" ""
check "fetch: umd starts with an empty crl/" umd_start fetch "$WORK/fetch.conf"
check "soft: gwok's first connection is accepted (its CRLs are fetched meanwhile)" accepted f-ok0 "$PKI/gwok.pem" "$PKI/gwok.key"
check "the intermediate's CRL is fetched: CrlFetched (1022) with URL, issuer, nextUpdate and the certificate" \
	wait_for_event fetch '.event_id == 1022 and .event == "CrlFetched" and .url == "'"$INT_URL"'" and (.issuer | test("umedge Test Intermediate")) and (.next_update | test("^20[0-9-]+T")) and (.subject | length > 0)'
check "the root's CRL (for the intermediate) too" wait_for_event fetch '.event_id == 1022 and .url == "'"$ROOT_URL"'"'
expect_eq "no CrlFetchFailed while both were had" 0 "$(events fetch 1023 | wc -l)"
check "both are kept in crl/fetched-*.crl" bash -c "[ \$(ls '$S/crl' | grep -c '^fetched-.*\\.crl\$') -eq 2 ]"
check "the SIP thread's tick reloads them" wait_log fetch "CRLs reloaded after a fetch: 2 CRL"
n=$(events fetch 1021 | wc -l)
check "revoked gwrev is now refused" refused f-rev1 "$PKI/gwrev.pem" "$PKI/gwrev.key"
check "... logged PeerRejected" wait_event fetch 1021 $((n + 1))
check "... as revoked" bash -c "grep '\"event_id\":1021' '$WORK/fetch.log' | tail -1 | jq -e '.reason | test(\"revoked\")'"
check "gwok is still accepted" accepted f-ok1 "$PKI/gwok.pem" "$PKI/gwok.key"
expect_eq "each CRL was fetched once (the cache answers afterwards)" "1 1" "$(gets "$WORK/http.log" int.crl) $(gets "$WORK/http.log" root.crl)"
umd_stop fetch
expect_eq "umd (fetcher thread joined) stops cleanly (exit 0)" 0 "$UMD_RC"

# A distribution point that accepts connections and never answers: the fetch waits for its
# timeout on the fetcher thread while the SIP thread answers on.
http_stop
rm -f "$S/crl/"*
python3 -c '
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
def hold(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(4096)
        if not d: return
        data += d
    with open(sys.argv[2], "a") as f: f.write(data.split(b"\r\n")[0].decode() + "\n")
while True:
    c, _ = s.accept(); held.append(c)
    threading.Thread(target=hold, args=(c,), daemon=True).start()
' "$CRLPORT" "$WORK/silent.log" 2>"$WORK/silent.err" &
SILENT_PID=$!
silent_stop() { kill "$SILENT_PID" 2>/dev/null; wait "$SILENT_PID" 2>/dev/null; return 0; }
cleanup_hooks="$cleanup_hooks silent_stop"
conf "$WORK/hang.conf" ""
check "hang: umd starts with an empty crl/" umd_start hang "$WORK/hang.conf"
check "soft: gwok accepted while its CRL cannot be had" accepted h-ok0 "$PKI/gwok.pem" "$PKI/gwok.key"
check "the fetch of the intermediate's CRL is under way (the silent server has its request)" \
	bash -c "for _ in \$(seq 100); do grep -q 'GET /int.crl ' '$WORK/silent.log' 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
during=0
for i in 1 2 3; do
	check "pinned gw1's OPTIONS $i answered 200 while the fetch hangs" accepted h-gw1-$i "$WORK/gw1.pem" "$WORK/gw1.key"
	grep -q '"event_id":1023' "$WORK/hang.log" || during=$((during + 1))
done
check "OPTIONS were answered before the hanging fetch ended (the SIP thread never waited on it)" [ "$during" -ge 1 ]
check "the failed fetch: CrlFetchFailed (1023) with the issuer, its URL in the reason, and the retry" \
	wait_for_event hang '.event_id == 1023 and .event == "CrlFetchFailed" and .level == "warning" and (.issuer | test("umedge Test Intermediate")) and (.reason | contains("'"$INT_URL"'")) and .retry_seconds == 300'
check "... and no CrlFetched for it" bash -c "! grep '\"event_id\":1022' '$WORK/hang.log' | grep -q int.crl"
check "gwok still accepted after the failure" accepted h-ok1 "$PKI/gwok.pem" "$PKI/gwok.key"
expect_eq "the failed URL is not tried again at once" 1 "$(gets "$WORK/silent.log" int.crl)"
check "nothing was cached" bash -c "! ls '$S/crl' | grep -q '^fetched-'"
umd_stop hang
expect_eq "umd stops cleanly with a fetch hanging (exit 0)" 0 "$UMD_RC"
silent_stop

# require: the first handshake is refused and queues the fetch; the retry is accepted.
rm -f "$S/crl/"*
check "the CA's CRL server starts again" http_serve "$PKI/www" "$CRLPORT"
conf "$WORK/freq.conf" require
check "require + fetch: umd starts with an empty crl/" umd_start freq "$WORK/freq.conf"
check "require: gwok's first handshake is refused (no CRL cached yet)" refused fr-ok0 "$PKI/gwok.pem" "$PKI/gwok.key"
check "... and its CRLs are fetched and loaded" wait_log freq "CRLs reloaded after a fetch: 2 CRL"
check "require: gwok's retry is accepted" accepted fr-ok1 "$PKI/gwok.pem" "$PKI/gwok.key"
check "require: revoked gwrev refused" refused fr-rev "$PKI/gwrev.pem" "$PKI/gwrev.key"
check "... as revoked" bash -c "sleep 0.3; grep '\"event_id\":1021' '$WORK/freq.log' | tail -1 | grep -q 'revoked'"
umd_stop freq

# gateway_crl_fetch = no: nothing is fetched.
rm -f "$S/crl/"*
g0=$(gets "$WORK/http.log" int.crl)
conf "$WORK/off.conf" "" "gateway_crl_fetch = no"
check "fetching off: umd starts" umd_start off "$WORK/off.conf"
check "soft, fetching off: gwok accepted" accepted o-ok0 "$PKI/gwok.pem" "$PKI/gwok.key"
check "soft, fetching off: gwrev accepted too (no CRL at hand, none fetched)" accepted o-rev0 "$PKI/gwrev.pem" "$PKI/gwrev.key"
sleep 2
expect_eq "fetching off: no request reached the CRL server" "$g0" "$(gets "$WORK/http.log" int.crl)"
check "fetching off: nothing in crl/" bash -c "! ls '$S/crl' | grep -q '^fetched-'"
check "fetching off: no fetch logged" bash -c "! grep -q 'CRL fetch\|\"event_id\":102[23]' '$WORK/off.log'"
umd_stop off
http_stop


# --- umd's own certificate revoked while in use: dropped at once -----------------------------------
# A CA-issued UM certificate in use; a new CRL revokes it, then SIGHUP: umd stops serving it at
# once (Exchange uses no certificate whose Status is not Valid), makes its own self-signed one as
# nothing else is eligible, and CertificateChanged says why.
S6="$WORK/store6"
SAN=DNS:um1.example.test pki_issue "$PKI" int umi um1.example.test DNS:um1.example.test leaf "$ec" -days 300 >/dev/null 2>&1
printf 'secret\n' >"$WORK/p12.pw"
chmod 600 "$WORK/p12.pw"
openssl pkcs12 -export -in "$PKI/umi.pem" -inkey "$PKI/umi.key" -certfile "$PKI/int.pem" -passout "file:$WORK/p12.pw" -out "$WORK/umi.p12"
"$CERTCTL" --store "$S6" import "$WORK/umi.p12" --password-file "$WORK/p12.pw" --services UM >/dev/null
"$CERTCTL" --store "$S6" trust add "$PKI/root.pem" --type enterprise >/dev/null
UMI=$("$CERTCTL" --store "$S6" get --format json | jq -r '.[0].Thumbprint')
openssl ca -gencrl -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" -crldays 7 -out "$S6/crl/int.crl" 2>/dev/null
cp "$PKI/root.crl.pem" "$S6/crl/root.crl"
sed -e "s|^store = .*|store = $S6|" "$WORK/soft.conf" >"$WORK/rev.conf"
check "revoked in use: umd starts with the CA-issued certificate" umd_start rev "$WORK/rev.conf"
check "... which is the one in use (1000)" bash -c "grep '\"event_id\":1000' '$WORK/rev.log' | jq -e '.thumbprint == \"$UMI\"'"
openssl ca -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" -revoke "$PKI/umi.pem" 2>/dev/null
openssl ca -gencrl -config "$PKI/int.cnf" -cert "$PKI/int.pem" -keyfile "$PKI/int.key" -crldays 7 -out "$S6/crl/int.crl" 2>/dev/null
check "a CRL revoking it, then SIGHUP" hup rev
# The switch ends with CertificateChanged (after the reasons and 1002): wait for it, since jq -e
# passes on no input at all and SIGHUP's reload line comes before the certificate pass.
check "... CertificateChanged (1001) is logged" wait_event rev 1001
check "... it is dropped at once: CertificateChanged (1001) saying Revoked" bash -c "grep '\"event_id\":1001' '$WORK/rev.log' | jq -e '.old_thumbprint == \"$UMI\" and .thumbprint != \"$UMI\" and (.reason | test(\"Revoked\"))'"
check "... for a self-signed one made as nothing else is eligible (1002)" wait_event rev 1002
check "... and no 'still serving' the revoked one" bash -c "! grep -q 'still serving' '$WORK/rev.log'"
expect_eq "... why it is not used is said once, not once per attempt" 1 "$(grep 'not used for UM' "$WORK/rev.log" | grep -c "$UMI")"
umd_stop rev

finish
